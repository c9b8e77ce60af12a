// Token rows from client_credentials have no grant, uid or account: with partial indexes such an insert updates
// two B-trees (rows, primary key) plus the expiry index instead of five, which is most of a token request's
// database time. Lookups name the column with `=`, which implies IS NOT NULL, so both databases still use them.
import { sql, type Kysely } from 'kysely';

const PARTIAL: readonly [name: string, columns: string[], notNull: string][] = [
  ['oidc_model_grant', ['grant_id', 'model'], 'grant_id'],
  ['oidc_model_uid', ['model', 'uid'], 'uid'],
  ['oidc_model_account', ['model', 'account_id'], 'account_id'],
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const [name, columns, notNull] of PARTIAL) {
    await db.schema.dropIndex(name).ifExists().execute();
    await db.schema.createIndex(name).on('oidc_model').columns(columns).where(sql.ref(notNull), 'is not', null).execute();
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const [name, columns] of PARTIAL) {
    await db.schema.dropIndex(name).ifExists().execute();
    await db.schema.createIndex(name).on('oidc_model').columns(columns).execute();
  }
}
