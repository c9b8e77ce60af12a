// SQLite keeps the audit trail in a file of its own beside the main database: audit batches then never make the
// main connection drop its page cache. Upgrades move old rows over; a missing audit file is created anew.
import { existsSync, rmSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import t from 'tap';
import { auditDatabaseFile } from '../../src/store/audit-database.js';
import { AuditLogStore, type AuditEvent } from '../../src/store/audit-log.js';
import { openDb } from '../../src/store/db.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { createTestDatabase, usingPostgres } from '../helpers/database.js';

const sqliteOnly = { skip: usingPostgres && 'the audit file is SQLite only; PostgreSQL keeps one database' };

const event = (i: number, patientId = 'p1'): AuditEvent => ({
  at: 1_800_000_000_000 + i,
  clientId: 'app-1',
  grantId: 'grant-1',
  accountId: 'acct-1',
  patientId,
  resourceType: 'Observation',
  interaction: 'read',
  resourceId: `obs-${i}`,
  status: 200,
});

t.test('audit rows go to a file of their own beside the database, and writing them leaves the main database as it was', sqliteOnly, async (t) => {
  const database = await createTestDatabase({ file: true });
  t.teardown(() => database.close());
  if (database.target.kind !== 'sqlite') return;
  const main = database.target.filename;
  const auditFile = auditDatabaseFile(main);
  t.match(auditFile, /test-audit\.db$/);
  t.ok(existsSync(auditFile), 'created when the database was opened');

  const audit = new AuditLogStore(database.db);
  const before = database.db.dataVersion!();
  await audit.record(Array.from({ length: 30 }, (_, i) => event(i)));
  t.equal(database.db.dataVersion!(), before, 'no commit reached the main database (its readers keep their page cache)');
  // The control: the same writer thread writing a table of the main file does move it.
  await database.db.writeBehind!([{ sql: 'insert into portal_sessions (id_hash, account_id, created_at, last_seen_at) values (?, ?, ?, ?)', params: ['h', 'acct-1', 1, 1] }]);
  t.not(database.db.dataVersion!(), before, 'a commit to the main file through the writer thread changes it');

  const listed = await audit.listForPatients(['p1'], 100);
  t.equal(listed.length, 30, 'the main connection reads them through the attached file');
  t.equal(listed[0]!.resourceId, 'obs-29', 'newest first');

  const rawMain = new BetterSqlite3(main, { readonly: true });
  const rawAudit = new BetterSqlite3(auditFile, { readonly: true });
  t.teardown(() => {
    rawMain.close();
    rawAudit.close();
  });
  t.equal(rawMain.prepare("select count(*) from sqlite_master where name = 'audit_events'").pluck().get(), 0, 'the main file has no audit table');
  t.equal(rawAudit.prepare('select count(*) from audit_events').pluck().get(), 30, 'the audit file has the rows');
});

t.test('upgrading moves the audit rows an earlier version kept in the main database into the audit file, ids and all', sqliteOnly, async (t) => {
  const database = await createTestDatabase({ file: true });
  t.teardown(() => database.close());
  if (database.target.kind !== 'sqlite') return;
  // The same file as an earlier version left it: migrations up to the one before the move, rows in main.audit_events.
  const dir = database.target.filename.replace(/test\.db$/, '');
  const old = openDb({ kind: 'sqlite', filename: `${dir}old.db` });
  await migrateToLatest(old, '2026-11-25T0006-portal-sessions');
  for (let i = 1; i <= 3; i++) {
    const e = event(i, 'p-old');
    await sql`insert into main.audit_events (id, at, client_id, grant_id, account_id, patient_id, resource_type, interaction, resource_id, status)
      values (${i * 10}, ${e.at}, ${e.clientId}, ${e.grantId}, ${e.accountId}, ${e.patientId}, ${e.resourceType}, ${e.interaction}, ${e.resourceId}, ${e.status})`.execute(old.kysely);
  }
  await old.close();

  const upgraded = openDb({ kind: 'sqlite', filename: `${dir}old.db` });
  t.teardown(() => upgraded.close());
  // Later migrations run after it too; what matters here is that the audit move runs, first.
  t.same((await migrateToLatest(upgraded))[0], '2026-12-06T0007-audit-file');
  const moved = await new AuditLogStore(upgraded).listForPatients(['p-old'], 10);
  t.same(
    moved.map((e) => [e.id, e.resourceId]),
    [
      [30, 'obs-3'],
      [20, 'obs-2'],
      [10, 'obs-1'],
    ],
  );
  const inMain = await sql<{ n: number }>`select count(*) as n from main.sqlite_master where name = 'audit_events'`.execute(upgraded.kysely);
  t.equal(Number(inMain.rows[0]!.n), 0, 'the old table is gone from the main file');
  await new AuditLogStore(upgraded).record([event(4, 'p-old')]);
  t.equal((await new AuditLogStore(upgraded).listForPatients(['p-old'], 10))[0]!.id, 31, 'new rows continue after the moved ones');
});

t.test('a missing audit file is created anew when the database is opened; the main data is untouched', sqliteOnly, async (t) => {
  const database = await createTestDatabase({ file: true });
  t.teardown(() => database.close());
  if (database.target.kind !== 'sqlite') return;
  const filename = database.target.filename.replace(/test\.db$/, 'again.db');
  const first = openDb({ kind: 'sqlite', filename });
  await migrateToLatest(first);
  await new AuditLogStore(first).record([event(1)]);
  await first.close();
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${auditDatabaseFile(filename)}${suffix}`, { force: true });

  const reopened = openDb({ kind: 'sqlite', filename });
  t.teardown(() => reopened.close());
  t.same(await migrateToLatest(reopened), [], 'nothing to migrate');
  const audit = new AuditLogStore(reopened);
  t.same(await audit.listForPatients(['p1'], 10), [], 'the trail starts anew');
  await audit.record([event(2)]);
  t.equal((await audit.listForPatients(['p1'], 10)).length, 1);
});
