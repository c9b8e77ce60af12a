// SMART launch context bound to an oidc-provider grant, and single-use EHR launch handles.
import type { Db } from './db.js';

export interface LaunchContext {
  readonly patient?: string;
  readonly encounter?: string;
  readonly fhirUser?: string;
  readonly needPatientBanner?: boolean;
  readonly smartStyleUrl?: string;
  readonly fhirContext?: readonly { reference: string }[];
}

export interface LaunchHandle {
  readonly id: string;
  readonly patient: string;
  readonly encounter: string | null;
  readonly clientId: string | null;
  readonly expiresAt: number;
}

export class SmartContextStore {
  constructor(private readonly db: Db) {}

  async save(grantId: string, ctx: LaunchContext): Promise<void> {
    const row = {
      grant_id: grantId,
      patient: ctx.patient ?? null,
      encounter: ctx.encounter ?? null,
      fhir_user: ctx.fhirUser ?? null,
      context: JSON.stringify(ctx),
      created_at: Date.now(),
    };
    const { grant_id: _g, ...update } = row;
    await this.db.kysely.insertInto('smart_context').values(row).onConflict((oc) => oc.column('grant_id').doUpdateSet(update)).execute();
  }

  async get(grantId: string): Promise<LaunchContext | undefined> {
    const r = await this.db.kysely.selectFrom('smart_context').select('context').where('grant_id', '=', grantId).executeTakeFirst();
    return r ? (JSON.parse(r.context) as LaunchContext) : undefined;
  }

  async delete(grantId: string): Promise<void> {
    await this.db.kysely.deleteFrom('smart_context').where('grant_id', '=', grantId).execute();
  }

  async createLaunch(h: LaunchHandle): Promise<void> {
    await this.db.kysely
      .insertInto('smart_launch')
      .values({ id: h.id, patient: h.patient, encounter: h.encounter, client_id: h.clientId, expires_at: h.expiresAt, used_at: null })
      .execute();
  }

  async findLaunch(id: string): Promise<(LaunchHandle & { usedAt: number | null }) | undefined> {
    const r = await this.db.kysely.selectFrom('smart_launch').selectAll().where('id', '=', id).executeTakeFirst();
    return r && { id: r.id, patient: r.patient, encounter: r.encounter, clientId: r.client_id, expiresAt: Number(r.expires_at), usedAt: r.used_at === null ? null : Number(r.used_at) };
  }

  /** Marks a launch used; false when it was used already (single use). */
  async useLaunch(id: string): Promise<boolean> {
    const r = await this.db.kysely.updateTable('smart_launch').set({ used_at: Date.now() }).where('id', '=', id).where('used_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}
