// Token rows keyed by a hash of the token no longer hold the token itself: oidc-provider's payload carried it as `jti`,
// so a copy of the database was a set of live access, refresh and registration access tokens and authorization codes.
// The adapter now leaves it out (src/auth/adapter.ts); this removes it from the rows written before. (Encrypting signing
// keys and client secrets needs SECRETS_KEY, so that happens at start-up, not here.)
import type { Kysely } from 'kysely';

const MODELS = [
  'AccessToken',
  'RefreshToken',
  'AuthorizationCode',
  'ClientCredentials',
  'InitialAccessToken',
  'RegistrationAccessToken',
  'BackchannelAuthenticationRequest',
  'PushedAuthorizationRequest',
];
const BATCH = 1000;

export async function up(db: Kysely<any>): Promise<void> {
  for (const model of MODELS) {
    // Keyset pages by id: rows already rewritten no longer match the filter, so the scan moves on past them.
    let after = '';
    for (;;) {
      const rows = (await db
        .selectFrom('oidc_model')
        .select(['id', 'payload'])
        .where('model', '=', model)
        .where('id', '>', after)
        .where('payload', 'like', '%"jti"%')
        .orderBy('id')
        .limit(BATCH)
        .execute()) as { id: string; payload: string }[];
      if (!rows.length) break;
      for (const r of rows) {
        const { jti: _jti, ...rest } = JSON.parse(r.payload) as Record<string, unknown>;
        await db.updateTable('oidc_model').set({ payload: JSON.stringify(rest) }).where('model', '=', model).where('id', '=', r.id).execute();
      }
      after = rows[rows.length - 1]!.id;
    }
  }
}
