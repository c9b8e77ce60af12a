// The large-data path at a size CI affords (npm run large-data; full size is run by hand, see README "Synthetic
// data"): the generator writes NDJSON and the importer reads it back, both streaming, in a child process whose heap is
// capped below what the data set would take held in memory; every resource arrives; searches on the imported rows
// (COPY on PostgreSQL) answer exactly as on the same resources written one by one through the FHIR API; and running
// the import again changes nothing but the version numbers.
// TEST_LONG=1 runs 200 patients x 1,000 observations instead.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, Observation } from 'fhir/r4.js';
import { sql } from 'kysely';
import { buildApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { generatePatientRecord, generateSharedResources } from '../../scripts/generator/index.js';
import { BULK_TYPES } from '../../scripts/generator/writers.js';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../helpers/database.js';
import { runScript } from '../helpers/run-script.js';
import { TEST_SERVER_ENV } from '../helpers/test-env.js';

const LONG = process.env.TEST_LONG === '1';
const PATIENTS = LONG ? 200 : 50;
const PER_PATIENT = LONG ? 1000 : 400;
const SEED = 42;
// The V8 heap the importing process may use. The NDJSON it reads is ~45 MB at the CI size (~1.3 KB a resource), far
// more as parsed objects with their index rows, so an importer that held the data set (or a growing part of it) dies
// of heap exhaustion here; one batch of 2,000 prepared resources and the modules take ~40 MB.
const HEAP_MB = 96;
// RSS growth allowed between 10% and 100% of the import. What a streaming importer holds does not depend on how far it
// got: the later 90% of the data (~40 MB of JSON, several times that as objects) cannot fit in this if it were kept.
// What remains is V8 growing its heap towards HEAP_MB, allocator slack and, on SQLite, the connection's page cache,
// which fills up to its configured bound (cache_size, 128 MB in src/store/db.ts) as the file grows.
const SQLITE_PAGE_CACHE_MB = 128;
const RSS_GROWTH_MB = 48 + (usingPostgres ? 0 : SQLITE_PAGE_CACHE_MB);
// The V8 heap still in use after a full collection (--expose-gc), at 10% and at the end of the import: what the importer
// holds on to, which no cache of SQLite's or the allocator's blurs, nor the moment a collection happened to run. With
// nothing kept it moves by a few MB; holding on to each resource read grew it by 36 MB at the CI size (tried).
const LIVE_HEAP_GROWTH_MB = 16;
const PUBLIC_URL = 'http://localhost:8080';

interface Summary {
  readonly method: string;
  readonly generate?: { readonly resources: number; readonly rss: { readonly maxAt10: number; readonly max: number } };
  readonly import: {
    readonly resources: number;
    readonly seconds: number;
    readonly rss: { readonly maxAt10: number; readonly max: number; readonly liveAt10: number; readonly liveAtEnd: number };
  };
  readonly imported: Record<string, number>;
  readonly errors: number;
}

async function largeData(database: TestDatabase, args: readonly string[]): Promise<Summary> {
  const run = await runScript('large-data', ['--db', database.url, '--observations-per-patient', String(PER_PATIENT), '--batch-size', '2000', ...args], {
    NODE_OPTIONS: `--max-old-space-size=${HEAP_MB} --expose-gc`,
  });
  if (run.code !== 0) throw new Error(`large-data exited ${run.code}: ${run.stderr.slice(-2000)}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as Summary;
}

async function openApp(database: TestDatabase): Promise<App> {
  const config = { ...loadConfig({ ...TEST_SERVER_ENV, PUBLIC_URL, SEED_DIR: '' }), database: database.target };
  return buildApp({ config, db: database.db, logger: false, openFhir: true });
}

async function storedCounts(database: TestDatabase): Promise<Record<string, number>> {
  const { rows } = await sql<{ type: string; n: number | string }>`select type, count(*) as n from resources group by type`.execute(database.db.kysely);
  return Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]));
}

async function search(app: App, url: string): Promise<{ total: number | undefined; entries: unknown[] }> {
  const res = await app.server.inject({ url: `/fhir/${url}` });
  if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode} ${res.body}`);
  const bundle = JSON.parse(res.body) as Bundle;
  // The same resources with the same content; lastUpdated is the moment each was written and the version how often (both differ by design).
  const entries = (bundle.entry ?? []).map((e) => {
    const { meta, ...rest } = e.resource as Observation;
    return { mode: e.search?.mode, resource: { ...rest, meta: { ...meta, lastUpdated: undefined, versionId: undefined } } };
  });
  return { total: bundle.total, entries };
}

// Searches of each shape an app makes, built from the patient's own data so that each matches something.
function searchesFor(index: number): string[] {
  const record = generatePatientRecord({ seed: SEED, index, observationsPerPatient: PER_PATIENT });
  const patient = record.find((r) => r.resourceType === 'Patient')!.id!;
  const obs = record.filter((r): r is Observation => r.resourceType === 'Observation');
  const lab = obs.find((o) => o.category?.some((c) => c.coding?.some((x) => x.code === 'laboratory')))!;
  const code = lab.code.coding![0]!;
  const date = (lab.effectiveDateTime ?? '2020-01-01').slice(0, 10);
  return [
    `Patient?_id=${patient}`,
    `Observation?patient=${patient}&category=laboratory&_count=50`,
    `Observation?patient=${patient}&code=${encodeURIComponent(`${code.system}|${code.code}`)}&_sort=-date`,
    `Observation?patient=${patient}&category=vital-signs&date=ge${date}&_count=20`,
    `Observation?subject=Patient/${patient}&_summary=count`,
    `Condition?patient=${patient}`,
    `Encounter?patient=${patient}&_sort=date&_count=10`,
    `MedicationRequest?patient=${patient}`,
    `DiagnosticReport?patient=${patient}&category=LAB`,
    `Immunization?patient=${patient}`,
  ];
}

t.test(`${PATIENTS} patients x ${PER_PATIENT} observations generate and import in bounded memory, searchable as if written through the API`, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'large-data-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const database = await createTestDatabase({ file: true });
  t.teardown(() => database.close());

  const summary = await largeData(database, ['--patients', String(PATIENTS), '--files', dir]);
  t.equal(summary.method, usingPostgres ? 'copy' : 'insert', 'PostgreSQL imports through COPY');
  t.equal(summary.errors, 0, 'no resource failed');

  // Counts: what the generator wrote, line by line, is what the database holds, type by type.
  const lines = Object.fromEntries(
    BULK_TYPES.map((type) => [type, readFileSync(join(dir, `${type}.ndjson`), 'utf8').split('\n').filter(Boolean).length] as const).filter(([, n]) => n > 0),
  );
  t.equal(lines.Observation, PATIENTS * PER_PATIENT, 'exactly the observations asked for');
  t.equal(lines.Patient, PATIENTS);
  t.same(await storedCounts(database), lines, 'every generated resource is stored once');
  t.same(summary.imported, lines, 'and the importer counted them so');
  t.equal(summary.import.resources, summary.generate!.resources);

  const mb = (n: number) => Math.round(n / 1024 / 1024);
  const growth = mb(summary.import.rss.max - summary.import.rss.maxAt10);
  const { rss } = summary.import;
  t.comment(`import: ${summary.import.resources} resources in ${summary.import.seconds} s, max RSS ${mb(rss.maxAt10)} MB at 10%, ${mb(rss.max)} MB at 100%, live heap ${mb(rss.liveAt10)} / ${mb(rss.liveAtEnd)} MB`);
  const liveGrowth = mb(rss.liveAtEnd - rss.liveAt10);
  t.ok(liveGrowth < LIVE_HEAP_GROWTH_MB, `import heap live after a collection grows ${liveGrowth} MB from 10% to the end (bound ${LIVE_HEAP_GROWTH_MB} MB)`);
  t.ok(growth < RSS_GROWTH_MB, `import RSS grows ${growth} MB from 10% to 100% (bound ${RSS_GROWTH_MB} MB, heap capped at ${HEAP_MB} MB${usingPostgres ? '' : `, SQLite page cache up to ${SQLITE_PAGE_CACHE_MB} MB`})`);
  const genGrowth = mb(summary.generate!.rss.max - summary.generate!.rss.maxAt10);
  t.ok(genGrowth < RSS_GROWTH_MB, `generator RSS grows ${genGrowth} MB from 10% to 100%`);

  // The same two patients (and the practice they refer to) written one by one through the API, on a database of its own.
  const viaApi = await createTestDatabase();
  t.teardown(() => viaApi.close());
  const api = await openApp(viaApi);
  t.teardown(() => api.server.close());
  for (const r of [...generateSharedResources(), ...[0, 1].flatMap((index) => generatePatientRecord({ seed: SEED, index, observationsPerPatient: PER_PATIENT }))]) {
    const res = await api.server.inject({ method: 'PUT', url: `/fhir/${r.resourceType}/${r.id}`, payload: r as object });
    if (res.statusCode >= 300) throw new Error(`PUT ${r.resourceType}/${r.id}: ${res.statusCode} ${res.body}`);
  }

  const imported = await openApp(database);
  t.teardown(() => imported.server.close());
  const compare = async (label: string) => {
    for (const url of [...searchesFor(0), ...searchesFor(1)]) {
      const [a, b] = await Promise.all([search(imported, url), search(api, url)]);
      t.ok(b.total !== undefined ? b.total > 0 : b.entries.length > 0, `${url} matches something`);
      t.same(a, b, `${label}: ${url} answers as on data written through the API`);
    }
  };
  await compare('imported');

  // Again, for the first two patients: the same ids, so each resource gets a new version with the same content.
  const again = await largeData(database, ['--patients', '2']);
  t.equal(again.errors, 0);
  t.same(await storedCounts(database), lines, 'running the import again duplicates nothing');
  const { rows } = await sql<{ v: number }>`select max(version_id) as v from resources where patient_id = ${searchesFor(0)[0]!.slice('Patient?_id='.length)}`.execute(database.db.kysely);
  t.equal(Number(rows[0]!.v), 2, 'the re-imported resources are at version 2');
  await compare('re-imported');
});
