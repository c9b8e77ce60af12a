import BetterSqlite3 from 'better-sqlite3';
import { Kysely, sql, type DatabaseConnection, type Driver } from 'kysely';
import t, { type Test } from 'tap';
import { FairSqliteDialect, FifoLock } from '../../src/store/sqlite-dialect.js';

const driverOn = async (t: Test): Promise<{ driver: Driver; connection: DatabaseConnection }> => {
  const raw = new BetterSqlite3(':memory:');
  const driver = new FairSqliteDialect({ database: raw }).createDriver();
  await driver.init();
  t.teardown(() => driver.destroy());
  const connection = await driver.acquireConnection();
  await driver.releaseConnection(connection);
  return { driver, connection };
};

t.test('the connection goes to the query that waited longest, not to one that asked while it was being released', async (t) => {
  const { driver, connection } = await driverOn(t);
  await driver.acquireConnection();
  const served: string[] = [];
  const waiter = driver.acquireConnection().then(async () => {
    served.push('waited');
    await driver.releaseConnection(connection);
  });
  // Asks in a microtask queued before the release wakes the waiter: the moment Kysely's own lock let it jump ahead.
  let latecomer: Promise<void> | undefined;
  queueMicrotask(() => {
    latecomer = driver.acquireConnection().then(async () => {
      served.push('latecomer');
      await driver.releaseConnection(connection);
    });
  });
  await driver.releaseConnection(connection);
  await waiter;
  await latecomer;
  t.same(served, ['waited', 'latecomer']);
});

t.test('queries queued behind an open transaction run in the order they were made, after it commits', async (t) => {
  const db = new Kysely<{ n: { v: number } }>({ dialect: new FairSqliteDialect({ database: new BetterSqlite3(':memory:') }) });
  t.teardown(() => db.destroy());
  await sql`create table n (v integer)`.execute(db);
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const trx = db.transaction().execute(async (trx) => {
    await trx.insertInto('n').values({ v: 0 }).execute();
    await held;
  });
  await new Promise((r) => setTimeout(r, 10));
  const order: number[] = [];
  const queries = Array.from({ length: 50 }, (_, i) =>
    db
      .insertInto('n')
      .values({ v: i + 1 })
      .execute()
      .then(() => order.push(i + 1)),
  );
  release();
  await trx;
  await Promise.all(queries);
  t.same(order, Array.from({ length: 50 }, (_, i) => i + 1));
  const rows = await db.selectFrom('n').select('v').orderBy('v').execute();
  t.equal(rows.length, 51, 'the transaction and every query wrote their row');
});

t.test('the lock is free again once the last holder releases it', async (t) => {
  const lock = new FifoLock();
  await lock.acquire();
  const second = lock.acquire();
  t.equal(lock.waiting, 1);
  lock.release();
  await second;
  t.equal(lock.waiting, 0);
  lock.release();
  let got = false;
  await lock.acquire().then(() => (got = true));
  t.ok(got, 'acquired at once');
});
