// SMART launch context bound to an oidc-provider grant, and single-use EHR launch handles.
import type { Db } from './db.js';

export interface LaunchContext {
  readonly patient?: string;
  readonly encounter?: string;
  readonly fhirUser?: string;
  readonly needPatientBanner?: boolean;
  readonly smartStyleUrl?: string;
  readonly fhirContext?: readonly { reference: string }[];
  /** The scopes the app asked for, as sent: what the sandbox token inspector judges each granted scope against */
  readonly requestedScope?: string;
  /** Seconds an access token of this grant lives, when a sandbox drill shortened it */
  readonly accessTokenTtl?: number;
  /** Set for launches made by the sandbox simulator (their tokens are kept for its inspector) */
  readonly launchId?: string;
}

/** What the sandbox launch simulator decided in advance for one launch (absent for plain EHR launches). */
export interface LaunchOptions {
  /** Sign in as this portal account without the sign-in page */
  readonly signInAs?: string;
  /** Answer the consent page in advance: Allow Access (with `untick` left out) or Deny */
  readonly consent?: 'allow' | 'deny';
  /** Permission groups (labs, vitals, ...) the simulated patient unticks */
  readonly untick?: readonly string[];
  /** Access tokens issued under the launch's grant live this many seconds (the expired-token drill) */
  readonly accessTokenTtl?: number;
  /** The failure drill this launch was made for, for the simulator's own display */
  readonly drill?: string;
  /** Hash of the simulator cookie of the browser that made the launch (only it may see, revoke or inspect it) */
  readonly owner?: string;
}

export interface LaunchHandle {
  readonly id: string;
  readonly patient: string;
  readonly encounter: string | null;
  readonly clientId: string | null;
  readonly expiresAt: number;
  readonly options?: LaunchOptions;
}

export interface StoredLaunch extends LaunchHandle {
  readonly usedAt: number | null;
  readonly grantId: string | null;
  readonly createdAt: number | null;
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
      .values({
        id: h.id,
        patient: h.patient,
        encounter: h.encounter,
        client_id: h.clientId,
        expires_at: h.expiresAt,
        used_at: null,
        options: h.options ? JSON.stringify(h.options) : null,
        grant_id: null,
        access_token: null,
        created_at: Date.now(),
      })
      .execute();
  }

  async findLaunch(id: string): Promise<StoredLaunch | undefined> {
    const r = await this.db.kysely.selectFrom('smart_launch').selectAll().where('id', '=', id).executeTakeFirst();
    return r && {
      id: r.id,
      patient: r.patient,
      encounter: r.encounter,
      clientId: r.client_id,
      expiresAt: Number(r.expires_at),
      usedAt: r.used_at === null ? null : Number(r.used_at),
      grantId: r.grant_id,
      createdAt: r.created_at === null ? null : Number(r.created_at),
      ...(r.options ? { options: JSON.parse(r.options) as LaunchOptions } : {}),
    };
  }

  /** Records the grant a launch ended in (the consent step), so the launch's tokens can be found from it. */
  async setLaunchGrant(id: string, grantId: string): Promise<void> {
    await this.db.kysely.updateTable('smart_launch').set({ grant_id: grantId }).where('id', '=', id).execute();
  }

  /** Sandbox: keeps the newest access token of a simulator launch's grant (no-op for grants of other launches). */
  async rememberLaunchToken(grantId: string, accessToken: string): Promise<void> {
    await this.db.kysely.updateTable('smart_launch').set({ access_token: accessToken }).where('grant_id', '=', grantId).where('options', 'is not', null).execute();
  }

  /** Sandbox: the newest access token issued under a simulator launch, if any. */
  async launchToken(id: string): Promise<string | undefined> {
    const r = await this.db.kysely.selectFrom('smart_launch').select('access_token').where('id', '=', id).executeTakeFirst();
    return r?.access_token ?? undefined;
  }

  /** Marks a launch used; false when it was used already (single use). */
  async useLaunch(id: string): Promise<boolean> {
    const r = await this.db.kysely.updateTable('smart_launch').set({ used_at: Date.now() }).where('id', '=', id).where('used_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}
