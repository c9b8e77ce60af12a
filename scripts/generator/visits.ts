// The visit schedule: well-child and annual visits, chronic-disease follow-ups with their lab
// draws, and sick visits. History is planned one year at a time backwards from the anchor; each
// year has its own random stream, so a longer history only adds older years and never changes
// the recent ones.
import type { LabPanel, Visit, VisitKind } from './visit.js';
import type { ConditionKey, PatientProfile, SickReason } from './profile.js';
import { hasConditionOn } from './profile.js';
import { Random } from './random.js';
import { ANCHOR_DAY, addYears, exactAge, weekday } from './time.js';
import { bodyAt } from './vitals.js';

interface PlannedOrRoutine {
  readonly visit: Visit;
  readonly planned: boolean;
}

/** Days of life of the AAP well-child visits through 30 months. */
const WELL_CHILD_DAYS = [4, 30, 61, 122, 183, 274, 365, 456, 548, 730, 913];

/** Latest visit day: leaves room for results issued hours later to stay before the anchor. */
const LAST_VISIT_DAY = ANCHOR_DAY - 3;

/** Shift a weekend day to the nearest weekday inside [lo, hi]. */
function clinicDay(day: number, lo: number, hi: number): number {
  const wd = weekday(day);
  let d = day;
  if (wd === 6) d = day - 1 > lo ? day - 1 : day + 2;
  else if (wd === 0) d = day + 1 <= hi ? day + 1 : day - 2;
  return Math.min(hi, Math.max(lo, d));
}

function clinicMinute(rng: Random, kind: VisitKind): number {
  // A 15-minute grid: booked visits 08:00-15:30, same-day sick slots until 16:30.
  const lastSlot = kind === 'sick' ? 34 : 30;
  return 480 + 15 * rng.int(0, lastSlot);
}

function sickReason(rng: Random, profile: PatientProfile, age: number, day: number): SickReason {
  const asthma = hasConditionOn(profile, 'asthma', day) ? 4 : 0;
  if (age < 6) {
    return rng.weighted<SickReason>([['viral-uri', 10], ['otitis-media', 8], ['gastroenteritis', 4], ['rash', 2], ['pharyngitis', 1], ['asthma-exacerbation', asthma], ['influenza', 1.5]]);
  }
  if (age < 18) {
    return rng.weighted<SickReason>([['viral-uri', 10], ['pharyngitis', 5], ['otitis-media', age < 10 ? 3 : 0.5], ['gastroenteritis', 3], ['rash', 1.5], ['asthma-exacerbation', asthma * 1.5], ['influenza', 2]]);
  }
  return rng.weighted<SickReason>([['viral-uri', 9], ['sinusitis', 5], ['acute-bronchitis', 4], ['pharyngitis', 3], ['back-pain', 4], ['gastroenteritis', 3], ['influenza', 2], ['rash', 1], ['asthma-exacerbation', asthma]]);
}

function sickVisitCount(rng: Random, age: number): number {
  if (age < 6) return rng.weighted([[0, 25], [1, 40], [2, 25], [3, 10]]);
  if (age < 18) return rng.weighted([[0, 35], [1, 40], [2, 20], [3, 5]]);
  return rng.weighted([[0, 50], [1, 35], [2, 12], [3, 3]]);
}

/** Follow-up visits a year: the most any active chronic condition calls for (they share visits). */
function followUpNeeds(profile: PatientProfile, day: number, rng: Random): number {
  const active = (key: ConditionKey): boolean => hasConditionOn(profile, key, day);
  let n = 0;
  if (active('type2-diabetes')) n = Math.max(n, rng.chance(0.25) ? 3 : 2);
  if (active('ckd')) n = Math.max(n, 2);
  if (active('hypertension')) n = Math.max(n, rng.chance(0.4) ? 2 : 1);
  if (active('hyperlipidemia') || active('hypothyroidism') || active('asthma')) n = Math.max(n, 1);
  if (active('iron-deficiency-anemia')) n = Math.max(n, 2);
  return n;
}

function followUpLabs(profile: PatientProfile, day: number, index: number): LabPanel[] {
  const active = (key: ConditionKey): boolean => hasConditionOn(profile, key, day);
  const labs = new Set<LabPanel>();
  // The annual visit already draws a metabolic panel (and lipids for cardiometabolic patients);
  // follow-ups add what the condition needs in between: HbA1c each diabetes visit (ADA: two to
  // four a year), kidney function at every CKD visit with a yearly blood count for anaemia, a
  // lipid check in the first year of a statin, thyroid and iron follow-up.
  if (active('type2-diabetes')) labs.add('a1c');
  if (active('ckd')) {
    labs.add('bmp');
    if (index === 0) labs.add('cbc');
  }
  const hld = profile.conditions.find((c) => c.key === 'hyperlipidemia');
  if (hld?.treatedFromDay !== undefined && index === 0 && day > hld.treatedFromDay && day - hld.treatedFromDay < 365) labs.add('lipid');
  if (active('hypothyroidism') && index === 0) labs.add('tsh');
  if (active('iron-deficiency-anemia')) labs.add('cbc');
  return ORDER.filter((p) => labs.has(p));
}

const ORDER: readonly LabPanel[] = ['cbc', 'bmp', 'lipid', 'a1c', 'tsh'];

function wellnessLabs(profile: PatientProfile, day: number, yearIndex: number, daysOld: number): LabPanel[] {
  const age = exactAge(profile.birthDay, day);
  if (age < 18) {
    if (daysOld === 365) return ['cbc']; // anaemia screen at the 12-month visit
    if (age >= 9.5 && age < 11) return ['lipid']; // universal lipid screen between 9 and 11
    return [];
  }
  const active = (key: ConditionKey): boolean => hasConditionOn(profile, key, day);
  const cardiometabolic = active('type2-diabetes') || active('hypertension') || active('hyperlipidemia') || active('ckd');
  const labs: LabPanel[] = ['cbc', 'bmp'];
  if (cardiometabolic || age >= 40 || (age >= 20 && yearIndex % 4 === 0)) labs.push('lipid');
  const overweight = bodyAt(profile, day).bmi >= 25;
  if (active('type2-diabetes') || active('prediabetes') || (age >= 35 && overweight && yearIndex % 3 === 0)) labs.push('a1c');
  if (active('hypothyroidism') || (profile.sex === 'female' && age >= 50 && yearIndex % 3 === 1)) labs.push('tsh');
  return labs;
}

function sickLabs(profile: PatientProfile, reason: SickReason, day: number, rng: Random): LabPanel[] {
  const labs: LabPanel[] = [];
  const systemic = reason === 'influenza' || reason === 'acute-bronchitis' || reason === 'pharyngitis' || reason === 'otitis-media' || reason === 'sinusitis';
  if (systemic && rng.chance(0.15)) labs.push('cbc');
  if (hasConditionOn(profile, 'type2-diabetes', day) && rng.chance(0.5)) labs.push('bmp');
  else if (reason === 'gastroenteritis' && exactAge(profile.birthDay, day) >= 18 && rng.chance(0.3)) labs.push('bmp');
  return labs;
}

/**
 * Visits in year `yearIndex` before the anchor (0 = the last twelve months), newest first.
 * Returns an empty list for years before birth.
 */
export function visitsForYear(profile: PatientProfile, yearIndex: number): Visit[] {
  const rng = Random.derive(...profile.seedParts, 'visits', yearIndex);
  const windowStart = addYears(ANCHOR_DAY, -(yearIndex + 1));
  const lo = Math.max(windowStart, profile.birthDay + 3);
  const hi = Math.min(addYears(ANCHOR_DAY, -yearIndex) - 1, LAST_VISIT_DAY);
  if (lo > hi) return [];
  const visits: PlannedOrRoutine[] = [];
  let seq = 0;
  const add = (day: number, kind: VisitKind, labs: LabPanel[], reason?: SickReason, planned = false): void => {
    const visitDay = clinicDay(day, lo, hi);
    const visit: Visit = { day: visitDay, minute: clinicMinute(rng, kind), kind, labs, key: `${yearIndex}.${seq++}`, ...(reason ? { reason } : {}) };
    visits.push({ visit, planned });
  };

  // Well-child visits on the AAP schedule, then one annual visit near the birthday.
  for (const daysOld of WELL_CHILD_DAYS) {
    const day = profile.birthDay + daysOld + (daysOld > 30 ? rng.int(0, 6) : 0);
    if (day >= lo && day <= hi) add(day, 'wellness', wellnessLabs(profile, day, yearIndex, daysOld));
  }
  const chronic = profile.conditions.some((c) => c.onsetDay <= hi && c.key !== 'obesity');
  const windowEnd = addYears(ANCHOR_DAY, -yearIndex);
  const firstYears = Math.max(3, Math.floor(exactAge(profile.birthDay, windowStart)));
  for (let years = firstYears; years <= firstYears + 1; years++) {
    const anniversary = addYears(profile.birthDay, years);
    if (anniversary < windowStart || anniversary >= windowEnd) continue;
    const day = Math.min(hi, Math.max(lo, anniversary + rng.int(-25, 55)));
    const skip = yearIndex > 0 && rng.chance(chronic ? 0.04 : years >= 18 ? 0.12 : 0.05);
    if (!skip) add(day, 'wellness', wellnessLabs(profile, day, yearIndex, -1));
  }

  const followUps = followUpNeeds(profile, hi, rng);
  const wellnessDays = visits.map((v) => v.visit.day);
  for (let i = 0; i < followUps; i++) {
    const span = hi - lo;
    let day = Math.min(hi, Math.max(lo, lo + Math.round(((i + 0.5) * span) / followUps) + rng.int(-20, 20)));
    // Nobody is booked for a follow-up a week after their annual physical.
    const nearWellness = wellnessDays.find((w) => Math.abs(w - day) < 30);
    if (nearWellness !== undefined) day = nearWellness + 45 <= hi ? nearWellness + 45 : Math.max(lo, nearWellness - 45);
    const labs = followUpLabs(profile, day, i);
    if (profile.conditions.some((c) => c.onsetDay <= day && c.key !== 'obesity' && c.key !== 'prediabetes')) add(day, 'follow-up', labs);
  }

  const sick = sickVisitCount(rng, exactAge(profile.birthDay, Math.round((lo + hi) / 2)));
  for (let i = 0; i < sick; i++) {
    const day = rng.int(lo, hi);
    const reason = sickReason(rng, profile, exactAge(profile.birthDay, day), day);
    add(day, 'sick', sickLabs(profile, reason, day, rng), reason);
  }
  for (const planned of profile.plannedVisits) {
    if (planned.day < lo || planned.day > hi) continue;
    const labs = planned.labs ? [...planned.labs] : planned.reason ? sickLabs(profile, planned.reason, planned.day, rng) : [];
    add(planned.day, planned.kind, labs, planned.reason, true);
  }

  return withoutRepeatTests(visits).sort((a, b) => b.day - a.day || b.minute - a.minute);
}

/** Minimum days between two draws of the same panel; HbA1c reflects about three months. */
const MIN_DAYS_BETWEEN: Record<LabPanel, number> = { a1c: 75, lipid: 42, tsh: 42, bmp: 21, cbc: 14 };

/**
 * Drops a panel from a routine visit when the same test was drawn shortly before, or is drawn
 * at a planned (diagnostic) visit close by — those keep their labs.
 */
function withoutRepeatTests(visits: readonly PlannedOrRoutine[]): Visit[] {
  const chronological = [...visits].sort((a, b) => a.visit.day - b.visit.day || a.visit.minute - b.visit.minute);
  const planned = chronological.filter((v) => v.planned);
  const lastDrawn = new Map<LabPanel, number>();
  return chronological.map(({ visit, planned: isPlanned }) => {
    const labs = visit.labs.filter((panel) => {
      if (isPlanned) return true;
      const gap = MIN_DAYS_BETWEEN[panel];
      const last = lastDrawn.get(panel);
      if (last !== undefined && visit.day - last < gap) return false;
      return !planned.some((p) => p.visit !== visit && p.visit.labs.includes(panel) && Math.abs(p.visit.day - visit.day) < gap);
    });
    for (const panel of labs) lastDrawn.set(panel, visit.day);
    return labs.length === visit.labs.length ? visit : { ...visit, labs };
  });
}

/**
 * Extra visits once a requested observation count outgrows the whole lifetime: follow-ups with
 * a full set of age-appropriate labs, spread over the patient's life.
 */
export function extraVisit(profile: PatientProfile, n: number): Visit {
  const rng = Random.derive(...profile.seedParts, 'extra-visits', n);
  const lo = profile.birthDay + 3;
  const hi = LAST_VISIT_DAY;
  const day = clinicDay(rng.int(lo, Math.max(lo, hi)), lo, Math.max(lo, hi));
  const age = exactAge(profile.birthDay, day);
  const labs: LabPanel[] = age >= 18 ? ['cbc', 'bmp', 'lipid', 'a1c', 'tsh'] : age >= 1 ? ['cbc', 'bmp'] : [];
  return { day, minute: clinicMinute(rng, 'follow-up'), kind: 'follow-up', labs, key: `extra.${n}` };
}
