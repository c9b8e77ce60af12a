// Patient portal: accounts and their credentials' side tables, proxy (family / legal) access, the app links a
// patient made, the sandbox mail outbox and the per-patient access log. Frozen in time: written against Kysely<any>.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const pg = dialect === 'postgres';
  const serial = pg ? 'bigserial' : 'integer';

  await db.schema
    .createTable('accounts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('username', 'text', (c) => c.notNull().unique())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('email', 'text')
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('fhir_user', 'text', (c) => c.notNull())
    .addColumn('patient_id', 'text')
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('failed_logins', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('locked_until', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('password_changed_at', 'bigint', (c) => c.notNull())
    .execute();
  // One own account per record: NULLs (clinicians) do not collide in either database.
  await db.schema.createIndex('accounts_patient').on('accounts').column('patient_id').unique().execute();
  await db.schema.createIndex('accounts_email').on('accounts').column('email').execute();

  await db.schema
    .createTable('activation_codes')
    .addColumn('code_hash', 'text', (c) => c.primaryKey())
    .addColumn('patient_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .addColumn('used_by_account', 'text')
    .execute();

  await db.schema
    .createTable('password_resets')
    .addColumn('code_hash', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('password_resets_account').on('password_resets').column('account_id').execute();

  await db.schema
    .createTable('proxy_relations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('holder_account_id', 'text', (c) => c.notNull())
    .addColumn('patient_id', 'text', (c) => c.notNull())
    .addColumn('relationship', 'text', (c) => c.notNull())
    .addColumn('starts_at', 'bigint', (c) => c.notNull())
    .addColumn('ends_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('note', 'text')
    .execute();
  await db.schema.createIndex('proxy_relations_holder').on('proxy_relations').column('holder_account_id').execute();
  await db.schema.createIndex('proxy_relations_patient').on('proxy_relations').column('patient_id').execute();

  await db.schema
    .createTable('mail_outbox')
    .addColumn('id', serial, (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('to_address', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('app_links')
    .addColumn('grant_id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('patient_id', 'text', (c) => c.notNull())
    .addColumn('proxy_relation_id', 'text')
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('last_used_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .execute();
  await db.schema.createIndex('app_links_account').on('app_links').columns(['account_id', 'created_at']).execute();
  await db.schema.createIndex('app_links_patient').on('app_links').columns(['patient_id', 'created_at']).execute();
  // Only links made through a proxy are ever looked up by relation (expiry), so the index holds just those.
  await db.schema
    .createIndex('app_links_proxy')
    .on('app_links')
    .column('proxy_relation_id')
    .where(sql.ref('proxy_relation_id'), 'is not', null)
    .execute();

  await db.schema
    .createTable('audit_events')
    .addColumn('id', serial, (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('grant_id', 'text')
    .addColumn('account_id', 'text')
    .addColumn('patient_id', 'text')
    .addColumn('resource_type', 'text', (c) => c.notNull())
    .addColumn('interaction', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text')
    .addColumn('status', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_events_patient').on('audit_events').columns(['patient_id', 'at']).execute();
  await db.schema.createIndex('audit_events_grant').on('audit_events').columns(['grant_id', 'at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['audit_events', 'app_links', 'mail_outbox', 'proxy_relations', 'password_resets', 'activation_codes', 'accounts']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
