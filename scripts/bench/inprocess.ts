// The store against the database itself, in this process: the store's read by id and its patient+category search
// against the same rows fetched by raw prepared statements (better-sqlite3), or the same SQL sent straight through `pg`. What the
// store adds over the database is its own cost; HTTP rows cannot show it because the HTTP layer costs more.
// Variants are measured in short slices taking turns (the machine's speed drifts over seconds), and each slice
// reports operations per second and this process's CPU per operation.
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import type { DatabaseTarget } from '../../src/config.js';
import { resourceDef } from '../../src/fhir/definitions.js';
import { parseSearch } from '../../src/fhir/search-parse.js';
import { openDb, type Db } from '../../src/store/db.js';
import { ResourceStore } from '../../src/store/resources.js';
import { then, type MaybePromise } from '../../src/maybe-promise.js';
import { BENCH_BASE } from './dataset.js';
import { median } from './contention.js';

export interface InProcessRow {
  readonly name: string;
  /** median over slices */
  readonly opsPerSecond: number;
  /** this process's CPU per operation, µs (median over slices) */
  readonly cpuMicros: number;
}

type Variant = { readonly name: string; readonly op: () => unknown };

/**
 * Runs each variant for `slice` seconds in turn, `rounds` times, with `concurrency` operations in flight (1: one
 * after another, as SQLite answers synchronously anyway).
 */
async function alternate(variants: readonly Variant[], seconds: number, concurrency: number): Promise<InProcessRow[]> {
  const slice = Math.min(1, seconds);
  const rounds = Math.max(1, Math.round(seconds / slice));
  const samples = variants.map(() => ({ ops: [] as number[], cpu: [] as number[] }));
  const once = async (v: Variant) => {
    let n = 0;
    const end = performance.now() + slice * 1000;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) {
          const r = v.op();
          if (r instanceof Promise) await r;
          n++;
        }
      }),
    );
    const cpu = process.cpuUsage(cpu0);
    return { ops: n / ((performance.now() - t0) / 1000), cpu: (cpu.user + cpu.system) / n };
  };
  for (const v of variants) await once(v); // warm-up: statements prepared, pages cached, JIT done
  for (let r = 0; r < rounds; r++) {
    // The order rotates, so that neither a trend nor a position favours one.
    for (let k = 0; k < variants.length; k++) {
      const i = (k + r) % variants.length;
      const s = await once(variants[i]!);
      samples[i]!.ops.push(s.ops);
      samples[i]!.cpu.push(s.cpu);
    }
  }
  return variants.map((v, i) => ({ name: v.name, opsPerSecond: Math.round(median(samples[i]!.ops)), cpuMicros: Number(median(samples[i]!.cpu).toFixed(1)) }));
}

const pick = <T>(a: readonly T[]) => a[Math.floor(Math.random() * a.length)]!;

// The statements of the store's read (resources.ts): by (type, id) the first time, then by the rid it remembered.
const READ_SQL = 'select rid, version_id, last_updated, deleted, content, patient_id from resources where type = ? and id = ?';
const READ_BY_RID_SQL = 'select rid, version_id, last_updated, deleted, content, patient_id from resources where rid = ? and type = ? and id = ?';

/**
 * SQLite: the store's read by id (as the server runs it, with its resource cache; and with the cache off, the
 * lookup itself) against one raw prepared statement of the same lookup.
 */
export async function sqliteReadVsRaw(dbFile: string, ids: readonly string[], seconds: number): Promise<InProcessRow[]> {
  const raw = new BetterSqlite3(dbFile, { readonly: true });
  const stmt = raw.prepare(READ_SQL).raw(true);
  const byRid = raw.prepare(READ_BY_RID_SQL).raw(true);
  const known = ids.map((id) => [(stmt.get('Observation', id) as [number])[0], 'Observation', id] as const);
  const cachedDb = openDb({ kind: 'sqlite', filename: dbFile });
  const plainDb = openDb({ kind: 'sqlite', filename: dbFile });
  const cached = new ResourceStore(cachedDb);
  const plain = new ResourceStore(plainDb, { cacheBytes: 0 });
  const check = (r: unknown) => {
    if (!r) throw new Error('read by id found nothing');
  };
  try {
    return await alternate(
      [
        { name: 'raw prepared statement by (type, id) (better-sqlite3)', op: () => check(stmt.get('Observation', pick(ids))) },
        { name: 'raw prepared statement by rid, as the store looks up (better-sqlite3)', op: () => check(byRid.get(...pick(known))) },
        { name: 'store read, resource cache off (the lookup)', op: () => check(plain.read('Observation', pick(ids))) },
        { name: 'store read, as served (resource cache on)', op: () => check(cached.read('Observation', pick(ids))) },
      ],
      seconds,
      1,
    );
  } finally {
    raw.close();
    await cachedDb.close();
    await plainDb.close();
  }
}

// What the store's search runs for patient=X&category=C (a compartment clause and a token clause, sorted by rid),
// written out by hand: the page (one row more than asked, to know whether another page follows) and the total.
const WHERE = "r.type = 'Observation' and r.deleted = 0 and r.patient_id in (?) and exists (select 1 from idx_token t where t.rid = r.rid and t.param = 'category' and t.code = ?)";
const PAGE_SQL = `select r.rid, r.type, r.id, r.version_id, r.last_updated, r.deleted, r.content, r.patient_id from resources r where ${WHERE} order by r.rid asc limit ?`;
const COUNT_SQL = `select count(*) from resources r where ${WHERE}`;
const pgText = (s: string) => {
  let i = 0;
  return s.replace(/\?/g, () => `$${++i}`);
};

/** The page (rows as arrays of columns, in select order, one more than asked when another page follows) and total. */
export interface RawSearch {
  page(patient: string): MaybePromise<readonly unknown[][]>;
  total(patient: string): MaybePromise<number>;
  close(): Promise<void>;
}

/** The store's patient+category search as raw statements: better-sqlite3 prepared statements, or the SQL through `pg`. */
export function openRawSearch(target: DatabaseTarget, category: string, count: number, poolSize = 1): RawSearch {
  if (target.kind === 'sqlite') {
    const raw = new BetterSqlite3(target.filename, { readonly: true });
    const page = raw.prepare(PAGE_SQL).raw(true);
    const total = raw.prepare(COUNT_SQL).pluck();
    return {
      page: (p) => page.all(p, category, count + 1) as unknown[][],
      total: (p) => Number(total.get(p, category)),
      close: async () => {
        raw.close();
      },
    };
  }
  const pool = new pg.Pool({ connectionString: target.connectionString, max: poolSize });
  // Unnamed statements, as Kysely sends the store's: PostgreSQL plans each for its values. A named statement would
  // switch to a generic plan after five runs, which for this query is the wrong one (measured: ~8x slower).
  return {
    page: async (p) => (await pool.query({ text: pgText(PAGE_SQL), values: [p, category, count + 1], rowMode: 'array' })).rows as unknown[][],
    total: async (p) => Number((await pool.query({ text: pgText(COUNT_SQL), values: [p, category], rowMode: 'array' })).rows[0]![0]),
    close: () => pool.end(),
  };
}

export interface SearchSettings {
  readonly target: DatabaseTarget;
  readonly patients: readonly string[];
  readonly category: string;
  readonly count: number;
  readonly seconds: number;
  /** Searches in flight at once on PostgreSQL (the server's pool size); SQLite runs one after another */
  readonly concurrency: number;
}

/**
 * The store's patient+category search (one page of `count`, with and without the total) against the same rows
 * fetched by raw prepared statements (page + count, and page alone).
 */
export async function searchVsRaw(s: SearchSettings): Promise<InProcessRow[]> {
  const def = resourceDef('Observation')!;
  const db: Db = openDb(s.target);
  const store = new ResourceStore(db);
  const search = async (total: boolean) => {
    const req = parseSearch(def, [['patient', pick(s.patients)], ['category', s.category], ['_count', String(s.count)]], { fhirBaseUrl: BENCH_BASE, strict: false });
    const page = await store.search({ type: 'Observation', clauses: req.clauses, sort: req.sort, count: req.count, total });
    if (page.rows.length !== s.count) throw new Error(`store search: expected ${s.count} rows, got ${page.rows.length}`);
  };
  const expect = (rows: readonly unknown[], n: unknown) => {
    if (rows.length !== s.count + 1 && rows.length !== s.count) throw new Error(`raw search: expected ${s.count} rows, got ${rows.length}`);
    if (n !== undefined && !(Number(n) >= s.count)) throw new Error(`raw search: total ${String(n)}`);
  };
  const raw = openRawSearch(s.target, s.category, s.count, s.concurrency);
  const rawPage = () => then(raw.page(pick(s.patients)), (rows) => expect(rows, undefined));
  // As the store does it: the count, then the page.
  const rawBoth = () => {
    const p = pick(s.patients);
    return then(raw.total(p), (n) => then(raw.page(p), (rows) => expect(rows, n)));
  };
  const driver = s.target.kind === 'sqlite' ? 'better-sqlite3' : `pg, ${s.concurrency} at a time`;
  try {
    return await alternate(
      [
        { name: `raw prepared statements, page + total (${driver})`, op: rawBoth },
        { name: 'store search, page + total', op: () => search(true) },
        { name: `raw prepared statement, page only (${driver})`, op: rawPage },
        { name: 'store search, page only (_total=none)', op: () => search(false) },
      ],
      s.seconds,
      s.target.kind === 'sqlite' ? 1 : s.concurrency,
    );
  } finally {
    await raw.close();
    await db.close();
  }
}
