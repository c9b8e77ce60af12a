// Turns a profile into its resources. Visits are taken newest first, year by year, until the
// natural history length (or a requested observation count) is reached; a requested count is met
// exactly by trimming the oldest visit included, and grows the history further back — and, past
// birth, adds extra lab-heavy visits — when the natural record is too small.
import type { AllergyIntolerance, Immunization, MedicationStatement, Observation, Patient, Reference } from 'fhir/r4.js';
import { allergyResource } from './allergies.js';
import { immunizations } from './immunizations.js';
import { labResults } from './labs.js';
import { episodeCourse, medicationStatement } from './medications.js';
import { patientResource } from './patient.js';
import type { PatientProfile } from './profile.js';
import { Random } from './random.js';
import type { MedicationCourse } from './regimen.js';
import { chronicRegimen } from './regimen.js';
import { smokingStatus } from './social-history.js';
import { ANCHOR_DAY, addYears, exactAge, formatDateTime, toWeekday } from './time.js';
import type { Visit, VisitContext } from './visit.js';
import { extraVisit, visitsForYear } from './visits.js';
import { vitalSigns } from './vitals.js';

export type GeneratedResource = Patient | Observation | AllergyIntolerance | MedicationStatement | Immunization;

export interface RecordOptions {
  /** Exact number of Observations wanted; omit for the patient's natural amount. */
  readonly observationsPerPatient?: number;
}

function observationsForVisit(profile: PatientProfile, subject: Reference, visit: Visit): Observation[] {
  const age = exactAge(profile.birthDay, visit.day);
  const ctx: VisitContext = {
    profile,
    subject,
    visit,
    rng: Random.derive(...profile.seedParts, 'visit', visit.key),
    age,
    effective: formatDateTime(visit.day, visit.minute, profile.city.zone),
  };
  const observations = vitalSigns(ctx);
  if (visit.kind === 'wellness' && age >= 18) observations.push(...smokingStatus(ctx));
  observations.push(...labResults(ctx, visit.labs));
  return observations;
}

interface BuiltVisit {
  readonly visit: Visit;
  readonly observations: Observation[];
}

/** A safety stop for extra visits: far beyond any sensible per-patient request. */
const MAX_EXTRA_VISITS = 1_000_000;

function collectVisits(profile: PatientProfile, subject: Reference, target: number | undefined): BuiltVisit[] {
  const built: BuiltVisit[] = [];
  let total = 0;
  const full = (): boolean => target !== undefined && total >= target;
  const include = (visit: Visit): void => {
    const observations = observationsForVisit(profile, subject, visit);
    if (target !== undefined && total + observations.length > target) observations.length = target - total;
    total += observations.length;
    built.push({ visit, observations });
  };

  for (let year = 0; !full(); year++) {
    if (target === undefined && year >= profile.historyYears) break;
    if (addYears(ANCHOR_DAY, -year) <= profile.birthDay) break;
    for (const visit of visitsForYear(profile, year)) {
      if (full()) break;
      include(visit);
    }
  }
  for (let n = 0; target !== undefined && !full(); n++) {
    if (n >= MAX_EXTRA_VISITS) throw new Error(`Could not reach ${target} observations for patient ${profile.id}`);
    include(extraVisit(profile, n));
  }
  return built.sort((a, b) => a.visit.day - b.visit.day || a.visit.minute - b.visit.minute);
}

function medicationStatements(profile: PatientProfile, subject: Reference, visits: readonly BuiltVisit[]): MedicationStatement[] {
  const rng = Random.derive(...profile.seedParts, 'medication-statements');
  const entries: { course: MedicationCourse; asserted: { day: number; minute: number } }[] = [];
  const lastVisit = visits[visits.length - 1]?.visit;

  for (const course of chronicRegimen(profile)) {
    let asserted: { day: number; minute: number };
    if (course.status === 'active' && lastVisit !== undefined && lastVisit.day >= course.startDay) {
      // Active medicines were last reconciled at the most recent visit.
      asserted = { day: lastVisit.day, minute: lastVisit.minute + 5 };
    } else {
      const day = course.endDay !== undefined ? course.endDay + 1 : course.startDay;
      asserted = { day: Math.min(ANCHOR_DAY - 3, toWeekday(day)), minute: 480 + 15 * rng.int(0, 32) };
    }
    entries.push({ course, asserted });
  }
  for (const { visit } of visits) {
    const course = episodeCourse(profile, visit, Random.derive(...profile.seedParts, 'episode', visit.key));
    if (course) entries.push({ course, asserted: { day: visit.day, minute: visit.minute + 20 } });
  }
  entries.sort((a, b) => a.course.startDay - b.course.startDay || a.course.drug.localeCompare(b.course.drug));
  return entries.map((e) => medicationStatement(e.course, rng.uuid(), subject, profile.city.zone, e.asserted));
}

function allergyResources(profile: PatientProfile, subject: Reference): AllergyIntolerance[] {
  const rng = Random.derive(...profile.seedParts, 'allergy-resources');
  return profile.allergies.map((plan) => allergyResource(plan, rng.uuid(), subject, profile.city.zone, 480 + 15 * rng.int(0, 32)));
}

/** One patient and all of their resources: Patient first, then each type in date order. */
export function buildPatientRecord(profile: PatientProfile, options: RecordOptions = {}): GeneratedResource[] {
  const subject: Reference = { reference: `Patient/${profile.id}` };
  const visits = collectVisits(profile, subject, options.observationsPerPatient);
  const out: GeneratedResource[] = [patientResource(profile)];
  for (const v of visits) out.push(...v.observations);
  out.push(...allergyResources(profile, subject));
  out.push(...medicationStatements(profile, subject, visits));
  out.push(...immunizations(profile, subject));
  return out;
}
