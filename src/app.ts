// buildApp(deps): registers the plugins in a fixed order and never listens, so tests can inject or listen on port 0.
import Fastify, { type FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import type { Config } from './config.js';
import { buildCapabilityStatement } from './fhir/capability.js';
import { fhirPlugin } from './fhir/plugin.js';
import { FhirService } from './fhir/service.js';
import type { Db } from './store/db.js';
import { ResourceStore } from './store/resources.js';
import { createAuthServer, type AuthServer } from './auth/server.js';
import { AuditBuffer, type AccessEvent } from './fhir/audit.js';
import { typeAllowed } from './portal/proxy-policy.js';
import { grantAccessEndsAt } from './portal/access-end.js';
import { createPortal, portalServices, type Portal } from './portal/create-portal.js';
import { sandboxPlugin } from './sandbox/plugin.js';
import { ExportJobStore } from './store/export-jobs.js';
import { ExportRunner } from './bulk/export-runner.js';
import { BulkExportService } from './bulk/export-service.js';
import { limitOptions, registerRequestLimits } from './request-limits.js';
import { logSecurityEvent, loggerOptions, OperatorLogController } from './logging.js';
import { limitAuthEndpoints } from './auth/endpoint-limits.js';
import { registerOverloadShedding } from './overload.js';
import { sharedRateLimitStore } from './rate-limit/fastify-store.js';
import { RequestLimiter } from './rate-limit/limiter.js';
import { RateLimitStore } from './store/rate-limits.js';
import { registerHealthRoutes } from './health.js';
import { signingKeyCount } from './health-keys.js';
import { attachMetrics, createServerMetrics } from './metrics/install.js';
import { registerMetricsEndpoint } from './metrics/endpoint.js';

export interface AppDeps {
  readonly config: Config;
  readonly db: Db;
  /** Pino logger options; tests pass false */
  readonly logger?: boolean | object;
  /** Serve the FHIR API without authorization (tests of the facade alone); never set by the server itself */
  readonly openFhir?: boolean;
  /** The portal's clock (code and session expiry, lockouts, proxy end dates); tests move it forward */
  readonly clock?: () => number;
}

export interface App {
  readonly server: FastifyInstance;
  readonly fhir: FhirService;
  /** Absent when openFhir */
  readonly auth?: AuthServer;
  /** Absent when openFhir */
  readonly portal?: Portal;
  /** Bulk export's job runner; absent when openFhir */
  readonly exports?: ExportRunner;
}

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/** A hop count as the function Fastify's types accept (its runtime takes the number too): trust the nearest `hops` */
function trustProxyOption(trust: Config['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return typeof trust === 'boolean' ? trust : [...trust];
}

export async function buildApp(deps: AppDeps): Promise<App> {
  const { config, db } = deps;
  const server = Fastify({
    logger: deps.logger ?? loggerOptions(config.logLevel, config.logFormat),
    // Per-request lines at debug, errors at error (logging.ts)
    logController: new OperatorLogController(),
    // Header, URL, body and time limits (src/limits.ts), refused in each area's own error format
    ...limitOptions({ siteName: config.siteName, requestTimeoutSeconds: config.requestTimeoutSeconds }),
    trustProxy: trustProxyOption(config.trustProxy),
  });
  // First of all onRequest hooks: a shed request costs nothing further (mount.ts hands /auth over in its own hook).
  await registerOverloadShedding(server, { maxEventLoopDelayMs: config.overloadEventLoopDelayMs, maxQueueMs: config.overloadQueueMs });
  // Next: its hooks time every request, also those the authorization server takes over. Off without METRICS_TOKEN.
  const metrics = config.metricsToken ? createServerMetrics(server, db) : undefined;
  const fhir = new FhirService(new ResourceStore(db, { cacheBytes: config.resourceCacheBytes }), config.fhirBaseUrl);
  const started = new Date().toISOString();
  const services = portalServices({ config, db, fhir, log: server.log, ...(deps.clock ? { clock: deps.clock } : {}) });
  services.security.observe((e) => logSecurityEvent(server.log, e));
  const accounts = services.directory;
  // Real time, not the portal's clock: a token is refused once its access has ended in the world.
  const accessEndsAt = (grantId: string) => grantAccessEndsAt(services, grantId, Date.now());
  // A deleted client's connected-app rows end with its grants.
  const onClientDeleted = async (clientId: string, at: number) => {
    await services.appLinks.revokeAllForClient(clientId, at);
    await services.security.record({ event: 'client.deleted', clientId });
  };
  // Rate limits are counted in the database, so they hold across WORKERS and instances; on the portal's clock.
  const limiter = new RequestLimiter(new RateLimitStore(db.kysely), services.now);
  const rateLimitStore = sharedRateLimitStore(limiter);
  if (!deps.openFhir) {
    // Before createAuthServer mounts the provider: its hook takes /auth requests out of Fastify's hands.
    limitAuthEndpoints(server, limiter, {
      tokenPerAddress: config.tokenRateLimit,
      tokenPerClient: config.tokenClientRateLimit,
      registrationPerAddress: config.registrationRateLimit,
      windowMs: 60_000,
    });
  }
  // Before the authorization server's hook takes /auth requests out of Fastify's hands.
  registerRequestLimits(server, config.siteName);
  const auth = deps.openFhir ? undefined : await createAuthServer(server, { config, db, accounts, accessEndsAt, onClientDeleted, security: services.security });
  const capability = buildCapabilityStatement({
    fhirBaseUrl: config.fhirBaseUrl,
    softwareVersion: pkg.version,
    date: started,
    ...(auth ? { security: auth.security, bulkExport: true, auditEvents: true } : {}),
  });

  // Each FHIR response waits for its audit event's commit, shared with every event recorded meanwhile (group commit,
  // see fhir/audit.ts). "Last used" on the connected-apps page follows from the written events, off the response path:
  // markUsed writes a grant at most once a minute, and a failure only leaves "last used" behind.
  const audit = auth
    ? new AuditBuffer({
        retryMs: 250,
        maxBatch: 2000,
        maxPending: 200_000,
        failedStatus: 503,
        write: async (events: readonly AccessEvent[]) => {
          await services.auditLog.record(events);
          const lastUse = new Map<string, number>();
          for (const e of events) if (e.grantId) lastUse.set(e.grantId, Math.max(e.at, lastUse.get(e.grantId) ?? 0));
          void (async () => {
            for (const [grantId, at] of lastUse) await services.appLinks.markUsed(grantId, at);
          })().catch((err: unknown) => server.log.warn({ err }, 'last-used time of a connected app not written'));
        },
        onError: (err, pending) => server.log.error({ err, pending }, 'audit write failed; events kept for the next attempt'),
      })
    : undefined;
  if (audit) server.addHook('onClose', async () => audit.close());
  if (metrics) attachMetrics(metrics, { provider: auth?.provider, resolver: auth?.resolver, security: services.security, audit });
  server.addHook('onClose', async () => services.security.close());

  // Bulk export: jobs live in the database, so this instance runs its share and answers for all of them.
  const exportJobs = new ExportJobStore(db);
  const exports = auth
    ? new ExportRunner({ db, target: config.database, jobs: exportJobs, log: server.log, ...config.export })
    : undefined;
  const bulk = exports ? new BulkExportService({ jobs: exportJobs, runner: exports, fhir, fhirBaseUrl: config.fhirBaseUrl, maxJobsPerClient: config.export.maxJobsPerClient }) : undefined;
  if (exports) {
    // Only a process that serves requests runs exports: WORKERS' primary builds the app for first-start work alone,
    // and a job it claimed and handed back would count as an interrupted attempt.
    server.addHook('onListen', async () => exports.start());
    // Before the audit buffer and the database close: a running export is handed back to the queue.
    server.addHook('onClose', async () => exports.stop());
  }

  await server.register(fhirPlugin, {
    prefix: '/fhir',
    service: fhir,
    capabilityStatement: () => capability,
    ...(audit ? { audit } : {}),
    ...(bulk ? { bulk } : {}),
    ...(auth ? { auditTrail: { reader: services.auditLog, observer: `${config.siteName} SMART on FHIR server` } } : {}),
    ...(auth
      ? {
          auth: {
            resolve: (token: string) => auth.resolver.resolve(token),
            resolveCached: (token: string) => auth.resolver.resolveCached(token),
            // A parent's proxy for a teenager reaches fewer types: user/ scopes see a record only for allowed types.
            userPatients: async (g, type) => {
              if (!g.accountId) return [];
              const account = await accounts.findAccount(g.accountId);
              if (!account) return [];
              if (account.role === 'clinician') return undefined;
              return (await accounts.patientsFor(g.accountId)).filter((p) => typeAllowed(p.allowedTypes, type)).map((p) => p.id);
            },
            // A sandbox 401 says why (unknown, expired, revoked, ...); production stays terse (RFC 6750).
            ...(config.sandbox ? { explainRefusal: (token: string) => auth.tokenStatus(token) } : {}),
          },
        }
      : {}),
  });
  const portal = auth ? await createPortal(server, { config, db, fhir, services, auth, rateLimitStore, ...(deps.clock ? { clock: deps.clock } : {}) }) : undefined;
  if (auth) {
    if (config.sandbox) {
      await server.register(sandboxPlugin, {
        auth,
        fhir,
        directory: services.directory,
        appLinks: services.appLinks,
        publicUrl: config.publicUrl,
        fhirBaseUrl: config.fhirBaseUrl,
        staticClients: auth.staticClients,
        cookieSecret: auth.cookieSecret,
        secureCookies: config.publicUrl.startsWith('https:'),
        clock: services.now,
        rateLimitStore,
      });
    }
    // SMART context-passthrough-style: colours and fonts an embedded app can use to match us.
    server.get('/smart-style.json', async (_req, reply) =>
      reply.header('access-control-allow-origin', '*').send({
        color_background: '#ffffff',
        color_error: '#b00020',
        color_highlight: '#005ea2',
        color_modal_backdrop: 'rgba(0,0,0,0.5)',
        color_success: '#2e7d32',
        color_text: '#1b1b1b',
        dim_border_radius: '4px',
        dim_font_size: '16px',
        dim_spacing_size: '16px',
        font_family_body: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
        font_family_heading: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
      }),
    );
  }

  registerHealthRoutes(server, { db, ...(auth ? { signingKeys: () => signingKeyCount(auth.provider) } : {}) });
  if (metrics) registerMetricsEndpoint(server, metrics, config.metricsToken!);
  server.get('/', async (_req, reply) =>
    reply.type('application/json').send({ name: 'smart-fhir-server', version: pkg.version, fhir: config.fhirBaseUrl, metadata: `${config.fhirBaseUrl}/metadata` }),
  );
  return { server, fhir, ...(auth ? { auth } : {}), ...(portal ? { portal } : {}), ...(exports ? { exports } : {}) };
}
