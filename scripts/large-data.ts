// npm run large-data -- --db URL --patients N --observations-per-patient N: generates a synthetic data set and imports
// it, both streaming, while sampling the process's RSS, and prints what an operator sizing a database wants to know:
// wall time, resources/s, max RSS at 10% and at 100% of each phase, and the database's size. Progress on stderr, one
// JSON summary on stdout.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../src/config.js';
import { DEFAULT_BATCH_SIZE, importFiles, importResources, type ImportItem, type ImportOptions, type ImportReport } from '../src/fhir/import/importer.js';
import { pgCopyWriter } from '../src/fhir/import/pg-copy-writer.js';
import { FhirService } from '../src/fhir/service.js';
import { openDb, type Db } from '../src/store/db.js';
import { migrateToLatest } from '../src/store/migrate.js';
import { ResourceStore } from '../src/store/resources.js';
import { DEFAULT_SEED, MAX_OBSERVATIONS_PER_PATIENT, generatePatientRecord, generateSharedResources } from './generator/index.js';
import { BULK_TYPES, writeBulk } from './generator/writers.js';
import { RssSampler, type RssSummary } from './large-data/rss.js';
import { nodeCpuSeconds, postgresCpuSeconds } from './large-data/cpu.js';
import { runMain } from './cli.js';

const USAGE = `usage: npm run large-data -- --db URL --patients N --observations-per-patient N [options]

  --db URL                      postgres://... or sqlite:PATH (a SQLite file; created if missing)
  --patients N                  patients to generate (1-10000000)
  --observations-per-patient N  Observations per patient (0-${MAX_OBSERVATIONS_PER_PATIENT}); each patient also gets ~300
                                other resources (encounters, conditions, medications, reports, ...)
  --seed N                      generator seed (default ${DEFAULT_SEED})
  --batch-size N                resources per transaction (default ${DEFAULT_BATCH_SIZE})
  --method copy|insert          PostgreSQL only: COPY (default) or the store's multi-row INSERTs
 --shard I/N                   import only the I-th of N equal ranges of patients (I from 1), the shared practice
                                with shard 1: N processes at once use N cores on one database
 --range FROM-TO               import only patients FROM to TO-1 (resuming or splitting a run by hand)
  --files DIR                   write the NDJSON files into DIR first (npm run generate), then import them
                                (npm run import); without it the generator feeds the importer directly, no files

Re-running on the same database is idempotent in content: the ids are the seed's, so every resource is updated
to a new version with the same content (no duplicates), through the store's upsert (slower than a first import).`;

interface Options {
  readonly db: string;
  readonly patients: number;
  readonly perPatient: number;
  readonly seed: number;
  readonly batchSize: number;
  readonly method: 'copy' | 'insert';
  readonly files?: string;
  /** This process's range of patients, [from, to) */
  readonly from: number;
  readonly to: number;
}

function usageError(message: string): never {
  process.stderr.write(`large-data: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function integer(name: string, raw: string | undefined, min: number, max: number, fallback?: number): number {
  if (raw === undefined) {
    if (fallback === undefined) usageError(`--${name} is required`);
    return fallback;
  }
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) usageError(`--${name} must be a whole number from ${min} to ${max}, not "${raw}"`);
  return n;
}

function parse(): Options {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        db: { type: 'string' },
        patients: { type: 'string' },
        'observations-per-patient': { type: 'string' },
        seed: { type: 'string' },
        'batch-size': { type: 'string' },
        method: { type: 'string' },
        files: { type: 'string' },
        shard: { type: 'string' },
        range: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    usageError((err as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (!values.db) usageError('--db is required');
  const method = values.method ?? 'copy';
  if (method !== 'copy' && method !== 'insert') usageError(`--method must be copy or insert, not "${method}"`);
  const patients = integer('patients', values.patients, 1, 10_000_000);
  const shard = /^(\d+)\/(\d+)$/.exec(values.shard ?? '1/1');
  const [i, n] = shard ? [Number(shard[1]), Number(shard[2])] : [0, 0];
  if (i < 1 || i > n) usageError(`--shard must be I/N with 1 <= I <= N, not "${values.shard}"`);
  if (n > 1 && values.files) usageError('--shard and --files do not go together');
  const range = values.range === undefined ? undefined : /^(\d+)-(\d+)$/.exec(values.range);
  if (values.range !== undefined && (!range || Number(range[1]) >= Number(range[2]) || Number(range[2]) > patients || values.shard || values.files)) {
    usageError(`--range must be FROM-TO with FROM < TO <= --patients, without --shard or --files, not "${values.range}"`);
  }
  return {
    db: values.db,
    patients,
    from: range ? Number(range[1]) : Math.floor(((i - 1) * patients) / n),
    to: range ? Number(range[2]) : Math.floor((i * patients) / n),
    perPatient: integer('observations-per-patient', values['observations-per-patient'], 0, MAX_OBSERVATIONS_PER_PATIENT),
    seed: integer('seed', values.seed, 0, 0xffffffff, DEFAULT_SEED),
    batchSize: integer('batch-size', values['batch-size'], 1, 1_000_000, DEFAULT_BATCH_SIZE),
    method,
    ...(values.files ? { files: values.files } : {}),
  };
}

// The generator straight into the importer: one patient's record in memory at a time. It gives the event loop a turn
// per patient: on SQLite every write resolves without I/O, so without it timers (the WAL checkpointer, the RSS sampler)
// and signals would wait for the end of the run, and the WAL would grow with the whole data set.
async function* generated(o: Options, onPatient: (done: number) => void): AsyncGenerator<ImportItem> {
  if (o.from === 0) for (const [j, r] of generateSharedResources().entries()) yield { resource: r, location: `practice #${j}` };
  for (let i = o.from; i < o.to; i++) {
    const record = generatePatientRecord({ seed: o.seed, index: i, observationsPerPatient: o.perPatient });
    for (let j = 0; j < record.length; j++) yield { resource: record[j], location: `patient ${i} #${j}` };
    onPatient(i + 1 - o.from);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function databaseBytes(db: Db, config: Config): Promise<number> {
  if (config.database.kind === 'postgres') {
    const { rows } = await import('kysely').then(({ sql }) => sql<{ n: string }>`select pg_database_size(current_database())::text as n`.execute(db.kysely));
    return Number(rows[0]!.n);
  }
  const file = config.database.filename;
  return [file, `${file}-wal`].reduce((n, f) => n + (statSync(f, { throwIfNoEntry: false })?.size ?? 0), 0);
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const log = (message: string) => process.stderr.write(`[large-data] ${message}\n`);

interface Phase {
  readonly seconds: number;
  readonly resources: number;
  readonly resourcesPerSecond: number;
  readonly rss: RssSummary;
}

async function generatePhase(o: Options, dir: string): Promise<Phase> {
  const rss = new RssSampler();
  const t0 = performance.now();
  const files = await writeBulk({
    outDir: dir,
    patients: o.patients,
    seed: o.seed,
    observationsPerPatient: o.perPatient,
    onProgress: (m) => {
      const pct = /\((\d+)%\)/.exec(m);
      if (pct) rss.progress(Number(pct[1]) / 100);
      log(`generate ${m}, rss ${mb(rss.current())} MB`);
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const resources = files.reduce((n, f) => n + f.resources, 0);
  return { seconds: round(seconds), resources, resourcesPerSecond: Math.round(resources / seconds), rss: rss.stop() };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

async function main(): Promise<number> {
  const o = parse();
  let config: Config;
  try {
    config = loadConfig({ ...process.env, DATABASE_URL: o.db.startsWith('postgres') || o.db.startsWith('sqlite:') ? o.db : `sqlite:${o.db}`, SEED_DIR: '' });
  } catch (err) {
    if (err instanceof ConfigError) usageError(err.message);
    throw err;
  }
  const postgres = config.database.kind === 'postgres';
  log(`${o.patients} patients${o.to - o.from < o.patients ? ` (this process: ${o.from}-${o.to - 1})` : ''} x ${o.perPatient} observations, seed ${o.seed}, batch ${o.batchSize}, ${postgres ? `PostgreSQL via ${o.method}` : 'SQLite'}${o.files ? `, through NDJSON files in ${o.files}` : ', generator straight into the importer'}`);

  const generate = o.files ? await generatePhase(o, o.files) : undefined;
  if (generate) log(`generated ${generate.resources} resources in ${generate.seconds} s, max RSS ${mb(generate.rss.maxAt10)} MB at 10%, ${mb(generate.rss.max)} MB at 100%`);

  const db = openDb(config.database);
  try {
    await migrateToLatest(db);
    const service = new FhirService(new ResourceStore(db), config.fhirBaseUrl);
    const copy = postgres && o.method === 'copy' ? pgCopyWriter(service, (config.database as { connectionString: string }).connectionString) : undefined;
    const rss = new RssSampler();
    const expected = generate?.resources;
    const opts: ImportOptions = {
      batchSize: o.batchSize,
      progressEveryMs: 250,
      ...(copy ? { writer: copy.write } : {}),
      onProgress: (p) => {
        done = p.done;
        if (expected) rss.progress(p.done / expected);
        if (performance.now() - lastLog > 10_000) {
          lastLog = performance.now();
          log(`import ${p.done} resources, ${Math.round(p.rate)}/s, ${p.errors} errors, rss ${mb(rss.current())} MB`);
        }
      },
    };
    let lastLog = performance.now();
    let done = 0;
    const t0 = performance.now();
    // A run stopped by hand (disk, time) still says how far it got and what its memory did; committed batches stay.
    const interrupted = (signal: NodeJS.Signals) => {
      const seconds = (performance.now() - t0) / 1000;
      const r = rss.stop();
      log(`${signal}: stopped after ${done} resources committed in ${round(seconds)} s, max RSS ${mb(r.maxAt10)} MB at 10%, ${mb(r.max)} MB so far`);
      console.log(JSON.stringify({ interrupted: signal, patientRange: [o.from, o.to], import: { seconds: round(seconds), resources: done, rss: r } }));
      process.exit(130);
    };
    process.once('SIGTERM', interrupted).once('SIGINT', interrupted);
    let report: ImportReport;
    const cpu0 = nodeCpuSeconds();
    let cpu: { node: number; postgres?: number };
    try {
      report = o.files
        ? await importFiles(service, BULK_TYPES.map((t) => join(o.files!, `${t}.ndjson`)).filter((f) => existsSync(f)), opts)
        : await importResources(service, generated(o, (done) => rss.progress(done / (o.to - o.from))), opts);
      // Read before the COPY connection closes: its backend's CPU is most of the database's share.
      cpu = { node: round(nodeCpuSeconds() - cpu0), ...(postgres ? { postgres: round(await postgresCpuSeconds(db)) } : {}) };
    } finally {
      await copy?.close();
    }
    const seconds = (performance.now() - t0) / 1000;
    const imported = Object.values(report.imported).reduce((a, b) => a + b, 0);
    const importRss = rss.stop();
    const bytes = await databaseBytes(db, config);
    const summary = {
      database: postgres ? 'postgres' : 'sqlite',
      method: postgres ? o.method : 'insert',
      patients: o.patients,
      patientRange: [o.from, o.to],
      observationsPerPatient: o.perPatient,
      batchSize: o.batchSize,
      ...(generate ? { generate } : {}),
      import: { seconds: round(seconds), resources: imported, resourcesPerSecond: Math.round(imported / seconds), cpuSeconds: cpu, rss: importRss },
      imported: report.imported,
      errors: report.errors.length,
      firstErrors: report.errors.slice(0, 5),
      databaseBytes: bytes,
    };
    log(
      `imported ${imported} resources in ${round(seconds)} s (${summary.import.resourcesPerSecond}/s; CPU s: node ${cpu.node}${cpu.postgres !== undefined ? `, postgres ${cpu.postgres}` : ''}), ${report.errors.length} errors, max RSS ${mb(importRss.maxAt10)} MB at 10%, ${mb(importRss.max)} MB at 100% (heap ${mb(importRss.heapAt10)} / ${mb(importRss.heap)} MB), database ${mb(bytes)} MB`,
    );
    console.log(JSON.stringify(summary));
    return report.errors.length ? 1 : 0;
  } finally {
    await db.close();
  }
}

runMain('large-data', main);
