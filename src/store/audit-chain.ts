// The audit trail's hash chain. Every row stores hash = SHA-256(previous row's hash || its chained columns as a JSON
// array), the first row chaining from 32 zero bytes, and the one-row table audit_chain_head holds the last row's id
// and hash. Editing or deleting a row (or the tail) then shows when the chain is walked (audit-verify.ts): a changed
// row no longer matches its hash, and the row after a removed one chains from a hash no row has.
//
// Appends read the head, link their rows and move the head in one write transaction, so the chain stays one line
// whoever writes: on SQLite the transaction holds the file's write lock (workers and instances on one file take
// turns), on PostgreSQL the head row is locked (SELECT ... FOR UPDATE) until the transaction commits.
import { createHash } from 'node:crypto';

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
 * The SQLite writer thread's part of an append (see sqlite-writer.ts): the hashes are computed in that thread, inside
 * the transaction, while it holds the write lock, so the head cannot move between reading it and appending after it.
 * Each batch (a number its process never reuses) runs three kinds of statement, each naming one of these functions:
 * `audit_chain_open` takes the write lock and reads the head (it runs at every attempt, so a retried batch starts
 * afresh from the head); `audit_chain_rows` turns [batch, ...chained values of n rows] into the rows' values each
 * followed by its hash, going on from the batch's last row; `audit_chain_close` turns [batch, count] into [last hash,
 * count] for the head. Its hash is linkHash's: SHA-256 over the previous hash and JSON.stringify of the values. A
 * function body taking `db` (a better-sqlite3 Database), `require` and `prepares` (the Map the writer looks names up in).
 */
export const SQLITE_CHAIN_WRITER = `
const { createHash } = require('node:crypto');
const width = ${CHAINED_COLUMNS.length};
// Writes the head row as it is: takes the write lock now (the transaction began deferred), and says if the row is there.
const lock = db.prepare('update audit_chain_head set rows = rows where id = 1');
const head = db.prepare('select last_hash from audit_chain_head where id = 1').pluck();
let batch = null;
let prev = null;
prepares.set('audit_chain_open', (params) => {
  if (lock.run().changes !== 1) throw new Error('the audit chain head is missing (audit_chain_head has no row 1): restore it, then run npm run audit:verify');
  batch = params[0];
  prev = head.get();
  return params;
});
prepares.set('audit_chain_rows', (params) => {
  if (params[0] !== batch) throw new Error('audit chain rows outside their batch');
  const out = [];
  for (let i = 1; i < params.length; i += width) {
    const row = params.slice(i, i + width);
    prev = createHash('sha256').update(prev).update(JSON.stringify(row)).digest();
    out.push(...row, prev);
  }
  return out;
});
prepares.set('audit_chain_close', (params) => {
  if (params[0] !== batch) throw new Error('audit chain close outside its batch');
  const last = prev;
  batch = null;
  prev = null;
  return [last, params[1]];
});
`;
