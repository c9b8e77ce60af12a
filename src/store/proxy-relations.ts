// Proxy relations as recorded; whether one grants access right now is portal/proxy-policy's decision, not the store's.
import type { Kysely, Selectable } from 'kysely';
import type { Database, ProxyRelationTable, ProxyRelationship } from './schema.js';

export interface ProxyRelation {
  readonly id: string;
  readonly holderAccountId: string;
  readonly patientId: string;
  readonly relationship: ProxyRelationship;
  readonly startsAt: number;
  readonly endsAt: number | null;
  readonly revokedAt: number | null;
  readonly createdAt: number;
  readonly note: string | null;
}

const n = (v: number | null): number | null => (v === null ? null : Number(v));

function fromRow(r: Selectable<ProxyRelationTable>): ProxyRelation {
  return {
    id: r.id,
    holderAccountId: r.holder_account_id,
    patientId: r.patient_id,
    relationship: r.relationship,
    startsAt: Number(r.starts_at),
    endsAt: n(r.ends_at),
    revokedAt: n(r.revoked_at),
    createdAt: Number(r.created_at),
    note: r.note,
  };
}

export class ProxyRelationStore {
  constructor(private readonly k: Kysely<Database>) {}

  async insert(r: Omit<ProxyRelation, 'revokedAt'>): Promise<ProxyRelation> {
    const row = {
      id: r.id,
      holder_account_id: r.holderAccountId,
      patient_id: r.patientId,
      relationship: r.relationship,
      starts_at: r.startsAt,
      ends_at: r.endsAt,
      revoked_at: null,
      created_at: r.createdAt,
      note: r.note,
    };
    await this.k.insertInto('proxy_relations').values(row).execute();
    return fromRow(row);
  }

  async find(id: string): Promise<ProxyRelation | undefined> {
    const r = await this.k.selectFrom('proxy_relations').selectAll().where('id', '=', id).executeTakeFirst();
    return r && fromRow(r);
  }

  /** Every relation the account holds, revoked and ended ones included (the caller judges them), oldest first. */
  async listForHolder(holderAccountId: string): Promise<ProxyRelation[]> {
    const rows = await this.k.selectFrom('proxy_relations').selectAll().where('holder_account_id', '=', holderAccountId).orderBy('created_at').orderBy('id').execute();
    return rows.map(fromRow);
  }

  async listForPatient(patientId: string): Promise<ProxyRelation[]> {
    const rows = await this.k.selectFrom('proxy_relations').selectAll().where('patient_id', '=', patientId).orderBy('created_at').orderBy('id').execute();
    return rows.map(fromRow);
  }

  async findMany(ids: readonly string[]): Promise<ProxyRelation[]> {
    if (!ids.length) return [];
    return (await this.k.selectFrom('proxy_relations').selectAll().where('id', 'in', [...ids]).execute()).map(fromRow);
  }

  /** Sets revoked_at once; false when unknown or revoked already. */
  async revoke(id: string, at: number): Promise<boolean> {
    const r = await this.k.updateTable('proxy_relations').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}
