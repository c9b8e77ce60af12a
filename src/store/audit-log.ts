// Who read or changed what in a patient's record, for the patient's "access history" page. Append-only.
import type { Kysely, Selectable } from 'kysely';
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

// 10 columns per row: 500 rows stay far below SQLite's 32,766 bound parameters and PostgreSQL's 65,535.
const ROWS_PER_STATEMENT = 500;

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
  constructor(private readonly k: Kysely<Database>) {}

  /** Writes a batch in one statement (callers buffer events off the request path and flush them together). */
  async record(events: readonly AuditEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += ROWS_PER_STATEMENT) {
      const rows = events.slice(i, i + ROWS_PER_STATEMENT).map((e) => ({
        at: e.at,
        client_id: e.clientId,
        grant_id: e.grantId,
        account_id: e.accountId,
        patient_id: e.patientId,
        resource_type: e.resourceType,
        interaction: e.interaction,
        resource_id: e.resourceId,
        status: e.status,
      }));
      await this.k.insertInto('audit_events').values(rows).execute();
    }
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
