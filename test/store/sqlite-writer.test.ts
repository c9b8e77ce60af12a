// The write-behind thread for append-only SQLite writes: one transaction per batch, errors come back, close waits.
import { mkdtempSync, rmSync } from 'node:fs';
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
