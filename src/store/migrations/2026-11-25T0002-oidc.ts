// oidc-provider's models (grants, tokens, sessions, clients, ...) and the SMART launch context bound to a grant.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const pg = dialect === 'postgres';
  await db.schema
    .createTable('oidc_model')
    .addColumn('model', 'text', (c) => c.notNull())
    // sha256 of the id for bearer-like models, so a database dump holds no usable tokens
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('grant_id', 'text')
    .addColumn('uid', 'text')
    .addColumn('user_code', 'text')
    .addColumn('account_id', 'text')
    .addColumn('client_id', 'text')
    .addColumn('expires_at', 'bigint')
    .addColumn('consumed_at', 'bigint')
    .addPrimaryKeyConstraint('oidc_model_pk', ['model', 'id'])
    .execute();
  await db.schema.createIndex('oidc_model_grant').on('oidc_model').columns(['grant_id', 'model']).execute();
  await db.schema.createIndex('oidc_model_uid').on('oidc_model').columns(['model', 'uid']).execute();
  await db.schema.createIndex('oidc_model_account').on('oidc_model').columns(['model', 'account_id']).execute();
  await db.schema.createIndex('oidc_model_expires').on('oidc_model').columns(['expires_at']).execute();

  await db.schema
    .createTable('smart_context')
    .addColumn('grant_id', 'text', (c) => c.primaryKey())
    .addColumn('patient', 'text')
    .addColumn('encounter', 'text')
    .addColumn('fhir_user', 'text')
    .addColumn('context', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('smart_launch')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('patient', 'text', (c) => c.notNull())
    .addColumn('encounter', 'text')
    .addColumn('client_id', 'text')
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .execute();

  // Every revocation bumps a sequence; instances poll it (or get NOTIFY on PostgreSQL) to drop cached tokens.
  await db.schema
    .createTable('revocation_event')
    .addColumn('seq', pg ? 'bigserial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('grant_id', 'text')
    .addColumn('token_hash', 'text')
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('signing_key')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('alg', 'text', (c) => c.notNull())
    .addColumn('private_jwk', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('retire_after', 'bigint')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['signing_key', 'revocation_event', 'smart_launch', 'smart_context', 'oidc_model']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
