// The load a crash test runs against a real server process, and the ledger of what the server acknowledged: FHIR
// creates and updates (each with a unique identifier), portal self sign-ups, consents (full authorization-code flows
// with PKCE), client_credentials tokens, refresh-token rotations, and FHIR reads. Only an answer the client received
// counts as acknowledged; a request cut off by a kill is "in doubt" and may or may not have taken effect. After a
// restart, `checkStore` (on the database) and `checkLive` (over HTTP) prove nothing acknowledged was lost.
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { sql } from 'kysely';
import { computeIndex } from '../../src/fhir/index-rows.js';
import { resourceDef } from '../../src/fhir/definitions.js';
import type { Db } from '../../src/store/db.js';
import type { Test } from 'tap';
import { authorizeInBrowser } from '../helpers/browser-flow.js';
import { startServer, type ServerProcess } from '../helpers/server-process.js';

export const WRITER_ID = 'crash-writer';
const WRITER_SECRET = 'crash-writer-secret-long-enough';
const WRITER_BASIC = `Basic ${Buffer.from(`${WRITER_ID}:${WRITER_SECRET}`).toString('base64')}`;
/** CLIENTS_FILE content: a backend service that may write (the sandbox's demo-backend only reads). */
export const WRITER_CLIENT = {
  client_id: WRITER_ID,
  client_name: 'Crash test writer',
  client_secret: WRITER_SECRET,
  token_endpoint_auth_method: 'client_secret_basic',
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  scope: 'system/*.cruds',
};
const APP = 'demo-patient-app';
const REDIRECT = 'http://localhost:3000/callback';
const PASSWORD = 'Crash-Test-Pass-93!';
const IDENT_SYSTEM = 'urn:crash-test';
type JsonObject = Record<string, unknown>;

/**
 * The real server (src/main.ts) in a process of its own on `databaseUrl`, with the writer client configured; resolves
 * once it answers. Killed at the end of the test if still running.
 */
export async function launchServer(t: Test, opts: { databaseUrl: string; port: number; clientsFile: string; exportDir: string; env?: Record<string, string> }): Promise<ServerProcess> {
  const origin = `http://127.0.0.1:${opts.port}`;
  const server = startServer({
    DATABASE_URL: opts.databaseUrl,
    PORT: String(opts.port),
    HOST: '127.0.0.1',
    PUBLIC_URL: origin,
    SANDBOX: 'true',
    SEED_DIR: '',
    LOG_LEVEL: process.env.CRASH_LOG_LEVEL ?? 'warn',
    CLIENTS_FILE: opts.clientsFile,
    // The load comes from one address at a pace no client has: rate limits and load shedding would answer it with
    // 429s and 503s that say nothing about durability.
    SIGNIN_RATE_LIMIT: '1000000',
    TOKEN_RATE_LIMIT: '0',
    TOKEN_CLIENT_RATE_LIMIT: '0',
    OVERLOAD_EVENT_LOOP_DELAY_MS: '0',
    OVERLOAD_QUEUE_MS: '0',
    EXPORT_DIR: opts.exportDir,
    ...opts.env,
  });
  t.teardown(async () => {
    if (server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
  });
  const end = Date.now() + 90_000;
  for (;;) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) throw new Error(`the server exited (${server.child.exitCode ?? server.child.signalCode}): ${server.stderr()}`);
    if (await http(`${origin}/fhir/metadata`).then((r) => r.status === 200, () => false)) return server;
    if (Date.now() > end) throw new Error(`the server did not answer within 90 s; stderr: ${server.stderr().slice(-1000)}; log: ${JSON.stringify(server.lines.slice(-8))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Seeded PRNG (mulberry32): the same seed gives the same choices and kill delays. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One request on a connection of its own (a killed server leaves no pooled socket behind); rejects when cut off. */
export function http(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers ?? {}, agent: false, timeout: 20_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('response aborted')));
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

interface Patient {
  readonly id: string;
  readonly identifier: string;
  readonly family: string;
  /** The version the client last saw acknowledged, and its marker (telecom value) */
  ackVersion: number;
  ackMarker: string;
  busy: boolean;
  signupTried: boolean;
}

interface Account {
  readonly username: string;
  readonly patientId: string;
  consents: number;
}

interface Chain {
  readonly username: string;
  readonly patientId: string;
  /** The refresh token the client holds: the last one it received in a 2xx */
  refresh: string;
  access: string;
  busy: boolean;
  /** Refreshes acknowledged on this chain */
  rotations: number;
}

/** Answered and attempted audited requests per "client interaction resourceId". */
interface AuditTally {
  attempted: number;
  answered: number;
}

export interface Ledger {
  readonly runTag: string;
  /** Numbers identifiers, usernames and probe ids across every life of the server */
  seq: number;
  readonly patients: Patient[];
  readonly accounts: Account[];
  readonly chains: Chain[];
  readonly ccTokens: { token: string; checked: boolean }[];
  readonly audited: Map<string, AuditTally>;
  creates: AuditTally;
  /** Answers the load did not expect, by kind and status (e.g. "refresh 400"), with a sample body */
  readonly unexpected: Map<string, { count: number; sample: string }>;
  /** Answers by status, per kind of request (for the report) */
  readonly statuses: Map<string, number>;
  /** Requests that got no answer (cut off by a kill), by actor, with a sample error: in doubt, and for diagnosis */
  readonly cutOff: Map<string, { count: number; sample: string }>;
  counts: { creates: number; updates: number; signups: number; consents: number; refreshes: number; tokens: number; reads: number; inDoubt: number };
}

export function newLedger(runTag: string): Ledger {
  return {
    runTag,
    seq: 0,
    patients: [],
    accounts: [],
    chains: [],
    ccTokens: [],
    audited: new Map(),
    creates: { attempted: 0, answered: 0 },
    unexpected: new Map(),
    statuses: new Map(),
    cutOff: new Map(),
    counts: { creates: 0, updates: 0, signups: 0, consents: 0, refreshes: 0, tokens: 0, reads: 0, inDoubt: 0 },
  };
}

export interface WorkloadOptions {
  readonly origin: string;
  readonly ledger: Ledger;
  readonly random: () => number;
  /** Answers that are expected besides success (e.g. 503 while PostgreSQL is down), by kind of request */
  readonly tolerated?: (kind: string, status: number, body: string) => boolean;
}

const pick = <T>(random: () => number, items: readonly T[]): T | undefined => (items.length ? items[Math.floor(random() * items.length)] : undefined);

function letters(n: number): string {
  let s = '';
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26);
  } while (n > 0);
  return s;
}

/**
 * Concurrent actors, each a loop of one kind of request, until `stop`. Every answer is entered in the ledger when it
 * arrives; a request that fails (the server was killed) changes nothing in it but the in-doubt count.
 */
export class Workload {
  #running = false;
  #loops: Promise<void>[] = [];
  #writerToken: string | undefined;
  readonly #o: WorkloadOptions;

  constructor(opts: WorkloadOptions) {
    this.#o = opts;
  }

  get #l(): Ledger {
    return this.#o.ledger;
  }

  #next(): number {
    return this.#o.ledger.seq++;
  }

  #tally(kind: string, status: number, body: string, ok: (s: number) => boolean): boolean {
    const key = `${kind} ${status}`;
    this.#l.statuses.set(key, (this.#l.statuses.get(key) ?? 0) + 1);
    if (ok(status)) return true;
    if (this.#o.tolerated?.(kind, status, body)) return false;
    const u = this.#l.unexpected.get(key) ?? { count: 0, sample: body.slice(0, 300) };
    u.count++;
    this.#l.unexpected.set(key, u);
    return false;
  }

  /** Starts the actors; the writer token is fetched first, so every FHIR actor has one. */
  async start(): Promise<void> {
    this.#writerToken = await this.issueToken(true);
    this.#running = true;
    const loop = async (actor: string, body: () => Promise<void>) => {
      while (this.#running) {
        try {
          await body();
        } catch (err) {
          this.#l.counts.inDoubt++;
          const c = this.#l.cutOff.get(actor) ?? { count: 0, sample: String((err as Error).message ?? err).slice(0, 300) };
          c.count++;
          this.#l.cutOff.set(actor, c);
          // The server is gone (killed, restarting) or the database is down: do not spin.
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    this.#loops = [
      loop('write', () => this.#writeOnce()),
      loop('write', () => this.#writeOnce()),
      loop('signup', () => this.#signUpOnce()),
      loop('consent', () => this.#consentOnce()),
      loop('refresh', () => this.#refreshOnce()),
      loop('refresh', () => this.#refreshOnce()),
      loop('token', async () => void (await this.issueToken(false))),
      loop('read', () => this.#readOnce()),
      loop('read', () => this.#readOnce()),
    ];
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  /** A client_credentials token for the writer client; acknowledged ones are checked after the next restart. */
  async issueToken(forLoad: boolean): Promise<string | undefined> {
    const res = await http(`${this.#o.origin}/auth/token`, {
      method: 'POST',
      headers: { authorization: WRITER_BASIC, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=system%2F*.cruds',
    });
    if (!this.#tally('token', res.status, res.body, (s) => s === 200)) {
      if (forLoad) throw new Error(`the writer token was refused: ${res.status} ${res.body}`);
      return undefined;
    }
    const token = (JSON.parse(res.body) as { access_token: string }).access_token;
    this.#l.counts.tokens++;
    this.#l.ccTokens.push({ token, checked: false });
    return token;
  }

  /** A FHIR request that the audit trail must show once answered (keyed by interaction and id). */
  async fhir(interaction: string, key: string | undefined, url: string, init: { method?: string; token: string; body?: unknown; client?: string }): Promise<Answer> {
    const auditKey = `${init.client ?? WRITER_ID} ${interaction} ${key}`;
    const tally = key === undefined ? this.#l.creates : (this.#l.audited.get(auditKey) ?? { attempted: 0, answered: 0 });
    if (key !== undefined) this.#l.audited.set(auditKey, tally);
    tally.attempted++;
    const res = await http(url, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${init.token}`, accept: 'application/fhir+json', ...(init.body ? { 'content-type': 'application/fhir+json' } : {}) },
      ...(init.body ? { body: JSON.stringify(init.body) } : {}),
    });
    // A 401 never reached the API's authorization, so it is not an access the trail records.
    if (res.status !== 401) tally.answered++;
    return res;
  }

  #patientBody(n: number, id: string | undefined, marker: string): JsonObject {
    const p = this.#l.patients.find((x) => x.id === id);
    const family = p?.family ?? `Crash${letters(n)}`;
    const identifier = p?.identifier ?? `${this.#l.runTag}-${n}`;
    return {
      resourceType: 'Patient',
      ...(id ? { id } : {}),
      identifier: [{ system: IDENT_SYSTEM, value: identifier }],
      name: [{ family, given: ['Ack'] }],
      birthDate: '1980-01-01',
      telecom: [{ system: 'other', value: marker }],
    };
  }

  async #writeOnce(): Promise<void> {
    const l = this.#l;
    const idle = l.patients.filter((p) => !p.busy);
    if (this.#o.random() < 0.55 || idle.length < 3) {
      const n = this.#next();
      const body = this.#patientBody(n, undefined, 'v1');
      const res = await this.fhir('create', undefined, `${this.#o.origin}/fhir/Patient`, { method: 'POST', token: this.#writerToken!, body });
      if (!this.#tally('create', res.status, res.body, (s) => s === 201)) return;
      const created = JSON.parse(res.body) as { id: string; meta: { versionId: string } };
      const ident = (body.identifier as { value: string }[])[0]!.value;
      l.patients.push({ id: created.id, identifier: ident, family: (body.name as { family: string }[])[0]!.family, ackVersion: Number(created.meta.versionId), ackMarker: 'v1', busy: false, signupTried: false });
      l.counts.creates++;
      return;
    }
    const p = pick(this.#o.random, idle)!;
    p.busy = true;
    try {
      const marker = `v${this.#next()}`;
      const res = await this.fhir('update', p.id, `${this.#o.origin}/fhir/Patient/${p.id}`, { method: 'PUT', token: this.#writerToken!, body: this.#patientBody(0, p.id, marker) });
      if (!this.#tally('update', res.status, res.body, (s) => s === 200)) return;
      const version = Number((JSON.parse(res.body) as { meta: { versionId: string } }).meta.versionId);
      p.ackVersion = version;
      p.ackMarker = marker;
      l.counts.updates++;
    } finally {
      p.busy = false;
    }
  }

  async #readOnce(): Promise<void> {
    const l = this.#l;
    // Half the reads find an acknowledged patient (200), half a probe id read once (404): both are audited.
    const p = this.#o.random() < 0.5 ? pick(this.#o.random, l.patients) : undefined;
    const id = p?.id ?? `probe-${l.runTag}-${this.#next()}`;
    const res = await this.fhir('read', id, `${this.#o.origin}/fhir/Patient/${id}`, { token: this.#writerToken! });
    l.counts.reads++;
    this.#tally('read', res.status, res.body, (s) => s === (p ? 200 : 404));
  }

  async #signUpOnce(): Promise<void> {
    const l = this.#l;
    const p = l.patients.find((x) => !x.signupTried);
    if (!p) return void (await new Promise((r) => setTimeout(r, 20)));
    // Tried once only: after a kill mid-sign-up the record may or may not have an account, and a second try would
    // be refused as "already has an account" either way.
    p.signupTried = true;
    const username = `u${l.runTag.replace(/[^a-z0-9]/gi, '')}x${this.#next()}`;
    const jar = new Jar();
    const page = await http(`${this.#o.origin}/portal/signup/self`, { headers: { cookie: jar.header() } });
    jar.take(page);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
    if (page.status !== 200 || !csrf) return void this.#tally('signup-page', page.status, page.body, () => false);
    const form = new URLSearchParams({ _csrf: csrf, givenName: 'Ack', familyName: p.family, birthDate: '1980-01-01', identifier: p.identifier, username, newPassword: PASSWORD, confirmPassword: PASSWORD });
    const res = await http(`${this.#o.origin}/portal/signup/self`, {
      method: 'POST',
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    if (!this.#tally('signup', res.status, res.body, (s) => s === 303 && res.headers.location === '/portal/apps')) return;
    l.accounts.push({ username, patientId: p.id, consents: 0 });
    l.counts.signups++;
  }

  async #consentOnce(): Promise<void> {
    const l = this.#l;
    const account = [...l.accounts].sort((a, b) => a.consents - b.consents)[0];
    if (!account) return void (await new Promise((r) => setTimeout(r, 20)));
    account.consents++;
    const verifier = randomBytes(32).toString('base64url');
    const authorize = new URL(`${this.#o.origin}/auth/auth`);
    authorize.search = new URLSearchParams({
      response_type: 'code',
      client_id: APP,
      redirect_uri: REDIRECT,
      scope: 'launch/patient openid fhirUser offline_access patient/*.rs',
      aud: `${this.#o.origin}/fhir`,
      state: 'crash',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const flow = await authorizeInBrowser(authorize.toString(), REDIRECT, { username: account.username, password: PASSWORD, duration: 'forever' });
    const code = flow.callback.searchParams.get('code');
    if (!code) return void this.#tally('consent', 0, flow.callback.toString(), () => false);
    const res = await http(`${this.#o.origin}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: APP, code_verifier: verifier }).toString(),
    });
    if (!this.#tally('code-exchange', res.status, res.body, (s) => s === 200)) return;
    const tokens = JSON.parse(res.body) as { access_token: string; refresh_token?: string; patient?: string };
    if (!tokens.refresh_token) return void this.#tally('code-exchange-no-refresh', 0, res.body, () => false);
    l.chains.push({ username: account.username, patientId: account.patientId, refresh: tokens.refresh_token, access: tokens.access_token, busy: false, rotations: 0 });
    l.counts.consents++;
  }

  /** One refresh on a chain; the client keeps its old token unless a 2xx hands it a new one. */
  async refresh(chain: Chain, kind = 'refresh'): Promise<Answer> {
    chain.busy = true;
    try {
      const res = await http(`${this.#o.origin}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: chain.refresh, client_id: APP }).toString(),
      });
      if (this.#tally(kind, res.status, res.body, (s) => s === 200)) {
        const tokens = JSON.parse(res.body) as { access_token: string; refresh_token?: string };
        chain.refresh = tokens.refresh_token ?? chain.refresh;
        chain.access = tokens.access_token;
        chain.rotations++;
        this.#l.counts.refreshes++;
      }
      return res;
    } finally {
      chain.busy = false;
    }
  }

  async #refreshOnce(): Promise<void> {
    const chain = pick(this.#o.random, this.#l.chains.filter((c) => !c.busy));
    if (!chain) return void (await new Promise((r) => setTimeout(r, 20)));
    await this.refresh(chain);
  }
}

/** Cookies of one browser-like client (CSRF secret and session), for the portal forms. */
class Jar {
  readonly #c = new Map<string, string>();
  take(res: Answer): void {
    const set = res.headers['set-cookie'];
    for (const c of Array.isArray(set) ? set : set ? [set] : []) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      this.#c.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1));
    }
  }
  header(): string {
    return [...this.#c].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

export interface StoreReport {
  readonly problems: string[];
  readonly checked: { creates: number; updates: number; indexedResources: number; accounts: number; grants: number; auditKeys: number; auditEvents: number; auditRepeats: number };
}

const tokenHash = (value: string) => createHash('sha256').update(value).digest('base64url');

/**
 * What the database holds after a crash, checked against the ledger (run while no server is up, or between requests):
 * each acknowledged create exactly once, each acknowledged update's version intact and the current version not older,
 * every test resource's index rows exactly those its content gives (no orphan or half-written row anywhere), every
 * acknowledged account exactly once, every acknowledged grant present with its context and app link, and an audit
 * event for every answered request.
 */
export async function checkStore(db: Db, ledger: Ledger, fhirBaseUrl: string, opts: { auditRepeats?: boolean } = {}): Promise<StoreReport> {
  const k = db.kysely;
  const problems: string[] = [];
  const patients = ledger.patients;

  // Creates: exactly one current resource carries each acknowledged identifier, with the acknowledged id.
  const byIdent = new Map<string, string[]>();
  for (const part of chunk(patients.map((p) => p.identifier), 500)) {
    const rows = await k
      .selectFrom('idx_token')
      .innerJoin('resources', 'resources.rid', 'idx_token.rid')
      .select(['idx_token.code', 'resources.id'])
      .where('idx_token.param', '=', 'identifier')
      .where('idx_token.system', '=', IDENT_SYSTEM)
      .where('idx_token.code', 'in', part)
      .where('resources.type', '=', 'Patient')
      .where('resources.deleted', '=', 0)
      .execute();
    for (const r of rows) byIdent.set(r.code, [...(byIdent.get(r.code) ?? []), r.id]);
  }
  for (const p of patients) {
    const ids = byIdent.get(p.identifier) ?? [];
    if (ids.length !== 1 || ids[0] !== p.id) problems.push(`create ${p.identifier}: expected exactly Patient/${p.id}, found [${ids.join(', ')}]`);
  }

  // Updates: the current version is the acknowledged one or later, and the acknowledged version holds what was sent.
  let updates = 0;
  for (const part of chunk(patients, 300)) {
    const current = await k.selectFrom('resources').select(['id', 'version_id', 'rid']).where('type', '=', 'Patient').where('id', 'in', part.map((p) => p.id)).execute();
    const cur = new Map(current.map((r) => [r.id, r]));
    const versions = await k
      .selectFrom('resource_versions')
      .select(['id', 'version_id', 'content'])
      .where('type', '=', 'Patient')
      .where('id', 'in', part.map((p) => p.id))
      .execute();
    const ver = new Map(versions.map((v) => [`${v.id} ${v.version_id}`, v.content]));
    for (const p of part) {
      const c = cur.get(p.id);
      if (!c) continue; // reported above
      if (Number(c.version_id) < p.ackVersion) problems.push(`update Patient/${p.id}: current version ${c.version_id} is older than the acknowledged ${p.ackVersion}`);
      const content = ver.get(`${p.id} ${p.ackVersion}`);
      const marker = content ? (JSON.parse(content) as { telecom?: { value: string }[] }).telecom?.[0]?.value : undefined;
      if (marker !== p.ackMarker) problems.push(`update Patient/${p.id}: version ${p.ackVersion} holds ${marker ?? 'nothing'}, acknowledged ${p.ackMarker}`);
      for (let v = 1; v <= Number(c.version_id); v++) if (!ver.has(`${p.id} ${v}`)) problems.push(`Patient/${p.id}: version ${v} of ${c.version_id} is missing from the history`);
      if (p.ackVersion > 1) updates++;
    }
  }

  // Index rows: none without a current, undeleted resource; each test resource's rows exactly what its content gives.
  for (const table of ['idx_token', 'idx_string', 'idx_date', 'idx_reference'] as const) {
    const orphans = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)} i where not exists (select 1 from resources r where r.rid = i.rid and r.deleted = 0)`.execute(k);
    if (Number(orphans.rows[0]?.n ?? 0) > 0) problems.push(`${table}: ${orphans.rows[0]!.n} rows without a current resource`);
  }
  const unversioned = await sql<{ n: number }>`select count(*) as n from resources r where not exists (select 1 from resource_versions v where v.rid = r.rid and v.version_id = r.version_id)`.execute(k);
  if (Number(unversioned.rows[0]?.n ?? 0) > 0) problems.push(`resources: ${unversioned.rows[0]!.n} current rows without their version row`);
  const def = resourceDef('Patient')!;
  const test = await k.selectFrom('resources').select(['rid', 'id', 'content', 'patient_id', 'sort_date']).where('type', '=', 'Patient').where('id', 'in', patients.length ? patients.map((p) => p.id) : ['-']).execute();
  const rowsOf = async (table: 'idx_token' | 'idx_string' | 'idx_date' | 'idx_reference', rids: number[]) => {
    const out = new Map<number, string[]>();
    for (const part of chunk(rids, 500)) {
      const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(table)} where rid in (${sql.join(part)})`.execute(k)).rows;
      for (const r of rows) {
        const { rid, ...rest } = r;
        out.set(Number(rid), [...(out.get(Number(rid)) ?? []), JSON.stringify(Object.entries(rest).map(([key, v]) => [key, typeof v === 'bigint' ? Number(v) : v]).sort())]);
      }
    }
    return out;
  };
  const rids = test.map((r) => Number(r.rid));
  const actual = { tokens: await rowsOf('idx_token', rids), strings: await rowsOf('idx_string', rids), dates: await rowsOf('idx_date', rids), references: await rowsOf('idx_reference', rids) };
  for (const r of test) {
    const expected = computeIndex(def, JSON.parse(r.content!) as JsonObject, r.id, fhirBaseUrl);
    const want = {
      tokens: expected.tokens.map((t) => JSON.stringify(Object.entries({ param: t.param, system: t.system, code: t.code }).sort())),
      strings: expected.strings.map((s) => JSON.stringify(Object.entries({ param: s.param, value: s.value }).sort())),
      dates: expected.dates.map((d) => JSON.stringify(Object.entries({ param: d.param, lo: d.lo, hi: d.hi }).sort())),
      references: expected.references.map((x) => JSON.stringify(Object.entries({ param: x.param, target_type: x.targetType, target_id: x.targetId }).sort())),
    };
    for (const kind of ['tokens', 'strings', 'dates', 'references'] as const) {
      const got = [...(actual[kind].get(Number(r.rid)) ?? [])].sort();
      const exp = [...want[kind]].sort();
      if (JSON.stringify(got) !== JSON.stringify(exp)) problems.push(`Patient/${r.id}: ${kind} index rows ${JSON.stringify(got)} differ from its content's ${JSON.stringify(exp)}`);
    }
  }

  // Accounts: each acknowledged sign-up exactly once, for its record.
  for (const part of chunk(ledger.accounts, 500)) {
    const rows = await k.selectFrom('accounts').select(['username', 'patient_id']).where('username', 'in', part.map((a) => a.username.toLowerCase())).execute();
    for (const a of part) {
      const mine = rows.filter((r) => r.username === a.username.toLowerCase());
      if (mine.length !== 1 || mine[0]!.patient_id !== a.patientId) problems.push(`sign-up ${a.username}: expected one account for Patient/${a.patientId}, found ${JSON.stringify(mine)}`);
    }
  }

  // Grants: the refresh token the client holds still names a grant that exists, with its launch context and app link.
  let grants = 0;
  for (const c of ledger.chains) {
    const rt = await k.selectFrom('oidc_model').select(['grant_id']).where('model', '=', 'RefreshToken').where('id', '=', tokenHash(c.refresh)).executeTakeFirst();
    if (!rt?.grant_id) {
      problems.push(`chain of ${c.username}: the refresh token it holds (after ${c.rotations} rotations) is gone`);
      continue;
    }
    const grant = await k.selectFrom('oidc_model').select(['id']).where('model', '=', 'Grant').where('id', '=', rt.grant_id).executeTakeFirst();
    const context = await k.selectFrom('smart_context').select(['patient']).where('grant_id', '=', rt.grant_id).executeTakeFirst();
    const link = await k.selectFrom('app_links').select(['revoked_at']).where('grant_id', '=', rt.grant_id).executeTakeFirst();
    if (!grant) problems.push(`grant ${rt.grant_id} of ${c.username}: gone`);
    if (context?.patient !== c.patientId) problems.push(`grant ${rt.grant_id} of ${c.username}: launch context ${JSON.stringify(context)}`);
    if (!link || link.revoked_at !== null) problems.push(`grant ${rt.grant_id} of ${c.username}: app link ${JSON.stringify(link)}`);
    grants++;
  }

  // Audit: every answered request has its event (and no request has more events than it was sent).
  const byKey = new Map<string, number>();
  const keys = [...ledger.audited.keys()];
  for (const part of chunk([...new Set(keys.map((key) => key.split(' ')[2]!))], 500)) {
    const rows = await k
      .selectFrom('audit_events')
      .select(['client_id', 'interaction', 'resource_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('client_id', 'in', [WRITER_ID, APP])
      .where('resource_type', '=', 'Patient')
      .where('resource_id', 'in', part)
      .groupBy(['client_id', 'interaction', 'resource_id'])
      .execute();
    for (const r of rows) byKey.set(`${r.client_id} ${r.interaction} ${r.resource_id}`, Number(r.n));
  }
  let auditEvents = 0;
  let auditRepeats = 0;
  for (const [key, tally] of ledger.audited) {
    const n = byKey.get(key) ?? 0;
    auditEvents += tally.answered;
    if (n < tally.answered) problems.push(`audit ${key}: ${tally.answered} answered, ${n} recorded`);
    if (n > tally.attempted && opts.auditRepeats) auditRepeats += n - tally.attempted;
    else if (n > tally.attempted) problems.push(`audit ${key}: ${n} recorded for ${tally.attempted} requests sent`);
  }
  const creates = await k.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).where('client_id', '=', WRITER_ID).where('interaction', '=', 'create').executeTakeFirst();
  const nCreates = Number(creates?.n ?? 0);
  if (nCreates < ledger.creates.answered) problems.push(`audit creates: ${ledger.creates.answered} answered, ${nCreates} recorded`);
  if (nCreates > ledger.creates.attempted && opts.auditRepeats) auditRepeats += nCreates - ledger.creates.attempted;
  else if (nCreates > ledger.creates.attempted) problems.push(`audit creates: ${nCreates} recorded for ${ledger.creates.attempted} sent`);
  auditEvents += ledger.creates.answered;

  return { problems, checked: { creates: patients.length, updates, indexedResources: test.length, accounts: ledger.accounts.length, grants, auditKeys: ledger.audited.size, auditEvents, auditRepeats } };
}

export interface LiveReport {
  readonly problems: string[];
  readonly checked: { refreshTokens: number; accessTokens: number; ccTokens: number };
}

/**
 * Over HTTP on the restarted server: every refresh token a client holds still refreshes (its grant is alive), the
 * access token it came with still reads the patient, and each client_credentials token not checked yet still works.
 */
export async function checkLive(work: Workload, ledger: Ledger, origin: string): Promise<LiveReport> {
  const problems: string[] = [];
  let accessTokens = 0;
  let ccTokens = 0;
  for (const c of ledger.chains) {
    const read = await work.fhir('read', c.patientId, `${origin}/fhir/Patient/${c.patientId}`, { token: c.access, client: APP });
    if (read.status !== 200) problems.push(`access token of ${c.username}: ${read.status} ${read.body.slice(0, 200)}`);
    accessTokens++;
    const before = c.refresh;
    const res = await work.refresh(c, 'check-refresh');
    if (res.status !== 200) problems.push(`refresh token of ${c.username} (${before.slice(0, 8)}…, ${c.rotations} rotations acknowledged): ${res.status} ${res.body.slice(0, 200)}`);
  }
  for (const cc of ledger.ccTokens.filter((x) => !x.checked)) {
    const res = await work.fhir('read', `cc-check-${ledger.runTag}-${ccTokens}`, `${origin}/fhir/Patient/cc-check-${ledger.runTag}-${ccTokens}`, { token: cc.token });
    if (res.status !== 404) problems.push(`client_credentials token ${cc.token.slice(0, 8)}…: ${res.status} ${res.body.slice(0, 200)}`);
    cc.checked = true;
    ccTokens++;
  }
  return { problems, checked: { refreshTokens: ledger.chains.length, accessTokens, ccTokens } };
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
