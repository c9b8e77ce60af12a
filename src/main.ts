// Process entry: configuration, database and migrations, first-start seeding, then listen; on SIGTERM/SIGINT it stops
// within SHUTDOWN_TIMEOUT_SECONDS, finishing the requests under way (shutdown.ts).
// With WORKERS above 1 this process does the first-start work alone (so workers never race to migrate, seed or
// generate keys), then supervises that many workers sharing the port; each worker runs the same start-up, which
// finds the work done.
import cluster from 'node:cluster';
import { buildApp, type App } from './app.js';
import { superviseWorkers } from './cluster.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { seedIfEmpty } from './fhir/seed.js';
import { openDb, type Db } from './store/db.js';
import { migrateToLatest } from './store/migrate.js';
import { gracefulShutdown, trackRequests } from './shutdown.js';
import { withStartupLock } from './store/startup-lock.js';

/** Everything up to listening: migrations, the app, first-start seed data and the sandbox demo accounts. */
async function prepare(config: Config): Promise<{ app: App; db: Db }> {
  const db = openDb(config.database);
  // Instances starting at the same moment (PostgreSQL) take turns: one migrates, creates the keys and seeds; the
  // others then find the work done. A worker starts after its primary did that work, so workers need not queue.
  const app = cluster.isWorker ? await firstStart(config, db) : await withStartupLock(config.database, () => firstStart(config, db));
  return { app, db };
}

async function firstStart(config: Config, db: Db): Promise<App> {
  const applied = await migrateToLatest(db);
  const app = await buildApp({ config, db });
  const { server, fhir, portal } = app;
  if (applied.length) server.log.info({ migrations: applied }, 'database migrated');
  if (config.seedDir) {
    const seeded = await seedIfEmpty(fhir, config.seedDir, (msg: string) => server.log.info(msg));
    if (seeded) server.log.info({ resources: seeded }, 'seeded an empty database');
  }
  if (config.sandbox && portal) {
    const report = await portal.seedDemo();
    if (report.accountsCreated.length) server.log.info({ accounts: report.accountsCreated }, 'created the sandbox demo accounts');
    if (report.skipped.length && cluster.isPrimary) server.log.warn({ skipped: report.skipped }, 'demo accounts or relations skipped: their patients are not in the store');
  }
  return app;
}

async function serve(config: Config): Promise<void> {
  const { app, db } = await prepare(config);
  const { server } = app;
  const requests = trackRequests(server.server);
  await server.listen({ port: config.port, host: config.host });
  if (cluster.isPrimary) server.log.info(`FHIR base ${config.fhirBaseUrl} (database: ${config.database.kind})`);

  const stop = gracefulShutdown({ server, requests, close: () => db.close(), timeoutMs: config.shutdownTimeoutSeconds * 1000, log: server.log });
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

async function main(): Promise<void> {
  const config = loadConfig();
  if (config.workers === 1 || cluster.isWorker) return serve(config);
  const { app, db } = await prepare(config);
  const log = app.server.log;
  await app.server.close();
  await db.close();
  log.info(`FHIR base ${config.fhirBaseUrl} (database: ${config.database.kind}), ${config.workers} worker processes`);
  // The workers' own deadline, and time for their last log lines and exit
  superviseWorkers(config.workers, log, config.shutdownTimeoutSeconds * 1000 + 5_000);
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(err);
  process.exit(1);
});
