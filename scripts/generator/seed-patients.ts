// The hand-written seed patients: a small cast that covers the ages, sexes, backgrounds and
// chronic conditions a SMART app developer wants to see, including one family (a parent and two
// children) for proxy access. Their stories are fixed here; only measurement noise and routine
// history come from the PRNG.
import { planAllergy, severityFor } from './allergies.js';
import type { EthnicityKey, LanguageKey, RaceKey, Sex } from './demographics.js';
import { findCity } from './demographics.js';
import { heightZFromAdultHeight, pediatricBmi } from './growth.js';
import { drawLabBaseline } from './labs.js';
import type {
  AllergenKey,
  AllergyPlan,
  ClinicalTargets,
  ConditionInstance,
  ConditionKey,
  LabBaseline,
  ManifestationKey,
  PatientProfile,
  PlannedVisit,
  VaccinePlan,
  VitalBaseline,
} from './profile.js';
import { Random } from './random.js';
import { ANCHOR_DAY, dayFromIso } from './time.js';
import { youthBmiZ } from './vitals.js';

interface SeedAllergy {
  readonly allergen: AllergenKey;
  readonly onset: string;
  readonly onsetYearOnly?: boolean;
  readonly recorded: string;
  readonly status?: AllergyPlan['clinicalStatus'];
  readonly verification: AllergyPlan['verificationStatus'];
  readonly criticality: AllergyPlan['criticality'];
  readonly manifestations: readonly ManifestationKey[];
}

type SeedBody =
  | { readonly kind: 'adult'; readonly heightCm: number; readonly bmi: number; readonly bmiSlopePerYear: number }
  | { readonly kind: 'child'; readonly heightZ: number; readonly bmiZ: number };

export interface SeedPatientSpec {
  readonly id: string;
  /** One line for the README: who this patient is for a tester. */
  readonly role: string;
  readonly given: readonly string[];
  readonly family: string;
  readonly sex: Sex;
  readonly birthDate: string;
  readonly race: RaceKey;
  readonly ethnicity: EthnicityKey;
  readonly language: LanguageKey;
  readonly city: string;
  readonly addressLines: readonly string[];
  readonly phone: string;
  readonly maritalStatus?: PatientProfile['maritalStatus'];
  readonly body: SeedBody;
  readonly vitals?: Partial<VitalBaseline>;
  readonly labs?: Partial<LabBaseline>;
  readonly smoking: { readonly status: 'never' | 'current' } | { readonly status: 'former'; readonly quit: string };
  readonly conditions: readonly { readonly key: ConditionKey; readonly onset: string; readonly treated?: string }[];
  readonly targets?: ClinicalTargets;
  readonly allergies: readonly SeedAllergy[];
  readonly historyYears: number;
  /** Minors: the seed patient who is their parent. */
  readonly parent?: { readonly id: string; readonly relationship: 'mother' | 'father' };
  readonly visits?: readonly (Omit<PlannedVisit, 'day'> & { readonly date: string })[];
  readonly vaccines: VaccinePlan;
  /** Date of a past total hip replacement (the record then holds the implant as a Device). */
  readonly hipReplacement?: string;
}

export const SEED_PATIENTS: readonly SeedPatientSpec[] = [
  {
    id: 'maria-garcia',
    role: 'Parent (mother of Sofia and Mateo); hypothyroidism on levothyroxine',
    given: ['Maria', 'Elena'],
    family: 'Garcia',
    sex: 'female',
    birthDate: '1985-03-14',
    race: 'white',
    ethnicity: 'hispanic',
    language: 'en',
    city: 'San Antonio',
    addressLines: ['2418 Magnolia Street'],
    phone: '210-555-0142',
    maritalStatus: 'M',
    body: { kind: 'adult', heightCm: 161, bmi: 27.1, bmiSlopePerYear: 0.25 },
    vitals: { systolic: 113, diastolic: 72, heartRate: 74 },
    smoking: { status: 'never' },
    conditions: [{ key: 'hypothyroidism', onset: '2023-05-16', treated: '2023-05-30' }],
    allergies: [
      { allergen: 'sulfamethoxazole', onset: '2009-08-10', recorded: '2015-03-02', verification: 'confirmed', criticality: 'low', manifestations: ['rash', 'itching'] },
      { allergen: 'latex', onset: '2012-02-01', recorded: '2019-11-04', verification: 'confirmed', criticality: 'low', manifestations: ['contact-dermatitis'] },
    ],
    historyYears: 4,
    visits: [{ date: '2023-05-16', kind: 'follow-up', labs: ['cbc', 'tsh'] }],
    vaccines: { influenzaUptake: 0.7, covidUptake: 1, missedDoseRate: 0 },
  },
  {
    id: 'sofia-garcia',
    role: 'Child (daughter of Maria); peanut allergy with epinephrine auto-injector; ear infections treated with amoxicillin',
    given: ['Sofia', 'Isabel'],
    family: 'Garcia',
    sex: 'female',
    birthDate: '2018-06-22',
    race: 'white',
    ethnicity: 'hispanic',
    language: 'en',
    city: 'San Antonio',
    addressLines: ['2418 Magnolia Street'],
    phone: '210-555-0143',
    body: { kind: 'child', heightZ: 0.2, bmiZ: 0.1 },
    smoking: { status: 'never' },
    conditions: [],
    allergies: [
      { allergen: 'peanut', onset: '2020-01-25', recorded: '2020-02-10', verification: 'confirmed', criticality: 'high', manifestations: ['hives', 'angioedema', 'vomiting'] },
    ],
    historyYears: 7,
    parent: { id: 'maria-garcia', relationship: 'mother' },
    visits: [
      { date: '2024-01-16', kind: 'sick', reason: 'otitis-media' },
      { date: '2025-11-12', kind: 'sick', reason: 'otitis-media' },
    ],
    vaccines: { influenzaUptake: 0.75, covidUptake: 0, missedDoseRate: 0 },
  },
  {
    id: 'mateo-garcia',
    role: 'Teenager (son of Maria); persistent asthma on albuterol and fluticasone; pollen and dust-mite allergies',
    given: ['Mateo', 'Luis'],
    family: 'Garcia',
    sex: 'male',
    birthDate: '2011-04-09',
    race: 'white',
    ethnicity: 'hispanic',
    language: 'en',
    city: 'San Antonio',
    addressLines: ['2418 Magnolia Street'],
    phone: '210-555-0143',
    body: { kind: 'child', heightZ: 0.4, bmiZ: 0.3 },
    smoking: { status: 'never' },
    conditions: [{ key: 'asthma', onset: '2017-09-20', treated: '2017-09-20' }],
    targets: { asthmaController: true },
    allergies: [
      { allergen: 'grass-pollen', onset: '2016-05-02', recorded: '2017-09-20', verification: 'confirmed', criticality: 'low', manifestations: ['sneezing', 'rhinoconjunctivitis'] },
      { allergen: 'dust-mite', onset: '2017-03-01', recorded: '2017-09-20', verification: 'confirmed', criticality: 'low', manifestations: ['wheezing', 'cough'] },
    ],
    historyYears: 5,
    parent: { id: 'maria-garcia', relationship: 'mother' },
    visits: [{ date: '2025-10-14', kind: 'sick', reason: 'asthma-exacerbation' }],
    vaccines: { influenzaUptake: 0.8, covidUptake: 1, missedDoseRate: 0 },
  },
  {
    id: 'daniel-kim',
    role: 'Healthy young adult; seasonal tree-pollen allergy',
    given: ['Daniel'],
    family: 'Kim',
    sex: 'male',
    birthDate: '1999-08-03',
    race: 'asian',
    ethnicity: 'not-hispanic',
    language: 'en',
    city: 'Seattle',
    addressLines: ['1207 Cherry Lane', 'Apt 3C'],
    phone: '206-555-0117',
    maritalStatus: 'S',
    body: { kind: 'adult', heightCm: 176, bmi: 23.4, bmiSlopePerYear: 0.1 },
    vitals: { systolic: 116, diastolic: 72, heartRate: 64 },
    smoking: { status: 'never' },
    conditions: [],
    allergies: [
      { allergen: 'tree-pollen', onset: '2008-04-01', recorded: '2023-04-11', verification: 'confirmed', criticality: 'low', manifestations: ['sneezing', 'rhinoconjunctivitis'] },
    ],
    historyYears: 3,
    vaccines: { influenzaUptake: 0.4, covidUptake: 1, missedDoseRate: 0 },
  },
  {
    id: 'marcus-thompson',
    role: 'Type 2 diabetes (HbA1c above goal) on metformin and a statin; obesity; ex-smoker',
    given: ['Marcus', 'Anthony'],
    family: 'Thompson',
    sex: 'male',
    birthDate: '1968-01-22',
    race: 'black',
    ethnicity: 'not-hispanic',
    language: 'en',
    city: 'Atlanta',
    addressLines: ['845 Highland Avenue'],
    phone: '404-555-0163',
    maritalStatus: 'M',
    body: { kind: 'adult', heightCm: 180, bmi: 31.8, bmiSlopePerYear: -0.15 },
    vitals: { systolic: 124, diastolic: 80, heartRate: 76 },
    smoking: { status: 'former', quit: '2015-06-01' },
    conditions: [
      { key: 'obesity', onset: '2012-01-10' },
      { key: 'type2-diabetes', onset: '2023-01-10', treated: '2023-01-10' },
    ],
    targets: { treatedA1c: 7.6 },
    allergies: [
      { allergen: 'shellfish', onset: '1995-07-04', onsetYearOnly: true, recorded: '2019-12-03', verification: 'confirmed', criticality: 'high', manifestations: ['hives', 'angioedema'] },
    ],
    historyYears: 4,
    visits: [{ date: '2023-01-10', kind: 'follow-up', labs: ['cbc', 'bmp', 'lipid', 'a1c'] }],
    vaccines: { influenzaUptake: 0.6, covidUptake: 1, missedDoseRate: 0 },
  },
  {
    id: 'linda-kowalski',
    role: 'Older adult with hypertension above goal on lisinopril and amlodipine; declined one flu shot',
    given: ['Linda', 'Marie'],
    family: 'Kowalski',
    sex: 'female',
    birthDate: '1957-09-30',
    race: 'white',
    ethnicity: 'not-hispanic',
    language: 'en',
    city: 'Pittsburgh',
    addressLines: ['317 Walnut Street'],
    phone: '412-555-0188',
    maritalStatus: 'W',
    body: { kind: 'adult', heightCm: 163, bmi: 28.6, bmiSlopePerYear: 0.05 },
    vitals: { systolic: 118, diastolic: 74, heartRate: 70 },
    smoking: { status: 'never' },
    conditions: [{ key: 'hypertension', onset: '2022-03-01', treated: '2022-03-01' }],
    targets: { uncontrolledBloodPressure: true, lisinoprilIncrease: true, addAmlodipine: true, amlodipineDoseMg: 5 },
    allergies: [
      { allergen: 'codeine', onset: '2003-02-10', onsetYearOnly: true, recorded: '2022-03-01', verification: 'confirmed', criticality: 'low', manifestations: ['nausea', 'vomiting'] },
    ],
    historyYears: 5,
    visits: [{ date: '2022-03-01', kind: 'follow-up', labs: ['cbc', 'bmp', 'lipid'] }],
    vaccines: { influenzaUptake: 0.85, covidUptake: 1, missedDoseRate: 0, declinedInfluenzaSeason: 2023 },
  },
  {
    id: 'david-chen',
    role: 'Hyperlipidemia on atorvastatin (dose increased to reach LDL goal); no known allergies; prefers Chinese',
    given: ['David', 'Wei'],
    family: 'Chen',
    sex: 'male',
    birthDate: '1974-02-17',
    race: 'asian',
    ethnicity: 'not-hispanic',
    language: 'zh',
    city: 'San Jose',
    addressLines: ['2760 Sycamore Court'],
    phone: '408-555-0129',
    maritalStatus: 'M',
    body: { kind: 'adult', heightCm: 172, bmi: 25.6, bmiSlopePerYear: 0.1 },
    vitals: { systolic: 122, diastolic: 78, heartRate: 68 },
    labs: { ldl: 178, hdl: 44 },
    smoking: { status: 'never' },
    conditions: [{ key: 'hyperlipidemia', onset: '2023-03-14', treated: '2023-04-11' }],
    targets: { statinIncrease: true },
    allergies: [],
    historyYears: 4,
    visits: [{ date: '2023-03-14', kind: 'follow-up', labs: ['lipid', 'a1c'] }],
    vaccines: { influenzaUptake: 0.5, covidUptake: 1, missedDoseRate: 0 },
  },
  {
    id: 'priya-patel',
    role: 'Woman of child-bearing age; iron deficiency anemia treated with a course of oral iron',
    given: ['Priya'],
    family: 'Patel',
    sex: 'female',
    birthDate: '1995-11-27',
    race: 'asian',
    ethnicity: 'not-hispanic',
    language: 'en',
    city: 'Chicago',
    addressLines: ['1544 Prospect Street', 'Apt 2B'],
    phone: '773-555-0150',
    maritalStatus: 'M',
    body: { kind: 'adult', heightCm: 158, bmi: 22.1, bmiSlopePerYear: 0.15 },
    vitals: { systolic: 108, diastolic: 68, heartRate: 76 },
    smoking: { status: 'never' },
    conditions: [{ key: 'iron-deficiency-anemia', onset: '2025-03-10', treated: '2025-03-24' }],
    allergies: [
      { allergen: 'animal-dander', onset: '2004-09-01', recorded: '2022-12-06', verification: 'confirmed', criticality: 'low', manifestations: ['sneezing', 'rhinoconjunctivitis'] },
    ],
    historyYears: 4,
    visits: [{ date: '2025-03-10', kind: 'follow-up', labs: ['cbc', 'tsh'] }],
    vaccines: { influenzaUptake: 0.65, covidUptake: 1, missedDoseRate: 0 },
  },
  {
    id: 'harold-jensen',
    role: 'Elderly (80+) with chronic kidney disease stage 3b (high creatinine, low eGFR, anemia) and hypertension',
    given: ['Harold', 'James'],
    family: 'Jensen',
    sex: 'male',
    birthDate: '1942-06-05',
    race: 'white',
    ethnicity: 'not-hispanic',
    language: 'en',
    city: 'Minneapolis',
    addressLines: ['4021 Lakeview Drive'],
    phone: '612-555-0171',
    maritalStatus: 'W',
    body: { kind: 'adult', heightCm: 178, bmi: 25.9, bmiSlopePerYear: -0.25 },
    vitals: { systolic: 122, diastolic: 74, heartRate: 66 },
    smoking: { status: 'former', quit: '1988-01-04' },
    conditions: [
      { key: 'hypertension', onset: '2004-06-01', treated: '2004-06-01' },
      { key: 'hyperlipidemia', onset: '2006-03-20', treated: '2006-03-20' },
      { key: 'ckd', onset: '2019-08-01' },
    ],
    targets: { egfrAtAnchor: 33, egfrDeclinePerYear: 2.2, addAmlodipine: true, amlodipineDoseMg: 10, addFurosemide: true },
    allergies: [
      { allergen: 'penicillin', onset: '1975-06-01', onsetYearOnly: true, recorded: '2016-01-12', verification: 'unconfirmed', criticality: 'unable-to-assess', manifestations: ['rash'] },
    ],
    historyYears: 4,
    vaccines: { influenzaUptake: 0.9, covidUptake: 1, missedDoseRate: 0 },
    hipReplacement: '2014-09-16',
  },
  {
    id: 'aaliyah-brooks',
    role: 'Obesity with prediabetes (HbA1c 5.7-6.4%); penicillin allergy; ex-smoker',
    given: ['Aaliyah', 'Renee'],
    family: 'Brooks',
    sex: 'female',
    birthDate: '1990-07-19',
    race: 'black',
    ethnicity: 'not-hispanic',
    language: 'en',
    city: 'Houston',
    addressLines: ['5530 Sunset Boulevard'],
    phone: '713-555-0104',
    maritalStatus: 'S',
    body: { kind: 'adult', heightCm: 167, bmi: 34.6, bmiSlopePerYear: 0.35 },
    vitals: { systolic: 119, diastolic: 78, heartRate: 80 },
    smoking: { status: 'former', quit: '2019-01-15' },
    conditions: [
      { key: 'obesity', onset: '2015-01-05' },
      { key: 'prediabetes', onset: '2023-02-06' },
    ],
    allergies: [
      { allergen: 'penicillin', onset: '1996-10-01', recorded: '2021-12-14', verification: 'confirmed', criticality: 'low', manifestations: ['hives', 'itching'] },
      { allergen: 'dust-mite', onset: '2001-04-01', onsetYearOnly: true, recorded: '2021-12-14', verification: 'confirmed', criticality: 'low', manifestations: ['sneezing', 'rhinoconjunctivitis'] },
    ],
    historyYears: 4,
    visits: [
      { date: '2023-02-06', kind: 'follow-up', labs: ['bmp', 'a1c'] },
      { date: '2024-02-20', kind: 'sick', reason: 'sinusitis' },
    ],
    vaccines: { influenzaUptake: 0.65, covidUptake: 1, missedDoseRate: 0 },
  },
  {
    id: 'joseph-begay',
    role: 'Hypertension and hyperlipidemia (lisinopril, atorvastatin); current smoker; bee-sting allergy',
    given: ['Joseph', 'Kee'],
    family: 'Begay',
    sex: 'male',
    birthDate: '1963-10-11',
    race: 'american-indian',
    ethnicity: 'not-hispanic',
    language: 'en',
    city: 'Gallup',
    addressLines: ['612 Mesa Verde Drive'],
    phone: '505-555-0136',
    maritalStatus: 'M',
    body: { kind: 'adult', heightCm: 174, bmi: 30.4, bmiSlopePerYear: 0.1 },
    vitals: { systolic: 120, diastolic: 78, heartRate: 78 },
    labs: { ldl: 168 },
    smoking: { status: 'current' },
    conditions: [
      { key: 'hypertension', onset: '2023-09-12', treated: '2023-09-12' },
      { key: 'hyperlipidemia', onset: '2023-09-12', treated: '2023-10-10' },
    ],
    allergies: [
      { allergen: 'bee-venom', onset: '1979-07-01', onsetYearOnly: true, recorded: '2023-09-12', verification: 'confirmed', criticality: 'high', manifestations: ['hives', 'angioedema'] },
    ],
    historyYears: 4,
    visits: [{ date: '2023-09-12', kind: 'follow-up', labs: ['cbc', 'bmp', 'lipid', 'a1c'] }],
    vaccines: { influenzaUptake: 0.55, covidUptake: 1, missedDoseRate: 0 },
  },
  {
    id: 'leilani-kahale',
    role: 'Healthy young adult in Hawaii (no daylight saving time); dust-mite allergy',
    given: ['Leilani'],
    family: 'Kahale',
    sex: 'female',
    birthDate: '2001-05-02',
    race: 'pacific-islander',
    ethnicity: 'not-hispanic',
    language: 'en',
    city: 'Honolulu',
    addressLines: ['3150 Waialae Avenue'],
    phone: '808-555-0193',
    maritalStatus: 'S',
    body: { kind: 'adult', heightCm: 165, bmi: 24.2, bmiSlopePerYear: 0.1 },
    vitals: { systolic: 110, diastolic: 70, heartRate: 70 },
    smoking: { status: 'never' },
    conditions: [],
    allergies: [
      { allergen: 'dust-mite', onset: '2009-03-01', recorded: '2024-06-18', verification: 'confirmed', criticality: 'low', manifestations: ['sneezing', 'rhinoconjunctivitis'] },
    ],
    historyYears: 3,
    vaccines: { influenzaUptake: 0.45, covidUptake: 1, missedDoseRate: 0 },
  },
];

function conditionInstances(spec: SeedPatientSpec): ConditionInstance[] {
  return spec.conditions.map((c) => ({
    key: c.key,
    onsetDay: dayFromIso(c.onset),
    ...(c.treated !== undefined ? { treatedFromDay: dayFromIso(c.treated) } : {}),
  }));
}

function allergyPlans(spec: SeedPatientSpec, rng: Random, birthDay: number): AllergyPlan[] {
  return spec.allergies.map((a) => ({
    ...planAllergy(rng, a.allergen, birthDay),
    onsetDay: dayFromIso(a.onset),
    ...(a.onsetYearOnly ? { onsetYearOnly: true } : {}),
    recordedDay: dayFromIso(a.recorded),
    clinicalStatus: a.status ?? 'active',
    verificationStatus: a.verification,
    criticality: a.criticality,
    manifestations: a.manifestations,
    severity: severityFor(a.manifestations),
  }));
}

export function seedProfile(spec: SeedPatientSpec, index: number, seed: number): PatientProfile {
  const seedParts = [seed, 'seed-patient', spec.id] as const;
  const rng = Random.derive(...seedParts, 'profile');
  const birthDay = dayFromIso(spec.birthDate);
  const city = findCity(spec.city);
  const conditions = conditionInstances(spec);
  const hasHld = conditions.some((c) => c.key === 'hyperlipidemia');
  const labs: LabBaseline = { ...drawLabBaseline(rng, spec.sex, hasHld), ...spec.labs };
  const build =
    spec.body.kind === 'adult'
      ? {
          heightZ: heightZFromAdultHeight(spec.sex, spec.body.heightCm),
          bmiZ: youthBmiZ(spec.sex, birthDay, spec.body.bmi, spec.body.bmiSlopePerYear),
          bmiAtAnchor: spec.body.bmi,
          bmiSlopePerYear: spec.body.bmiSlopePerYear,
        }
      : { heightZ: spec.body.heightZ, bmiZ: spec.body.bmiZ, bmiAtAnchor: pediatricBmi(spec.sex, spec.body.bmiZ, 20), bmiSlopePerYear: 0 };
  const parentSpec = spec.parent ? SEED_PATIENTS.find((p) => p.id === spec.parent?.id) : undefined;
  const vitals: VitalBaseline = {
    systolic: spec.vitals?.systolic ?? rng.clampedNormal(116, 7, 100, 132),
    diastolic: spec.vitals?.diastolic ?? rng.clampedNormal(74, 5, 62, 84),
    heartRate: spec.vitals?.heartRate ?? rng.clampedNormal(72, 7, 56, 90),
  };
  return {
    id: spec.id,
    seedParts,
    mrn: String(1000000 + index + 1),
    emailLocalPart: spec.id,
    name: { given: [...spec.given], family: spec.family },
    sex: spec.sex,
    birthDay,
    race: spec.race,
    ethnicity: spec.ethnicity,
    language: spec.language,
    addressLines: spec.addressLines,
    city,
    phone: spec.phone,
    ...(spec.maritalStatus !== undefined ? { maritalStatus: spec.maritalStatus } : {}),
    build,
    vitals,
    labs,
    smoking: spec.smoking.status === 'former' ? { status: 'former', quitDay: dayFromIso(spec.smoking.quit) } : { status: spec.smoking.status },
    conditions,
    targets: spec.targets ?? {},
    allergies: allergyPlans(spec, rng, birthDay),
    historyYears: spec.historyYears,
    ...(parentSpec && spec.parent
      ? {
          guardian: {
            name: { given: [...parentSpec.given], family: parentSpec.family },
            relationship: spec.parent.relationship,
            phone: parentSpec.phone,
            email: `${parentSpec.id}@example.com`,
            seedParts: [seed, 'seed-patient', parentSpec.id],
          },
        }
      : {}),
    plannedVisits: (spec.visits ?? [])
      .map((v) => {
        const { date, ...rest } = v;
        return { ...rest, day: dayFromIso(date) };
      })
      .filter((v) => v.day < ANCHOR_DAY),
    vaccines: spec.vaccines,
    ...(spec.hipReplacement !== undefined ? { hipReplacementDay: dayFromIso(spec.hipReplacement) } : {}),
  };
}

export function seedProfiles(seed: number): PatientProfile[] {
  return SEED_PATIENTS.map((spec, i) => seedProfile(spec, i, seed));
}
