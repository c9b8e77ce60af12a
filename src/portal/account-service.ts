// Signing in, with a throttle: after 5 wrong passwords in a row an account is locked for 15 minutes, and while
// locked even the right password fails. Unknown usernames get the same treatment (a hash of the same cost, a
// failure counter of their own), so neither the answer nor its timing says whether an account exists.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { AccountStore, normalizeUsername, type Account } from '../store/accounts.js';
import type { AccountRole, Database } from '../store/schema.js';
import { systemClock, MINUTE_MS, type Clock } from './clock.js';
import { credentialProblems, USERNAME_TAKEN, type CredentialProblem } from './credentials.js';
import { DEFAULT_PARAMS, hashPassword, needsRehash, verifyPassword, type ScryptParams } from './passwords.js';

export type AuthResult = { readonly ok: true; readonly account: Account } | { readonly ok: false; readonly reason: 'invalid' | 'locked' };

export interface AccountServiceOptions {
  readonly now?: Clock;
  /** Failures in a row that lock an account (default 5) */
  readonly maxFailures?: number;
  /** How long a lock lasts (default 15 minutes) */
  readonly lockMs?: number;
  readonly hashParams?: ScryptParams;
  /** How many unknown usernames' failure counters to remember (default 10,000; oldest forgotten first) */
  readonly maxTrackedUnknown?: number;
}

export interface NewAccountInput {
  readonly username: string;
  readonly password: string;
  readonly email?: string | null;
  readonly displayName: string;
  readonly fhirUser: string;
  readonly patientId?: string | null;
  readonly role: AccountRole;
  /** Defaults to a random UUID */
  readonly id?: string;
}

export type CreateResult = { readonly ok: true; readonly account: Account } | { readonly ok: false; readonly problems: readonly CredentialProblem[] };

/** Failure counters for usernames that have no account, kept like an account's so lockout looks the same. */
class UnknownUserThrottle {
  readonly #entries = new Map<string, { failures: number; lockedUntil: number | null }>();
  constructor(private readonly max: number) {}

  /** Counts a failure; true when the name is (now) locked. */
  fail(name: string, now: number, maxFailures: number, lockMs: number): boolean {
    let e = this.#entries.get(name);
    if (e?.lockedUntil != null && e.lockedUntil > now) return true;
    if (!e || (e.lockedUntil != null && e.lockedUntil <= now)) e = { failures: 0, lockedUntil: null };
    e.failures += 1;
    if (e.failures >= maxFailures) e.lockedUntil = now + lockMs;
    // Re-inserting moves the name to the young end, so the oldest names are the ones forgotten.
    this.#entries.delete(name);
    if (this.#entries.size >= this.max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(name, e);
    return e.lockedUntil !== null;
  }
}

export class AccountService {
  readonly #accounts: AccountStore;
  readonly #now: Clock;
  readonly #maxFailures: number;
  readonly #lockMs: number;
  readonly #params: ScryptParams;
  readonly #unknown: UnknownUserThrottle;
  #dummyHash: Promise<string> | undefined;

  constructor(
    private readonly k: Kysely<Database>,
    opts: AccountServiceOptions = {},
  ) {
    this.#accounts = new AccountStore(k);
    this.#now = opts.now ?? systemClock;
    this.#maxFailures = opts.maxFailures ?? 5;
    this.#lockMs = opts.lockMs ?? 15 * MINUTE_MS;
    this.#params = opts.hashParams ?? DEFAULT_PARAMS;
    this.#unknown = new UnknownUserThrottle(opts.maxTrackedUnknown ?? 10_000);
  }

  get now(): Clock {
    return this.#now;
  }

  get store(): AccountStore {
    return this.#accounts;
  }

  /** Hashes with the service's parameters (activation and reset hash before opening their transaction). */
  hash(password: string): Promise<string> {
    return hashPassword(password, this.#params);
  }

  // A real hash of the same parameters, so verifying against it costs what verifying a real account costs.
  #dummy(): Promise<string> {
    this.#dummyHash ??= hashPassword(randomBytes(18).toString('base64url'), this.#params);
    return this.#dummyHash;
  }

  async authenticate(username: string, password: string): Promise<AuthResult> {
    const name = normalizeUsername(username);
    const account = name ? await this.#accounts.findByUsername(name) : undefined;
    const now = this.#now();
    if (!account) {
      await verifyPassword(password, await this.#dummy());
      return { ok: false, reason: this.#unknown.fail(name, now, this.#maxFailures, this.#lockMs) ? 'locked' : 'invalid' };
    }
    const lockExpired = account.lockedUntil !== null && account.lockedUntil <= now;
    const locked = account.lockedUntil !== null && !lockExpired;
    if (lockExpired) await this.#accounts.clearFailures(account.id);
    // Verify even when locked: a locked account must cost the same time as any other attempt.
    const match = await verifyPassword(password, account.passwordHash);
    if (locked) return { ok: false, reason: 'locked' };
    if (!match) {
      const r = await this.#accounts.recordFailure(account.id, this.#maxFailures, now + this.#lockMs);
      return { ok: false, reason: r?.lockedUntil != null && r.lockedUntil > now ? 'locked' : 'invalid' };
    }
    if (account.failedLogins > 0 && !lockExpired) await this.#accounts.clearFailures(account.id);
    if (needsRehash(account.passwordHash, this.#params)) await this.#accounts.replaceHash(account.id, account.passwordHash, await this.hash(password));
    return { ok: true, account: (await this.#accounts.findById(account.id)) ?? account };
  }

  async findById(id: string): Promise<Account | undefined> {
    return this.#accounts.findById(id);
  }

  /** Creates an account after the username / password / e-mail checks (used by operators and tests; activation and sign-up add their own checks). */
  async create(input: NewAccountInput): Promise<CreateResult> {
    const problems = credentialProblems(input);
    if (problems.length) return { ok: false, problems };
    return this.insertHashed(this.#accounts, input, await this.hash(input.password));
  }

  /** Inserts with an already computed hash, on `store` (which may be bound to an open transaction). */
  async insertHashed(store: AccountStore, input: Omit<NewAccountInput, 'password'>, passwordHash: string): Promise<CreateResult> {
    const r = await store.insert({
      id: input.id ?? randomUUID(),
      username: input.username,
      passwordHash,
      email: input.email?.trim() || null,
      displayName: input.displayName,
      fhirUser: input.fhirUser,
      patientId: input.patientId ?? null,
      role: input.role,
      createdAt: this.#now(),
    });
    if (r.ok) return r;
    const message = r.conflict === 'username' ? USERNAME_TAKEN : r.conflict === 'patient' ? 'This record already has an account.' : 'This account exists already.';
    return { ok: false, problems: [{ field: 'username', message }] };
  }
}
