// ResourceQuery clauses → Kysely expressions: one helper per clause kind, each an Expression<SqlBool> over `r`.
import { sql, type CompiledQuery, type Expression, type ExpressionBuilder, type Kysely, type SqlBool } from 'kysely';
import type { Clause, CompartmentQuery, DateCondition, ResourceQuery, SortKey } from './resource-query.js';
import type { Database } from './schema.js';

type Eb = ExpressionBuilder<Database & { r: Database['resources'] }, 'r'>;

export function clauseExpression(eb: Eb, clause: Clause): Expression<SqlBool> {
  switch (clause.kind) {
    case 'id':
      return eb('r.id', 'in', [...clause.ids]);
    case 'compartment':
      // `in ()` is a syntax error in PostgreSQL; a list of no patients (a user/ token reaching none) matches nothing.
      return clause.patientIds.length ? eb('r.patient_id', 'in', [...clause.patientIds]) : sql<SqlBool>`1 = 0`;
    case 'noCompartment':
      return eb('r.patient_id', clause.missing ? 'is' : 'is not', null);
    case 'lastUpdated':
      return eb.or(clause.values.map((v) => dateMatch(eb, sql.ref('r.last_updated'), sql.ref('r.last_updated'), v)));
    case 'token': {
      const match = eb.exists(
        eb
          .selectFrom('idx_token as t')
          .select(sql.lit(1).as('one'))
          .whereRef('t.rid', '=', 'r.rid')
          .where('t.param', '=', clause.param)
          .where((tb) =>
            tb.or(
              clause.values.map((v) => {
                const parts: Expression<SqlBool>[] = [];
                if (v.code !== undefined) parts.push(tb('t.code', '=', v.code));
                if (v.system !== undefined) parts.push(tb('t.system', '=', v.system));
                return tb.and(parts);
              }),
            ),
          ),
      );
      return clause.not ? eb.not(match) : match;
    }
    case 'string':
      return eb.exists(
        eb
          .selectFrom('idx_string as s')
          .select(sql.lit(1).as('one'))
          .whereRef('s.rid', '=', 'r.rid')
          .where('s.param', '=', clause.param)
          .where((sb) =>
            sb.or(
              clause.values.map((v) =>
                clause.match === 'prefix'
                  ? sb.and([sb('s.value', '>=', v), sb('s.value', '<', `${v}\uffff`)])
                  : sql<SqlBool>`${sb.ref('s.value')} like ${`%${escapeLike(v)}%`} escape '\\'`,
              ),
            ),
          ),
      );
    case 'date':
      return eb.exists(
        eb
          .selectFrom('idx_date as d')
          .select(sql.lit(1).as('one'))
          .whereRef('d.rid', '=', 'r.rid')
          .where('d.param', '=', clause.param)
          .where((db) => db.or(clause.values.map((v) => dateMatch(db, sql.ref('d.lo'), sql.ref('d.hi'), v)))),
      );
    case 'reference':
      return eb.exists(
        eb
          .selectFrom('idx_reference as x')
          .select(sql.lit(1).as('one'))
          .whereRef('x.rid', '=', 'r.rid')
          .where('x.param', '=', clause.param)
          .where((xb) =>
            xb.or(
              clause.values.map((v) =>
                v.type ? xb.and([xb('x.target_id', '=', v.id), xb('x.target_type', '=', v.type)]) : xb('x.target_id', '=', v.id),
              ),
            ),
          ),
      );
    case 'any':
      if (!clause.of.length) return sql<SqlBool>`1 = 0`;
      return eb.or(clause.of.map((all) => (all.length ? eb.and(all.map((c) => clauseExpression(eb, c))) : sql<SqlBool>`1 = 1`)));
    case 'missing': {
      const table = { token: 'idx_token', string: 'idx_string', date: 'idx_date', reference: 'idx_reference' } as const;
      const present = sql<SqlBool>`exists (select 1 from ${sql.table(table[clause.index])} m where m.rid = r.rid and m.param = ${clause.param})`;
      return clause.missing ? eb.not(present) : present;
    }
  }
}

/** FHIR R4 §3.1.1.5.9 range semantics: stored [lo, hi] against search [v.lo, v.hi]. */
function dateMatch(
  eb: ExpressionBuilder<any, any>,
  lo: Expression<number>,
  hi: Expression<number>,
  v: DateCondition,
): Expression<SqlBool> {
  const contained = () => eb.and([eb(lo, '>=', v.lo), eb(hi, '<=', v.hi)]);
  switch (v.prefix) {
    case 'eq':
      return contained();
    case 'ne':
      return eb.not(contained());
    case 'gt':
      return eb(hi, '>', v.hi);
    case 'lt':
      return eb(lo, '<', v.lo);
    case 'ge':
      return eb.or([eb(hi, '>', v.hi), contained()]);
    case 'le':
      return eb.or([eb(lo, '<', v.lo), contained()]);
    case 'sa':
      return eb(lo, '>', v.hi);
    case 'eb':
      return eb(hi, '<', v.lo);
    case 'ap':
      // The parser has already widened the range; approximately equal means the ranges overlap.
      return eb.and([eb(lo, '<=', v.hi), eb(hi, '>=', v.lo)]);
  }
}

function escapeLike(v: string): string {
  return v.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The sort column and direction for a sort key; rid always breaks ties in the same direction. */
export function sortSpec(sort: SortKey): { column: 'r.rid' | 'r.sort_date' | 'r.last_updated'; desc: boolean } {
  switch (sort) {
    case 'rid':
      return { column: 'r.rid', desc: false };
    case 'date':
      return { column: 'r.sort_date', desc: false };
    case '-date':
      return { column: 'r.sort_date', desc: true };
    case '_lastUpdated':
      return { column: 'r.last_updated', desc: false };
    case '-_lastUpdated':
      return { column: 'r.last_updated', desc: true };
  }
}

/** A current row as a search reads it; `sort_key` only when the sort column is not rid. */
export interface CurrentRow {
  rid: number;
  type: string;
  id: string;
  version_id: number;
  last_updated: number;
  deleted: number;
  content: string | null;
  patient_id: string | null;
  sort_key?: number;
}

/** A statement built but not run: the store runs it, the query-plan tests compile it and read its plan. */
export interface Statement<Row> {
  compile(): CompiledQuery<Row>;
  execute(): Promise<Row[]>;
}

export interface SearchStatements {
  /** count + 1 rows from the cursor on, in scan order (reversed when paging backwards); absent when count is 0 */
  readonly page?: Statement<CurrentRow>;
  /** The total the query asks for (exact, or the upper bound); absent when it asks for none */
  readonly total?: Statement<{ n: number | string | bigint }>;
  readonly column: 'r.rid' | 'r.sort_date' | 'r.last_updated';
  /** Reading the rows before a cursor: the page comes back in reverse order */
  readonly backwards: boolean;
}

const CURRENT_COLUMNS = ['r.rid', 'r.type', 'r.id', 'r.version_id', 'r.last_updated', 'r.deleted', 'r.content', 'r.patient_id'] as const;

/** The SQL one search runs: its page and its count. */
export function searchStatements(kysely: Kysely<Database>, q: ResourceQuery): SearchStatements {
  const { column, desc } = sortSpec(q.sort);
  const backwards = q.cursor?.direction === 'before';
  const base = kysely
    .selectFrom('resources as r')
    .where('r.type', '=', q.type)
    .where('r.deleted', '=', 0)
    .where((eb) => eb.and(q.clauses.map((c) => clauseExpression(eb, c))));
  const total =
    q.total === 'upper-bound'
      ? kysely
          .selectFrom('resources as r')
          .where('r.type', '=', q.type)
          .where((eb) => eb.and(q.clauses.filter(onResourcesAlone).map((c) => clauseExpression(eb, c))))
          .select((eb) => eb.fn.countAll<number>().as('n'))
      : q.total
        ? base.select((eb) => eb.fn.countAll<number>().as('n'))
        : undefined;
  if (q.count === 0) return { ...(total ? { total } : {}), column, backwards };

  // Paging backwards reads the rows before the cursor in reverse order; the caller flips them.
  const scanDesc = backwards ? !desc : desc;
  const dir = scanDesc ? 'desc' : 'asc';
  let page = base.select([...CURRENT_COLUMNS]);
  if (column !== 'r.rid') page = page.select(sql<number>`${sql.ref(column)}`.as('sort_key'));
  if (q.cursor) {
    const c = q.cursor;
    const op = scanDesc ? '<' : '>';
    page =
      column === 'r.rid'
        ? page.where('r.rid', op, c.rid)
        : page.where((eb) => eb.or([eb(column, op, c.key), eb.and([eb(column, '=', c.key), eb('r.rid', op, c.rid)])]));
  }
  if (column !== 'r.rid') page = page.orderBy(column, dir);
  const statement = page.orderBy('r.rid', dir).limit(q.count + 1) as unknown as Statement<CurrentRow>;
  return { page: statement, ...(total ? { total } : {}), column, backwards };
}

/**
 * Clauses on the resources table's own columns, which its indexes answer without a join. Dropping the others (and the
 * deleted flag) only widens what is counted, so a count under these alone is never below the search's total.
 */
function onResourcesAlone(c: Clause): boolean {
  return c.kind === 'id' || c.kind === 'compartment' || c.kind === 'noCompartment' || c.kind === 'lastUpdated';
}

/**
 * Patient/$everything: one patient's compartment across types, in (type, rid) order, from the row after `after`.
 * A resource keeps its rid across updates, so paging this way neither repeats nor skips while others write.
 */
export function compartmentStatements(
  kysely: Kysely<Database>,
  q: CompartmentQuery,
): { page: Statement<CurrentRow>; total?: Statement<{ n: number | string | bigint }> } {
  const plain = q.types.filter((t) => !t.clauses.length).map((t) => t.type);
  const filtered = q.types.filter((t) => t.clauses.length);
  const base = kysely
    .selectFrom('resources as r')
    .where('r.patient_id', '=', q.patientId)
    .where('r.deleted', '=', 0)
    .where((eb) =>
      eb.or([
        ...(plain.length ? [eb('r.type', 'in', plain)] : []),
        ...filtered.map((t) => eb.and([eb('r.type', '=', t.type), ...t.clauses.map((c) => clauseExpression(eb, c))])),
      ]),
    )
    .$if(q.since !== undefined, (s) => s.where('r.last_updated', '>=', q.since!));
  const after = q.after;
  const page = base
    .select([...CURRENT_COLUMNS])
    .$if(after !== undefined, (s) =>
      s.where((eb) => eb.or([eb('r.type', '>', after!.type), eb.and([eb('r.type', '=', after!.type), eb('r.rid', '>', after!.rid)])])),
    )
    .orderBy('r.type')
    .orderBy('r.rid')
    .limit(q.count + 1) as unknown as Statement<CurrentRow>;
  return { page, ...(q.total ? { total: base.select((eb) => eb.fn.countAll<number>().as('n')) } : {}) };
}
