// Random patients for bulk data sets. Ages follow roughly the US population pyramid and chronic
// conditions appear with age-dependent prevalence, so a large sample has a realistic mix of
// healthy people, single conditions and multimorbidity.
import { planRandomAllergies } from './allergies.js';
import { fictionalPhone, pickAncestry, pickCity, pickPersonName, pickStreetLine, slugify } from './demographics.js';
import type { Sex } from './demographics.js';
import { pediatricBmi } from './growth.js';
import { drawLabBaseline } from './labs.js';
import type { ClinicalTargets, ConditionInstance, ConditionKey, PatientProfile, SmokingHistory } from './profile.js';
import { Random } from './random.js';
import type { SeedPart } from './random.js';
import { ANCHOR_DAY, addYears, exactAge } from './time.js';
import { youthBmiZ } from './vitals.js';

function pickAge(rng: Random): number {
  const band = rng.weighted<readonly [number, number]>([
    [[0, 4], 6],
    [[5, 12], 10],
    [[13, 17], 6],
    [[18, 29], 16],
    [[30, 44], 19],
    [[45, 64], 25],
    [[65, 79], 13],
    [[80, 95], 5],
  ]);
  return rng.int(band[0], band[1]);
}

/** An onset day between `fromAge` and now (at most `maxYearsAgo` back), at least a month ago. */
function onsetBetween(rng: Random, birthDay: number, fromAge: number, maxYearsAgo: number): number {
  const earliest = Math.max(addYears(birthDay, fromAge), addYears(ANCHOR_DAY, -maxYearsAgo));
  const latest = ANCHOR_DAY - 30;
  return earliest >= latest ? latest : rng.int(earliest, latest);
}

function planConditions(rng: Random, sex: Sex, birthDay: number, bmi: number, targets: { value: ClinicalTargets }): ConditionInstance[] {
  const age = exactAge(birthDay, ANCHOR_DAY);
  const out: ConditionInstance[] = [];
  const add = (key: ConditionKey, onsetDay: number, treated: boolean, delayDays: [number, number] = [0, 60]): void => {
    const treatedFromDay = treated ? Math.min(ANCHOR_DAY - 7, onsetDay + rng.int(delayDays[0], delayDays[1])) : undefined;
    out.push({ key, onsetDay, ...(treatedFromDay !== undefined ? { treatedFromDay } : {}) });
  };
  const obese = bmi >= 30;
  if (obese && age >= 18) add('obesity', onsetBetween(rng, birthDay, 18, 20), false);

  if (age >= 30 && rng.chance(Math.min(0.65, 0.04 + (age - 30) * 0.012) * (obese ? 1.4 : 1))) {
    add('hypertension', onsetBetween(rng, birthDay, 30, 15), true, [0, 90]);
    targets.value = {
      ...targets.value,
      lisinoprilIncrease: rng.chance(0.35),
      addAmlodipine: age >= 55 && rng.chance(0.45),
      uncontrolledBloodPressure: rng.chance(0.3),
    };
  }
  const diabetic = age >= 30 && rng.chance(Math.min(0.25, 0.02 + (age - 30) * 0.004) * (obese ? 1.8 : 1));
  if (diabetic) {
    add('type2-diabetes', onsetBetween(rng, birthDay, 30, 12), true, [0, 30]);
    targets.value = { ...targets.value, treatedA1c: rng.clampedNormal(7.2, 0.6, 6.3, 9.0) };
  } else if (age >= 25 && rng.chance(obese ? 0.2 : 0.1)) {
    add('prediabetes', onsetBetween(rng, birthDay, 25, 8), false);
  }
  if (age >= 35 && rng.chance(Math.min(0.4, 0.08 + (age - 35) * 0.006))) {
    add('hyperlipidemia', onsetBetween(rng, birthDay, 35, 15), rng.chance(0.85), [14, 90]);
    if (rng.chance(0.35)) targets.value = { ...targets.value, statinIncrease: true };
  }
  if (age >= 60 && rng.chance(Math.min(0.35, 0.06 + (age - 60) * 0.006) * (out.length > 1 ? 1.5 : 1))) {
    // Place onset where a declining eGFR trajectory crossed 60.
    const egfrAtAnchor = rng.float(32, 56);
    const decline = rng.float(1, 3);
    const onsetDay = Math.max(addYears(birthDay, 55), Math.round(ANCHOR_DAY - ((60 - egfrAtAnchor) / decline) * 365.25));
    add('ckd', Math.min(ANCHOR_DAY - 30, onsetDay), false);
    targets.value = { ...targets.value, egfrAtAnchor, egfrDeclinePerYear: decline, addFurosemide: age >= 70 && rng.chance(0.4) };
  }
  if (age >= 3 && rng.chance(0.08)) {
    add('asthma', onsetBetween(rng, birthDay, 3, 30), true);
    if (rng.chance(0.4)) targets.value = { ...targets.value, asthmaController: true };
  }
  if (rng.chance(sex === 'female' ? (age >= 30 ? 0.09 : 0.01) : age >= 40 ? 0.02 : 0)) {
    add('hypothyroidism', onsetBetween(rng, birthDay, 20, 15), true, [7, 30]);
  }
  if (sex === 'female' && age >= 15 && age < 50 && rng.chance(0.05)) {
    add('iron-deficiency-anemia', onsetBetween(rng, birthDay, 15, 3), true, [7, 21]);
  }
  return out;
}

function planSmoking(rng: Random, birthDay: number): SmokingHistory {
  const age = exactAge(birthDay, ANCHOR_DAY);
  if (age < 18) return { status: 'never' };
  const status = rng.weighted<'never' | 'former' | 'current'>([['never', 60], ['former', 26], ['current', 14]]);
  if (status === 'former') return { status, quitDay: onsetBetween(rng, birthDay, 22, 40) };
  return { status };
}

/** Bulk patient `index` of data set `seed`: a pure function of those two numbers. */
export function bulkProfile(seed: number, index: number): PatientProfile {
  const seedParts = [seed, 'bulk-patient', index] as const;
  const rng = Random.derive(...seedParts, 'profile');
  const id = Random.derive(...seedParts, 'id').uuid();
  const sex: Sex = rng.chance(0.5) ? 'female' : 'male';
  const age = pickAge(rng);
  // At least two months old, so even the youngest has a newborn and a first well visit.
  const birthDay = Math.min(ANCHOR_DAY - 60, addYears(ANCHOR_DAY, -age) - rng.int(0, 364));
  const ancestry = pickAncestry(rng);
  const name = pickPersonName(rng, ancestry.names, sex);
  const city = pickCity(rng, ancestry.names);
  const heightZ = rng.clampedNormal(0, 1, -2.5, 2.5);
  const adultBmi = Math.min(55, Math.max(17, Math.exp(rng.normal(Math.log(27.5), 0.18))));
  const bmiSlopePerYear = rng.clampedNormal(0.15, 0.2, -0.5, 0.7);
  const ageNow = exactAge(birthDay, ANCHOR_DAY);
  const childBmiZ = rng.clampedNormal(0.25, 1, -2, 2.5);
  const bmiZ = ageNow >= 20 ? youthBmiZ(sex, birthDay, adultBmi, bmiSlopePerYear) : childBmiZ;
  const targets = { value: {} as ClinicalTargets };
  const conditions = planConditions(rng, sex, birthDay, ageNow >= 20 ? adultBmi : 0, targets);
  const hasHld = conditions.some((c) => c.key === 'hyperlipidemia');
  const atopic = conditions.some((c) => c.key === 'asthma') || rng.chance(0.15);
  const phone = fictionalPhone(rng, city.areaCode);
  const minor = ageNow < 18;
  const parentSex: Sex = rng.chance(0.75) ? 'female' : 'male';
  const guardianName = minor ? pickPersonName(rng, ancestry.names, parentSex, name.family) : undefined;
  const maritalStatus = minor
    ? undefined
    : rng.weighted<'M' | 'S' | 'D' | 'W'>([['M', 50], ['S', ageNow < 35 ? 45 : 15], ['D', 12], ['W', ageNow >= 70 ? 25 : 2]]);
  return {
    id,
    seedParts,
    mrn: String(20000000 + index),
    emailLocalPart: `${slugify(`${name.given[0] ?? 'patient'}.${name.family}`)}.${String(index).padStart(5, '0')}`,
    name,
    sex,
    birthDay,
    race: ancestry.race,
    ethnicity: ancestry.ethnicity,
    language: ancestry.language,
    addressLines: pickStreetLine(rng),
    city,
    phone,
    ...(maritalStatus !== undefined ? { maritalStatus } : {}),
    build: { heightZ, bmiZ, bmiAtAnchor: ageNow >= 20 ? adultBmi : pediatricBmi(sex, childBmiZ, 20), bmiSlopePerYear },
    vitals: {
      systolic: rng.clampedNormal(sex === 'male' ? 119 : 114, 8, 98, 135),
      diastolic: rng.clampedNormal(75, 6, 60, 86),
      heartRate: rng.clampedNormal(72, 8, 52, 95),
    },
    labs: drawLabBaseline(rng, sex, hasHld),
    smoking: planSmoking(rng, birthDay),
    conditions,
    targets: targets.value,
    allergies: planRandomAllergies(rng, birthDay, atopic),
    historyYears: rng.int(3, 8),
    ...(guardianName
      ? { guardian: { name: guardianName, relationship: parentSex === 'female' ? ('mother' as const) : ('father' as const), phone: fictionalPhone(rng, city.areaCode) } }
      : {}),
    plannedVisits: [],
    vaccines: {
      influenzaUptake: ageNow >= 65 ? 0.7 : ageNow >= 50 ? 0.5 : ageNow < 18 ? 0.55 : 0.35,
      covidUptake: ageNow >= 65 ? 0.85 : 0.65,
    },
    ...hipReplacement(seedParts, birthDay),
  };
}

/** About one in twenty people over 70 has had a hip replaced, at 60 or later; drawn from its own stream so no other value moves. */
function hipReplacement(seedParts: readonly SeedPart[], birthDay: number): { hipReplacementDay?: number } {
  if (exactAge(birthDay, ANCHOR_DAY) < 70) return {};
  const rng = Random.derive(...seedParts, 'hip-replacement-plan');
  if (!rng.chance(0.05)) return {};
  return { hipReplacementDay: rng.int(addYears(birthDay, 60), ANCHOR_DAY - 365) };
}
