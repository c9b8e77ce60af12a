// How a version and its index rows reach the tables: the resource JSON with its meta, and the index rows in
// bound-parameter-sized chunks (or, on SQLite, on the connection's cached single-row statements).
import type { Transaction } from 'kysely';
import type { Db } from './db.js';
import type { IndexData } from './resource-query.js';
import type { ResourceDocument, WriteInput } from './resources.js';
import type { Database } from './schema.js';

export function withMeta(resource: ResourceDocument, id: string, version: number, at: number): string {
  const { meta, ...rest } = resource;
  const { versionId: _v, lastUpdated: _l, ...otherMeta } = meta ?? {};
  // resourceType, id and meta lead, as FHIR examples and most clients print them.
  const { resourceType, id: _id, ...body } = rest;
  return JSON.stringify({ resourceType, id, meta: { ...otherMeta, versionId: String(version), lastUpdated: new Date(at).toISOString() }, ...body });
}

export async function deleteIndex(trx: Transaction<Database>, rids: number[]): Promise<void> {
  for (const t of ['idx_token', 'idx_string', 'idx_date', 'idx_reference'] as const) {
    await trx.deleteFrom(t).where('rid', 'in', rids).execute();
  }
}

export async function insertIndex(trx: Transaction<Database>, items: { rid: number; index: IndexData }[]): Promise<void> {
  const tokens = items.flatMap(({ rid, index }) => index.tokens.map((t) => ({ rid, param: t.param, system: t.system, code: t.code })));
  const strings = items.flatMap(({ rid, index }) => index.strings.map((s) => ({ rid, param: s.param, value: s.value })));
  const dates = items.flatMap(({ rid, index }) => index.dates.map((d) => ({ rid, param: d.param, lo: d.lo, hi: d.hi })));
  const refs = items.flatMap(({ rid, index }) =>
    index.references.map((x) => ({ rid, param: x.param, target_type: x.targetType, target_id: x.targetId })),
  );
  // Stay under SQLite's 32,766 bound-parameter limit (and PostgreSQL's 65,535).
  for (const c of chunks(tokens, 2000)) await trx.insertInto('idx_token').values(c).execute();
  for (const c of chunks(strings, 2000)) await trx.insertInto('idx_string').values(c).execute();
  for (const c of chunks(dates, 2000)) await trx.insertInto('idx_date').values(c).execute();
  for (const c of chunks(refs, 2000)) await trx.insertInto('idx_reference').values(c).execute();
}

// The same rows as the Kysely path, on cached single-row statements of the connection the transaction holds.
export function insertFreshSqlite(run: NonNullable<Db['sqliteRun']>, fresh: readonly { input: Omit<WriteInput, 'mode' | 'ifMatch'>; json: string }[], now: number): number {
  for (const { input, json } of fresh) {
    const ix = input.index;
    const rid = run('insert into resources (type, id, version_id, last_updated, deleted, patient_id, sort_date, content) values (?, ?, 1, ?, 0, ?, ?, ?)', [input.type, input.id, now, ix.patientId, ix.sortDate, json]);
    run('insert into resource_versions (rid, version_id, type, id, last_updated, deleted, content) values (?, 1, ?, ?, ?, 0, ?)', [rid, input.type, input.id, now, json]);
    for (const t of ix.tokens) run('insert into idx_token (rid, param, system, code) values (?, ?, ?, ?)', [rid, t.param, t.system, t.code]);
    for (const x of ix.strings) run('insert into idx_string (rid, param, value) values (?, ?, ?)', [rid, x.param, x.value]);
    for (const d of ix.dates) run('insert into idx_date (rid, param, lo, hi) values (?, ?, ?, ?)', [rid, d.param, d.lo, d.hi]);
    for (const r of ix.references) run('insert into idx_reference (rid, param, target_type, target_id) values (?, ?, ?, ?)', [rid, r.param, r.targetType, r.targetId]);
  }
  return fresh.length;
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
