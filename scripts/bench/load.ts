// One HTTP measurement: autocannon in a child process, cycling through `paths`; returns req/s and latencies.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface LoadResult {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
  readonly errors: number;
  /** Requests that got no answer within autocannon's 10 s (counted in errors too) */
  readonly timeouts: number;
  readonly maxLatency: number;
  readonly bytesPerSec: number;
}

export interface LoadOptions {
  readonly origin: string;
  readonly paths: readonly string[];
  readonly connections: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly headers?: Record<string, string>;
  readonly method?: 'GET' | 'POST';
  readonly body?: string;
  /** Requests per second across all connections; absent means as fast as the server answers */
  readonly overallRate?: number;
}

/**
 * A load generator process kept for several measurements: back-to-back runs then start within milliseconds of each
 * other instead of after the seconds a new process takes to start.
 */
export interface LoadSession {
  /** One measurement; calls made while one runs wait their turn (two at once would share the process's CPU). */
  run(o: LoadOptions): Promise<LoadResult>;
  close(): void;
}

/** Starts a load generator process; `onChild` learns its pid so the contention check can count it as ours. */
export function loadSession(onChild?: (pid: number) => void): LoadSession {
  const child = fork(fileURLToPath(new URL('./load-worker.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  if (child.pid) onChild?.(child.pid);
  let failed: Error | undefined;
  const waiting: { resolve: (r: LoadResult) => void; reject: (e: Error) => void }[] = [];
  const fail = (err: Error) => {
    failed ??= err;
    for (const w of waiting.splice(0)) w.reject(err);
  };
  child.on('message', (m) => waiting.shift()?.resolve(m as LoadResult));
  child.once('error', fail);
  child.once('exit', (code) => fail(new Error(`load generator exited with ${code}`)));
  const send = (o: LoadOptions) =>
    new Promise<LoadResult>((resolve, reject) => {
      if (failed) return reject(failed);
      waiting.push({ resolve, reject });
      child.send({ origin: o.origin, paths: o.paths, connections: o.connections, seconds: o.seconds, warmupSeconds: o.warmupSeconds, headers: o.headers ?? {}, method: o.method ?? 'GET', body: o.body, overallRate: o.overallRate });
    });
  let turn: Promise<unknown> = Promise.resolve();
  return {
    run(o) {
      const result = turn.then(() => send(o));
      turn = result.catch(() => undefined);
      return result;
    },
    close() {
      child.removeAllListeners('exit');
      child.kill();
    },
  };
}

/** One measurement in a load generator process of its own. */
export async function load(o: LoadOptions, onChild?: (pid: number) => void): Promise<LoadResult> {
  const session = loadSession(onChild);
  try {
    return await session.run(o);
  } finally {
    session.close();
  }
}
