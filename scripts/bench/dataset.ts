// Builds the benchmark database through the real import path, and measures import speed against a raw
// better-sqlite3 insert of the very same rows (same JSON, same index rows, one transaction).
import BetterSqlite3 from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { importFiles, importResources } from '../../src/fhir/import/importer.js';
import type { DatabaseTarget } from '../../src/config.js';
import { resourceDef } from '../../src/fhir/definitions.js';
import { computeIndex } from '../../src/fhir/index-rows.js';
import { FhirService } from '../../src/fhir/service.js';
import { openDb } from '../../src/store/db.js';
import { auditDatabaseFile } from '../../src/store/audit-database.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { ResourceStore } from '../../src/store/resources.js';
import { CohortCollector, generatePatientRecord, generateSharedResources } from '../generator/index.js';

export const BENCH_BASE = 'http://127.0.0.1/fhir';

export interface DatasetSpec {
  readonly seed: number;
  readonly patients: number;
  readonly observationsPerPatient: number;
}

type Res = { resourceType: string; id?: string } & Record<string, unknown>;

export async function* records(spec: DatasetSpec, from = 0, to = spec.patients): AsyncGenerator<{ resource: unknown; location: string }> {
  // The practice the records point at (clinics, clinicians, Medications), so their references resolve.
  if (from === 0) for (const [j, r] of generateSharedResources().entries()) yield { resource: r, location: `practice #${j}` };
  // The cohort Groups (everyone, by age, by a problem) of the whole data set, after the patients they list.
  const cohorts = from === 0 && to === spec.patients ? new CohortCollector() : undefined;
  for (let i = from; i < to; i++) {
    const rs = generatePatientRecord({ seed: spec.seed, index: i, observationsPerPatient: spec.observationsPerPatient });
    cohorts?.add(rs);
    for (let j = 0; j < rs.length; j++) yield { resource: rs[j], location: `patient ${i} #${j}` };
  }
  if (cohorts) for (const [j, g] of cohorts.groups().entries()) yield { resource: g, location: `group #${j}` };
}

/** A SQLite database's files: the main file, the audit file beside it, and their WAL and shared-memory files. */
function removeDatabase(file: string): void {
  for (const f of [file, auditDatabaseFile(file)]) for (const suffix of ['', '-wal', '-shm']) rmSync(`${f}${suffix}`, { force: true });
}

async function openService(file: string): Promise<{ service: FhirService; close: () => Promise<void> }> {
  removeDatabase(file);
  const db = openDb({ kind: 'sqlite', filename: file });
  await migrateToLatest(db);
  return { service: new FhirService(new ResourceStore(db), BENCH_BASE), close: () => db.close() };
}

/**
 * Makes a built benchmark database ready for a run, on either dialect: the sandbox demo user daniel's record (the
 * token-endpoint and launch rates sign in as him; the server creates his account at start, in sandbox mode, once the
 * record is there), and none of the tokens, audit rows and grants earlier runs left behind.
 */
export async function resetForRun(target: DatabaseTarget, danielFile: string): Promise<void> {
  const db = openDb(target);
  try {
    const fhir = new FhirService(new ResourceStore(db), BENCH_BASE);
    if (!(await fhir.store.read('Patient', 'daniel-kim'))) await importFiles(fhir, [danielFile]);
    // Every run leaves tens of thousands of tokens and millions of audit rows behind; without this the token inserts
    // of run N walk B-trees grown by runs 1..N-1 and the figures drift from run to run.
    await db.kysely.deleteFrom('oidc_model').where('model', 'in', ['AccessToken', 'ClientCredentials', 'AuthorizationCode', 'Interaction', 'Session', 'Grant', 'RefreshToken']).execute();
    await db.kysely.deleteFrom('audit_events').execute();
    // A new trail: its chain starts again from the genesis hash (audit:verify would call the old head a cut tail).
    await db.kysely.updateTable('audit_chain_head').set({ last_id: 0, last_hash: Buffer.alloc(32), rows: 0 }).execute();
    await db.kysely.deleteFrom('app_links').execute();
    await db.kysely.deleteFrom('smart_context').execute();
  } finally {
    await db.close();
  }
}

/** Imports patients [0, n) into `file` through the importer; returns resources and seconds. */
export async function buildDatabase(file: string, spec: DatasetSpec, onProgress?: (done: number, rate: number) => void) {
  const { service, close } = await openService(file);
  const t0 = performance.now();
  const report = await importResources(service, records(spec), {
    batchSize: 2000,
    ...(onProgress ? { onProgress: (p: { done: number; rate: number }) => onProgress(p.done, p.rate) } : {}),
  });
  const seconds = (performance.now() - t0) / 1000;
  await close();
  const resources = Object.values(report.imported).reduce((a, b) => a + b, 0);
  return { resources, seconds, errors: report.errors.length };
}

/** Import rate vs raw insert rate on the same sample of patients, each into a fresh file. */
export async function measureImportSpeed(dir: string, spec: DatasetSpec, samplePatients: number) {
  const sample: DatasetSpec = { ...spec, patients: samplePatients };
  // Raw: the rows the importer would write, prepared in advance, inserted with prepared statements.
  const rows: { type: string; id: string; json: string; index: ReturnType<typeof computeIndex> }[] = [];
  for await (const { resource } of records(sample)) {
    const r = resource as Res;
    const def = resourceDef(r.resourceType)!;
    const id = r.id!;
    rows.push({ type: r.resourceType, id, json: JSON.stringify({ ...r, meta: { versionId: '1', lastUpdated: new Date().toISOString() } }), index: computeIndex(def, r, id, BENCH_BASE) });
  }
  const rawFile = `${dir}/raw-insert.db`;
  const { close } = await openService(rawFile);
  await close();
  const raw = new BetterSqlite3(rawFile);
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  const insRes = raw.prepare('insert into resources (type, id, version_id, last_updated, deleted, patient_id, sort_date, content) values (?, ?, 1, ?, 0, ?, ?, ?)');
  const insVer = raw.prepare('insert into resource_versions (rid, version_id, type, id, last_updated, deleted, content) values (?, 1, ?, ?, ?, 0, ?)');
  const insTok = raw.prepare('insert into idx_token (rid, param, system, code) values (?, ?, ?, ?)');
  const insStr = raw.prepare('insert into idx_string (rid, param, value) values (?, ?, ?)');
  const insDate = raw.prepare('insert into idx_date (rid, param, lo, hi) values (?, ?, ?, ?)');
  const insRef = raw.prepare('insert into idx_reference (rid, param, target_type, target_id) values (?, ?, ?, ?)');
  const t0 = performance.now();
  raw.transaction(() => {
    const now = Date.now();
    for (const r of rows) {
      const rid = Number(insRes.run(r.type, r.id, now, r.index.patientId, r.index.sortDate, r.json).lastInsertRowid);
      insVer.run(rid, r.type, r.id, now, r.json);
      for (const t of r.index.tokens) insTok.run(rid, t.param, t.system, t.code);
      for (const s of r.index.strings) insStr.run(rid, s.param, s.value);
      for (const d of r.index.dates) insDate.run(rid, d.param, d.lo, d.hi);
      for (const x of r.index.references) insRef.run(rid, x.param, x.targetType, x.targetId);
    }
  })();
  const rawSeconds = (performance.now() - t0) / 1000;
  raw.close();
  removeDatabase(rawFile);
  const imp = await buildDatabase(`${dir}/import-sample.db`, sample);
  removeDatabase(`${dir}/import-sample.db`);
  return {
    resources: rows.length,
    rawPerSecond: Math.round(rows.length / rawSeconds),
    importPerSecond: Math.round(imp.resources / imp.seconds),
    ratio: Number((rows.length / rawSeconds > 0 ? imp.resources / imp.seconds / (rows.length / rawSeconds) : 0).toFixed(3)),
  };
}
