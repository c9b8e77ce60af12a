// Clinic-issued activation codes: the clinic hands a patient a code (on paper, at the desk), the patient creates an
// account for their record with it. Code and date of birth together prove the person is the patient; any way of
// getting them wrong gives the same answer, so the form cannot be used to test codes or dates one by one.
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { AccountStore, type Account } from '../store/accounts.js';
import { ActivationCodeStore } from '../store/activation-codes.js';
import type { Database } from '../store/schema.js';
import type { AccountService } from './account-service.js';
import { DAY_MS, systemClock, type Clock } from './clock.js';
import { newActivationCode, normalizeActivationCode, sha256 } from './codes.js';
import { credentialProblems, USERNAME_TAKEN, type CredentialProblem } from './credentials.js';
import type { PatientRecords } from './patient-records.js';

export const ACTIVATION_CODE_TTL_MS = 45 * DAY_MS;

export const ACTIVATION_FAILED = 'The activation code, date of birth or both are not right, or the code has expired. Ask the clinic for a new code.';
export const RECORD_HAS_ACCOUNT = 'This record already has an account. Sign in, or use "Forgot your password?" if you cannot.';

export interface ActivationProblem {
  readonly field: 'code' | CredentialProblem['field'];
  readonly message: string;
}

export interface RedeemInput {
  readonly code: string;
  /** YYYY-MM-DD as the person typed it */
  readonly birthDate: string;
  readonly username: string;
  readonly password: string;
  readonly email?: string | null;
}

export type RedeemResult = { readonly ok: true; readonly account: Account } | { readonly ok: false; readonly problems: readonly ActivationProblem[] };

export class UnknownPatientError extends Error {
  constructor(readonly patientId: string) {
    super(`Patient/${patientId} is not in the record store`);
    this.name = 'UnknownPatientError';
  }
}

const fail = (field: ActivationProblem['field'], message: string): RedeemResult => ({ ok: false, problems: [{ field, message }] });

// Thrown inside the transaction to roll it back while carrying the answer out.
class Rollback {
  constructor(readonly result: RedeemResult) {}
}

export interface ActivationDeps {
  readonly k: Kysely<Database>;
  readonly accounts: AccountService;
  readonly patients: PatientRecords;
  readonly now?: Clock;
}

export class ActivationService {
  readonly #now: Clock;
  readonly #codes: ActivationCodeStore;

  constructor(private readonly deps: ActivationDeps) {
    this.#now = deps.now ?? systemClock;
    this.#codes = new ActivationCodeStore(deps.k);
  }

  /** A new code for the patient, shown once (it is stored only as a hash). Earlier codes stay valid until used or expired. */
  async issueActivationCode(patientId: string): Promise<{ code: string; expiresAt: number }> {
    if (!(await this.deps.patients.get(patientId))) throw new UnknownPatientError(patientId);
    const code = newActivationCode();
    const now = this.#now();
    const expiresAt = now + ACTIVATION_CODE_TTL_MS;
    await this.#codes.insert({ codeHash: sha256(normalizeActivationCode(code)), patientId, createdAt: now, expiresAt });
    return { code, expiresAt };
  }

  async redeem(input: RedeemInput): Promise<RedeemResult> {
    const now = this.#now();
    const codeHash = sha256(normalizeActivationCode(input.code));
    const code = await this.#codes.find(codeHash);
    const patient = code ? await this.deps.patients.get(code.patientId) : undefined;
    const proven = code !== undefined && code.usedAt === null && code.expiresAt > now && patient?.birthDate !== undefined && patient.birthDate === input.birthDate.trim();
    if (!proven || !patient) return fail('code', ACTIVATION_FAILED);

    const problems = credentialProblems(input);
    if (problems.length) return { ok: false, problems };
    const accountStore = new AccountStore(this.deps.k);
    if (await accountStore.findByPatient(patient.id)) return fail('code', RECORD_HAS_ACCOUNT);
    if (await accountStore.findByUsername(input.username)) return fail('username', USERNAME_TAKEN);

    // Hash outside the transaction: 100 ms of scrypt must not hold SQLite's write lock.
    const passwordHash = await this.deps.accounts.hash(input.password);
    const accountId = randomUUID();
    try {
      return await this.deps.k.transaction().execute(async (trx) => {
        // Consumed first and conditionally: of two redemptions racing, exactly one gets past this line.
        if (!(await new ActivationCodeStore(trx).consume(codeHash, accountId, now))) throw new Rollback(fail('code', ACTIVATION_FAILED));
        const created = await this.deps.accounts.insertHashed(
          new AccountStore(trx),
          { id: accountId, username: input.username, email: input.email ?? null, displayName: patient.name, fhirUser: `Patient/${patient.id}`, patientId: patient.id, role: 'patient' },
          passwordHash,
        );
        if (!created.ok) throw new Rollback(created);
        return created;
      });
    } catch (err) {
      if (err instanceof Rollback) return err.result;
      throw err;
    }
  }
}
