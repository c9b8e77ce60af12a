// Append-only writes (the audit trail) on a connection of their own in a worker thread. Every FHIR request adds an
// audit row; with the rows indexed by patient, a batch dirties a page per patient it touches, and writing those pages
// to the WAL cost the event loop more than the inserts' own SQL. Here the batch runs on the other core and the event
// loop only hands it over. Readers never wait for it (WAL); a writer on the main connection waits at most one batch.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** One prepared statement run with one set of parameters. Statements are prepared once per distinct text. */
export interface WriteStatement {
  readonly sql: string;
  readonly params: readonly unknown[];
}

// Plain CommonJS evaluated in the worker, so it runs the same under tsx, node and a compiled build.
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.filename, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = NORMAL');
const prepared = new Map();
const statement = (sql) => {
  let s = prepared.get(sql);
  if (!s) prepared.set(sql, (s = db.prepare(sql)));
  return s;
};
const runAll = db.transaction((statements) => {
  for (const { sql, params } of statements) statement(sql).run(...params);
});
parentPort.on('message', (m) => {
  if (m === 'close') {
    try { db.close(); } finally { parentPort.postMessage({ closed: true }); }
    return;
  }
  try {
    runAll(m.statements);
    parentPort.postMessage({ id: m.id });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String(err && err.message || err), code: err && err.code });
  }
});
`;

export interface SqliteWriter {
  /** Runs the statements in one transaction; rejects (nothing written) if any fails. */
  write(statements: readonly WriteStatement[]): Promise<void>;
  close(): Promise<void>;
}

export function startSqliteWriter(filename: string): SqliteWriter {
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, filename }, execArgv: [] });
  const pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  let nextId = 0;
  let closed: Promise<void> | undefined;
  // Only while a batch is out does the thread keep the process alive.
  worker.unref();
  const failAll = (err: Error) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on('message', (m: { id?: number; error?: string; code?: string; closed?: boolean }) => {
    if (m.id === undefined) return;
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (!pending.size && !closed) worker.unref();
    if (!p) return;
    if (m.error === undefined) p.resolve();
    else p.reject(Object.assign(new Error(m.error), { code: m.code }));
  });
  worker.on('error', (err) => failAll(err));
  worker.on('exit', () => failAll(new Error('the SQLite writer thread stopped')));
  return {
    write(statements) {
      if (closed) return Promise.reject(new Error('the SQLite writer is closed'));
      if (!statements.length) return Promise.resolve();
      const id = nextId++;
      return new Promise<void>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.ref();
        worker.postMessage({ id, statements });
      });
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        const done = () => void worker.terminate().finally(resolve);
        // Batches already handed over finish first: the thread handles messages in order.
        worker.on('message', (m: { closed?: boolean }) => m.closed && done());
        worker.once('error', done);
        // Held until the thread has closed its connection, or the process could end half-way.
        worker.ref();
        worker.postMessage('close');
        setTimeout(done, 5000).unref();
      });
      return closed;
    },
  };
}
