// ResourceQuery clauses → Kysely expressions: one helper per clause kind, each an Expression<SqlBool> over `r`.
import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { Clause, DateCondition, SortKey } from './resource-query.js';
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
