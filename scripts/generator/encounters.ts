// Encounter resources (US Core 6.1): one ambulatory encounter per visit the schedule produces,
// typed by the kind of visit, seen by the patient's clinician at their city's clinic.
import type { CodeableConcept, Encounter, Reference } from 'fhir/r4.js';
import type { Clinician } from './practice.js';
import { PROFILE, SYSTEM, concept, coding } from './terminology.js';
import { formatDateTime } from './time.js';
import type { TimeZoneKey } from './time.js';
import type { Visit } from './visit.js';

/** SNOMED CT encounter types: well-child and adult physicals differ; the rest by purpose. */
export function encounterType(visit: Visit, age: number): CodeableConcept {
  switch (visit.kind) {
    case 'wellness':
      return age < 18 ? concept(SYSTEM.snomed, '410620009', 'Well child visit', 'Well-child visit') : concept(SYSTEM.snomed, '162673000', 'General examination of patient', 'Annual physical');
    case 'follow-up':
      return concept(SYSTEM.snomed, '390906007', 'Follow-up encounter', 'Follow-up visit');
    case 'sick':
      return concept(SYSTEM.snomed, '185345009', 'Encounter for symptom', 'Sick visit');
  }
}

/** How long the visit lasts in minutes: physicals are longest, and a lab draw keeps the patient a while. */
export function visitLength(visit: Visit, drawMinutes: number): number {
  const base = visit.kind === 'wellness' ? 40 : visit.kind === 'follow-up' ? 25 : 20;
  return Math.max(base, visit.labs.length > 0 ? drawMinutes + 5 : 0);
}

export interface EncounterParts {
  readonly id: string;
  readonly visit: Visit;
  readonly age: number;
  readonly endMinute: number;
  readonly subject: Reference;
  readonly zone: TimeZoneKey;
  readonly identifierValue: string;
  readonly clinician: Clinician;
  readonly location: Reference;
  readonly serviceProvider: Reference;
  /** Conditions that brought the patient in (the sick visit's diagnosis, the chronic problems followed up). */
  readonly reasons: readonly Reference[];
  /** Diagnoses made at this visit. */
  readonly diagnoses: readonly Reference[];
}

export function encounterResource(p: EncounterParts): Encounter {
  const start = formatDateTime(p.visit.day, p.visit.minute, p.zone);
  const end = formatDateTime(p.visit.day, p.endMinute, p.zone);
  return {
    resourceType: 'Encounter',
    id: p.id,
    meta: { profile: [PROFILE.encounter] },
    identifier: [{ use: 'usual', system: SYSTEM.encounterNumber, value: p.identifierValue }],
    status: 'finished',
    class: coding(SYSTEM.actCode, 'AMB', 'ambulatory'),
    type: [encounterType(p.visit, p.age)],
    subject: p.subject,
    participant: [
      {
        type: [concept(SYSTEM.participationType, 'PPRF', 'primary performer')],
        period: { start, end },
        individual: p.clinician.reference,
      },
    ],
    period: { start, end },
    ...(p.reasons.length > 0 ? { reasonReference: [...p.reasons] } : {}),
    ...(p.diagnoses.length > 0 ? { diagnosis: p.diagnoses.map((condition, i) => ({ condition, rank: i + 1 })) } : {}),
    location: [{ location: p.location, status: 'completed', period: { start, end } }],
    serviceProvider: p.serviceProvider,
  };
}
