// Apps a portal user connected to a record: what the connected-apps page lists and proxy expiry revokes.
import type { Kysely, Selectable } from 'kysely';
import type { AppLinkTable, Database } from './schema.js';

export interface AppLink {
  readonly grantId: string;
  readonly accountId: string;
  readonly clientId: string;
  readonly patientId: string;
  readonly proxyRelationId: string | null;
  readonly scope: string;
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly lastUsedAt: number | null;
  readonly revokedAt: number | null;
}

export type NewAppLink = Omit<AppLink, 'lastUsedAt' | 'revokedAt'>;

const n = (v: number | null): number | null => (v === null ? null : Number(v));

function fromRow(r: Selectable<AppLinkTable>): AppLink {
  return {
    grantId: r.grant_id,
    accountId: r.account_id,
    clientId: r.client_id,
    patientId: r.patient_id,
    proxyRelationId: r.proxy_relation_id,
    scope: r.scope,
    createdAt: Number(r.created_at),
    expiresAt: n(r.expires_at),
    lastUsedAt: n(r.last_used_at),
    revokedAt: n(r.revoked_at),
  };
}

/** "Last used" is shown to the minute or so; writing it on every API call would double the writes of a read. */
export const LAST_USED_GRANULARITY_MS = 60_000;

export class AppLinkStore {
  // Per instance: grant id → when this instance last wrote last_used_at. Bounded; oldest entries go first.
  readonly #written = new Map<string, number>();

  constructor(
    private readonly k: Kysely<Database>,
    private readonly maxRemembered = 10_000,
  ) {}

  /** Records a new link, or replaces the one of the same grant (a re-consent updates scope and duration). */
  async save(link: NewAppLink): Promise<void> {
    const row = {
      grant_id: link.grantId,
      account_id: link.accountId,
      client_id: link.clientId,
      patient_id: link.patientId,
      proxy_relation_id: link.proxyRelationId,
      scope: link.scope,
      created_at: link.createdAt,
      expires_at: link.expiresAt,
      last_used_at: null,
      revoked_at: null,
    };
    const { grant_id: _g, last_used_at: _l, ...update } = row;
    await this.k.insertInto('app_links').values(row).onConflict((oc) => oc.column('grant_id').doUpdateSet(update)).execute();
  }

  async find(grantId: string): Promise<AppLink | undefined> {
    const r = await this.k.selectFrom('app_links').selectAll().where('grant_id', '=', grantId).executeTakeFirst();
    return r && fromRow(r);
  }

  /** Links the account made, newest first; revoked ones only when asked (history view). */
  async listForAccount(accountId: string, opts: { includeRevoked?: boolean } = {}): Promise<AppLink[]> {
    let q = this.k.selectFrom('app_links').selectAll().where('account_id', '=', accountId);
    if (!opts.includeRevoked) q = q.where('revoked_at', 'is', null);
    return (await q.orderBy('created_at', 'desc').orderBy('grant_id').execute()).map(fromRow);
  }

  /** Links to any of these records, whoever made them (the patient sees apps a proxy connected too). */
  async listForPatients(patientIds: readonly string[], opts: { includeRevoked?: boolean } = {}): Promise<AppLink[]> {
    if (!patientIds.length) return [];
    let q = this.k.selectFrom('app_links').selectAll().where('patient_id', 'in', [...patientIds]);
    if (!opts.includeRevoked) q = q.where('revoked_at', 'is', null);
    return (await q.orderBy('created_at', 'desc').orderBy('grant_id').execute()).map(fromRow);
  }

  async findByProxyRelation(relationId: string): Promise<AppLink[]> {
    const rows = await this.k.selectFrom('app_links').selectAll().where('proxy_relation_id', '=', relationId).orderBy('created_at').execute();
    return rows.map(fromRow);
  }

  /** Unrevoked links made through any proxy relation: the set proxy expiry has to judge. */
  async listLiveThroughProxies(): Promise<AppLink[]> {
    const rows = await this.k
      .selectFrom('app_links')
      .selectAll()
      .where('proxy_relation_id', 'is not', null)
      .where('revoked_at', 'is', null)
      .orderBy('created_at')
      .execute();
    return rows.map(fromRow);
  }

  /**
   * Notes a use of the grant. Called on every API request, so it writes at most once per granularity per instance,
   * and the database skips rows already fresh (another instance wrote them).
   */
  async markUsed(grantId: string, at: number): Promise<void> {
    const last = this.#written.get(grantId);
    if (last !== undefined && at - last < LAST_USED_GRANULARITY_MS) return;
    if (this.#written.size >= this.maxRemembered) this.#written.delete(this.#written.keys().next().value!);
    this.#written.delete(grantId);
    this.#written.set(grantId, at);
    await this.k
      .updateTable('app_links')
      .set({ last_used_at: at })
      .where('grant_id', '=', grantId)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', at - LAST_USED_GRANULARITY_MS)]))
      .execute();
  }

  /** Sets revoked_at once; false when unknown or revoked already. */
  async revoke(grantId: string, at: number): Promise<boolean> {
    const r = await this.k.updateTable('app_links').set({ revoked_at: at }).where('grant_id', '=', grantId).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Ends every live link of a client (the client was deleted); returns how many. */
  async revokeAllForClient(clientId: string, at: number): Promise<number> {
    const r = await this.k.updateTable('app_links').set({ revoked_at: at }).where('client_id', '=', clientId).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async updateScope(grantId: string, scope: string): Promise<boolean> {
    const r = await this.k.updateTable('app_links').set({ scope }).where('grant_id', '=', grantId).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Live links whose chosen duration ("30 days", "1 year") has run out. */
  async listExpired(now: number): Promise<AppLink[]> {
    const rows = await this.k.selectFrom('app_links').selectAll().where('revoked_at', 'is', null).where('expires_at', '<=', now).execute();
    return rows.map(fromRow);
  }
}
