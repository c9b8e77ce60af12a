// What every command-line tool shares: configuration from the environment (a bad value is a usage error, exit 2),
// the migrated database and FHIR service, closing them whatever happens, and the exit code of `main`.
// The database and FHIR modules are imported only once the arguments are known to be good: a usage error then
// answers at once instead of after loading the drivers and the whole FHIR layer.
import { ConfigError, loadConfig, type Config } from '../src/config.js';
import type { FhirService } from '../src/fhir/service.js';
import type { Db } from '../src/store/db.js';

export interface Store {
  readonly config: Config;
  readonly db: Db;
  readonly fhir: FhirService;
}

/** Runs `work` on the configured database; `usageError` reports an invalid configuration and exits. */
export async function withStore(usageError: (message: string) => never, work: (store: Store) => Promise<number>): Promise<number> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) usageError(err.message);
    throw err;
  }
  const [{ openDb }, { migrateToLatest }, { FhirService }, { ResourceStore }] = await Promise.all([
    import('../src/store/db.js'),
    import('../src/store/migrate.js'),
    import('../src/fhir/service.js'),
    import('../src/store/resources.js'),
  ]);
  const db = openDb(config.database);
  try {
    await migrateToLatest(db);
    return await work({ config, db, fhir: new FhirService(new ResourceStore(db), config.fhirBaseUrl) });
  } finally {
    await db.close();
  }
}

/** Sets the process exit code from `main`; an unexpected error prints its stack and exits 1. */
export function runMain(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
