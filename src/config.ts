// Environment → one frozen, typed Config. Every problem is reported at once at start-up, naming the variable.
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { DEFAULT_RESOURCE_CACHE_BYTES } from './store/resource-cache.js';
import { LIMITS } from './limits.js';
import { prettyAvailable, type LogFormat } from './logging.js';

const MB = 1024 * 1024;

export type DatabaseTarget =
  | { readonly kind: 'sqlite'; readonly filename: string }
  | { readonly kind: 'postgres'; readonly connectionString: string };

export interface Config {
  readonly port: number;
  readonly host: string;
  /** Public origin people and apps use, without a trailing slash, e.g. http://localhost:8080 */
  readonly publicUrl: string;
  /** FHIR base URL: publicUrl + /fhir */
  readonly fhirBaseUrl: string;
  readonly database: DatabaseTarget;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** LOG_FORMAT: json lines, pretty (pino-pretty), or auto: pretty when stdout is a terminal and pino-pretty is installed */
  readonly logFormat: LogFormat;
  /** On SIGTERM/SIGINT, requests under way get this long to finish before the process exits anyway, non-zero (seconds) */
  readonly shutdownTimeoutSeconds: number;
  /** Directory of seed bundles loaded into an empty database on first start; '' disables seeding */
  readonly seedDir: string;
  /** Sandbox mode: open dynamic client registration, demo accounts and clients, /sandbox endpoints */
  readonly sandbox: boolean;
  /** Initial access token required for dynamic registration when not in sandbox mode */
  readonly registrationToken: string | undefined;
  /** JSON file with an array of OAuth client metadata loaded at start */
  readonly clientsFile: string | undefined;
  /** How often each instance reads the shared revocation log (ms); 0 turns polling off */
  readonly revocationPollMs: number;
  /** PostgreSQL: hear revocations by LISTEN/NOTIFY (off behind a pooler that cannot hold a LISTEN, e.g. PgBouncer's transaction mode) */
  readonly revocationNotify: boolean;
  /** PostgreSQL: the slower poll while LISTEN is in force (ms), which catches a notification that was lost */
  readonly revocationNotifyPollMs: number;
  /** OAuth issuer: publicUrl + /auth */
  readonly issuer: string;
  /** Portal and sign-in sessions end after this long without activity (seconds) */
  readonly sessionIdleSeconds: number;
  /** Sign-in, sign-up and password-reset form posts allowed per minute from one address */
  readonly signInRateLimit: number;
  /** Token, introspection and revocation requests allowed per minute from one address; 0 = no limit */
  readonly tokenRateLimit: number;
  /** The same requests allowed per minute for one client_id, from all addresses together; 0 = no limit */
  readonly tokenClientRateLimit: number;
  /** Dynamic registration requests (/auth/reg) allowed per minute from one address; 0 = no limit */
  readonly registrationRateLimit: number;
  /** Answer new requests 503 while the event loop's mean delay exceeds this (ms); 0 = never */
  readonly overloadEventLoopDelayMs: number;
  /** Answer new requests 503 while the median time of recent requests exceeds this (ms): a standing queue; 0 = never */
  readonly overloadQueueMs: number;
  /** A request whose headers and body have not all arrived within this many seconds is answered 408 */
  readonly requestTimeoutSeconds: number;
  /** Which peers may name the client's address in X-Forwarded-For (Fastify's trustProxy): false, a hop count, or addresses/CIDRs */
  readonly trustProxy: boolean | number | readonly string[];
  /** Hospital name shown on the portal pages */
  readonly siteName: string;
  /** Server processes sharing the port (node:cluster); 1 runs the server in this process */
  readonly workers: number;
  /** Memory per process for current resources read by id (SQLite only), in bytes; 0 turns the cache off */
  readonly resourceCacheBytes: number;
  readonly export: ExportConfig;
  /** SECRETS_KEY: encrypts signing keys, cookie secrets and client secrets in the database; unset: stored as given */
  readonly secretsKey: Buffer | undefined;
  /** SECRETS_KEY_PREVIOUS: only decrypts (values written under the key before a rotation) */
  readonly secretsKeyPrevious: Buffer | undefined;
  /** METRICS_TOKEN: the Bearer token a Prometheus scraper sends to GET /metrics; unset: no /metrics (404) */
  readonly metricsToken: string | undefined;
  /** How often each instance re-reads the signing keys (s): a rotation is published within this, signs within twice it */
  readonly keysReloadSeconds: number;
  /** PostgreSQL connections in each process's pool (PG_POOL_MAX, read by store/db.ts) */
  readonly pgPoolMax: number;
}

/** Bulk Data export ($export) settings. */
export interface ExportConfig {
  /** Where export files are written; shared by every instance that answers for the same database */
  readonly dir: string;
  /** Resources per NDJSON file before the next file starts */
  readonly maxPerFile: number;
  /** Export jobs running at once across all instances */
  readonly concurrency: number;
  /** How long a finished export's manifest and files are kept (ms) */
  readonly retentionMs: number;
  /** A running export whose instance has been silent this long is taken over by another (ms) */
  readonly staleMs: number;
  /** Exports one client may have waiting or running at once */
  readonly maxJobsPerClient: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function parseDatabaseUrl(value: string): DatabaseTarget | string {
  if (value === 'sqlite::memory:' || value === ':memory:') return { kind: 'sqlite', filename: ':memory:' };
  if (value.startsWith('sqlite:')) {
    const file = value.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!file) return `DATABASE_URL "${value}" names no file (use sqlite:./data/smart.db or sqlite::memory:)`;
    return { kind: 'sqlite', filename: resolve(file) };
  }
  if (/^postgres(ql)?:\/\//.test(value)) return { kind: 'postgres', connectionString: value };
  return `DATABASE_URL "${value}" must start with sqlite: or postgres://`;
}

/** SECRETS_KEY and SECRETS_KEY_PREVIOUS: 32 bytes as 64 hex digits or base64 (standard or URL-safe); unset or empty: none. */
function secretsKeyFrom(env: NodeJS.ProcessEnv, name: string, problems: string[]): Buffer | undefined {
  const v = env[name]?.trim();
  if (!v) return undefined;
  const key = /^[0-9a-fA-F]{64}$/.test(v) ? Buffer.from(v, 'hex') : /^[A-Za-z0-9+/_-]{43}=?$/.test(v) ? Buffer.from(v.replace(/=$/, ''), 'base64url') : undefined;
  if (key?.length === 32) return key;
  problems.push(`${name} must be 32 random bytes, as 64 hex digits or base64 (e.g. the output of openssl rand -base64 32)`);
  return undefined;
}

const ADDRESS = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:.]*)(\/\d{1,3})?$/i;

/**
 * Rate limits and the audit trail key on the client's address: behind a reverse proxy that is the proxy's, unless the
 * proxy is trusted to pass the client's on. Only the proxy's own addresses (or a hop count) should be trusted; `true`
 * lets any client pick its address, and with it escape the per-address limits.
 */
function parseTrustProxy(raw: string | undefined, problems: string[]): boolean | number | readonly string[] {
  const value = (raw ?? '').trim().toLowerCase();
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops >= 1 && hops <= 10) return hops;
  } else {
    const list = value.split(',').map((a) => a.trim()).filter(Boolean);
    if (list.length && list.every((a) => ADDRESS.test(a) || a === 'loopback' || a === 'linklocal' || a === 'uniquelocal')) return list;
  }
  problems.push(`TRUST_PROXY "${raw}" must be false, true, a hop count (1-10), or addresses/CIDRs separated by commas (e.g. 10.0.0.0/8,loopback)`);
  return false;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const port = Number(env.PORT ?? '8080');
  if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push(`PORT "${env.PORT}" is not a port number (0-65535)`);
  // 'localhost' binds both 127.0.0.1 and ::1, so http://localhost:8080 works whichever a client resolves first.
  const host = env.HOST ?? 'localhost';
  const rawPublic = (env.PUBLIC_URL ?? `http://localhost:${port}`).replace(/\/+$/, '');
  let publicUrl = rawPublic;
  try {
    const u = new URL(rawPublic);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') problems.push(`PUBLIC_URL "${rawPublic}" must be http(s)`);
    if (u.search || u.hash) problems.push(`PUBLIC_URL "${rawPublic}" must not carry a query or fragment`);
    publicUrl = `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    problems.push(`PUBLIC_URL "${rawPublic}" is not a URL`);
  }
  const db = parseDatabaseUrl(env.DATABASE_URL ?? 'sqlite:./data/smart.db');
  if (typeof db === 'string') problems.push(db);
  const logLevel = (env.LOG_LEVEL ?? 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL "${env.LOG_LEVEL}" must be one of ${LOG_LEVELS.join(', ')}`);
  const logFormat = ((env.LOG_FORMAT ?? '').trim().toLowerCase() || 'auto') as LogFormat;
  if (!['auto', 'json', 'pretty'].includes(logFormat)) problems.push(`LOG_FORMAT "${env.LOG_FORMAT}" must be json, pretty or auto (pretty on a terminal)`);
  else if (logFormat === 'pretty' && !prettyAvailable()) problems.push('LOG_FORMAT=pretty needs the pino-pretty package (a dev dependency: npm install -D pino-pretty); use LOG_FORMAT=json in production');
  const seedDir = env.SEED_DIR === undefined ? resolve('fhir-resources/seed') : env.SEED_DIR ? resolve(env.SEED_DIR) : '';
  const sandbox = (env.SANDBOX ?? 'true').toLowerCase();
  if (!['true', 'false', '1', '0'].includes(sandbox)) problems.push(`SANDBOX "${env.SANDBOX}" must be true or false`);
  const isSandbox = sandbox === 'true' || sandbox === '1';
  const registrationToken = env.REGISTRATION_TOKEN || undefined;
  if (!isSandbox && registrationToken !== undefined && registrationToken.length < 32) problems.push('REGISTRATION_TOKEN must be at least 32 characters');
  const sessionIdleSeconds = Number(env.SESSION_IDLE_SECONDS ?? '1200');
  if (!Number.isInteger(sessionIdleSeconds) || sessionIdleSeconds < 1) problems.push(`SESSION_IDLE_SECONDS "${env.SESSION_IDLE_SECONDS}" must be a whole number of seconds, at least 1`);
  const signInRateLimit = Number(env.SIGNIN_RATE_LIMIT ?? '30');
  if (!Number.isInteger(signInRateLimit) || signInRateLimit < 1) problems.push(`SIGNIN_RATE_LIMIT "${env.SIGNIN_RATE_LIMIT}" must be a whole number, at least 1`);
  const siteName = (env.SITE_NAME ?? 'Riverside Health').trim() || 'Riverside Health';
  const revocationPollMs = Number(env.REVOCATION_POLL_MS ?? '250');
  if (!Number.isInteger(revocationPollMs) || revocationPollMs < 0 || revocationPollMs > 1000) problems.push(`REVOCATION_POLL_MS "${env.REVOCATION_POLL_MS}" must be 0 (off) to 1000`);
  const rawWorkers = (env.WORKERS ?? '1').trim().toLowerCase();
  const workers = rawWorkers === 'auto' ? availableParallelism() : Number(rawWorkers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) problems.push(`WORKERS "${env.WORKERS}" must be a whole number from 1 to 64, or auto (one per CPU)`);
  // Each worker caches tokens; only the shared revocation log tells one worker of another's revocations.
  else if (workers > 1 && revocationPollMs === 0) problems.push('REVOCATION_POLL_MS=0 (off) cannot be combined with WORKERS above 1: a token revoked through one worker would stay valid on the others');
  const rawCacheMb = (env.RESOURCE_CACHE_MB ?? String(DEFAULT_RESOURCE_CACHE_BYTES / MB)).trim();
  const resourceCacheMb = /^\d+(\.\d+)?$/.test(rawCacheMb) ? Number(rawCacheMb) : NaN;
  if (!(resourceCacheMb <= 65536)) problems.push(`RESOURCE_CACHE_MB "${env.RESOURCE_CACHE_MB}" must be a number of megabytes from 0 (off) to 65536`);
  const whole = (name: string, fallback: number, min: number, max: number) => {
    const raw = (env[name] ?? String(fallback)).trim();
    const v = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!(v >= min && v <= max)) problems.push(`${name} "${env[name]}" must be a whole number from ${min} to ${max}`);
    return v;
  };
  const exportConfig: ExportConfig = {
    dir: resolve(env.EXPORT_DIR || 'data/exports'),
    maxPerFile: whole('EXPORT_FILE_RESOURCES', 50_000, 1, 10_000_000),
    concurrency: whole('EXPORT_CONCURRENCY', 1, 1, 16),
    retentionMs: whole('EXPORT_RETENTION_SECONDS', 86_400, 1, 30 * 86_400) * 1000,
    staleMs: whole('EXPORT_STALE_SECONDS', 30, 1, 3_600) * 1000,
    maxJobsPerClient: whole('EXPORT_MAX_JOBS_PER_CLIENT', 5, 1, 100),
  };
  const secretsKey = secretsKeyFrom(env, 'SECRETS_KEY', problems);
  const secretsKeyPrevious = secretsKeyFrom(env, 'SECRETS_KEY_PREVIOUS', problems);
  const tokenRateLimit = whole('TOKEN_RATE_LIMIT', 300, 0, 1_000_000_000);
  const tokenClientRateLimit = whole('TOKEN_CLIENT_RATE_LIMIT', 600, 0, 1_000_000_000);
  const registrationRateLimit = whole('REGISTRATION_RATE_LIMIT', 30, 0, 1_000_000_000);
  const overloadEventLoopDelayMs = whole('OVERLOAD_EVENT_LOOP_DELAY_MS', 1000, 0, 60_000);
  const overloadQueueMs = whole('OVERLOAD_QUEUE_MS', 2000, 0, 600_000);
  const requestTimeoutSeconds = whole('REQUEST_TIMEOUT_SECONDS', LIMITS.requestTimeoutSeconds, 1, 3_600);
  const shutdownTimeoutSeconds = whole('SHUTDOWN_TIMEOUT_SECONDS', 10, 1, 3_600);
  const trustProxy = parseTrustProxy(env.TRUST_PROXY, problems);
  const metricsToken = env.METRICS_TOKEN?.trim() || undefined;
  if (metricsToken !== undefined && !/^[\x21-\x7e]{32,}$/.test(metricsToken)) problems.push('METRICS_TOKEN must be at least 32 printable characters without spaces (e.g. the output of openssl rand -hex 24), or unset to turn /metrics off');
  const rawNotify = (env.REVOCATION_NOTIFY ?? 'on').trim().toLowerCase();
  if (!['on', 'off'].includes(rawNotify)) problems.push(`REVOCATION_NOTIFY "${env.REVOCATION_NOTIFY}" must be on or off`);
  const revocationNotifyPollMs = whole('REVOCATION_NOTIFY_POLL_MS', 5_000, 250, 600_000);
  const keysReloadSeconds = whole('KEYS_RELOAD_SECONDS', 60, 1, 3_600);
  const pgPoolMax = whole('PG_POOL_MAX', 10, 1, 1_000);
  if (problems.length) throw new ConfigError(problems);
  return Object.freeze({
    export: Object.freeze(exportConfig),
    port,
    host,
    publicUrl,
    fhirBaseUrl: `${publicUrl}/fhir`,
    database: db as DatabaseTarget,
    logLevel,
    logFormat,
    shutdownTimeoutSeconds,
    seedDir,
    sandbox: isSandbox,
    registrationToken,
    clientsFile: env.CLIENTS_FILE ? resolve(env.CLIENTS_FILE) : undefined,
    revocationPollMs,
    revocationNotify: rawNotify === 'on',
    revocationNotifyPollMs,
    sessionIdleSeconds,
    signInRateLimit,
    tokenRateLimit,
    tokenClientRateLimit,
    registrationRateLimit,
    overloadEventLoopDelayMs,
    overloadQueueMs,
    requestTimeoutSeconds,
    trustProxy,
    siteName,
    workers,
    resourceCacheBytes: Math.round(resourceCacheMb * MB),
    issuer: `${publicUrl}/auth`,
    secretsKey,
    secretsKeyPrevious,
    metricsToken,
    keysReloadSeconds,
    pgPoolMax,
  });
}
