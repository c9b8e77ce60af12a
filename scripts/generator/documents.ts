// Clinical notes as DocumentReference (US Core 6.1): a history-and-physical for the first physical
// in the record and a progress note for the latest, written from what the record holds for that
// day (vital signs, problems, medications, allergies, labs drawn) as base64 text/plain.
import type { DocumentReference, MedicationStatement, Observation } from 'fhir/r4.js';
import { ALLERGENS } from './allergies.js';
import type { RecordContext, RecordedVisit } from './record-context.js';
import { stream } from './record-context.js';
import { PANELS } from './reports.js';
import { PROFILE, SYSTEM, coding, concept } from './terminology.js';
import { ageInYears, formatDateTime, isoFromDay } from './time.js';

const NOTE_TYPE = {
  progress: { code: '11506-3', display: 'Progress note', title: 'Progress note' },
  historyAndPhysical: { code: '34117-2', display: 'History and physical note', title: 'History and physical' },
} as const;

function value(observations: readonly Observation[], loinc: string): number | undefined {
  for (const o of observations) {
    if (o.code.coding?.[0]?.code === loinc && o.valueQuantity?.value !== undefined) return o.valueQuantity.value;
    const c = o.component?.find((x) => x.code.coding?.[0]?.code === loinc);
    if (c?.valueQuantity?.value !== undefined) return c.valueQuantity.value;
  }
  return undefined;
}

function vitalsLine(observations: readonly Observation[]): string {
  const parts: string[] = [];
  const sys = value(observations, '8480-6');
  const dia = value(observations, '8462-4');
  if (sys !== undefined && dia !== undefined) parts.push(`BP ${sys}/${dia} mmHg`);
  const hr = value(observations, '8867-4');
  if (hr !== undefined) parts.push(`HR ${hr}/min`);
  const temp = value(observations, '8310-5');
  if (temp !== undefined) parts.push(`T ${temp} °C`);
  const height = value(observations, '8302-2');
  if (height !== undefined) parts.push(`height ${height} cm`);
  const weight = value(observations, '29463-7');
  if (weight !== undefined) parts.push(`weight ${weight} kg`);
  const bmi = value(observations, '39156-5');
  if (bmi !== undefined) parts.push(`BMI ${bmi} kg/m2`);
  return parts.length > 0 ? `${parts.join(', ')}.` : 'not recorded.';
}

function noteText(ctx: RecordContext, v: RecordedVisit, kind: keyof typeof NOTE_TYPE, medications: readonly MedicationStatement[]): string {
  const { profile } = ctx;
  const day = v.visit.day;
  const age = ageInYears(profile.birthDay, day);
  const child = v.age < 18;
  const problems = [...ctx.problems.values()].filter((p) => p.plan.onsetDay <= day && (p.plan.abatementDay === undefined || p.plan.abatementDay > day));
  const meds = medications.filter((m) => {
    const start = m.effectivePeriod?.start ?? '';
    const end = m.effectivePeriod?.end;
    const iso = isoFromDay(day);
    return start <= iso && (end === undefined || end >= iso);
  });
  const allergies = profile.allergies.filter((a) => a.recordedDay <= day).map((a) => ALLERGENS[a.allergen].text);
  const labs = v.visit.labs.map((p) => PANELS[p].text);
  const title = child ? 'Well-child visit' : 'Annual preventive visit';
  const lines = [
    `${NOTE_TYPE[kind].title} - ${title.toLowerCase()}`,
    `Patient: ${profile.name.given.join(' ')} ${profile.name.family}, ${age}-year-old ${profile.sex} (MRN ${profile.mrn})`,
    `Date: ${formatDateTime(day, v.visit.minute, ctx.zone)}`,
    `Clinician: ${v.clinician.signature}, ${ctx.clinic.location.display ?? ''}`,
    '',
    `Reason for visit: ${kind === 'historyAndPhysical' ? `${title.toLowerCase()}; establishing care with this clinician` : title.toLowerCase()}.`,
    `Vital signs: ${vitalsLine(v.observations)}`,
    `Problem list: ${problems.length > 0 ? problems.map((p) => `${p.plan.label} (since ${isoFromDay(p.plan.onsetDay)})`).join('; ') : 'none'}.`,
    `Medications: ${meds.length > 0 ? meds.map((m) => `${m.medicationCodeableConcept?.text ?? 'medication'} - ${m.dosage?.[0]?.text ?? ''}`).join('; ') : 'none'}.`,
    `Allergies: ${allergies.length > 0 ? allergies.join('; ') : 'no known allergies'}.`,
    `Labs ordered today: ${labs.length > 0 ? labs.join(', ') : 'none'}.`,
    '',
    'Assessment and plan:',
    child ? '- Growing and developing well; growth parameters plotted. Anticipatory guidance given.' : '- Preventive care reviewed; age-appropriate screening and immunizations discussed.',
    ...problems.map((p) => `- ${p.plan.label}: ${medsFor(p.plan.key, meds) ? 'stable on current treatment; continue and recheck at follow-up' : 'lifestyle measures reviewed; recheck at follow-up'}.`),
    `- Return in ${child && v.age < 3 ? 'a few months for the next well-child visit' : '12 months'}, sooner as needed.`,
    '',
    `Electronically signed by ${v.clinician.signature}`,
    '',
  ];
  return lines.join('\n');
}

function medsFor(key: string, meds: readonly MedicationStatement[]): boolean {
  const byKey: Record<string, RegExp> = {
    'type2-diabetes': /metformin/i,
    hypertension: /lisinopril|amlodipine/i,
    hyperlipidemia: /atorvastatin/i,
    asthma: /albuterol|fluticasone/i,
    hypothyroidism: /levothyroxine/i,
    'iron-deficiency-anemia': /ferrous/i,
    ckd: /furosemide|lisinopril/i,
    'peanut-allergy': /epinephrine/i,
  };
  const pattern = byKey[key];
  return pattern !== undefined && meds.some((m) => pattern.test(m.medicationCodeableConcept?.text ?? ''));
}

/** Notes for the first and the latest physical in the record (one note when there is only one). */
export function visitNotes(ctx: RecordContext, medications: readonly MedicationStatement[]): DocumentReference[] {
  const physicals = ctx.visits.filter((v) => v.visit.kind === 'wellness');
  const first = physicals[0];
  const last = physicals[physicals.length - 1];
  const chosen: [RecordedVisit, keyof typeof NOTE_TYPE][] = [];
  if (first && first !== last) chosen.push([first, 'historyAndPhysical']);
  if (last) chosen.push([last, 'progress']);
  return chosen.map(([v, kind]) => {
    const rng = stream(ctx, 'visit-note', v.visit.key);
    const type = NOTE_TYPE[kind];
    const signed = formatDateTime(v.visit.day, v.endMinute + rng.int(20, 150), ctx.zone);
    const start = formatDateTime(v.visit.day, v.visit.minute, ctx.zone);
    const end = formatDateTime(v.visit.day, v.endMinute, ctx.zone);
    return {
      resourceType: 'DocumentReference',
      id: rng.uuid(),
      meta: { profile: [PROFILE.documentReference] },
      status: 'current',
      docStatus: 'final',
      type: concept(SYSTEM.loinc, type.code, type.display, type.title),
      category: [{ coding: [coding(SYSTEM.documentCategory, 'clinical-note', 'Clinical Note')] }],
      subject: ctx.subject,
      date: signed,
      author: [v.clinician.reference],
      authenticator: v.clinician.reference,
      custodian: ctx.practice.organization,
      content: [
        {
          attachment: { contentType: 'text/plain', language: 'en-US', data: Buffer.from(noteText(ctx, v, kind, medications), 'utf8').toString('base64'), title: type.title, creation: signed },
          format: coding(SYSTEM.documentFormat, 'urn:ihe:iti:xds:2017:mimeTypeSufficient', 'mimeType Sufficient'),
        },
      ],
      context: { encounter: [v.encounter], period: { start, end } },
    };
  });
}
