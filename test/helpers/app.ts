// Builds the real app on a private test database; torn down with the test.
import type { Test } from 'tap';
import { buildApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export const PUBLIC_URL = 'http://localhost:8080';
export const FHIR_BASE = `${PUBLIC_URL}/fhir`;

export interface TestApp extends App {
  readonly config: Config;
  readonly database: TestDatabase;
}

export async function startTestApp(t: Test, env: Record<string, string> = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const config = { ...loadConfig({ PUBLIC_URL, SEED_DIR: '', ...env }), database: database.target };
  const app = await buildApp({ config, db: database.db, logger: false });
  t.teardown(async () => {
    await app.server.close();
    await database.close();
  });
  return { ...app, config, database };
}
