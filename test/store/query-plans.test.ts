// Every patient-scoped search shape the API builds keeps using an index, read from the database's own query plan, so
// a lost index fails here rather than in the benchmark. The SQL is the store's (searchStatements and
// compartmentStatements compile exactly what ResourceStore.search and .compartment run); the clauses come from the
// FHIR search parser, as the API builds them. SQLite: `EXPLAIN QUERY PLAN` must SEARCH every table, never SCAN it.
// PostgreSQL: `EXPLAIN` with sequential scans priced out (small test tables would otherwise always be read whole)
// must show index or bitmap scans only.
import t, { type Test } from 'tap';
import { CompiledQuery, sql } from 'kysely';
import { startTestApp, FHIR_BASE } from '../helpers/app.js';
import { RESOURCE_DEFS, resourceDef } from '../../src/fhir/definitions.js';
import { parseSearch, storeTotal } from '../../src/fhir/search-parse.js';
import { compartmentStatements, searchStatements, type Statement } from '../../src/store/search-sql.js';
import { exportPageQuery } from '../../src/store/export-query.js';
import type { Clause, CompartmentQuery, Cursor, ResourceQuery } from '../../src/store/resource-query.js';
import type { Db } from '../../src/store/db.js';

const FILLER = 20_000;
const FILLER_PATIENTS = 1_000;
const TABLES = ['resources', 'idx_token', 'idx_string', 'idx_date', 'idx_reference', 'resource_versions'];
const PATIENT_INDEXES = ['resources_patient_rid', 'resources_patient_date'];

/** sqlite_stat1 of the benchmark database (scripts/bench: 1,001 patients, 1,000,077 observations), after ANALYZE. */
const BENCHMARK_STATS: readonly (readonly [string, string, string])[] = [
  ['resources', 'resources_patient_rid', '1275120 45540 77 1'],
  ['resources', 'resources_patient_date', '1275120 45540 77 4'],
  ['resources', 'resources_type_date', '1275120 45540 5'],
  ['resources', 'resources_type_updated', '1275120 45540 114'],
  ['resources', 'sqlite_autoindex_resources_1', '1275120 45540 1'],
  ['resource_versions', 'sqlite_autoindex_resource_versions_1', '1275120 1 1'],
  ['idx_token', 'idx_token_rid', '3985500 4 1 1 1'],
  ['idx_token', 'idx_token_code', '3985500 199275 41 1'],
  ['idx_string', 'idx_string_rid', '30277 2 2 1'],
  ['idx_string', 'idx_string_value', '30277 3785 2 1'],
  ['idx_date', 'idx_date_rid', '1327160 1 1 1 1'],
  ['idx_reference', 'idx_reference_rid', '2810672 3 2 1 1'],
  ['idx_reference', 'idx_reference_target', '2810672 200763 6 1'],
];

interface Plan {
  /** One line per step, as the database prints it (for the failure message) */
  readonly text: string[];
  /** Steps that read a whole table or index */
  readonly fullScans: string[];
  /** Indexes used on the resources table */
  readonly resourceIndexes: string[];
  /** A sort of the rows read, which the index order did not give */
  readonly tempSort: boolean;
}

async function explain(db: Db, q: CompiledQuery): Promise<Plan> {
  if (db.dialect === 'sqlite') {
    const rows = db.sqliteAll!(`explain query plan ${q.sql}`, q.parameters) as [number, number, number, string][];
    const text = rows.map((r) => r[3]);
    // `SCAN r`, `SCAN t USING COVERING INDEX …` (no constraint): every row of a table or index; SEARCH uses a key.
    const fullScans = text.filter((l) => /^SCAN /.test(l) && l !== 'SCAN CONSTANT ROW');
    const resourceIndexes = text.flatMap((l) => {
      const m = /^SEARCH (?:r|resources) USING (?:COVERING )?INDEX (\w+)/.exec(l) ?? /^SEARCH (?:r|resources) USING INTEGER PRIMARY KEY/.exec(l);
      return m ? [m[1] ?? 'rowid'] : [];
    });
    return { text, fullScans, resourceIndexes, tempSort: text.some((l) => l.includes('TEMP B-TREE FOR ORDER BY')) };
  }
  const json = await db.kysely.transaction().execute(async (trx) => {
    // PostgreSQL still plans a Seq Scan (at a huge cost) when no index serves: that is what fails.
    await sql`set local enable_seqscan = off`.execute(trx);
    const res = await trx.executeQuery<{ 'QUERY PLAN': [{ Plan: PgNode }] }>(CompiledQuery.raw(`explain (format json) ${q.sql}`, [...q.parameters]));
    return res.rows[0]!['QUERY PLAN'][0].Plan;
  });
  const nodes: PgNode[] = [];
  const walk = (n: PgNode) => {
    nodes.push(n);
    for (const c of n.Plans ?? []) walk(c);
  };
  walk(json);
  const text = nodes.map((n) => `${n['Node Type']}${n['Relation Name'] ? ` on ${n['Relation Name']}` : ''}${n['Index Name'] ? ` using ${n['Index Name']}` : ''}`);
  const fullScans = nodes.filter((n) => n['Node Type'] === 'Seq Scan' && TABLES.includes(n['Relation Name'] ?? '')).map((n) => `Seq Scan on ${n['Relation Name']}`);
  // A bitmap scan names its index on the Bitmap Index Scan child; the index names say which table.
  const resourceIndexes = nodes.flatMap((n) => (n['Index Name'] && (n['Relation Name'] === 'resources' || n['Index Name'].startsWith('resources_')) ? [n['Index Name']] : []));
  // An Incremental Sort only orders rows that tie on the index's order (sort_date, then rid): not a sort of the range.
  return { text, fullScans, resourceIndexes, tempSort: nodes.some((n) => n['Node Type'] === 'Sort') };
}

interface PgNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PgNode[];
}

t.test('patient-scoped search shapes use indexes', async (t) => {
  const app = await startTestApp(t);
  const db = app.database.db;
  // A small record for each of several patients, so the tables have rows, statistics and more than one patient.
  for (let p = 0; p < 12; p++) {
    const patient = `p${p}`;
    await app.fhir.update('Patient', patient, { resourceType: 'Patient', id: patient, gender: 'unknown', name: [{ family: `Family${p}` }] });
    for (let o = 0; o < 12; o++) {
      const lab = o % 3 !== 0;
      await app.fhir.update('Observation', `o-${p}-${o}`, {
        resourceType: 'Observation',
        id: `o-${p}-${o}`,
        status: 'final',
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: lab ? 'laboratory' : 'vital-signs' }] }],
        code: { coding: [{ system: 'http://loinc.org', code: lab ? '718-7' : '8867-4' }] },
        subject: { reference: `Patient/${patient}` },
        effectiveDateTime: `2020-${String(1 + o).padStart(2, '0')}-01T00:00:00Z`,
      });
    }
    await app.fhir.update('Condition', `c-${p}`, {
      resourceType: 'Condition',
      id: `c-${p}`,
      subject: { reference: `Patient/${patient}` },
      code: { coding: [{ system: 'http://snomed.info/sct', code: '44054006' }] },
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'problem-list-item' }] }],
    });
  }
  // Many other patients' rows, so that one patient is a small part of a table as in production (the planners
  // choose by selectivity: with 12 patients, reading the whole type in rid order and filtering looks cheap).
  // Plain rows written by SQL: data for the planner's statistics, not the SQL under test.
  await sql`with recursive n(i) as (select 1 union all select i + 1 from n where i < ${FILLER})
    insert into resources (type, id, version_id, last_updated, deleted, patient_id, sort_date, content)
    select 'Observation', 'filler-' || i, 1, cast(${Date.parse('2020-01-01')} as bigint) + i, 0, 'fp-' || (i % ${FILLER_PATIENTS}), cast(${Date.parse('2020-01-01')} as bigint) + i * 1000, '{}' from n`.execute(db.kysely);
  const fillers = sql`select rid from resources where id like 'filler-%'`;
  await sql`insert into idx_token (rid, param, system, code)
    select rid, 'category', 'http://terminology.hl7.org/CodeSystem/observation-category', case when rid % 3 = 0 then 'vital-signs' else 'laboratory' end from (${fillers}) f`.execute(db.kysely);
  await sql`insert into idx_token (rid, param, system, code)
    select rid, 'code', 'http://loinc.org', case when rid % 3 = 0 then '8867-4' else '718-7' end from (${fillers}) f`.execute(db.kysely);
  await sql`insert into idx_date (rid, param, lo, hi) select rid, 'date', rid * 1000, rid * 1000 + 999 from (${fillers}) f`.execute(db.kysely);
  await sql`insert into idx_reference (rid, param, target_type, target_id) select rid, 'subject', 'Patient', 'fp-' || (rid % ${FILLER_PATIENTS}) from (${fillers}) f`.execute(db.kysely);
  // Statistics, as a database that has been running has them (PRAGMA optimize / autovacuum).
  await sql`analyze`.execute(db.kysely);
  if (db.dialect === 'sqlite') {
    // SQLite plans from sqlite_stat1 alone, so it can be given the benchmark database's own statistics (1,001
    // patients, 1,000,077 observations) and plan as it would there; SQLite documents writing sqlite_stat1 for this.
    // (The shapes pass on the filler's own statistics too; these are the plans that matter.)
    await sql`delete from sqlite_stat1 where tbl in ('resources', 'idx_token', 'idx_string', 'idx_date', 'idx_reference', 'resource_versions')`.execute(db.kysely);
    for (const [tbl, idx, stat] of BENCHMARK_STATS) await sql`insert into sqlite_stat1 (tbl, idx, stat) values (${tbl}, ${idx}, ${stat})`.execute(db.kysely);
    await sql`analyze sqlite_schema`.execute(db.kysely);
  }

  /** The store's query for a search as the API would run it (the service maps the parsed request the same way). */
  const query = (type: string, search: string, extra: { constraints?: Clause[]; cursor?: Cursor } = {}): ResourceQuery => {
    const request = parseSearch(resourceDef(type)!, [...new URLSearchParams(search)], { fhirBaseUrl: FHIR_BASE, strict: true });
    const cursor = extra.cursor ?? request.cursor;
    return {
      type,
      clauses: [...request.clauses, ...(extra.constraints ?? [])],
      sort: request.sort,
      count: request.summaryCount ? 0 : request.count,
      ...(cursor ? { cursor } : {}),
      total: storeTotal({ ...request, ...(cursor ? { cursor } : {}) }),
    };
  };

  const check = async (t: Test, name: string, statement: Statement<unknown> | undefined, expect: { indexes: readonly string[]; ordered?: boolean }) => {
    if (!statement) throw new Error(`${name}: no statement`);
    const compiled = statement.compile();
    const plan = await explain(db, compiled);
    // Shown only when an assertion fails.
    const shown = { plan: plan.text, sql: compiled.sql, parameters: compiled.parameters };
    t.same(plan.fullScans, [], `${name}: no full scan`, shown);
    t.ok(plan.resourceIndexes.some((i) => expect.indexes.includes(i)), `${name}: resources read through ${expect.indexes.join(' or ')} (used: ${plan.resourceIndexes.join(', ') || 'none'})`, shown);
    if (expect.ordered) t.notOk(plan.tempSort, `${name}: rows come in index order, no sort`, shown);
  };

  const TYPE_ID = db.dialect === 'sqlite' ? 'sqlite_autoindex_resources_1' : 'resources_type_id';
  const TYPE_UPDATED = db.dialect === 'sqlite' ? ['resources_type_updated'] : ['resources_type_updated', 'resources_type_updated_rid'];
  const shapes: { name: string; q: ResourceQuery; indexes: readonly string[]; ordered?: boolean }[] = [
    { name: 'patient', q: query('Observation', 'patient=p3'), indexes: ['resources_patient_rid'], ordered: true },
    { name: 'patient + category', q: query('Observation', 'patient=p3&category=laboratory'), indexes: ['resources_patient_rid'], ordered: true },
    {
      name: 'patient + category, next page (cursor)',
      q: query('Observation', 'patient=p3&category=laboratory', { cursor: { direction: 'after', key: 0, rid: 40 } }),
      indexes: ['resources_patient_rid'],
      ordered: true,
    },
    {
      name: 'patient + category, previous page (cursor)',
      q: query('Observation', 'patient=p3&category=laboratory', { cursor: { direction: 'before', key: 0, rid: 60 } }),
      indexes: ['resources_patient_rid'],
      ordered: true,
    },
    { name: 'patient + category, newest first', q: query('Observation', 'patient=p3&category=laboratory&_sort=-date'), indexes: ['resources_patient_date'], ordered: true },
    { name: 'patient + code', q: query('Observation', 'patient=p3&code=http://loinc.org|718-7'), indexes: ['resources_patient_rid'], ordered: true },
    { name: 'patient + category + date range', q: query('Observation', 'patient=p3&category=laboratory&date=ge2020-03-01&date=lt2020-09-01'), indexes: PATIENT_INDEXES },
    { name: 'patient + date range', q: query('Observation', 'patient=p3&date=ge2020-03-01&date=lt2020-09-01'), indexes: PATIENT_INDEXES },
    { name: 'patient + _lastUpdated', q: query('Observation', 'patient=p3&_lastUpdated=ge2020-01-01'), indexes: [...PATIENT_INDEXES, ...TYPE_UPDATED] },
    {
      name: 'patient + category under a patient/ token (its compartment AND-ed)',
      q: query('Observation', 'patient=p3&category=laboratory', { constraints: [{ kind: 'compartment', patientIds: ['p3'] }] }),
      indexes: ['resources_patient_rid'],
      ordered: true,
    },
    { name: 'Condition: patient + category', q: query('Condition', 'patient=p3&category=problem-list-item'), indexes: ['resources_patient_rid'], ordered: true },
    { name: '_id', q: query('Observation', '_id=o-3-4'), indexes: [TYPE_ID] },
    { name: '_id under a patient/ token', q: query('Observation', '_id=o-3-4', { constraints: [{ kind: 'compartment', patientIds: ['p3'] }] }), indexes: [TYPE_ID, ...PATIENT_INDEXES] },
  ];

  for (const shape of shapes) {
    t.test(shape.name, async (t) => {
      const statements = searchStatements(db.kysely, shape.q);
      await check(t, 'page', statements.page, shape);
      // A count needs no order, so either patient index will do.
      await check(t, 'exact total', searchStatements(db.kysely, { ...shape.q, total: true }).total, { indexes: [...shape.indexes, ...PATIENT_INDEXES] });
      const bound = searchStatements(db.kysely, { ...shape.q, total: 'upper-bound' }).total;
      // The bound keeps the resources-table criteria only; with a patient it reads the patient's index range alone.
      await check(t, 'upper-bound total', bound, { indexes: [...shape.indexes, ...PATIENT_INDEXES, ...TYPE_UPDATED, TYPE_ID] });
      // What the store runs is what was explained: the same rows come back.
      const raw = (await statements.page!.execute()).slice(0, shape.q.count);
      if (shape.q.cursor?.direction === 'before') raw.reverse();
      const page = await app.fhir.store.search(shape.q);
      t.same(page.rows.map((r) => r.rid), raw.map((r) => Number(r.rid)), 'the store returns the rows of the statement explained');
    });
  }

  t.test('Patient/$everything: the compartment across types, first and next page', async (t) => {
    const types = RESOURCE_DEFS.filter((d) => d.inCompartment && d.type !== 'Patient').map((d) => ({ type: d.type, clauses: [] as Clause[] }));
    const first: CompartmentQuery = { patientId: 'p3', types, count: 50, total: true };
    const firstPage = compartmentStatements(db.kysely, first);
    await check(t, 'first page', firstPage.page, { indexes: PATIENT_INDEXES });
    await check(t, 'total', firstPage.total, { indexes: PATIENT_INDEXES });
    await check(t, 'next page', compartmentStatements(db.kysely, { ...first, after: { type: 'Observation', rid: 40 }, total: false }).page, { indexes: PATIENT_INDEXES });
    // A granular scope's filter on one type (patient/Observation.rs?category=laboratory) stays in the SQL.
    const filtered = types.map((x) => (x.type === 'Observation' ? { type: x.type, clauses: query('Observation', 'category=laboratory').clauses as Clause[] } : x));
    await check(t, 'with a granular filter on Observation', compartmentStatements(db.kysely, { ...first, types: filtered }).page, { indexes: PATIENT_INDEXES });
    await check(t, '_since', compartmentStatements(db.kysely, { ...first, since: Date.parse('2020-01-01') }).page, { indexes: PATIENT_INDEXES });
  });

  t.test('Bulk Data export pages: one patient by rid, a whole type by (last_updated, rid)', async (t) => {
    const until = Date.now() + 60_000;
    const patient = { type: 'Observation', clauses: [], patient: 'p3', until, count: 1000 } as const;
    await check(t, 'patient, first page', exportPageQuery(db.kysely, patient), { indexes: ['resources_patient_rid'], ordered: true });
    await check(t, 'patient, next page', exportPageQuery(db.kysely, { ...patient, after: { lastUpdated: 0, rid: 40 } }), { indexes: ['resources_patient_rid'], ordered: true });
    const type = { type: 'Observation', clauses: [], until, count: 1000 } as const;
    await check(t, 'type, next page', exportPageQuery(db.kysely, { ...type, after: { lastUpdated: Date.parse('2020-01-01'), rid: 400 } }), { indexes: TYPE_UPDATED, ordered: true });
    await check(t, 'type, _since', exportPageQuery(db.kysely, { ...type, since: Date.parse('2020-01-01') }), { indexes: TYPE_UPDATED, ordered: true });
  });
});
