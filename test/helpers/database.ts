// A fresh, private database per test file: in-memory SQLite by default, or a new PostgreSQL database created next to
// the one DATABASE_URL names (and dropped afterwards), so tests never depend on or disturb existing data.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { DatabaseTarget } from '../../src/config.js';
import { openDb, type Db } from '../../src/store/db.js';
import { migrateToLatest } from '../../src/store/migrate.js';

export interface TestDatabase {
  readonly db: Db;
  readonly target: DatabaseTarget;
  readonly url: string;
  close(): Promise<void>;
}

export const usingPostgres = (process.env.DATABASE_URL ?? '').startsWith('postgres');

/**
 * `file: true` puts SQLite in a temporary file, so a second connection (another "instance") can open it.
 * `migrate: false` leaves it empty, for tests of first start (the server's own migrations).
 */
export async function createTestDatabase(opts: { file?: boolean; migrate?: boolean } = {}): Promise<TestDatabase> {
  if (!usingPostgres) {
    // TEST_SQLITE_FILES=1 runs every test on a file: the path a server started with `npm start` takes (the
    // write-behind thread for tokens and audit rows exists only there).
    const dir = opts.file || process.env.TEST_SQLITE_FILES === '1' ? mkdtempSync(join(tmpdir(), 'smart-test-')) : undefined;
    const filename = dir ? join(dir, 'test.db') : ':memory:';
    const target: DatabaseTarget = { kind: 'sqlite', filename };
    const db = openDb(target);
    if (opts.migrate !== false) await migrateToLatest(db);
    return {
      db,
      target,
      url: `sqlite:${filename}`,
      async close() {
        await db.close();
        if (dir) rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const admin = new URL(process.env.DATABASE_URL!);
  const name = `test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const adminClient = new pg.Client({ connectionString: admin.toString() });
  await adminClient.connect();
  await adminClient.query(`create database ${name}`);
  await adminClient.end();
  const url = new URL(admin.toString());
  url.pathname = `/${name}`;
  const target: DatabaseTarget = { kind: 'postgres', connectionString: url.toString() };
  const db = openDb(target);
  if (opts.migrate !== false) await migrateToLatest(db);
  return {
    db,
    target,
    url: url.toString(),
    async close() {
      await db.close();
      const c = new pg.Client({ connectionString: admin.toString() });
      await c.connect();
      // Sessions of the closed pool can take a moment to leave; forcing them out at once makes the server kill a
      // connection the driver still counts as live (an "administrator command" error in the test). Wait, then force.
      for (let i = 0; ; i++) {
        try {
          await c.query(i < 20 ? `drop database if exists ${name}` : `drop database if exists ${name} with (force)`);
          break;
        } catch (err) {
          if (i >= 20) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      await c.end();
    },
  };
}

/** A private directory for export files (EXPORT_DIR), so tests never write into the project's data/. */
export function exportDir(): { readonly path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'smart-export-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
