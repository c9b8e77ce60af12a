// WORKERS=2: the real entry point (src/main.ts) as a user starts it, on a fresh database. The primary does the
// first-start work once, two workers share the port, a revocation made through one worker reaches the other, and
// SIGTERM stops them all.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createTestDatabase } from '../helpers/database.js';
import { alive, send, startServer, until } from '../helpers/server-process.js';
import { freePort } from '../helpers/smart-server.js';

const BACKEND = `Basic ${Buffer.from('demo-backend:demo-backend-secret-change-me').toString('base64')}`;
// A backend client that may write Observations, declared in a clients file as an operator would.
const WRITER = { client_id: 'workers-writer', client_secret: 'workers-writer-secret-0123456789abcdef', scope: 'system/Observation.cruds' };

t.test('WORKERS=2 serves from two processes on one database, revocations reach both, SIGTERM stops all', async (t) => {
  const database = await createTestDatabase({ file: true });
  t.teardown(() => database.close());
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'workers-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const clientsFile = join(dir, 'clients.json');
  writeFileSync(clientsFile, JSON.stringify([{ ...WRITER, client_name: 'Workers test writer', token_endpoint_auth_method: 'client_secret_basic', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }]));
  const server = startServer({
    CLIENTS_FILE: clientsFile,
    DATABASE_URL: database.url,
    WORKERS: '2',
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: origin,
    // debug: which worker answered is read from the per-request lines
    LOG_LEVEL: 'debug',
    REVOCATION_POLL_MS: '100',
  });
  t.teardown(() => {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
  });

  await until('two workers listening', () => server.lines.filter((l) => l.msg?.startsWith('Server listening')).length >= 2);
  const primary = server.child.pid!;
  const workers = [...new Set(server.lines.filter((l) => l.msg?.startsWith('Server listening')).map((l) => l.pid))];
  t.equal(workers.length, 2, 'two worker processes listen');
  t.notOk(workers.includes(primary), 'the primary does not serve requests itself');

  t.test('the first-start work ran once, in the primary', async (t) => {
    const seeded = server.lines.filter((l) => l.msg === 'seeded an empty database');
    t.same(seeded.map((l) => l.pid), [primary], 'seeded once');
    t.same(server.lines.filter((l) => l.msg === 'created the sandbox demo accounts').map((l) => l.pid), [primary], 'demo accounts created once');
    const keys = await database.db.kysely.selectFrom('signing_key').select(['alg']).execute();
    t.equal(keys.length, new Set(keys.map((k) => k.alg)).size, 'one key of each kind: the workers did not generate their own');
    t.notOk(server.lines.some((l) => l.level >= 50), 'nothing was logged as an error');
  });

  t.test('a token issued by one worker works on both; revoked through one, it is refused by both within a second', async (t) => {
    const tokenRes = await send(`${origin}/auth/token`, {
      method: 'POST',
      headers: { authorization: BACKEND, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=system%2FPatient.rs',
    });
    t.equal(tokenRes.status, 200);
    const token = (JSON.parse(tokenRes.body) as { access_token: string }).access_token;
    const readAll = async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await send(`${origin}/fhir/Patient/daniel-kim`, { headers: { authorization: `Bearer ${token}` } })).status);
      return statuses;
    };
    const before = server.lines.length;
    t.same(await readAll(), Array(12).fill(200), 'every read succeeds, on new connections');
    await until('the request logs', () => server.lines.slice(before).filter((l) => l.msg === 'request completed').length >= 12, 5000);
    const served = new Set(server.lines.slice(before).filter((l) => l.msg === 'request completed').map((l) => l.pid));
    t.equal(served.size, 2, 'both workers answered (and so cached the token)');

    const revoked = await send(`${origin}/auth/token/revocation`, {
      method: 'POST',
      headers: { authorization: BACKEND, 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${token}&token_type_hint=access_token`,
    });
    t.equal(revoked.status, 200);
    await new Promise((r) => setTimeout(r, 1000));
    t.same(await readAll(), Array(12).fill(401), 'one second later no worker accepts it');
  });

  t.test('an Observation updated through one worker is read back in its new version by both, each having cached the old', async (t) => {
    const tokenRes = await send(`${origin}/auth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${WRITER.client_id}:${WRITER.client_secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&scope=${encodeURIComponent(WRITER.scope)}`,
    });
    t.equal(tokenRes.status, 200, tokenRes.body);
    const headers = { authorization: `Bearer ${(JSON.parse(tokenRes.body) as { access_token: string }).access_token}` };
    const put = (bpm: number) => send(`${origin}/fhir/Observation/workers-hr`, { method: 'PUT', headers: { ...headers, 'content-type': 'application/fhir+json' }, body: observation(bpm) });
    const observation = (bpm: number) =>
      JSON.stringify({
        resourceType: 'Observation',
        id: 'workers-hr',
        status: 'final',
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
        subject: { reference: 'Patient/daniel-kim' },
        effectiveDateTime: '2026-12-01T08:00:00Z',
        valueQuantity: { value: bpm, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
      });
    const readAll = async () => {
      const seen: string[] = [];
      for (let i = 0; i < 12; i++) {
        const res = await send(`${origin}/fhir/Observation/workers-hr`, { headers });
        const body = JSON.parse(res.body) as { meta?: { versionId?: string }; valueQuantity?: { value?: number } };
        seen.push(`${res.status} v${body.meta?.versionId} ${body.valueQuantity?.value}`);
      }
      return seen;
    };
    t.equal((await put(61)).status, 201);
    t.same(await readAll(), Array(12).fill('200 v1 61'), 'both workers read (and cache) version 1');
    t.equal((await put(118)).status, 200);
    t.same(await readAll(), Array(12).fill('200 v2 118'), 'right after the update, every read on either worker is version 2');
    t.equal((await send(`${origin}/fhir/Observation/workers-hr`, { method: 'DELETE', headers })).status, 204);
    t.same((await readAll()).map((s) => s.split(' ')[0]), Array(12).fill('410'), 'and after the delete, 410 Gone everywhere');
  });

  t.test('SIGTERM stops the primary and both workers cleanly', async (t) => {
    server.child.kill('SIGTERM');
    t.equal(await server.exited, 0, 'the primary exits with 0');
    await until('the workers to exit', () => workers.every((pid) => !alive(pid)), 10_000);
    t.pass('no worker is left running');
  });
});
