// Bulk Data export jobs and the files each produced. A job's whole state is here (not in a process), so any
// instance answers status and file requests, and a job whose instance died is taken over by another.
import type { Kysely } from 'kysely';
import type { Dialect } from '../db.js';

export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  // An export pages each type in (last_updated, rid) order. SQLite's (type, last_updated) index already ends in the
  // rowid (rid); PostgreSQL's does not, and without rid in the index every page would re-read a whole group of rows
  // sharing one last_updated (an import batch) to find where the previous page stopped.
  if (dialect === 'postgres') await db.schema.createIndex('resources_type_updated_rid').on('resources').columns(['type', 'last_updated', 'rid']).execute();
  await db.schema
    .createTable('export_jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('request', 'text', (c) => c.notNull())
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('transaction_time', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('started_at', 'bigint')
    .addColumn('finished_at', 'bigint')
    .addColumn('expires_at', 'bigint')
    .addColumn('owner', 'text')
    .addColumn('heartbeat_at', 'bigint')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('progress', 'text')
    .addColumn('error', 'text')
    .execute();
  await db.schema.createIndex('export_jobs_status').on('export_jobs').columns(['status', 'created_at']).execute();
  await db.schema.createIndex('export_jobs_client').on('export_jobs').columns(['client_id', 'status']).execute();
  await db.schema
    .createTable('export_files')
    .addColumn('job_id', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('bytes', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('export_files_pk', ['job_id', 'attempt', 'name'])
    .execute();
}

export async function down(db: Kysely<any>, dialect: Dialect): Promise<void> {
  if (dialect === 'postgres') await db.schema.dropIndex('resources_type_updated_rid').ifExists().execute();
  await db.schema.dropTable('export_files').ifExists().execute();
  await db.schema.dropTable('export_jobs').ifExists().execute();
}
