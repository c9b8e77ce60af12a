// A shared, append-only log of revocations. Every instance polls it so a revoked grant or token stops working on
// all of them within the poll interval, whatever database they share.
import type { Db } from './db.js';

export interface RevocationEvent {
  readonly seq: number;
  readonly grantId: string | null;
  readonly tokenHash: string | null;
}

export class RevocationLog {
  // Only the query builder: the operator scripts record revocations through a bare connection too.
  constructor(private readonly db: Pick<Db, 'kysely'>) {}

  async record(e: { grantId?: string; tokenHash?: string }): Promise<void> {
    await this.db.kysely.insertInto('revocation_event').values({ grant_id: e.grantId ?? null, token_hash: e.tokenHash ?? null, at: Date.now() }).execute();
  }

  async since(seq: number): Promise<RevocationEvent[]> {
    const rows = await this.db.kysely.selectFrom('revocation_event').select(['seq', 'grant_id', 'token_hash']).where('seq', '>', seq).orderBy('seq').limit(10_000).execute();
    return rows.map((r) => ({ seq: Number(r.seq), grantId: r.grant_id, tokenHash: r.token_hash }));
  }

  async latestSeq(): Promise<number> {
    const r = await this.db.kysely.selectFrom('revocation_event').select((eb) => eb.fn.max('seq').as('m')).executeTakeFirst();
    return Number(r?.m ?? 0);
  }

  /** Events older than every cached token's life are no longer needed. */
  async prune(olderThan: number): Promise<void> {
    await this.db.kysely.deleteFrom('revocation_event').where('at', '<', olderThan).execute();
  }
}
