// PostgreSQL restarted under a running server: the real server (src/main.ts) on a private PostgreSQL cluster (never
// the machine's shared one), under the crash test's load (FHIR writes and reads, sign-ups, consents, token issues and
// refreshes). PostgreSQL is stopped (fast, then immediate: a crash, recovered from the WAL at the next start) and
// started again. While it is down the server stays up and answers FHIR requests with 503 OperationOutcome (never a
// crash, never a hang); once it is back the server reconnects by itself, and nothing acknowledged is lost.
// Runs in the PostgreSQL pass of the suite (DATABASE_URL=postgres://…); quick: one fast and one immediate stop,
// TEST_LONG=1: ten of them.
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import t from 'tap';
import { openDb } from '../../src/store/db.js';
import { usingPostgres } from '../helpers/database.js';
import { until } from '../helpers/server-process.js';
import { freePort } from '../helpers/smart-server.js';
import { WRITER_CLIENT, Workload, checkLive, checkStore, http, launchServer, newLedger, prng } from './crash-workload.js';
import { createPgCluster, findPostgresBin } from './pg-cluster.js';

const LONG = process.env.TEST_LONG === '1';
const RESTARTS = Number(process.env.PG_RESTARTS ?? (LONG ? 10 : 2));
const SEED = Number(process.env.CRASH_SEED ?? randomInt(2 ** 31));
const found = findPostgresBin();

if (!usingPostgres) t.plan(0, 'PostgreSQL restarts are tested in the PostgreSQL pass (DATABASE_URL=postgres://…); this run is on SQLite');
else if ('missing' in found) t.plan(0, `cannot start a private PostgreSQL cluster: ${found.missing}`);
else {
  t.setTimeout(LONG ? 1_800_000 : 240_000);
  t.comment(`PostgreSQL restart test: ${RESTARTS} stops under load, seed ${SEED} (rerun with CRASH_SEED=${SEED})`);
  const random = prng(SEED);
  const cluster = createPgCluster(found.bin, await freePort());
  t.teardown(() => cluster.destroy());
  await cluster.start();
  const admin = new pg.Client({ connectionString: cluster.url('postgres') });
  await admin.connect();
  await admin.query('create database smart');
  await admin.end();
  const databaseUrl = cluster.url('smart');
  const dir = mkdtempSync(join(tmpdir(), 'smart-pgrestart-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const clientsFile = join(dir, 'clients.json');
  writeFileSync(clientsFile, JSON.stringify([WRITER_CLIENT]));
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;

  t.test('the server rides out PostgreSQL stopping and starting under load, and loses nothing acknowledged', async (t) => {
    const server = await launchServer(t, { databaseUrl, port, clientsFile, exportDir: join(dir, 'exports') });
    const ledger = newLedger(`p${SEED}`);
    // While PostgreSQL is down every request may fail, with a 503: the FHIR API as an OperationOutcome, the token
    // endpoint as temporarily_unavailable, pages as a page.
    const tolerated = (_kind: string, status: number) => status === 503;
    const work = new Workload({ origin, ledger, random, tolerated });
    await work.start();
    t.teardown(() => work.stop());
    await until('the load to acknowledge two consents and a refresh', () => ledger.chains.length >= 2 && ledger.counts.refreshes >= 2, 120_000);
    const anyPatient = ledger.patients[0]!.id;
    const token = (await work.issueToken(false))!;
    const outages: string[] = [];

    for (let i = 0; i < RESTARTS; i++) {
      const mode = i % 2 === 0 ? 'fast' : 'immediate';
      await new Promise((r) => setTimeout(r, 200 + Math.floor(random() * 800)));
      await cluster.stop(mode);
      const down = performance.now();
      // A read while PostgreSQL is down: a 503 OperationOutcome, quickly.
      const probe = await work.fhir('read', anyPatient, `${origin}/fhir/Patient/${anyPatient}`, { token });
      const outcome = (() => {
        try {
          return (JSON.parse(probe.body) as { resourceType?: string }).resourceType;
        } catch {
          return undefined;
        }
      })();
      t.equal(probe.status, 503, `stop ${i + 1} (${mode}): a FHIR read while PostgreSQL is down answers 503`);
      t.equal(outcome, 'OperationOutcome', `as an OperationOutcome (${String(probe.headers['content-type'])}: ${probe.body.slice(0, 200)})`);
      await new Promise((r) => setTimeout(r, 500 + Math.floor(random() * 1000)));
      t.ok(server.child.exitCode === null && server.child.signalCode === null, 'the server process is still running');
      await cluster.start();
      const up = performance.now();
      await until('FHIR reads to succeed again', async () => (await http(`${origin}/fhir/Patient/${anyPatient}`, { headers: { authorization: `Bearer ${token}` } })).status === 200, 30_000, 50);
      outages.push(`${mode}: down ${Math.round(up - down)} ms, reads back ${Math.round(performance.now() - up)} ms after the start`);
    }
    await new Promise((r) => setTimeout(r, 500));
    await work.stop();
    t.ok(server.child.exitCode === null && server.child.signalCode === null, 'the server never stopped');
    t.comment(`outages: ${outages.join('; ')}`);

    const live = await checkLive(work, ledger, origin);
    t.same(live.problems, [], 'every refresh token a client holds refreshes, every access token it holds works');
    // Events of answers given while PostgreSQL was down are written on the next attempt (every 250 ms).
    await new Promise((r) => setTimeout(r, 1000));
    const db = openDb({ kind: 'postgres', connectionString: databaseUrl });
    try {
      // A batch of audit events whose commit PostgreSQL made but whose acknowledgement died with the connection is
      // written again by the retry: the trail is at least once there, and such repeats are counted, not failed.
      const store = await checkStore(db, ledger, `${origin}/fhir`, { auditRepeats: true });
      t.same(store.problems.slice(0, 20), [], 'every acknowledged write, account, grant and audited access is there exactly once, with intact index rows');
      t.comment(
        `acknowledged and checked: ${ledger.counts.creates} creates, ${ledger.counts.updates} updates, ${ledger.counts.signups} sign-ups, ${ledger.counts.consents} consents, ` +
          `${ledger.counts.refreshes} refreshes, ${ledger.counts.tokens} tokens, ${ledger.counts.reads} reads; ${live.checked.refreshTokens} refresh tokens, ${store.checked.grants} grants, ` +
          `${store.checked.auditEvents} audited accesses checked (${store.checked.auditRepeats} events written twice by a retry); lost: ${store.problems.length + live.problems.length}`,
      );
    } finally {
      await db.close();
    }
    t.same([...ledger.unexpected].map(([k, v]) => `${k} x${v.count}: ${v.sample}`), [], 'no answer was an error other than a 503 (while PostgreSQL was down)');
    t.comment(`answers: ${JSON.stringify(Object.fromEntries(ledger.statuses))}; cut off: ${JSON.stringify(Object.fromEntries([...ledger.cutOff].map(([k, v]) => [k, `${v.count} (${v.sample.slice(0, 80)})`])))}`);
    server.child.kill('SIGTERM');
    t.equal(await server.exited, 0, 'and stops cleanly on SIGTERM');
  });
}
