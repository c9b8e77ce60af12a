// The write-behind thread for append-only SQLite writes: one transaction per batch, errors come back, close waits.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import t, { type Test } from 'tap';
import { startSqliteWriter } from '../../src/store/sqlite-writer.js';

function tempDb(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'writer-'));
  const file = join(dir, 'w.db');
  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = WAL');
  db.exec('create table ev (id integer primary key, v text not null unique)');
  t.teardown(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { file, db };
}

t.test('a batch is written in one transaction and is visible to another connection once the promise resolves', async (t) => {
  const { file, db } = tempDb(t);
  const writer = startSqliteWriter(file);
  t.teardown(() => writer.close());
  await writer.write([
    { sql: 'insert into ev (v) values (?), (?)', params: ['a', 'b'] },
    { sql: 'insert into ev (v) values (?)', params: ['c'] },
  ]);
  t.same(db.prepare('select v from ev order by id').pluck().all(), ['a', 'b', 'c']);
});

t.test('a failing statement rejects with SQLite error code and leaves nothing of its batch behind', async (t) => {
  const { file, db } = tempDb(t);
  const writer = startSqliteWriter(file);
  t.teardown(() => writer.close());
  await writer.write([{ sql: 'insert into ev (v) values (?)', params: ['x'] }]);
  await t.rejects(
    writer.write([
      { sql: 'insert into ev (v) values (?)', params: ['y'] },
      { sql: 'insert into ev (v) values (?)', params: ['x'] },
    ]),
    { code: 'SQLITE_CONSTRAINT_UNIQUE' },
  );
  t.same(db.prepare('select v from ev').pluck().all(), ['x'], 'y was rolled back with its batch');
  await writer.write([{ sql: 'insert into ev (v) values (?)', params: ['z'] }]);
  t.same(db.prepare('select v from ev order by id').pluck().all(), ['x', 'z'], 'the writer goes on after a failed batch');
});

t.test('close waits for the batches already handed over; later writes are refused', async (t) => {
  const { file, db } = tempDb(t);
  const writer = startSqliteWriter(file);
  const writes = Array.from({ length: 20 }, (_, i) => writer.write([{ sql: 'insert into ev (v) values (?)', params: [`v${i}`] }]));
  await writer.close();
  await Promise.all(writes);
  t.equal(db.prepare('select count(*) from ev').pluck().get(), 20);
  await t.rejects(writer.write([{ sql: 'insert into ev (v) values (?)', params: ['late'] }]), /closed/);
});

t.test('writes handed over in the same turn commit together, and one failing write does not fail the others', async (t) => {
  const { file, db } = tempDb(t);
  const writer = startSqliteWriter(file);
  t.teardown(() => writer.close());
  await writer.write([{ sql: 'insert into ev (v) values (?)', params: ['taken'] }]);
  const results = await Promise.allSettled([
    writer.write([{ sql: 'insert into ev (v) values (?)', params: ['p'] }]),
    writer.write([
      { sql: 'insert into ev (v) values (?)', params: ['q'] },
      { sql: 'insert into ev (v) values (?)', params: ['taken'] },
    ]),
    writer.write([{ sql: 'insert into ev (v) values (?)', params: ['r'] }]),
  ]);
  t.same(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  t.match((results[1] as PromiseRejectedResult).reason, { code: 'SQLITE_CONSTRAINT_UNIQUE' });
  t.same(db.prepare('select v from ev order by id').pluck().all(), ['taken', 'p', 'r'], 'q went back with its own write only');
});

/** Commits in a WAL file: frames whose header carries the database size (0 on the other frames of a transaction). */
function walCommits(walFile: string): number {
  const wal = readFileSync(walFile);
  if (wal.length < 32) return 0;
  const pageSize = wal.readUInt32BE(8);
  let commits = 0;
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) if (wal.readUInt32BE(at + 4) !== 0) commits++;
  return commits;
}

t.test('writes of one turn share a single transaction: one commit in the WAL', async (t) => {
  const { file, db } = tempDb(t);
  const writer = startSqliteWriter(file);
  t.teardown(() => writer.close());
  db.pragma('wal_checkpoint(TRUNCATE)');
  t.equal(walCommits(`${file}-wal`), 0);
  await Promise.all(Array.from({ length: 10 }, (_, i) => writer.write([{ sql: 'insert into ev (v) values (?)', params: [`g${i}`] }])));
  t.equal(walCommits(`${file}-wal`), 1, 'ten writes, one commit');
  await writer.write([{ sql: 'insert into ev (v) values (?)', params: ['later'] }]);
  t.equal(walCommits(`${file}-wal`), 2, 'a write of a later turn commits on its own');
  t.equal(db.prepare('select count(*) from ev').pluck().get(), 11);
});
