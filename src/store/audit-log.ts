// Who read or changed what in a patient's record, for the patient's "access history" page. Append-only.
import type { Kysely, Selectable } from 'kysely';
import type { Db } from './db.js';
import type { AuditEventTable, AuditInteraction, Database } from './schema.js';

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

export interface StoredAuditEvent extends AuditEvent {
  readonly id: number;
}

// Every FHIR request adds a row, so the insert is on the hot path's budget. A batch of any size is written with
// multi-row statements of a few fixed sizes, each prepared once: building the statement through the query builder
// cost more than the insert, and a statement of each batch's own size would be prepared anew on every flush.
// 9 parameters a row: 500 rows stay far below SQLite's 32,766 bound parameters and PostgreSQL's 65,535.
const STATEMENT_SIZES = [500, 100, 20, 5, 1] as const;
const COLUMNS = 'at, client_id, grant_id, account_id, patient_id, resource_type, interaction, resource_id, status';

function fromRow(r: Selectable<AuditEventTable>): StoredAuditEvent {
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
    status: Number(r.status),
  };
}

export class AuditLogStore {
  private readonly k: Kysely<Database>;
  /** Largest first, so a batch takes as few statements as it can */
  readonly #inserts: readonly { readonly size: number; readonly sql: string; readonly run: (params: readonly unknown[]) => Promise<number> }[];
  readonly #writeBehind: Db['writeBehind'];

  constructor(db: Db) {
    this.k = db.kysely;
    this.#writeBehind = db.writeBehind;
    const row = '(?, ?, ?, ?, ?, ?, ?, ?, ?)';
    this.#inserts = STATEMENT_SIZES.map((size) => {
      const sql = `insert into audit_events (${COLUMNS}) values ${Array(size).fill(row).join(', ')}`;
      return { size, sql, run: db.prepareRun(`audit_insert_${size}`, sql) };
    });
  }

  /**
   * Writes a batch (callers buffer events off the request path and flush them together): on a SQLite file in one
   * transaction on the write-behind thread, elsewhere statement by statement on the pool.
   */
  async record(events: readonly AuditEvent[]): Promise<void> {
    const statements: { sql: string; params: unknown[]; run: (params: readonly unknown[]) => Promise<number> }[] = [];
    let i = 0;
    for (const { size, sql, run } of this.#inserts) {
      for (; events.length - i >= size; i += size) {
        const params: unknown[] = [];
        for (let j = i; j < i + size; j++) {
          const e = events[j]!;
          params.push(e.at, e.clientId, e.grantId, e.accountId, e.patientId, e.resourceType, e.interaction, e.resourceId, e.status);
        }
        statements.push({ sql, params, run });
      }
    }
    if (this.#writeBehind) return this.#writeBehind(statements.map(({ sql, params }) => ({ sql, params })));
    for (const { params, run } of statements) await run(params);
  }

  /** Newest first, across the given records (the patient's own and those they are proxy for). */
  async listForPatients(patientIds: readonly string[], limit: number): Promise<StoredAuditEvent[]> {
    if (!patientIds.length) return [];
    const rows = await this.k
      .selectFrom('audit_events')
      .selectAll()
      .where('patient_id', 'in', [...patientIds])
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(fromRow);
  }

  async listForGrant(grantId: string, limit: number): Promise<StoredAuditEvent[]> {
    const rows = await this.k.selectFrom('audit_events').selectAll().where('grant_id', '=', grantId).orderBy('at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map(fromRow);
  }
}
