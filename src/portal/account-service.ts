// Signing in, with a throttle: after 5 wrong passwords in a row an account is locked for 15 minutes, and while
// locked even the right password fails. Unknown usernames get the same treatment (a hash of the same cost, the same
// failure counter), so neither the answer nor its timing says whether an account exists. The counters are kept per
// username in the shared rate-limit table, so every instance and worker sees the same count and the same lock.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { AccountStore, normalizeUsername, type Account } from '../store/accounts.js';
import { RateLimitStore } from '../store/rate-limits.js';
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

/** Bucket of the sign-in failure counters (keyed by normalized username) in the rate-limit table */
const SIGNIN_FAILURES = 'signin-failures';

export class AccountService {
  readonly #accounts: AccountStore;
  readonly #now: Clock;
  readonly #maxFailures: number;
  readonly #lockMs: number;
  readonly #params: ScryptParams;
  readonly #failures: RateLimitStore;
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
    this.#failures = new RateLimitStore(k);
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
    // Verify even when locked or unknown: every attempt must cost the same time.
    const match = await verifyPassword(password, account ? account.passwordHash : await this.#dummy());
    if (!account || !match) {
      // Once the count reaches maxFailures it stays there until the lock ends: attempts during a lock do not extend it.
      const c = await this.#failures.hit(SIGNIN_FAILURES, name, { windowMs: this.#lockMs, cap: this.#maxFailures, sliding: true }, now);
      return { ok: false, reason: c.hits >= this.#maxFailures ? 'locked' : 'invalid' };
    }
    const failures = await this.#failures.read(SIGNIN_FAILURES, name, now);
    if (failures && failures.hits >= this.#maxFailures) return { ok: false, reason: 'locked' };
    if (failures) await this.#failures.clear(SIGNIN_FAILURES, name);
    if (needsRehash(account.passwordHash, this.#params)) await this.#accounts.replaceHash(account.id, account.passwordHash, await this.hash(password));
    return { ok: true, account: (await this.#accounts.findById(account.id)) ?? account };
  }

  /** Failed sign-ins in a row of `username` still counted, and until when it is locked (null: not locked). */
  async failures(username: string): Promise<{ readonly count: number; readonly lockedUntil: number | null }> {
    const c = await this.#failures.read(SIGNIN_FAILURES, normalizeUsername(username), this.#now());
    return { count: c?.hits ?? 0, lockedUntil: c && c.hits >= this.#maxFailures ? c.resetAt : null };
  }

  /** Forgets the failures of `username`, lifting a lock (a password reset proved control some other way). */
  async clearFailures(username: string): Promise<void> {
    await this.#failures.clear(SIGNIN_FAILURES, normalizeUsername(username));
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
