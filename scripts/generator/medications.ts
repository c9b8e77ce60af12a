// MedicationStatement resources: the chronic regimen (see regimen.ts) plus short courses started
// at sick visits — weight-based amoxicillin for a child's ear infection, azithromycin when the
// chart lists a penicillin allergy, a prednisone burst for an asthma flare.
import type { CodeableConcept, MedicationStatement, Reference } from 'fhir/r4.js';
import type { PatientProfile } from './profile.js';
import type { Random } from './random.js';
import type { DrugKey, MedicationCourse, Route } from './regimen.js';
import { DRUGS } from './regimen.js';
import { PROFILE, SYSTEM, concept, diagnosisConcept } from './terminology.js';
import type { DiagnosisKey } from './terminology.js';
import { ANCHOR_DAY, exactAge, formatDateTime, isoFromDay } from './time.js';
import type { TimeZoneKey } from './time.js';
import type { Visit } from './visit.js';
import { bodyAt } from './vitals.js';

const ROUTE: Record<Route, CodeableConcept> = {
  oral: concept(SYSTEM.snomed, '26643006', 'Oral route'),
  inhaled: concept(SYSTEM.snomed, '447694001', 'Respiratory tract route'),
  intramuscular: concept(SYSTEM.snomed, '78421000', 'Intramuscular route'),
};

function hasActivePenicillinAllergy(profile: PatientProfile, day: number): boolean {
  return profile.allergies.some((a) => a.allergen === 'penicillin' && a.clinicalStatus === 'active' && a.recordedDay <= day);
}

function course(drug: DrugKey, startDay: number, days: number, reason: DiagnosisKey, dosage: string): MedicationCourse {
  const endDay = startDay + days - 1;
  // A course still running at the anchor date is active, with its planned end.
  return endDay < ANCHOR_DAY
    ? { drug, startDay, endDay, status: 'completed', reason, dosage }
    : { drug, startDay, endDay, status: 'active', reason, dosage };
}

/** Liquid amoxicillin for a child: mg/kg per dose, rounded to a measurable half millilitre. */
function amoxicillinSuspension(weightKg: number, mgPerKgPerDose: number, maxMg: number, perDay: 'twice daily' | 'once daily', days: number): string {
  const mg = Math.min(maxMg, mgPerKgPerDose * weightKg);
  const ml = Math.max(1, Math.round((mg / 80) * 2) / 2);
  return `Take ${ml} mL (${Math.round(ml * 80)} mg) by mouth ${perDay} for ${days} days`;
}

const AZITHROMYCIN_Z_PACK = 'Take 2 tablets by mouth on day 1, then 1 tablet once daily on days 2 through 5';

/** The prescription, if any, written at a sick visit. */
export function episodeCourse(profile: PatientProfile, visit: Visit, rng: Random): MedicationCourse | undefined {
  if (visit.kind !== 'sick' || visit.reason === undefined) return undefined;
  const age = exactAge(profile.birthDay, visit.day);
  const weight = bodyAt(profile, visit.day).weightKg;
  const allergic = hasActivePenicillinAllergy(profile, visit.day);
  const liquid = age < 10 && weight < 35;
  switch (visit.reason) {
    case 'otitis-media': {
      if (allergic) return undefined;
      if (age < 12) {
        const days = age < 2 ? 10 : age < 6 ? 7 : 5;
        return course('amoxicillin-suspension', visit.day, days, 'otitisMedia', amoxicillinSuspension(weight, 45, 2000, 'twice daily', days));
      }
      return course('amoxicillin-500', visit.day, 7, 'otitisMedia', 'Take 1 capsule by mouth three times daily for 7 days');
    }
    case 'pharyngitis': {
      if (!rng.chance(0.35)) return undefined; // most sore throats are viral; treat a positive strep test
      if (allergic) return age >= 12 ? course('azithromycin-250', visit.day, 5, 'strepPharyngitis', AZITHROMYCIN_Z_PACK) : undefined;
      if (liquid) return course('amoxicillin-suspension', visit.day, 10, 'strepPharyngitis', amoxicillinSuspension(weight, 50, 1000, 'once daily', 10));
      return course('amoxicillin-500', visit.day, 10, 'strepPharyngitis', 'Take 1 capsule by mouth twice daily for 10 days');
    }
    case 'sinusitis': {
      if (age < 12 || !rng.chance(0.5)) return undefined;
      if (allergic) return course('azithromycin-250', visit.day, 5, 'acuteSinusitis', AZITHROMYCIN_Z_PACK);
      return course('amoxicillin-500', visit.day, 7, 'acuteSinusitis', 'Take 1 capsule by mouth three times daily for 7 days');
    }
    case 'acute-bronchitis':
      return age >= 12 && rng.chance(0.2) ? course('azithromycin-250', visit.day, 5, 'acuteBronchitis', AZITHROMYCIN_Z_PACK) : undefined;
    case 'asthma-exacerbation': {
      if (age < 6) return undefined;
      const dose = age < 12 ? 'Take 1 tablet (20 mg) by mouth once daily with food for 5 days' : 'Take 2 tablets (40 mg) by mouth once daily with food for 5 days';
      return course('prednisone-20', visit.day, 5, 'asthma', dose);
    }
    default:
      return undefined;
  }
}

export function medicationStatement(
  c: MedicationCourse,
  id: string,
  subject: Reference,
  zone: TimeZoneKey,
  asserted: { day: number; minute: number },
): MedicationStatement {
  const drug = DRUGS[c.drug];
  return {
    resourceType: 'MedicationStatement',
    id,
    meta: { profile: [PROFILE.medicationStatement] },
    status: c.status,
    ...(c.statusReason !== undefined ? { statusReason: [{ text: c.statusReason }] } : {}),
    category: concept(SYSTEM.medicationStatementCategory, 'community', 'Community'),
    medicationCodeableConcept: concept(SYSTEM.rxnorm, drug.rxnorm, drug.display, drug.text),
    subject,
    effectivePeriod: c.endDay === undefined ? { start: isoFromDay(c.startDay) } : { start: isoFromDay(c.startDay), end: isoFromDay(c.endDay) },
    dateAsserted: formatDateTime(asserted.day, asserted.minute, zone),
    reasonCode: [diagnosisConcept(c.reason)],
    dosage: [{ text: c.dosage, ...(c.asNeeded ? { asNeededBoolean: true } : {}), route: ROUTE[drug.route] }],
  };
}
