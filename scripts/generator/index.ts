// The generator's in-process API, for benchmarks and tests that want resources without files.
import type { Bundle, Group } from 'fhir/r4.js';
import { transactionBundle } from './bundle.js';
import { bulkProfile } from './bulk-profile.js';
import { cohortGroups } from './groups.js';
import type { PatientProfile } from './profile.js';
import type { GeneratedResource } from './record.js';
import { buildPatientRecord } from './record.js';
import { practice } from './practice.js';
import type { PracticeResource } from './practice.js';
import type { SeedPatientSpec } from './seed-patients.js';
import { SEED_PATIENTS, seedProfiles } from './seed-patients.js';

export { ANCHOR_DATE } from './time.js';
export type { GeneratedResource } from './record.js';
export { CohortCollector } from './groups.js';

/** Seed used for the committed seed data set and when --seed is not given. */
export const DEFAULT_SEED = 42;

/** Largest value accepted for --observations-per-patient. */
export const MAX_OBSERVATIONS_PER_PATIENT = 100_000;

export interface PatientRecordOptions {
  /** Data-set seed: the same seed and index always give byte-identical resources. */
  readonly seed: number;
  /** Position of the patient in the data set (0-based). */
  readonly index: number;
  /** Exact number of Observations; omitted for the patient's natural history. */
  readonly observationsPerPatient?: number;
}

function assertNonNegativeInteger(name: string, value: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${name} must be an integer from 0 to ${max}, got ${value}`);
  }
}

/**
 * One bulk patient and all of their resources: the Patient first, then Observations,
 * AllergyIntolerances, MedicationStatements and Immunizations, then the rest of the US Core record
 * (Encounters, Conditions, MedicationRequests, reports, notes, procedures, care plans, coverage,
 * provenance). References point at this patient's own resources or at the shared practice
 * resources of `generateSharedResources()` (Organization, Location, Practitioner, Medication …).
 */
export function generatePatientRecord(options: PatientRecordOptions): GeneratedResource[] {
  assertNonNegativeInteger('seed', options.seed, 0xffffffff);
  assertNonNegativeInteger('index', options.index, Number.MAX_SAFE_INTEGER);
  if (options.observationsPerPatient !== undefined) {
    assertNonNegativeInteger('observationsPerPatient', options.observationsPerPatient, MAX_OBSERVATIONS_PER_PATIENT);
  }
  const profile = bulkProfile(options.seed, options.index);
  return buildPatientRecord(profile, options.observationsPerPatient === undefined ? {} : { observationsPerPatient: options.observationsPerPatient });
}

export interface SeedPatientRecord {
  readonly spec: SeedPatientSpec;
  readonly profile: PatientProfile;
  readonly resources: GeneratedResource[];
}

/** The seed patients with their profiles, for the file writer and README. */
export function generateSeedRecords(seed: number = DEFAULT_SEED): SeedPatientRecord[] {
  assertNonNegativeInteger('seed', seed, 0xffffffff);
  const profiles = seedProfiles(seed);
  return SEED_PATIENTS.map((spec, i) => {
    const profile = profiles[i];
    if (!profile) throw new Error(`missing profile for ${spec.id}`);
    return { spec, profile, resources: buildPatientRecord(profile) };
  });
}

/**
 * The practice every record refers to (organizations, clinics, clinicians, Medications). The same
 * for every seed: write it once next to the patients, before them.
 */
export function generateSharedResources(): readonly PracticeResource[] {
  return practice().resources;
}

/** The shared resources as one transaction Bundle of PUTs (seed/00-practice.json). */
export function generateSharedBundle(): Bundle {
  return transactionBundle(practice().resources);
}

/** The cohort Groups of the seed patients: everyone, and those sharing an age band or a problem (groups.ts). */
export function generateSeedGroups(records: readonly SeedPatientRecord[] = generateSeedRecords()): Group[] {
  return cohortGroups(records.map((r) => r.resources));
}

/** The seed Groups as one transaction Bundle of PUTs (seed/99-groups.json, loaded after the patients). */
export function generateSeedGroupBundle(records?: readonly SeedPatientRecord[]): Bundle {
  return transactionBundle(generateSeedGroups(records));
}

/** One FHIR R4 transaction Bundle (PUT entries) per seed patient, in file order. */
export function generateSeedBundles(options: { readonly seed?: number } = {}): Bundle[] {
  return generateSeedRecords(options.seed ?? DEFAULT_SEED).map((r) => transactionBundle(r.resources));
}
