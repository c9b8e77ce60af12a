// Revoking a grant or a token deletes its rows, which leaves "revoked" indistinguishable from "never issued". A
// tombstone per revoked access token (hash only, like oidc_model) lets a 401 in sandbox mode and the token
// inspector say which; tombstones are pruned once the token would have expired anyway.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('revoked_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('grant_id', 'text')
    .addColumn('client_id', 'text')
    .addColumn('revoked_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .execute();
  await db.schema.createIndex('revoked_tokens_expires').on('revoked_tokens').column('expires_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('revoked_tokens').ifExists().execute();
}
