// Vital signs per visit (US Core vital-sign profiles). Values come from the patient's growth
// curve or adult BMI trend, age-specific norms, chronic conditions and the reason for a sick
// visit, plus measurement noise, so a series drifts plausibly instead of jumping.
import type { Observation } from 'fhir/r4.js';
import type { Sex } from './demographics.js';
import { bmiZScore, heightAt, medianBmi, bmiLogSd, pediatricBmi, percentileFromZ } from './growth.js';
import type { Component, ObservationCode, ObservationEnvelope, Unit } from './observation.js';
import { componentObservation, quantityObservation, round } from './observation.js';
import type { PatientProfile, SickReason } from './profile.js';
import { hasConditionOn, isTreatedOn } from './profile.js';
import { PROFILE } from './terminology.js';
import { ANCHOR_DAY, exactAge } from './time.js';
import type { VisitContext } from './visit.js';

const CODE = {
  bloodPressure: { loinc: '85354-9', display: 'Blood pressure panel with all children optional', text: 'Blood pressure' },
  systolic: { loinc: '8480-6', display: 'Systolic blood pressure', text: 'Systolic blood pressure' },
  diastolic: { loinc: '8462-4', display: 'Diastolic blood pressure', text: 'Diastolic blood pressure' },
  heartRate: { loinc: '8867-4', display: 'Heart rate', text: 'Heart rate' },
  respiratoryRate: { loinc: '9279-1', display: 'Respiratory rate', text: 'Respiratory rate' },
  temperature: { loinc: '8310-5', display: 'Body temperature', text: 'Temperature' },
  weight: { loinc: '29463-7', display: 'Body weight', text: 'Weight' },
  height: { loinc: '8302-2', display: 'Body height', text: 'Height' },
  bmi: { loinc: '39156-5', display: 'Body mass index (BMI) [Ratio]', text: 'BMI' },
  pulseOximetry: { loinc: '59408-5', display: 'Oxygen saturation in Arterial blood by Pulse oximetry', text: 'Oxygen saturation' },
  oxygenSaturation: { loinc: '2708-6', display: 'Oxygen saturation in Arterial blood', text: 'Oxygen saturation' },
  bmiPercentile: { loinc: '59576-9', display: 'Body mass index (BMI) [Percentile] Per age and sex', text: 'BMI-for-age percentile' },
  weightForLength: { loinc: '77606-2', display: 'Weight-for-length Per age and sex', text: 'Weight-for-length percentile' },
} as const satisfies Record<string, ObservationCode>;

const UNIT = {
  mmHg: { unit: 'mmHg', code: 'mm[Hg]' },
  perMinute: { unit: 'beats/minute', code: '/min' },
  breathsPerMinute: { unit: 'breaths/minute', code: '/min' },
  celsius: { unit: '°C', code: 'Cel' },
  kg: { unit: 'kg', code: 'kg' },
  cm: { unit: 'cm', code: 'cm' },
  bmi: { unit: 'kg/m2', code: 'kg/m2' },
  percent: { unit: '%', code: '%' },
} as const satisfies Record<string, Unit>;

export interface BodySize {
  readonly heightCm: number;
  readonly weightKg: number;
  readonly bmi: number;
}

/** True (noise-free) body size on a day: growth curve under 20, adult BMI trend after. */
export function bodyAt(profile: PatientProfile, day: number): BodySize {
  const age = exactAge(profile.birthDay, day);
  const heightCm = heightAt(profile.sex, profile.build.heightZ, age);
  let bmi: number;
  if (age < 20) {
    bmi = pediatricBmi(profile.sex, profile.build.bmiZ, age);
  } else {
    const yearsBeforeAnchor = (ANCHOR_DAY - day) / 365.2425;
    bmi = Math.min(60, Math.max(16, profile.build.bmiAtAnchor - profile.build.bmiSlopePerYear * yearsBeforeAnchor));
  }
  const metres = heightCm / 100;
  return { heightCm, weightKg: bmi * metres * metres, bmi };
}

/**
 * The BMI-for-age z-score an adult had at 20, extrapolated back along their adult trend, so that
 * an extended history reaching into their teens joins their adult weight smoothly.
 */
export function youthBmiZ(sex: Sex, birthDay: number, bmiAtAnchor: number, bmiSlopePerYear: number): number {
  const ageAtAnchor = exactAge(birthDay, ANCHOR_DAY);
  const bmiAt20 = Math.min(45, Math.max(17, bmiAtAnchor - bmiSlopePerYear * Math.max(0, ageAtAnchor - 20)));
  const z = Math.log(bmiAt20 / medianBmi(sex, 20)) / bmiLogSd(20);
  return Math.min(2.5, Math.max(-2.5, z));
}

interface AcutePicture {
  readonly feverProbability: number;
  readonly heartRateDelta: number;
  readonly respiratoryDelta: number;
  readonly spo2Delta: number;
}

const ACUTE: Record<SickReason, AcutePicture> = {
  'viral-uri': { feverProbability: 0.35, heartRateDelta: 6, respiratoryDelta: 1, spo2Delta: 0 },
  'otitis-media': { feverProbability: 0.6, heartRateDelta: 10, respiratoryDelta: 1, spo2Delta: 0 },
  pharyngitis: { feverProbability: 0.55, heartRateDelta: 8, respiratoryDelta: 0, spo2Delta: 0 },
  'acute-bronchitis': { feverProbability: 0.3, heartRateDelta: 8, respiratoryDelta: 3, spo2Delta: -1.5 },
  sinusitis: { feverProbability: 0.2, heartRateDelta: 4, respiratoryDelta: 0, spo2Delta: 0 },
  'asthma-exacerbation': { feverProbability: 0.1, heartRateDelta: 18, respiratoryDelta: 7, spo2Delta: -4.5 },
  gastroenteritis: { feverProbability: 0.3, heartRateDelta: 12, respiratoryDelta: 1, spo2Delta: 0 },
  influenza: { feverProbability: 0.85, heartRateDelta: 14, respiratoryDelta: 3, spo2Delta: -1 },
  'back-pain': { feverProbability: 0, heartRateDelta: 4, respiratoryDelta: 0, spo2Delta: 0 },
  rash: { feverProbability: 0.1, heartRateDelta: 2, respiratoryDelta: 0, spo2Delta: 0 },
};

function restingHeartRate(age: number): number {
  if (age < 1) return 132;
  if (age < 3) return 116;
  if (age < 6) return 100;
  if (age < 12) return 86;
  if (age < 18) return 76;
  return 0; // adults use their personal baseline
}

function restingRespiratoryRate(age: number): number {
  if (age < 1) return 36;
  if (age < 3) return 28;
  if (age < 6) return 23;
  if (age < 12) return 19;
  if (age < 18) return 16;
  return 15;
}

function bloodPressure(ctx: VisitContext): { systolic: number; diastolic: number } {
  const { profile, rng, age, visit } = ctx;
  if (age < 18) {
    return {
      systolic: Math.round(rng.normal(89 + 1.3 * age, 6)),
      diastolic: Math.round(rng.normal(52 + 0.9 * age, 5)),
    };
  }
  let systolic = profile.vitals.systolic + 0.35 * Math.max(0, age - 40);
  let diastolic = profile.vitals.diastolic + 0.1 * Math.max(0, age - 40) - 0.25 * Math.max(0, age - 65);
  if (hasConditionOn(profile, 'hypertension', visit.day)) {
    const controlled = isTreatedOn(profile, 'hypertension', visit.day);
    const residual = profile.targets.uncontrolledBloodPressure ? 14 : 6;
    systolic += controlled ? residual : 26;
    diastolic += controlled ? residual / 2 : 11;
  }
  if (visit.kind === 'sick' && visit.reason !== undefined) systolic += 4; // pain, anxiety, decongestants
  return {
    systolic: Math.round(rng.normal(systolic, 7)),
    diastolic: Math.round(Math.min(rng.normal(diastolic, 5), systolic - 25)),
  };
}

/**
 * Builds this visit's vital signs. Which ones are taken depends on the visit type and age, the
 * way a clinic's intake does: no cuff under 3, length and weight-for-length under 2.
 */
export function vitalSigns(ctx: VisitContext): Observation[] {
  const { profile, rng, age, visit, subject, encounter, effective } = ctx;
  const out: Observation[] = [];
  const env = (profileUrl: string, code: ObservationCode, alsoCodedAs?: readonly ObservationCode[]): ObservationEnvelope => ({
    id: rng.uuid(),
    profile: profileUrl,
    category: 'vital-signs',
    code,
    subject,
    encounter,
    effective,
    ...(alsoCodedAs ? { alsoCodedAs } : {}),
  });

  const acute = visit.kind === 'sick' && visit.reason !== undefined ? ACUTE[visit.reason] : undefined;
  const fever = acute !== undefined && rng.chance(acute.feverProbability);
  const temperature = fever ? rng.float(38.0, age < 6 ? 39.6 : 39.2) : rng.clampedNormal(36.8, 0.22, 36.1, 37.5);
  const feverDelta = fever ? (temperature - 37) * 8 : 0;
  const pediatric = age < 18;
  const isAdult = !pediatric;
  const chronicLung = hasConditionOn(profile, 'asthma', visit.day);

  const wellness = visit.kind === 'wellness';
  const followUp = visit.kind === 'follow-up';
  const takeBp = age >= 3 && (wellness || followUp || (visit.kind === 'sick' && rng.chance(0.7)));
  // Follow-up intake is brief: blood pressure, pulse and weight, sometimes more.
  const takeRr = wellness || visit.kind === 'sick' || rng.chance(0.25);
  const takeTemp = wellness || visit.kind === 'sick' || rng.chance(0.2);
  const takeSpo2 = age >= 2 && (visit.kind === 'sick' || (wellness && (isAdult || rng.chance(0.5))) || (followUp && rng.chance(0.6)));
  const takeHeight = wellness;
  const takeWeight = wellness || followUp || pediatric || rng.chance(0.3);

  if (takeBp) {
    const bp = bloodPressure(ctx);
    const components: Component[] = [
      { code: CODE.systolic, value: bp.systolic, unit: UNIT.mmHg },
      { code: CODE.diastolic, value: bp.diastolic, unit: UNIT.mmHg },
    ];
    out.push(componentObservation(env(PROFILE.bloodPressure, CODE.bloodPressure), components));
  }

  const baseHr = isAdult ? profile.vitals.heartRate : restingHeartRate(age);
  const hr = Math.round(rng.normal(baseHr + (acute?.heartRateDelta ?? 0) + feverDelta, isAdult ? 5 : 7));
  out.push(quantityObservation(env(PROFILE.heartRate, CODE.heartRate), Math.max(45, hr), UNIT.perMinute));

  if (takeRr) {
    const rr = Math.round(rng.normal(restingRespiratoryRate(age) + (acute?.respiratoryDelta ?? 0) + (fever ? 2 : 0), 1.5));
    out.push(quantityObservation(env(PROFILE.respiratoryRate, CODE.respiratoryRate), Math.max(10, rr), UNIT.breathsPerMinute));
  }

  if (takeTemp) {
    out.push(quantityObservation(env(PROFILE.bodyTemperature, CODE.temperature), round(temperature, 1), UNIT.celsius));
  }

  if (takeSpo2) {
    const base = age >= 75 ? 96.2 : chronicLung ? 97.2 : 98;
    const spo2 = Math.round(rng.normal(base + (acute?.spo2Delta ?? 0), 1));
    out.push(quantityObservation(env(PROFILE.pulseOximetry, CODE.pulseOximetry, [CODE.oxygenSaturation]), Math.min(100, Math.max(88, spo2)), UNIT.percent));
  }

  if (takeHeight || takeWeight) {
    const truth = bodyAt(profile, visit.day);
    const heightCm = round(truth.heightCm + rng.normal(0, pediatric ? 0.5 : 0.4), 1);
    const weightKg = round(Math.max(2, truth.weightKg * (1 + rng.normal(0, pediatric ? 0.012 : 0.006))), 1);
    const metres = (takeHeight ? heightCm : truth.heightCm) / 100;
    const bmi = round(weightKg / (metres * metres), 1);
    if (takeHeight) out.push(quantityObservation(env(PROFILE.bodyHeight, CODE.height), heightCm, UNIT.cm));
    if (takeWeight) out.push(quantityObservation(env(PROFILE.bodyWeight, CODE.weight), weightKg, UNIT.kg));
    // Clinic software computes BMI wherever both measurements exist; under 2 it is not used.
    if (takeWeight && age >= 2 && (takeHeight || isAdult)) {
      out.push(quantityObservation(env(PROFILE.bmi, CODE.bmi), bmi, UNIT.bmi));
    }
    if (wellness && age >= 2 && age < 20) {
      const percentile = round(percentileFromZ(bmiZScore(profile.sex, age, bmi)), 1);
      out.push(quantityObservation(env(PROFILE.pediatricBmi, CODE.bmiPercentile), percentile, UNIT.percent));
    }
    if (wellness && age < 2) {
      // Weight-for-length tracks the same build as BMI at this age; it is the chart used under 2.
      const percentile = round(percentileFromZ(bmiZScore(profile.sex, age, bmi) + rng.normal(0, 0.15)), 1);
      out.push(quantityObservation(env(PROFILE.pediatricWeightForLength, CODE.weightForLength), percentile, UNIT.percent));
    }
  }
  return out;
}
