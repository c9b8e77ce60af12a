// Self sign-up for adults: name, date of birth and an identifier from their record (e.g. the MRN on a clinic
// letter) must point at exactly one Patient. Anything else, including a record that already has an account,
// gets one answer that sends the person to support, so the form reveals nothing about who is on file.
import type { Kysely } from 'kysely';
import type { Account } from '../store/accounts.js';
import { AccountStore } from '../store/accounts.js';
import type { Database } from '../store/schema.js';
import type { AccountService } from './account-service.js';
import { systemClock, type Clock } from './clock.js';
import { credentialProblems, USERNAME_TAKEN, type CredentialProblem } from './credentials.js';
import { foldName, type PatientFacts, type PatientRecords } from './patient-records.js';
import { ADULT_AGE, ageOn } from './proxy-policy.js';

export const NO_MATCH = 'We could not match you to one record; please contact support.';
export const UNDER_18 = 'You need to be 18 or older to sign up yourself. A parent or guardian can ask the clinic for access to a younger person\'s record.';
export const BAD_BIRTH_DATE = 'Enter your date of birth as year, month and day (YYYY-MM-DD).';

export interface IdentityInput {
  readonly givenName: string;
  readonly familyName: string;
  /** YYYY-MM-DD */
  readonly birthDate: string;
  /** A value of one of the record's identifiers, e.g. the medical record number */
  readonly identifier: string;
}

export interface SignUpInput extends IdentityInput {
  readonly username: string;
  readonly password: string;
  readonly email?: string | null;
}

export interface SignUpProblem {
  readonly field: 'identity' | 'birthDate' | CredentialProblem['field'];
  readonly message: string;
}

export type MatchResult =
  | { readonly ok: true; readonly patient: PatientFacts }
  | { readonly ok: false; readonly reason: 'no-match' | 'minor' | 'bad-birth-date'; readonly message: string };

export type SignUpResult = { readonly ok: true; readonly account: Account } | { readonly ok: false; readonly problems: readonly SignUpProblem[] };

const noMatch: MatchResult = { ok: false, reason: 'no-match', message: NO_MATCH };

/** Whether the typed identity fits this record exactly (names folded for case and accents; identifier exact). */
export function identityMatches(p: PatientFacts, input: IdentityInput): boolean {
  if (p.birthDate !== input.birthDate.trim()) return false;
  const family = foldName(input.familyName);
  if (!p.familyNames.some((f) => foldName(f) === family)) return false;
  // "Maria" or "Maria Elena" both name Maria Elena Garcia; "Mari" does not.
  const given = foldName(input.givenName);
  const givens = p.givenNames.map(foldName);
  if (!givens.includes(given) && givens.join(' ') !== given) return false;
  const id = input.identifier.trim();
  return id !== '' && p.identifierValues.some((v) => v.trim() === id);
}

export interface SelfSignupDeps {
  readonly k: Kysely<Database>;
  readonly accounts: AccountService;
  readonly patients: PatientRecords;
  readonly now?: Clock;
}

export class SelfSignupService {
  readonly #now: Clock;

  constructor(private readonly deps: SelfSignupDeps) {
    this.#now = deps.now ?? systemClock;
  }

  /** The one record this adult is, or why not. */
  async matchPatient(input: IdentityInput): Promise<MatchResult> {
    const birthDate = input.birthDate.trim();
    const age = /^\d{4}-\d{2}-\d{2}$/.test(birthDate) && !Number.isNaN(Date.parse(birthDate)) ? ageOn(birthDate, this.#now()) : undefined;
    if (age === undefined || age < 0) return { ok: false, reason: 'bad-birth-date', message: BAD_BIRTH_DATE };
    if (age < ADULT_AGE) return { ok: false, reason: 'minor', message: UNDER_18 };
    if (!input.familyName.trim() || !input.givenName.trim() || !input.identifier.trim()) return noMatch;
    const candidates = await this.deps.patients.searchByFamilyAndBirthDate(input.familyName.trim(), birthDate);
    const matches = candidates.filter((p) => identityMatches(p, input));
    return matches.length === 1 ? { ok: true, patient: matches[0]! } : noMatch;
  }

  async signUp(input: SignUpInput): Promise<SignUpResult> {
    const problems = credentialProblems(input);
    if (problems.length) return { ok: false, problems };
    const match = await this.matchPatient(input);
    if (!match.ok) return { ok: false, problems: [{ field: match.reason === 'bad-birth-date' ? 'birthDate' : 'identity', message: match.message }] };
    const store = new AccountStore(this.deps.k);
    // A record with an account already: same answer as no match (someone else may be trying to claim it).
    if (await store.findByPatient(match.patient.id)) return { ok: false, problems: [{ field: 'identity', message: NO_MATCH }] };
    if (await store.findByUsername(input.username)) return { ok: false, problems: [{ field: 'username', message: USERNAME_TAKEN }] };
    const p = match.patient;
    const created = await this.deps.accounts.insertHashed(
      store,
      { username: input.username, email: input.email ?? null, displayName: p.name, fhirUser: `Patient/${p.id}`, patientId: p.id, role: 'patient' },
      await this.deps.accounts.hash(input.password),
    );
    if (created.ok) return created;
    // Lost a race: the record was claimed meanwhile (same answer as above), or the username was taken.
    const taken = created.problems.some((x) => x.message === USERNAME_TAKEN);
    return { ok: false, problems: [taken ? { field: 'username', message: USERNAME_TAKEN } : { field: 'identity', message: NO_MATCH }] };
  }
}
