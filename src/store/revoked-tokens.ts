// Tombstones of revoked access tokens (see migration 0008): written in the transaction that deletes the token rows,
// read only when a token fails, and pruned by housekeeping once the token would have expired anyway.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Db } from './db.js';
import type { Database } from './schema.js';

export interface RevokedToken {
  readonly grantId: string | null;
  readonly clientId: string | null;
  /** ms since epoch */
  readonly revokedAt: number;
  /** ms since epoch; null when the token had no expiry */
  readonly expiresAt: number | null;
}

/** Copies the oidc_model rows about to be deleted into tombstones (same transaction as the delete). */
export async function tombstoneRows(trx: Kysely<Database> | Transaction<Database>, model: string, column: 'id' | 'grant_id' | 'client_id', value: string, now: number): Promise<void> {
  await trx
    .insertInto('revoked_tokens')
    .columns(['token_hash', 'grant_id', 'client_id', 'revoked_at', 'expires_at'])
    .expression(
      trx
        .selectFrom('oidc_model')
        // Literals, not parameters: PostgreSQL types an untyped parameter in a select list as text.
        .select(['id', 'grant_id', 'client_id', sql<number>`${sql.lit(now)}`.as('revoked_at'), sql<number | null>`expires_at * 1000`.as('expires_at')])
        .where('model', '=', model)
        .where(column, '=', value),
    )
    .onConflict((oc) => oc.column('token_hash').doNothing())
    .execute();
}

export class RevokedTokenStore {
  constructor(private readonly db: Db) {}

  async find(tokenHash: string): Promise<RevokedToken | undefined> {
    const r = await this.db.kysely
      .selectFrom('revoked_tokens')
      .select(['grant_id', 'client_id', 'revoked_at', 'expires_at'])
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    if (!r) return undefined;
    return { grantId: r.grant_id, clientId: r.client_id, revokedAt: Number(r.revoked_at), expiresAt: r.expires_at === null ? null : Number(r.expires_at) };
  }

  /**
   * Drops tombstones of tokens that expired before `expiredBefore` (ms), and of tokens without an expiry revoked
   * before it. Returns how many.
   */
  async prune(expiredBefore: number): Promise<number> {
    const r = await this.db.kysely
      .deleteFrom('revoked_tokens')
      .where((eb) => eb.or([eb('expires_at', '<', expiredBefore), eb.and([eb('expires_at', 'is', null), eb('revoked_at', '<', expiredBefore)])]))
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
