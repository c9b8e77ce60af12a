// Turns a profile into its resources. Visits are taken newest first, year by year, until the
// natural history length (or a requested observation count) is reached; a requested count is met
// exactly by trimming the oldest visit included, and grows the history further back — and, past
// birth, adds extra lab-heavy visits — when the natural record is too small.
//
// Everything else hangs off those visits and the profile: an Encounter per visit, the problem
// list and sick-visit diagnoses, a prescription per medication course, lab reports per panel,
// notes, procedures, goals and plans, insurance. Each kind draws from a random stream of its own,
// so the Observations, allergies, statements and immunizations come out as they always did.
import type {
  AllergyIntolerance,
  CarePlan,
  CareTeam,
  Condition,
  Coverage,
  Device,
  DiagnosticReport,
  DocumentReference,
  Encounter,
  Goal,
  Immunization,
  Location,
  Medication,
  MedicationDispense,
  MedicationRequest,
  MedicationStatement,
  Observation,
  Organization,
  Patient,
  Practitioner,
  PractitionerRole,
  Procedure,
  Provenance,
  QuestionnaireResponse,
  Reference,
  RelatedPerson,
  ServiceRequest,
  Specimen,
} from 'fhir/r4.js';
import { allergyResource } from './allergies.js';
import { careResources } from './care.js';
import type { ProblemKey } from './conditions.js';
import { PROBLEM_FOR_REASON, encounterDiagnosis, planProblems, problemCondition } from './conditions.js';
import { coverageResource, guardianResource } from './coverage.js';
import { visitNotes } from './documents.js';
import { encounterResource, visitLength } from './encounters.js';
import { immunizations } from './immunizations.js';
import { labResults } from './labs.js';
import { medicationDispense, medicationRequest } from './medication-requests.js';
import { episodeCourse, medicationStatement } from './medications.js';
import { patientResource } from './patient.js';
import { clinicFor, clinicianFor, practice } from './practice.js';
import { procedureResources } from './procedures.js';
import type { PatientProfile } from './profile.js';
import { recordProvenance } from './provenance.js';
import { phq2 } from './questionnaire.js';
import { Random } from './random.js';
import type { Problem, RecordContext, RecordedVisit } from './record-context.js';
import { latestVisitBetween, stream } from './record-context.js';
import type { MedicationCourse } from './regimen.js';
import { chronicRegimen } from './regimen.js';
import { bloodSpecimen, labReport, panelResults } from './reports.js';
import { smokingStatus } from './social-history.js';
import { ANCHOR_DAY, addYears, exactAge, formatDateTime, isoFromDay, toWeekday } from './time.js';
import type { Visit, VisitContext } from './visit.js';
import { extraVisit, visitsForYear } from './visits.js';
import { vitalSigns } from './vitals.js';

export type GeneratedResource =
  | Patient
  | Observation
  | AllergyIntolerance
  | MedicationStatement
  | Immunization
  | RelatedPerson
  | Coverage
  | CareTeam
  | Encounter
  | Condition
  | DiagnosticReport
  | Specimen
  | Procedure
  | ServiceRequest
  | Device
  | DocumentReference
  | QuestionnaireResponse
  | MedicationRequest
  | MedicationDispense
  | Goal
  | CarePlan
  | Provenance
  | Organization
  | Location
  | Practitioner
  | PractitionerRole
  | Medication;

export interface RecordOptions {
  /** Exact number of Observations wanted; omit for the patient's natural amount. */
  readonly observationsPerPatient?: number;
}

function observationsForVisit(profile: PatientProfile, subject: Reference, visit: Visit, encounterId: string): Observation[] {
  const age = exactAge(profile.birthDay, visit.day);
  const ctx: VisitContext = {
    profile,
    subject,
    encounter: { reference: `Encounter/${encounterId}` },
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
  readonly encounterId: string;
  /** The visit's stream for what is recorded at it, past the Encounter id (one derivation per visit keeps bulk runs fast). */
  readonly rng: Random;
}

/** A safety stop for extra visits: far beyond any sensible per-patient request. */
const MAX_EXTRA_VISITS = 1_000_000;

function collectVisits(profile: PatientProfile, subject: Reference, target: number | undefined): BuiltVisit[] {
  const built: BuiltVisit[] = [];
  let total = 0;
  const full = (): boolean => target !== undefined && total >= target;
  const include = (visit: Visit): void => {
    const rng = Random.derive(...profile.seedParts, 'encounter', visit.key);
    const encounterId = rng.uuid();
    const observations = observationsForVisit(profile, subject, visit, encounterId);
    if (target !== undefined && total + observations.length > target) observations.length = target - total;
    total += observations.length;
    built.push({ visit, observations, encounterId, rng });
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

interface CourseEntry {
  readonly course: MedicationCourse;
  /** The sick visit that started a short course; absent for the chronic regimen. */
  readonly visit?: Visit;
}

function medicationCourses(profile: PatientProfile, visits: readonly BuiltVisit[]): CourseEntry[] {
  const entries: CourseEntry[] = chronicRegimen(profile).map((course) => ({ course }));
  for (const { visit } of visits) {
    const course = episodeCourse(profile, visit, Random.derive(...profile.seedParts, 'episode', visit.key));
    if (course) entries.push({ course, visit });
  }
  return entries;
}

function medicationStatements(profile: PatientProfile, subject: Reference, visits: readonly BuiltVisit[], courses: readonly CourseEntry[]): MedicationStatement[] {
  const rng = Random.derive(...profile.seedParts, 'medication-statements');
  const entries: { course: MedicationCourse; asserted: { day: number; minute: number } }[] = [];
  const lastVisit = visits[visits.length - 1]?.visit;

  for (const { course, visit } of courses) {
    if (visit) {
      entries.push({ course, asserted: { day: visit.day, minute: visit.minute + 20 } });
      continue;
    }
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
  entries.sort((a, b) => a.course.startDay - b.course.startDay || a.course.drug.localeCompare(b.course.drug));
  return entries.map((e) => medicationStatement(e.course, rng.uuid(), subject, profile.city.zone, e.asserted));
}

function allergyResources(profile: PatientProfile, subject: Reference): AllergyIntolerance[] {
  const rng = Random.derive(...profile.seedParts, 'allergy-resources');
  return profile.allergies.map((plan) => allergyResource(plan, rng.uuid(), subject, profile.city.zone, 480 + 15 * rng.int(0, 32)));
}

/** Chronic problems a follow-up visit is about. */
const FOLLOWED_UP: ReadonlySet<ProblemKey> = new Set(['type2-diabetes', 'hypertension', 'hyperlipidemia', 'asthma', 'hypothyroidism', 'iron-deficiency-anemia', 'ckd']);

function reference(resource: { resourceType: string; id?: string }, display?: string): Reference {
  return display === undefined ? { reference: `${resource.resourceType}/${resource.id}` } : { reference: `${resource.resourceType}/${resource.id}`, display };
}

/** One patient and all of their resources: Patient first, then each type in date order. */
export function buildPatientRecord(profile: PatientProfile, options: RecordOptions = {}): GeneratedResource[] {
  const subject: Reference = { reference: `Patient/${profile.id}` };
  const zone = profile.city.zone;
  const built = collectVisits(profile, subject, options.observationsPerPatient);
  const courses = medicationCourses(profile, built);
  const statements = medicationStatements(profile, subject, built, courses);
  const allergies = allergyResources(profile, subject);
  const out: GeneratedResource[] = [patientResource(profile)];
  for (const v of built) out.push(...v.observations);
  out.push(...allergies, ...statements, ...immunizations(profile, subject));

  const shared = practice();
  const clinic = clinicFor(profile);
  const visits: RecordedVisit[] = built.map(({ visit, observations, encounterId, rng }) => {
    const extra = rng.int(0, 15);
    return {
      visit,
      observations,
      encounterId,
      rng,
      encounter: { reference: `Encounter/${encounterId}` },
      clinician: clinicianFor(profile, visit.day),
      age: exactAge(profile.birthDay, visit.day),
      endMinute: visit.minute + visitLength(visit, 45) + extra,
    };
  });

  // The problem list; a problem diagnosed at a visit of the record is recorded there.
  const problems = new Map<ProblemKey, Problem>();
  const problemResources: Condition[] = [];
  for (const plan of planProblems(profile, courses.map((c) => c.course))) {
    const at = visits.find((v) => v.visit.day === plan.onsetDay && v.visit.kind !== 'wellness');
    const recorded = at ? { day: at.visit.day, minute: at.visit.minute + 15, encounter: at.encounter } : { day: plan.onsetDay };
    const condition = problemCondition(profile, plan, stream({ profile }, 'problem', plan.key).uuid(), subject, recorded, clinicianFor(profile, recorded.day).reference);
    problemResources.push(condition);
    problems.set(plan.key, { plan, reference: reference(condition, plan.label) });
  }
  const ctx: RecordContext = { profile, subject, zone, visits, practice: shared, clinic, problems };

  // Sick-visit diagnoses, and the Encounters that name them.
  const episodeConditions: Condition[] = [];
  const diagnosisByVisit = new Map<string, Reference>();
  const encounters: Encounter[] = visits.map((v) => {
    const { visit } = v;
    let reasons: Reference[] = [];
    let diagnoses: Reference[] = [];
    if (visit.kind === 'sick' && visit.reason !== undefined) {
      const course = courses.find((c) => c.visit === visit)?.course;
      const dx = encounterDiagnosis(visit.reason, course, { day: visit.day, minute: visit.minute, encounter: v.encounter }, { id: v.rng.uuid(), rng: v.rng }, subject, zone, v.clinician.reference);
      episodeConditions.push(dx.condition);
      const ref = reference(dx.condition, dx.text);
      diagnosisByVisit.set(visit.key, ref);
      reasons = [ref];
      diagnoses = [ref];
    } else if (visit.kind === 'follow-up') {
      const active = [...problems.entries()].filter(([key, p]) => FOLLOWED_UP.has(key) && p.plan.onsetDay <= visit.day && (p.plan.abatementDay === undefined || p.plan.abatementDay >= visit.day));
      reasons = active.map(([, p]) => p.reference);
      diagnoses = active.filter(([, p]) => p.plan.onsetDay === visit.day).map(([, p]) => p.reference);
    }
    return encounterResource({
      id: v.encounterId,
      visit,
      age: v.age,
      endMinute: v.endMinute,
      subject,
      zone,
      identifierValue: `${profile.mrn}-${visit.key}`,
      clinician: v.clinician,
      location: clinic.location,
      serviceProvider: shared.organization,
      reasons,
      diagnoses,
    });
  });

  // Prescriptions, one per course, in the same order as the statements.
  const ordered = [...courses].sort((a, b) => a.course.startDay - b.course.startDay || a.course.drug.localeCompare(b.course.drug));
  const requests: MedicationRequest[] = [];
  const dispenses: MedicationDispense[] = [];
  for (const { course, visit } of ordered) {
    const rng = stream(ctx, 'medication-request', course.drug, course.startDay, visit?.key ?? 'chronic');
    const at = visit ? visits.find((v) => v.visit === visit) : latestVisitBetween(visits, course.startDay - 30, course.startDay);
    const problemKey = PROBLEM_FOR_REASON[course.reason];
    const reason = visit ? diagnosisByVisit.get(visit.key) : problemKey !== undefined ? problems.get(problemKey)?.reference : undefined;
    if (!reason) throw new Error(`${profile.id}: no Condition for the ${course.drug} course started ${isoFromDay(course.startDay)}`);
    const authored = at ? { day: at.visit.day, minute: at.visit.minute + 20 } : { day: course.startDay, minute: 480 + 15 * rng.int(0, 36) };
    const medication = shared.medications.get(course.drug);
    const request = medicationRequest(course, {
      id: rng.uuid(),
      subject,
      zone,
      authored,
      ...(at ? { encounter: at.encounter } : {}),
      requester: (at?.clinician ?? clinicianFor(profile, authored.day)).reference,
      reason,
      ...(medication ? { medication } : {}),
    });
    requests.push(request);
    if (medication && course.status === 'active') {
      // The latest 90-day refill at the pharmacy.
      const day = Math.max(course.startDay, toWeekday(ANCHOR_DAY - rng.int(12, 80)));
      if (day < ANCHOR_DAY - 1) {
        dispenses.push(
          medicationDispense(course, {
            id: rng.uuid(),
            subject,
            zone,
            prescription: reference(request),
            medication,
            pharmacy: shared.pharmacy,
            handedOver: { day, minute: 600 + 15 * rng.int(0, 32) },
            daysSupply: 90,
          }),
        );
      }
    }
  }

  // Lab reports per panel; the latest draw also gets its Specimen.
  const reports: DiagnosticReport[] = [];
  const specimens: Specimen[] = [];
  const lastDraw = [...visits].reverse().find((v) => panelResults(v.visit.labs, v.observations).length > 0);
  for (const v of visits) {
    const groups = panelResults(v.visit.labs, v.observations);
    if (groups.length === 0) continue;
    let specimen: Reference | undefined;
    if (v === lastDraw) {
      const first = groups[0]?.observations[0];
      const collected = first?.effectiveDateTime ?? formatDateTime(v.visit.day, v.visit.minute, zone);
      const collectedMinute = Number(collected.slice(11, 13)) * 60 + Number(collected.slice(14, 16));
      const rng = stream(ctx, 'specimen', v.visit.key);
      const s = bloodSpecimen(rng.uuid(), `${profile.mrn}-${isoFromDay(v.visit.day).replace(/-/g, '')}-${rng.int(100, 999)}`, subject, collected, formatDateTime(v.visit.day, collectedMinute + rng.int(15, 40), zone));
      specimens.push(s);
      specimen = reference(s, 'Blood specimen');
      for (const g of groups) for (const o of g.observations) o.specimen = specimen;
    }
    for (const g of groups) {
      reports.push(labReport(g, v.rng.uuid(), { subject, encounter: v.encounter, performer: shared.organization, ...(specimen ? { specimen } : {}) }));
    }
  }

  const proc = procedureResources(ctx);
  reports.push(...proc.reports);
  const effective = (r: DiagnosticReport): string => r.effectiveDateTime ?? '';
  reports.sort((a, b) => (effective(a) < effective(b) ? -1 : effective(a) > effective(b) ? 1 : 0));

  const related = guardianResource(profile, stream(ctx, 'related-person').uuid(), subject);
  const guardian = related ? reference(related, `${related.name?.[0]?.given?.join(' ') ?? ''} ${related.name?.[0]?.family ?? ''}`.trim()) : undefined;
  const coverage = coverageResource(profile, { id: stream(ctx, 'coverage-resource').uuid(), subject, practice: shared, ...(guardian ? { guardian } : {}) });
  const care = careResources(ctx, guardian);
  const notes = visitNotes(ctx, statements);
  const screening = phq2(ctx);
  const provenance = recordProvenance(ctx, [subject, ...problemResources.map((c) => reference(c)), ...allergies.map((a) => reference(a)), ...requests.map((r) => reference(r))]);

  if (related) out.push(related);
  out.push(coverage, care.careTeam, ...encounters, ...problemResources, ...episodeConditions, ...reports, ...specimens);
  out.push(...proc.procedures, ...proc.serviceRequests, ...proc.devices, ...notes);
  if (screening) out.push(screening);
  out.push(...requests, ...dispenses, ...care.goals);
  if (care.carePlan) out.push(care.carePlan);
  out.push(provenance);
  return out;
}
