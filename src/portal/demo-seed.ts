// Sandbox demo accounts in the real account tables, so the demo walks the same code as production. Runs on every
// start: it only adds what is missing and never touches an existing account (a changed password stays changed).
// The demo password is set directly, bypassing the strength policy on purpose: it is published in the README.
import type { Kysely } from 'kysely';
import { AccountStore } from '../store/accounts.js';
import { ProxyRelationStore } from '../store/proxy-relations.js';
import type { AccountRole, Database, ProxyRelationship } from '../store/schema.js';
import type { AccountService } from './account-service.js';
import { systemClock, type Clock } from './clock.js';
import type { PatientRecords } from './patient-records.js';

export const DEMO_PASSWORD = 'smart-demo';

interface DemoAccountSpec {
  readonly username: string;
  readonly displayName: string;
  readonly fhirUser: string;
  readonly patientId: string | null;
  readonly role: AccountRole;
}

interface DemoRelationSpec {
  readonly id: string;
  readonly holder: string;
  readonly patientId: string;
  readonly relationship: ProxyRelationship;
  readonly note: string;
}

const patient = (username: string, id: string, displayName: string): DemoAccountSpec => ({ username, displayName, fhirUser: `Patient/${id}`, patientId: id, role: 'patient' });

// Account ids equal usernames, as in the former in-memory demo directory, so existing sandbox grants keep working.
export const DEMO_ACCOUNT_SPECS: readonly DemoAccountSpec[] = [
  patient('maria', 'maria-garcia', 'Maria Elena Garcia'),
  patient('daniel', 'daniel-kim', 'Daniel Kim'),
  patient('mateo', 'mateo-garcia', 'Mateo Luis Garcia'),
  patient('linda', 'linda-kowalski', 'Linda Marie Kowalski'),
  { username: 'dr-lee', displayName: 'Dr. Jordan Lee', fhirUser: 'Practitioner/dr-lee', patientId: null, role: 'clinician' },
];

// Fixed ids: a second start recognises them, and a relation an operator revoked is not brought back.
export const DEMO_RELATION_SPECS: readonly DemoRelationSpec[] = [
  { id: 'demo-maria-sofia', holder: 'maria', patientId: 'sofia-garcia', relationship: 'parent', note: 'Sandbox demo: mother of a child under 13' },
  { id: 'demo-maria-mateo', holder: 'maria', patientId: 'mateo-garcia', relationship: 'parent', note: 'Sandbox demo: mother of a teenager (limited access)' },
  { id: 'demo-linda-harold', holder: 'linda', patientId: 'harold-jensen', relationship: 'legal-authorization', note: 'Sandbox demo: health care power of attorney for an adult' },
];

export interface DemoSeedDeps {
  readonly k: Kysely<Database>;
  readonly accounts: AccountService;
  readonly patients: PatientRecords;
  readonly now?: Clock;
}

export interface DemoSeedReport {
  readonly accountsCreated: readonly string[];
  readonly relationsCreated: readonly string[];
  /** Demo entries left out because a Patient they name is not in the store (e.g. seeding disabled) */
  readonly skipped: readonly string[];
}

export async function seedDemoAccounts(deps: DemoSeedDeps): Promise<DemoSeedReport> {
  const now = (deps.now ?? systemClock)();
  const accounts = new AccountStore(deps.k);
  const relations = new ProxyRelationStore(deps.k);
  const present = new Set((await deps.patients.getMany([...DEMO_ACCOUNT_SPECS.flatMap((a) => a.patientId ?? []), ...DEMO_RELATION_SPECS.map((r) => r.patientId)])).map((p) => p.id));
  const accountsCreated: string[] = [];
  const relationsCreated: string[] = [];
  const skipped: string[] = [];
  let hash: string | undefined;

  for (const spec of DEMO_ACCOUNT_SPECS) {
    if (spec.patientId && !present.has(spec.patientId)) {
      skipped.push(spec.username);
      continue;
    }
    if ((await accounts.findByUsername(spec.username)) || (await accounts.findById(spec.username))) continue;
    hash ??= await deps.accounts.hash(DEMO_PASSWORD);
    // A concurrent start may insert the same account first: its conflict is the same outcome, not an error.
    const r = await deps.accounts.insertHashed(accounts, { ...spec, id: spec.username, email: `${spec.username}@example.org` }, hash);
    if (r.ok) accountsCreated.push(spec.username);
  }

  for (const [i, spec] of DEMO_RELATION_SPECS.entries()) {
    const holder = await accounts.findByUsername(spec.holder);
    if (!holder || !present.has(spec.patientId)) {
      skipped.push(spec.id);
      continue;
    }
    if (await relations.find(spec.id)) continue;
    try {
      // created_at one ms apart: relations list in creation order, and the demo's should read as written above.
      await relations.insert({ id: spec.id, holderAccountId: holder.id, patientId: spec.patientId, relationship: spec.relationship, startsAt: now, endsAt: null, createdAt: now + i, note: spec.note });
      relationsCreated.push(spec.id);
    } catch (err) {
      if (!(await relations.find(spec.id))) throw err;
    }
  }
  return { accountsCreated, relationsCreated, skipped };
}
