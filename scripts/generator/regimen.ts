// The long-term medication timeline implied by a patient's conditions. Labs read it (a statin
// lowers LDL, levothyroxine normalises TSH) and the MedicationStatement builder writes it out,
// so the two can never tell different stories.
import type { DiagnosisKey } from './terminology.js';
import type { PatientProfile } from './profile.js';
import { condition } from './profile.js';
import { Random } from './random.js';
import { ANCHOR_DAY, ageInYears, exactAge } from './time.js';

export type DrugKey =
  | 'metformin-500'
  | 'metformin-1000'
  | 'lisinopril-10'
  | 'lisinopril-20'
  | 'amlodipine-5'
  | 'amlodipine-10'
  | 'atorvastatin-20'
  | 'atorvastatin-40'
  | 'furosemide-20'
  | 'levothyroxine-125mcg'
  | 'ferrous-sulfate-325'
  | 'albuterol-inhaler'
  | 'fluticasone-inhaler'
  | 'epinephrine-autoinjector-0.15'
  | 'amoxicillin-suspension'
  | 'amoxicillin-500'
  | 'azithromycin-250'
  | 'prednisone-20';

export type DrugClass = 'metformin' | 'ace-inhibitor' | 'calcium-channel-blocker' | 'statin' | 'loop-diuretic' | 'thyroid' | 'iron' | 'bronchodilator' | 'inhaled-steroid' | 'epinephrine' | 'antibiotic' | 'oral-steroid';

export type Route = 'oral' | 'inhaled' | 'intramuscular';

export interface Drug {
  readonly rxnorm: string;
  readonly display: string;
  readonly text: string;
  readonly drugClass: DrugClass;
  readonly route: Route;
}

/** RxNorm SCD concepts (generic clinical drugs) with their RxNorm names. */
export const DRUGS: Record<DrugKey, Drug> = {
  'metformin-500': { rxnorm: '861007', display: 'metformin hydrochloride 500 MG Oral Tablet', text: 'Metformin 500 mg tablet', drugClass: 'metformin', route: 'oral' },
  'metformin-1000': { rxnorm: '861004', display: 'metformin hydrochloride 1000 MG Oral Tablet', text: 'Metformin 1000 mg tablet', drugClass: 'metformin', route: 'oral' },
  'lisinopril-10': { rxnorm: '314076', display: 'lisinopril 10 MG Oral Tablet', text: 'Lisinopril 10 mg tablet', drugClass: 'ace-inhibitor', route: 'oral' },
  'lisinopril-20': { rxnorm: '314077', display: 'lisinopril 20 MG Oral Tablet', text: 'Lisinopril 20 mg tablet', drugClass: 'ace-inhibitor', route: 'oral' },
  'amlodipine-5': { rxnorm: '197361', display: 'amlodipine 5 MG Oral Tablet', text: 'Amlodipine 5 mg tablet', drugClass: 'calcium-channel-blocker', route: 'oral' },
  'amlodipine-10': { rxnorm: '308135', display: 'amlodipine 10 MG Oral Tablet', text: 'Amlodipine 10 mg tablet', drugClass: 'calcium-channel-blocker', route: 'oral' },
  'atorvastatin-20': { rxnorm: '617310', display: 'atorvastatin 20 MG Oral Tablet', text: 'Atorvastatin 20 mg tablet', drugClass: 'statin', route: 'oral' },
  'atorvastatin-40': { rxnorm: '617311', display: 'atorvastatin 40 MG Oral Tablet', text: 'Atorvastatin 40 mg tablet', drugClass: 'statin', route: 'oral' },
  'furosemide-20': { rxnorm: '310429', display: 'furosemide 20 MG Oral Tablet', text: 'Furosemide 20 mg tablet', drugClass: 'loop-diuretic', route: 'oral' },
  'levothyroxine-125mcg': { rxnorm: '966224', display: 'levothyroxine sodium 0.125 MG Oral Tablet', text: 'Levothyroxine 125 mcg tablet', drugClass: 'thyroid', route: 'oral' },
  'ferrous-sulfate-325': { rxnorm: '310325', display: 'ferrous sulfate 325 MG Oral Tablet', text: 'Ferrous sulfate 325 mg tablet', drugClass: 'iron', route: 'oral' },
  'albuterol-inhaler': { rxnorm: '745679', display: '200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler', text: 'Albuterol HFA inhaler 90 mcg/puff', drugClass: 'bronchodilator', route: 'inhaled' },
  'fluticasone-inhaler': { rxnorm: '895994', display: '120 ACTUAT fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler', text: 'Fluticasone HFA inhaler 44 mcg/puff', drugClass: 'inhaled-steroid', route: 'inhaled' },
  'epinephrine-autoinjector-0.15': { rxnorm: '727316', display: '0.3 ML epinephrine 0.5 MG/ML Auto-Injector', text: 'Epinephrine 0.15 mg auto-injector', drugClass: 'epinephrine', route: 'intramuscular' },
  'amoxicillin-suspension': { rxnorm: '308189', display: 'amoxicillin 80 MG/ML Oral Suspension', text: 'Amoxicillin 400 mg/5 mL oral suspension', drugClass: 'antibiotic', route: 'oral' },
  'amoxicillin-500': { rxnorm: '308191', display: 'amoxicillin 500 MG Oral Capsule', text: 'Amoxicillin 500 mg capsule', drugClass: 'antibiotic', route: 'oral' },
  'azithromycin-250': { rxnorm: '308460', display: 'azithromycin 250 MG Oral Tablet', text: 'Azithromycin 250 mg tablet', drugClass: 'antibiotic', route: 'oral' },
  'prednisone-20': { rxnorm: '312615', display: 'prednisone 20 MG Oral Tablet', text: 'Prednisone 20 mg tablet', drugClass: 'oral-steroid', route: 'oral' },
};

export interface MedicationCourse {
  readonly drug: DrugKey;
  readonly startDay: number;
  /** Last day taken; absent while still taken. */
  readonly endDay?: number;
  readonly status: 'active' | 'completed' | 'stopped';
  readonly statusReason?: string;
  readonly reason: DiagnosisKey;
  readonly dosage: string;
  readonly asNeeded?: boolean;
}

const cache = new WeakMap<PatientProfile, readonly MedicationCourse[]>();

/** Chronic medication courses for a profile, all starting before the anchor date. */
export function chronicRegimen(profile: PatientProfile): readonly MedicationCourse[] {
  const cached = cache.get(profile);
  if (cached) return cached;
  const courses = buildRegimen(profile);
  cache.set(profile, courses);
  return courses;
}

export function onDrugClass(profile: PatientProfile, drugClass: DrugClass, day: number): DrugKey | undefined {
  for (const course of chronicRegimen(profile)) {
    if (DRUGS[course.drug].drugClass !== drugClass) continue;
    if (course.startDay <= day && (course.endDay === undefined || day <= course.endDay)) return course.drug;
  }
  return undefined;
}

/** A switch (dose change) ends one course the day before the next starts. */
function sequence(
  out: MedicationCourse[],
  steps: readonly { drug: DrugKey; startDay: number }[],
  reason: DiagnosisKey,
  dosage: (drug: DrugKey) => string,
  changeReason: string,
): void {
  const started = steps.filter((s) => s.startDay < ANCHOR_DAY);
  started.forEach((step, i) => {
    const next = started[i + 1];
    if (next) {
      out.push({ drug: step.drug, startDay: step.startDay, endDay: next.startDay - 1, status: 'stopped', statusReason: changeReason, reason, dosage: dosage(step.drug) });
    } else {
      out.push({ drug: step.drug, startDay: step.startDay, status: 'active', reason, dosage: dosage(step.drug) });
    }
  });
}

function buildRegimen(profile: PatientProfile): MedicationCourse[] {
  const rng = Random.derive(...profile.seedParts, 'regimen');
  const out: MedicationCourse[] = [];
  const targets = profile.targets;

  const dm = condition(profile, 'type2-diabetes');
  if (dm?.treatedFromDay !== undefined) {
    const start = dm.treatedFromDay;
    sequence(
      out,
      [
        { drug: 'metformin-500', startDay: start },
        { drug: 'metformin-1000', startDay: start + rng.int(75, 200) },
      ],
      'type2Diabetes',
      () => 'Take 1 tablet by mouth twice daily with meals',
      'Dose increased',
    );
  }

  const htn = condition(profile, 'hypertension');
  if (htn?.treatedFromDay !== undefined) {
    const start = htn.treatedFromDay;
    const steps: { drug: DrugKey; startDay: number }[] = [{ drug: 'lisinopril-10', startDay: start }];
    if (targets.lisinoprilIncrease) steps.push({ drug: 'lisinopril-20', startDay: start + rng.int(120, 330) });
    sequence(out, steps, 'hypertension', () => 'Take 1 tablet by mouth once daily', 'Dose increased');
    if (targets.addAmlodipine) {
      const drug: DrugKey = targets.amlodipineDoseMg === 10 ? 'amlodipine-10' : 'amlodipine-5';
      sequence(out, [{ drug, startDay: start + rng.int(400, 700) }], 'hypertension', () => 'Take 1 tablet by mouth once daily', 'Dose changed');
    }
  }

  const ckd = condition(profile, 'ckd');
  if (ckd && targets.addFurosemide) {
    sequence(out, [{ drug: 'furosemide-20', startDay: ckd.onsetDay + rng.int(150, 400) }], 'ckdStage3', () => 'Take 1 tablet by mouth once daily in the morning for leg swelling', 'Dose changed');
  }

  // Statins: for hyperlipidemia, and for diabetics aged 40-75 as primary prevention.
  const hld = condition(profile, 'hyperlipidemia');
  const statinDosage = (): string => 'Take 1 tablet by mouth once daily at bedtime';
  if (hld?.treatedFromDay !== undefined) {
    const steps: { drug: DrugKey; startDay: number }[] = [{ drug: 'atorvastatin-20', startDay: hld.treatedFromDay }];
    if (targets.statinIncrease) steps.push({ drug: 'atorvastatin-40', startDay: hld.treatedFromDay + rng.int(150, 400) });
    sequence(out, steps, 'hyperlipidemia', statinDosage, 'Dose increased to reach LDL goal');
  } else if (dm?.treatedFromDay !== undefined) {
    const start = dm.treatedFromDay + rng.int(60, 200);
    if (ageInYears(profile.birthDay, start) >= 40) sequence(out, [{ drug: 'atorvastatin-20', startDay: start }], 'type2Diabetes', statinDosage, 'Dose changed');
  }

  const thyroid = condition(profile, 'hypothyroidism');
  if (thyroid?.treatedFromDay !== undefined) {
    sequence(out, [{ drug: 'levothyroxine-125mcg', startDay: thyroid.treatedFromDay }], 'hypothyroidism', () => 'Take 1 tablet by mouth every morning on an empty stomach, 30 to 60 minutes before breakfast', 'Dose changed');
  }

  const ida = condition(profile, 'iron-deficiency-anemia');
  if (ida?.treatedFromDay !== undefined) {
    // Oral iron for three to six months, then stop once stores are replete.
    const end = ida.treatedFromDay + rng.int(100, 180);
    const dosage = 'Take 1 tablet by mouth once daily with orange juice; avoid taking with dairy or antacids';
    if (end < ANCHOR_DAY - 14) out.push({ drug: 'ferrous-sulfate-325', startDay: ida.treatedFromDay, endDay: end, status: 'completed', reason: 'ironDeficiencyAnemia', dosage });
    else out.push({ drug: 'ferrous-sulfate-325', startDay: ida.treatedFromDay, status: 'active', reason: 'ironDeficiencyAnemia', dosage });
  }

  const asthma = condition(profile, 'asthma');
  if (asthma?.treatedFromDay !== undefined) {
    const child = exactAge(profile.birthDay, asthma.treatedFromDay) < 12;
    out.push({
      drug: 'albuterol-inhaler',
      startDay: asthma.treatedFromDay,
      status: 'active',
      reason: 'asthma',
      dosage: child
        ? 'Inhale 2 puffs with spacer every 4 to 6 hours as needed for cough or wheezing'
        : 'Inhale 2 puffs by mouth every 4 to 6 hours as needed for wheezing or shortness of breath',
      asNeeded: true,
    });
    if (targets.asthmaController) {
      out.push({ drug: 'fluticasone-inhaler', startDay: asthma.treatedFromDay + rng.int(90, 400), status: 'active', reason: 'asthma', dosage: 'Inhale 2 puffs by mouth twice daily; rinse mouth after use' });
    }
  }

  // Children with a high-risk food allergy carry epinephrine; the 0.15 mg device fits under ~25 kg.
  const anaphylactic = profile.allergies.find((a) => a.allergen === 'peanut' && a.criticality === 'high' && a.clinicalStatus === 'active');
  if (anaphylactic && ageInYears(profile.birthDay, ANCHOR_DAY) < 12) {
    out.push({
      drug: 'epinephrine-autoinjector-0.15',
      startDay: anaphylactic.recordedDay,
      status: 'active',
      reason: 'peanutAllergy',
      dosage: 'Inject 0.15 mg into the outer thigh once as needed for anaphylaxis; call 911 and may repeat once after 5 to 15 minutes',
      asNeeded: true,
    });
  }

  return out.filter((c) => c.startDay < ANCHOR_DAY);
}
