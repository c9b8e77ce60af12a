// Runs the append-only migrations in src/store/migrations at start-up through Kysely's Migrator.
import { Migrator, sql, type Migration, type MigrationProvider, type Kysely } from 'kysely';
import type { Db, Dialect } from './db.js';
import * as m0001 from './migrations/2026-11-25T0001-resources.js';
import * as m0002 from './migrations/2026-11-25T0002-oidc.js';
import * as m0003 from './migrations/2026-11-25T0003-patient-rid-index.js';
import * as m0004 from './migrations/2026-11-25T0004-oidc-partial-indexes.js';
import * as m0005 from './migrations/2026-11-25T0005-portal.js';
import * as m0006 from './migrations/2026-11-25T0006-portal-sessions.js';
import * as m0007 from './migrations/2026-12-06T0007-audit-file.js';
import * as m0008 from './migrations/2026-12-07T0008-revoked-tokens.js';
import * as m0009 from './migrations/2026-12-07T0009-sandbox-launch.js';
import * as m0010 from './migrations/2026-12-07T0010-bulk-export.js';
import * as m0011 from './migrations/2026-12-08T0011-rate-limits.js';
import * as m0012 from './migrations/2026-12-08T0012-secrets-at-rest.js';
import * as m0013 from './migrations/2026-12-08T0013-audit-chain.js';

interface DialectMigration {
  up(db: Kysely<any>, dialect: Dialect): Promise<void>;
  down?(db: Kysely<any>, dialect: Dialect): Promise<void>;
}

// Append only: a released migration is never edited, a change is a new file added at the end of this list.
const MIGRATIONS: Readonly<Record<string, DialectMigration>> = {
  '2026-11-25T0001-resources': m0001,
  '2026-11-25T0002-oidc': m0002,
  '2026-11-25T0003-patient-rid-index': m0003,
  '2026-11-25T0004-oidc-partial-indexes': m0004,
  '2026-11-25T0005-portal': m0005,
  '2026-11-25T0006-portal-sessions': m0006,
  '2026-12-06T0007-audit-file': m0007,
  '2026-12-07T0008-revoked-tokens': m0008,
  '2026-12-07T0009-sandbox-launch': m0009,
  '2026-12-07T0010-bulk-export': m0010,
  '2026-12-08T0011-rate-limits': m0011,
  '2026-12-08T0012-secrets-at-rest': m0012,
  '2026-12-08T0013-audit-chain': m0013,
};

class StaticProvider implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    const out: Record<string, Migration> = {};
    for (const [name, m] of Object.entries(MIGRATIONS)) {
      const down = m.down;
      out[name] = {
        up: (db) => m.up(db, this.dialect),
        ...(down ? { down: (db: Kysely<any>) => down(db, this.dialect) } : {}),
      };
    }
    return out;
  }
}

/** Runs every migration not yet applied, or only up to and including `target` (tests of an upgrade). */
export async function migrateToLatest(db: Db, target?: string): Promise<string[]> {
  const migrator = new Migrator({ db: db.kysely, provider: new StaticProvider(db.dialect) });
  const { error, results } = target === undefined ? await migrator.migrateToLatest() : await migrator.migrateTo(target);
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * Migrations in the code that the database has not applied (readiness: an instance must not serve an older schema).
 * One read of Kysely's bookkeeping table, cheap enough for a probe every few seconds (the Migrator's own listing
 * introspects every table first).
 */
export async function pendingMigrations(db: Db): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(db.kysely);
  const applied = new Set(rows.map((r) => r.name));
  return Object.keys(MIGRATIONS).filter((name) => !applied.has(name));
}
