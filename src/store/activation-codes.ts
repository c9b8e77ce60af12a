// Activation codes by hash. Consuming one is a conditional update, so two redemptions racing cannot both win.
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface ActivationCode {
  readonly codeHash: string;
  readonly patientId: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly usedAt: number | null;
  readonly usedByAccount: string | null;
}

export class ActivationCodeStore {
  constructor(private readonly k: Kysely<Database>) {}

  async insert(c: { codeHash: string; patientId: string; createdAt: number; expiresAt: number }): Promise<void> {
    await this.k
      .insertInto('activation_codes')
      .values({ code_hash: c.codeHash, patient_id: c.patientId, created_at: c.createdAt, expires_at: c.expiresAt, used_at: null, used_by_account: null })
      .execute();
  }

  async find(codeHash: string): Promise<ActivationCode | undefined> {
    const r = await this.k.selectFrom('activation_codes').selectAll().where('code_hash', '=', codeHash).executeTakeFirst();
    return (
      r && {
        codeHash: r.code_hash,
        patientId: r.patient_id,
        createdAt: Number(r.created_at),
        expiresAt: Number(r.expires_at),
        usedAt: r.used_at === null ? null : Number(r.used_at),
        usedByAccount: r.used_by_account,
      }
    );
  }

  /** Marks the code used by `accountId` if it is still unused and unexpired at `now`; false otherwise. */
  async consume(codeHash: string, accountId: string, now: number): Promise<boolean> {
    const r = await this.k
      .updateTable('activation_codes')
      .set({ used_at: now, used_by_account: accountId })
      .where('code_hash', '=', codeHash)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}
