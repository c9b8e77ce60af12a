// The database-backed account directory the authorization server and the portal ask: who an account is, whose
// records it reaches (its own, then the ones it is proxy for, each with what is allowed), and signing in.
//
// Note for the FHIR layer: userPatients() answers "which compartments", as the demo directory does; it cannot say
// that a parent of a teen may see only some types. Whoever builds the access policy for a proxied record must also
// apply allowedTypes from patientsFor() / accessTo(), or a parent would read a teen's confidential results.
import type { AccountDirectory, AccountInfo } from '../auth/provider.js';
import type { Account } from '../store/accounts.js';
import type { AccountRole } from '../store/schema.js';
import type { AccountService, AuthResult } from './account-service.js';
import { systemClock, type Clock } from './clock.js';
import type { PatientRecords } from './patient-records.js';
import type { ProxyService } from './proxy-service.js';

export type PatientRelationship = 'self' | 'child' | 'teen' | 'adult-proxy';

export interface AccessiblePatient {
  readonly id: string;
  readonly name: string;
  readonly relationship: PatientRelationship;
  readonly allowedTypes: 'all' | readonly string[];
  /** The relation access comes through; absent for the account holder's own record */
  readonly proxyRelationId?: string;
  /** When proxy access ends by itself, if it does */
  readonly endsAt?: number;
}

export interface PortalAccount extends AccountInfo {
  readonly username: string;
  readonly name: string;
  readonly role: AccountRole;
  readonly patientId: string | null;
  readonly email: string | null;
}

export interface PortalAccountDirectoryDeps {
  readonly accounts: AccountService;
  readonly patients: PatientRecords;
  readonly proxies: ProxyService;
  readonly now?: Clock;
}

const toPortalAccount = (a: Account): PortalAccount => ({
  accountId: a.id,
  fhirUser: a.fhirUser,
  name: a.displayName,
  username: a.username,
  role: a.role,
  patientId: a.patientId,
  email: a.email,
});

const RELATIONSHIP_OF = { child: 'child', teen: 'teen', 'legal-authorization': 'adult-proxy' } as const;

export class PortalAccountDirectory implements AccountDirectory {
  readonly #now: Clock;

  constructor(private readonly deps: PortalAccountDirectoryDeps) {
    this.#now = deps.now ?? systemClock;
  }

  async findAccount(accountId: string): Promise<PortalAccount | undefined> {
    const a = await this.deps.accounts.findById(accountId);
    return a && toPortalAccount(a);
  }

  /** Sign-in with lockout; see AccountService.authenticate. */
  authenticate(username: string, password: string): Promise<AuthResult> {
    return this.deps.accounts.authenticate(username, password);
  }

  /** Own record first, then records the account is an active proxy for (in the order the relations were made). */
  async patientsFor(accountId: string, now: number = this.#now()): Promise<AccessiblePatient[]> {
    const account = await this.deps.accounts.findById(accountId);
    return account ? this.#patientsOf(account, now) : [];
  }

  async #patientsOf(account: Account, now: number): Promise<AccessiblePatient[]> {
    if (account.role !== 'patient') return [];
    const out: AccessiblePatient[] = [];
    if (account.patientId) {
      const own = await this.deps.patients.get(account.patientId);
      if (own) out.push({ id: own.id, name: own.name, relationship: 'self', allowedTypes: 'all' });
    }
    for (const { relation, patientName, access } of await this.deps.proxies.listForHolderId(account.id, now)) {
      if (!access.active || patientName === undefined || out.some((p) => p.id === relation.patientId)) continue;
      const relationship = RELATIONSHIP_OF[access.reason as keyof typeof RELATIONSHIP_OF];
      if (!relationship) continue;
      out.push({
        id: relation.patientId,
        name: patientName,
        relationship,
        allowedTypes: access.allowedTypes,
        proxyRelationId: relation.id,
        ...(access.endsAt !== undefined ? { endsAt: access.endsAt } : {}),
      });
    }
    return out;
  }

  /** What the account may do in one record now; undefined when it has no access to it. */
  async accessTo(accountId: string, patientId: string, now: number = this.#now()): Promise<AccessiblePatient | undefined> {
    return (await this.patientsFor(accountId, now)).find((p) => p.id === patientId);
  }

  /** Patients a user/ scope reaches: undefined for clinicians (all), else their own and proxied records. */
  async userPatients(accountId: string | undefined): Promise<readonly string[] | undefined> {
    const account = accountId ? await this.deps.accounts.findById(accountId) : undefined;
    if (!account) return [];
    if (account.role === 'clinician') return undefined;
    return (await this.#patientsOf(account, this.#now())).map((p) => p.id);
  }
}
