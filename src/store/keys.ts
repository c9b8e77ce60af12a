// Signing keys and cookie secrets, kept in the database so every instance and every restart uses the same ones.
import type { Db } from './db.js';

export interface StoredKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateJwk: string;
  readonly createdAt: number;
  readonly retireAfter: number | null;
}

export class KeyStore {
  constructor(private readonly db: Db) {}

  async all(): Promise<StoredKey[]> {
    const rows = await this.db.kysely.selectFrom('signing_key').selectAll().orderBy('created_at', 'desc').execute();
    return rows.map((r) => ({ kid: r.kid, alg: r.alg, privateJwk: r.private_jwk, createdAt: Number(r.created_at), retireAfter: r.retire_after === null ? null : Number(r.retire_after) }));
  }

  /** Inserts unless a key with that kid exists (two instances starting at once both try; one wins). */
  async add(key: StoredKey): Promise<void> {
    await this.db.kysely
      .insertInto('signing_key')
      .values({ kid: key.kid, alg: key.alg, private_jwk: key.privateJwk, created_at: key.createdAt, retire_after: key.retireAfter })
      .onConflict((oc) => oc.column('kid').doNothing())
      .execute();
  }

  async retire(kid: string, after: number): Promise<void> {
    await this.db.kysely.updateTable('signing_key').set({ retire_after: after }).where('kid', '=', kid).execute();
  }

  async deleteRetired(now: number): Promise<number> {
    const r = await this.db.kysely.deleteFrom('signing_key').where('retire_after', '<', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
