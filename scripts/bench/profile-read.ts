// Developer aid: CPU-profiles the server under load on the benchmark database, to see where the time goes.
// `npx tsx scripts/bench/profile-read.ts [seconds] [read|search|token]` → prints the top self-time functions
// (read: FHIR read by id with a bearer token; search: patient+category, 50 entries; token: client_credentials with a
// client secret).
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { load } from './load.js';
import { BACKEND_TOKEN_REQUEST, backendToken, startBenchServer } from './server.js';

const dbFile = 'data/bench/bench.db';
const seconds = Number(process.argv[2] ?? 8);
const mode = process.argv[3] ?? 'read';
const raw = new BetterSqlite3(dbFile, { readonly: true });
const ids = raw.prepare("select id from resources where type = 'Observation' order by random() limit 5000").pluck().all() as string[];
const patients = raw.prepare("select id from resources where type = 'Patient' order by random() limit 50").pluck().all() as string[];
raw.close();
const dir = mkdtempSync(join(tmpdir(), 'prof-'));
const PORT = 19000 + Math.floor(Math.random() * 500);
const origin = `http://127.0.0.1:${PORT}`;
const server = await startBenchServer({ dbFile, port: PORT, publicUrl: origin, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
const headers = await backendToken(origin);
const r =
  mode === 'token'
    ? await load({ origin, ...BACKEND_TOKEN_REQUEST, connections: 50, seconds, warmupSeconds: 1 })
    : mode === 'search'
      ? await load({ origin, paths: patients.map((p) => `/fhir/Observation?patient=${p}&category=laboratory&_count=50`), connections: 50, seconds, warmupSeconds: 1, headers })
      : await load({ origin, paths: ids.map((id) => `/fhir/Observation/${id}`), connections: 50, seconds, warmupSeconds: 1, headers });
console.log(`${r.rps} req/s, non-2xx ${r.non2xx}`);
server.kill('SIGINT');
await new Promise((res) => server.once('exit', res));
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
if (!file) throw new Error('no profile written');
type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] };
const prof = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nodes: Node[]; samples: number[] };
const self = new Map<number, number>();
for (const s of prof.samples) self.set(s, (self.get(s) ?? 0) + 1);
const byFn = new Map<string, number>();
for (const n of prof.nodes) {
  const url = n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/main\//, '');
  const k = `${n.callFrame.functionName || '(anon)'} ${url}:${n.callFrame.lineNumber}`;
  byFn.set(k, (byFn.get(k) ?? 0) + (self.get(n.id) ?? 0));
}
const total = prof.samples.length;
for (const [k, v] of [...byFn.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 40))) console.log(((100 * v) / total).toFixed(1).padStart(5), k);
console.log(`profile: ${join(dir, file)}`);
