// Signing keys and cookie secrets, kept in the database so every instance and every restart uses the same ones. The
// private key column is sealed by the SecretBox (encrypted when SECRETS_KEY is set); callers see plaintext only.
import type { Db } from './db.js';
import { SecretBox } from './secret-box.js';

export interface StoredKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateJwk: string;
  readonly createdAt: number;
  readonly retireAfter: number | null;
}

const place = (kid: string) => `signing_key/${kid}`;

export class KeyStore {
  constructor(
    private readonly db: Db,
    private readonly secrets: SecretBox = new SecretBox(),
  ) {}

  /** Throws SecretsKeyError when a key is encrypted with a key this process does not have. */
  async all(): Promise<StoredKey[]> {
    const rows = await this.db.kysely.selectFrom('signing_key').selectAll().orderBy('created_at', 'desc').execute();
    return rows.map((r) => ({
      kid: r.kid,
      alg: r.alg,
      privateJwk: this.secrets.open(r.private_jwk, place(r.kid)),
      createdAt: Number(r.created_at),
      retireAfter: r.retire_after === null ? null : Number(r.retire_after),
    }));
  }

  /**
   * Rewrites every key not stored as this process would store it now: plaintext from before SECRETS_KEY was set,
   * or sealed under SECRETS_KEY_PREVIOUS. Returns how many; throws SecretsKeyError for a key it cannot open.
   */
  async reseal(): Promise<number> {
    const rows = await this.db.kysely.selectFrom('signing_key').select(['kid', 'private_jwk']).execute();
    let changed = 0;
    for (const r of rows) {
      if (this.secrets.isCurrent(r.private_jwk)) continue;
      const sealed = this.secrets.seal(this.secrets.open(r.private_jwk, place(r.kid)), place(r.kid));
      // Only if nobody rewrote it meanwhile (another instance starting at the same time).
      const res = await this.db.kysely.updateTable('signing_key').set({ private_jwk: sealed }).where('kid', '=', r.kid).where('private_jwk', '=', r.private_jwk).executeTakeFirst();
      changed += Number(res.numUpdatedRows);
    }
    return changed;
  }

  /** Inserts unless a key with that kid exists (two instances starting at once both try; one wins). */
  async add(key: StoredKey): Promise<void> {
    await this.db.kysely
      .insertInto('signing_key')
      .values({ kid: key.kid, alg: key.alg, private_jwk: this.secrets.seal(key.privateJwk, place(key.kid)), created_at: key.createdAt, retire_after: key.retireAfter })
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
