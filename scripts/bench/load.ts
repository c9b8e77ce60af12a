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

/** Runs the load; `onChild` learns the load generator's pid so the contention check can count it as ours. */
export function load(o: LoadOptions, onChild?: (pid: number) => void): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./load-worker.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    if (child.pid) onChild?.(child.pid);
    child.once('message', (m) => {
      resolve(m as LoadResult);
      child.kill();
    });
    child.once('error', reject);
    child.once('exit', (code) => code && reject(new Error(`load generator exited with ${code}`)));
    child.send({ origin: o.origin, paths: o.paths, connections: o.connections, seconds: o.seconds, warmupSeconds: o.warmupSeconds, headers: o.headers ?? {}, method: o.method ?? 'GET', body: o.body, overallRate: o.overallRate });
  });
}
