// A shared, append-only log of revocations. Every instance reads it so a revoked grant or token stops working on all
// of them, whatever database they share: by polling, and on PostgreSQL also woken at once by a NOTIFY that each
// write sends in its own statement (see revocation-listener.ts).
import { PostgresAdapter, sql } from 'kysely';
import type { Db } from './db.js';

export interface RevocationEvent {
  readonly seq: number;
  readonly grantId: string | null;
  readonly tokenHash: string | null;
  /** When it was recorded (ms since the epoch): the metrics' revocation lag */
  readonly at: number;
}

/** The LISTEN/NOTIFY channel; the payload is the new event's seq */
export const REVOCATION_CHANNEL = 'revocation_event';

export class RevocationLog {
  // Only the query builder (or a transaction): the portal's proxy service records revocations through its own.
  constructor(private readonly db: Pick<Db, 'kysely'>) {}

  async record(e: { grantId?: string; tokenHash?: string }): Promise<void> {
    const row = { grant_id: e.grantId ?? null, token_hash: e.tokenHash ?? null, at: Date.now() };
    // The query builder may be a transaction's: read the dialect from the executor, not from a Db.
    if (!(this.db.kysely.getExecutor().adapter instanceof PostgresAdapter)) {
      await this.db.kysely.insertInto('revocation_event').values(row).execute();
      return;
    }
    // Insert and notify in one statement, hence in one transaction: PostgreSQL delivers a NOTIFY only when its
    // transaction commits, so listeners never hear of an event they cannot read, nor of one that was rolled back.
    await sql`with e as (insert into revocation_event (grant_id, token_hash, at) values (${row.grant_id}, ${row.token_hash}, ${row.at}) returning seq)
      select pg_notify(${REVOCATION_CHANNEL}, seq::text) from e`.execute(this.db.kysely);
  }

  /** Events after `seq`, in order, and those among `alsoSeqs` (numbers skipped earlier because not yet committed). */
  async since(seq: number, alsoSeqs: readonly number[] = []): Promise<RevocationEvent[]> {
    const rows = await this.db.kysely
      .selectFrom('revocation_event')
      .select(['seq', 'grant_id', 'token_hash', 'at'])
      .where((eb) => (alsoSeqs.length ? eb.or([eb('seq', '>', seq), eb('seq', 'in', [...alsoSeqs])]) : eb('seq', '>', seq)))
      .orderBy('seq')
      .limit(10_000)
      .execute();
    return rows.map((r) => ({ seq: Number(r.seq), grantId: r.grant_id, tokenHash: r.token_hash, at: Number(r.at) }));
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
