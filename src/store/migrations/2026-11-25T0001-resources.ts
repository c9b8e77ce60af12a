// Resources, their versions and the search index tables. Frozen in time: written against Kysely<any>.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const pg = dialect === 'postgres';
  await db.schema
    .createTable('resources')
    .addColumn('rid', pg ? 'bigserial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('version_id', 'integer', (c) => c.notNull())
    .addColumn('last_updated', 'bigint', (c) => c.notNull())
    .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('patient_id', 'text')
    .addColumn('sort_date', 'bigint', (c) => c.notNull())
    .addColumn('content', 'text')
    .addUniqueConstraint('resources_type_id', ['type', 'id'])
    .execute();
  await db.schema.createIndex('resources_patient_date').on('resources').columns(['type', 'patient_id', 'sort_date']).execute();
  await db.schema.createIndex('resources_type_date').on('resources').columns(['type', 'sort_date']).execute();
  await db.schema.createIndex('resources_type_updated').on('resources').columns(['type', 'last_updated']).execute();

  await db.schema
    .createTable('resource_versions')
    .addColumn('rid', 'bigint', (c) => c.notNull())
    .addColumn('version_id', 'integer', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('last_updated', 'bigint', (c) => c.notNull())
    .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('content', 'text')
    .addPrimaryKeyConstraint('resource_versions_pk', ['rid', 'version_id'])
    .execute();

  // Byte-order collation on PostgreSQL so that prefix search by range (value >= p AND value < p || U+FFFF) is exact.
  const text = pg ? sql`text collate "C"` : sql`text`;
  await db.schema
    .createTable('idx_token')
    .addColumn('rid', 'bigint', (c) => c.notNull())
    .addColumn('param', 'text', (c) => c.notNull())
    .addColumn('system', 'text', (c) => c.notNull())
    .addColumn('code', text, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('idx_token_rid').on('idx_token').columns(['rid', 'param', 'code', 'system']).execute();
  await db.schema.createIndex('idx_token_code').on('idx_token').columns(['param', 'code', 'rid']).execute();

  await db.schema
    .createTable('idx_string')
    .addColumn('rid', 'bigint', (c) => c.notNull())
    .addColumn('param', 'text', (c) => c.notNull())
    .addColumn('value', text, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('idx_string_rid').on('idx_string').columns(['rid', 'param', 'value']).execute();
  await db.schema.createIndex('idx_string_value').on('idx_string').columns(['param', 'value', 'rid']).execute();

  await db.schema
    .createTable('idx_date')
    .addColumn('rid', 'bigint', (c) => c.notNull())
    .addColumn('param', 'text', (c) => c.notNull())
    .addColumn('lo', 'bigint', (c) => c.notNull())
    .addColumn('hi', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('idx_date_rid').on('idx_date').columns(['rid', 'param', 'lo', 'hi']).execute();

  await db.schema
    .createTable('idx_reference')
    .addColumn('rid', 'bigint', (c) => c.notNull())
    .addColumn('param', 'text', (c) => c.notNull())
    .addColumn('target_type', 'text', (c) => c.notNull())
    .addColumn('target_id', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('idx_reference_rid').on('idx_reference').columns(['rid', 'param', 'target_id', 'target_type']).execute();
  await db.schema.createIndex('idx_reference_target').on('idx_reference').columns(['param', 'target_id', 'rid']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['idx_reference', 'idx_date', 'idx_string', 'idx_token', 'resource_versions', 'resources']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
