// One HTTP row of the bench: a load run against a server with the contention check, plus the server's own CPU per
// request (all its threads and worker processes, from /proc). req/s follows the load generator's share of the two
// cores; CPU per request is what the server itself spent, and bare CPU / row CPU is how much work a request adds
// over the bare route.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { clean, median, treeCpuSeconds } from './contention.js';
import { load, type LoadResult } from './load.js';

export type Row = LoadResult & {
  readonly name: string;
  readonly foreignCores: number;
  readonly contended: boolean;
  /** The server's CPU per request, µs */
  readonly cpuMicros: number;
};

export interface RowRun {
  readonly name: string;
  readonly origin: string;
  readonly paths: readonly string[];
  readonly headers?: Record<string, string>;
  /** The process answering (its workers are counted with it) */
  readonly serverPid: number;
  readonly connections: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** Our processes, for the contention check */
  readonly pids: () => readonly number[];
  readonly onLoader: (pid: number) => void;
  readonly log: (s: string) => void;
}

export async function measureRow(o: RowRun): Promise<Row> {
  o.log(`${o.name} ...`);
  const r = await clean(
    o.pids,
    async () => {
      // Warm-up first, outside the CPU window: the CPU below is that of the measured requests only.
      if (o.warmupSeconds > 0) await load({ origin: o.origin, paths: o.paths, connections: o.connections, seconds: o.warmupSeconds, warmupSeconds: 0, headers: o.headers ?? {} }, o.onLoader);
      const cpu0 = treeCpuSeconds(o.serverPid);
      const res = await load({ origin: o.origin, paths: o.paths, connections: o.connections, seconds: o.seconds, warmupSeconds: 0, headers: o.headers ?? {} }, o.onLoader);
      return { ...res, cpuMicros: res.rps ? Number((((treeCpuSeconds(o.serverPid) - cpu0) * 1e6) / (res.rps * o.seconds)).toFixed(1)) : 0 };
    },
    0.25,
    2,
  );
  // A wrong status means we measured the wrong thing. Requests left unanswered for 10 s are a finding about the
  // server (reported, and the run flagged), not a reason to throw the other measurements away.
  if (r.value.non2xx) throw new Error(`${o.name}: ${r.value.non2xx} non-2xx responses; the measurement is void`);
  const row: Row = { name: o.name, ...r.value, foreignCores: r.foreignCores, contended: r.contended };
  const unanswered = row.timeouts ? `, ${row.timeouts} unanswered after 10 s` : '';
  o.log(`  ${row.rps} req/s, ${row.cpuMicros} µs server CPU/req, p50 ${row.p50} ms, p99 ${row.p99} ms, max ${row.maxLatency} ms, errors ${row.errors}${unanswered}, foreign ${row.foreignCores} cores`);
  return row;
}

/** The bare Fastify route serving `bodyFile` with `headersFile`'s headers, in `workers` processes; resolves when up. */
export async function startBare(bodyFile: string, headersFile: string, port: number, workers = 1): Promise<ChildProcess> {
  const child = fork(fileURLToPath(new URL('./bare-server.ts', import.meta.url)), [bodyFile, headersFile, String(port), String(workers)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((r) => child.once('message', () => r()));
  return child;
}

/** The headers a read sets itself, for the bare route to send too; Node adds the rest to both alike. */
export function ownHeaders(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    if (!['date', 'content-length', 'connection', 'keep-alive', 'transfer-encoding'].includes(name)) out[name] = value;
  });
  return out;
}

/** bare CPU per request / the row's: how many times the bare route's work a request of the row costs, inverted. */
export const cpuRatio = (bare: readonly Row[], row: Row) => (row.cpuMicros ? Number((median(bare.map((b) => b.cpuMicros)) / row.cpuMicros).toFixed(3)) : 0);

/** The table every database section prints: req/s, latency, server CPU per request and bare CPU / row CPU. */
export function rowTable(rows: readonly Row[], bare: readonly Row[]): string[] {
  const lines = [['scenario'.padEnd(64), 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'errors', 'foreign', 'µs CPU', 'bare/row'].map((h, i) => (i ? h.padStart(8) : h)).join(' ')];
  for (const r of rows) lines.push([r.name.padEnd(64), r.rps, r.p50, r.p99, r.maxLatency, r.errors, r.foreignCores, r.cpuMicros, cpuRatio(bare, r)].map((v, i) => (i ? String(v).padStart(8) : v)).join(' '));
  return lines;
}
