// The real entry point (src/main.ts) in processes of its own on a database this test prepared: a few patients and the
// sandbox demo accounts are written from here first (seedFamily), so each process starts in seconds instead of
// loading the seed files. Several processes on one database are separate instances, as in production.
import type { Test } from 'tap';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { startServer, until, type ServerProcess } from './server-process.js';
import { freePort, seedFamily } from './smart-server.js';

/** A SQLite file (another process must open it) or a PostgreSQL database, with Maria's family and the demo accounts. */
export async function seededDatabase(t: Test): Promise<TestDatabase> {
  const database = await createTestDatabase({ file: true });
  t.teardown(() => database.close());
  const config = { ...loadConfig({ SEED_DIR: '', PUBLIC_URL: 'http://127.0.0.1:1' }), database: database.target };
  const app = await buildApp({ config, db: database.db, logger: false });
  await seedFamily(app);
  await app.server.close();
  return database;
}

export interface SpawnedServer {
  readonly origin: string;
  readonly process: ServerProcess;
}

/** A server process on `database`, answering /healthz; stopped with SIGTERM when the test ends. */
export async function spawnServer(t: Test, database: TestDatabase, env: Record<string, string> = {}): Promise<SpawnedServer> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const server = startServer({ DATABASE_URL: database.url, PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: origin, SEED_DIR: '', LOG_LEVEL: 'warn', REVOCATION_POLL_MS: '100', ...env });
  t.teardown(async () => {
    if (server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
  await until(`the server on port ${port} answering`, async () => {
    if (server.child.exitCode !== null) throw new Error(`the server exited: ${server.stderr()}`);
    return (await fetch(`${origin}/healthz`).catch(() => undefined))?.ok === true;
  });
  return { origin, process: server };
}
