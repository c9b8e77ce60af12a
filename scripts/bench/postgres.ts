// The bench's rows on PostgreSQL: the data set in a database of its own (pg-dataset.ts), the server on it, and the
// same read and search rows as on SQLite against the bare route, plus what only PostgreSQL has: the search against
// the same SQL sent straight through `pg` in-process, all workers against one, and two server instances on the one
// database against one instance. Every row carries the server's CPU per request.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import pg from 'pg';
import type { ChildProcess } from 'node:child_process';
import { median, treeCpuSeconds, clean } from './contention.js';
import { resetForRun, type DatasetSpec } from './dataset.js';
import { searchVsRaw, type InProcessRow } from './inprocess.js';
import { load } from './load.js';
import { ensurePgDataset } from './pg-dataset.js';
import { cpuRatio, measureRow, ownHeaders, rowTable, startBare, type Row } from './rows.js';
import { backendToken, startBenchServer } from './server.js';

export interface PostgresSettings {
  readonly url: string;
  readonly spec: DatasetSpec;
  readonly port: number;
  readonly scratchDir: string;
  readonly connections: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly rounds: number;
  readonly workers: number;
  /** The server's pool size (PG_POOL_MAX), also the in-process search's concurrency */
  readonly poolSize: number;
  readonly log: (s: string) => void;
}

export interface PostgresResult {
  readonly database: string;
  readonly build: unknown;
  readonly dataset: { readonly patients: number; readonly observations: number; readonly searchCategory: string };
  readonly http: readonly Row[];
  readonly inProcessSearch: readonly InProcessRow[];
  readonly twoInstances: readonly { one: number; two: number; oneCpuMicros: number; twoCpuMicros: number }[];
  readonly ratios: Record<string, number | null>;
  readonly lines: readonly string[];
}

export async function benchPostgres(s: PostgresSettings): Promise<PostgresResult> {
  const { log } = s;
  const ds = await ensurePgDataset(s.url, s.spec, log);
  await resetForRun({ kind: 'postgres', connectionString: ds.url }, resolve('fhir-resources/seed/04-daniel-kim.json'));

  // What to ask for, as on SQLite: random Observation ids, and patients with 50 results in the busiest category.
  const client = new pg.Client({ connectionString: ds.url });
  await client.connect();
  const obsIds = (await client.query<{ id: string }>("select id from resources where type = 'Observation' and deleted = 0 order by random() limit 5000")).rows.map((r) => r.id);
  const counts = (
    await client.query<{ pid: string; cat: string; n: string }>(
      `select r.patient_id as pid, t.code as cat, count(*) as n from resources r join idx_token t on t.rid = r.rid and t.param = 'category'
       where r.type = 'Observation' and r.patient_id in (select id from resources where type = 'Patient' order by random() limit 50) group by 1, 2`,
    )
  ).rows;
  const observations = Number((await client.query("select count(*) as n from resources where type = 'Observation'")).rows[0].n);
  const patients = Number((await client.query("select count(*) as n from resources where type = 'Patient'")).rows[0].n);
  await client.end();
  const byCat = new Map<string, string[]>();
  for (const c of counts) if (Number(c.n) >= 50) byCat.set(c.cat, [...(byCat.get(c.cat) ?? []), c.pid]);
  const [category, searchPatients] = [...byCat.entries()].sort((a, b) => b[1].length - a[1].length)[0] ?? [];
  if (!category || !searchPatients?.length || !obsIds.length) throw new Error('the PostgreSQL data set has no patient with 50 observations in one category');
  const readPaths = obsIds.map((id) => `/fhir/Observation/${id}`);
  const searchPaths = searchPatients.map((p) => `/fhir/Observation?patient=${p}&category=${category}&_count=50`);

  const children: ChildProcess[] = [];
  const loaders: number[] = [];
  const pids = () => [process.pid, ...loaders, ...children.map((c) => c.pid ?? 0)];
  const origin = `http://127.0.0.1:${s.port}`;
  const env = { PG_POOL_MAX: String(s.poolSize) };
  try {
    const server = await startBenchServer({ dbFile: '', databaseUrl: ds.url, port: s.port, publicUrl: origin, env });
    children.push(server);
    let auth = await backendToken(origin);
    const sample = await fetch(`${origin}${readPaths[0]}`, { headers: auth });
    if (!sample.ok) throw new Error(`PostgreSQL sample read failed: ${sample.status}`);
    const bodyFile = resolve(s.scratchDir, 'pg-read-body.json');
    const headersFile = resolve(s.scratchDir, 'pg-read-headers.json');
    writeFileSync(bodyFile, await sample.text());
    writeFileSync(headersFile, JSON.stringify(ownHeaders(sample)));
    const barePort = s.port + 1;
    const bare = await startBare(bodyFile, headersFile, barePort);
    children.push(bare);
    const totalNone = (await fetch(`${origin}${searchPaths[0]}&_total=none`, { headers: auth })).status === 200;
    const workersPort = s.port + 2;
    const workersServer = s.workers > 1 ? await startBenchServer({ dbFile: '', databaseUrl: ds.url, port: workersPort, publicUrl: origin, env: { ...env, WORKERS: String(s.workers) }, workers: s.workers }) : undefined;
    if (workersServer) children.push(workersServer);

    const run = (name: string, o: string, pid: number, paths: readonly string[], headers: Record<string, string> = auth) =>
      measureRow({ name: `PostgreSQL: ${name}`, origin: o, paths, headers, serverPid: pid, connections: s.connections, seconds: s.seconds, warmupSeconds: s.warmupSeconds, pids, onLoader: (p) => loaders.push(p), log });
    const rows: Row[] = [];
    const perRound: { bare: Row; read: Row; search: Row; searchNone?: Row; readWorkers?: Row }[] = [];
    for (let i = 1; i <= s.rounds; i++) {
      log(`PostgreSQL round ${i} of ${s.rounds}`);
      auth = await backendToken(origin);
      const r = {
        bare: await run(`bare Fastify route (round ${i})`, `http://127.0.0.1:${barePort}`, bare.pid!, readPaths),
        read: await run(`FHIR read Observation by id, bearer token (round ${i})`, origin, server.pid!, readPaths),
        search: await run(`FHIR search patient+category=${category}, 50 entries (round ${i})`, origin, server.pid!, searchPaths),
        ...(totalNone ? { searchNone: await run(`the same search, _total=none (round ${i})`, origin, server.pid!, searchPaths.map((p) => `${p}&_total=none`)) } : {}),
        ...(workersServer ? { readWorkers: await run(`FHIR read by id, WORKERS=${s.workers} (round ${i})`, `http://127.0.0.1:${workersPort}`, workersServer.pid!, readPaths) } : {}),
      };
      perRound.push(r);
      rows.push(...Object.values(r));
    }
    workersServer?.kill();

    // Two instances on the one database against one: the same two load generators (half the connections each) aim
    // both at instance A, then one at A and one at B, so only the number of server processes differs.
    const portB = s.port + 3;
    const serverB = await startBenchServer({ dbFile: '', databaseUrl: ds.url, port: portB, publicUrl: origin, env });
    children.push(serverB);
    await backendToken(`http://127.0.0.1:${portB}`);
    const twoInstances: { one: number; two: number; oneCpuMicros: number; twoCpuMicros: number }[] = [];
    const half = Math.max(1, Math.floor(s.connections / 2));
    const pair = async (ports: [number, number], secs = s.seconds) => {
      const cpu0 = treeCpuSeconds(server.pid!) + treeCpuSeconds(serverB.pid!);
      const rs = await Promise.all(ports.map((p) => load({ origin: `http://127.0.0.1:${p}`, paths: readPaths, connections: half, seconds: secs, warmupSeconds: 0, headers: auth }, (pid) => loaders.push(pid))));
      if (rs.some((r) => r.non2xx)) throw new Error('two instances: non-2xx responses; the measurement is void');
      const rps = rs[0]!.rps + rs[1]!.rps;
      return { rps, cpuMicros: Number((((treeCpuSeconds(server.pid!) + treeCpuSeconds(serverB.pid!) - cpu0) * 1e6) / (rps * secs)).toFixed(1)) };
    };
    // B is new: warm both up under the two-instance load first, so neither measurement pays for B's start.
    await pair([s.port, portB], Math.max(1, s.warmupSeconds));
    for (let i = 1; i <= s.rounds; i++) {
      log(`PostgreSQL: read by id, one instance vs two on the one database (round ${i}) ...`);
      auth = await backendToken(origin);
      const m = await clean(pids, async () => {
        const one = await pair([s.port, s.port]);
        const two = await pair([s.port, portB], Math.max(1, s.warmupSeconds));
        return { one: one.rps, two: two.rps, oneCpuMicros: one.cpuMicros, twoCpuMicros: two.cpuMicros };
      });
      twoInstances.push(m.value);
      log(`  one instance ${m.value.one} req/s (${m.value.oneCpuMicros} µs CPU/req), two ${m.value.two} req/s (${m.value.twoCpuMicros} µs), ratio ${(m.value.two / m.value.one).toFixed(3)}, foreign ${m.foreignCores} cores`);
    }
    serverB.kill();

    // The storage limit: the same search in this process, through the store and straight through `pg`.
    log(`PostgreSQL: in-process search, store vs the same SQL through pg (${s.poolSize} at a time) ...`);
    const inProcessSearch = await searchVsRaw({ target: { kind: 'postgres', connectionString: ds.url }, patients: searchPatients, category, count: 50, seconds: s.seconds, concurrency: s.poolSize });
    for (const r of inProcessSearch) log(`  ${r.name}: ${r.opsPerSecond}/s, ${r.cpuMicros} µs CPU`);

    const med = (xs: number[]) => (xs.length ? Number(median(xs).toFixed(3)) : null);
    const bares = perRound.map((r) => r.bare);
    const [rawBoth, storeBoth, rawPage] = inProcessSearch;
    const search = median(perRound.map((r) => r.search.rps));
    const ratios: Record<string, number | null> = {
      readOverBare: med(perRound.map((r) => r.read.rps / r.bare.rps)),
      readBareCpuOverRead: med(perRound.map((r) => cpuRatio([r.bare], r.read))),
      searchOverInProcessPg: Number((search / rawBoth!.opsPerSecond).toFixed(3)),
      searchOverInProcessStore: Number((search / storeBoth!.opsPerSecond).toFixed(3)),
      searchNoneOverRawPage: totalNone ? Number((median(perRound.map((r) => r.searchNone!.rps)) / rawPage!.opsPerSecond).toFixed(3)) : null,
      searchNoneOverSearch: totalNone ? med(perRound.map((r) => r.searchNone!.rps / r.search.rps)) : null,
      storeSearchOverPg: Number((storeBoth!.opsPerSecond / rawBoth!.opsPerSecond).toFixed(3)),
      readWorkersOverOne: workersServer ? med(perRound.map((r) => r.readWorkers!.rps / r.read.rps)) : null,
      twoInstancesOverOne: med(twoInstances.map((t) => t.two / t.one)),
    };
    const lines = [
      `\nPostgreSQL: ${patients} patients, ${observations} observations (database ${ds.name}; pool ${s.poolSize} per process)`,
      ...rowTable(rows, bares),
      ...inProcessSearch.map((r) => `${`in-process: ${r.name}`.padEnd(64)} ${String(r.opsPerSecond).padStart(8)}/s, ${r.cpuMicros} µs CPU (this process)`),
      ...twoInstances.map((t, i) => `two instances vs one, round ${i + 1}: ${t.one} → ${t.two} req/s, server CPU ${t.oneCpuMicros} → ${t.twoCpuMicros} µs/req`),
      `PG read / bare            ${ratios.readOverBare}  (median of rounds; target >= 0.25); bare CPU / read CPU ${ratios.readBareCpuOverRead}`,
      `PG search / in-process pg ${ratios.searchOverInProcessPg}  (page + total through pg, ${s.poolSize} at a time; target >= 0.6); / in-process store ${ratios.searchOverInProcessStore}`,
      `PG store / pg, in-process ${ratios.storeSearchOverPg}  (page + total)`,
      ...(totalNone ? [`PG search _total=none     ${ratios.searchNoneOverSearch} of the search with its total; ${ratios.searchNoneOverRawPage} of the raw page through pg`] : ['PG search _total=none     (not supported by this server)']),
      ...(workersServer ? [`PG read WORKERS=${s.workers} / 1    ${ratios.readWorkersOverOne}  (median of rounds; target >= 1.3 where the load generator leaves room)`] : []),
      `PG two instances / one    ${ratios.twoInstancesOverOne}  (same two load generators; target >= 1.6 with the cores for it)`,
    ];
    return { database: ds.name, build: ds.build, dataset: { patients, observations, searchCategory: category }, http: rows, inProcessSearch, twoInstances, ratios, lines };
  } finally {
    for (const c of children) c.kill();
  }
}
