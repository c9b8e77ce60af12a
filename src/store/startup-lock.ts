// First-start work (migrations, signing keys, seed data, demo accounts) done by one instance at a time. Instances
// behind a load balancer start at the same moment after a deploy: without this each found the database empty and
// seeded it. The first takes the lock and does the work; the others wait, then find it done.
import pg from 'pg';
import type { DatabaseTarget } from '../config.js';

// PostgreSQL advisory lock key (an arbitrary constant; Kysely's migration lock and the signing-key lock use others).
const STARTUP_LOCK = 7_120_417_000;

/**
 * Runs `work` holding a session-level advisory lock on a connection of its own (one connection beside the pool,
 * during start-up only). If this process dies, PostgreSQL ends the session and releases the lock. SQLite: runs
 * `work` as it is; processes sharing a file are WORKERS of one primary, which does the first start alone (main.ts).
 */
export async function withStartupLock<T>(target: DatabaseTarget, work: () => Promise<T>): Promise<T> {
  if (target.kind !== 'postgres') return work();
  const client = new pg.Client({ connectionString: target.connectionString });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [STARTUP_LOCK]);
    return await work();
  } finally {
    // Ending the session releases the lock as well; unlocking first says so plainly.
    await client.query('select pg_advisory_unlock($1)', [STARTUP_LOCK]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}
