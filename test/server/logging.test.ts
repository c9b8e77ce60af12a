// Logs an operator can live with, from the real entry point (src/main.ts) in its own process: at LOG_LEVEL=info a run
// of requests writes no per-request lines and a 404 or 401 no warning, while a refused token request (a security
// event) is a warning and a 500 an error; at LOG_LEVEL=debug every request has its lines; JSON lines when stdout is
// not a terminal, pretty ones on a terminal (pino-pretty) or when LOG_FORMAT=pretty forces them.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { sql } from 'kysely';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { nodeEntry, REPO_ROOT } from '../helpers/run-script.js';
import { send, startServer, until, type ServerProcess } from '../helpers/server-process.js';
import { freePort } from '../helpers/smart-server.js';
import { TEST_SERVER_ENV } from '../helpers/test-env.js';

const READER = {
  client_id: 'logging-reader',
  client_secret: 'logging-reader-secret-0123456789abcdef',
  scope: 'system/Observation.rs',
  client_name: 'Logging test reader',
  token_endpoint_auth_method: 'client_secret_basic',
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
};
const PER_REQUEST = new Set(['incoming request', 'request completed', 'route not found']);

interface Started {
  readonly server: ServerProcess;
  readonly origin: string;
  readonly database: TestDatabase;
  /** Everything the process wrote to stdout */
  stdout(): string;
}

async function start(t: Test, env: Record<string, string>): Promise<Started> {
  const database = await createTestDatabase({ file: true });
  t.teardown(() => database.close());
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'logging-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const clientsFile = join(dir, 'clients.json');
  writeFileSync(clientsFile, JSON.stringify([READER]));
  const server = startServer({ CLIENTS_FILE: clientsFile, DATABASE_URL: database.url, PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: origin, SEED_DIR: '', EXPORT_DIR: join(dir, 'exports'), ...env });
  let out = '';
  server.child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  t.teardown(async () => {
    if (server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
  await until('the server listening', () => out.includes('Server listening') || server.child.exitCode !== null);
  if (server.child.exitCode !== null) throw new Error(`the server did not start: ${server.stderr()}`);
  return { server, origin, database, stdout: () => out };
}

/** Requests an operator sees by the thousand: reads of the capability statement, discovery, 404s and 401s. */
async function everydayRequests(origin: string, rounds: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < rounds; i++) {
    statuses.push((await send(`${origin}/fhir/metadata`)).status);
    statuses.push((await send(`${origin}/fhir/.well-known/smart-configuration`)).status);
    statuses.push((await send(`${origin}/nothing-here/${i}`)).status);
    statuses.push((await send(`${origin}/fhir/Observation/x${i}`)).status);
  }
  return statuses;
}

const settle = () => new Promise((r) => setTimeout(r, 300));

t.test('at LOG_LEVEL=info: no line per request, no warning for a 404 or 401; a refused token request warns, a 500 is an error; JSON lines', async (t) => {
  const { server, origin, database, stdout } = await start(t, { LOG_LEVEL: 'info' });
  const from = server.lines.length;
  const statuses = await everydayRequests(origin, 10);
  t.same([...new Set(statuses)].sort(), [200, 401, 404], '40 requests answered 200, 401 and 404');
  await settle();
  const during = server.lines.slice(from);
  t.same(during.filter((l) => PER_REQUEST.has(l.msg ?? '') || l.msg?.startsWith('Route ')).length, 0, 'no per-request lines');
  t.same(during.filter((l) => l.level >= 40).map((l) => l.msg), [], 'nothing at warn or above for 404s and 401s');

  const wrong = await send(`${origin}/auth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${READER.client_id}:not-the-secret`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  t.equal(wrong.status, 401, 'a token request with a wrong secret is refused');
  await until('the security event logged', () => server.lines.some((l) => l.msg === 'security event: token.refused failed'), 5000);
  const warning = server.lines.find((l) => l.msg === 'security event: token.refused failed')!;
  t.equal(warning.level, 40, 'at warn');
  t.notOk(JSON.stringify(warning).includes('not-the-secret'), 'without the secret it was sent with');

  // A fault of ours: the table FHIR searches read is gone from under the server.
  const good = await send(`${origin}/auth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${READER.client_id}:${READER.client_secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&scope=${encodeURIComponent(READER.scope)}`,
  });
  t.equal(good.status, 200, 'a token for searches');
  const token = (JSON.parse(good.body) as { access_token: string }).access_token;
  t.equal((await send(`${origin}/fhir/Observation?code=8867-4`, { headers: { authorization: `Bearer ${token}` } })).status, 200, 'a search works');
  await sql`ALTER TABLE resources RENAME TO resources_gone`.execute(database.db.kysely);
  t.teardown(() => sql`ALTER TABLE resources_gone RENAME TO resources`.execute(database.db.kysely).then(() => undefined));
  const failed = await send(`${origin}/fhir/Observation?code=8867-4`, { headers: { authorization: `Bearer ${token}` } });
  t.equal(failed.status, 500, 'without its table the search fails with 500');
  await until('the error logged', () => server.lines.some((l) => l.level === 50 && l.msg === 'request completed'), 5000);
  t.ok(server.lines.some((l) => l.level === 50 && l.msg === 'unhandled error in FHIR request'), 'the exception is logged at error');
  const completed = server.lines.find((l) => l.level === 50 && l.msg === 'request completed') as { res?: { statusCode?: number }; req?: { url?: string } } | undefined;
  t.equal(completed?.res?.statusCode, 500, 'and the 500 response at error, with its status');
  t.equal(completed?.req?.url, '/fhir/Observation?code=8867-4', 'and its request');
  // The same in the authorization server, whose requests Fastify hands over to oidc-provider.
  await sql`ALTER TABLE oidc_model RENAME TO oidc_model_gone`.execute(database.db.kysely);
  t.teardown(() => sql`ALTER TABLE oidc_model_gone RENAME TO oidc_model`.execute(database.db.kysely).then(() => undefined));
  const tokenFailed = await send(`${origin}/auth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${READER.client_id}:${READER.client_secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&scope=${encodeURIComponent(READER.scope)}`,
  });
  t.equal(tokenFailed.status, 500, 'without its table a token request fails with 500');
  await until('the OAuth error logged', () => server.lines.some((l) => l.msg === 'unhandled error in an OAuth request'), 5000);
  const oauthError = server.lines.find((l) => l.msg === 'unhandled error in an OAuth request')!;
  t.equal(oauthError.level, 50, 'at error');
  t.equal(oauthError.req?.url, '/auth/token', 'with its request');

  const lines = stdout().split('\n').filter(Boolean);
  t.ok(lines.length > 5 && lines.every((l) => l.startsWith('{') && typeof (JSON.parse(l) as { level?: unknown }).level === 'number'), `stdout is a pipe: all ${lines.length} lines are JSON`);
});

t.test('at LOG_LEVEL=debug every request has its incoming and completed line', async (t) => {
  const { server, origin } = await start(t, { LOG_LEVEL: 'debug' });
  const from = server.lines.length;
  await everydayRequests(origin, 5);
  await settle();
  const during = server.lines.slice(from);
  t.equal(during.filter((l) => l.msg === 'incoming request').length, 20, '20 requests, 20 incoming-request lines');
  t.equal(during.filter((l) => l.msg === 'request completed').length, 20, 'and 20 request-completed lines');
  t.ok(during.filter((l) => PER_REQUEST.has(l.msg ?? '')).every((l) => l.level === 20), 'all at debug');
});

t.test('LOG_FORMAT=pretty forces pino-pretty lines on a pipe', async (t) => {
  const { stdout } = await start(t, { LOG_LEVEL: 'info', LOG_FORMAT: 'pretty' });
  const listening = stdout().split('\n').find((l) => l.includes('Server listening'));
  t.ok(listening, 'the listening line is there');
  t.notOk(listening?.trimStart().startsWith('{'), `and not JSON: ${listening}`);
  t.match(listening ?? '', /INFO/, 'but a level word, pretty-printed');
});

t.test('LOG_FORMAT and SHUTDOWN_TIMEOUT_SECONDS are checked at start-up', async (t) => {
  const server = startServer({ DATABASE_URL: 'sqlite::memory:', LOG_FORMAT: 'loud', SHUTDOWN_TIMEOUT_SECONDS: '0', SEED_DIR: '' });
  t.equal(await server.exited, 1, 'the process exits 1');
  t.match(server.stderr(), /LOG_FORMAT "loud" must be json, pretty or auto/);
  t.match(server.stderr(), /SHUTDOWN_TIMEOUT_SECONDS "0" must be a whole number from 1 to 3600/);
});

t.test('on a terminal the lines are pretty-printed without being asked', { skip: spawnSync('script', ['--version']).status === 0 ? false : 'needs script(1) for a pseudo-terminal' }, async (t) => {
  const port = await freePort();
  const command = [process.execPath, ...nodeEntry('src/main')].map((a) => `'${a}'`).join(' ');
  // script(1) runs the server on a pseudo-terminal: stdout.isTTY is true, as in an operator's shell.
  const child = spawn('script', ['-qefc', command, '/dev/null'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...TEST_SERVER_ENV, DATABASE_URL: 'sqlite::memory:', PORT: String(port), HOST: '127.0.0.1', SEED_DIR: '', LOG_LEVEL: 'info', LOG_FORMAT: '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  t.teardown(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });
  await until('the server listening', () => out.includes('Server listening') || child.exitCode !== null, 60_000);
  const listening = out.split(/\r?\n/).find((l) => l.includes('Server listening')) ?? '';
  t.notOk(listening.trimStart().startsWith('{'), 'not JSON on a terminal');
  t.match(listening, /INFO/, 'pretty-printed');
  // Closing the terminal's input hangs the session up, which ends the server.
  child.stdin.end();
  child.kill('SIGTERM');
});
