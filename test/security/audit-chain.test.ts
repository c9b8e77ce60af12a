// The audit trail is tamper-evident: every row chains to the one before by hash, whoever appends (batches of any
// size, several writers on one database), `npm run audit:verify` names the first row where an edit, a deletion, a
// swap or a cut tail breaks it, and every sensitive event is in it, without a secret.
import { sql } from 'kysely';
import t from 'tap';
import * as oidc from 'openid-client';
import { SECURITY_EVENT_CODES } from '../../src/audit/security-log.js';
import { CHAINED_COLUMNS, GENESIS_HASH, chainedValuesOf, linkHash } from '../../src/store/audit-chain.js';
import { AuditLogStore, type AuditEntry, type AuditEvent, type SecurityEvent } from '../../src/store/audit-log.js';
import { verifyAuditChain } from '../../src/store/audit-verify.js';
import { openDb, type Db } from '../../src/store/db.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { CookieJar, authorizeInBrowser } from '../helpers/browser-flow.js';
import { createTestDatabase, usingPostgres } from '../helpers/database.js';
import { runScript } from '../helpers/run-script.js';
import { REDIRECT, authorize, fhirGet, registerClient, startSmartServer } from '../helpers/smart-server.js';

const LONG = process.env.TEST_LONG === '1';

const access = (i: number, over: Partial<AuditEvent> = {}): AuditEvent => ({
  at: 1_800_000_000_000 + i,
  clientId: `app-${i % 3}`,
  grantId: i % 2 ? `grant-${i % 5}` : null,
  accountId: i % 2 ? 'acct-1' : null,
  patientId: `p${i % 4}`,
  resourceType: 'Observation',
  interaction: i % 7 ? 'read' : 'search',
  resourceId: i % 7 ? `obs-${i}` : null,
  status: i % 11 ? 200 : 403,
  ...over,
});
const security = (i: number): SecurityEvent => ({ at: 1_800_000_000_000 + i, event: 'user.login', outcome: i % 2 ? 'success' : 'failure', actor: `user-${i % 3}`, detail: { via: 'portal', n: i } });

/** Batches of sizes that cross the fixed statement sizes (500, 100, 20, 5, 1), both kinds of row mixed. */
function batches(count: number, seed: number): AuditEntry[][] {
  let x = seed;
  const next = () => (x = (x * 1103515245 + 12345) % 2147483648);
  const out: AuditEntry[][] = [];
  let i = 0;
  for (let b = 0; b < count; b++) {
    const size = [1, 4, 5, 19, 20, 21, 100, 137, 501, 1][next() % 10]!;
    out.push(Array.from({ length: size }, () => (next() % 9 === 0 ? security(i++) : access(i++))));
  }
  return out;
}

const count = async (db: Db) => Number((await db.kysely.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

t.test('the chain stays one line over many batches of both kinds, and the head follows its last row', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const store = new AuditLogStore(database.db);
  const all = batches(LONG ? 400 : 40, 7);
  for (const b of all) await store.record(b);
  const total = all.reduce((n, b) => n + b.length, 0);
  const report = await verifyAuditChain(database.db, { pageSize: 97 });
  t.ok(report.ok, `intact: ${JSON.stringify(report.break ?? {})}`);
  t.equal(report.rows, total, `${total} rows checked, across pages of 97`);
  const head = await database.db.kysely.selectFrom('audit_chain_head').selectAll().executeTakeFirstOrThrow();
  t.equal(Number(head.last_id), report.lastId);
  t.equal(Buffer.from(head.last_hash).toString('hex'), report.lastHash);
  t.equal(Number(head.rows), total);
  // The hash is SHA-256 over the previous hash and the row's columns, from 32 zero bytes: recompute the first two.
  const first = await database.db.kysely.selectFrom('audit_events').select(['id', ...CHAINED_COLUMNS, 'hash']).orderBy('id').limit(2).execute();
  const h1 = linkHash(GENESIS_HASH, chainedValuesOf(first[0]!));
  t.same(Buffer.from(first[0]!.hash!), h1, 'row 1 chains from the genesis hash');
  t.same(Buffer.from(first[1]!.hash!), linkHash(h1, chainedValuesOf(first[1]!)), 'row 2 chains from row 1');
  t.equal(first[0]!.id, 1);
  t.equal(first[1]!.id, 2, 'ids follow without gaps');
  t.ok((await store.listForPatients(['p0', 'p1', 'p2', 'p3'], 10_000)).every((e) => e.resourceType === 'Observation'), "the portal's access history holds FHIR accesses only");
  t.equal((await store.search({ filters: [{ kind: 'kinds', events: ['user.login'], interactions: [] }], limit: 10_000 })).length, all.flat().filter((e) => 'event' in e).length, 'every security event is there');
});

t.test('writers on several connections to one database (instances, workers) append to one chain', async (t) => {
  // A SQLite file, so each connection has its own write-behind thread, as separate processes would.
  const database = await createTestDatabase({ file: true });
  t.teardown(() => database.close());
  const others = [openDb(database.target), openDb(database.target)];
  t.teardown(async () => {
    for (const d of others) await d.close();
  });
  const writers = [database.db, ...others].map((db, w) => ({ store: new AuditLogStore(db), batches: batches(LONG ? 120 : 15, 100 + w) }));
  const started = Date.now();
  await Promise.all(writers.map(async ({ store, batches: bs }) => Promise.all(bs.map((b) => store.record(b)))));
  const elapsed = Date.now() - started;
  const total = writers.reduce((n, w) => n + w.batches.flat().length, 0);
  t.comment(`${total} rows in ${writers.reduce((n, w) => n + w.batches.length, 0)} concurrent batches from 3 connections: ${elapsed} ms (${usingPostgres ? 'PostgreSQL, head row locked' : 'SQLite file, write lock'})`);
  const report = await verifyAuditChain(database.db);
  t.ok(report.ok, `intact: ${JSON.stringify(report.break ?? {})}`);
  t.equal(report.rows, total);
  t.equal(await count(database.db), total, 'no batch lost');
});

t.test('a write that fails beside an append (same commit, retried alone) leaves the chain whole', { skip: usingPostgres && 'the write-behind thread is SQLite only' }, async (t) => {
  const database = await createTestDatabase({ file: true });
  t.teardown(() => database.close());
  const store = new AuditLogStore(database.db);
  await store.record(batches(3, 11).flat());
  // Handed over in one event-loop turn, the writer thread commits these together; the bad one fails that commit and
  // each is run again alone (sqlite-writer.ts).
  const results = await Promise.allSettled([
    store.record(batches(2, 12).flat()),
    database.db.writeBehind!([{ sql: 'insert into no_such_table values (1)', params: [] }]),
    store.record(batches(2, 13).flat()),
  ]);
  t.same(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  const report = await verifyAuditChain(database.db);
  t.ok(report.ok, `intact: ${JSON.stringify(report.break ?? {})}`);
  t.equal(report.rows, await count(database.db));
});

t.test('npm run audit:verify: OK with the count, else the first broken row and why, exit code 1', async (t) => {
  const database = await createTestDatabase({ file: true });
  t.teardown(() => database.close());
  const { db } = database;
  const store = new AuditLogStore(db);
  for (const b of batches(12, 3)) await store.record(b);
  const total = await count(db);
  const verify = (...args: string[]) => runScript('audit-verify', args, { DATABASE_URL: database.url });
  type Row = Record<string, unknown> & { id: number };
  const row = async (id: number) => (await db.kysely.selectFrom('audit_events').selectAll().where('id', '=', id).executeTakeFirstOrThrow()) as unknown as Row;
  const put = async (r: Row) => void (await db.kysely.insertInto('audit_events').values(r as never).execute());
  // The script for the three cases the issue names (and OK); the same verifier in-process for the others.
  const expectBroken = async (kind: string, rowId: number, label: string, viaScript = true) => {
    if (!viaScript) {
      const report = await verifyAuditChain(db);
      t.same([report.ok, report.break?.kind, report.break?.rowId], [false, kind, rowId], `${label}: ${report.break?.message}`);
      return;
    }
    const run = await verify();
    t.equal(run.code, 1, `${label}: exit code 1`);
    t.match(run.stdout, new RegExp(`^BROKEN at row ${rowId} \\(${kind}\\)`), `${label}: ${run.stdout.split('\n')[0]}`);
  };
  const intact = async (label: string) => t.ok((await verifyAuditChain(db)).ok, label);

  const ok = await verify();
  t.equal(ok.code, 0, 'intact: exit code 0');
  t.match(ok.stdout, new RegExp(`^OK: the audit chain is intact: ${total} rows`));
  const head = /head: (\d+:[0-9a-f]{64})/.exec(ok.stdout)![1]!;

  // An edited row: its content no longer matches its hash.
  const seven = await row(7);
  await sql`update audit_events set patient_id = 'someone-else' where id = 7`.execute(db.kysely);
  await expectBroken('edited', 7, 'edited row');
  await sql`update audit_events set patient_id = ${seven.patient_id} where id = 7`.execute(db.kysely);
  await intact('restored: intact again');

  // A deleted row: the next one chains from a hash no row has.
  const twelve = await row(12);
  await sql`delete from audit_events where id = 12`.execute(db.kysely);
  await expectBroken('deleted', 13, 'deleted row');
  await put(twelve);
  await intact('restored: intact again');

  // Two rows swapped (ids kept, contents and hashes exchanged).
  const [a, b] = [await row(20), await row(21)];
  const { id: _a, ...restA } = a;
  const { id: _b, ...restB } = b;
  await db.kysely.updateTable('audit_events').set(restB as never).where('id', '=', 20).execute();
  await db.kysely.updateTable('audit_events').set(restA as never).where('id', '=', 21).execute();
  await expectBroken('reordered', 20, 'swapped rows', false);
  await db.kysely.updateTable('audit_events').set(restA as never).where('id', '=', 20).execute();
  await db.kysely.updateTable('audit_events').set(restB as never).where('id', '=', 21).execute();
  await intact('restored: intact again');

  // A row without a hash: written outside the chain.
  const thirty = await row(30);
  await sql`update audit_events set hash = null where id = 30`.execute(db.kysely);
  await expectBroken('unchained', 30, 'row without a hash', false);
  await db.kysely.updateTable('audit_events').set({ hash: thirty.hash as never }).where('id', '=', 30).execute();
  await intact('restored: intact again');

  // The tail cut off: the chain head still names the last row appended.
  const tail = await Promise.all([total - 2, total - 1, total].map(row));
  await sql`delete from audit_events where id > ${total - 3}`.execute(db.kysely);
  await expectBroken('truncated', total - 3, 'truncated tail');
  for (const r of tail) await put(r);
  await intact('restored: intact again');

  // A rewrite with every later hash recomputed (and the head moved) passes the chain itself; an anchor kept outside
  // the database (the head a former run printed) catches it.
  const rows = (await db.kysely.selectFrom('audit_events').selectAll().where('id', '>=', 5).orderBy('id').execute()) as unknown as Row[];
  let prev: Buffer = Buffer.from((await row(4)).hash as Uint8Array);
  for (const r of rows) {
    const values = chainedValuesOf((r.id === 5 ? { ...r, patient_id: 'rewritten' } : r) as never);
    prev = linkHash(prev, values);
    await db.kysely.updateTable('audit_events').set({ ...(r.id === 5 ? { patient_id: 'rewritten' } : {}), hash: prev as never }).where('id', '=', r.id).execute();
  }
  await db.kysely.updateTable('audit_chain_head').set({ last_hash: prev as never }).where('id', '=', 1).execute();
  await intact('a full rewrite is consistent with itself');
  const anchored = await verify('--anchor', head);
  t.equal(anchored.code, 1, 'with the anchor: exit code 1');
  t.match(anchored.stdout, /\(anchor-mismatch\)/);
  t.equal((await verify('--anchor', 'nonsense')).code, 2, 'a malformed anchor is a usage error');
});

t.test('migration 0013 chains the rows an earlier version wrote, oldest first, from the genesis hash', async (t) => {
  const database = await createTestDatabase({ file: true });
  t.teardown(() => database.close());
  // A second database on the same server, as an earlier version left it: migrated up to 0010, rows in the old table.
  const old = usingPostgres ? database.db : openDb({ kind: 'sqlite', filename: database.target.kind === 'sqlite' ? database.target.filename.replace(/test\.db$/, 'old.db') : '' });
  if (usingPostgres) {
    // PostgreSQL: take the chain back out of this database, as if 0013 had not run.
    await sql`drop table audit_chain_head`.execute(old.kysely);
    await sql`drop index audit_events_security`.execute(old.kysely);
    await sql`alter table audit_events drop column event, drop column actor, drop column outcome, drop column detail, drop column hash`.execute(old.kysely);
    await sql`delete from kysely_migration where name = '2026-12-08T0013-audit-chain'`.execute(old.kysely);
  } else {
    await migrateToLatest(old, '2026-12-07T0010-bulk-export');
  }
  const ids = [3, 4, 9, 10, 11];
  for (const id of ids) {
    const e = access(id);
    await sql`insert into audit_events (id, at, client_id, grant_id, account_id, patient_id, resource_type, interaction, resource_id, status)
      values (${id}, ${e.at}, ${e.clientId}, ${e.grantId}, ${e.accountId}, ${e.patientId}, ${e.resourceType}, ${e.interaction}, ${e.resourceId}, ${e.status})`.execute(old.kysely);
  }
  const ran = await migrateToLatest(old);
  t.ok(ran.includes('2026-12-08T0013-audit-chain'), 'the chain migration ran');
  const report = await verifyAuditChain(old);
  t.ok(report.ok, `the old rows verify: ${JSON.stringify(report.break ?? {})}`);
  t.equal(report.rows, ids.length);
  t.equal(report.lastId, 11, 'their ids kept (gaps of an earlier version included)');
  // New rows continue the same chain.
  await new AuditLogStore(old).record([access(100), security(101)]);
  const after = await verifyAuditChain(old);
  t.ok(after.ok);
  t.equal(after.lastId, 13, 'appended after the last old row');
  if (!usingPostgres) await old.close();
});

t.test('every sensitive event is recorded by the flow that causes it, and no row holds a secret', async (t) => {
  const database = await createTestDatabase({ file: true });
  t.teardown(() => database.close());
  let now = Date.now();
  const server = await startSmartServer(t, { database, clock: () => now });
  const secrets = new Set<string>(['smart-demo', 'demo-backend-secret-change-me']);
  const keep = <T extends string | undefined>(s: T): T => {
    if (s) secrets.add(s);
    return s;
  };
  const form = async (jar: CookieJar, pagePath: string, postPath: string, fields: Record<string, string | string[]>) => {
    const page = await fetch(`${server.base}${pagePath}`, { headers: { cookie: jar.header() } });
    jar.store(page);
    const body = new URLSearchParams({ _csrf: /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]! });
    for (const [k, v] of Object.entries(fields)) for (const x of [v].flat()) body.append(k, x);
    const res = await fetch(`${server.base}${postPath}`, { method: 'POST', redirect: 'manual', headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' }, body });
    jar.store(res);
    return res;
  };

  // Portal: a wrong password, an unknown user (who typed a password as the name), a sign-in, a sign-out.
  const browser = new CookieJar();
  t.equal((await form(browser, '/portal/login', '/portal/login', { username: 'maria', password: 'not-her-password' })).status, 401);
  keep('not-her-password');
  t.equal((await form(browser, '/portal/login', '/portal/login', { username: 'Tr0ub4dor&3-typed-as-name', password: 'x' })).status, 401);
  keep('Tr0ub4dor&3-typed-as-name');
  t.equal((await form(browser, '/portal/login', '/portal/login?next=/portal/apps', { username: 'maria', password: 'smart-demo' })).status, 303);
  t.equal((await form(browser, '/portal/apps', '/portal/logout', {})).status, 303);

  // Sign-up with an activation code, and a refused one; a password reset asked for, a wrong code, the right one.
  await server.fhir.update('Patient', 'audit-adult', { resourceType: 'Patient', id: 'audit-adult', name: [{ family: 'Audit', given: ['Ada'] }], birthDate: '1990-02-03' });
  const { code } = await server.portal!.activation.issueActivationCode('audit-adult');
  keep(code);
  const newPassword = keep('Quartz-lantern-92');
  const signUp = { activationCode: code, birthDate: '1990-02-03', username: 'ada', newPassword, confirmPassword: newPassword, email: 'ada@example.org' };
  t.equal((await form(new CookieJar(), '/portal/signup', '/portal/signup', { ...signUp, activationCode: 'WRONG-CODE' })).status, 400);
  t.equal((await form(new CookieJar(), '/portal/signup', '/portal/signup', signUp)).status, 303);
  t.equal((await form(new CookieJar(), '/portal/forgot', '/portal/forgot', { login: 'ada' })).status, 200);
  const mailbox = await (await fetch(`${server.base}/dev/mailbox`)).text();
  const resetCode = keep(/\b(\d{8})\b/.exec(mailbox)?.[1]);
  t.ok(resetCode, 'the reset code was mailed');
  const resetPassword = keep('Velvet-harbor-77');
  t.equal((await form(new CookieJar(), '/portal/reset', '/portal/reset', { username: 'ada', code: '00000000', newPassword: resetPassword })).status, 400);
  t.equal((await form(new CookieJar(), '/portal/reset', '/portal/reset', { username: 'ada', code: resetCode!, newPassword: resetPassword })).status, 303);

  // An app: registered, updated; consent denied, then given (for Sofia, through Maria's proxy); refreshed; narrowed
  // and removed on the connected-apps page; a second grant's refresh token revoked at the revocation endpoint.
  const client = await registerClient(server, { client_name: 'Audit App', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', scope: 'openid fhirUser launch/patient offline_access patient/*.rs' });
  keep(client.registration_access_token as string);
  const update = await fetch(`${server.issuer}/reg/${client.client_id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${String(client.registration_access_token)}` },
    body: JSON.stringify({ client_id: client.client_id, client_name: 'Audit App 2', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', scope: 'openid fhirUser launch/patient offline_access patient/*.rs' }),
  });
  t.equal(update.status, 200, 'client updated');
  const config = await oidc.discovery(new URL(server.issuer), client.client_id, {}, oidc.None(), { execute: [oidc.allowInsecureRequests] });
  const scope = 'openid fhirUser launch/patient offline_access patient/*.rs';
  const denied = await authorizeInBrowser(
    oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, aud: server.fhirBase, code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256', scope }).toString(),
    REDIRECT,
    { username: 'daniel', password: 'smart-demo', decision: 'deny' },
  );
  t.equal(denied.callback.searchParams.get('error'), 'access_denied');
  const sofia = await authorize(server, config, { scope }, { username: 'maria', password: 'smart-demo', patient: 'sofia-garcia' });
  keep(sofia.tokens.access_token);
  keep(sofia.tokens.refresh_token);
  const refreshed = await oidc.refreshTokenGrant(config, sofia.tokens.refresh_token!);
  keep(refreshed.access_token);
  keep(refreshed.refresh_token);
  const daniel = await authorize(server, config, { scope }, { username: 'daniel', password: 'smart-demo' });
  keep(daniel.tokens.access_token);
  keep(daniel.tokens.refresh_token);
  t.equal((await fhirGet(server, '/Patient/daniel-kim', daniel.tokens.access_token)).status, 200);
  const revoked = await fetch(`${server.issuer}/token/revocation`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: daniel.tokens.refresh_token!, token_type_hint: 'refresh_token', client_id: client.client_id }),
  });
  t.equal(revoked.status, 200, 'refresh token revoked');
  const wrongSecret = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('demo-backend:guessed-secret').toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'system/*.rs' }),
  });
  t.equal(wrongSecret.status, 401);
  keep('guessed-secret');
  // The answer left only once its event was written (as a FHIR response waits for its access event).
  const refusedNow = await database.db.kysely.selectFrom('audit_events').select(['client_id', 'detail']).where('event', '=', 'token.refused').execute();
  t.ok(refusedNow.some((r) => r.client_id === 'demo-backend' && /invalid_client/.test(r.detail ?? '')), 'the refused token request is in the trail when its answer arrives');

  const portal = new CookieJar();
  t.equal((await form(portal, '/portal/login', '/portal/login?next=/portal/apps', { username: 'maria', password: 'smart-demo' })).status, 303);
  const apps = await (await fetch(`${server.base}/portal/apps`, { headers: { cookie: portal.header() } })).text();
  const grantId = decodeURIComponent(/action="\/portal\/apps\/([^/"]+)\/remove"/.exec(apps)![1]!);
  t.equal((await form(portal, '/portal/apps', `/portal/apps/${encodeURIComponent(grantId)}/change`, { group: ['labs', 'basic', 'offline'] })).status, 303);

  // Proxy access: granted and revoked by an operator (the command line), and ended by time with an app linked through it.
  const cli = { DATABASE_URL: database.url };
  const granted = await runScript('proxy', ['grant', '--holder', 'daniel', '--patient', 'sofia-garcia', '--relationship', 'guardian', '--from', '2020-01-01'], cli);
  t.equal(granted.code, 0, granted.stderr);
  const relationId = /([0-9a-f-]{36})/.exec(granted.stdout)![1]!;
  t.equal((await runScript('proxy', ['revoke', relationId], cli)).code, 0);
  const rotated = await runScript('keys-rotate', [], cli);
  t.equal(rotated.code, 0, rotated.stderr);
  // Sofia turns 18: Maria's access through her proxy ends, and the next sweep revokes the app's grant.
  now = Date.parse('2036-07-01T00:00:00Z');
  const swept = await server.portal!.sweep();
  t.ok(swept.proxyGrants >= 1, 'the grant through the ended proxy was revoked');
  now = Date.now();
  // Removing an app: a new link for Maria's own record, removed on the page (signed in again: the sweep at the
  // later time ended every idle session).
  await authorize(server, config, { scope }, { username: 'maria', password: 'smart-demo', patient: 'maria-garcia' });
  t.equal((await form(portal, '/portal/login', '/portal/login?next=/portal/apps', { username: 'maria', password: 'smart-demo' })).status, 303);
  const apps2 = await (await fetch(`${server.base}/portal/apps`, { headers: { cookie: portal.header() } })).text();
  const ownGrant = decodeURIComponent(/action="\/portal\/apps\/([^/"]+)\/remove"/.exec(apps2)![1]!);
  t.equal((await form(portal, '/portal/apps', `/portal/apps/${encodeURIComponent(ownGrant)}/remove`, {})).status, 303);
  const deleted = await fetch(`${server.issuer}/reg/${client.client_id}`, { method: 'DELETE', headers: { authorization: `Bearer ${String(client.registration_access_token)}` } });
  t.equal(deleted.status, 204, 'client deleted');

  // Every kind, and each sign-in outcome.
  type Row = { event: string | null; outcome: string | null; actor: string | null; detail: string | null; account_id: string | null };
  let rows: Row[] = [];
  for (let i = 0; i < 50; i++) {
    rows = (await database.db.kysely.selectFrom('audit_events').selectAll().orderBy('id').execute()) as unknown as Row[];
    if (SECURITY_EVENT_CODES.every((c) => rows.some((r) => r.event === c))) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const c of SECURITY_EVENT_CODES) t.ok(rows.some((r) => r.event === c), `${c} recorded`);
  const logins = rows.filter((r) => r.event === 'user.login');
  t.ok(logins.some((r) => r.outcome === 'failure' && r.actor === 'maria' && /wrong-password/.test(r.detail ?? '')), 'a wrong password for maria, with her username');
  t.ok(logins.some((r) => r.outcome === 'failure' && r.actor === null && /unknown-user/.test(r.detail ?? '')), 'an unknown user, without what was typed');
  t.ok(logins.some((r) => r.outcome === 'success' && /"via":"authorization"/.test(r.detail ?? '')), 'a sign-in in an authorization');
  t.ok(logins.some((r) => /"network":"127\.0\.0\.0\/24"/.test(r.detail ?? '')), 'the network, as a /24');
  t.ok(rows.some((r) => r.event === 'grant.revoked' && /removed-in-portal/.test(r.detail ?? '') && r.actor === 'maria'), 'a removal by Maria, with the cause');
  t.ok(rows.some((r) => r.event === 'proxy.created' && /^cli:/.test(r.actor ?? '')), 'an operator granted the proxy (cli:<user>)');
  t.ok(rows.some((r) => r.event === 'account.password-reset' && r.outcome === 'failure'), 'the wrong reset code');
  t.ok(rows.some((r) => r.event === 'account.signup' && r.outcome === 'failure'), 'the refused sign-up');

  // No secret anywhere in the trail: passwords, client secrets, tokens, codes, registration access tokens.
  const text = JSON.stringify(await database.db.kysely.selectFrom('audit_events').select([...CHAINED_COLUMNS]).execute());
  let n = 0;
  for (const s of secrets) t.notOk(text.includes(s), `the trail does not contain secret ${++n} of ${secrets.size}`);
  t.notMatch(text, /password"|secret"|token"\s*:|"code"/i, 'no field named like a credential');

  const report = await verifyAuditChain(database.db);
  t.ok(report.ok, `and the chain is intact: ${JSON.stringify(report.break ?? {})}`);
});
