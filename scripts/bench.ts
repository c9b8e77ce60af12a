// npm run bench: FHIR read and search throughput against the HTTP limit (a bare Fastify route serving the same
// bytes, measured at the start and the end) and the storage limit (the same search run in-process), plus import
// speed against a raw insert, and Patient/$export against a raw dump of the same rows; the store against raw prepared
// statements, the standalone launch, and the same rows again on PostgreSQL (bench/postgres.ts). Every HTTP row carries
// the server's CPU per request. Everything is a ratio measured in the same run; see README "Benchmarks".
import { fork, type ChildProcess } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import { openDb } from '../src/store/db.js';
import { RevocationLog } from '../src/store/revocations.js';
import { measureForeign, median, processCpuSeconds } from './bench/contention.js';
import { buildDatabase, measureImportSpeed, resetForRun, type DatasetSpec } from './bench/dataset.js';
import { load, loadSession, type LoadResult } from './bench/load.js';
import { clientCredentialsRate, codeExchangeRate, launchRate, refreshRate, type LaunchRate } from './bench/auth-rates.js';
import { searchVsRaw, sqliteReadVsRaw, type InProcessRow } from './bench/inprocess.js';
import { DEFAULT_PG_URL, dropBenchDatabases, pgReachable } from './bench/pg-dataset.js';
import { benchPostgres, type PostgresResult } from './bench/postgres.js';
import { cpuRatio, measureRow, rowTable, type Row } from './bench/rows.js';
import { backendToken, startBenchServer } from './bench/server.js';
import { benchExport, exportLines, type ExportBenchResult } from './bench/export.js';

const { values: args } = parseArgs({
  options: {
    patients: { type: 'string', default: '1000' },
    'observations-per-patient': { type: 'string', default: '1000' },
    seed: { type: 'string', default: '42' },
    db: { type: 'string', default: 'data/bench/bench.db' },
    database: { type: 'string' },
    clean: { type: 'boolean', default: false },
    launches: { type: 'string' },
    'pg-pool': { type: 'string', default: '10' },
    rebuild: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '100' },
    'import-sample': { type: 'string', default: '20' },
    rounds: { type: 'string', default: '3' },
    pairs: { type: 'string', default: '12' },
    'pair-seconds': { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
    'export-only': { type: 'boolean', default: false },
    workers: { type: 'string', default: '2' },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(`usage: npm run bench -- [--patients 1000] [--observations-per-patient 1000] [--seed 42]
  [--db data/bench/bench.db | --db postgres://USER@HOST:PORT/DB] [--database sqlite|postgres|both] [--clean]
  [--pg-pool 10 (the PostgreSQL server's PG_POOL_MAX)] [--launches 100 (--quick: 20)] [--rebuild] [--seconds 10] [--warmup 2] [--connections 100] [--rounds 3] [--pairs 12] [--pair-seconds 3] [--quick]
  [--export-only] [--workers 2] [--import-sample 20]
  [--out bench-results/latest.json (--export-only: bench-results/export.json)]`);
  process.exit(0);
}
const num = (name: keyof typeof args) => {
  const n = Number(args[name]);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`--${String(name)} must be a number`);
    process.exit(2);
  }
  return n;
};
const spec: DatasetSpec = { seed: num('seed'), patients: num('patients'), observationsPerPatient: num('observations-per-patient') };
const seconds = num('seconds');
const warmupSeconds = num('warmup');
const connections = num('connections');
// The read is measured twice: the server as one process, and as this many worker processes (WORKERS) sharing the port.
const workers = Math.max(1, Math.floor(num('workers')));
// --db names the SQLite file, or a PostgreSQL server (then only PostgreSQL is measured; the data set goes into a
// database of its own there). --database picks by name; by default SQLite, then PostgreSQL when it answers.
const pgGiven = /^postgres(ql)?:/.test(args.db!);
const pgUrl = pgGiven ? args.db! : DEFAULT_PG_URL;
if (args.database !== undefined && !['sqlite', 'postgres', 'both'].includes(args.database)) {
  console.error('--database must be sqlite, postgres or both');
  process.exit(2);
}
if (args.clean) {
  const dropped = await dropBenchDatabases(pgUrl);
  console.log(dropped.length ? `dropped ${dropped.join(', ')} on ${new URL(pgUrl).host}` : `no benchmark databases on ${new URL(pgUrl).host}`);
  process.exit(0);
}
const which = args.database ?? (pgGiven ? 'postgres' : 'auto');
const runSqlite = which !== 'postgres';
const runPostgres = which === 'postgres' || which === 'both' || (which === 'auto' && (await pgReachable(pgUrl)));
if (which !== 'auto' && runPostgres && !(await pgReachable(pgUrl))) {
  console.error(`PostgreSQL does not answer at ${new URL(pgUrl).host}`);
  process.exit(2);
}
const dbFile = resolve(pgGiven ? 'data/bench/bench.db' : args.db!);
mkdirSync(dirname(dbFile), { recursive: true });
const log = (s: string) => console.error(s);
const exportOnly = args['export-only'];
const out = resolve(args.out ?? (exportOnly ? 'bench-results/export.json' : 'bench-results/latest.json'));
const children: ChildProcess[] = [];
const pgSettings = (port: number) => ({
  url: pgUrl,
  spec,
  port,
  scratchDir: dirname(dbFile),
  connections,
  seconds,
  warmupSeconds,
  rounds: Number(args.rounds),
  workers,
  poolSize: Math.max(1, Math.floor(num('pg-pool'))),
  log,
});
if (!runSqlite) {
  const r = await benchPostgres(pgSettings(18080 + Math.floor(Math.random() * 1000)));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, settings: { connections, seconds, warmupSeconds, workers }, postgres: r }, null, 2)}\n`);
  for (const line of r.lines) console.log(line);
  console.log(`written to ${out}`);
  process.exit(0);
}
const cleanup = () => children.forEach((c) => c.kill());
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

// 1. Import speed on a sample, then the full data set (kept between runs unless --rebuild).
if (!exportOnly) log(`import speed: ${args['import-sample']} patients x ${spec.observationsPerPatient} observations, raw insert vs importer`);
const importSpeed = args.quick || exportOnly ? { resources: 0, rawPerSecond: 0, importPerSecond: 0, ratio: 0 } : await measureImportSpeed(dirname(dbFile), spec, num('import-sample'));
if (!exportOnly) log(`  raw ${importSpeed.rawPerSecond}/s, importer ${importSpeed.importPerSecond}/s, ratio ${importSpeed.ratio}`);
let build: { resources: number; seconds: number } | undefined;
if (args.rebuild || !existsSync(dbFile)) {
  log(`building ${dbFile}: ${spec.patients} patients x ${spec.observationsPerPatient} observations`);
  let last = 0;
  build = await buildDatabase(dbFile, spec, (done, rate) => {
    if (Date.now() - last > 5000) {
      last = Date.now();
      log(`  ${done} resources, ${Math.round(rate)}/s`);
    }
  });
  log(`  ${build.resources} resources in ${build.seconds.toFixed(1)} s`);
}

await resetForRun({ kind: 'sqlite', filename: dbFile }, resolve('fhir-resources/seed/04-daniel-kim.json'));

// 2. What to ask for: random Observation ids, and patients with at least 50 results in the busiest category.
const raw = new BetterSqlite3(dbFile, { readonly: true });
const obsIds = (raw.prepare("select id from resources where type = 'Observation' and deleted = 0 order by random() limit 20000").pluck().all() as string[]);
const counts = raw
  .prepare(
    `select r.patient_id as pid, t.code as cat, count(*) as n from resources r join idx_token t on t.rid = r.rid and t.param = 'category'
     where r.type = 'Observation' and r.patient_id in (select id from resources where type = 'Patient' order by random() limit 50) group by 1, 2`,
  )
  .all() as { pid: string; cat: string; n: number }[];
const observationCount = raw.prepare("select count(*) from resources where type = 'Observation'").pluck().get() as number;
const patientCount = raw.prepare("select count(*) from resources where type = 'Patient'").pluck().get() as number;
raw.close();
const byCat = new Map<string, string[]>();
for (const c of counts) if (c.n >= 50) byCat.set(c.cat, [...(byCat.get(c.cat) ?? []), c.pid]);
const [category, searchPatients] = [...byCat.entries()].sort((a, b) => b[1].length - a[1].length)[0] ?? [];
if (!category || !searchPatients?.length || !obsIds.length) {
  console.error('the data set has no patient with 50 observations in one category; use more --observations-per-patient');
  process.exit(1);
}
const pick = <T>(a: readonly T[]) => a[Math.floor(Math.random() * a.length)]!;
const readPaths = obsIds.slice(0, 5000).map((id) => `/fhir/Observation/${id}`);
const searchPaths = searchPatients.map((p) => `/fhir/Observation?patient=${p}&category=${category}&_count=50`);

// 3. Pull the database file into the page cache (the VM reclaims idle pages), then start the server under test
// and the bare route, each in its own process.
await new Promise<void>((resolve, reject) => createReadStream(dbFile, { highWaterMark: 1 << 22 }).on('data', () => undefined).on('end', resolve).on('error', reject));
const PORT = 18080 + Math.floor(Math.random() * 1000);
// Bulk export (8.): a server of its own on PORT + 7000, its files in a scratch directory removed afterwards.
const runExportBench = () =>
  benchExport({ dbFile, port: PORT + 7000, dir: resolve(dirname(dbFile), 'export-scratch'), readPaths, pairs: Math.max(1, Math.floor(num('pairs'))), pairSeconds: num('pair-seconds'), connections, seconds, warmupSeconds, log });
if (exportOnly) {
  const exportResult = await runExportBench();
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, dataset: { patients: patientCount, observations: observationCount, seed: spec.seed }, settings: { connections, seconds, warmupSeconds }, export: exportResult }, null, 2)}\n`);
  console.log(`\ndata: ${patientCount} patients, ${observationCount} observations (SQLite ${dbFile})`);
  for (const line of exportLines(exportResult)) console.log(line);
  console.log(`written to ${out}`);
  process.exit(0);
}
const origin = `http://127.0.0.1:${PORT}`;
const server = await startBenchServer({ dbFile, port: PORT, publicUrl: origin });
children.push(server);
// A system/ token from the sandbox backend client: the read path then includes bearer resolution and the scope check.
// Backend tokens live 5 minutes, so each round gets a fresh one.
const newToken = () => backendToken(origin);
let auth = await newToken();
const sample = await fetch(`${origin}/fhir/Observation/${obsIds[0]}`, { headers: auth });
if (!sample.ok) throw new Error(`sample read failed: ${sample.status}`);
const sampleBody = await sample.text();
const bodyFile = resolve(dirname(dbFile), 'read-body.json');
writeFileSync(bodyFile, sampleBody);
// The same bytes as the read: its body and the headers it sets itself (content type, ETag, Last-Modified, CORS);
// Node adds the rest (Date, Content-Length, Connection, Keep-Alive) to both alike.
const readHeaders: Record<string, string> = {};
sample.headers.forEach((value, name) => {
  if (!['date', 'content-length', 'connection', 'keep-alive', 'transfer-encoding'].includes(name)) readHeaders[name] = value;
});
const headersFile = resolve(dirname(dbFile), 'read-headers.json');
writeFileSync(headersFile, JSON.stringify(readHeaders));
const barePort = PORT + 1000;
const bare = fork(resolve('scripts/bench/bare-server.ts'), [bodyFile, headersFile, String(barePort)], {
  execArgv: ['--import', 'tsx'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
children.push(bare);
await new Promise<void>((r) => bare.once('message', () => r()));
// The same route in as many processes as the server's workers: if the load generator, not one bare process, is the
// limit, this measures about the same; if it measures more, it is the HTTP limit the worker figures are held to.
const bareWorkersPort = PORT + 5000;
const bareWorkers =
  workers > 1
    ? fork(resolve('scripts/bench/bare-server.ts'), [bodyFile, headersFile, String(bareWorkersPort), String(workers)], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      })
    : undefined;
if (bareWorkers) {
  children.push(bareWorkers);
  await new Promise<void>((r) => bareWorkers.once('message', () => r()));
}
const WORKERS_PORT = PORT + 6000;
const workersServer = workers > 1 ? await startBenchServer({ dbFile, port: WORKERS_PORT, publicUrl: origin, env: { WORKERS: String(workers) }, workers }) : undefined;
if (workersServer) children.push(workersServer);

const loaders: number[] = [];
const pids = () => [process.pid, server.pid!, bare.pid!, ...loaders, ...children.map((c) => c.pid ?? 0)];
const rows: Row[] = [];
const http = async (name: string, o: string, serverPid: number, paths: readonly string[], headers: Record<string, string> = auth) => {
  const row = await measureRow({ name, origin: o, paths, headers, serverPid, connections, seconds, warmupSeconds, pids, onLoader: (pid) => loaders.push(pid), log });
  rows.push(row);
  return row;
};
// `_total=none` (a search without its count), when the server knows it.
const totalNone = (await fetch(`${origin}${searchPaths[0]}&_total=none`, { headers: auth })).status === 200;

// Rounds of bare → read → search; ratios are taken within a round (neighbours in time), then the median round.
const rounds = Number(args.rounds);
const perRound: { bare: Row; read: Row; search: Row; searchNone?: Row; bareWorkers?: Row; readWorkers?: Row }[] = [];
for (let i = 1; i <= rounds; i++) {
  log(`round ${i} of ${rounds}`);
  auth = await newToken();
  const bareRow = await http(`bare Fastify route (round ${i})`, `http://127.0.0.1:${barePort}`, bare.pid!, readPaths);
  const readRow = await http(`FHIR read Observation by id, bearer token (round ${i})`, origin, server.pid!, readPaths);
  const searchRow = await http(`FHIR search patient+category=${category}, 50 entries, bearer token (round ${i})`, origin, server.pid!, searchPaths);
  const searchNoneRow = totalNone ? await http(`the same search, _total=none (round ${i})`, origin, server.pid!, searchPaths.map((p) => `${p}&_total=none`)) : undefined;
  const bareWorkersRow = bareWorkers ? await http(`bare Fastify route, ${workers} processes (round ${i})`, `http://127.0.0.1:${bareWorkersPort}`, bareWorkers.pid!, readPaths) : undefined;
  const readWorkersRow = workersServer ? await http(`FHIR read by id, bearer token, WORKERS=${workers} (round ${i})`, `http://127.0.0.1:${WORKERS_PORT}`, workersServer.pid!, readPaths) : undefined;
  perRound.push({ bare: bareRow, read: readRow, search: searchRow, ...(searchNoneRow ? { searchNone: searchNoneRow } : {}), ...(bareWorkersRow ? { bareWorkers: bareWorkersRow } : {}), ...(readWorkersRow ? { readWorkers: readWorkersRow } : {}) });
}
if (workersServer) workersServer.kill();
if (bareWorkers) bareWorkers.kill();

// Read against bare again in short adjacent pairs from one load generator process: this machine speeds up and slows
// down by tens of per cent over tens of seconds, so two runs seconds apart share the machine's state far better than
// the rounds above (whose bare and read runs are ~16 s apart). The order alternates within the pairs; a pair with
// foreign load is measured again. The median pair ratio is the headline read / bare figure.
const pairCount = Math.floor(num('pairs'));
const pairSeconds = num('pair-seconds');
const pairs: { bare: number; read: number; foreignCores: number }[] = [];
if (pairCount > 0) {
  log(`read vs bare in ${pairCount} adjacent pairs of ${pairSeconds} s runs ...`);
  auth = await newToken();
  const session = loadSession((pid) => loaders.push(pid));
  const runOn = async (o: string, secs: number) => {
    const r = await session.run({ origin: o, paths: readPaths, connections, seconds: secs, warmupSeconds: 0, headers: auth });
    if (r.non2xx || r.errors) throw new Error(`read/bare pairs: ${r.non2xx} non-2xx responses, ${r.errors} errors; the measurement is void`);
    return r.rps;
  };
  const bareOrigin = `http://127.0.0.1:${barePort}`;
  await runOn(bareOrigin, warmupSeconds || 1);
  await runOn(origin, warmupSeconds || 1);
  for (let i = 0, tries = 0; pairs.length < pairCount && tries < pairCount * 2; tries++) {
    const m = await measureForeign(pids, async () => {
      if (i % 2 === 0) return { bare: await runOn(bareOrigin, pairSeconds), read: await runOn(origin, pairSeconds) };
      const read = await runOn(origin, pairSeconds);
      return { bare: await runOn(bareOrigin, pairSeconds), read };
    });
    if (m.foreignCores >= 0.25) {
      log(`  (pair discarded: ${m.foreignCores} cores of foreign load)`);
      continue;
    }
    pairs.push({ ...m.value, foreignCores: m.foreignCores });
    i++;
    log(`  pair ${i}: bare ${m.value.bare}, read ${m.value.read} req/s, ratio ${(m.value.read / m.value.bare).toFixed(3)}`);
  }
  session.close();
}
const bareStart = perRound[0]!.bare;
const read = { rps: median(perRound.map((r) => r.read.rps)) };
const search = { rps: median(perRound.map((r) => r.search.rps)) };
void pick;
const readOverBareRounds = perRound.map((r) => r.read.rps / r.bare.rps);
// Held to the higher of the two HTTP limits measured beside it (one bare process, or as many as the workers).
const readWorkersOverBareRounds = perRound.flatMap((r) => (r.readWorkers ? [r.readWorkers.rps / Math.max(r.bare.rps, r.bareWorkers?.rps ?? 0)] : []));
const readWorkersOverOneRounds = perRound.flatMap((r) => (r.readWorkers ? [r.readWorkers.rps / r.read.rps] : []));
const bareWorkersOverBareRounds = perRound.flatMap((r) => (r.bareWorkers ? [r.bareWorkers.rps / r.bare.rps] : []));

/** The revocation poll interval of the polling servers below (the server's default) */
const POLL_MS = 250;
// 4–5 are skipped with --quick (a re-measure of read and search alone).
const NONE: LoadResult = { rps: 0, p50: 0, p99: 0, non2xx: 0, errors: 0, timeouts: 0, maxLatency: 0, bytesPerSec: 0 };
const revocationPairs: { on: number; off: number; twin: number }[] = [];
/** The same triplets' server CPU per read (µs, all of each server's threads, from /proc) */
const revocationCpu: { on: number; off: number; twin: number }[] = [];
/** Server CPU µs per read, the three servers loaded at the same time at a fixed rate */
const simultaneous: { on: number; off: number; twin: number; rps: number[] }[] = [];
const SIMULTANEOUS_ROUNDS = 3;
const SIMULTANEOUS_RATE = 2000;
let cc = NONE;
let refresh = NONE;
let exchange = { perSecond: 0, codes: 0, failures: 0 };
if (!args.quick) {
  // 4. Revocation checking on and off: two fresh servers on the same database, started together and alike but for
  // polling, so neither carries the history (heap, caches) of the runs above.
  const startServer = async (port: number, env: Record<string, string>) => {
    const child = await startBenchServer({ dbFile, port, publicUrl: origin, env });
    children.push(child);
    return child;
  };
  // A third server, a twin of the polling one: how far two identical servers differ is the noise floor the on/off
  // difference has to rise above.
  const [PORT_ON, PORT_OFF, PORT_TWIN] = [PORT + 2000, PORT + 3000, PORT + 4000];
  const polling = { REVOCATION_POLL_MS: String(POLL_MS) };
  const servers = await Promise.all([startServer(PORT_ON, polling), startServer(PORT_OFF, { REVOCATION_POLL_MS: '0' }), startServer(PORT_TWIN, polling)]);

  // Adjacent short runs from one load-generator process, as for read / bare: on, off and the twin within seconds
  // of each other, the order rotating so that neither a trend nor a position favours one; the medians of the
  // per-triplet ratios are the figures. A triplet with foreign load is measured again.
  {
    const session = loadSession((pid) => loaders.push(pid));
    const ports = [PORT_ON, PORT_OFF, PORT_TWIN];
    const runOn = async (k: number, secs: number) => {
      const pid = servers[k]!.pid!;
      const before = processCpuSeconds(pid);
      const r = await session.run({ origin: `http://127.0.0.1:${ports[k]}`, paths: readPaths, connections, seconds: secs, warmupSeconds: 0, headers: auth });
      if (r.non2xx || r.errors) throw new Error(`revocation on/off: ${r.non2xx} non-2xx responses, ${r.errors} errors; the measurement is void`);
      return { rps: r.rps, micros: ((processCpuSeconds(pid) - before) * 1e6) / (r.rps * secs) };
    };
    auth = await newToken();
    for (let k = 0; k < ports.length; k++) await runOn(k, warmupSeconds || 1);
    const orders = [[0, 1, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0], [1, 0, 2], [0, 2, 1]];
    for (let i = 0, tries = 0; revocationPairs.length < pairCount && tries < pairCount * 2; tries++) {
      // Backend tokens live 5 minutes: a fresh one every few triplets.
      if (tries % 6 === 5) auth = await newToken();
      const m = await measureForeign(pids, async () => {
        const runs: { rps: number; micros: number }[] = [];
        for (const k of orders[i % orders.length]!) runs[k] = await runOn(k, pairSeconds);
        return runs;
      });
      if (m.foreignCores >= 0.25) {
        log(`  (triplet discarded: ${m.foreignCores} cores of foreign load)`);
        continue;
      }
      const [on, off, twin] = m.value.map((r) => r.rps) as [number, number, number];
      const [cpuOn, cpuOff, cpuTwin] = m.value.map((r) => r.micros) as [number, number, number];
      revocationPairs.push({ on, off, twin });
      revocationCpu.push({ on: cpuOn, off: cpuOff, twin: cpuTwin });
      i++;
      log(
        `  triplet ${i}: polling on ${on}, off ${off}, twin ${twin} req/s; off/on ${(off / on).toFixed(3)}, twin/on ${(twin / on).toFixed(3)}; ` +
          `CPU per read ${cpuOn.toFixed(1)} / ${cpuOff.toFixed(1)} / ${cpuTwin.toFixed(1)} µs`,
      );
    }
    session.close();
  }
  // The same three servers under the same fixed-rate load at the same time, each with a load generator of its own:
  // whatever the machine does during the window it does to all three, so their CPU per request can be compared to
  // a few per cent where the back-to-back runs above cannot. The rate leaves the machine unsaturated.
  for (let i = 0; i < SIMULTANEOUS_ROUNDS; i++) {
    auth = await newToken();
    const ports = [PORT_ON, PORT_OFF, PORT_TWIN];
    const before = servers.map((s) => processCpuSeconds(s.pid!));
    const runs = await Promise.all(
      ports.map((port) => load({ origin: `http://127.0.0.1:${port}`, paths: readPaths, connections: 20, seconds, warmupSeconds: 0, headers: auth, overallRate: SIMULTANEOUS_RATE }, (pid) => loaders.push(pid))),
    );
    const micros = servers.map((s, k) => ((processCpuSeconds(s.pid!) - before[k]!) * 1e6) / (runs[k]!.rps * seconds));
    if (runs.some((r) => r.non2xx || r.errors)) throw new Error('simultaneous revocation runs: errors or non-2xx responses; the measurement is void');
    simultaneous.push({ on: micros[0]!, off: micros[1]!, twin: micros[2]!, rps: runs.map((r) => r.rps) });
    log(`  simultaneous at ${SIMULTANEOUS_RATE} req/s each (round ${i + 1}): CPU per read on ${micros[0]!.toFixed(1)} µs, off ${micros[1]!.toFixed(1)} µs, twin ${micros[2]!.toFixed(1)} µs`);
  }
  for (const s of servers) s.kill();

  // 5. The token endpoint.
  const authSettings = { origin, fhirBase: `${origin}/fhir`, connections, seconds, warmupSeconds, onChild: (pid: number) => loaders.push(pid) };
  log('token endpoint: client_credentials with a client secret ...');
  cc = await clientCredentialsRate(authSettings);
  log(`  ${cc.rps} req/s, p50 ${cc.p50} ms, p99 ${cc.p99} ms, non-2xx ${cc.non2xx}`);
  log('token endpoint: refresh_token (confidential client) ...');
  refresh = await refreshRate(authSettings);
  log(`  ${refresh.rps} req/s, p50 ${refresh.p50} ms, p99 ${refresh.p99} ms, non-2xx ${refresh.non2xx}`);
  log('token endpoint: authorization_code exchange (300 codes made in advance) ...');
  exchange = await codeExchangeRate(authSettings, 300);
  log(`  ${exchange.perSecond} exchanges/s, ${exchange.failures} failures`);
}

// 5b. The complete standalone launch, password hashing's cost measured apart.
const launchCount = Math.max(1, Math.floor(Number(args.launches ?? (args.quick ? 20 : 100))));
log(`standalone launch: authorize → sign-in → consent → code → token, ${launchCount} launches, 8 at a time ...`);
const launch: LaunchRate = await launchRate({ origin, fhirBase: `${origin}/fhir`, connections, seconds, warmupSeconds, onChild: (pid) => loaders.push(pid), serverPid: server.pid! }, launchCount);
log(`  ${launch.perSecond} launches/s, ${launch.failures} failures, ${launch.serverCpuMs} ms server CPU per launch, of which password hashing ${launch.hashCpuMs} ms (${launch.hashWallMs} ms wall)`);

// 6. The storage limit: the same search, and the read by id, in this process: through the store, and by raw prepared
// statements of the same SQL.
log('in-process search: store vs raw prepared statements ...');
const inProcessSearch = await searchVsRaw({ target: { kind: 'sqlite', filename: dbFile }, patients: searchPatients, category, count: 50, seconds, concurrency: 1 });
for (const r of inProcessSearch) log(`  ${r.name}: ${r.opsPerSecond}/s, ${r.cpuMicros} µs CPU`);
log('in-process read by id: store vs raw prepared statements ...');
const inProcessRead = await sqliteReadVsRaw(dbFile, obsIds, seconds);
for (const r of inProcessRead) log(`  ${r.name}: ${r.opsPerSecond}/s, ${r.cpuMicros} µs CPU`);
const [rawSearchBoth, storeSearchBoth, rawSearchPage, storeSearchPage] = inProcessSearch as [InProcessRow, InProcessRow, InProcessRow, InProcessRow];
const [, rawReadByRid, storeReadPlain] = inProcessRead as [InProcessRow, InProcessRow, InProcessRow, InProcessRow];
const inproc = { value: storeSearchBoth.opsPerSecond };
const db = openDb({ kind: 'sqlite', filename: dbFile });

// 7. What revocation polling costs, measured directly: the HTTP on/off pairs above cannot resolve a few per cent on
// a shared machine (see the twin), but the poll is the only work polling adds; the read's own check is the cache
// lookup either way. CPU per poll times polls per second, as a share of one core.
log('revocation poll cost (in-process) ...');
const revocations = new RevocationLog(db);
const seq = await revocations.latestSeq();
for (let i = 0; i < 1000; i++) await revocations.since(seq);
const pollSamples: number[] = [];
for (let r = 0; r < 5; r++) {
  const polls = 5000;
  const before = process.cpuUsage();
  for (let i = 0; i < polls; i++) await revocations.since(seq);
  const used = process.cpuUsage(before);
  pollSamples.push((used.user + used.system) / polls);
}
await db.close();
const pollMicros = median(pollSamples);
const pollCoreShare = (pollMicros * (1000 / POLL_MS)) / 1e6;
log(`  ${pollMicros.toFixed(1)} µs CPU per poll; every ${POLL_MS} ms that is ${(pollCoreShare * 100).toFixed(4)}% of one core`);

const bareEnd = await http('bare Fastify route (end)', `http://127.0.0.1:${barePort}`, bare.pid!, readPaths);
cleanup();

// 8. Bulk export (skipped with --quick), once the servers above are gone.
const exportResult: ExportBenchResult | undefined = args.quick ? undefined : await runExportBench();

// 9. The same rows on PostgreSQL, when it answers (or was asked for), once the SQLite servers are gone.
const postgres: PostgresResult | undefined = runPostgres ? await benchPostgres(pgSettings(PORT + 8000)) : undefined;

const bareMean = (bareStart.rps + bareEnd.rps) / 2;
const pairRatios = pairs.map((p) => p.read / p.bare);
const drift = Math.abs(bareStart.rps - bareEnd.rps) / bareMean;
const ratio = (a: number, b: number) => Number((a / b).toFixed(3));
const result = {
  date: new Date().toISOString(),
  node: process.version,
  dataset: { patients: patientCount, observations: observationCount, seed: spec.seed, searchCategory: category },
  build: build ?? 'reused',
  settings: { connections, seconds, warmupSeconds, workers },
  http: rows,
  inProcessSearchPerSecond: inproc.value,
  revocationPairs,
  revocationCpu,
  revocationSimultaneous: { ratePerServer: SIMULTANEOUS_RATE, rounds: simultaneous },
  revocationPoll: { cpuMicrosPerPoll: Number(pollMicros.toFixed(1)), pollMs: POLL_MS, shareOfOneCore: Number(pollCoreShare.toFixed(6)) },
  tokenEndpoint: { clientCredentials: cc, refresh, codeExchange: exchange },
  inProcessSearch,
  inProcessRead,
  launch,
  postgres: postgres ?? null,
  import: importSpeed,
  readBarePairs: pairs,
  export: exportResult ?? null,
  ratios: {
    readOverBare: Number(median(pairs.length ? pairRatios : readOverBareRounds).toFixed(3)),
    readOverBarePairs: pairRatios.map((x) => Number(x.toFixed(3))),
    readOverBareRounds: readOverBareRounds.map((x) => Number(x.toFixed(3))),
    readWorkersOverBare: readWorkersOverBareRounds.length ? Number(median(readWorkersOverBareRounds).toFixed(3)) : null,
    readWorkersOverBareRounds: readWorkersOverBareRounds.map((x) => Number(x.toFixed(3))),
    bareWorkersOverBare: bareWorkersOverBareRounds.length ? Number(median(bareWorkersOverBareRounds).toFixed(3)) : null,
    searchOverInProcess: ratio(search.rps, inproc.value),
    // The store against the database itself: its search (page + total, and page alone) and its read by id.
    storeSearchOverRaw: ratio(storeSearchBoth.opsPerSecond, rawSearchBoth.opsPerSecond),
    storeSearchPageOverRawPage: ratio(storeSearchPage.opsPerSecond, rawSearchPage.opsPerSecond),
    storeReadOverRaw: ratio(storeReadPlain.opsPerSecond, rawReadByRid.opsPerSecond),
    searchNoneOverRawPage: totalNone ? ratio(median(perRound.map((r) => r.searchNone!.rps)), rawSearchPage.opsPerSecond) : null,
    searchNoneOverInProcess: totalNone ? ratio(median(perRound.map((r) => r.searchNone!.rps)), storeSearchPage.opsPerSecond) : null,
    searchNoneOverSearch: totalNone ? Number(median(perRound.map((r) => r.searchNone!.rps / r.search.rps)).toFixed(3)) : null,
    readWorkersOverOne: readWorkersOverOneRounds.length ? Number(median(readWorkersOverOneRounds).toFixed(3)) : null,
    // CPU per request of the bare route over the row's (median of rounds): the share of a request's work that HTTP is.
    bareCpuOverReadCpu: Number(median(perRound.map((r) => cpuRatio([r.bare], r.read))).toFixed(3)),
    bareCpuOverSearchCpu: Number(median(perRound.map((r) => cpuRatio([r.bare], r.search))).toFixed(3)),
    searchOverBare: ratio(search.rps, bareMean),
    importOverRaw: importSpeed.ratio,
    readRevocationOffOverOn: revocationPairs.length ? Number(median(revocationPairs.map((p) => p.off / p.on)).toFixed(3)) : null,
    // Two identical polling servers: 1.0 on a quiet machine; its spread is the smallest off/on effect one can see.
    readTwinOverOn: revocationPairs.length ? Number(median(revocationPairs.map((p) => p.twin / p.on)).toFixed(3)) : null,
    // Server CPU per read in the same triplets, polling on over off (1.0 = polling costs the read nothing).
    readTripletCpuOnOverOff: revocationCpu.length ? Number(median(revocationCpu.map((p) => p.on / p.off)).toFixed(3)) : null,
    readTripletCpuTwinOverOn: revocationCpu.length ? Number(median(revocationCpu.map((p) => p.twin / p.on)).toFixed(3)) : null,
    // CPU per read, polling on over off, all loaded at once (1.0 = polling costs nothing; the twin is the noise floor).
    readCpuOnOverOff: simultaneous.length ? Number(median(simultaneous.map((p) => p.on / p.off)).toFixed(3)) : null,
    readCpuTwinOverOn: simultaneous.length ? Number(median(simultaneous.map((p) => p.twin / p.on)).toFixed(3)) : null,
    clientCredentialsOverBare: ratio(cc.rps, bareMean),
    refreshOverBare: ratio(refresh.rps, bareMean),
    codeExchangeOverBare: ratio(exchange.perSecond, bareMean),
    bareDrift: Number(drift.toFixed(3)),
    exportOverRaw: exportResult?.overRaw ?? null,
    exportReadSlowdown: exportResult?.reads.slowdown ?? null,
  },
  targets: { exportOverRaw: 0.5, exportReadSlowdown: '< 0.10', exportPeakMemory: 'flat: the full export peaks about as high as a fifth of it', readOverBare: 0.6, searchOverInProcess: 0.6, readRevocationOffOverOn: '0.95-1.05', readTripletCpuOnOverOff: '0.95-1.05', readCpuOnOverOff: '0.95-1.05', clientCredentialsOverBare: 0.1, storeReadOverRaw: 0.8, storeSearchOverRaw: 0.8, searchNoneOverInProcess: 0.6, searchNoneOverRawPage: 0.5, readWorkersOverOne: 1.3, postgresReadOverBare: 0.25, postgresSearchOverInProcessPg: 0.6, postgresTwoInstancesOverOne: '1.6 with the cores for it' },
  trustworthy: drift <= 0.05 && !rows.some((r) => r.contended || r.errors > r.rps * seconds * 0.001) && !exportResult?.contended && !postgres?.http.some((r) => r.contended),
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);

console.log(`\ndata: ${patientCount} patients, ${observationCount} observations (SQLite ${dbFile})`);
for (const line of rowTable(rows, perRound.map((r) => r.bare))) console.log(line);
for (const r of [...inProcessSearch, ...inProcessRead]) console.log(`${`in-process: ${r.name}`.padEnd(64)} ${String(r.opsPerSecond).padStart(8)}/s, ${r.cpuMicros} µs CPU (this process)`);
const pairText = pairs.length ? `median of ${pairs.length} adjacent pairs ${pairRatios.map((x) => x.toFixed(3)).join(', ')}` : 'median of rounds';
console.log(`\nread / bare            ${result.ratios.readOverBare}  (${pairText}; target >= 0.6)`);
console.log(`read / bare, rounds    ${Number(median(readOverBareRounds).toFixed(3))}  (median of rounds ${result.ratios.readOverBareRounds.join(', ')}; bare and read ~16 s apart)`);
if (workers > 1) {
  console.log(`read / bare, WORKERS=${workers} ${result.ratios.readWorkersOverBare}  (median of rounds ${readWorkersOverBareRounds.map((x) => x.toFixed(3)).join(', ')}; against the higher bare figure of its round)`);
  console.log(`bare ${workers} processes / bare 1  ${result.ratios.bareWorkersOverBare}  (about 1: the load generator is the HTTP limit)`);
}
console.log(`search / in-process    ${result.ratios.searchOverInProcess}  (target >= 0.6)`);
console.log(`search / bare          ${result.ratios.searchOverBare}`);
console.log(`bare CPU / read CPU    ${result.ratios.bareCpuOverReadCpu}; bare CPU / search CPU ${result.ratios.bareCpuOverSearchCpu}  (server CPU per request, median of rounds: the share of the work HTTP is)`);
console.log(`store read / raw       ${result.ratios.storeReadOverRaw}  (in-process, resource cache off, vs the raw statement by rid the store runs; target >= 0.8)`);
console.log(`store search / raw     ${result.ratios.storeSearchOverRaw}  (in-process, page + total, vs raw prepared statements; target >= 0.8); page only ${result.ratios.storeSearchPageOverRawPage}`);
if (totalNone) console.log(`search _total=none     ${result.ratios.searchNoneOverSearch} of the search with its total; ${result.ratios.searchNoneOverInProcess} of the store's page in-process (target >= 0.6); ${result.ratios.searchNoneOverRawPage} of the raw page (target >= 0.5)`);
if (workers > 1) console.log(`read WORKERS=${workers} / 1     ${result.ratios.readWorkersOverOne}  (median of rounds; target >= 1.3 where the load generator leaves room)`);
console.log(
  `standalone launch      ${launch.perSecond}/s (${launch.launches} launches, 8 at a time, ${launch.failures} failed); ${launch.serverCpuMs} ms server CPU per launch, of which password hashing ${launch.hashCpuMs} ms CPU (${launch.hashWallMs} ms wall), the rest ${Number((launch.serverCpuMs - launch.hashCpuMs).toFixed(1))} ms`,
);
console.log(`import / raw insert    ${importSpeed.ratio}  (${importSpeed.importPerSecond} vs ${importSpeed.rawPerSecond} resources/s)`);
console.log(`read, revocation off/on ${result.ratios.readRevocationOffOverOn}  (median of ${revocationPairs.length} adjacent triplets ${revocationPairs.map((p) => (p.off / p.on).toFixed(3)).join(', ')}; want within 5%)`);
console.log(`revocation poll cost   ${pollMicros.toFixed(1)} µs CPU per poll, ${(pollCoreShare * 100).toFixed(4)}% of one core at one poll per ${POLL_MS} ms (all that polling adds)`);
console.log(`read, twin/on (noise)  ${result.ratios.readTwinOverOn}  (triplets ${revocationPairs.map((p) => (p.twin / p.on).toFixed(3)).join(', ')}; two identical servers)`);
console.log(
  `read CPU, on/off       ${result.ratios.readTripletCpuOnOverOff}  (CPU per read in the same triplets ${revocationCpu.map((p) => (p.on / p.off).toFixed(3)).join(', ')}; twin/on ${result.ratios.readTripletCpuTwinOverOn}; want within 5%)`,
);
console.log(
  `read CPU, on/off at once ${result.ratios.readCpuOnOverOff}  (rounds ${simultaneous.map((p) => (p.on / p.off).toFixed(3)).join(', ')}; twin/on ${result.ratios.readCpuTwinOverOn}; want within 5%)`,
);
console.log(`token: client_credentials ${cc.rps}/s = ${result.ratios.clientCredentialsOverBare} of bare (target >= 0.1); refresh ${refresh.rps}/s = ${result.ratios.refreshOverBare}; code exchange ${exchange.perSecond}/s = ${result.ratios.codeExchangeOverBare}`);
if (exportResult) for (const line of exportLines(exportResult)) console.log(line);
console.log(`bare drift start→end   ${(drift * 100).toFixed(1)}%${result.trustworthy ? '' : '  (run flagged: drift > 5%, foreign load, or errors over 0.1% of requests)'}`);
for (const line of postgres?.lines ?? []) console.log(line);
console.log(`written to ${out}`);
process.exit(0);
