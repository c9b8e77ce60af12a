// Sandbox demo accounts until the patient portal's real accounts arrive (issue 4): who can sign in, which FHIR
// user they are, and whose records they may open (their own, and family members they are proxy for).
import { timingSafeEqual } from 'node:crypto';
import type { AccountDirectory, AccountInfo } from '../auth/provider.js';

export interface PatientChoice {
  readonly id: string;
  readonly name: string;
  readonly relationship: 'self' | 'child' | 'other';
}

export interface DemoAccount extends AccountInfo {
  readonly username: string;
  readonly patients: readonly PatientChoice[];
  /** undefined: a clinician, whose user/ scopes reach every patient */
  readonly clinician?: boolean;
}

export const DEMO_PASSWORD = 'smart-demo';

export const DEMO_ACCOUNTS: readonly DemoAccount[] = [
  {
    username: 'maria',
    accountId: 'maria',
    fhirUser: 'Patient/maria-garcia',
    name: 'Maria Elena Garcia',
    patients: [
      { id: 'maria-garcia', name: 'Maria Elena Garcia', relationship: 'self' },
      { id: 'sofia-garcia', name: 'Sofia Isabel Garcia', relationship: 'child' },
      { id: 'mateo-garcia', name: 'Mateo Luis Garcia', relationship: 'child' },
    ],
  },
  { username: 'daniel', accountId: 'daniel', fhirUser: 'Patient/daniel-kim', name: 'Daniel Kim', patients: [{ id: 'daniel-kim', name: 'Daniel Kim', relationship: 'self' }] },
  { username: 'mateo', accountId: 'mateo', fhirUser: 'Patient/mateo-garcia', name: 'Mateo Luis Garcia', patients: [{ id: 'mateo-garcia', name: 'Mateo Luis Garcia', relationship: 'self' }] },
  { username: 'dr-lee', accountId: 'dr-lee', fhirUser: 'Practitioner/dr-lee', name: 'Dr. Jordan Lee', patients: [], clinician: true },
];

export class DemoAccountDirectory implements AccountDirectory {
  /** Outside sandbox mode the demo accounts do not exist (real accounts arrive with the portal). */
  constructor(private readonly enabled: boolean) {}

  async findAccount(accountId: string): Promise<DemoAccount | undefined> {
    return this.enabled ? DEMO_ACCOUNTS.find((a) => a.accountId === accountId) : undefined;
  }

  /** Same work whether or not the user exists, so timing does not reveal account names. */
  async authenticate(username: string, password: string): Promise<DemoAccount | undefined> {
    const account = this.enabled ? DEMO_ACCOUNTS.find((a) => a.username === username.trim().toLowerCase()) : undefined;
    const a = Buffer.from(password.padEnd(64).slice(0, 64));
    const b = Buffer.from(DEMO_PASSWORD.padEnd(64));
    const ok = timingSafeEqual(a, b) && password === DEMO_PASSWORD;
    return ok ? account : undefined;
  }

  /** Patients a user/ scope reaches: undefined for clinicians (all), else their own and proxied records. */
  async userPatients(accountId: string | undefined): Promise<readonly string[] | undefined> {
    const a = accountId ? await this.findAccount(accountId) : undefined;
    if (!a) return [];
    return a.clinician ? undefined : a.patients.map((p) => p.id);
  }
}
