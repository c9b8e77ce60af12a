// The audit trail: every FHIR access (for the patient's "access history" page and operators) and every security event
// (sign-in, consent, tokens, grants, proxies, clients, keys), in one append-only table whose rows are hash-chained
// (audit-chain.ts). Reads serve the portal and the FHIR AuditEvent API.
import { CompiledQuery, type ExpressionBuilder, type Expression, type Kysely, type Selectable, type SqlBool } from 'kysely';
import type { Db } from './db.js';
import type { WriteStatement } from './sqlite-writer.js';
import { CHAINED_COLUMNS, linkHash, type ChainedValue } from './audit-chain.js';
import type { AuditEventTable, AuditInteraction, Database } from './schema.js';

/** One authorized FHIR request: app, grant, account, patient, type, interaction, id, status and time */
export interface AuditEvent {
  readonly at: number;
  readonly clientId: string;
  readonly grantId: string | null;
  readonly accountId: string | null;
  readonly patientId: string | null;
  readonly resourceType: string;
  readonly interaction: AuditInteraction;
  readonly resourceId: string | null;
  readonly status: number;
}

export type SecurityDetail = Readonly<Record<string, string | number | boolean | null>>;

/** A security event; `event` is a code of src/audit/security-log.ts. Nothing secret goes in (no token, password, code). */
export interface SecurityEvent {
  readonly at: number;
  readonly event: string;
  readonly outcome: 'success' | 'failure';
  readonly actor?: string | null;
  readonly clientId?: string | null;
  readonly grantId?: string | null;
  readonly accountId?: string | null;
  readonly patientId?: string | null;
  readonly detail?: SecurityDetail;
}

export type AuditEntry = AuditEvent | SecurityEvent;

export const isSecurityEvent = (e: AuditEntry): e is SecurityEvent => 'event' in e;

export interface StoredAuditEvent extends AuditEvent {
  readonly id: number;
}

/** A row of either kind, as stored. */
export interface AuditRecord {
  readonly id: number;
  readonly at: number;
  readonly clientId: string | null;
  readonly grantId: string | null;
  readonly accountId: string | null;
  readonly patientId: string | null;
  readonly resourceType: string | null;
  readonly interaction: AuditInteraction | null;
  readonly resourceId: string | null;
  readonly status: number | null;
  /** null: a FHIR access */
  readonly event: string | null;
  readonly actor: string | null;
  readonly outcome: string | null;
  readonly detail: SecurityDetail | null;
}

/** One condition of an audit search; a query AND-s its filters, each OR-s its values. */
export type AuditFilter =
  | { readonly kind: 'id'; readonly ids: readonly number[] }
  /** Recorded within any of these ranges (ms, inclusive) */
  | { readonly kind: 'at'; readonly ranges: readonly { readonly lo: number; readonly hi: number }[] }
  | { readonly kind: 'patient'; readonly patientIds: readonly string[] }
  /** The resource a FHIR access named (type and id), or the patient a row is about when `type` is Patient */
  | { readonly kind: 'entity'; readonly refs: readonly { readonly type: string; readonly id: string }[] }
  /** The app (client id) or the account that acted */
  | { readonly kind: 'agent'; readonly values: readonly string[] }
  | { readonly kind: 'actor'; readonly values: readonly string[] }
  /** Rows of these kinds: security events by code, FHIR accesses by interaction */
  | { readonly kind: 'kinds'; readonly events: readonly string[]; readonly interactions: readonly string[] }
  /** success: a security success or an HTTP status below 400; failure: a security failure or a 4xx; error: a 5xx */
  | { readonly kind: 'outcome'; readonly outcomes: readonly ('success' | 'failure' | 'error')[] };

export interface AuditQuery {
  readonly filters: readonly AuditFilter[];
  /** Rows with a smaller id only (paging, newest first) */
  readonly beforeId?: number;
  readonly limit: number;
}

// Every FHIR request adds a row, so the insert is on the hot path's budget. A batch of any size is written with
// multi-row statements of a few fixed sizes, each prepared once: building the statement through the query builder
// cost more than the insert, and a statement of each batch's own size would be prepared anew on every flush.
// 15 parameters a row: 500 rows stay far below SQLite's 32,766 bound parameters and PostgreSQL's 65,535.
const STATEMENT_SIZES = [500, 100, 20, 5, 1] as const;
const COLUMNS = CHAINED_COLUMNS.join(', ');

// SQLite: the rows are hashed where the write lock is held: on a file by the write-behind thread (SQLITE_CHAIN_WRITER
// in audit-chain.ts, named by each statement's `prepare`), in memory here inside the transaction.
const SQLITE_HEAD = 'select last_hash from audit_chain_head where id = 1';
/** Runs nothing itself: its `prepare` (audit_chain_open) takes the lock and reads the head */
const SQLITE_OPEN = 'select ? as batch';
const SQLITE_CLOSE = 'update audit_chain_head set last_id = last_insert_rowid(), last_hash = ?, rows = rows + ? where id = 1';
const sqliteInsert = (size: number) => {
  const row = `(${[...CHAINED_COLUMNS, 'hash'].map(() => '?').join(', ')})`;
  return `insert into audit_events (${COLUMNS}, hash) values ${Array(size).fill(row).join(', ')}`;
};
/** Batch numbers for the writer thread: unique per process, so per connection. */
let sqliteBatches = 0;
// PostgreSQL: the hashes are computed here while the head row is locked; ids follow the head's, without gaps.
const PG_LOCK = 'select last_id, last_hash from audit_chain_head where id = 1 for update';
const PG_MOVE = 'update audit_chain_head set last_id = $1, last_hash = $2, rows = rows + $3 where id = 1';
const pgInsert = (size: number) => {
  const width = CHAINED_COLUMNS.length + 2;
  const rows = Array.from({ length: size }, (_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(', ')})`);
  return `insert into audit_events (id, ${COLUMNS}, hash) values ${rows.join(', ')}`;
};

/** An entry's chained column values, in CHAINED_COLUMNS order. */
export function chainedValues(e: AuditEntry): ChainedValue[] {
  if (isSecurityEvent(e)) {
    const detail = e.detail && Object.keys(e.detail).length ? JSON.stringify(e.detail) : null;
    return [e.at, e.clientId ?? null, e.grantId ?? null, e.accountId ?? null, e.patientId ?? null, null, null, null, null, e.event, e.actor ?? null, e.outcome, detail].map(storable);
  }
  return [e.at, e.clientId, e.grantId, e.accountId, e.patientId, e.resourceType, e.interaction, e.resourceId, e.status, null, null, null, null].map(storable);
}

/**
 * PostgreSQL's text cannot hold U+0000, which a URL can carry (GET /fhir/%00 is recorded with that type): one such
 * event failed every batch it was in, and so every audited answer after it. Stored as U+FFFD on both databases, so the
 * chain hashes the same values everywhere.
 */
function storable(v: ChainedValue): ChainedValue {
  return typeof v === 'string' && v.includes('\u0000') ? v.replaceAll('\u0000', '\uFFFD') : v;
}

function fromRow(r: Selectable<AuditEventTable>): AuditRecord {
  return {
    id: Number(r.id),
    at: Number(r.at),
    clientId: r.client_id,
    grantId: r.grant_id,
    accountId: r.account_id,
    patientId: r.patient_id,
    resourceType: r.resource_type,
    interaction: r.interaction,
    resourceId: r.resource_id,
    status: r.status === null ? null : Number(r.status),
    event: r.event,
    actor: r.actor,
    outcome: r.outcome,
    detail: r.detail ? (JSON.parse(r.detail) as SecurityDetail) : null,
  };
}

/** A FHIR access row (the portal's lists ask for those only). */
function accessFromRow(r: Selectable<AuditEventTable>): StoredAuditEvent {
  return {
    id: Number(r.id),
    at: Number(r.at),
    clientId: r.client_id ?? '',
    grantId: r.grant_id,
    accountId: r.account_id,
    patientId: r.patient_id,
    resourceType: r.resource_type ?? '',
    interaction: r.interaction ?? 'read',
    resourceId: r.resource_id,
    status: Number(r.status),
  };
}

export class AuditLogStore {
  private readonly k: Kysely<Database>;
  readonly #db: Db;
  /** Largest first, so a batch takes as few statements as it can */
  readonly #sizes: readonly { readonly size: number; readonly sql: string }[];

  constructor(db: Db) {
    this.k = db.kysely;
    this.#db = db;
    this.#sizes = STATEMENT_SIZES.map((size) => ({ size, sql: db.dialect === 'sqlite' ? sqliteInsert(size) : pgInsert(size) }));
  }

  /**
   * Appends a batch to the chain, in order (callers buffer events off the request path and flush them together): on a
   * SQLite file in one transaction on the write-behind thread, elsewhere in one transaction on the connection.
   */
  async record(events: readonly AuditEntry[]): Promise<void> {
    if (!events.length) return;
    if (this.#db.dialect === 'postgres') return this.#recordPostgres(events);
    const writeBehind = this.#db.writeBehind;
    if (writeBehind) {
      const batch = ++sqliteBatches;
      const statements: WriteStatement[] = [{ sql: SQLITE_OPEN, params: [batch], prepare: 'audit_chain_open' }];
      this.#chunks(events.length, (size, sql, from) => {
        const params: unknown[] = [batch];
        for (let j = from; j < from + size; j++) params.push(...chainedValues(events[j]!));
        statements.push({ sql, params, prepare: 'audit_chain_rows' });
      });
      statements.push({ sql: SQLITE_CLOSE, params: [batch, events.length], prepare: 'audit_chain_close' });
      return writeBehind(statements);
    }
    // One connection (in memory): Kysely's transaction holds the write lock (begin immediate); the synchronous
    // statements below run on that connection, inside it.
    const run = this.#db.sqliteRun!;
    await this.k.transaction().execute(async () => {
      const head = this.#db.sqliteAll!(SQLITE_HEAD, [])[0]?.[0] as Uint8Array | undefined;
      if (!head) throw new Error('the audit chain head is missing (audit_chain_head has no row 1): restore it, then run npm run audit:verify');
      let prev: Uint8Array = head;
      this.#chunks(events.length, (size, sql, from) => {
        const params: unknown[] = [];
        for (let j = from; j < from + size; j++) {
          const values = chainedValues(events[j]!);
          prev = linkHash(prev, values);
          params.push(...values, prev);
        }
        run(sql, params);
      });
      run(SQLITE_CLOSE, [prev, events.length]);
    });
  }

  async #recordPostgres(events: readonly AuditEntry[]): Promise<void> {
    await this.k.transaction().execute(async (trx) => {
      const head = (await trx.executeQuery<{ last_id: number; last_hash: Uint8Array }>(CompiledQuery.raw(PG_LOCK, []))).rows[0];
      if (!head) throw new Error('the audit chain head is missing (audit_chain_head has no row 1): restore it, then run npm run audit:verify');
      let id = Number(head.last_id);
      let prev: Uint8Array = head.last_hash;
      const inserts: { sql: string; params: unknown[] }[] = [];
      this.#chunks(events.length, (size, sql, from) => {
        const params: unknown[] = [];
        for (let j = from; j < from + size; j++) {
          const values = chainedValues(events[j]!);
          prev = linkHash(prev, values);
          params.push(++id, ...values, prev);
        }
        inserts.push({ sql, params });
      });
      for (const s of inserts) await trx.executeQuery(CompiledQuery.raw(s.sql, s.params));
      await trx.executeQuery(CompiledQuery.raw(PG_MOVE, [id, prev, events.length]));
    });
  }

  /** Splits `count` rows into the fixed statement sizes, largest first. */
  #chunks(count: number, each: (size: number, sql: string, from: number) => void): void {
    let i = 0;
    for (const { size, sql } of this.#sizes) for (; count - i >= size; i += size) each(size, sql, i);
  }

  /** FHIR accesses to the given records (the patient's own and those they are proxy for), newest first. */
  async listForPatients(patientIds: readonly string[], limit: number): Promise<StoredAuditEvent[]> {
    if (!patientIds.length) return [];
    const rows = await this.k
      .selectFrom('audit_events')
      .selectAll()
      .where('patient_id', 'in', [...patientIds])
      .where('event', 'is', null)
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(accessFromRow);
  }

  /** FHIR accesses made under a grant, newest first. */
  async listForGrant(grantId: string, limit: number): Promise<StoredAuditEvent[]> {
    const rows = await this.k
      .selectFrom('audit_events')
      .selectAll()
      .where('grant_id', '=', grantId)
      .where('event', 'is', null)
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(accessFromRow);
  }

  async find(id: number): Promise<AuditRecord | undefined> {
    const row = await this.k.selectFrom('audit_events').selectAll().where('id', '=', id).executeTakeFirst();
    return row && fromRow(row);
  }

  /** Rows matching every filter, newest first (by id, the order they were appended in). */
  async search(q: AuditQuery): Promise<AuditRecord[]> {
    let query = this.k.selectFrom('audit_events').selectAll();
    for (const f of q.filters) query = query.where((eb) => filterExpression(eb, f));
    if (q.beforeId !== undefined) query = query.where('id', '<', q.beforeId);
    const rows = await query.orderBy('id', 'desc').limit(q.limit).execute();
    return rows.map(fromRow);
  }
}

type Eb = ExpressionBuilder<Database, 'audit_events'>;

function filterExpression(eb: Eb, f: AuditFilter): Expression<SqlBool> {
  const none = eb.lit(false) as unknown as Expression<SqlBool>;
  switch (f.kind) {
    case 'id':
      return f.ids.length ? eb('id', 'in', [...f.ids]) : none;
    case 'at':
      return eb.or(f.ranges.map((r) => eb.and([eb('at', '>=', r.lo), eb('at', '<=', r.hi)])));
    case 'patient':
      return f.patientIds.length ? eb('patient_id', 'in', [...f.patientIds]) : none;
    case 'entity':
      return eb.or(
        f.refs.map((r) =>
          r.type === 'Patient'
            ? eb.or([eb('patient_id', '=', r.id), eb.and([eb('resource_type', '=', r.type), eb('resource_id', '=', r.id)])])
            : eb.and([eb('resource_type', '=', r.type), eb('resource_id', '=', r.id)]),
        ),
      );
    case 'agent':
      return f.values.length ? eb.or([eb('client_id', 'in', [...f.values]), eb('account_id', 'in', [...f.values])]) : none;
    case 'actor':
      return f.values.length ? eb('actor', 'in', [...f.values]) : none;
    case 'kinds': {
      const parts: Expression<SqlBool>[] = [];
      if (f.events.length) parts.push(eb('event', 'in', [...f.events]));
      if (f.interactions.length) parts.push(eb.and([eb('event', 'is', null), eb('interaction', 'in', [...(f.interactions as AuditInteraction[])])]));
      return parts.length ? eb.or(parts) : none;
    }
    case 'outcome':
      return eb.or(
        f.outcomes.map((o) =>
          o === 'success'
            ? eb.or([eb.and([eb('event', 'is', null), eb('status', '<', 400)]), eb('outcome', '=', 'success')])
            : o === 'failure'
              ? eb.or([eb.and([eb('event', 'is', null), eb('status', '>=', 400), eb('status', '<', 500)]), eb('outcome', '=', 'failure')])
              : eb.and([eb('event', 'is', null), eb('status', '>=', 500)]),
        ),
      );
  }
}
