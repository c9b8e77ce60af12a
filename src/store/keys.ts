// Signing keys and cookie secrets, kept in the database so every instance and every restart uses the same ones. The
// private key column is sealed by the SecretBox (encrypted when SECRETS_KEY is set); callers see plaintext only.
import { sql } from 'kysely';
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

// PostgreSQL advisory lock key for creating first keys (an arbitrary constant, distinct from the start-up lock's).
const SIGNING_KEY_LOCK = 7_120_417_001;

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

  /**
   * Inserts `key` only when no active key (not retiring) of its algorithm exists; returns whether it did. Instances
   * starting at the same moment each generate a key: exactly one is stored. On SQLite the single statement holds the
   * write lock from its start; on PostgreSQL (read committed) two such statements could both see nothing, so they
   * queue on a transaction-scoped advisory lock first.
   */
  async addFirst(key: StoredKey): Promise<boolean> {
    const insert = sql`insert into signing_key (kid, alg, private_jwk, created_at, retire_after)
      select ${key.kid}, ${key.alg}, ${this.secrets.seal(key.privateJwk, place(key.kid))}, ${key.createdAt}, ${key.retireAfter}
      where not exists (select 1 from signing_key where alg = ${key.alg} and retire_after is null)`;
    if (this.db.dialect === 'sqlite') return Number((await insert.execute(this.db.kysely)).numAffectedRows ?? 0) > 0;
    return this.db.kysely.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${SIGNING_KEY_LOCK})`.execute(trx);
      return Number((await insert.execute(trx)).numAffectedRows ?? 0) > 0;
    });
  }

  async retire(kid: string, after: number): Promise<void> {
    await this.db.kysely.updateTable('signing_key').set({ retire_after: after }).where('kid', '=', kid).execute();
  }

  async deleteRetired(now: number): Promise<number> {
    const r = await this.db.kysely.deleteFrom('signing_key').where('retire_after', '<', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
