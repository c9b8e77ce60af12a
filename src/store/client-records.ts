// An OAuth client's rows among oidc-provider's models, found by client: what deleting a client has to end (its
// grants, its client_credentials tokens, its registration access tokens).
import type { Db } from './db.js';
import { tombstoneRows } from './revoked-tokens.js';

export class ClientRecordStore {
  constructor(private readonly db: Db) {}

  /** Stored ids of the client's rows of `model` (hashes for token models, as the adapter keeps them). */
  async ids(model: string, clientId: string): Promise<string[]> {
    const rows = await this.db.kysely.selectFrom('oidc_model').select('id').where('model', '=', model).where('client_id', '=', clientId).execute();
    return rows.map((r) => r.id);
  }

  /**
   * Deletes the client's rows of `model` and returns their ids; `tombstone` leaves a revoked_tokens row for each, so
   * a deleted access token reads as revoked rather than unknown.
   */
  async deleteAll(model: string, clientId: string, opts: { tombstone?: boolean } = {}): Promise<string[]> {
    return this.db.kysely.transaction().execute(async (trx) => {
      const rows = await trx.selectFrom('oidc_model').select('id').where('model', '=', model).where('client_id', '=', clientId).execute();
      const now = Date.now();
      if (opts.tombstone) for (const r of rows) await tombstoneRows(trx, model, 'id', r.id, now);
      await trx.deleteFrom('oidc_model').where('model', '=', model).where('client_id', '=', clientId).execute();
      return rows.map((r) => r.id);
    });
  }
}
