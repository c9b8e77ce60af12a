// Sandbox launch simulator: a launch remembers the developer's options (automatic sign-in, consent decided in
// advance, unticked data, a short token life, a wrong aud), the grant it produced and the last access token issued
// under it, so the simulator page can show, inspect and revoke "the last launch".
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('smart_launch').addColumn('options', 'text').execute();
  await db.schema.alterTable('smart_launch').addColumn('grant_id', 'text').execute();
  await db.schema.alterTable('smart_launch').addColumn('access_token', 'text').execute();
  await db.schema.alterTable('smart_launch').addColumn('created_at', 'bigint').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const c of ['options', 'grant_id', 'access_token', 'created_at']) await db.schema.alterTable('smart_launch').dropColumn(c).execute();
}
