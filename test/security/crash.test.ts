// Nothing acknowledged is lost: the real server (src/main.ts) runs on a SQLite file (its production layout, with the
// write-behind and checkpoint threads) or on PostgreSQL, under concurrent FHIR creates and updates, portal sign-ups,
// consents, token issues and refreshes and FHIR reads, and is killed with SIGKILL at a random moment (seeded, printed),
// again and again. After each kill the database must hold every write that was answered exactly once, with intact
// index rows, every acknowledged account and grant, and an audit event for every answered FHIR request; after each
// restart every refresh token a client holds must still refresh and every access token still work.
// Quick mode: 5 kills; TEST_LONG=1: 50 (CRASH_KILLS and CRASH_SEED override).
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { createTestDatabase, usingPostgres } from '../helpers/database.js';
import { until } from '../helpers/server-process.js';
import { freePort } from '../helpers/smart-server.js';
import { WRITER_CLIENT, Workload, checkLive, checkStore, launchServer, newLedger, prng } from './crash-workload.js';

const LONG = process.env.TEST_LONG === '1';
const KILLS = Number(process.env.CRASH_KILLS ?? (LONG ? 50 : 5));
const SEED = Number(process.env.CRASH_SEED ?? randomInt(2 ** 31));
// A server start is 2-4 s here (tsx); each life then runs the load for 0.3-1.5 s before the kill.
t.setTimeout(LONG ? 3_600_000 : 240_000);
const random = prng(SEED);
const dbKind = usingPostgres ? 'PostgreSQL' : 'SQLite file';
t.comment(`crash test on ${dbKind}: ${KILLS} kills, seed ${SEED} (rerun with CRASH_SEED=${SEED})`);

const database = await createTestDatabase({ file: true });
t.teardown(() => database.close());
const dir = mkdtempSync(join(tmpdir(), 'smart-crash-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const clientsFile = join(dir, 'clients.json');
writeFileSync(clientsFile, JSON.stringify([WRITER_CLIENT]));
const port = await freePort();
const origin = `http://127.0.0.1:${port}`;

const launch = (t: Test) => launchServer(t, { databaseUrl: database.url, port, clientsFile, exportDir: join(dir, 'exports') });

t.test('acknowledged writes, accounts, grants, refresh tokens and audited accesses survive SIGKILL at random moments', async (t) => {
  const ledger = newLedger(`s${SEED}`);
  const totals = { refreshTokens: 0, accessTokens: 0, ccTokens: 0, grants: 0, auditEvents: 0 };
  const delays: number[] = [];
  let lost = 0;

  for (let life = 0; life <= KILLS; life++) {
    const started = performance.now();
    const server = await launch(t);
    const work = new Workload({ origin, ledger, random });
    if (life > 0) {
      const live = await checkLive(work, ledger, origin);
      lost += live.problems.length;
      t.same(live.problems, [], `after kill ${life}: every refresh token a client holds refreshes, every access token it holds works`);
      totals.refreshTokens += live.checked.refreshTokens;
      totals.accessTokens += live.checked.accessTokens;
      totals.ccTokens += live.checked.ccTokens;
    }
    if (life === KILLS) {
      // The last life ends as a server should: SIGTERM, a clean exit, and then the same checks once more.
      server.child.kill('SIGTERM');
      t.equal(await server.exited, 0, 'the server stops cleanly on SIGTERM after the last restart');
    } else {
      await work.start();
      t.teardown(() => work.stop());
      // The first life runs until every kind of write has been acknowledged, so every kill finds all of them.
      if (life === 0) {
        await until('the load to acknowledge two consents and a refresh', () => ledger.chains.length >= 2 && ledger.counts.refreshes >= 2, 120_000).catch((err: Error) => {
          throw new Error(`${err.message}: ${JSON.stringify({ counts: ledger.counts, unexpected: Object.fromEntries(ledger.unexpected), cutOff: Object.fromEntries(ledger.cutOff) })}`);
        });
      }
      const delay = 300 + Math.floor(random() * 1200);
      delays.push(delay);
      await new Promise((r) => setTimeout(r, delay));
      server.child.kill('SIGKILL');
      await server.exited;
      await work.stop();
    }
    const store = await checkStore(database.db, ledger, `${origin}/fhir`);
    lost += store.problems.length;
    t.same(store.problems.slice(0, 20), [], `${life === KILLS ? 'after the clean stop' : `after kill ${life + 1}`}: every acknowledged write, account, grant and audited access is there exactly once, with intact index rows`);
    totals.grants += store.checked.grants;
    totals.auditEvents = store.checked.auditEvents;
    if (life === KILLS || LONG) t.comment(`life ${life + 1} (${Math.round(performance.now() - started)} ms): ${JSON.stringify(ledger.counts)}; store: ${JSON.stringify(store.checked)}`);
  }

  t.same([...ledger.unexpected].map(([k, v]) => `${k} x${v.count}: ${v.sample}`), [], 'no answer under load was an error (only cut-off requests, which are in doubt)');
  t.ok(ledger.counts.creates > 0 && ledger.counts.updates > 0 && ledger.counts.signups > 0 && ledger.counts.consents > 0 && ledger.counts.refreshes > 0 && ledger.counts.reads > 0, 'the load acknowledged every kind of write before the kills');
  t.comment(
    `${dbKind}: ${KILLS} kills at ${delays.join(', ')} ms; acknowledged and checked: ${ledger.counts.creates} creates, ${ledger.counts.updates} updates, ` +
      `${ledger.counts.signups} sign-ups, ${ledger.counts.consents} consents (grants), ${ledger.counts.refreshes} refreshes, ${ledger.counts.tokens} client_credentials tokens, ` +
      `${ledger.counts.reads} reads; ${ledger.counts.inDoubt} requests cut off (in doubt); checks: ${totals.refreshTokens} refresh tokens, ${totals.accessTokens} access tokens, ` +
      `${totals.ccTokens} client_credentials tokens, ${totals.grants} grants, ${totals.auditEvents} audited accesses; lost: ${lost}`,
  );
  t.comment(`answers: ${JSON.stringify(Object.fromEntries(ledger.statuses))}; cut off: ${JSON.stringify(Object.fromEntries([...ledger.cutOff].map(([k, v]) => [k, v.count])))}`);
});
