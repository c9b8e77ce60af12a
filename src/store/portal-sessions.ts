// Portal sign-in sessions: the rows behind the session cookie. Ids arrive hashed; this module never sees cookies.
import type { Db } from './db.js';

export interface PortalSessionRow {
  readonly accountId: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
}

export class PortalSessionStore {
  constructor(private readonly db: Db) {}

  async create(idHash: string, accountId: string, now: number): Promise<void> {
    await this.db.kysely.insertInto('portal_sessions').values({ id_hash: idHash, account_id: accountId, created_at: now, last_seen_at: now }).execute();
  }

  async find(idHash: string): Promise<PortalSessionRow | undefined> {
    const r = await this.db.kysely.selectFrom('portal_sessions').select(['account_id', 'created_at', 'last_seen_at']).where('id_hash', '=', idHash).executeTakeFirst();
    return r && { accountId: r.account_id, createdAt: Number(r.created_at), lastSeenAt: Number(r.last_seen_at) };
  }

  async touch(idHash: string, now: number): Promise<void> {
    await this.db.kysely.updateTable('portal_sessions').set({ last_seen_at: now }).where('id_hash', '=', idHash).execute();
  }

  async delete(idHash: string): Promise<void> {
    await this.db.kysely.deleteFrom('portal_sessions').where('id_hash', '=', idHash).execute();
  }

  /** Every session of one account (a password reset signs it out everywhere); returns how many. */
  async deleteForAccount(accountId: string): Promise<number> {
    const r = await this.db.kysely.deleteFrom('portal_sessions').where('account_id', '=', accountId).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async deleteIdleSince(cutoff: number): Promise<number> {
    const r = await this.db.kysely.deleteFrom('portal_sessions').where('last_seen_at', '<', cutoff).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
