// An export thread: its own database connection (read-only on SQLite), its own event loop, and the lowest CPU
// priority the OS gives, so an export uses what the interactive API leaves over instead of competing with it. It
// stays up between jobs (starting a thread and its modules costs more than a small export), running one at a time.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { NulSafeClient } from '../store/pg-text.js';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import type { DatabaseTarget } from '../config.js';
import type { Database } from '../store/schema.js';
import { ExportStopped, runExport, type EngineInput } from './export-engine.js';
import type { ExportFile, ExportProgress } from './export-spec.js';

export interface ExportWorkerData {
  readonly target: DatabaseTarget;
  /** Niceness for this thread (Linux: priority is per thread); 0 leaves it alone */
  readonly nice: number;
}

export type ExportWorkerRequest =
  | { readonly kind: 'run'; readonly job: string; readonly input: EngineInput }
  | { readonly kind: 'stop' }
  | { readonly kind: 'close' }
  /** Pause this many times a page's own duration after each page (0: full speed) */
  | { readonly kind: 'pace'; readonly factor: number };

export type ExportWorkerMessage = { readonly job: string } & (
  | { readonly kind: 'file'; readonly file: ExportFile }
  | { readonly kind: 'progress'; readonly progress: ExportProgress }
  | { readonly kind: 'done' }
  | { readonly kind: 'stopped' }
  | { readonly kind: 'error'; readonly message: string }
);

const data = workerData as ExportWorkerData;
const port = parentPort!;
const post = (m: ExportWorkerMessage) => port.postMessage(m);

function lowerPriority(nice: number): void {
  if (!nice) return;
  try {
    // /proc/thread-self → "<pid>/task/<tid>"; setpriority on a Linux thread id changes that thread alone.
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (tid) setPriority(tid, nice);
  } catch {
    // Not Linux, or not allowed: the export runs at normal priority.
  }
}

function connect(target: DatabaseTarget): Kysely<Database> {
  if (target.kind === 'sqlite') {
    const raw = new BetterSqlite3(target.filename, { readonly: true, fileMustExist: true });
    raw.pragma('busy_timeout = 5000');
    return new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  }
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: target.connectionString, max: 1, Client: NulSafeClient }) }) });
}

lowerPriority(data.nice);
const kysely = connect(data.target);
let current: AbortController | undefined;
let pace = 0;
const throttle = async (pageMs: number) => {
  if (pace > 0) await sleep(pageMs * pace);
};
port.on('message', (m: ExportWorkerRequest) => {
  if (m.kind === 'pace') return void (pace = m.factor);
  if (m.kind === 'stop') return current?.abort();
  if (m.kind === 'close') return void kysely.destroy().finally(() => port.close());
  const controller = new AbortController();
  current = controller;
  const { job } = m;
  runExport(kysely, m.input, { file: (file) => post({ job, kind: 'file', file }), progress: (progress) => post({ job, kind: 'progress', progress }) }, controller.signal, throttle)
    .then(
      () => post({ job, kind: 'done' }),
      (err: unknown) => post(err instanceof ExportStopped ? { job, kind: 'stopped' } : { job, kind: 'error', message: err instanceof Error ? err.message : String(err) }),
    )
    .finally(() => {
      if (current === controller) current = undefined;
    });
});
