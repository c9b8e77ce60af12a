// Builds the real app on a private test database; torn down with the test.
import type { Test } from 'tap';
import { buildApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createTestDatabase, exportDir, type TestDatabase } from './database.js';
import { TEST_SERVER_ENV } from './test-env.js';

export const PUBLIC_URL = 'http://localhost:8080';
export const FHIR_BASE = `${PUBLIC_URL}/fhir`;

export interface TestApp extends App {
  readonly config: Config;
  readonly database: TestDatabase;
}

/**
 * The real app on a private database. By default the FHIR API is open (for tests of the FHIR facade alone);
 * `{ auth: true }` builds the full server with the authorization server in front.
 */
export async function startTestApp(t: Test, env: Record<string, string> = {}, opts: { auth?: boolean } = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const exports = exportDir();
  const config = { ...loadConfig({ ...TEST_SERVER_ENV, PUBLIC_URL, SEED_DIR: '', REVOCATION_POLL_MS: '100', EXPORT_DIR: exports.path, ...env }), database: database.target };
  const app = await buildApp({ config, db: database.db, logger: false, openFhir: !opts.auth });
  t.teardown(async () => {
    await app.server.close();
    await database.close();
    exports.remove();
  });
  return { ...app, config, database };
}
