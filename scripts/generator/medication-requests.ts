// MedicationRequest (the prescription behind each medication course the MedicationStatements
// describe) and MedicationDispense (the latest pharmacy fill of a chronic drug). The structured
// timing is read from the course's sig, which comes from a small fixed set of phrasings; an
// unknown phrasing stops the generator rather than emitting a prescription without a schedule.
import type { CodeableConcept, Dosage, MedicationDispense, MedicationRequest, Reference, Timing } from 'fhir/r4.js';
import type { MedicationCourse, Route } from './regimen.js';
import { DRUGS } from './regimen.js';
import { PROFILE, SYSTEM, concept } from './terminology.js';
import { formatDateTime, isoFromDay } from './time.js';
import type { TimeZoneKey } from './time.js';

const ROUTE: Record<Route, CodeableConcept> = {
  oral: concept(SYSTEM.snomed, '26643006', 'Oral route'),
  inhaled: concept(SYSTEM.snomed, '447694001', 'Respiratory tract route'),
  intramuscular: concept(SYSTEM.snomed, '78421000', 'Intramuscular route'),
};

/** Timing.repeat for a sig, plus how many doses a day it means (for dispense quantities). */
export function sigTiming(sig: string): { repeat: NonNullable<Timing['repeat']>; perDay: number } {
  if (/every 4 to 6 hours/.test(sig)) return { repeat: { frequency: 1, period: 4, periodMax: 6, periodUnit: 'h' }, perDay: 4 };
  if (/once as needed/.test(sig)) return { repeat: { count: 1 }, perDay: 0 };
  if (/three times daily/.test(sig)) return { repeat: { frequency: 3, period: 1, periodUnit: 'd' }, perDay: 3 };
  if (/twice daily/.test(sig)) return { repeat: { frequency: 2, period: 1, periodUnit: 'd' }, perDay: 2 };
  if (/at bedtime/.test(sig)) return { repeat: { frequency: 1, period: 1, periodUnit: 'd', when: ['HS'] }, perDay: 1 };
  if (/every morning|in the morning/.test(sig)) return { repeat: { frequency: 1, period: 1, periodUnit: 'd', when: ['MORN'] }, perDay: 1 };
  if (/once daily/.test(sig)) return { repeat: { frequency: 1, period: 1, periodUnit: 'd' }, perDay: 1 };
  throw new Error(`No timing known for the sig "${sig}"`);
}

function dosage(course: MedicationCourse): Dosage {
  const { repeat } = sigTiming(course.dosage);
  const bounds = course.endDay === undefined ? { start: isoFromDay(course.startDay) } : { start: isoFromDay(course.startDay), end: isoFromDay(course.endDay) };
  return {
    sequence: 1,
    text: course.dosage,
    timing: { repeat: { boundsPeriod: bounds, ...repeat } },
    ...(course.asNeeded ? { asNeededBoolean: true } : {}),
    route: ROUTE[DRUGS[course.drug].route],
  };
}

export interface PrescriptionContext {
  readonly id: string;
  readonly subject: Reference;
  readonly zone: TimeZoneKey;
  readonly authored: { readonly day: number; readonly minute: number };
  readonly encounter?: Reference;
  readonly requester: Reference;
  readonly reason: Reference;
  /** Set when the drug is prescribed by reference to a shared Medication resource. */
  readonly medication?: Reference;
}

export function medicationRequest(course: MedicationCourse, ctx: PrescriptionContext): MedicationRequest {
  const drug = DRUGS[course.drug];
  return {
    resourceType: 'MedicationRequest',
    id: ctx.id,
    meta: { profile: [PROFILE.medicationRequest] },
    status: course.status,
    ...(course.statusReason !== undefined ? { statusReason: { text: course.statusReason } } : {}),
    intent: 'order',
    category: [concept(SYSTEM.medicationRequestCategory, 'community', 'Community')],
    ...(ctx.medication ? { medicationReference: ctx.medication } : { medicationCodeableConcept: concept(SYSTEM.rxnorm, drug.rxnorm, drug.display, drug.text) }),
    subject: ctx.subject,
    ...(ctx.encounter ? { encounter: ctx.encounter } : {}),
    authoredOn: formatDateTime(ctx.authored.day, ctx.authored.minute, ctx.zone),
    requester: ctx.requester,
    reasonReference: [ctx.reason],
    dosageInstruction: [dosage(course)],
  };
}

export interface DispenseContext {
  readonly id: string;
  readonly subject: Reference;
  readonly zone: TimeZoneKey;
  readonly prescription: Reference;
  readonly medication: Reference;
  readonly pharmacy: Reference;
  readonly handedOver: { readonly day: number; readonly minute: number };
  readonly daysSupply: number;
}

/** A 90-day refill of a tablet taken on a fixed schedule. */
export function medicationDispense(course: MedicationCourse, ctx: DispenseContext): MedicationDispense {
  const { perDay } = sigTiming(course.dosage);
  const tablets = Math.max(1, perDay) * ctx.daysSupply;
  return {
    resourceType: 'MedicationDispense',
    id: ctx.id,
    meta: { profile: [PROFILE.medicationDispense] },
    status: 'completed',
    medicationReference: ctx.medication,
    subject: ctx.subject,
    performer: [{ actor: ctx.pharmacy }],
    authorizingPrescription: [ctx.prescription],
    type: concept(SYSTEM.actCode, 'RF', 'Refill'),
    quantity: { value: tablets, unit: 'tablet', system: SYSTEM.ucum, code: '{tbl}' },
    daysSupply: { value: ctx.daysSupply, unit: 'days', system: SYSTEM.ucum, code: 'd' },
    whenPrepared: formatDateTime(ctx.handedOver.day, ctx.handedOver.minute - 60, ctx.zone),
    whenHandedOver: formatDateTime(ctx.handedOver.day, ctx.handedOver.minute, ctx.zone),
    dosageInstruction: [dosage(course)],
  };
}
