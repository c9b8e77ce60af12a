// The clinical "story" of one patient, decided before any resource is built. Every resource
// module reads this profile, so a diabetic's HbA1c, metformin and sick-day glucose all agree.
import type { City, EthnicityKey, LanguageKey, PersonName, RaceKey, Sex } from './demographics.js';
import type { SeedPart } from './random.js';
import type { LabPanel } from './visit.js';

export type ConditionKey =
  | 'type2-diabetes'
  | 'prediabetes'
  | 'hypertension'
  | 'hyperlipidemia'
  | 'asthma'
  | 'hypothyroidism'
  | 'iron-deficiency-anemia'
  | 'ckd'
  | 'obesity';

export const CONDITION_LABEL: Record<ConditionKey, string> = {
  'type2-diabetes': 'Type 2 diabetes',
  prediabetes: 'Prediabetes',
  hypertension: 'Hypertension',
  hyperlipidemia: 'Hyperlipidemia',
  asthma: 'Asthma',
  hypothyroidism: 'Hypothyroidism',
  'iron-deficiency-anemia': 'Iron deficiency anemia',
  ckd: 'Chronic kidney disease stage 3',
  obesity: 'Obesity',
};

export interface ConditionInstance {
  readonly key: ConditionKey;
  readonly onsetDay: number;
  /** First day of drug treatment; absent when managed without medication. */
  readonly treatedFromDay?: number;
}

export type SmokingHistory =
  | { readonly status: 'never' }
  | { readonly status: 'current' }
  | { readonly status: 'former'; readonly quitDay: number };

export type SickReason =
  | 'viral-uri'
  | 'otitis-media'
  | 'pharyngitis'
  | 'acute-bronchitis'
  | 'sinusitis'
  | 'asthma-exacerbation'
  | 'gastroenteritis'
  | 'influenza'
  | 'back-pain'
  | 'rash';

export type AllergenKey =
  | 'peanut'
  | 'tree-nut'
  | 'shellfish'
  | 'egg'
  | 'penicillin'
  | 'sulfamethoxazole'
  | 'codeine'
  | 'latex'
  | 'dust-mite'
  | 'grass-pollen'
  | 'tree-pollen'
  | 'animal-dander'
  | 'bee-venom';

export type ManifestationKey =
  | 'hives'
  | 'anaphylaxis'
  | 'rash'
  | 'wheezing'
  | 'angioedema'
  | 'vomiting'
  | 'nausea'
  | 'sneezing'
  | 'rhinoconjunctivitis'
  | 'itching'
  | 'contact-dermatitis'
  | 'cough';

export interface AllergyPlan {
  readonly allergen: AllergenKey;
  /** Day of first reaction; `onsetYearOnly` when the history is vague ("since childhood"). */
  readonly onsetDay: number;
  readonly onsetYearOnly?: boolean;
  readonly recordedDay: number;
  readonly clinicalStatus: 'active' | 'inactive' | 'resolved';
  readonly verificationStatus: 'confirmed' | 'unconfirmed';
  readonly criticality: 'low' | 'high' | 'unable-to-assess';
  readonly severity: 'mild' | 'moderate' | 'severe';
  readonly manifestations: readonly ManifestationKey[];
}

/** Per-person set points, so repeated labs vary around the same individual value. */
export interface LabBaseline {
  readonly ldl: number;
  readonly hdl: number;
  readonly triglycerides: number;
  readonly tsh: number;
  readonly hemoglobinOffset: number;
  readonly creatinineOffset: number;
  readonly a1c: number;
}

export interface VitalBaseline {
  readonly systolic: number;
  readonly diastolic: number;
  readonly heartRate: number;
}

export interface Build {
  /** Position on the height-for-age curve; adult height follows from it. */
  readonly heightZ: number;
  /** Position on the BMI-for-age curve, used while under 20. */
  readonly bmiZ: number;
  /** Adults: BMI at the anchor date and its yearly trend. */
  readonly bmiAtAnchor: number;
  readonly bmiSlopePerYear: number;
}

export interface GuardianContact {
  readonly name: PersonName;
  readonly relationship: 'mother' | 'father';
  readonly phone: string;
  readonly email?: string;
  /** When the parent is a patient of the same data set: their seedParts, so shared facts (the family's insurance) agree. */
  readonly seedParts?: readonly SeedPart[];
}

/** A visit the story needs on a specific day: the diagnosis of a condition, a memorable illness. */
export interface PlannedVisit {
  readonly day: number;
  readonly kind: 'sick' | 'follow-up';
  readonly reason?: SickReason;
  readonly labs?: readonly LabPanel[];
}

/** Tunable targets that give seed patients their documented story. */
export interface ClinicalTargets {
  /** HbA1c reached on treatment (diabetics). */
  readonly treatedA1c?: number;
  /** eGFR at the anchor date and its yearly decline (CKD). */
  readonly egfrAtAnchor?: number;
  readonly egfrDeclinePerYear?: number;
  /** Blood pressure still above goal on treatment. */
  readonly uncontrolledBloodPressure?: boolean;
  /** Hypertension escalation: lisinopril 10 → 20 mg, second agent, diuretic. */
  readonly lisinoprilIncrease?: boolean;
  readonly addAmlodipine?: boolean;
  readonly amlodipineDoseMg?: 5 | 10;
  readonly addFurosemide?: boolean;
  readonly statinIncrease?: boolean;
  /** Persistent asthma gets an inhaled steroid controller as well as albuterol. */
  readonly asthmaController?: boolean;
}

export interface VaccinePlan {
  /** Probability of a flu shot in any given season. */
  readonly influenzaUptake: number;
  readonly covidUptake: number;
  /** A season (year the season starts) when the patient declined the flu shot. */
  readonly declinedInfluenzaSeason?: number;
  /** Share of childhood doses skipped (default 3%). */
  readonly missedDoseRate?: number;
}

export interface PatientProfile {
  readonly id: string;
  /** Parts every random stream of this patient is derived from. */
  readonly seedParts: readonly SeedPart[];
  readonly mrn: string;
  readonly emailLocalPart: string;
  readonly name: PersonName;
  readonly sex: Sex;
  readonly birthDay: number;
  readonly race: RaceKey;
  readonly ethnicity: EthnicityKey;
  readonly language: LanguageKey;
  readonly addressLines: readonly string[];
  readonly city: City;
  readonly phone: string;
  readonly maritalStatus?: 'M' | 'S' | 'D' | 'W';
  readonly build: Build;
  readonly vitals: VitalBaseline;
  readonly labs: LabBaseline;
  readonly smoking: SmokingHistory;
  readonly conditions: readonly ConditionInstance[];
  readonly targets: ClinicalTargets;
  readonly allergies: readonly AllergyPlan[];
  /** Natural length of the record, in years before the anchor. */
  readonly historyYears: number;
  readonly guardian?: GuardianContact;
  readonly plannedVisits: readonly PlannedVisit[];
  readonly vaccines: VaccinePlan;
  /** Day of a total hip replacement (with its implant), if the patient had one. */
  readonly hipReplacementDay?: number;
}

export function condition(profile: PatientProfile, key: ConditionKey): ConditionInstance | undefined {
  return profile.conditions.find((c) => c.key === key);
}

export function hasConditionOn(profile: PatientProfile, key: ConditionKey, day: number): boolean {
  const c = condition(profile, key);
  return c !== undefined && c.onsetDay <= day;
}

export function isTreatedOn(profile: PatientProfile, key: ConditionKey, day: number): boolean {
  const c = condition(profile, key);
  return c?.treatedFromDay !== undefined && c.treatedFromDay <= day;
}

/** Days since treatment began, or undefined when untreated on that day. */
export function daysTreated(profile: PatientProfile, key: ConditionKey, day: number): number | undefined {
  const c = condition(profile, key);
  if (c?.treatedFromDay === undefined || c.treatedFromDay > day) return undefined;
  return day - c.treatedFromDay;
}
