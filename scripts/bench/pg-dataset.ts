// The benchmark data set on PostgreSQL: a database of its own, named after what it holds (bench_<hash of seed,
// patients and observations per patient>), loaded once through the project's importer and kept between runs.
// It is loaded under a temporary name and renamed when complete, so an interrupted load is never mistaken for a
// data set. `--clean` drops every bench_ database.
import { createHash } from 'node:crypto';
import pg from 'pg';
import { importResources } from '../../src/fhir/import/importer.js';
import { pgCopyWriter } from '../../src/fhir/import/pg-copy-writer.js';
import { FhirService } from '../../src/fhir/service.js';
import { openDb } from '../../src/store/db.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { ResourceStore } from '../../src/store/resources.js';
import { BENCH_BASE, records, type DatasetSpec } from './dataset.js';

/** The default PostgreSQL server: DATABASE_URL when it names one, else the local server's postgres database. */
export const DEFAULT_PG_URL = process.env.DATABASE_URL?.startsWith('postgres') ? process.env.DATABASE_URL : 'postgres://postgres@127.0.0.1:5432/postgres';

/** The same server, another database. */
export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export function benchDatabaseName(spec: DatasetSpec): string {
  // v1: the generator's output for a spec; bump it when the generator changes what a seed produces.
  const hash = createHash('sha256').update(JSON.stringify({ v: 1, seed: spec.seed, patients: spec.patients, observationsPerPatient: spec.observationsPerPatient })).digest('hex');
  return `bench_${hash.slice(0, 12)}`;
}

async function admin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Whether a PostgreSQL server answers at `url` (within 3 s). */
export async function pgReachable(url: string): Promise<boolean> {
  try {
    await admin(url, (c) => c.query('select 1'));
    return true;
  } catch {
    return false;
  }
}

/** Drops every benchmark database on the server (bench_*, finished or not); returns their names. */
export async function dropBenchDatabases(url: string): Promise<string[]> {
  return admin(url, async (c) => {
    const names = (await c.query<{ datname: string }>("select datname from pg_database where datname like 'bench\\_%'")).rows.map((r) => r.datname);
    for (const n of names) await c.query(`drop database if exists "${n}" with (force)`);
    return names;
  });
}

/**
 * The URL of the data set's database, loading it first when it is not there yet. Returns how long the load took,
 * or 'reused'.
 */
export async function ensurePgDataset(
  url: string,
  spec: DatasetSpec,
  log: (s: string) => void,
): Promise<{ url: string; name: string; build: { resources: number; seconds: number; errors: number } | 'reused' }> {
  const name = benchDatabaseName(spec);
  const loading = `${name}_loading`;
  const exists = await admin(url, async (c) => (await c.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1);
  if (exists) return { url: withDatabase(url, name), name, build: 'reused' };
  await admin(url, async (c) => {
    await c.query(`drop database if exists "${loading}" with (force)`);
    await c.query(`create database "${loading}"`);
  });
  log(`loading PostgreSQL ${name}: ${spec.patients} patients x ${spec.observationsPerPatient} observations (once; kept until --clean)`);
  const target = withDatabase(url, loading);
  const db = openDb({ kind: 'postgres', connectionString: target });
  const t0 = performance.now();
  let last = 0;
  let report;
  try {
    await migrateToLatest(db);
    const service = new FhirService(new ResourceStore(db), BENCH_BASE);
    // As `npm run import` does on PostgreSQL: new resources through COPY.
    const copy = pgCopyWriter(service, target);
    report = await importResources(service, records(spec), {
      writer: copy.write,
      onProgress: (p) => {
        if (Date.now() - last > 10_000) {
          last = Date.now();
          log(`  ${p.done} resources, ${Math.round(p.rate)}/s`);
        }
      },
    }).finally(() => copy.close());
  } finally {
    await db.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  const resources = Object.values(report.imported).reduce((a, b) => a + b, 0);
  if (report.errors.length) throw new Error(`loading ${loading}: ${report.errors.length} import errors, first: ${report.errors[0]!.message}`);
  // Fresh planner statistics for the whole set before anything is measured against it.
  await admin(withDatabase(url, loading), (c) => c.query('vacuum analyze'));
  await admin(url, (c) => c.query(`alter database "${loading}" rename to "${name}"`));
  log(`  ${resources} resources in ${seconds.toFixed(1)} s`);
  return { url: withDatabase(url, name), name, build: { resources, seconds, errors: report.errors.length } };
}
