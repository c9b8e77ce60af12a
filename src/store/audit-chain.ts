// The audit trail's hash chain. Every row stores hash = SHA-256(previous row's hash || its chained columns as a JSON
// array), the first row chaining from 32 zero bytes, and the one-row table audit_chain_head holds the last row's id
// and hash. Editing or deleting a row (or the tail) then shows when the chain is walked (audit-verify.ts): a changed
// row no longer matches its hash, and the row after a removed one chains from a hash no row has.
//
// Appends read the head, link their rows and move the head in one write transaction, so the chain stays one line
// whoever writes: on SQLite the transaction holds the file's write lock (workers and instances on one file take
// turns), on PostgreSQL the head row is locked (SELECT ... FOR UPDATE) until the transaction commits.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * The columns a row's hash covers, in this order: every column but id and hash. The id is left out on purpose: the
 * order is carried by the links, so moving a row shows as a broken link, not only as a changed id.
 * Changing this list or its order makes every stored chain unverifiable.
 */
export const CHAINED_COLUMNS = ['at', 'client_id', 'grant_id', 'account_id', 'patient_id', 'resource_type', 'interaction', 'resource_id', 'status', 'event', 'actor', 'outcome', 'detail'] as const;

export type ChainedColumn = (typeof CHAINED_COLUMNS)[number];
export type ChainedValue = string | number | null;

/** What the first row chains from. */
export const GENESIS_HASH: Buffer = Buffer.alloc(32);

/** The hash of a row with these chained column values (in CHAINED_COLUMNS order), after a row with hash `prev`. */
export function linkHash(prev: Uint8Array, values: readonly ChainedValue[]): Buffer {
  return createHash('sha256').update(prev).update(JSON.stringify(values)).digest();
}

/** A stored row's chained values, in CHAINED_COLUMNS order; numbers as numbers whatever the driver returned. */
export function chainedValuesOf(row: Readonly<Record<ChainedColumn, unknown>>): ChainedValue[] {
  return CHAINED_COLUMNS.map((c) => {
    const v = row[c];
    if (v === null || v === undefined) return null;
    if (c === 'at' || c === 'status') return Number(v);
    return String(v);
  });
}

/**
 * SQLite functions that link rows inside the statement that inserts them, so the hash is computed where the write
 * lock is held (the write-behind thread, or the main connection). audit_chain_link(batch, head hash, chained
 * values...) returns each row's hash in insertion order: a batch (a number its writer never reuses) starts from the
 * head hash it is given, read by the insert itself under the write lock, and later statements of the same batch go
 * on from its last row; audit_chain_close(batch) returns that last hash for the head. A batch that failed half-way
 * leaves nothing behind: the next one starts from the head again. The same text runs on every connection (see
 * installChainFunctions and sqlite-writer.ts); its hash is linkHash's: SHA-256 over the previous hash and
 * JSON.stringify of the values. A function body taking `db` (a better-sqlite3 Database) and `require`.
 */
export const SQLITE_CHAIN_FUNCTIONS = `
const { createHash } = require('node:crypto');
let batch = null;
let prev = null;
db.function('audit_chain_link', { deterministic: false, varargs: true }, (id, head, ...values) => {
  if (id !== batch) {
    if (head === null) throw new Error('the audit chain head is missing (audit_chain_head has no row 1): restore it, then run npm run audit:verify');
    batch = id;
    prev = Buffer.from(head);
  }
  prev = createHash('sha256').update(prev).update(JSON.stringify(values)).digest();
  return prev;
});
db.function('audit_chain_close', { deterministic: false }, (id) => {
  if (id !== batch || prev === null) throw new Error('audit_chain_close of a batch that linked no row');
  const last = prev;
  batch = null;
  prev = null;
  return last;
});
`;

/** Registers the chain functions on a connection of this thread. */
export function installChainFunctions(db: BetterSqlite3.Database): void {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- one source for this thread and the writer thread
  new Function('db', 'require', SQLITE_CHAIN_FUNCTIONS)(db, createRequire(import.meta.url));
}
