// Counters for rate limits and sign-in failures, shared by every process and instance on the database (WORKERS on
// one SQLite file, several servers on one PostgreSQL), so a limit holds however requests are spread. One row per
// (bucket, key): a bucket names what is counted ("req:POST /portal/login", "signin-failures"), the key whom (an
// address, a client_id, a username). Rows whose window ended are reused by the next hit or pruned.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('rate_limits')
    .addColumn('bucket', 'text', (c) => c.notNull())
    .addColumn('limit_key', 'text', (c) => c.notNull())
    .addColumn('hits', 'integer', (c) => c.notNull())
    .addColumn('reset_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('rate_limits_pk', ['bucket', 'limit_key'])
    .execute();
  await db.schema.createIndex('rate_limits_reset_at').on('rate_limits').column('reset_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('rate_limits').ifExists().execute();
}
