// Moves SQLite WAL checkpoints off the event loop. With automatic checkpoints, the commit that crosses the WAL
// threshold copies ~1000 pages back into the database file while a request waits on it: measured here, half of a
// token insert's cost. A worker thread with its own connection runs PASSIVE checkpoints instead, which never block
// readers or writers; the request path only appends to the WAL.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// Plain CommonJS evaluated in the worker, so it runs the same under tsx, node and a compiled build.
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.filename, { fileMustExist: true });
for (const a of workerData.attach) db.prepare('attach database ? as ' + a.schema).run(a.file);
db.pragma('busy_timeout = 0');
const timer = setInterval(() => {
  // Without a schema name the pragma checkpoints every attached database too (the audit file).
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy: the next tick tries again */ }
}, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m !== 'close') return;
  clearInterval(timer);
  try { db.close(); } finally { parentPort.postMessage('closed'); }
});
`;

export interface Checkpointer {
  close(): Promise<void>;
}

/** A database the thread's connection attaches beside the main file; checkpoints cover every attached file too. */
export interface Attachment {
  readonly schema: string;
  readonly file: string;
}

export function startCheckpointer(filename: string, attach: readonly Attachment[], intervalMs: number): Checkpointer {
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, filename, attach, intervalMs }, execArgv: [] });
  worker.unref();
  let closed: Promise<void> | undefined;
  return {
    close() {
      closed ??= new Promise<void>((resolve) => {
        const done = () => void worker.terminate().finally(resolve);
        worker.once('message', done);
        worker.once('error', done);
        worker.postMessage('close');
        setTimeout(done, 2000).unref();
      });
      return closed;
    },
  };
}
