// Process entry: configuration, database and migrations, first-start seeding, then listen; stops cleanly on signals.
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { seedIfEmpty } from './fhir/seed.js';
import { openDb } from './store/db.js';
import { migrateToLatest } from './store/migrate.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const db = openDb(config.database);
  const applied = await migrateToLatest(db);
  const { server, fhir, portal } = await buildApp({ config, db });
  if (applied.length) server.log.info({ migrations: applied }, 'database migrated');
  if (config.seedDir) {
    const seeded = await seedIfEmpty(fhir, config.seedDir, (msg: string) => server.log.info(msg));
    if (seeded) server.log.info({ resources: seeded }, 'seeded an empty database');
  }
  if (config.sandbox && portal) {
    const report = await portal.seedDemo();
    if (report.accountsCreated.length) server.log.info({ accounts: report.accountsCreated }, 'created the sandbox demo accounts');
    if (report.skipped.length) server.log.warn({ skipped: report.skipped }, 'demo accounts or relations skipped: their patients are not in the store');
  }
  await server.listen({ port: config.port, host: config.host });
  server.log.info(`FHIR base ${config.fhirBaseUrl} (database: ${config.database.kind})`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.log.info({ signal }, 'shutting down');
    await server.close();
    await db.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(err);
  process.exit(1);
});
