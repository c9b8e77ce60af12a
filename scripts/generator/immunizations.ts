// Immunization history (US Core) following the US schedule of the day: the childhood series by
// age (with products that existed on the dose date — PCV7 before PCV13, HPV4 before HPV9), the
// adolescent platform, yearly influenza, the 2021 COVID-19 primary series and 2022 bivalent dose,
// and adult Td/Tdap, shingles and pneumococcal vaccines.
import type { Immunization, Reference } from 'fhir/r4.js';
import type { PatientProfile } from './profile.js';
import { Random } from './random.js';
import { PROFILE, SYSTEM, concept } from './terminology.js';
import { ANCHOR_DAY, addYears, calendar, dayFromIso, dayFromParts, exactAge, formatDateTime, toWeekday } from './time.js';

type Cvx = '03' | '08' | '10' | '20' | '21' | '33' | '49' | '62' | '83' | '100' | '113' | '114' | '115' | '116' | '133' | '136' | '140' | '150' | '165' | '187' | '208' | '216' | '300';

const VACCINE: Record<Cvx, { display: string; text: string }> = {
  '03': { display: 'MMR', text: 'MMR (measles, mumps, rubella)' },
  '08': { display: 'Hep B, adolescent or pediatric', text: 'Hepatitis B' },
  '10': { display: 'IPV', text: 'Polio (IPV)' },
  '20': { display: 'DTaP', text: 'DTaP' },
  '21': { display: 'varicella', text: 'Varicella (chickenpox)' },
  '33': { display: 'pneumococcal polysaccharide PPV23', text: 'Pneumococcal polysaccharide (PPSV23)' },
  '49': { display: 'Hib (PRP-OMP)', text: 'Hib' },
  '62': { display: 'HPV, quadrivalent', text: 'HPV' },
  '83': { display: 'Hep A, ped/adol, 2 dose', text: 'Hepatitis A' },
  '100': { display: 'pneumococcal conjugate PCV 7', text: 'Pneumococcal conjugate (PCV7)' },
  '113': { display: 'Td (adult) preservative free', text: 'Td' },
  '114': { display: 'meningococcal MCV4P', text: 'Meningococcal ACWY' },
  '115': { display: 'Tdap', text: 'Tdap' },
  '116': { display: 'rotavirus, pentavalent', text: 'Rotavirus' },
  '133': { display: 'Pneumococcal conjugate PCV 13', text: 'Pneumococcal conjugate (PCV13)' },
  '136': { display: 'Meningococcal MCV4O', text: 'Meningococcal ACWY' },
  '140': { display: 'Influenza, seasonal, injectable, preservative free', text: 'Influenza' },
  '150': { display: 'Influenza, injectable, quadrivalent, preservative free', text: 'Influenza' },
  '165': { display: 'HPV9', text: 'HPV' },
  '187': { display: 'zoster recombinant', text: 'Shingles (recombinant zoster)' },
  '208': { display: 'COVID-19, mRNA, LNP-S, PF, 30 mcg/0.3 mL dose', text: 'COVID-19 (Pfizer-BioNTech)' },
  '216': { display: 'Pneumococcal conjugate PCV20', text: 'Pneumococcal conjugate (PCV20)' },
  '300': { display: 'COVID-19, mRNA, LNP-S, bivalent, PF, 30 mcg/0.3 mL dose', text: 'COVID-19 bivalent booster' },
};

interface Dose {
  readonly cvx: Cvx;
  readonly day: number;
  readonly doseNumber?: number;
  readonly declined?: boolean;
}

const D = dayFromIso;

/** Which product a childhood dose would have been on a given date (undefined: not yet routine). */
type Product = (day: number) => Cvx | undefined;
const always = (cvx: Cvx): Product => () => cvx;
const since = (iso: string, cvx: Cvx): Product => (day) => (day >= D(iso) ? cvx : undefined);
const pneumococcal: Product = (day) => (day >= D('2010-03-01') ? '133' : day >= D('2000-02-01') ? '100' : undefined);
const hpv: Product = (day) => (day >= D('2016-01-01') ? '165' : day >= D('2006-07-01') ? '62' : undefined);
const menAcwy: Product = (day) => (day >= D('2022-01-01') ? '136' : day >= D('2005-02-01') ? '114' : undefined);

/** CDC childhood and adolescent schedule, as (product, age in days) per dose. */
const CHILD_SERIES: readonly { product: Product; ages: readonly number[] }[] = [
  { product: always('08'), ages: [0, 61, 183] },
  { product: since('2006-03-01', '116'), ages: [61, 122, 183] },
  { product: always('20'), ages: [61, 122, 183, 487, 1643] },
  { product: always('49'), ages: [61, 122, 365] },
  { product: pneumococcal, ages: [61, 122, 183, 365] },
  { product: always('10'), ages: [61, 122, 183, 1643] },
  { product: always('03'), ages: [365, 1643] },
  { product: since('1995-04-01', '21'), ages: [365, 1643] },
  { product: since('2006-06-01', '83'), ages: [365, 548] },
  { product: since('2005-07-01', '115'), ages: [4200] },
  { product: hpv, ages: [4200, 4420] },
  { product: menAcwy, ages: [4200, 5950] },
];

function influenzaProduct(seasonYear: number): Cvx {
  // Quadrivalent vaccines replaced trivalent from 2013-14 until the US returned to trivalent in 2024-25.
  return seasonYear >= 2013 && seasonYear <= 2023 ? '150' : '140';
}

function planDoses(profile: PatientProfile, rng: Random): Dose[] {
  const doses: Dose[] = [];
  const birth = profile.birthDay;
  const ageNow = exactAge(birth, ANCHOR_DAY);
  // Young patients' registries hold the whole childhood series; adults' charts only recent years.
  const recordsFrom = ageNow < 26 ? birth : addYears(ANCHOR_DAY, -Math.max(profile.historyYears, 6));
  const last = ANCHOR_DAY - 3;
  const push = (cvx: Cvx | undefined, day: number, doseNumber?: number, declined?: boolean): void => {
    if (cvx === undefined) return;
    const d = day === birth ? day : toWeekday(day);
    if (d < recordsFrom || d > last || d < birth) return;
    doses.push({ cvx, day: d, ...(doseNumber !== undefined ? { doseNumber } : {}), ...(declined ? { declined } : {}) });
  };

  for (const series of CHILD_SERIES) {
    series.ages.forEach((ageDays, i) => {
      const day = birth + ageDays + (ageDays === 0 ? 0 : rng.int(0, 12));
      if (rng.chance(profile.vaccines.missedDoseRate ?? 0.03)) return; // the occasional missed dose
      push(series.product(day), day, series.ages.length > 1 ? i + 1 : undefined);
    });
  }

  // Influenza, every season from six months of age.
  const firstSeason = calendar(Math.max(recordsFrom, birth + 183)).year - 1;
  for (let season = firstSeason; season <= calendar(last).year; season++) {
    const opens = dayFromParts(season, 9, 10);
    const day = opens + rng.int(0, 75);
    if (day < birth + 183 || day > last) continue;
    const age = exactAge(birth, day);
    if (season === profile.vaccines.declinedInfluenzaSeason) {
      push(influenzaProduct(season), day, undefined, true);
      continue;
    }
    const uptake = age < 18 ? Math.min(0.9, profile.vaccines.influenzaUptake + 0.1) : profile.vaccines.influenzaUptake;
    if (rng.chance(uptake)) push(influenzaProduct(season), day);
  }

  // COVID-19 (Pfizer-BioNTech 30 mcg): primary series in 2021 by eligibility, then a 2022 bivalent dose.
  const ageIn2021 = exactAge(birth, D('2021-06-01'));
  const covidChance = ageIn2021 >= 18 ? profile.vaccines.covidUptake : ageIn2021 >= 12 ? profile.vaccines.covidUptake * 0.7 : 0;
  if (rng.chance(covidChance)) {
    const first = ageIn2021 >= 65 ? D('2021-01-18') + rng.int(0, 45) : ageIn2021 >= 18 ? D('2021-03-15') + rng.int(0, 80) : D('2021-05-17') + rng.int(0, 100);
    push('208', first, 1);
    push('208', first + 21 + rng.int(0, 6), 2);
    if (rng.chance(0.45)) push('300', D('2022-09-12') + rng.int(0, 90));
  }

  if (ageNow >= 19) {
    // Adult tetanus boosters every ten years after the adolescent dose.
    for (let years = 21; years < ageNow; years += 10) {
      const day = addYears(birth, years) + rng.int(0, 500);
      if (day < recordsFrom || day > last || !rng.chance(0.75)) continue;
      const firstAdultBooster = !doses.some((d) => d.cvx === '115' || d.cvx === '113');
      push(firstAdultBooster && day >= D('2005-07-01') ? '115' : '113', day);
    }
    // Recombinant zoster (licensed late 2017) from 50: two doses two to six months apart.
    const zosterFrom = Math.max(addYears(birth, 50), D('2018-03-01'), recordsFrom);
    if (zosterFrom < last && rng.chance(0.45)) {
      const first = zosterFrom + rng.int(0, 700);
      push('187', first, 1);
      push('187', first + rng.int(60, 180), 2);
    }
    // Pneumococcal at 65: PCV20 once it was recommended (late 2021), PPSV23 before that.
    const at65 = Math.max(addYears(birth, 65), recordsFrom);
    if (at65 < last && rng.chance(0.65)) {
      const day = at65 + rng.int(0, 400);
      push(day >= D('2021-10-25') ? '216' : '33', day);
    }
  }
  return doses.sort((a, b) => a.day - b.day || a.cvx.localeCompare(b.cvx));
}

function lotNumber(rng: Random): string {
  return `${rng.alphanumeric(2, 'ABCDEFGHJKLMNPRSTUVWXYZ')}${rng.int(1000, 9999)}`;
}

export function immunizations(profile: PatientProfile, patient: Reference): Immunization[] {
  const rng = Random.derive(...profile.seedParts, 'immunizations');
  return planDoses(profile, rng).map((dose) => {
    const vaccine = VACCINE[dose.cvx];
    const minute = dose.day === profile.birthDay ? 600 + rng.int(0, 40) * 15 : 480 + rng.int(0, 32) * 15;
    const immunization: Immunization = {
      resourceType: 'Immunization',
      id: rng.uuid(),
      meta: { profile: [PROFILE.immunization] },
      status: dose.declined ? 'not-done' : 'completed',
      ...(dose.declined ? { statusReason: concept(SYSTEM.actReason, 'PATOBJ', 'patient objection', 'Patient declined') } : {}),
      vaccineCode: concept(SYSTEM.cvx, dose.cvx, vaccine.display, vaccine.text),
      patient,
      occurrenceDateTime: formatDateTime(dose.day, minute, profile.city.zone),
      primarySource: true,
      ...(dose.declined ? {} : { lotNumber: lotNumber(rng) }),
      ...(dose.doseNumber !== undefined ? { protocolApplied: [{ doseNumberPositiveInt: dose.doseNumber }] } : {}),
    };
    return immunization;
  });
}
