// Graceful shutdown of the real entry point (src/main.ts, one process) under load: SIGTERM while FHIR writes, reads and
// token requests are under way. Nothing acknowledged is lost (each 201 is stored exactly once, each issued token
// still works after a restart, each answered read and issued token has its audit row), no request whose connection
// was open before the signal is cut off, and the process exits 0 within SHUTDOWN_TIMEOUT_SECONDS. A request still
// open at the deadline makes it exit anyway, non-zero, with a log line naming it. SQLite on a file (the write-behind
// thread's path) or PostgreSQL when DATABASE_URL is set.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import t, { type Test } from 'tap';
import { sql } from 'kysely';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { send, startServer, until, type ServerProcess } from '../helpers/server-process.js';
import { freePort } from '../helpers/smart-server.js';

const LONG = process.env.TEST_LONG === '1';
const LOAD_MS = LONG ? 10_000 : 1_500;
const DEADLINE_S = 10;

const client = (id: string, scope: string) => ({
  client_id: id,
  client_secret: `${id}-secret-0123456789abcdef0123456789`,
  scope,
  client_name: id,
  token_endpoint_auth_method: 'client_secret_basic',
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
});
const WRITER = client('shutdown-writer', 'system/Observation.cruds');
const READER = client('shutdown-reader', 'system/Observation.rs');
const TOKENS = client('shutdown-tokens', 'system/Observation.rs');
const basic = (c: typeof WRITER) => `Basic ${Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64')}`;

interface Outcome {
  /** When the request was all written, on this process's clock (performance.now): this process sees it late when its
   *  event loop is busy, never early, so "before SIGTERM" by this clock is certain */
  sentAt?: number;
  status?: number;
  error?: string;
  body?: string;
}

/** One request on a connection of its own, noting when the connection opened and how the request ended. */
function timed(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const o: Outcome = {};
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers ?? {}, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ ...o, status: res.statusCode ?? 0, body }));
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ ...o, error: err.code ?? err.message }));
    });
    req.on('finish', () => (o.sentAt = performance.now()));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ ...o, error: err.code ?? err.message }));
    req.end(opts.body);
  });
}

const observation = (marker: string) =>
  JSON.stringify({
    resourceType: 'Observation',
    status: 'final',
    identifier: [{ system: 'urn:test:shutdown', value: marker }],
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
    subject: { reference: 'Patient/shutdown-patient' },
    effectiveDateTime: '2026-12-01T08:00:00Z',
    valueQuantity: { value: 60, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
  });

const SLOW = 5;

/** A write whose body arrives in two parts: the first at once, the rest `delayMs` after the server has read the first. */
function trickledWrite(origin: string, authorization: string, delayMs: number): Promise<Outcome & { marker: string }> {
  const marker = randomUUID();
  const body = observation(marker);
  return new Promise((resolve) => {
    const socket = connect(Number(new URL(origin).port), '127.0.0.1');
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (answer += d));
    socket.on('error', (err: NodeJS.ErrnoException) => resolve({ marker, error: err.code ?? err.message }));
    socket.on('end', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
      resolve({ marker, status, body: answer.slice(answer.indexOf('\r\n\r\n') + 4) });
    });
    socket.once('connect', () => {
      socket.write(`POST /fhir/Observation HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${authorization}\r\nContent-Type: application/fhir+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body.slice(0, 40)}`);
      setTimeout(() => socket.write(body.slice(40)), 200 + delayMs);
    });
  });
}

interface Setup {
  readonly database: TestDatabase;
  readonly origin: string;
  readonly env: Record<string, string>;
}

async function setup(t: Test, extra: Record<string, string> = {}): Promise<Setup> {
  const database = await createTestDatabase({ file: true });
  t.teardown(() => database.close());
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'shutdown-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const clientsFile = join(dir, 'clients.json');
  writeFileSync(clientsFile, JSON.stringify([WRITER, READER, TOKENS]));
  const env = {
    CLIENTS_FILE: clientsFile,
    DATABASE_URL: database.url,
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: origin,
    SEED_DIR: '',
    LOG_LEVEL: 'info',
    REVOCATION_POLL_MS: '100',
    TOKEN_RATE_LIMIT: '0',
    TOKEN_CLIENT_RATE_LIMIT: '0',
    EXPORT_DIR: join(dir, 'exports'),
    ...extra,
  };
  return { database, origin, env };
}

async function started(t: Test, env: Record<string, string>): Promise<ServerProcess> {
  const server = startServer(env);
  t.teardown(() => {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
  });
  await until('the server listening', () => server.lines.some((l) => l.msg?.startsWith('Server listening')) || server.child.exitCode !== null);
  if (server.child.exitCode !== null) throw new Error(`the server did not start: ${server.stderr()}`);
  return server;
}

async function token(origin: string, c: typeof WRITER): Promise<string> {
  const res = await send(`${origin}/auth/token`, {
    method: 'POST',
    headers: { authorization: basic(c), 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&scope=${encodeURIComponent(c.scope)}`,
  });
  if (res.status !== 200) throw new Error(`token: ${res.status} ${res.body}`);
  return (JSON.parse(res.body) as { access_token: string }).access_token;
}

t.test('SIGTERM under concurrent writes, reads and token requests: nothing acknowledged is lost, nothing started is cut off, exit 0 in time', async (t) => {
  const { database, origin, env } = await setup(t, { SHUTDOWN_TIMEOUT_SECONDS: String(DEADLINE_S) });
  const server = await started(t, env);
  const writeAuth = { authorization: `Bearer ${await token(origin, WRITER)}` };
  const readAuth = { authorization: `Bearer ${await token(origin, READER)}` };
  const first = await send(`${origin}/fhir/Observation`, { method: 'POST', headers: { ...writeAuth, 'content-type': 'application/fhir+json' }, body: observation('first') });
  t.equal(first.status, 201, 'a first Observation to read');
  const readId = (JSON.parse(first.body) as { id: string }).id;

  const writes: (Outcome & { marker: string })[] = [];
  const reads: Outcome[] = [];
  const tokens: Outcome[] = [];
  // Each loop goes on until the server stops answering (refused connections once the listener is closed). A 503
  // before the signal is SQLite's lock held past busy_timeout under this write load (database unavailable: try again).
  let exited = false;
  let signalled = false;
  void server.exited.then(() => (exited = true));
  const loop = async (one: () => Promise<Outcome>) => {
    for (;;) {
      const o = await one();
      if (o.error || (o.status === 503 && signalled) || exited) return;
    }
  };
  const writer = () => loop(async () => {
    const marker = randomUUID();
    const o = { ...(await timed(`${origin}/fhir/Observation`, { method: 'POST', headers: { ...writeAuth, 'content-type': 'application/fhir+json' }, body: observation(marker) })), marker };
    writes.push(o);
    return o;
  });
  const reader = () => loop(async () => {
    const o = await timed(`${origin}/fhir/Observation/${readId}`, { headers: readAuth });
    reads.push(o);
    return o;
  });
  const tokener = () => loop(async () => {
    const o = await timed(`${origin}/auth/token`, {
      method: 'POST',
      headers: { authorization: basic(TOKENS), 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&scope=${encodeURIComponent(TOKENS.scope)}`,
    });
    tokens.push(o);
    return o;
  });
  const loops = [...Array.from({ length: 4 }, writer), ...Array.from({ length: 4 }, reader), ...Array.from({ length: 2 }, tokener)];

  await new Promise((r) => setTimeout(r, LOAD_MS));
  // Writes certainly under way at the signal: headers and part of the body sent before it, the rest 300 ms after.
  const slow = Promise.all(Array.from({ length: SLOW }, () => trickledWrite(origin, writeAuth.authorization, 300)));
  await new Promise((r) => setTimeout(r, 200));
  const signalledAt = performance.now();
  signalled = true;
  server.child.kill('SIGTERM');
  const code = await server.exited;
  const tookMs = performance.now() - signalledAt;
  await Promise.all(loops);

  // Exit 0 also means the process's own deadline timer did not fire (it exits 1). Counted from the signal, the time
  // includes any wait before the process handles it (a synchronous SQLite busy wait blocks its event loop).
  t.equal(code, 0, 'the process exits 0, before its deadline');
  const took = server.lines.find((l) => l.msg === 'shut down') as { ms?: number } | undefined;
  t.ok(took?.ms !== undefined && took.ms < DEADLINE_S * 1000, `within the deadline: ${took?.ms} ms from handling SIGTERM to exit (${Math.round(tookMs)} ms from sending it), of ${DEADLINE_S} s`);
  const all = [...writes, ...reads, ...tokens];
  const before = all.filter((o) => o.sentAt !== undefined && o.sentAt < signalledAt);
  const cutOff = before.filter((o) => o.status === undefined);
  t.same(cutOff.map((o) => `${o.error}, sent ${Math.round(signalledAt - o.sentAt!)} ms before`), [], 'every request sent before SIGTERM was answered (no reset)');
  t.same(before.filter((o) => o.status !== undefined && o.status >= 500 && o.status !== 503).map((o) => o.status), [], 'none of them with a 500 (a 503 is SQLite busy under this load, with Retry-After)');
  const slowAnswers = await slow;
  t.same(slowAnswers.map((a) => a.status), Array(SLOW).fill(201), `the ${SLOW} writes still arriving at SIGTERM were all answered 201`);
  writes.push(...slowAnswers);
  const after = all.filter((o) => !(o.sentAt !== undefined && o.sentAt < signalledAt));
  const refused = after.filter((o) => o.error === 'ECONNREFUSED').length;
  const answered = after.filter((o) => o.status !== undefined).length;
  t.comment(
    `${writes.length} writes, ${reads.length} reads, ${tokens.length} token requests; ${before.length} sent before SIGTERM, ` +
      `${answered} after it answered (${after.filter((o) => o.status === 503).length} of them 503), ${refused} refused, ` +
      `${before.filter((o) => o.status === 503).length} answered 503 before SIGTERM (database busy); ${after.length - answered - refused} cut off (${[...new Set(after.filter((o) => o.error && o.error !== 'ECONNREFUSED').map((o) => o.error))].join(', ') || 'none'}); exit after ${Math.round(tookMs)} ms`,
  );
  t.ok(writes.filter((o) => o.status === 201).length > 10 && reads.filter((o) => o.status === 200).length > 10 && tokens.filter((o) => o.status === 200).length > 5, 'the load did run');
  t.ok(server.lines.some((l) => l.msg?.startsWith('shutting down')), 'the shutdown is logged');
  t.ok(server.lines.some((l) => l.msg === 'shut down'), 'and its end');
  t.same(server.lines.filter((l) => l.level >= 50).map((l) => l.msg), [], 'nothing was logged as an error');
  t.notOk(server.lines.some((l) => l.msg === 'request completed' || l.msg === 'incoming request'), 'no per-request lines at LOG_LEVEL=info');

  // What the database holds once the process is gone
  const k = database.db.kysely;
  const acked = writes.filter((o) => o.status === 201);
  const rows = await k.selectFrom('resources').select(['id', 'version_id', 'deleted', 'content']).where('type', '=', 'Observation').execute();
  const byMarker = new Map<string, number>();
  for (const r of rows) {
    const marker = (JSON.parse(r.content ?? '{}') as { identifier?: { value?: string }[] }).identifier?.[0]?.value;
    if (marker) byMarker.set(marker, (byMarker.get(marker) ?? 0) + 1);
  }
  const ids = new Set(rows.filter((r) => r.deleted === 0).map((r) => r.id));
  t.same(
    acked.filter((o) => byMarker.get(o.marker) !== 1 || !ids.has((JSON.parse(o.body!) as { id: string }).id)).map((o) => o.marker),
    [],
    `each of the ${acked.length} acknowledged writes is stored exactly once, under the id it was answered with`,
  );
  const audited = await k
    .selectFrom('audit_events')
    .select(sql<number>`count(*)`.as('n'))
    .where('client_id', '=', READER.client_id)
    .where('interaction', '=', 'read')
    .where('status', '=', 200)
    .executeTakeFirstOrThrow();
  const answeredReads = reads.filter((o) => o.status === 200).length;
  t.ok(Number(audited.n) >= answeredReads && Number(audited.n) <= reads.length, `every answered read has its audit row (${audited.n} rows, ${answeredReads} reads answered 200)`);
  const issued = await k.selectFrom('audit_events').select(sql<number>`count(*)`.as('n')).where('client_id', '=', TOKENS.client_id).where('event', '=', 'token.issued').executeTakeFirstOrThrow();
  const issuedTokens = tokens.filter((o) => o.status === 200).map((o) => (JSON.parse(o.body!) as { access_token: string }).access_token);
  t.ok(Number(issued.n) >= issuedTokens.length, `every issued token has its audit row (${issued.n} rows, ${issuedTokens.length} tokens)`);

  // Every token the server handed out is still good after a restart: it was stored before it was answered.
  const again = await started(t, env);
  const statuses = new Map<number, number>();
  for (const tok of issuedTokens) {
    const res = await send(`${origin}/fhir/Observation/${readId}`, { headers: { authorization: `Bearer ${tok}` } });
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  }
  t.same([...statuses], [[200, issuedTokens.length]], 'each issued token reads after the restart');
  again.child.kill('SIGTERM');
  t.equal(await again.exited, 0);
});

for (const workers of [1, 2]) {
  t.test(`${workers === 1 ? 'one process' : 'WORKERS=2'}: a request still open at the deadline makes it exit anyway, non-zero, saying what was open`, async (t) => {
    const { origin, env } = await setup(t, { SHUTDOWN_TIMEOUT_SECONDS: '2', REQUEST_TIMEOUT_SECONDS: '120', LOG_LEVEL: 'debug', WORKERS: String(workers) });
    const server = startServer(env);
    t.teardown(() => {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
    });
    await until('the server listening', () => server.lines.filter((l) => l.msg?.startsWith('Server listening')).length >= workers);
    const writeAuth = `Bearer ${await token(origin, WRITER)}`;
    // A client that sends its headers and then only part of the body it announced.
    const socket = connect(Number(new URL(origin).port), '127.0.0.1');
    t.teardown(() => socket.destroy());
    socket.on('error', () => {});
    await new Promise<void>((r) => socket.once('connect', () => r()));
    const body = observation('hanging');
    socket.write(`POST /fhir/Observation HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${writeAuth}\r\nContent-Type: application/fhir+json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 20)}`);
    await until('the server to see the request', () => server.lines.some((l) => l.msg === 'incoming request' && l.req?.url === '/fhir/Observation'), 10_000);

    const signalledAt = performance.now();
    server.child.kill('SIGTERM');
    const code = await server.exited;
    const tookMs = performance.now() - signalledAt;
    t.equal(code, 1, workers === 1 ? 'the process exits 1' : 'the primary exits 1: a worker missed its deadline');
    t.ok(tookMs >= 2000 && tookMs < 6000, `at the deadline (${Math.round(tookMs)} ms after SIGTERM, deadline 2 s)`);
    const line = server.lines.find((l) => l.level === 50 && l.msg?.startsWith('shutdown did not finish')) as (ServerProcess['lines'][number] & { openRequests?: { method: string; url: string }[] }) | undefined;
    t.ok(line, 'an error line says the shutdown did not finish');
    t.same(line?.openRequests?.map((r) => `${r.method} ${r.url}`), ['POST /fhir/Observation'], 'and names the request still open');
    t.notOk(server.lines.some((l) => l.msg === 'shut down' && l.pid === line?.pid), 'no clean end is claimed by the process that held it');
  });
}
