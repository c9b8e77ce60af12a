// Health endpoints: /health/live answers without the database; /health/ready (and its alias /healthz) answers 200
// only while the database answers, every migration is applied and the signing keys are loaded, and 503 naming the
// failing check otherwise, turning back to 200 once it passes again. Probes leave no request lines in the log, even
// at debug. On PostgreSQL the database is a private cluster that the test stops and starts under the server.
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { replaceSigningKeys } from '../../src/auth/provider-keys.js';
import { loadConfig } from '../../src/config.js';
import { openDb } from '../../src/store/db.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { createTestDatabase, exportDir, usingPostgres, type TestDatabase } from '../helpers/database.js';
import { freePort, startSmartServer } from '../helpers/smart-server.js';
import { until } from '../helpers/server-process.js';
import { TEST_SERVER_ENV } from '../helpers/test-env.js';
import { createPgCluster, findPostgresBin } from '../security/pg-cluster.js';

interface Readiness {
  status: string;
  checks: { database: string; migrations: string; keys: string };
}

async function probe(base: string, path: string): Promise<{ status: number; body: Readiness; cache: string | null }> {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, body: (await res.json()) as Readiness, cache: res.headers.get('cache-control') };
}

t.test('a healthy server is live and ready, and /healthz says the same as /health/ready', async (t) => {
  const server = await startSmartServer(t, { seed: false });
  const live = await probe(server.base, '/health/live');
  t.equal(live.status, 200);
  t.same(live.body, { status: 'ok' });
  for (const path of ['/health/ready', '/healthz']) {
    const ready = await probe(server.base, path);
    t.equal(ready.status, 200, path);
    t.same(ready.body, { status: 'ok', checks: { database: 'ok', migrations: 'ok', keys: 'ok' } }, `${path}: every check named`);
    t.equal(ready.cache, 'no-store', `${path}: never cached by a proxy`);
  }
});

t.test('a migration the database lacks makes the server not ready until it is applied', async (t) => {
  const server = await startSmartServer(t, { seed: false });
  const db = server.database.db;
  // Kysely's own bookkeeping table, outside the app's schema types.
  const { rows } = await sql<{ name: string; timestamp: string }>`select name, timestamp from kysely_migration order by name desc limit 1`.execute(db.kysely);
  const last = rows[0]!;
  await sql`delete from kysely_migration where name = ${last.name}`.execute(db.kysely);
  const pending = await probe(server.base, '/health/ready');
  t.equal(pending.status, 503, 'not ready');
  t.equal(pending.body.checks.migrations, `pending: ${last.name}`, 'the pending migration is named');
  t.equal(pending.body.checks.database, 'ok', 'the database itself answers');
  t.equal((await probe(server.base, '/health/live')).status, 200, 'still live: no reason to restart it');
  await sql`insert into kysely_migration (name, timestamp) values (${last.name}, ${last.timestamp})`.execute(db.kysely);
  t.equal((await probe(server.base, '/health/ready')).status, 200, 'ready again once the migration is recorded');
});

t.test('a provider without signing keys is not ready', async (t) => {
  const server = await startSmartServer(t, { seed: false });
  const provider = server.auth!.provider;
  const jwks = (await (await fetch(`${server.issuer}/jwks`)).json()) as { keys: unknown[] };
  t.ok(jwks.keys.length > 0, 'keys are published');
  replaceSigningKeys(provider, []);
  const r = await probe(server.base, '/health/ready');
  t.equal(r.status, 503);
  t.equal(r.body.checks.keys, 'no signing keys loaded');
  // Back: the keys as the key store holds them (the private halves are only in the database).
  const { KeyStore } = await import('../../src/store/keys.js');
  const { secretBoxFor } = await import('../../src/auth/secrets-at-rest.js');
  const { orderKeys } = await import('../../src/auth/keys.js');
  const rows = await new KeyStore(server.database.db, secretBoxFor(server.config)).all();
  replaceSigningKeys(provider, orderKeys(rows, 0).signingKeys);
  t.equal((await probe(server.base, '/health/ready')).status, 200, 'ready again with its keys');
});

t.test('probes write no request lines, even at debug', async (t) => {
  const lines: { msg?: string; req?: { url?: string }; url?: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as (typeof lines)[number]);
      done();
    },
  });
  const database = await createTestDatabase();
  const exports = exportDir();
  t.teardown(() => exports.remove());
  const config = { ...loadConfig({ ...TEST_SERVER_ENV, SEED_DIR: '', EXPORT_DIR: exports.path, LOG_LEVEL: 'debug' }), database: database.target };
  const app = await buildApp({ config, db: database.db, logger: { level: 'debug', stream: sink } });
  t.teardown(async () => {
    await app.server.close();
    await database.close();
  });
  const before = lines.length;
  for (const url of ['/health/live', '/health/ready', '/healthz']) t.equal((await app.server.inject({ url })).statusCode, 200, url);
  const during = lines.slice(before);
  t.same(during.filter((l) => JSON.stringify(l).includes('/health')), [], 'no line about a probe');
  await app.server.inject({ url: '/fhir/metadata' });
  t.ok(lines.slice(before).some((l) => JSON.stringify(l).includes('/fhir/metadata')), 'while another request at debug is logged (the check can fail)');
});

const found = findPostgresBin();
t.test('ready turns 503 while the database is gone, and back to 200 when it returns', async (t) => {
  if (!usingPostgres) {
    // SQLite cannot go away and come back under a running process; a closed database shows the same check failing.
    const server = await startSmartServer(t, { seed: false });
    await server.database.db.close();
    const r = await probe(server.base, '/health/ready');
    t.equal(r.status, 503, 'not ready once the database is closed');
    t.equal(r.body.checks.database, 'unreachable');
    t.equal((await probe(server.base, '/health/live')).status, 200, 'live: the process still answers');
    return;
  }
  if ('missing' in found) {
    t.comment(`cannot start a private PostgreSQL cluster: ${found.missing}`);
    return;
  }
  t.setTimeout(180_000);
  const cluster = createPgCluster(found.bin, await freePort());
  t.teardown(() => cluster.destroy());
  await cluster.start();
  const name = `health_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: cluster.url('postgres') });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const target = { kind: 'postgres' as const, connectionString: cluster.url(name) };
  const migrator = openDb(target);
  await migrateToLatest(migrator);
  await migrator.close();
  const database: TestDatabase = { db: openDb(target), target, url: target.connectionString, close: async () => undefined };
  t.teardown(() => database.db.close());
  const server = await startSmartServer(t, { seed: false, database });
  t.equal((await probe(server.base, '/health/ready')).status, 200, 'ready with PostgreSQL up');

  await cluster.stop('fast');
  const started = Date.now();
  const down = await probe(server.base, '/health/ready');
  t.equal(down.status, 503, `not ready while PostgreSQL is down (answered in ${Date.now() - started} ms)`);
  t.equal(down.body.checks.database, 'unreachable', 'the database check names the cause');
  t.ok(Date.now() - started < 5_000, 'and the probe answers quickly');
  t.equal((await probe(server.base, '/health/live')).status, 200, 'live all along');

  await cluster.start();
  await until('readiness to return', async () => (await probe(server.base, '/health/ready')).status === 200, 30_000, 200);
  t.pass('ready again after PostgreSQL restarted, without restarting the server');
});
