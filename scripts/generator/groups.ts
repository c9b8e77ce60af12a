// Actual (enumerated) Groups of the generated patients, the cohorts a backend service exports with Group/[id]/$export:
// everyone, and cohorts by a characteristic the records really carry (age from Patient.birthDate at the anchor
// date, an active problem on the problem list). Membership is decided from the generated resources themselves, one
// record at a time, so a bulk run can collect it while streaming patients and keep only their ids.
import type { CodeableConcept, Condition, Group, GroupCharacteristic, Patient } from 'fhir/r4.js';
import type { GeneratedResource } from './record.js';
import { practice } from './practice.js';
import { SYSTEM, coding } from './terminology.js';
import { ANCHOR_DATE, ANCHOR_DAY, ageInYears, dayFromIso } from './time.js';

/** What a cohort criterion looks at in one patient's record. */
export interface PatientFacts {
  readonly id: string;
  /** Completed years at the anchor date */
  readonly age: number;
  /** SNOMED CT codes of the active problem-list Conditions */
  readonly activeProblems: ReadonlySet<string>;
}

export interface Cohort {
  /** Group.id, and the identifier's value */
  readonly id: string;
  readonly name: string;
  /** Absent for the whole population */
  readonly characteristic?: GroupCharacteristic;
  readonly includes: (patient: PatientFacts) => boolean;
}

/** Essential hypertension, as conditions.ts codes it on the problem list. */
export const HYPERTENSION_SNOMED = '59621000';

const YEARS = { unit: 'years', system: SYSTEM.ucum, code: 'a' } as const;
const AGE: CodeableConcept = { coding: [coding(SYSTEM.snomed, '424144002', 'Current chronological age')], text: `Age on ${ANCHOR_DATE}` };
const PROBLEM: CodeableConcept = { coding: [coding(SYSTEM.loinc, '11450-4', 'Problem list - Reported')], text: 'Active problem on the problem list' };
// Group.code: the kind of thing the members are.
const PATIENTS: CodeableConcept = { coding: [coding(SYSTEM.snomed, '116154003', 'Patient')], text: 'Patients' };

export const COHORTS: readonly Cohort[] = [
  { id: 'all-patients', name: 'All patients', includes: () => true },
  {
    id: 'patients-under-18',
    name: 'Patients under 18',
    characteristic: { code: AGE, valueRange: { low: { value: 0, ...YEARS }, high: { value: 17, ...YEARS } }, exclude: false },
    includes: (p) => p.age < 18,
  },
  {
    id: 'patients-65-and-older',
    name: 'Patients 65 and older',
    characteristic: { code: AGE, valueRange: { low: { value: 65, ...YEARS } }, exclude: false },
    includes: (p) => p.age >= 65,
  },
  {
    id: 'patients-with-hypertension',
    name: 'Patients with high blood pressure',
    characteristic: { code: PROBLEM, valueCodeableConcept: { coding: [coding(SYSTEM.snomed, HYPERTENSION_SNOMED, 'Essential hypertension')], text: 'High blood pressure' }, exclude: false },
    includes: (p) => p.activeProblems.has(HYPERTENSION_SNOMED),
  },
];

const isActiveProblem = (c: Condition): boolean =>
  (c.category ?? []).some((cat) => (cat.coding ?? []).some((x) => x.code === 'problem-list-item')) && (c.clinicalStatus?.coding ?? []).some((x) => x.code === 'active');

/** The facts the cohorts need, read from one patient's generated record. */
export function patientFacts(record: readonly GeneratedResource[]): PatientFacts {
  const patient = record.find((r): r is Patient => r.resourceType === 'Patient');
  if (!patient?.id || !patient.birthDate) throw new Error('a record without a Patient id and birthDate');
  const activeProblems = new Set<string>();
  for (const r of record) {
    if (r.resourceType !== 'Condition' || !isActiveProblem(r)) continue;
    for (const c of r.code?.coding ?? []) if (c.system === SYSTEM.snomed && c.code) activeProblems.add(c.code);
  }
  return { id: patient.id, age: ageInYears(dayFromIso(patient.birthDate), ANCHOR_DAY), activeProblems };
}

/** Collects each cohort's members record by record, in the order the records come. */
export class CohortCollector {
  readonly #members = new Map<string, string[]>(COHORTS.map((c) => [c.id, []]));

  add(record: readonly GeneratedResource[]): void {
    const facts = patientFacts(record);
    for (const cohort of COHORTS) if (cohort.includes(facts)) this.#members.get(cohort.id)!.push(facts.id);
  }

  groups(): Group[] {
    return COHORTS.map((cohort) => cohortGroup(cohort, this.#members.get(cohort.id)!));
  }
}

function cohortGroup(cohort: Cohort, memberIds: readonly string[]): Group {
  return {
    resourceType: 'Group',
    id: cohort.id,
    identifier: [{ system: SYSTEM.patientGroup, value: cohort.id }],
    active: true,
    type: 'person',
    actual: true,
    code: PATIENTS,
    name: cohort.name,
    quantity: memberIds.length,
    managingEntity: practice().organization,
    ...(cohort.characteristic ? { characteristic: [cohort.characteristic] } : {}),
    // FHIR JSON has no empty arrays: a cohort nobody meets has no member element.
    ...(memberIds.length ? { member: memberIds.map((id) => ({ entity: { reference: `Patient/${id}` } })) } : {}),
  };
}

/** The cohort Groups of a set of records. */
export function cohortGroups(records: Iterable<readonly GeneratedResource[]>): Group[] {
  const collector = new CohortCollector();
  for (const record of records) collector.add(record);
  return collector.groups();
}
