// Revocations reach every instance on PostgreSQL by LISTEN/NOTIFY, not by the poll: two instances share one database,
// the poll while listening is set to ten minutes, and a token revoked (or a grant removed) through one is refused by
// the other well within a second. The LISTEN connection comes back by itself after it is killed and catches up on
// what was written meanwhile; a rolled-back write notifies nobody; a notification naming an event that does not exist
// (or one committed after a later one) never makes an instance skip or lose an event. Last, both paths measured:
// revocation lag (NOTIFY vs polling at 250 ms) and the database transactions an idle instance costs with each.
// PostgreSQL pass only (DATABASE_URL=postgres://…). Quick: 15 revocations per path and a 10 s idle window;
// TEST_LONG=1: 50 and 30 s.
import type { Transaction } from 'kysely';
import pg from 'pg';
import t, { type Test } from 'tap';
import { tokenHash } from '../../src/auth/adapter.js';
import { openDb } from '../../src/store/db.js';
import { REVOCATION_CHANNEL, RevocationLog } from '../../src/store/revocations.js';
import type { Database } from '../../src/store/schema.js';
import { configProblems } from '../helpers/config-problems.js';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../helpers/database.js';
import { REDIRECT, authorize, freePort, oidcConfig, registerClient, startSmartServer, type SmartServer } from '../helpers/smart-server.js';

const LONG = process.env.TEST_LONG === '1';
const SAMPLES = LONG ? 50 : 15;
const IDLE_MS = LONG ? 30_000 : 10_000;
const LIMIT_MS = 1000;
const CATCH_UP_MS = 600;
const BACKEND = `Basic ${Buffer.from('demo-backend:demo-backend-secret-change-me').toString('base64')}`;
// Polling while LISTEN is in force: ten minutes, so anything faster than that came by NOTIFY. The poll without it
// (the connection lost) stays at its most allowed, a second.
const NOTIFY_ENV = { REVOCATION_POLL_MS: '1000', REVOCATION_NOTIFY_POLL_MS: '600000', TOKEN_RATE_LIMIT: '0', TOKEN_CLIENT_RATE_LIMIT: '0' };
const POLL_ENV = { REVOCATION_POLL_MS: '250', REVOCATION_NOTIFY: 'off', TOKEN_RATE_LIMIT: '0', TOKEN_CLIENT_RATE_LIMIT: '0' };
const APP = { client_name: 'Notify Diary', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', scope: 'openid fhirUser launch/patient offline_access patient/*.rs' };

type Running = Awaited<ReturnType<typeof startSmartServer>>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function pair(t: Test, env: Record<string, string>): Promise<{ a: Running; b: Running; database: TestDatabase }> {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const portA = await freePort();
  const a = await startSmartServer(t, { database, port: portA, env });
  const b = await startSmartServer(t, { database, publicUrl: `http://127.0.0.1:${portA}`, seed: false, env });
  return { a, b, database };
}

async function backendToken(s: SmartServer): Promise<string> {
  const res = await fetch(`${s.server.listeningOrigin}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: BACKEND },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'system/*.rs' }),
  });
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

async function revokeToken(s: SmartServer, token: string): Promise<void> {
  const res = await fetch(`${s.server.listeningOrigin}/auth/token/revocation`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: BACKEND },
    body: new URLSearchParams({ token }),
  });
  if (res.status !== 200) throw new Error(`revocation failed: ${res.status}`);
}

const read = async (s: SmartServer, token: string, path = '/fhir/Patient/maria-garcia') =>
  (await fetch(`${s.server.listeningOrigin}${path}`, { headers: { authorization: `Bearer ${token}` } })).status;

/** ms from `since` until `s` refuses the token (Infinity: not within `limit`) */
async function refusedAfter(s: SmartServer, token: string, since: number, limit = LIMIT_MS + 2000, path?: string): Promise<number> {
  while (Date.now() - since < limit) {
    if ((await read(s, token, path)) === 401) return Date.now() - since;
    await sleep(2);
  }
  return Infinity;
}

/**
 * What a revocation by an operator's script does, inside the caller's transaction: the token's row goes and the event
 * is recorded (with its NOTIFY, sent only if the transaction commits).
 */
async function revokeIn(tx: Transaction<Database>, token: string): Promise<void> {
  await tx.deleteFrom('oidc_model').where('model', '=', 'ClientCredentials').where('id', '=', tokenHash(token)).execute();
  await new RevocationLog({ kysely: tx }).record({ tokenHash: tokenHash(token) });
}

/** The server process ids of the LISTEN connections on a database */
async function listeners(admin: pg.Client, database: TestDatabase): Promise<number[]> {
  const name = new URL(database.url).pathname.slice(1);
  const r = await admin.query<{ pid: number }>(`select pid from pg_stat_activity where datname = $1 and application_name = 'revocation-listener' order by pid`, [name]);
  return r.rows.map((row) => row.pid);
}

async function adminClient(t: Test): Promise<pg.Client> {
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  t.teardown(() => admin.end());
  return admin;
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const percentile = (xs: readonly number[], p: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

t.test('the settings are checked at start', async (t) => {
  const problems = configProblems;
  t.same(problems({ REVOCATION_NOTIFY: 'off', REVOCATION_NOTIFY_POLL_MS: '600000' }), []);
  t.match(problems({ REVOCATION_NOTIFY: 'maybe' }), [/REVOCATION_NOTIFY "maybe" must be on or off/]);
  t.match(problems({ REVOCATION_NOTIFY_POLL_MS: '100' }), [/REVOCATION_NOTIFY_POLL_MS "100" must be a whole number from 250 to 600000/]);
});

if (!usingPostgres) t.skip('LISTEN/NOTIFY: PostgreSQL only (SQLite polls, as tested elsewhere); run with DATABASE_URL=postgres://…', () => undefined);
else {
  t.setTimeout(LONG ? 600_000 : 240_000);

  t.test('a token revoked through one instance is refused by the other within a second, by NOTIFY (the poll is ten minutes)', async (t) => {
    const { a, b } = await pair(t, NOTIFY_ENV);
    t.ok(b.auth!.resolver.notified, 'B listens for revocations');
    const token = await backendToken(a);
    t.equal(await read(b, token), 200, 'the token works on B (and is cached there)');
    const readsBefore = b.auth!.resolver.revocationReads;
    const since = Date.now();
    await revokeToken(a, token);
    const lag = await refusedAfter(b, token, since);
    t.comment(`revoked on A → 401 on B: ${lag} ms`);
    t.ok(lag < LIMIT_MS, `B refuses the token within a second (${lag} ms)`);
    t.ok(b.auth!.resolver.revocationReads > readsBefore, 'B read the log because it was woken (its poll is ten minutes away)');
  });

  t.test("a grant removed through one instance ends its tokens on the other within a second, by NOTIFY", async (t) => {
    const { a, b } = await pair(t, NOTIFY_ENV);
    const client = await registerClient(a, APP);
    const { tokens } = await authorize(a, await oidcConfig(a, client.client_id), { scope: APP.scope });
    const path = '/fhir/Observation?patient=maria-garcia';
    t.equal(await read(b, tokens.access_token, path), 200, "the app's token works on B (and is cached there)");
    const grantId = (await a.auth!.provider.AccessToken.find(tokens.access_token))!.grantId!;
    const since = Date.now();
    await a.auth!.revokeGrant(grantId, { reason: 'patient-removed' });
    const lag = await refusedAfter(b, tokens.access_token, since, undefined, path);
    t.comment(`grant removed on A → 401 on B: ${lag} ms`);
    t.ok(lag < LIMIT_MS, `B refuses the token within a second (${lag} ms)`);
  });

  t.test('a killed LISTEN connection is re-established by itself, and what was written while it was down is caught up', async (t) => {
    const { a, b, database } = await pair(t, NOTIFY_ENV);
    const admin = await adminClient(t);
    const before = await listeners(admin, database);
    t.equal(before.length, 2, 'each instance holds one LISTEN connection');
    const tokens = [await backendToken(a), await backendToken(a)];
    for (const token of tokens) t.equal(await read(b, token), 200, 'a token works on B (and is cached there)');

    // Every listener killed while the database takes no new connections, so they cannot come back yet (their first
    // retry, 100 ms after the drop, fails), and a revocation committed meanwhile: nobody listens when its NOTIFY goes
    // out. Then connections are allowed again and the listeners return on their next retry (300 ms after the drop).
    const name = new URL(database.url).pathname.slice(1);
    const writer = openDb(database.target);
    t.teardown(() => writer.close());
    try {
      await writer.kysely.transaction().execute(async (tx) => {
        await revokeIn(tx, tokens[0]!);
        await admin.query(`alter database ${name} allow_connections false`);
        await admin.query('select pg_terminate_backend(pid) from unnest($1::int[]) pid', [before]);
        await sleep(150);
      });
    } finally {
      await admin.query(`alter database ${name} allow_connections true`);
    }
    const since = Date.now();
    const lag = await refusedAfter(b, tokens[0]!, since);
    t.comment(`written while nobody listened → 401 on B: ${lag} ms`);
    // Polling without LISTEN (every second here) would take some 850 ms more; reading from the last seq seen on
    // listening again takes the ~150 ms until the next retry.
    t.ok(lag < CATCH_UP_MS, `B catches up on the revocation written while it was not listening as soon as it listens again (${lag} ms)`);

    await until('both listeners to be back', async () => (await listeners(admin, database)).length === 2 && b.auth!.resolver.notified && a.auth!.resolver.notified);
    const after = await listeners(admin, database);
    t.notOk(after.some((pid) => before.includes(pid)), 'on new connections');
    const again = Date.now();
    await revokeToken(a, tokens[1]!);
    const lag2 = await refusedAfter(b, tokens[1]!, again);
    t.comment(`after reconnecting, revoked on A → 401 on B: ${lag2} ms`);
    t.ok(lag2 < LIMIT_MS, `NOTIFY works again on the new connection (${lag2} ms)`);
  });

  t.test('a rolled-back revocation notifies nobody, and a notification of an event that does not exist makes no one skip the next', async (t) => {
    const { a, b, database } = await pair(t, NOTIFY_ENV);
    const spy = new pg.Client({ connectionString: database.url });
    await spy.connect();
    t.teardown(() => spy.end());
    const heard: string[] = [];
    spy.on('notification', (n) => heard.push(n.payload ?? ''));
    await spy.query(`listen ${REVOCATION_CHANNEL}`);

    const token = await backendToken(a);
    t.equal(await read(b, token), 200, 'the token works on B (and is cached there)');
    const writer = openDb(database.target);
    t.teardown(() => writer.close());
    await t.rejects(
      writer.kysely.transaction().execute(async (tx) => {
        await revokeIn(tx, token);
        throw new Error('rolled back on purpose');
      }),
      /on purpose/,
    );
    await sleep(300);
    t.same(heard, [], 'the rolled-back write sent no notification');
    t.equal(await read(b, token), 200, 'and the token still works on B');

    // A notification naming an event far ahead (nobody's, or one whose write is gone): B reads, finds nothing, and
    // must not take the number as read, or it would skip the real events that come next.
    await spy.query(`select pg_notify($1, '999999999')`, [REVOCATION_CHANNEL]);
    await sleep(200);
    const since = Date.now();
    await revokeToken(a, token);
    const lag = await refusedAfter(b, token, since);
    t.ok(lag < LIMIT_MS, `the next real revocation is still applied on B within a second (${lag} ms)`);
    t.same(heard.length, 2, 'the spy heard the stray notification and the real one, nothing for the rolled-back write');
  });

  t.test('a revocation committed after a later one (seq numbers commit out of order) is still applied', async (t) => {
    const { a, b, database } = await pair(t, NOTIFY_ENV);
    const [early, late] = [await backendToken(a), await backendToken(a)];
    for (const token of [early, late]) t.equal(await read(b, token), 200, 'a token works on B (and is cached there)');
    const writer = openDb(database.target);
    t.teardown(() => writer.close());
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let inserted!: () => void;
    const insertedP = new Promise<void>((r) => (inserted = r));
    // The first write takes its seq, then waits uncommitted while a second write (a later seq) commits.
    const first = writer.kysely.transaction().execute(async (tx) => {
      await revokeIn(tx, early);
      inserted();
      await held;
    });
    await insertedP;
    await revokeToken(a, late);
    t.ok((await refusedAfter(b, late, Date.now())) < LIMIT_MS, 'the later revocation is applied on B');
    t.equal(await read(b, early), 200, 'the earlier one, not yet committed, is not');
    release();
    await first;
    const since = Date.now();
    const lag = await refusedAfter(b, early, since);
    t.ok(lag < LIMIT_MS, `once committed, the earlier revocation is applied on B too, though B had read past its seq (${lag} ms)`);
  });

  t.test('measured: revocation lag and idle database load, NOTIFY vs polling every 250 ms', async (t) => {
    const results: Record<string, { p50: number; max: number; request: number; readsPerSec: number; xactPerSec: number }> = {};
    const admin = await adminClient(t);
    for (const [name, env] of [
      ['NOTIFY (poll 5 s)', { ...NOTIFY_ENV, REVOCATION_NOTIFY_POLL_MS: '5000' }],
      ['polling 250 ms', POLL_ENV],
    ] as const) {
      await t.test(name, async (t) => {
        const { a, b, database } = await pair(t, env);
        // From the revocation request's start to B's first 401, and the request's own time (A records the event
        // before it answers, so B may refuse before A has answered).
        const lags: number[] = [];
        const requests: number[] = [];
        for (let i = 0; i < SAMPLES; i++) {
          const token = await backendToken(a);
          if ((await read(b, token)) !== 200) throw new Error('token refused before its revocation');
          // A random phase against the poll, as a real revocation has.
          await sleep(Math.random() * 250);
          const since = Date.now();
          await revokeToken(a, token);
          requests.push(Date.now() - since);
          lags.push(await refusedAfter(b, token, since));
        }
        // Idle: the first instance stopped, the second left alone; what it costs the database per second.
        await a.stop();
        const dbName = new URL(database.url).pathname.slice(1);
        const xact = async () => Number((await admin.query<{ n: string }>('select pg_stat_clear_snapshot(), (select xact_commit + xact_rollback from pg_stat_database where datname = $1) n', [dbName])).rows[0]!.n);
        // Statistics reach pg_stat_database when a backend goes idle, at most once a second (a backend that stays
        // idle: within 10 s), so each reading trails by about the same: their difference over the window holds.
        await sleep(2_000);
        const [x0, r0, t0] = [await xact(), b.auth!.resolver.revocationReads, Date.now()];
        await sleep(IDLE_MS);
        const [x1, r1, t1] = [await xact(), b.auth!.resolver.revocationReads, Date.now()];
        const secs = (t1 - t0) / 1000;
        results[name] = { p50: percentile(lags, 50), max: Math.max(...lags), request: percentile(requests, 50), readsPerSec: (r1 - r0) / secs, xactPerSec: (x1 - x0) / secs };
        t.ok(Math.max(...lags) < LIMIT_MS, `every revocation refused within a second (max ${Math.max(...lags)} ms)`);
      });
    }
    for (const [name, r] of Object.entries(results)) {
      t.comment(`${name}: lag over ${SAMPLES} revocations p50 ${r.p50} ms, max ${r.max} ms (the revocation request itself: p50 ${r.request} ms); idle instance: ${r.readsPerSec.toFixed(2)} log reads/s (client count), ${r.xactPerSec.toFixed(2)} transactions/s (pg_stat_database)`);
    }
    const notify = results['NOTIFY (poll 5 s)']!;
    const poll = results['polling 250 ms']!;
    t.ok(notify.p50 < poll.p50, `NOTIFY's median lag (${notify.p50} ms) is below polling's (${poll.p50} ms)`);
    t.ok(notify.readsPerSec < poll.readsPerSec / 5, `an idle instance reads the log far less often with NOTIFY (${notify.readsPerSec.toFixed(2)}/s vs ${poll.readsPerSec.toFixed(2)}/s)`);
  });
}
