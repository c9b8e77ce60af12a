// Developer aid: is version B of the read path faster than version A? Runs two checkouts (e.g. a `git worktree` of
// an older commit beside this one) as two servers on the benchmark database and measures the same FHIR reads
// against each in alternating short runs, so the machine's drift (tens of per cent here) hits both alike. Reports,
// per round and as medians, req/s and the server's CPU per request (all its threads, from /proc). Mode `token`
// measures the token endpoint instead (client_credentials with the sandbox backend client's secret), mode `search`
// the bench's patient + laboratory search (50 entries a page).
// `npx tsx scripts/bench/compare.ts /path/to/checkout-a /path/to/checkout-b [rounds] [seconds] [read|token|search]`
import { resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { median, processCpuSeconds as cpuSeconds } from './contention.js';
import { loadSession } from './load.js';
import { BACKEND_TOKEN_REQUEST, backendToken, startBenchServer } from './server.js';

const [a, b, rounds = '8', seconds = '4', mode = 'read'] = process.argv.slice(2);
if (!a || !b || !['read', 'token', 'search'].includes(mode)) {
  console.error('usage: npx tsx scripts/bench/compare.ts CHECKOUT_A CHECKOUT_B [rounds] [seconds] [read|token|search]');
  process.exit(2);
}
const dirs = [resolve(a), resolve(b)];
const dbFile = resolve('data/bench/bench.db');
const raw = new BetterSqlite3(dbFile, { readonly: true });
const paths =
  mode === 'search'
    ? (raw.prepare("select id from resources where type = 'Patient' order by random() limit 50").pluck().all() as string[]).map((p) => `/fhir/Observation?patient=${p}&category=laboratory&_count=50`)
    : (raw.prepare("select id from resources where type = 'Observation' order by random() limit 5000").pluck().all() as string[]).map((id) => `/fhir/Observation/${id}`);
raw.close();
const port = 19000 + Math.floor(Math.random() * 800);
const origin = `http://127.0.0.1:${port}`;
const servers = await Promise.all(dirs.map((cwd, i) => startBenchServer({ dbFile, port: port + i, publicUrl: origin, cwd })));
process.on('exit', () => servers.forEach((s) => s.kill()));
// Each server issues a token, as a production server does (its OAuth requests run in the same process).
const bearer = await backendToken(origin);
await backendToken(`http://127.0.0.1:${port + 1}`);
const request = mode === 'token' ? BACKEND_TOKEN_REQUEST : { paths, headers: bearer };
// One load generator process for all runs, so they follow each other within milliseconds.
const loader = loadSession();
process.on('exit', () => loader.close());

// Warm both up first, so each measured run below is all the CPU it is divided by.
for (let i = 0; i < 2; i++) await loader.run({ origin: `http://127.0.0.1:${port + i}`, ...request, connections: 100, seconds: 1, warmupSeconds: 0 });
const results: { rps: number; micros: number }[][] = [[], []];
for (let round = 0; round < Number(rounds); round++) {
  // Alternate who goes first, so a trend over the run does not favour one side.
  for (const i of round % 2 ? [1, 0] : [0, 1]) {
    const pid = servers[i]!.pid!;
    const before = cpuSeconds(pid);
    const r = await loader.run({ origin: `http://127.0.0.1:${port + i}`, ...request, connections: 100, seconds: Number(seconds), warmupSeconds: 0 });
    if (r.non2xx) throw new Error(`${dirs[i]}: ${r.non2xx} non-2xx responses`);
    results[i]!.push({ rps: r.rps, micros: ((cpuSeconds(pid) - before) * 1e6) / (r.rps * Number(seconds)) });
  }
  console.log(`round ${round + 1}: ${dirs.map((d, i) => `${d} ${results[i]!.at(-1)!.rps} req/s ${results[i]!.at(-1)!.micros.toFixed(1)} µs`).join(' | ')}`);
}
for (const [i, d] of dirs.entries()) console.log(`${d}: median ${median(results[i]!.map((r) => r.rps))} req/s, ${median(results[i]!.map((r) => r.micros)).toFixed(1)} µs CPU per request`);
const wins = results[1]!.filter((r, k) => r.rps > results[0]![k]!.rps).length;
console.log(`B faster than A in ${wins} of ${rounds} rounds`);
process.exit(0);
