// Supervises the worker processes of a WORKERS > 1 server: forks them, replaces one that dies, and on SIGINT/SIGTERM
// passes the signal on and exits once every worker has closed (each finishes its requests and flushes its audit
// buffer first, within SHUTDOWN_TIMEOUT_SECONDS: src/shutdown.ts), non-zero if any worker missed its deadline. The
// workers share the listening port through node:cluster; they share all state through the database, like separate
// instances would.
import cluster, { type Worker } from 'node:cluster';
import { answerMetricsScrapes } from './metrics/cluster-metrics.js';

interface Log {
  info(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

/** A worker that dies this soon after it was started counts as failing to start. */
const EARLY_EXIT_MS = 5_000;
/** This many early exits in a row mean the workers cannot start (bad configuration, database gone): give up. */
const MAX_EARLY_EXITS = 5;
const RESTART_DELAY_MS = 1_000;

/** `stopTimeoutMs`: after passing on a stop signal, kill workers still running this much later. */
export function superviseWorkers(count: number, log: Log, stopTimeoutMs: number): void {
  const startedAt = new Map<number, number>();
  let stopping = false;
  let earlyExits = 0;

  const fork = (): Worker => {
    const worker = cluster.fork();
    startedAt.set(worker.id, Date.now());
    return worker;
  };

  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker.id) ?? 0);
    startedAt.delete(worker.id);
    if (stopping) {
      // A worker that missed its shutdown deadline exits non-zero: so does the server.
      if (code !== 0) process.exitCode = 1;
      if (startedAt.size === 0) process.exit();
      return;
    }
    earlyExits = lived < EARLY_EXIT_MS ? earlyExits + 1 : 0;
    log.error({ worker: worker.process.pid, code, signal, livedMs: lived }, 'a worker process exited; starting another');
    if (earlyExits >= MAX_EARLY_EXITS) {
      log.error(`workers exited ${earlyExits} times in a row right after starting; stopping`);
      stop('SIGTERM', 1);
      return;
    }
    setTimeout(() => {
      if (!stopping) fork();
    }, RESTART_DELAY_MS);
  });

  const stop = (signal: NodeJS.Signals, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping the workers');
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
    if (exitCode) process.exitCode = exitCode;
    if (startedAt.size === 0) process.exit();
    setTimeout(() => {
      log.error('workers did not stop in time; killing them');
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
      process.exit(1);
    }, stopTimeoutMs).unref();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  // A worker that receives GET /metrics asks here for every worker's metrics together.
  answerMetricsScrapes();
  for (let i = 0; i < count; i++) fork();
}
