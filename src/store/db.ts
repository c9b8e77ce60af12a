// Opens the database for either dialect. Dialect quirks live here and nowhere else in the store.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { NulSafeClient } from './pg-text.js';
import { CompiledQuery, Kysely, PostgresDialect, type LogEvent } from 'kysely';
import type { DatabaseTarget } from '../config.js';
import type { Database } from './schema.js';
import { startCheckpointer, type Checkpointer } from './checkpointer.js';
import { FairSqliteDialect } from './sqlite-dialect.js';
import { AUDIT_SCHEMA, auditDatabaseFile, ensureAuditSchema } from './audit-database.js';
import { SQLITE_CHAIN_WRITER } from './audit-chain.js';
import { startSqliteWriter, type SqliteWriter, type WriteStatement } from './sqlite-writer.js';
import type { MaybePromise } from '../maybe-promise.js';

export type Dialect = 'sqlite' | 'postgres';

/**
 * A statement compiled once and run many times on the hot path, bypassing the query builder. The row comes back as
 * an array of column values in select order: building an object per row costs more than the lookup's last B-tree page.
 */
export type PreparedQuery<Row extends readonly unknown[]> = (params: readonly unknown[]) => MaybePromise<Row | undefined>;

export interface Db {
  readonly kysely: Kysely<Database>;
  readonly dialect: Dialect;
  /**
   * Compile `sqlText` (written with `?` placeholders) once for this dialect. On SQLite it runs on a raw prepared
   * statement and answers synchronously, unless a transaction is open on the connection (then it waits its turn
   * through Kysely, so it never sees uncommitted rows); on PostgreSQL it is a named prepared statement.
   */
  prepareFirst<Row extends readonly unknown[]>(name: string, sqlText: string): PreparedQuery<Row>;
  /** The same for a write on the hot path (e.g. a token insert); resolves to the number of rows changed. */
  prepareRun(name: string, sqlText: string): (params: readonly unknown[]) => Promise<number>;
  /**
   * SQLite only: run a write on a cached prepared statement of the same connection, so it joins the transaction
   * Kysely has open. Bulk imports use it: re-preparing multi-row statements costs more than the inserts.
   */
  readonly sqliteRun?: (sqlText: string, params: readonly unknown[]) => number;
  /**
   * SQLite only: every row of a read statement as arrays of column values, synchronously, on a cached statement of
   * the main connection. Inside an open transaction it sees that transaction's uncommitted writes: callers that
   * must see committed rows only call `dataVersion` first (undefined there).
   */
  readonly sqliteAll?: (sqlText: string, params: readonly unknown[]) => unknown[][];
  /**
   * SQLite only: PRAGMA data_version of the main connection, which changes whenever another connection (a thread
   * of ours, another process) commits; undefined while a transaction is open on the main connection.
   */
  readonly dataVersion?: () => number | undefined;
  /**
   * SQLite file databases only: run append-only statements in one transaction on a connection of their own, off the
   * event loop (see sqlite-writer.ts). Rows become visible to this connection once the promise resolves.
   */
  readonly writeBehind?: (statements: readonly WriteStatement[]) => Promise<void>;
  /** Where statement durations go (the metrics set `observe`); query-builder statements, and PostgreSQL's prepared ones */
  readonly queryTiming?: QueryTiming;
  /** PostgreSQL only: the connection pool, for its counts (metrics) */
  readonly pool?: { readonly totalCount: number; readonly idleCount: number; readonly waitingCount: number };
  close(): Promise<void>;
}

export interface QueryTiming {
  observe?: (ms: number, failed: boolean) => void;
}

/** Kysely's `log` option feeding `timing`: Kysely times each statement only when a logger is set. */
const timedLog = (timing: QueryTiming) => (e: LogEvent) => timing.observe?.(e.queryDurationMillis, e.level === 'error');

// int8 columns (ms timestamps, bigserial ids) fit a double exactly; parse them as numbers, not strings.
pg.types.setTypeParser(20, (v) => Number(v));

export function openDb(target: DatabaseTarget): Db {
  return target.kind === 'sqlite' ? openSqlite(target.filename) : openPostgres(target.connectionString);
}

function openSqlite(filename: string): Db {
  if (filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true });
  const raw = new BetterSqlite3(filename);
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  raw.pragma('busy_timeout = 5000');
  raw.pragma('cache_size = -131072');
  // No memory-mapped I/O: it bought nothing on point lookups (10.2 vs 10.4 µs on the benchmark database), and each
  // commit by another connection (the audit thread, another worker) made this connection's next reads pay for it
  // (lookups 10.4 → 18.5 µs with a commit every 250 ms, 44 µs every 50 ms; 11.5 and 14.5 µs without mmap).
  raw.pragma('mmap_size = 0');
  // Keep planner statistics fresh on long-lived connections (SQLite's advice for applications that stay open).
  raw.pragma('optimize = 0x10002');
  const attach = [{ schema: AUDIT_SCHEMA, file: auditDatabaseFile(filename) }];
  for (const a of attach) {
    raw.prepare(`attach database ? as ${a.schema}`).run(a.file);
    if (filename !== ':memory:') raw.pragma(`${a.schema}.journal_mode = WAL`);
    raw.pragma(`${a.schema}.synchronous = NORMAL`);
  }
  ensureAuditSchema(raw);
  let checkpointer: Checkpointer | undefined;
  if (filename !== ':memory:') {
    raw.pragma('wal_autocheckpoint = 0');
    checkpointer = startCheckpointer(filename, attach, 250);
  }
  const queryTiming: QueryTiming = {};
  const kysely = new Kysely<Database>({ dialect: new FairSqliteDialect({ database: withStatementCache(raw, 500) }), log: timedLog(queryTiming) });
  const writes = new Map<string, BetterSqlite3.Statement>();
  const reads = new Map<string, BetterSqlite3.Statement>();
  const cached = (statements: Map<string, BetterSqlite3.Statement>, sqlText: string, rows: boolean) => {
    let stmt = statements.get(sqlText);
    if (!stmt) statements.set(sqlText, (stmt = rows ? raw.prepare(sqlText).raw(true) : raw.prepare(sqlText)));
    return stmt;
  };
  const dataVersion = raw.prepare('pragma data_version').pluck();
  // Started on first use: command-line tools that never write an audit row never start the thread.
  let writer: SqliteWriter | undefined;
  return {
    kysely,
    dialect: 'sqlite',
    queryTiming,
    ...(filename === ':memory:' ? {} : { writeBehind: (batch: readonly WriteStatement[]) => (writer ??= startSqliteWriter(filename, attach, SQLITE_CHAIN_WRITER)).write(batch) }),
    sqliteRun: (sqlText, params) => Number(cached(writes, sqlText, false).run(...params).lastInsertRowid),
    sqliteAll: (sqlText, params) => cached(reads, sqlText, true).all(...params) as unknown[][],
    dataVersion: () => (raw.inTransaction ? undefined : (dataVersion.get() as number)),
    prepareFirst<Row extends readonly unknown[]>(_name: string, sqlText: string): PreparedQuery<Row> {
      const stmt = raw.prepare(sqlText).raw(true);
      return (params) => {
        if (raw.inTransaction) {
          return kysely
            .executeQuery<Record<string, unknown>>(CompiledQuery.raw(sqlText, [...params]))
            .then((res) => res.rows[0] && (Object.values(res.rows[0]) as unknown as Row));
        }
        return stmt.get(...params) as Row | undefined;
      };
    },
    prepareRun(_name: string, sqlText: string) {
      const stmt = raw.prepare(sqlText);
      return async (params) => {
        // Inside someone else's open transaction a raw write would join it (and roll back with it): queue instead.
        if (raw.inTransaction) return Number((await kysely.executeQuery(CompiledQuery.raw(sqlText, [...params]))).numAffectedRows ?? 0);
        return stmt.run(...params).changes;
      };
    },
    close: async () => {
      await writer?.close();
      await checkpointer?.close();
      await kysely.destroy();
    },
  };
}

/**
 * Kysely's SQLite driver prepares every query anew; for the small statements of the token endpoint and the adapter,
 * preparing cost about as much as running. Kysely holds one query at a time on the connection, so a cached
 * statement is never re-entered. Bounded: search builds many shapes of SQL, the oldest shapes go first.
 */
function withStatementCache(raw: BetterSqlite3.Database, max: number): BetterSqlite3.Database {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return new Proxy(raw, {
    get(target, prop) {
      if (prop !== 'prepare') {
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      }
      return (sqlText: string) => {
        let stmt = cache.get(sqlText);
        if (stmt) return stmt;
        stmt = target.prepare(sqlText);
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
        cache.set(sqlText, stmt);
        return stmt;
      };
    },
  });
}

function openPostgres(connectionString: string): Db {
  const pool = new pg.Pool({ connectionString, max: Number(process.env.PG_POOL_MAX ?? 10), Client: NulSafeClient });
  // A connection that dies (PostgreSQL stopped or restarted) emits 'error': on the pool while idle, on the client
  // while checked out (e.g. held by a transaction between statements). Unheard, either ends the process. The queries
  // on it fail on their own (a FHIR request answers 503, see isDatabaseUnavailable), the pool drops the connection
  // when it comes back, and the next query connects anew: the server recovers by itself once PostgreSQL is up.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const queryTiming: QueryTiming = {};
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: timedLog(queryTiming) });
  // The hot path's prepared statements bypass Kysely: timed here.
  const timed = async <T>(run: () => Promise<T>): Promise<T> => {
    if (!queryTiming.observe) return run();
    const start = performance.now();
    let failed = true;
    try {
      const r = await run();
      failed = false;
      return r;
    } finally {
      queryTiming.observe(performance.now() - start, failed);
    }
  };
  return {
    kysely,
    dialect: 'postgres',
    queryTiming,
    pool,
    prepareFirst<Row extends readonly unknown[]>(name: string, sqlText: string): PreparedQuery<Row> {
      const text = toPgPlaceholders(sqlText);
      return async (params) => {
        const config: pg.QueryArrayConfig = { name, text, values: params as unknown[], rowMode: 'array' };
        const res = await timed(() => pool.query(config));
        return res.rows[0] as unknown as Row | undefined;
      };
    },
    prepareRun(name: string, sqlText: string) {
      const text = toPgPlaceholders(sqlText);
      return async (params) => (await timed(() => pool.query({ name, text, values: params as unknown[] }))).rowCount ?? 0;
    },
    close: () => kysely.destroy(),
  };
}

// What a driver throws when the database cannot be reached or is shutting down, as opposed to a bad statement:
// PostgreSQL's connection exceptions (class 08), shutdown and start-up states, too many connections, the pg client's
// own messages for a connection that died or never came, socket errors, and SQLite's lock held past busy_timeout.
const UNAVAILABLE_SQLSTATES = /^(08...|57P01|57P02|57P03|53300)$/;
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'SQLITE_BUSY']);
const UNAVAILABLE_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client was closed and is not queryable|Client has encountered a connection error)/;

/** Whether an error means the database is unavailable for now (worth a 503 and a retry), not that the query was wrong. */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || UNAVAILABLE_SQLSTATES.test(code))) return true;
  // Several socket errors at once (connecting to 127.0.0.1 and ::1) come as one AggregateError.
  if (err instanceof AggregateError) return err.errors.some(isDatabaseUnavailable);
  return UNAVAILABLE_MESSAGES.test(err.message);
}

function toPgPlaceholders(sqlText: string): string {
  let i = 0;
  return sqlText.replace(/\?/g, () => `$${++i}`);
}
