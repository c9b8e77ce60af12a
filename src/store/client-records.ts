// An OAuth client's rows among oidc-provider's models, found by client: what deleting a client has to end (its
// grants, its client_credentials tokens, its registration access tokens).
import type { Db } from './db.js';

export class ClientRecordStore {
  constructor(private readonly db: Db) {}

  /** Stored ids of the client's rows of `model` (hashes for token models, as the adapter keeps them). */
  async ids(model: string, clientId: string): Promise<string[]> {
    const rows = await this.db.kysely.selectFrom('oidc_model').select('id').where('model', '=', model).where('client_id', '=', clientId).execute();
    return rows.map((r) => r.id);
  }

  /** Deletes the client's rows of `model`; returns how many went. */
  async deleteAll(model: string, clientId: string): Promise<number> {
    const r = await this.db.kysely.deleteFrom('oidc_model').where('model', '=', model).where('client_id', '=', clientId).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
