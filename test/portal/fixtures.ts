// Shared set-up for the portal back-end tests: a private database with the seed Patients, a clock the test moves,
// and the portal services wired to both. Hashing uses cheaper scrypt parameters (the cost is tested on its own).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { FhirService } from '../../src/fhir/service.js';
import { createPortalServices, type PortalServices } from '../../src/portal/services.js';
import { ResourceStore } from '../../src/store/resources.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

export const SEED_DIR = join(import.meta.dirname, '../../fhir-resources/seed');

/** 2026-11-25 12:00 UTC: Mateo (2011-04-09) is 15, Sofia (2018-06-22) is 8, Maria (1985-03-14) is 41. */
export const T0 = Date.UTC(2026, 10, 25, 12);
export const MINUTE = 60_000;
export const DAY = 86_400_000;

export interface TestClock {
  (): number;
  set(ms: number): void;
  advance(ms: number): void;
}

export function testClock(start = T0): TestClock {
  let t = start;
  const clock = (() => t) as TestClock;
  clock.set = (ms) => {
    t = ms;
  };
  clock.advance = (ms) => {
    t += ms;
  };
  return clock;
}

interface PatientJson {
  resourceType: string;
  id: string;
  [k: string]: unknown;
}

/** The Patient resources of the seed bundles (the clinical data is not needed here). */
export function seedPatients(): PatientJson[] {
  return readdirSync(SEED_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .flatMap((f) => {
      const b = JSON.parse(readFileSync(join(SEED_DIR, f), 'utf8')) as { entry?: { resource: PatientJson }[] } & PatientJson;
      const resources = b.entry ? b.entry.map((e) => e.resource) : [b];
      return resources.filter((r) => r.resourceType === 'Patient');
    });
}

export interface PortalFixture {
  readonly database: TestDatabase;
  readonly fhir: FhirService;
  readonly portal: PortalServices;
  readonly clock: TestClock;
  putPatient(resource: PatientJson): Promise<void>;
}

/** `file`: SQLite in a temporary file (the server's layout: audit rows go through the write-behind thread) */
export async function portalFixture(t: Test, opts: { patients?: boolean; file?: boolean } = {}): Promise<PortalFixture> {
  const database = await createTestDatabase({ file: opts.file ?? false });
  t.teardown(() => database.close());
  const fhir = new FhirService(new ResourceStore(database.db), 'http://localhost:8080/fhir');
  const clock = testClock();
  const portal = createPortalServices({ db: database.db, fhir, now: clock, accountOptions: { hashParams: { ln: 10, r: 8, p: 1 } } });
  const putPatient = async (r: PatientJson) => {
    await fhir.update('Patient', r.id, r);
  };
  if (opts.patients !== false) for (const p of seedPatients()) await putPatient(p);
  return { database, fhir, portal, clock, putPatient };
}
