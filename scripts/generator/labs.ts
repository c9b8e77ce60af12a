// Laboratory results (US Core lab profile). Each panel is drawn from the patient's physiology on
// that day — personal set points, conditions, their treatment and any acute illness — and derived
// values are computed the way a lab does (LDL/total cholesterol add up, eGFR comes from creatinine
// by CKD-EPI 2021), so a clinician sees internally consistent panels.
import type { Observation } from 'fhir/r4.js';
import type { Sex } from './demographics.js';
import type { ObservationCode, Unit, ValueRange } from './observation.js';
import { rangedObservation, round } from './observation.js';
import type { LabBaseline, PatientProfile, SickReason } from './profile.js';
import { condition, daysTreated, hasConditionOn } from './profile.js';
import type { Random } from './random.js';
import { onDrugClass } from './regimen.js';
import { PROFILE } from './terminology.js';
import { ANCHOR_DAY, formatDateTime } from './time.js';
import type { LabPanel, VisitContext } from './visit.js';

type LabKey =
  | 'hemoglobin'
  | 'wbc'
  | 'platelets'
  | 'glucose'
  | 'sodium'
  | 'potassium'
  | 'creatinine'
  | 'bun'
  | 'egfr'
  | 'cholesterol'
  | 'ldl'
  | 'hdl'
  | 'triglycerides'
  | 'a1c'
  | 'tsh';

interface LabDefinition {
  readonly code: ObservationCode;
  readonly unit: Unit;
  readonly decimals: number;
  readonly range: (sex: Sex, age: number) => ValueRange;
  readonly critical?: ValueRange;
}

const MG_DL: Unit = { unit: 'mg/dL', code: 'mg/dL' };
const MMOL_L: Unit = { unit: 'mmol/L', code: 'mmol/L' };
const THOUSAND_PER_UL: Unit = { unit: '10*3/uL', code: '10*3/uL' };

const LAB: Record<LabKey, LabDefinition> = {
  hemoglobin: {
    code: { loinc: '718-7', display: 'Hemoglobin [Mass/volume] in Blood', text: 'Hemoglobin' },
    unit: { unit: 'g/dL', code: 'g/dL' },
    decimals: 1,
    range: (sex, age) => {
      if (age < 1) return { low: 9.5, high: 13.5 };
      if (age < 6) return { low: 11.0, high: 14.0 };
      if (age < 13) return { low: 11.5, high: 15.5 };
      if (age < 18) return sex === 'male' ? { low: 13.0, high: 16.0 } : { low: 12.0, high: 16.0 };
      return sex === 'male' ? { low: 13.5, high: 17.5 } : { low: 12.0, high: 15.5 };
    },
    critical: { low: 7.0, high: 20.0 },
  },
  wbc: {
    code: { loinc: '6690-2', display: 'Leukocytes [#/volume] in Blood by Automated count', text: 'White blood cell count' },
    unit: THOUSAND_PER_UL,
    decimals: 1,
    range: (_sex, age) => (age < 13 ? { low: 5.0, high: 14.5 } : { low: 4.5, high: 11.0 }),
    critical: { low: 2.0, high: 30.0 },
  },
  platelets: {
    code: { loinc: '777-3', display: 'Platelets [#/volume] in Blood by Automated count', text: 'Platelet count' },
    unit: THOUSAND_PER_UL,
    decimals: 0,
    range: (_sex, age) => (age < 13 ? { low: 150, high: 450 } : { low: 150, high: 400 }),
    critical: { low: 50, high: 1000 },
  },
  glucose: {
    code: { loinc: '2345-7', display: 'Glucose [Mass/volume] in Serum or Plasma', text: 'Glucose' },
    unit: MG_DL,
    decimals: 0,
    range: () => ({ low: 70, high: 99 }),
    critical: { low: 50, high: 400 },
  },
  sodium: {
    code: { loinc: '2951-2', display: 'Sodium [Moles/volume] in Serum or Plasma', text: 'Sodium' },
    unit: MMOL_L,
    decimals: 0,
    range: () => ({ low: 136, high: 145 }),
    critical: { low: 120, high: 160 },
  },
  potassium: {
    code: { loinc: '2823-3', display: 'Potassium [Moles/volume] in Serum or Plasma', text: 'Potassium' },
    unit: MMOL_L,
    decimals: 1,
    range: (_sex, age) => (age < 18 ? { low: 3.4, high: 4.7 } : { low: 3.5, high: 5.1 }),
    critical: { low: 2.8, high: 6.2 },
  },
  creatinine: {
    code: { loinc: '2160-0', display: 'Creatinine [Mass/volume] in Serum or Plasma', text: 'Creatinine' },
    unit: MG_DL,
    decimals: 2,
    range: (sex, age) => {
      if (age < 13) return { low: 0.3, high: 0.7 };
      if (age < 18) return { low: 0.5, high: 1.0 };
      return sex === 'male' ? { low: 0.74, high: 1.35 } : { low: 0.59, high: 1.04 };
    },
  },
  bun: {
    code: { loinc: '3094-0', display: 'Urea nitrogen [Mass/volume] in Serum or Plasma', text: 'BUN' },
    unit: MG_DL,
    decimals: 0,
    range: (_sex, age) => (age < 18 ? { low: 5, high: 18 } : { low: 6, high: 20 }),
  },
  egfr: {
    code: {
      loinc: '62238-1',
      display: 'Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI)',
      text: 'eGFR',
    },
    unit: { unit: 'mL/min/1.73m2', code: 'mL/min/{1.73_m2}' },
    decimals: 0,
    range: () => ({ low: 60 }),
  },
  cholesterol: {
    code: { loinc: '2093-3', display: 'Cholesterol [Mass/volume] in Serum or Plasma', text: 'Total cholesterol' },
    unit: MG_DL,
    decimals: 0,
    range: (_sex, age) => ({ high: age < 20 ? 170 : 200 }),
  },
  ldl: {
    code: { loinc: '18262-6', display: 'Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay', text: 'LDL cholesterol' },
    unit: MG_DL,
    decimals: 0,
    range: (_sex, age) => ({ high: age < 20 ? 110 : 100 }),
  },
  hdl: {
    code: { loinc: '2085-9', display: 'Cholesterol in HDL [Mass/volume] in Serum or Plasma', text: 'HDL cholesterol' },
    unit: MG_DL,
    decimals: 0,
    range: (sex, age) => ({ low: age < 20 ? 45 : sex === 'male' ? 40 : 50 }),
  },
  triglycerides: {
    code: { loinc: '2571-8', display: 'Triglyceride [Mass/volume] in Serum or Plasma', text: 'Triglycerides' },
    unit: MG_DL,
    decimals: 0,
    range: (_sex, age) => ({ high: age < 10 ? 75 : age < 20 ? 90 : 150 }),
  },
  a1c: {
    code: { loinc: '4548-4', display: 'Hemoglobin A1c/Hemoglobin.total in Blood', text: 'Hemoglobin A1c' },
    unit: { unit: '%', code: '%' },
    decimals: 1,
    range: () => ({ low: 4.0, high: 5.6 }),
  },
  tsh: {
    code: { loinc: '3016-3', display: 'Thyrotropin [Units/volume] in Serum or Plasma', text: 'TSH' },
    unit: { unit: 'mIU/L', code: 'm[IU]/L' },
    decimals: 2,
    range: (_sex, age) => (age < 13 ? { low: 0.7, high: 6.0 } : { low: 0.45, high: 4.5 }),
  },
};

/** Personal set points, drawn once per patient so serial results cluster around the same value. */
export function drawLabBaseline(rng: Random, sex: Sex, hasHyperlipidemia: boolean): LabBaseline {
  return {
    ldl: hasHyperlipidemia ? rng.clampedNormal(172, 14, 150, 210) : rng.clampedNormal(108, 22, 60, 150),
    hdl: sex === 'male' ? rng.clampedNormal(47, 8, 32, 70) : rng.clampedNormal(58, 10, 38, 85),
    triglycerides: Math.exp(rng.normal(Math.log(hasHyperlipidemia ? 170 : 105), 0.3)),
    tsh: Math.exp(rng.normal(Math.log(1.7), 0.35)),
    hemoglobinOffset: rng.normal(0, 0.6),
    creatinineOffset: rng.normal(0, 0.08),
    a1c: rng.clampedNormal(5.25, 0.2, 4.7, 5.6),
  };
}

const BACTERIAL: ReadonlySet<SickReason> = new Set(['otitis-media', 'sinusitis', 'pharyngitis', 'acute-bronchitis']);

/** CKD-EPI 2021 (race-free) creatinine equation. */
export function ckdEpi2021(creatinine: number, age: number, sex: Sex): number {
  const kappa = sex === 'female' ? 0.7 : 0.9;
  const alpha = sex === 'female' ? -0.241 : -0.302;
  const ratio = creatinine / kappa;
  const sexFactor = sex === 'female' ? 1.012 : 1;
  return 142 * Math.min(ratio, 1) ** alpha * Math.max(ratio, 1) ** -1.2 * 0.9938 ** age * sexFactor;
}

function creatinineForEgfr(egfr: number, age: number, sex: Sex): number {
  const kappa = sex === 'female' ? 0.7 : 0.9;
  const alpha = sex === 'female' ? -0.241 : -0.302;
  const scale = 142 * 0.9938 ** age * (sex === 'female' ? 1.012 : 1);
  const ratio = egfr / scale;
  // Above kappa the -1.2 branch applies; below it the alpha branch.
  const r = ratio <= 1 ? ratio ** (-1 / 1.2) : ratio ** (1 / alpha);
  return kappa * r;
}

interface Physiology {
  readonly profile: PatientProfile;
  readonly base: LabBaseline;
  readonly day: number;
  readonly age: number;
  readonly sick?: SickReason;
  readonly rng: Random;
}

function trueA1c(p: Physiology): number {
  const { profile, day, base, rng } = p;
  const dm = condition(profile, 'type2-diabetes');
  if (dm) {
    if (day < dm.onsetDay) {
      // Glycaemia creeps up for years before a type 2 diagnosis.
      const yearsBefore = (dm.onsetDay - day) / 365.25;
      return base.a1c + Math.max(0, 3.1 - 0.65 * yearsBefore) + rng.normal(0, 0.12);
    }
    const treated = daysTreated(profile, 'type2-diabetes', day);
    const peak = 8.7;
    if (treated === undefined) return peak + rng.normal(0, 0.3);
    const target = profile.targets.treatedA1c ?? 7.2;
    const reached = Math.min(1, treated / 150);
    const progression = (0.08 * treated) / 365; // slow loss of beta-cell function
    return peak + (target - peak) * reached + progression + rng.normal(0, 0.22);
  }
  const pre = condition(profile, 'prediabetes');
  if (pre) {
    if (day >= pre.onsetDay) return Math.min(6.4, Math.max(5.7, rng.normal(5.95, 0.17)));
    return Math.min(5.6, base.a1c + 0.25 + rng.normal(0, 0.1));
  }
  return base.a1c + (hasConditionOn(profile, 'obesity', day) ? 0.1 : 0) + rng.normal(0, 0.1);
}

function fastingGlucose(p: Physiology, a1c: number): number {
  const { rng, profile, day, sick } = p;
  let glucose: number;
  if (a1c < 5.7) {
    glucose = rng.normal(87, 6.5);
  } else {
    // Fasting glucose runs below the A1c-derived average glucose (ADAG: 28.7 × A1c − 46.7).
    glucose = 28.7 * a1c - 46.7 - 15 + rng.normal(0, a1c < 6.5 ? 8 : 12);
  }
  if (sick !== undefined && hasConditionOn(profile, 'type2-diabetes', day)) {
    // Illness and missed doses: occasionally a critically high reading.
    glucose += rng.chance(0.06) ? rng.float(260, 330) : rng.float(15, 80);
  }
  return Math.max(45, glucose);
}

/** Serum creatinine on a day; with CKD it follows a declining eGFR trajectory back through CKD-EPI. */
function trueCreatinine(p: Physiology): number {
  const { profile, age, day, base, rng } = p;
  if (age < 18) {
    return Math.max(0.15, 0.2 + 0.034 * age + base.creatinineOffset * 0.4 + rng.normal(0, 0.035));
  }
  const normal = (profile.sex === 'male' ? 0.95 : 0.74) + base.creatinineOffset + 0.003 * Math.max(0, age - 50) + rng.normal(0, 0.05);
  const ckd = condition(profile, 'ckd');
  if (!ckd) return Math.max(0.4, normal);
  const yearsBeforeAnchor = (ANCHOR_DAY - day) / 365.2425;
  const targetEgfr = (profile.targets.egfrAtAnchor ?? 42) + (profile.targets.egfrDeclinePerYear ?? 2) * yearsBeforeAnchor + rng.normal(0, 2.2);
  const fromTrajectory = creatinineForEgfr(Math.max(8, targetEgfr), age, profile.sex);
  return Math.max(normal, fromTrajectory);
}

function hemoglobin(p: Physiology, egfr: number | undefined): number {
  const { profile, age, day, base, rng } = p;
  let mean: number;
  if (age < 1) mean = 11.3;
  else if (age < 6) mean = 12.3;
  else if (age < 13) mean = 13.0;
  else if (age < 18) mean = profile.sex === 'male' ? 14.4 : 13.3;
  else mean = profile.sex === 'male' ? 15.1 - 0.03 * Math.max(0, age - 65) : 13.5;
  let hb = mean + base.hemoglobinOffset + rng.normal(0, 0.35);
  const ida = condition(profile, 'iron-deficiency-anemia');
  if (ida && day >= ida.onsetDay) {
    const treated = daysTreated(profile, 'iron-deficiency-anemia', day);
    const deficit = 3.1 * (treated === undefined ? 1 : Math.exp(-treated / 45));
    hb -= deficit;
  }
  if (egfr !== undefined && egfr < 50) hb -= 0.8 + (50 - egfr) * 0.07; // anaemia of CKD
  return Math.max(6.5, hb);
}

/** Builds one visit's lab panels, all collected together and resulted a few hours later. */
export function labResults(ctx: VisitContext, panels: readonly LabPanel[]): Observation[] {
  if (panels.length === 0) return [];
  const { profile, rng, age, visit, subject, encounter } = ctx;
  const p: Physiology = {
    profile,
    base: profile.labs,
    day: visit.day,
    age,
    rng,
    ...(visit.kind === 'sick' && visit.reason !== undefined ? { sick: visit.reason } : {}),
  };
  const collected = visit.minute + rng.int(10, 45);
  const effective = formatDateTime(visit.day, collected, profile.city.zone);
  const issued = formatDateTime(visit.day, collected + rng.int(95, 330), profile.city.zone);
  const values: [LabKey, number][] = [];

  const creatinine = trueCreatinine(p);
  const egfr = age >= 18 ? ckdEpi2021(creatinine, age, profile.sex) : undefined;
  let a1cToday: number | undefined;
  const a1c = (): number => (a1cToday ??= trueA1c(p));

  for (const panel of panels) {
    switch (panel) {
      case 'cbc': {
        const infected = p.sick !== undefined && BACTERIAL.has(p.sick);
        const wbcBase = age < 13 ? 8.2 : 6.8;
        const wbc = rng.normal(wbcBase, age < 13 ? 1.6 : 1.25) + (infected ? rng.float(2.5, 7) : 0) - (p.sick === 'influenza' ? 1.2 : 0);
        const ida = hasConditionOn(profile, 'iron-deficiency-anemia', visit.day) && daysTreated(profile, 'iron-deficiency-anemia', visit.day) === undefined;
        const platelets = rng.normal(age < 13 ? 300 : 255, 45) + (ida ? 110 : 0);
        values.push(['hemoglobin', hemoglobin(p, egfr)], ['wbc', Math.max(1.5, wbc)], ['platelets', Math.max(40, platelets)]);
        break;
      }
      case 'bmp': {
        const onAce = onDrugClass(profile, 'ace-inhibitor', visit.day) !== undefined;
        const onLoop = onDrugClass(profile, 'loop-diuretic', visit.day) !== undefined;
        let potassium = rng.normal(4.2, 0.27) + (onAce ? 0.15 : 0) + (egfr !== undefined && egfr < 45 ? 0.45 : 0) - (onLoop ? 0.2 : 0);
        if (egfr !== undefined && egfr < 45 && rng.chance(0.04)) potassium += 1.1; // the occasional critical value
        const sodium = rng.normal(139.5, 1.7) - (onLoop ? 1 : 0) - (p.sick === 'gastroenteritis' ? 2 : 0);
        const bunRatio = rng.normal(age >= 70 ? 17 : 15, 2.2) + (p.sick === 'gastroenteritis' ? 4 : 0);
        const bun = age < 18 ? rng.normal(11, 2.5) : creatinine * bunRatio;
        values.push(['glucose', fastingGlucose(p, a1c())], ['sodium', sodium], ['potassium', potassium], ['creatinine', creatinine], ['bun', Math.max(4, bun)]);
        if (egfr !== undefined) values.push(['egfr', egfr]);
        break;
      }
      case 'lipid': {
        const base = p.base;
        const statin = onDrugClass(profile, 'statin', visit.day);
        const statinFactor = statin === 'atorvastatin-40' ? 0.5 : statin === 'atorvastatin-20' ? 0.57 : 1;
        const diabetic = hasConditionOn(profile, 'type2-diabetes', visit.day);
        const child = age < 18;
        const ldl = (child ? 92 : base.ldl) * statinFactor + rng.normal(0, 7);
        const hdl = (child ? 53 : base.hdl) + (statin ? 2 : 0) - (diabetic ? 4 : 0) + rng.normal(0, 2.5);
        const tg = (child ? 68 : base.triglycerides) * (diabetic ? 1.35 : 1) * (statin ? 0.85 : 1) * Math.exp(rng.normal(0, 0.14));
        const l = round(ldl, 0);
        const h = round(hdl, 0);
        const t = round(tg, 0);
        // The lab reports total cholesterol consistent with its fractions (Friedewald: TC = LDL + HDL + TG/5).
        values.push(['cholesterol', l + h + Math.round(t / 5)], ['ldl', l], ['hdl', h], ['triglycerides', t]);
        break;
      }
      case 'a1c':
        values.push(['a1c', a1c()]);
        break;
      case 'tsh': {
        const hypo = condition(profile, 'hypothyroidism');
        let tsh = p.base.tsh * Math.exp(rng.normal(0, 0.2));
        if (hypo && visit.day >= hypo.onsetDay) {
          const treated = daysTreated(profile, 'hypothyroidism', visit.day);
          if (treated === undefined) tsh = 9.8 * Math.exp(rng.normal(0, 0.25));
          else if (treated < 60) tsh = 5.8 * Math.exp(rng.normal(0, 0.2));
          else tsh = (rng.chance(0.1) ? 5.1 : 2.0) * Math.exp(rng.normal(0, 0.3));
        } else if (hypo && hypo.onsetDay - visit.day < 540) {
          tsh = 5.2 * Math.exp(rng.normal(0, 0.15)); // subclinical before the diagnosis
        }
        values.push(['tsh', tsh]);
        break;
      }
    }
  }

  return values.map(([key, raw]) => {
    const def = LAB[key];
    const value = round(raw, def.decimals);
    return rangedObservation(
      { id: rng.uuid(), profile: PROFILE.lab, category: 'laboratory', code: def.code, subject, encounter, effective, issued },
      value,
      def.unit,
      def.range(profile.sex, age),
      def.critical,
    );
  });
}
