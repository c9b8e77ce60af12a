// Append-only writes (the audit trail) on a connection of their own in a worker thread. Every FHIR request adds an
// audit row; with the rows indexed by patient, a batch dirties a page per patient it touches, and writing those pages
// to the WAL cost the event loop more than the inserts' own SQL. Here the batch runs on the other core and the event
// loop only hands it over. Readers never wait for it (WAL); a writer on the main connection waits at most one batch.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Attachment } from './checkpointer.js';

/** One prepared statement run with one set of parameters. Statements are prepared once per distinct text. */
export interface WriteStatement {
  readonly sql: string;
  readonly params: readonly unknown[];
  /**
   * The name of a function the writer's setup registered (see startSqliteWriter): it runs in the writer thread, inside
   * the transaction, just before the statement, and returns the parameters the statement runs with. The audit chain
   * hashes its rows this way, where the write lock is held (src/store/audit-chain.ts).
   */
  readonly prepare?: string;
}

// Plain CommonJS evaluated in the worker, so it runs the same under tsx, node and a compiled build.
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.filename, { fileMustExist: true });
for (const a of workerData.attach) db.prepare('attach database ? as ' + a.schema).run(a.file);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = NORMAL');
// Functions statements name to compute their parameters in this thread (the audit chain's, see src/store/audit-chain.ts).
const prepares = new Map();
if (workerData.setup) new Function('db', 'require', 'prepares', workerData.setup)(db, require, prepares);
const paramsOf = ({ params, prepare }) => (prepare ? prepares.get(prepare)(params) : params);
const prepared = new Map();
const statement = (sql) => {
  let s = prepared.get(sql);
  if (!s) prepared.set(sql, (s = db.prepare(sql)));
  return s;
};
const runAll = db.transaction((statements) => {
  for (const st of statements) statement(st.sql).run(...paramsOf(st));
});
// Writes handed over in the same event-loop turn arrive as groups: one transaction (one commit) for all of them.
// If that fails, each group runs alone, so one caller's bad statement never fails another caller's write.
const runGroups = db.transaction((groups) => {
  for (const g of groups) for (const st of g) statement(st.sql).run(...paramsOf(st));
});
const describe = (err) => ({ error: String(err && err.message || err), code: err && err.code });
parentPort.on('message', (m) => {
  if (m === 'close') {
    try { db.close(); } finally { parentPort.postMessage({ closed: true }); }
    return;
  }
  try {
    if (m.groups.length > 1) runGroups(m.groups);
    else runAll(m.groups[0]);
    parentPort.postMessage({ id: m.id, results: m.groups.map(() => null) });
  } catch (err) {
    if (m.groups.length === 1) return parentPort.postMessage({ id: m.id, results: [describe(err)] });
    const results = m.groups.map((g) => {
      try { runAll(g); return null; } catch (e) { return describe(e); }
    });
    parentPort.postMessage({ id: m.id, results });
  }
});
`;

export interface SqliteWriter {
  /**
   * Runs the statements in one transaction; rejects (nothing of them written) if any fails. Writes made in the same
   * event-loop turn commit together (group commit): under load, many token upserts cost one commit.
   */
  write(statements: readonly WriteStatement[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * `attach`: databases the thread's connection attaches beside the main file (the audit file), so statements reach them
 * unqualified. `setup`: the body of a function (db, require, prepares) run once on the thread's connection; it may
 * register in the Map `prepares` the functions statements name in `prepare`.
 */
export function startSqliteWriter(filename: string, attach: readonly Attachment[] = [], setup?: string): SqliteWriter {
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, filename, attach, setup }, execArgv: [] });
  type Waiter = { resolve: () => void; reject: (err: Error) => void };
  const pending = new Map<number, readonly Waiter[]>();
  let nextId = 0;
  let closed: Promise<void> | undefined;
  // Writes of this event-loop turn, sent together when it ends.
  let queued: { statements: readonly WriteStatement[]; waiter: Waiter }[] = [];
  // Only while a batch is out does the thread keep the process alive.
  worker.unref();
  const failAll = (err: Error) => {
    for (const waiters of pending.values()) for (const w of waiters) w.reject(err);
    pending.clear();
    for (const q of queued) q.waiter.reject(err);
    queued = [];
  };
  const send = () => {
    const batch = queued;
    queued = [];
    if (!batch.length) return;
    const id = nextId++;
    pending.set(id, batch.map((q) => q.waiter));
    worker.postMessage({ id, groups: batch.map((q) => q.statements) });
  };
  type Result = { error: string; code?: string } | null;
  worker.on('message', (m: { id?: number; results?: Result[]; closed?: boolean }) => {
    if (m.id === undefined) return;
    const waiters = pending.get(m.id);
    pending.delete(m.id);
    if (!pending.size && !queued.length && !closed) worker.unref();
    waiters?.forEach((w, i) => {
      const r = m.results?.[i];
      if (!r) w.resolve();
      else w.reject(Object.assign(new Error(r.error), { code: r.code }));
    });
  });
  worker.on('error', (err) => failAll(err));
  worker.on('exit', () => failAll(new Error('the SQLite writer thread stopped')));
  return {
    write(statements) {
      if (closed) return Promise.reject(new Error('the SQLite writer is closed'));
      if (!statements.length) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        if (!queued.length) setImmediate(send);
        queued.push({ statements, waiter: { resolve, reject } });
        worker.ref();
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
        send();
        worker.postMessage('close');
        setTimeout(done, 5000).unref();
      });
      return closed;
    },
  };
}
