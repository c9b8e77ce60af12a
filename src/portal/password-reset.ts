// "Forgot your password?": a short code by e-mail, valid 15 minutes, once. Asking for one always gets the same
// answer, whether or not the account exists or has an e-mail address, so the form cannot list accounts.
import type { Kysely } from 'kysely';
import { AccountStore, type Account } from '../store/accounts.js';
import { PasswordResetStore } from '../store/password-resets.js';
import type { Database } from '../store/schema.js';
import type { AccountService } from './account-service.js';
import { MINUTE_MS, systemClock, type Clock } from './clock.js';
import { newNumericCode, normalizeNumericCode, sha256 } from './codes.js';
import type { Mailer } from './mailer.js';
import { passwordProblems } from './password-policy.js';

export const RESET_CODE_TTL_MS = 15 * MINUTE_MS;
/** Codes one account can be sent per hour: enough for typos, too few to flood someone's inbox. */
export const MAX_CODES_PER_HOUR = 5;

export const RESET_REQUESTED =
  'If there is an account with that username or e-mail address, and it has an e-mail address, we have sent a code to it. The code works once, for 15 minutes.';
export const RESET_FAILED = 'The username or code is not right, or the code has expired or was used. Ask for a new code.';

export interface ResetInput {
  readonly username: string;
  readonly code: string;
  readonly newPassword: string;
}

export interface ResetProblem {
  readonly field: 'code' | 'password';
  readonly message: string;
}

export type ResetResult = { readonly ok: true; readonly account: Account } | { readonly ok: false; readonly problems: readonly ResetProblem[] };

// Bound to the account, so a short code is worthless for any other account and never collides with another's.
const resetHash = (accountId: string, code: string): string => sha256(`${accountId}:${normalizeNumericCode(code)}`);

const failed: ResetResult = { ok: false, problems: [{ field: 'code', message: RESET_FAILED }] };

export interface PasswordResetDeps {
  readonly k: Kysely<Database>;
  readonly accounts: AccountService;
  readonly mailer: Mailer;
  readonly now?: Clock;
  /** Where people sign in, for the mail text (e.g. http://localhost:8080/portal/reset) */
  readonly resetUrl?: string;
}

export class PasswordResetService {
  readonly #now: Clock;
  readonly #accounts: AccountStore;
  readonly #resets: PasswordResetStore;

  constructor(private readonly deps: PasswordResetDeps) {
    this.#now = deps.now ?? systemClock;
    this.#accounts = new AccountStore(deps.k);
    this.#resets = new PasswordResetStore(deps.k);
  }

  /** Sends a code to each matching account that has an e-mail address; the answer never says whether one did. */
  async requestReset(usernameOrEmail: string): Promise<{ readonly message: string }> {
    const key = usernameOrEmail.trim();
    if (key) {
      const byName = await this.#accounts.findByUsername(key);
      // A shared family address may belong to several accounts; each gets its own code naming its username.
      const targets = byName ? [byName] : key.includes('@') ? await this.#accounts.findByEmail(key) : [];
      for (const account of targets) await this.#sendCode(account);
    }
    return { message: RESET_REQUESTED };
  }

  async #sendCode(account: Account): Promise<void> {
    if (!account.email) return;
    const now = this.#now();
    if ((await this.#resets.countIssuedSince(account.id, now - 60 * MINUTE_MS)) >= MAX_CODES_PER_HOUR) return;
    const code = newNumericCode(8);
    await this.#resets.insert({ codeHash: resetHash(account.id, code), accountId: account.id, createdAt: now, expiresAt: now + RESET_CODE_TTL_MS });
    const where = this.deps.resetUrl ? ` at ${this.deps.resetUrl}` : '';
    await this.deps.mailer.send({
      to: account.email,
      subject: 'Your password reset code',
      text: [
        `Hello ${account.displayName},`,
        '',
        `Someone asked to reset the password of the patient portal account "${account.username}".`,
        `Your code is: ${code}`,
        '',
        `Enter it with your username${where} within 15 minutes. It works once.`,
        'If you did not ask for this, you can ignore this e-mail: your password has not changed.',
      ].join('\n'),
    });
  }

  /** Sets a new password with a valid code; also lifts a lockout and closes every other outstanding code. */
  async resetPassword(input: ResetInput): Promise<ResetResult> {
    const now = this.#now();
    const account = await this.#accounts.findByUsername(input.username);
    if (!account) return failed;
    const codeHash = resetHash(account.id, input.code);
    if (!(await this.#resets.isUsable(codeHash, account.id, now))) return failed;
    // Checked before the code is used, so a rejected password does not cost the person their code.
    const problems = passwordProblems(input.newPassword, { username: account.username });
    if (problems.length) return { ok: false, problems: problems.map((message) => ({ field: 'password', message })) };
    const passwordHash = await this.deps.accounts.hash(input.newPassword);
    const done = await this.deps.k.transaction().execute(async (trx) => {
      const resets = new PasswordResetStore(trx);
      if (!(await resets.consume(codeHash, account.id, now))) return false;
      await resets.invalidateOutstanding(account.id, now);
      await new AccountStore(trx).setPassword(account.id, passwordHash, now);
      return true;
    });
    if (!done) return failed;
    await this.deps.accounts.clearFailures(account.username);
    return { ok: true, account: (await this.#accounts.findById(account.id)) ?? account };
  }
}
