// Condition resources (US Core 6.1): the problem list drawn from the profile's chronic conditions
// (plus the problems a prescription or goal needs: a peanut allergy that earns an epinephrine
// pen, nicotine dependence for a current smoker), and one encounter diagnosis per sick visit,
// resolved a plausible number of days later. Codes are SNOMED CT with the ICD-10-CM equivalent.
import type { CodeableConcept, Condition, Reference } from 'fhir/r4.js';
import type { ConditionKey, PatientProfile, SickReason } from './profile.js';
import type { Random } from './random.js';
import type { MedicationCourse } from './regimen.js';
import { PROFILE, SYSTEM, coding } from './terminology.js';
import type { DiagnosisKey } from './terminology.js';
import { ANCHOR_DAY, exactAge, formatDateTime, isoFromDay } from './time.js';
import type { TimeZoneKey } from './time.js';

interface DualCode {
  readonly snomed: string;
  readonly display: string;
  readonly icd10: string;
  readonly icd10Display: string;
  /** What a patient-facing app shows. */
  readonly text: string;
}

export type ProblemKey = ConditionKey | 'peanut-allergy' | 'nicotine-dependence';

const CHRONIC: Record<Exclude<ProblemKey, 'ckd'>, DualCode> = {
  'type2-diabetes': { snomed: '44054006', display: 'Diabetes mellitus type 2', icd10: 'E11.9', icd10Display: 'Type 2 diabetes mellitus without complications', text: 'Type 2 diabetes' },
  prediabetes: { snomed: '714628002', display: 'Prediabetes', icd10: 'R73.03', icd10Display: 'Prediabetes', text: 'Prediabetes' },
  hypertension: { snomed: '59621000', display: 'Essential hypertension', icd10: 'I10', icd10Display: 'Essential (primary) hypertension', text: 'High blood pressure' },
  hyperlipidemia: { snomed: '55822004', display: 'Hyperlipidemia', icd10: 'E78.5', icd10Display: 'Hyperlipidemia, unspecified', text: 'High cholesterol' },
  asthma: { snomed: '195967001', display: 'Asthma', icd10: 'J45.909', icd10Display: 'Unspecified asthma, uncomplicated', text: 'Asthma' },
  hypothyroidism: { snomed: '40930008', display: 'Hypothyroidism', icd10: 'E03.9', icd10Display: 'Hypothyroidism, unspecified', text: 'Underactive thyroid (hypothyroidism)' },
  'iron-deficiency-anemia': { snomed: '87522002', display: 'Iron deficiency anemia', icd10: 'D50.9', icd10Display: 'Iron deficiency anemia, unspecified', text: 'Iron deficiency anemia' },
  obesity: { snomed: '414916001', display: 'Obesity', icd10: 'E66.9', icd10Display: 'Obesity, unspecified', text: 'Obesity' },
  'peanut-allergy': { snomed: '91935009', display: 'Allergy to peanut', icd10: 'Z91.010', icd10Display: 'Allergy to peanuts', text: 'Peanut allergy' },
  'nicotine-dependence': { snomed: '56294008', display: 'Nicotine dependence', icd10: 'F17.210', icd10Display: 'Nicotine dependence, cigarettes, uncomplicated', text: 'Tobacco use (cigarettes)' },
};

// Stage follows the eGFR the labs show at the anchor date: 3a is 45-59, 3b is 30-44.
const CKD_3A: DualCode = { snomed: '700378005', display: 'Chronic kidney disease stage 3A', icd10: 'N18.31', icd10Display: 'Chronic kidney disease, stage 3a', text: 'Chronic kidney disease, stage 3a' };
const CKD_3B: DualCode = { snomed: '700379002', display: 'Chronic kidney disease stage 3B', icd10: 'N18.32', icd10Display: 'Chronic kidney disease, stage 3b', text: 'Chronic kidney disease, stage 3b' };

type EpisodeKey = SickReason | 'strep-pharyngitis';

const EPISODE: Record<EpisodeKey, DualCode & { readonly days: readonly [number, number] }> = {
  'viral-uri': { snomed: '54150009', display: 'Upper respiratory infection', icd10: 'J06.9', icd10Display: 'Acute upper respiratory infection, unspecified', text: 'Common cold', days: [7, 12] },
  'otitis-media': { snomed: '65363002', display: 'Otitis media', icd10: 'H66.90', icd10Display: 'Otitis media, unspecified, unspecified ear', text: 'Ear infection', days: [10, 14] },
  pharyngitis: { snomed: '363746003', display: 'Acute pharyngitis', icd10: 'J02.9', icd10Display: 'Acute pharyngitis, unspecified', text: 'Sore throat', days: [5, 8] },
  'strep-pharyngitis': { snomed: '43878008', display: 'Streptococcal sore throat', icd10: 'J02.0', icd10Display: 'Streptococcal pharyngitis', text: 'Strep throat', days: [7, 10] },
  'acute-bronchitis': { snomed: '10509002', display: 'Acute bronchitis', icd10: 'J20.9', icd10Display: 'Acute bronchitis, unspecified', text: 'Chest cold (acute bronchitis)', days: [14, 21] },
  sinusitis: { snomed: '15805002', display: 'Acute sinusitis', icd10: 'J01.90', icd10Display: 'Acute sinusitis, unspecified', text: 'Sinus infection', days: [10, 14] },
  'asthma-exacerbation': { snomed: '195967001', display: 'Asthma', icd10: 'J45.901', icd10Display: 'Unspecified asthma with (acute) exacerbation', text: 'Asthma flare-up', days: [7, 10] },
  gastroenteritis: { snomed: '111843007', display: 'Viral gastroenteritis', icd10: 'A08.4', icd10Display: 'Viral intestinal infection, unspecified', text: 'Stomach bug (viral gastroenteritis)', days: [3, 6] },
  influenza: { snomed: '6142004', display: 'Influenza', icd10: 'J11.1', icd10Display: 'Influenza due to unidentified influenza virus with other respiratory manifestations', text: 'Flu', days: [7, 12] },
  'back-pain': { snomed: '279039007', display: 'Low back pain', icd10: 'M54.50', icd10Display: 'Low back pain, unspecified', text: 'Low back pain', days: [21, 42] },
  rash: { snomed: '271807003', display: 'Eruption of skin', icd10: 'R21', icd10Display: 'Rash and other nonspecific skin eruption', text: 'Rash', days: [7, 14] },
};

/** Which problem a chronic prescription's reason code stands for. */
export const PROBLEM_FOR_REASON: Partial<Record<DiagnosisKey, ProblemKey>> = {
  type2Diabetes: 'type2-diabetes',
  prediabetes: 'prediabetes',
  hypertension: 'hypertension',
  hyperlipidemia: 'hyperlipidemia',
  asthma: 'asthma',
  hypothyroidism: 'hypothyroidism',
  ironDeficiencyAnemia: 'iron-deficiency-anemia',
  ckdStage3: 'ckd',
  peanutAllergy: 'peanut-allergy',
};

function dualConcept(c: DualCode): CodeableConcept {
  return { coding: [coding(SYSTEM.snomed, c.snomed, c.display), coding(SYSTEM.icd10cm, c.icd10, c.icd10Display)], text: c.text };
}

const CLINICAL = {
  active: coding(SYSTEM.conditionClinical, 'active', 'Active'),
  resolved: coding(SYSTEM.conditionClinical, 'resolved', 'Resolved'),
};

function category(code: 'problem-list-item' | 'encounter-diagnosis'): CodeableConcept[] {
  return [{ coding: [coding(SYSTEM.conditionCategory, code, code === 'problem-list-item' ? 'Problem List Item' : 'Encounter Diagnosis')] }];
}

export interface ProblemPlan {
  readonly key: ProblemKey;
  readonly label: string;
  readonly onsetDay: number;
  /** Day the problem resolved, when it has (iron deficiency after a completed course of iron). */
  readonly abatementDay?: number;
}

/** Problems on the list for this patient, in onset order. */
export function planProblems(profile: PatientProfile, courses: readonly MedicationCourse[]): ProblemPlan[] {
  const label = (key: ProblemKey): string => problemCode(profile, key).display;
  const plans: ProblemPlan[] = profile.conditions.map((c) => {
    if (c.key === 'iron-deficiency-anemia') {
      const iron = courses.find((m) => m.reason === 'ironDeficiencyAnemia');
      // Hemoglobin recovers over the months of iron; once the course is completed the problem is resolved.
      if (iron?.status === 'completed' && iron.endDay !== undefined) return { key: c.key, label: label(c.key), onsetDay: c.onsetDay, abatementDay: iron.endDay };
    }
    return { key: c.key, label: label(c.key), onsetDay: c.onsetDay };
  });
  const epinephrine = courses.find((m) => m.reason === 'peanutAllergy');
  const peanut = profile.allergies.find((a) => a.allergen === 'peanut');
  if (epinephrine && peanut) plans.push({ key: 'peanut-allergy', label: label('peanut-allergy'), onsetDay: peanut.onsetDay });
  if (profile.smoking.status === 'current' && exactAge(profile.birthDay, ANCHOR_DAY) >= 18) {
    // A current adult smoker is taken to have smoked since about 18.
    plans.push({ key: 'nicotine-dependence', label: label('nicotine-dependence'), onsetDay: Math.round(profile.birthDay + 18.5 * 365.2425) });
  }
  return plans.sort((a, b) => a.onsetDay - b.onsetDay || a.key.localeCompare(b.key));
}

function problemCode(profile: PatientProfile, key: ProblemKey): DualCode {
  if (key === 'ckd') return (profile.targets.egfrAtAnchor ?? 42) < 45 ? CKD_3B : CKD_3A;
  return CHRONIC[key];
}

export interface Recorded {
  /** When and where it was written down: a visit, or just a day for history that predates the record. */
  readonly day: number;
  readonly minute?: number;
  readonly encounter?: Reference;
}

export function problemCondition(profile: PatientProfile, plan: ProblemPlan, id: string, subject: Reference, recorded: Recorded, asserter: Reference): Condition {
  const zone = profile.city.zone;
  return {
    resourceType: 'Condition',
    id,
    meta: { profile: [PROFILE.conditionProblem] },
    clinicalStatus: { coding: [plan.abatementDay !== undefined ? CLINICAL.resolved : CLINICAL.active] },
    verificationStatus: { coding: [coding(SYSTEM.conditionVerification, 'confirmed', 'Confirmed')] },
    category: category('problem-list-item'),
    code: dualConcept(problemCode(profile, plan.key)),
    subject,
    ...(recorded.encounter ? { encounter: recorded.encounter } : {}),
    onsetDateTime: isoFromDay(plan.onsetDay),
    ...(plan.abatementDay !== undefined ? { abatementDateTime: isoFromDay(plan.abatementDay) } : {}),
    recordedDate: recorded.minute !== undefined ? formatDateTime(recorded.day, recorded.minute, zone) : isoFromDay(recorded.day),
    recorder: asserter,
    asserter,
  };
}

export interface EpisodeDiagnosis {
  readonly condition: Condition;
  readonly text: string;
}

/** The diagnosis made at a sick visit; a treated sore throat is strep. */
export function encounterDiagnosis(
  reason: SickReason,
  course: MedicationCourse | undefined,
  visit: { day: number; minute: number; encounter: Reference },
  ids: { id: string; rng: Random },
  subject: Reference,
  zone: TimeZoneKey,
  asserter: Reference,
): EpisodeDiagnosis {
  const key: EpisodeKey = reason === 'pharyngitis' && course?.reason === 'strepPharyngitis' ? 'strep-pharyngitis' : reason;
  const code = EPISODE[key];
  const onsetDay = visit.day - ids.rng.int(1, reason === 'back-pain' ? 10 : 4);
  // A course of antibiotics runs its length before the illness counts as over.
  const courseEnd = course?.endDay ?? visit.day;
  const abatementDay = Math.max(courseEnd + 1, visit.day + ids.rng.int(code.days[0], code.days[1]));
  const resolved = abatementDay < ANCHOR_DAY;
  const condition: Condition = {
    resourceType: 'Condition',
    id: ids.id,
    meta: { profile: [PROFILE.conditionEncounterDiagnosis] },
    clinicalStatus: { coding: [resolved ? CLINICAL.resolved : CLINICAL.active] },
    verificationStatus: { coding: [coding(SYSTEM.conditionVerification, 'confirmed', 'Confirmed')] },
    category: category('encounter-diagnosis'),
    code: dualConcept(code),
    subject,
    encounter: visit.encounter,
    onsetDateTime: isoFromDay(onsetDay),
    ...(resolved ? { abatementDateTime: isoFromDay(abatementDay) } : {}),
    recordedDate: formatDateTime(visit.day, visit.minute + 15, zone),
    recorder: asserter,
    asserter,
  };
  return { condition, text: code.text };
}
