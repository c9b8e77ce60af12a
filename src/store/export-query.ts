// The one query a bulk export runs, page after page: current resources of one type, in a stable keyset order, no later
// than the export's transaction time. Takes a bare Kysely so the export thread (with its own connection) runs the same
// SQL as the server.
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { Clause } from './resource-query.js';
import { clauseExpression } from './search-sql.js';

export interface ExportPageQuery {
  readonly type: string;
  readonly clauses: readonly Clause[];
  /** One patient's compartment; 'any': in some compartment; absent: every resource of the type */
  readonly patient?: string;
  readonly anyPatient?: boolean;
  /** Exclusive lower bound on last_updated (ms) */
  readonly since?: number;
  /** Inclusive upper bound on last_updated (ms): the transaction time */
  readonly until: number;
  /** The last row of the previous page */
  readonly after?: { readonly lastUpdated: number; readonly rid: number };
  readonly count: number;
}

export interface ExportRow {
  readonly rid: number;
  readonly id: string;
  readonly lastUpdated: number;
  readonly content: string;
}

/**
 * One patient's rows come in rid order along the (type, patient_id, rid) index; everything else in (last_updated, rid)
 * order along (type, last_updated), which also makes a _since export read only the rows changed since.
 */
export async function exportPage(kysely: Kysely<Database>, q: ExportPageQuery): Promise<ExportRow[]> {
  const rows = await exportPageQuery(kysely, q).execute();
  return rows.map((r) => ({ rid: Number(r.rid), id: r.id, lastUpdated: Number(r.last_updated), content: r.content ?? '' }));
}

/** The page's statement, built but not run (the query-plan tests explain it). */
export function exportPageQuery(kysely: Kysely<Database>, q: ExportPageQuery) {
  const byPatient = q.patient !== undefined;
  const after = q.after;
  let query = kysely
    .selectFrom('resources as r')
    .select(['r.rid', 'r.id', 'r.last_updated', 'r.content'])
    .where('r.type', '=', q.type)
    .where('r.deleted', '=', 0)
    .where('r.last_updated', '<=', q.until)
    .$if(q.patient !== undefined, (s) => s.where('r.patient_id', '=', q.patient!))
    .$if(Boolean(q.anyPatient) && q.patient === undefined, (s) => s.where('r.patient_id', 'is not', null))
    .$if(q.since !== undefined, (s) => s.where('r.last_updated', '>', q.since!))
    .$if(q.clauses.length > 0, (s) => s.where((eb) => eb.and(q.clauses.map((c) => clauseExpression(eb, c)))));
  if (byPatient) {
    if (after) query = query.where('r.rid', '>', after.rid);
    query = query.orderBy('r.rid');
  } else {
    // A row value, not `a > x or (a = x and b > y)`: SQLite starts the index range at the key only for the row value;
    // with the OR every page scanned the type's index from its start (a 1M-row type: ~100 ms a page by mid-type).
    if (after) query = query.where(({ eb, refTuple, tuple }) => eb(refTuple('r.last_updated', 'r.rid'), '>', tuple(after.lastUpdated, after.rid)));
    query = query.orderBy('r.last_updated').orderBy('r.rid');
  }
  return query.limit(q.count);
}
