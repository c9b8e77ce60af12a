// Rows of oidc-provider's models (grants, tokens, sessions, clients, ...). Keys arrive already hashed where the
// auth layer wants them hashed; this module only stores, finds, consumes and expires rows. A client's secret is sealed
// by the SecretBox on the way in and opened on the way out (encrypted at rest when SECRETS_KEY is set).
import type { Db } from './db.js';
import { SecretBox } from './secret-box.js';
import { tombstoneRows } from './revoked-tokens.js';

export interface OidcRow {
  readonly payload: Record<string, unknown>;
  readonly consumedAt: number | null;
}

export interface OidcUpsert {
  readonly model: string;
  readonly id: string;
  readonly payload: Record<string, unknown>;
  readonly grantId: string | null;
  readonly uid: string | null;
  readonly userCode: string | null;
  readonly accountId: string | null;
  readonly clientId: string | null;
  /** seconds since epoch, or null for rows that never expire */
  readonly expiresAt: number | null;
}

export interface GrantRow {
  readonly grantId: string;
  readonly accountId: string | null;
  readonly clientId: string | null;
  readonly payload: Record<string, unknown>;
  readonly expiresAt: number | null;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

const secretPlace = (clientId: string) => `oidc_model/Client/${clientId}/client_secret`;

// Every token issued is one upsert: it runs on a prepared statement, not through the query builder.
const UPSERT_SQL = `insert into oidc_model (model, id, payload, grant_id, uid, user_code, account_id, client_id, expires_at, consumed_at)
  values (?, ?, ?, ?, ?, ?, ?, ?, ?, null)
  on conflict (model, id) do update set payload = excluded.payload, grant_id = excluded.grant_id, uid = excluded.uid,
    user_code = excluded.user_code, account_id = excluded.account_id, client_id = excluded.client_id,
    expires_at = excluded.expires_at, consumed_at = null`;

export class OidcModelStore {
  readonly #upsert: (params: readonly unknown[]) => Promise<unknown>;

  constructor(
    private readonly db: Db,
    private readonly secrets: SecretBox = new SecretBox(),
  ) {
    // On a SQLite file the upsert runs on the write-behind thread, and the provider's await returns once it has
    // committed: the insert and its commit were a sixth of a token request's event-loop time (profiled at
    // client_credentials load), and concurrent token requests now share one commit.
    const writeBehind = db.writeBehind;
    this.#upsert = writeBehind ? (params) => writeBehind([{ sql: UPSERT_SQL, params }]) : db.prepareRun('oidc_model_upsert', UPSERT_SQL);
  }

  async upsert(row: OidcUpsert): Promise<void> {
    const payload = row.model === 'Client' ? this.#sealClient(row.id, row.payload) : row.payload;
    await this.#upsert([row.model, row.id, JSON.stringify(payload), row.grantId, row.uid, row.userCode, row.accountId, row.clientId, row.expiresAt]);
  }

  #sealClient(clientId: string, payload: Record<string, unknown>): Record<string, unknown> {
    const secret = payload.client_secret;
    return typeof secret === 'string' ? { ...payload, client_secret: this.secrets.seal(secret, secretPlace(clientId)) } : payload;
  }

  /** Throws SecretsKeyError when the secret is encrypted with a key this process does not have. */
  #openClient(clientId: string, payload: Record<string, unknown>): Record<string, unknown> {
    const secret = payload.client_secret;
    return typeof secret === 'string' ? { ...payload, client_secret: this.secrets.open(secret, secretPlace(clientId)) } : payload;
  }

  /**
   * Rewrites every client secret not stored as this process would store it now (plaintext from before SECRETS_KEY,
   * or sealed under SECRETS_KEY_PREVIOUS). Returns how many; throws SecretsKeyError for one it cannot open.
   */
  async resealClientSecrets(): Promise<number> {
    const rows = await this.db.kysely.selectFrom('oidc_model').select(['id', 'payload']).where('model', '=', 'Client').execute();
    let changed = 0;
    for (const r of rows) {
      const payload = JSON.parse(r.payload) as Record<string, unknown>;
      if (typeof payload.client_secret !== 'string' || this.secrets.isCurrent(payload.client_secret)) continue;
      const sealed = JSON.stringify(this.#sealClient(r.id, this.#openClient(r.id, payload)));
      // Only if nobody rewrote it meanwhile (an update through RFC 7592, another instance starting).
      const res = await this.db.kysely.updateTable('oidc_model').set({ payload: sealed }).where('model', '=', 'Client').where('id', '=', r.id).where('payload', '=', r.payload).executeTakeFirst();
      changed += Number(res.numUpdatedRows);
    }
    return changed;
  }

  async find(model: string, column: 'id' | 'uid' | 'user_code', value: string, graceSeconds: number): Promise<OidcRow | undefined> {
    const r = await this.db.kysely
      .selectFrom('oidc_model')
      .select(['id', 'payload', 'expires_at', 'consumed_at'])
      .where('model', '=', model)
      .where(column, '=', value)
      .executeTakeFirst();
    if (!r) return undefined;
    if (r.expires_at !== null && Number(r.expires_at) + graceSeconds < nowSeconds()) return undefined;
    const payload = JSON.parse(r.payload) as Record<string, unknown>;
    return { payload: model === 'Client' ? this.#openClient(r.id, payload) : payload, consumedAt: r.consumed_at === null ? null : Number(r.consumed_at) };
  }

  /** Marks a row consumed; false when it was already consumed or is gone (the loser of a double redeem). */
  async consume(model: string, id: string): Promise<boolean> {
    const r = await this.db.kysely
      .updateTable('oidc_model')
      .set({ consumed_at: nowSeconds() })
      .where('model', '=', model)
      .where('id', '=', id)
      .where('consumed_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /**
   * Every row of `model` under a grant, with its stored (hashed) id; `liveOnly`: those not consumed. Refresh-token
   * rotation reads a grant's tokens through it (src/auth/refresh-rotation.ts).
   */
  async rowsForGrant(model: string, grantId: string, opts: { liveOnly?: boolean } = {}): Promise<(OidcRow & { readonly id: string })[]> {
    let q = this.db.kysely.selectFrom('oidc_model').select(['id', 'payload', 'consumed_at']).where('model', '=', model).where('grant_id', '=', grantId);
    if (opts.liveOnly) q = q.where('consumed_at', 'is', null);
    const rows = await q.execute();
    return rows.map((r) => ({ id: r.id, payload: JSON.parse(r.payload) as Record<string, unknown>, consumedAt: r.consumed_at === null ? null : Number(r.consumed_at) }));
  }

  /** Consumes a row not consumed yet and replaces its payload in the same statement; false when it was consumed already. */
  async consumeWithPayload(model: string, id: string, payload: Record<string, unknown>): Promise<boolean> {
    const r = await this.db.kysely
      .updateTable('oidc_model')
      .set({ consumed_at: nowSeconds(), payload: JSON.stringify(payload) })
      .where('model', '=', model)
      .where('id', '=', id)
      .where('consumed_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** `tombstone`: leave a revoked_tokens row per deleted row, so the token reads as revoked rather than unknown. */
  async destroy(model: string, id: string, opts: { tombstone?: boolean } = {}): Promise<void> {
    await this.#delete(model, 'id', id, opts.tombstone === true);
  }

  async revokeByGrantId(model: string, grantId: string, opts: { tombstone?: boolean } = {}): Promise<void> {
    await this.#delete(model, 'grant_id', grantId, opts.tombstone === true);
  }

  async #delete(model: string, column: 'id' | 'grant_id', value: string, tombstone: boolean): Promise<void> {
    if (!tombstone) {
      await this.db.kysely.deleteFrom('oidc_model').where('model', '=', model).where(column, '=', value).execute();
      return;
    }
    await this.db.kysely.transaction().execute(async (trx) => {
      await tombstoneRows(trx, model, column, value, Date.now());
      await trx.deleteFrom('oidc_model').where('model', '=', model).where(column, '=', value).execute();
    });
  }

  /**
   * Rewrites the `scope` of every row of `model` under a grant (refresh tokens after the patient narrowed the grant,
   * so a refresh can carry the narrower, possibly granular, scopes). Returns how many rows changed.
   */
  async setScopeByGrantId(model: string, grantId: string, scope: string): Promise<number> {
    return this.db.kysely.transaction().execute(async (trx) => {
      const rows = await trx.selectFrom('oidc_model').select(['id', 'payload']).where('model', '=', model).where('grant_id', '=', grantId).execute();
      for (const r of rows) {
        const payload = JSON.parse(r.payload) as Record<string, unknown>;
        payload.scope = scope;
        await trx.updateTable('oidc_model').set({ payload: JSON.stringify(payload) }).where('model', '=', model).where('id', '=', r.id).execute();
      }
      return rows.length;
    });
  }

  /** Deletes rows expired more than `graceSeconds` ago; returns how many. */
  async deleteExpired(graceSeconds: number): Promise<number> {
    const r = await this.db.kysely.deleteFrom('oidc_model').where('expires_at', '<', nowSeconds() - graceSeconds).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** Clients registered dynamically (static clients live in the provider's configuration, not here), newest last. */
  async listClients(): Promise<{ clientId: string; payload: Record<string, unknown> }[]> {
    const rows = await this.db.kysely.selectFrom('oidc_model').select(['id', 'payload']).where('model', '=', 'Client').orderBy('id').execute();
    return rows.map((r) => ({ clientId: r.id, payload: this.#openClient(r.id, JSON.parse(r.payload) as Record<string, unknown>) }));
  }

  /** The payloads of one account's rows of `model` (sessions, interactions). */
  async payloadsForAccount(model: string, accountId: string): Promise<Record<string, unknown>[]> {
    const rows = await this.db.kysely.selectFrom('oidc_model').select('payload').where('model', '=', model).where('account_id', '=', accountId).execute();
    return rows.map((r) => JSON.parse(r.payload) as Record<string, unknown>);
  }

  /** Deletes one account's rows of `model`; returns how many. */
  async deleteForAccount(model: string, accountId: string): Promise<number> {
    const r = await this.db.kysely.deleteFrom('oidc_model').where('model', '=', model).where('account_id', '=', accountId).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async grantsForAccount(accountId: string): Promise<GrantRow[]> {
    const rows = await this.db.kysely
      .selectFrom('oidc_model')
      .select(['id', 'account_id', 'client_id', 'payload', 'expires_at'])
      .where('model', '=', 'Grant')
      .where('account_id', '=', accountId)
      .execute();
    return rows.map((r) => ({
      grantId: r.id,
      accountId: r.account_id,
      clientId: r.client_id,
      payload: JSON.parse(r.payload) as Record<string, unknown>,
      expiresAt: r.expires_at === null ? null : Number(r.expires_at),
    }));
  }
}
