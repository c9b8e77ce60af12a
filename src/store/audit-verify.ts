// Walks the audit chain (audit-chain.ts) from the first row to the head, a page at a time in one read snapshot, and
// says whether it is whole, or where it first breaks and how. Memory stays one page whatever the trail's length.
import { sql, type Kysely } from 'kysely';
import type { Db } from './db.js';
import { CHAINED_COLUMNS, GENESIS_HASH, chainedValuesOf, linkHash, type ChainedColumn } from './audit-chain.js';
import type { Database } from './schema.js';

export type ChainBreakKind =
  /** The row's content no longer matches its hash */
  | 'edited'
  /** Rows are missing before this one (its id follows a gap, and it chains from a hash no remaining row has) */
  | 'deleted'
  /** The row and the one after it are in each other's place */
  | 'reordered'
  /** The row is not part of the chain (the rows around it chain to each other) */
  | 'inserted'
  /** The row has no hash: written outside the chain */
  | 'unchained'
  /** The row does not follow the one before it, for a reason the neighbours do not tell */
  | 'broken-link'
  /** The trail ends before the row the chain head names: the last rows were deleted */
  | 'truncated'
  /** The head disagrees with the trail in another way (its hash or row count) */
  | 'head-mismatch'
  | 'head-missing'
  /** The chain no longer passes through the anchor given (rewritten from there on, hashes recomputed) */
  | 'anchor-mismatch';

export interface ChainBreak {
  readonly kind: ChainBreakKind;
  /** The first row where the chain breaks; for a truncated tail, the last row still there (null when none is) */
  readonly rowId: number | null;
  readonly message: string;
}

export interface ChainReport {
  readonly ok: boolean;
  /** Rows checked (up to the first break) */
  readonly rows: number;
  /** Id and hash (hex) of the last row checked */
  readonly lastId: number;
  readonly lastHash: string;
  readonly break?: ChainBreak;
}

type Row = Record<ChainedColumn, unknown> & { id: number; hash: Uint8Array | null };

const same = (a: Uint8Array | null | undefined, b: Uint8Array) => !!a && Buffer.compare(Buffer.from(a), b) === 0;

export interface VerifyOptions {
  readonly pageSize?: number;
  /** Called after each page with the rows checked so far */
  readonly onProgress?: (rows: number) => void;
  /**
   * A row's hash recorded earlier outside the database (e.g. the head printed by a former run): the chain up to that
   * row must still end in it. Guards against a trail rewritten from some row on with every hash recomputed.
   */
  readonly anchor?: { readonly id: number; readonly hash: string };
}

/**
 * Verifies the chain of the database's audit trail (on SQLite, the attached audit file). Reads in one snapshot (a
 * read transaction), so rows appended meanwhile are neither half seen nor mistaken for a broken head.
 */
export async function verifyAuditChain(db: Db, opts: VerifyOptions = {}): Promise<ChainReport> {
  const pageSize = opts.pageSize ?? 5000;
  return db.kysely.connection().execute(async (conn) => {
    // A deferred read transaction on SQLite (Kysely's would take the write lock and hold up every writer), a
    // read-only snapshot on PostgreSQL.
    await sql.raw(db.dialect === 'postgres' ? 'begin isolation level repeatable read read only' : 'begin').execute(conn);
    try {
      return await walk(conn, pageSize, opts);
    } finally {
      await sql.raw('commit').execute(conn);
    }
  });
}

async function walk(k: Kysely<Database>, pageSize: number, opts: VerifyOptions): Promise<ChainReport> {
  const head = await k.selectFrom('audit_chain_head').select(['last_id', 'last_hash', 'rows']).where('id', '=', 1).executeTakeFirst();
  const page = (afterId: number, limit: number) =>
    k
      .selectFrom('audit_events')
      .select(['id', ...CHAINED_COLUMNS, 'hash'])
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute() as Promise<Row[]>;

  let running: Buffer = GENESIS_HASH;
  let lastId = 0;
  let rows = 0;
  const report = (brk?: ChainBreak): ChainReport => ({ ok: !brk, rows, lastId, lastHash: running.toString('hex'), ...(brk ? { break: brk } : {}) });

  for (let batch = await page(0, pageSize); batch.length; batch = await page(lastId, pageSize)) {
    for (const row of batch) {
      const id = Number(row.id);
      const hash = linkHash(running, chainedValuesOf(row));
      if (!same(row.hash, hash)) return report(await diagnose(k, row, running, lastId));
      running = hash;
      lastId = id;
      rows++;
      if (opts.anchor?.id === id && opts.anchor.hash.toLowerCase() !== hash.toString('hex')) {
        return report({ kind: 'anchor-mismatch', rowId: id, message: `row ${id} no longer has the hash recorded for it (${opts.anchor.hash}): the trail was rewritten up to it with its hashes recomputed` });
      }
    }
    opts.onProgress?.(rows);
  }
  if (opts.anchor && opts.anchor.id > lastId) {
    return report({ kind: 'anchor-mismatch', rowId: null, message: `row ${opts.anchor.id}, recorded with hash ${opts.anchor.hash}, is no longer in the trail (it ends at row ${lastId})` });
  }

  if (!head) {
    return rows ? report({ kind: 'head-missing', rowId: null, message: 'the chain head (audit_chain_head row 1) is missing, so a deleted tail could not be told' }) : report();
  }
  const headId = Number(head.last_id);
  if (headId > lastId) {
    return report({
      kind: 'truncated',
      rowId: rows ? lastId : null,
      message: `the trail ends at row ${lastId || 'none'} but the chain head records row ${headId} as the last appended: the rows after ${lastId || 'the start'} were deleted`,
    });
  }
  if (headId < lastId) {
    return report({ kind: 'head-mismatch', rowId: lastId, message: `rows after ${headId}, the last the chain head records, were added without moving the head` });
  }
  if (!same(head.last_hash, running)) {
    return report({ kind: 'head-mismatch', rowId: lastId || null, message: `the last row (${lastId}) does not match the hash the chain head holds: it was rewritten together with its hash` });
  }
  if (Number(head.rows) !== rows) {
    return report({ kind: 'head-mismatch', rowId: null, message: `the chain head counts ${Number(head.rows)} rows appended, the trail holds ${rows}: rows were deleted and the chain rebuilt after them` });
  }
  return report();
}

/** Why `row` does not chain from the row before it (id `prevId`, hash `running`), from the rows around it. */
async function diagnose(k: Kysely<Database>, row: Row, running: Buffer, prevId: number): Promise<ChainBreak> {
  const id = Number(row.id);
  if (!row.hash) return { kind: 'unchained', rowId: id, message: `row ${id} has no hash: it was written outside the chain (or its hash was removed)` };
  const next = (await k
    .selectFrom('audit_events')
    .select(['id', ...CHAINED_COLUMNS, 'hash'])
    .where('id', '>', id)
    .orderBy('id')
    .limit(1)
    .execute()) as Row[];
  const n = next[0];
  // Ids are appended without gaps (a gap among rows chained before migration 0013 only counts once the hash fails).
  const gap = id !== prevId + 1;
  const missing = id - 1 > prevId + 1 ? `rows ${prevId + 1}-${id - 1} were` : `row ${prevId + 1} was`;
  // The next row still chains from this row's stored hash: this row's hash is the original, its predecessor is not.
  if (n && same(n.hash, linkHash(Buffer.from(row.hash), chainedValuesOf(n)))) {
    if (gap) return { kind: 'deleted', rowId: id, message: `row ${id} chains from a row that is gone: ${missing} deleted` };
    return { kind: 'edited', rowId: id, message: `row ${id} does not match its hash: its content was changed (or the row before it was rewritten together with its hash)` };
  }
  // The next row chains from where this one should have: this row does not belong here.
  if (n && same(n.hash, linkHash(running, chainedValuesOf(n)))) {
    if (same(row.hash, linkHash(Buffer.from(n.hash!), chainedValuesOf(row)))) {
      return { kind: 'reordered', rowId: id, message: `rows ${id} and ${Number(n.id)} are in each other's place (reordered)` };
    }
    return { kind: 'inserted', rowId: id, message: `row ${id} is not part of the chain: the rows before and after it chain to each other (it was inserted)` };
  }
  if (gap) return { kind: 'deleted', rowId: id, message: `row ${id} does not follow row ${prevId || 'the start'}: ${missing} deleted, and it or the rows after it may be changed too` };
  if (!n) return { kind: 'edited', rowId: id, message: `row ${id}, the last, does not match its hash: its content was changed` };
  return {
    kind: 'broken-link',
    rowId: id,
    message: `row ${id} does not chain from row ${prevId || 'the start'}: rows around it were changed, reordered or replaced`,
  };
}
