// Password reset codes by hash; consuming is conditional so a code works once even under concurrent use.
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export class PasswordResetStore {
  constructor(private readonly k: Kysely<Database>) {}

  async insert(r: { codeHash: string; accountId: string; createdAt: number; expiresAt: number }): Promise<void> {
    await this.k
      .insertInto('password_resets')
      .values({ code_hash: r.codeHash, account_id: r.accountId, created_at: r.createdAt, expires_at: r.expiresAt, used_at: null })
      .execute();
  }

  /** True when the code was unused and unexpired and is now used. */
  async consume(codeHash: string, accountId: string, now: number): Promise<boolean> {
    const r = await this.k
      .updateTable('password_resets')
      .set({ used_at: now })
      .where('code_hash', '=', codeHash)
      .where('account_id', '=', accountId)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Whether a code is usable now, without using it (so a rejected new password does not burn the code). */
  async isUsable(codeHash: string, accountId: string, now: number): Promise<boolean> {
    const r = await this.k
      .selectFrom('password_resets')
      .select('code_hash')
      .where('code_hash', '=', codeHash)
      .where('account_id', '=', accountId)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return r !== undefined;
  }

  /** Closes every other outstanding code of the account once one has been used. */
  async invalidateOutstanding(accountId: string, now: number): Promise<number> {
    const r = await this.k.updateTable('password_resets').set({ used_at: now }).where('account_id', '=', accountId).where('used_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** Codes issued to the account after `since` (exclusive); lets the service cap how many a requester can trigger. */
  async countIssuedSince(accountId: string, since: number): Promise<number> {
    const r = await this.k
      .selectFrom('password_resets')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('account_id', '=', accountId)
      .where('created_at', '>', since)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }
}
