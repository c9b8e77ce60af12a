// Bulk export survives its server: real server processes (src/main.ts) on one database and one EXPORT_DIR. A server
// killed mid-export (SIGKILL) has its job taken over by the next one, which starts afresh and writes exactly the
// data set as of the transaction time; a server stopped with SIGTERM hands its job back to the queue; a job
// interrupted too often fails with its reason and no files; and with WORKERS=2 every worker answers for the job.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { CohortCollector, generatePatientRecord, generateSharedResources } from '../../scripts/generator/index.js';
import { importResources, type ImportItem } from '../../src/fhir/import/importer.js';
import { FhirService } from '../../src/fhir/service.js';
import { ResourceStore } from '../../src/store/resources.js';
import type { Manifest } from '../helpers/bulk-client.js';
import { createTestDatabase, exportDir, usingPostgres } from '../helpers/database.js';
import { send, startServer, until, type Reply, type ServerProcess } from '../helpers/server-process.js';
import { freePort } from '../helpers/smart-server.js';

// Big enough that Patient/$export runs for a few seconds on the export thread: the kill must land mid-export.
const PATIENTS = 48;
const OBSERVATIONS_PER_PATIENT = 500;
const FILE_RESOURCES = 2000;
const BACKEND = `Basic ${Buffer.from('demo-backend:demo-backend-secret-change-me').toString('base64')}`;
// Seven server processes and four full exports: ~45 s on a quiet machine, ~90 s on PostgreSQL with others running.
t.setTimeout(240_000);

const database = await createTestDatabase({ file: true });
t.teardown(() => database.close());
const port = await freePort();
const origin = `http://127.0.0.1:${port}`;

const built = performance.now();
async function* dataSet(): AsyncGenerator<ImportItem> {
  for (const [j, r] of generateSharedResources().entries()) yield { resource: r, location: `practice #${j}` };
  const cohorts = new CohortCollector();
  for (let i = 0; i < PATIENTS; i++) {
    const rs = generatePatientRecord({ seed: 7, index: i, observationsPerPatient: OBSERVATIONS_PER_PATIENT });
    cohorts.add(rs);
    for (const [j, r] of rs.entries()) yield { resource: r, location: `patient ${i} #${j}` };
  }
  for (const [j, g] of cohorts.groups().entries()) yield { resource: g, location: `group #${j}` };
}
const report = await importResources(new FhirService(new ResourceStore(database.db), `${origin}/fhir`), dataSet(), { batchSize: 2000 });
if (report.errors.length) throw new Error(`the data set did not import: ${JSON.stringify(report.errors.slice(0, 3))}`);
t.comment(`data set: ${Object.values(report.imported).reduce((a, b) => a + b, 0)} resources imported in ${((performance.now() - built) / 1000).toFixed(1)} s (${usingPostgres ? 'PostgreSQL' : 'SQLite file'})`);

/** A server on the shared database and port; killed at the end of the test if still running. */
async function launch(t: Test, exports: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const server = startServer({
    DATABASE_URL: database.url,
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: origin,
    SANDBOX: 'true',
    SEED_DIR: '',
    // debug: which worker answered is read from the per-request lines
    LOG_LEVEL: 'debug',
    EXPORT_DIR: exports,
    EXPORT_FILE_RESOURCES: String(FILE_RESOURCES),
    EXPORT_STALE_SECONDS: '1',
    ...env,
  });
  t.teardown(async () => {
    if (server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
  });
  const workers = Number(env.WORKERS ?? '1');
  await until('the server to listen', () => {
    if (server.child.exitCode !== null) throw new Error(`the server exited with ${server.child.exitCode}: ${server.stderr()}`);
    return server.lines.filter((l) => l.msg?.startsWith('Server listening')).length >= workers;
  });
  return server;
}

async function backendToken(): Promise<string> {
  const res = await send(`${origin}/auth/token`, {
    method: 'POST',
    headers: { authorization: BACKEND, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&scope=system%2F*.rs',
  });
  if (res.status !== 200) throw new Error(`token request answered ${res.status}: ${res.body}`);
  return (JSON.parse(res.body) as { access_token: string }).access_token;
}

/** Patient/$export; the job's id and status URL. */
async function kickOff(token: string): Promise<{ id: string; statusUrl: string }> {
  const res = await send(`${origin}/fhir/Patient/$export`, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json', prefer: 'respond-async' } });
  if (res.status !== 202) throw new Error(`kick-off answered ${res.status}: ${res.body}`);
  const statusUrl = String(res.headers['content-location']);
  return { id: statusUrl.split('/').pop()!, statusUrl };
}

const status = (statusUrl: string, token: string) => send(statusUrl, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });

/**
 * Polls fast (ignoring Retry-After) until the export reports at least `atLeast` resources written while still running;
 * throws if it answers anything but 202 first, so a machine too fast for the data set fails the test instead of
 * proving nothing.
 */
async function runningWithOutput(statusUrl: string, token: string, atLeast = 1): Promise<{ written: number; progress: string }> {
  const end = Date.now() + 30_000;
  for (;;) {
    const res = await status(statusUrl, token);
    if (res.status !== 202) throw new Error(`the export answered ${res.status} before it could be interrupted (make the data set larger): ${res.body.slice(0, 300)}`);
    const progress = String(res.headers['x-progress'] ?? '');
    const written = Number(/^running: (\d+) resources written/.exec(progress)?.[1] ?? 0);
    if (written >= atLeast) return { written, progress };
    if (Date.now() > end) throw new Error(`the export did not get going: ${progress}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Polls as a client would (at most every 200 ms) until the status URL answers something other than 202. */
async function finalStatus(statusUrl: string, token: string): Promise<{ res: Reply; seen: number[] }> {
  const end = Date.now() + 60_000;
  const seen: number[] = [];
  for (;;) {
    const res = await status(statusUrl, token);
    seen.push(res.status);
    if (res.status !== 202) return { res, seen };
    if (Date.now() > end) throw new Error(`the export was still running after 60 s: ${String(res.headers['x-progress'])}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function jobRow(id: string) {
  const row = await database.db.kysely.selectFrom('export_jobs').select(['status', 'attempts', 'owner', 'error', 'transaction_time']).where('id', '=', id).executeTakeFirstOrThrow();
  return { ...row, attempts: Number(row.attempts), transaction_time: Number(row.transaction_time) };
}

/** Every resource in some patient's compartment as of the transaction time: type → ids, straight from the table. */
async function compartmentAt(transactionTime: number): Promise<Map<string, string[]>> {
  const rows = await database.db.kysely
    .selectFrom('resources')
    .select(['type', 'id'])
    .where('deleted', '=', 0)
    .where('patient_id', 'is not', null)
    .where('last_updated', '<=', transactionTime)
    .execute();
  const byType = new Map<string, string[]>();
  for (const r of rows) {
    const ids = byType.get(r.type) ?? [];
    ids.push(r.id);
    byType.set(r.type, ids);
  }
  return byType;
}

/**
 * The manifest against the database: every file downloaded on a connection of its own, its line count equal to its
 * manifest count, no id twice, and per type exactly the ids the table holds at the transaction time.
 */
async function checkComplete(t: Test, manifest: Manifest, token: string): Promise<number> {
  const expected = await compartmentAt(Date.parse(manifest.transactionTime));
  const total = [...expected.values()].reduce((a, ids) => a + ids.length, 0);
  t.equal(manifest.output.reduce((a, o) => a + o.count, 0), total, `the manifest counts add up to the ${total} compartment resources in the database`);
  t.ok(manifest.output.every((o) => o.count <= FILE_RESOURCES), `no file holds more than ${FILE_RESOURCES} resources`);
  t.same(manifest.error, [], 'no error file');
  const exported = new Map<string, string[]>();
  const miscounted: string[] = [];
  for (const o of manifest.output) {
    const res = await send(o.url, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+ndjson' } });
    if (res.status !== 200) throw new Error(`${o.url} answered ${res.status}: ${res.body.slice(0, 300)}`);
    const lines = res.body.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { resourceType: string; id: string });
    if (lines.length !== o.count) miscounted.push(`${o.url}: ${lines.length} lines, manifest says ${o.count}`);
    for (const r of lines) {
      if (r.resourceType !== o.type) miscounted.push(`${o.url} holds a ${r.resourceType}`);
      const ids = exported.get(r.resourceType) ?? [];
      ids.push(r.id);
      exported.set(r.resourceType, ids);
    }
  }
  t.same(miscounted, [], 'every file has as many lines as its manifest count, all of its type');
  const duplicated = [...exported].filter(([, ids]) => new Set(ids).size !== ids.length).map(([type]) => type);
  t.same(duplicated, [], 'no resource id appears twice within a type');
  const sorted = (m: Map<string, string[]>) => Object.fromEntries([...m].map(([type, ids]) => [type, [...ids].sort()]).sort(([a], [b]) => String(a).localeCompare(String(b))));
  t.same(sorted(exported), sorted(expected), 'per type, exactly the ids of the database at the transaction time');
  return total;
}

const ndjsonIn = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.ndjson')) : []);

t.test('SIGKILL mid-export: the next server takes the job over, starts afresh and writes the complete data set once', async (t) => {
  const exports = exportDir();
  t.teardown(() => exports.remove());
  const a = await launch(t, exports.path);
  const token = await backendToken();
  const { id, statusUrl } = await kickOff(token);
  const started = Date.now();
  // Two full files: the killed attempt has recorded files of its own, which the manifest must not name.
  const before = await runningWithOutput(statusUrl, token, 2 * FILE_RESOURCES);
  a.child.kill('SIGKILL');
  await a.exited;
  const killedAt = Date.now() - started;
  const left = await jobRow(id);
  t.equal(left.status, 'running', `killed while running (${before.progress}, ${killedAt} ms in)`);
  t.equal(left.attempts, 1, 'in its first attempt');
  const partial = ndjsonIn(join(exports.path, id, '1'));
  t.ok(partial.length > 0, `the first attempt left partial output behind (${partial.length} files)`);
  const recorded = await database.db.kysely.selectFrom('export_files').select('name').where('job_id', '=', id).where('attempt', '=', 1).execute();
  t.ok(recorded.length >= 2, `and had recorded ${recorded.length} finished files`);

  const b = await launch(t, exports.path);
  const { res, seen } = await finalStatus(statusUrl, token);
  const doneAt = Date.now() - started;
  t.equal(res.status, 200, 'the token of the killed server still works, and the export completes on the new one');
  t.notOk(seen.slice(0, -1).some((s) => s !== 202), 'only 202 before the manifest');
  const manifest = JSON.parse(res.body) as Manifest;
  t.equal(Date.parse(manifest.transactionTime), left.transaction_time, 'the transaction time is the one of the kick-off');
  const total = await checkComplete(t, manifest, token);
  const job = await jobRow(id);
  t.equal(job.attempts, 2, 'two attempts');
  t.equal(job.status, 'done');
  t.same(readdirSync(join(exports.path, id)), ['2'], "only the final attempt's directory remains");
  t.equal(ndjsonIn(join(exports.path, id, '2')).length, manifest.output.length, 'and it holds the files of the manifest');
  t.ok(b.lines.some((l) => l.msg === 'export finished'), 'the new server logged the export as finished');
  t.comment(`killed after ${killedAt} ms at "${before.progress}" with ${partial.length} files on disk (${recorded.length} recorded); ${total} resources in ${manifest.output.length} files, manifest ${doneAt} ms after kick-off`);
});

t.test('SIGTERM hands the running job back to the queue; the next server (two workers) runs it to completion in one more attempt', async (t) => {
  const exports = exportDir();
  t.teardown(() => exports.remove());
  const a = await launch(t, exports.path);
  const token = await backendToken();
  const { id, statusUrl } = await kickOff(token);
  const before = await runningWithOutput(statusUrl, token);
  a.child.kill('SIGTERM');
  t.equal(await a.exited, 0, `the server stopped cleanly (stopped at "${before.progress}")`);
  const released = await jobRow(id);
  t.equal(released.status, 'queued', 'the job is queued again');
  t.equal(released.owner, null, 'and owned by no one');
  t.equal(released.attempts, 1, 'after one attempt');
  t.same(ndjsonIn(join(exports.path, id, '1')), [], 'its partial files are removed');

  // Restarted with WORKERS=2: the primary, which only prepares the database, must not claim the job (each claim is
  // an attempt), so the job still ends in its second attempt.
  await launch(t, exports.path, { WORKERS: '2', REVOCATION_POLL_MS: '100' });
  const { res } = await finalStatus(statusUrl, token);
  t.equal(res.status, 200, 'the next server completes it');
  const total = await checkComplete(t, JSON.parse(res.body) as Manifest, token);
  t.equal((await jobRow(id)).attempts, 2, 'in its second attempt');
  t.same(readdirSync(join(exports.path, id)), ['2'], "only the final attempt's directory remains");
  t.comment(`SIGTERM at "${before.progress}"; ${total} resources after the restart`);
});

t.test('a job interrupted too often fails with its reason, no manifest and no files', async (t) => {
  const exports = exportDir();
  t.teardown(() => exports.remove());
  const a = await launch(t, exports.path);
  const token = await backendToken();
  const { id, statusUrl } = await kickOff(token);
  await runningWithOutput(statusUrl, token);
  a.child.kill('SIGKILL');
  await a.exited;
  t.ok(ndjsonIn(join(exports.path, id, '1')).length > 0, 'the killed attempt left files behind');
  // As if it had been taken over and killed twice more.
  await database.db.kysely.updateTable('export_jobs').set({ attempts: 3, heartbeat_at: Date.now() - 60_000 }).where('id', '=', id).execute();

  await launch(t, exports.path);
  const { res, seen } = await finalStatus(statusUrl, token);
  t.equal(res.status, 500, 'the status URL answers 500');
  t.notOk(seen.includes(200), 'never a manifest');
  const outcome = JSON.parse(res.body) as { resourceType: string; issue: { severity: string; diagnostics?: string }[] };
  t.equal(outcome.resourceType, 'OperationOutcome');
  t.match(outcome.issue[0]?.diagnostics, /interrupted 3 times/, `it names the interruptions: "${outcome.issue[0]?.diagnostics}"`);
  const job = await jobRow(id);
  t.equal(job.status, 'failed');
  t.notOk(existsSync(join(exports.path, id)), 'its files are gone');
  const file = await send(`${origin}/fhir/$export-file/${id}/Observation-1.ndjson`, { headers: { authorization: `Bearer ${token}` } });
  t.equal(file.status, 404, 'and no file can be downloaded');
});

t.test('DELETE while the export is running answers 202, stops the export and removes its files, logging no error', async (t) => {
  const exports = exportDir();
  t.teardown(() => exports.remove());
  const server = await launch(t, exports.path);
  const token = await backendToken();
  const { id, statusUrl } = await kickOff(token);
  await runningWithOutput(statusUrl, token);
  const del = await send(statusUrl, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
  t.equal(del.status, 202, 'cancelled while files are being written');
  t.equal((await send(statusUrl, { headers: { authorization: `Bearer ${token}` } })).status, 404, 'the job is gone at once');
  await until('the export directory to go', () => !existsSync(join(exports.path, id)));
  t.pass('its directory is removed');
  await new Promise((r) => setTimeout(r, 500));
  t.same(
    server.lines.filter((l) => l.level >= 50).map((l) => l.msg),
    [],
    'no error logged: a cancelled export is not a failed one',
  );
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0);
});

t.test('WORKERS=2: both workers answer for the job over fresh connections, and every file downloads complete', async (t) => {
  const exports = exportDir();
  t.teardown(() => exports.remove());
  const server = await launch(t, exports.path, { WORKERS: '2', REVOCATION_POLL_MS: '100' });
  const workers = new Set(server.lines.filter((l) => l.msg?.startsWith('Server listening')).map((l) => l.pid));
  const token = await backendToken();
  const started = Date.now();
  const { id, statusUrl } = await kickOff(token);
  const from = server.lines.length;
  const { res, seen } = await finalStatus(statusUrl, token);
  const ms = Date.now() - started;
  t.equal(res.status, 200, `done after ${seen.length} polls`);
  const manifest = JSON.parse(res.body) as Manifest;
  const total = await checkComplete(t, manifest, token);
  // 'incoming request': a download's answer may be logged as 'stream closed prematurely' instead of 'request completed'.
  const incoming = () => server.lines.slice(from).filter((l) => l.msg === 'incoming request');
  await until('the request logs', () => incoming().length >= seen.length + manifest.output.length, 5000);
  const answering = (path: string) => [...new Set(incoming().filter((l) => l.req?.url?.includes(path)).map((l) => l.pid))].sort();
  t.same(answering('/$export-status/'), [...workers].sort(), 'both workers answered status polls');
  t.same(answering('/$export-file/'), [...workers].sort(), 'both workers served files');
  const ranOn = server.lines.filter((l) => l.msg === 'export finished').map((l) => l.pid);
  t.equal(ranOn.length, 1, 'one process ran the export');
  t.ok(workers.has(ranOn[0]!), 'a worker, not the primary');
  t.equal((await jobRow(id)).attempts, 1, 'in one attempt');
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0, 'SIGTERM stops the primary and its workers');
  t.comment(`WORKERS=2: ${total} resources in ${manifest.output.length} files, done in ${ms} ms over ${seen.length} polls; ran on worker ${ranOn[0]} of ${[...workers].join(', ')}`);
});
