// Bad input never crashes or hangs the server and never yields a 5xx. The real server (src/main.ts, sandbox mode, so
// every route exists) runs in a process of its own on a fresh database; at least 10,000 malformed requests (100,000
// with TEST_LONG=1), generated from a seed over every route in its route table, go to it over real HTTP with
// keep-alive and several at a time, a share of them as raw bytes on sockets. Every answer must be below 500; every
// 4xx must be the area's error: an OperationOutcome from /fhir, an OAuth error (or its HTML page) from /auth, the HTML
// page from the portal and sandbox; requests malformed beyond doubt must get a 4xx. After each batch the server must
// still answer its health check, and its memory (RSS) must stay bounded.
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { openDb } from '../../src/store/db.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { LIMITS } from '../../src/limits.js';
import { createTestDatabase, usingPostgres } from '../helpers/database.js';
import { send, startServer, until } from '../helpers/server-process.js';
import { freePort } from '../helpers/smart-server.js';
import { Rng, areaOf, nextRawCase, nextRequest, parseRouteTree, stalledBody, type Area, type FuzzContext, type FuzzRequest, type RawCase, type Route } from './fuzz-cases.js';
import { rawRequest } from './raw-http.js';

const LONG = process.env.TEST_LONG === '1';
const SEED = Number(process.env.FUZZ_SEED ?? '16');
const TOTAL = Number(process.env.FUZZ_REQUESTS ?? (LONG ? 100_000 : 10_000));
const CONCURRENCY = 8;
const BATCH = 500;
/** One request in this many goes as raw bytes on a socket of its own */
const RAW_EVERY = 25;
/** The server's REQUEST_TIMEOUT_SECONDS here, so stalled bodies are cut off within the test */
const REQUEST_TIMEOUT_S = 3;
/**
 * Memory is bounded when it never passes a fixed ceiling however many requests come, and does not climb from the first
 * half of the run to the second by more than V8's heap swings (it grows and compacts by hundreds of MB as bodies of up
 * to 10 MiB come and go). A leak shows in both once the run is long enough (TEST_LONG=1).
 */
const RSS_PEAK_LIMIT = 1024 * 1024 * 1024;
const RSS_CLIMB_LIMIT = 300 * 1024 * 1024;

// About a minute per database on a quiet machine; CI runs both suites at once.
t.setTimeout(LONG ? 3_600_000 : 300_000);

const WRITER = { client_id: 'fuzz-writer', client_secret: 'fuzz-writer-secret-0123456789abcdef', scope: 'system/*.cruds' };

interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

/** The app's route table, from the same build the server process runs (sandbox mode: every route exists). */
async function routeTable(): Promise<Route[]> {
  const db = openDb({ kind: 'sqlite', filename: ':memory:' });
  await migrateToLatest(db);
  const scratch = mkdtempSync(join(tmpdir(), 'fuzz-routes-'));
  const config = { ...loadConfig({ SEED_DIR: '', EXPORT_DIR: scratch, SANDBOX: 'true' }), database: { kind: 'sqlite' as const, filename: ':memory:' } };
  const app = await buildApp({ config, db, logger: false });
  await app.server.ready();
  const routes = parseRouteTree(app.server.printRoutes({ commonPrefix: false }));
  await app.server.close();
  await db.close();
  rmSync(scratch, { recursive: true, force: true });
  return routes;
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

const header = (h: Answer['headers'], name: string) => {
  const v = h[name];
  return Array.isArray(v) ? v.join(', ') : (v ?? '');
};

/** Why an answer is wrong for its request, or undefined when it is right. */
export function problemWith(area: Area | 'unknown', method: string, must4xx: boolean, a: Answer, path = ''): string | undefined {
  if (a.status >= 500) return `${a.status} from the server`;
  if (a.status < 100) return 'no status';
  if (must4xx && (a.status < 400 || a.status >= 500)) return `expected a 4xx, got ${a.status}`;
  if (a.status < 400 || method === 'HEAD') return undefined;
  const type = header(a.headers, 'content-type');
  const text = a.body.toString('utf8');
  const json = (): Record<string, unknown> | undefined => {
    try {
      const v = JSON.parse(text) as unknown;
      return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  };
  const html = () => /^text\/html/.test(type) && /<html/i.test(text);
  switch (area) {
    case 'fhir': {
      if (!/^application\/fhir\+json/.test(type)) return `a ${a.status} from /fhir with content type "${type}", not application/fhir+json`;
      const o = json();
      const issues = o?.issue;
      if (o?.resourceType !== 'OperationOutcome' || !Array.isArray(issues) || !issues.length) return `a ${a.status} from /fhir without an OperationOutcome: ${text.slice(0, 200)}`;
      if (!issues.every((i: { severity?: unknown; code?: unknown }) => typeof i.severity === 'string' && typeof i.code === 'string')) return 'an OperationOutcome issue without severity or code';
      return undefined;
    }
    case 'auth':
      if (html()) return undefined;
      if (/^application\/json/.test(type) && typeof json()?.error === 'string') return undefined;
      return `a ${a.status} from /auth that is neither an OAuth error nor the error page (${type}): ${text.slice(0, 200)}`;
    case 'page':
      if (html()) return undefined;
      // The sandbox's JSON launch endpoint answers scripts in OAuth's error shape
      if (path.split('?')[0] === '/sandbox/launch' && /^application\/json/.test(type) && typeof json()?.error === 'string') return undefined;
      return `a ${a.status} from a page that is not the HTML error page (${type}): ${text.slice(0, 200)}`;
    case 'unknown': {
      // Bytes with no path in them: any of the server's error shapes will do.
      const o = json();
      if (html() || (/^application\/(fhir\+)?json/.test(type) && (o?.resourceType === 'OperationOutcome' || typeof o?.error === 'string' || typeof o?.message === 'string'))) return undefined;
      return `a ${a.status} without an error body (${type}): ${text.slice(0, 200)}`;
    }
    default: {
      const o = json();
      if (/^application\/json/.test(type) && (typeof o?.error === 'string' || typeof o?.message === 'string')) return undefined;
      return `a ${a.status} without an error body (${type}): ${text.slice(0, 200)}`;
    }
  }
}

/**
 * One request on the keep-alive pool. A reused connection the server had already closed (after an answer that ended
 * it) fails before anything is sent; that request goes again once, on a connection of its own.
 */
async function httpRequest(agent: Agent, port: number, r: FuzzRequest, timeoutMs: number): Promise<Answer | { error: string }> {
  const first = await requestOnce(agent, port, r, timeoutMs);
  if (!('reused' in first)) return first;
  const again = await requestOnce(false, port, r, timeoutMs);
  return 'reused' in again ? { error: 'connection reset' } : again;
}

function requestOnce(agent: Agent | false, port: number, r: FuzzRequest, timeoutMs: number): Promise<Answer | { error: string } | { reused: true }> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (v: Answer | { error: string } | { reused: true }) => {
      if (!done) {
        done = true;
        resolve(v);
      }
    };
    let req;
    try {
      req = request({ host: '127.0.0.1', port, method: r.method, path: r.path, headers: { ...r.headers, ...(r.body ? { 'content-length': String(r.body.length) } : {}) }, agent, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => finish({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', (err) => finish({ error: `response: ${err.message}` }));
      });
    } catch (err) {
      // The client itself refused to send it (a generator bug, not a server fault)
      return finish({ error: `client refused: ${(err as Error).message}` });
    }
    req.on('timeout', () => {
      req.destroy();
      finish({ error: `no answer within ${timeoutMs} ms` });
    });
    req.on('error', (err) => finish(req.reusedSocket && /ECONNRESET|socket hang up|EPIPE/.test(err.message) ? { reused: true } : { error: err.message }));
    req.end(r.body);
  });
}

interface Failure {
  readonly index: number;
  readonly kind: string;
  readonly what: string;
  readonly request: string;
}

const describe = (r: { method?: string; path: string; headers?: Record<string, string>; body?: Buffer; head?: Buffer }) =>
  r.head
    ? `raw ${JSON.stringify(r.head.subarray(0, 300).toString('latin1'))}${r.head.length > 300 ? ` (${r.head.length} bytes)` : ''}`
    : `${r.method} ${r.path.slice(0, 300)}${r.path.length > 300 ? `… (${r.path.length} chars)` : ''} ${JSON.stringify(r.headers)} body ${r.body ? `${r.body.length} bytes ${JSON.stringify(r.body.subarray(0, 200).toString('latin1'))}` : 'none'}`;

t.test(`${TOTAL} malformed requests over every route (seed ${SEED}) on ${usingPostgres ? 'PostgreSQL' : 'SQLite'}: never a 5xx, every 4xx in its area's error format, the server answers after every batch and its memory stays bounded`, async (t) => {
  const routes = await routeTable();
  t.ok(routes.length > 30, `the route table lists the app's routes (${routes.length})`);

  const database = await createTestDatabase({ file: true });
  t.teardown(() => database.close());
  const dir = mkdtempSync(join(tmpdir(), 'fuzz-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const clientsFile = join(dir, 'clients.json');
  writeFileSync(clientsFile, JSON.stringify([{ ...WRITER, client_name: 'Fuzz writer', token_endpoint_auth_method: 'client_secret_basic', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }]));
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const server = startServer({
    DATABASE_URL: database.url,
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: origin,
    LOG_LEVEL: 'warn',
    SEED_DIR: '',
    CLIENTS_FILE: clientsFile,
    EXPORT_DIR: join(dir, 'exports'),
    REQUEST_TIMEOUT_SECONDS: String(REQUEST_TIMEOUT_S),
    // Load shedding answers 503 to a busy server whatever the input; eight clients at once on a shared two-core
    // machine would set it off. Off here, so any 5xx is the input's doing.
    OVERLOAD_EVENT_LOOP_DELAY_MS: '0',
    OVERLOAD_QUEUE_MS: '0',
  });
  t.teardown(async () => {
    if (server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGTERM');
      await Promise.race([server.exited, new Promise((r) => setTimeout(r, 5000))]);
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
    }
  });
  const healthy = async () => {
    try {
      return (await send(`${origin}/healthz`)).status === 200;
    } catch {
      return false;
    }
  };
  await until('the server answering', async () => {
    if (server.child.exitCode !== null) throw new Error(`the server exited at start: ${server.stderr()}`);
    return healthy();
  }, 60_000, 200);
  const pid = server.child.pid!;

  // A backend token that may do everything, so malformed requests reach deep into every handler.
  const basic = `Basic ${Buffer.from(`${WRITER.client_id}:${WRITER.client_secret}`).toString('base64')}`;
  const tokenRes = await send(`${origin}/auth/token`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=client_credentials&scope=${encodeURIComponent(WRITER.scope)}` });
  t.equal(tokenRes.status, 200, 'the writer gets a token');
  const token = (JSON.parse(tokenRes.body) as { access_token: string }).access_token;

  // A small record, so reads, includes, $everything and Group export find something.
  const put = async (type: string, id: string, body: Record<string, unknown>) => {
    const r = await send(`${origin}/fhir/${type}/${id}`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: type, id, ...body }) });
    if (r.status >= 300) throw new Error(`seeding ${type}/${id}: ${r.status} ${r.body}`);
  };
  const ids: Record<string, string[]> = { Patient: ['fz-p1', 'fz-p2'], Practitioner: ['fz-dr'], Observation: ['fz-o1', 'fz-o2', 'fz-o3'], Encounter: ['fz-e1'], Group: ['fz-g1'], Provenance: ['fz-prov'] };
  await put('Practitioner', 'fz-dr', { name: [{ family: 'Lee' }] });
  for (const p of ids.Patient!) await put('Patient', p, { name: [{ family: 'García', given: ['Ana'] }], gender: 'female', birthDate: '1980-01-01', generalPractitioner: [{ reference: 'Practitioner/fz-dr' }] });
  await put('Encounter', 'fz-e1', { status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject: { reference: 'Patient/fz-p1' } });
  for (const [i, o] of ids.Observation!.entries()) {
    await put('Observation', o, { status: 'final', category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }], code: { coding: [{ system: 'http://loinc.org', code: '718-7' }] }, subject: { reference: `Patient/fz-p${(i % 2) + 1}` }, encounter: { reference: 'Encounter/fz-e1' }, effectiveDateTime: `2024-0${i + 1}-01T10:00:00Z` });
  }
  await put('Group', 'fz-g1', { type: 'person', actual: true, member: ids.Patient!.map((p) => ({ entity: { reference: `Patient/${p}` } })) });
  await put('Provenance', 'fz-prov', { target: [{ reference: 'Observation/fz-o1' }], recorded: '2024-01-01T00:00:00Z', agent: [{ who: { reference: 'Practitioner/fz-dr' } }] });

  // The authorization server's endpoints live inside oidc-provider, not in Fastify's table: its discovery lists them.
  const discovery = JSON.parse((await send(`${origin}/auth/.well-known/openid-configuration`)).body) as Record<string, unknown>;
  const oauthRoutes: Route[] = Object.entries(discovery)
    .filter(([k, v]) => (k.endsWith('_endpoint') || k === 'jwks_uri') && typeof v === 'string' && v.startsWith(origin))
    .map(([, v]) => ({ path: (v as string).slice(origin.length), methods: ['GET', 'POST'] }));
  oauthRoutes.push({ path: '/auth/reg/:id', methods: ['GET', 'PUT', 'DELETE'] }, { path: '/auth/.well-known/openid-configuration', methods: ['GET'] });
  const allRoutes = [...routes, ...oauthRoutes];
  t.comment(`routes fuzzed: ${allRoutes.length} (${routes.length} from Fastify's table, ${oauthRoutes.length} from oidc-provider's discovery)`);
  const ctx: FuzzContext = { routes: allRoutes, ids, token, clientBasic: basic, clientIds: [WRITER.client_id, 'demo-patient-app', 'demo-backend', 'example-app', 'no-such-client'] };

  const rng = new Rng(SEED);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  t.teardown(() => agent.destroy());
  const statuses = new Map<string, number>();
  const kinds = new Map<string, number>();
  const failures: Failure[] = [];
  let failureCount = 0;
  let clientErrors = 0;
  const bump = (m: Map<string, number>, k: string, by = 1) => m.set(k, (m.get(k) ?? 0) + by);
  const kindMs = new Map<string, number>();
  // The first two of each kind of failure, so one frequent kind does not hide the others.
  const failureKinds = new Map<string, number>();
  const fail = (f: Failure) => {
    failureCount++;
    const key = `${f.kind} ${f.what.slice(0, 30)}`;
    const seen = failureKinds.get(key) ?? 0;
    failureKinds.set(key, seen + 1);
    if (seen < 2 && failures.length < 40) failures.push(f);
  };

  // Stalled bodies, started first: the server must cut each off with a 408 while it goes on answering everyone else.
  const stalled = ['/fhir/Patient', '/fhir/Observation/_search', '/portal/login'].map((p) => {
    const c = stalledBody(ctx, port, p);
    return rawRequest(port, c.head, { timeoutMs: REQUEST_TIMEOUT_S * 1000 + 20_000 }).then((a) => ({ c, a }));
  });

  const handleRaw = async (index: number, c: RawCase) => {
    const a = await rawRequest(port, c.head, { timeoutMs: 30_000, ...(c.trickle ? { trickle: c.trickle } : {}) });
    bump(kinds, c.kind);
    bump(kindMs, c.kind, a.ms);
    const area = c.pathless ? 'unknown' : areaOf(c.path);
    if (a.timedOut) return fail({ index, kind: c.kind, what: 'no answer within 30 s', request: describe(c) });
    if (a.status === 0) {
      bump(statuses, `${area} closed`);
      if (!c.mayClose) fail({ index, kind: c.kind, what: 'connection closed without an answer', request: describe(c) });
      return;
    }
    bump(statuses, `${area} ${a.status}`);
    const why = problemWith(area, 'GET', c.must4xx, a, c.path);
    if (why) fail({ index, kind: c.kind, what: why, request: describe(c) });
  };
  const handle = async (index: number, r: FuzzRequest) => {
    const t0 = Date.now();
    const a = await httpRequest(agent, port, r, 30_000);
    bump(kinds, r.kind);
    bump(kindMs, r.kind, Date.now() - t0);
    // Past Node's parser limit the answer may not know the area (see LIMITS.parserHeaderBytes).
    const head = r.path.length + Object.entries(r.headers).reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
    const area = head > LIMITS.parserHeaderBytes - 1024 ? 'unknown' : areaOf(r.path);
    if ('error' in a) {
      bump(statuses, `${area} ${a.error.startsWith('client refused') ? 'not sent' : 'connection error'}`);
      clientErrors++;
      // A body over a limit may be cut off by the server's answer before the client has sent it all.
      const oversized = (r.body?.length ?? 0) > LIMITS.formBodyBytes;
      if (!a.error.startsWith('client refused') && !oversized) fail({ index, kind: r.kind, what: a.error, request: describe(r) });
      return;
    }
    bump(statuses, `${area} ${a.status}`);
    const why = problemWith(area, r.method, r.must4xx, a, r.path);
    if (why) fail({ index, kind: r.kind, what: why, request: describe(r) });
  };

  const started = Date.now();
  let baseline = 0;
  let peak = 0;
  let sent = 0;
  const healthMs: number[] = [];
  const rssSeries: number[] = [];
  for (let batchStart = 0; batchStart < TOTAL; batchStart += BATCH) {
    const end = Math.min(TOTAL, batchStart + BATCH);
    let next = batchStart;
    const worker = async () => {
      while (next < end) {
        const index = next++;
        // Generated in dispatch order, so request i is the same for a seed whatever the timing.
        if (index % RAW_EVERY === RAW_EVERY - 1) await handleRaw(index, nextRawCase(rng, ctx, port));
        else await handle(index, nextRequest(rng, ctx));
        sent++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      t.fail(`the server process ended during the batch from request ${batchStart} (exit ${server.child.exitCode}, signal ${server.child.signalCode}): ${server.stderr().slice(-2000)}`);
      break;
    }
    const h0 = Date.now();
    const ok = await healthy();
    healthMs.push(Date.now() - h0);
    if (!ok) {
      t.fail(`the health check failed after request ${end}`);
      break;
    }
    const rss = rssOf(pid);
    rssSeries.push(rss);
    if (!baseline) baseline = rss;
    peak = Math.max(peak, rss);
  }
  const wall = Date.now() - started;
  const stalledResults = await Promise.all(stalled);
  const finalRss = rssOf(pid);

  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;
  t.comment(`sent ${sent} requests in ${(wall / 1000).toFixed(1)} s (${((sent / wall) * 1000).toFixed(0)}/s), ${clientErrors} without an answer the client could read; health checks after each batch took at most ${Math.max(...healthMs)} ms`);
  t.comment(`server RSS: ${mb(baseline)} after the first batch, peak ${mb(peak)}, ${mb(finalRss)} at the end; after each ${BATCH} requests (MB): ${rssSeries.map((r) => Math.round(r / 1024 / 1024)).join(' ')}`);
  const byArea = new Map<string, number>();
  for (const [k, n] of statuses) byArea.set(k.split(' ')[0]!, (byArea.get(k.split(' ')[0]!) ?? 0) + n);
  t.comment(`per area: ${[...byArea].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  t.comment(`per area and status: ${[...statuses].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}: ${n}`).join(', ')}`);
  t.comment(`per generator: ${[...kinds].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}: ${n} (${((kindMs.get(k) ?? 0) / n).toFixed(0)} ms)`).join(', ')}`);

  for (const f of failures) t.comment(`FAILURE #${f.index} [${f.kind}] ${f.what}\n    ${f.request}`);
  t.equal(failureCount, 0, `no request got a 5xx, a hang or a wrong error body (${failureCount} did; the first ${failures.length} are listed above)`);
  t.ok(sent >= TOTAL, `all ${TOTAL} requests were sent`);
  for (const { c, a } of stalledResults) {
    t.equal(a.status, 408, `a body that stalls on ${c.path} is cut off with 408 after REQUEST_TIMEOUT_SECONDS (got ${a.status} after ${a.ms} ms)`);
    t.notOk(problemWith(areaOf(c.path), 'POST', true, a), `the 408 on ${c.path} is in its area's error format`);
  }
  t.ok(await healthy(), 'the server still answers at the end');
  const half = Math.floor(rssSeries.length / 2);
  const climb = Math.max(...rssSeries.slice(half)) - Math.max(...rssSeries.slice(0, half));
  t.ok(climb < RSS_CLIMB_LIMIT, `the second half's highest RSS is ${mb(climb)} above the first half's (limit ${mb(RSS_CLIMB_LIMIT)})`);
  t.ok(peak < RSS_PEAK_LIMIT, `RSS peaked at ${mb(peak)} (limit ${mb(RSS_PEAK_LIMIT)})`);
  const errors = server.lines.filter((l) => l.level >= 50);
  for (const e of errors.slice(0, 5)) t.comment(`server error: ${JSON.stringify(e).slice(0, 1500)}`);
  t.same(errors.map((l) => l.msg), [], 'the server logged no errors');
});
