// Shared Observation plumbing: one place decides key order, rounding and how interpretation is
// derived from the reference range, so vitals, labs and social history cannot disagree.
import type { CodeableConcept, Observation, ObservationReferenceRange, Quantity, Reference } from 'fhir/r4.js';
import type { InterpretationCode, ObservationCategoryCode } from './terminology.js';
import { SYSTEM, interpretationConcept, observationCategory } from './terminology.js';

export interface ObservationCode {
  readonly loinc: string;
  readonly display: string;
  /** Short label a patient-facing app can show. */
  readonly text: string;
}

export interface ObservationEnvelope {
  readonly id: string;
  readonly profile: string;
  readonly category: ObservationCategoryCode;
  readonly code: ObservationCode;
  /** Extra codings that must travel with the primary one (pulse oximetry's 2708-6). */
  readonly alsoCodedAs?: readonly ObservationCode[];
  readonly subject: Reference;
  readonly encounter?: Reference;
  readonly effective: string;
  readonly issued?: string;
}

export interface Unit {
  /** Human-readable unit. */
  readonly unit: string;
  /** UCUM code. */
  readonly code: string;
}

export interface ValueRange {
  readonly low?: number;
  readonly high?: number;
}

/** Round half away from zero to `decimals` places, avoiding binary noise like 13.299999999. */
export function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

export function quantity(value: number, unit: Unit): Quantity {
  return { value, unit: unit.unit, system: SYSTEM.ucum, code: unit.code };
}

export function codeConcept(code: ObservationCode, alsoCodedAs: readonly ObservationCode[] = []): CodeableConcept {
  return {
    coding: [code, ...alsoCodedAs].map((c) => ({ system: SYSTEM.loinc, code: c.loinc, display: c.display })),
    text: code.text,
  };
}

function envelope(e: ObservationEnvelope): Observation {
  const obs: Observation = {
    resourceType: 'Observation',
    id: e.id,
    meta: { profile: [e.profile] },
    status: 'final',
    category: observationCategory(e.category),
    code: codeConcept(e.code, e.alsoCodedAs),
    subject: e.subject,
    ...(e.encounter !== undefined ? { encounter: e.encounter } : {}),
    effectiveDateTime: e.effective,
  };
  if (e.issued !== undefined) obs.issued = e.issued;
  return obs;
}

export function quantityObservation(e: ObservationEnvelope, value: number, unit: Unit): Observation {
  const obs = envelope(e);
  obs.valueQuantity = quantity(value, unit);
  return obs;
}

/** Value compared with its range; critical limits turn H/L into HH/LL. */
export function interpret(value: number, range: ValueRange, critical?: ValueRange): InterpretationCode {
  if (critical?.low !== undefined && value < critical.low) return 'LL';
  if (critical?.high !== undefined && value > critical.high) return 'HH';
  if (range.low !== undefined && value < range.low) return 'L';
  if (range.high !== undefined && value > range.high) return 'H';
  return 'N';
}

export function referenceRange(range: ValueRange, unit: Unit, text?: string): ObservationReferenceRange[] {
  const rr: ObservationReferenceRange = {};
  if (range.low !== undefined) rr.low = quantity(range.low, unit);
  if (range.high !== undefined) rr.high = quantity(range.high, unit);
  if (text !== undefined) rr.text = text;
  return [rr];
}

/** A lab-style result: value, range and an interpretation that always agrees with both. */
export function rangedObservation(
  e: ObservationEnvelope,
  value: number,
  unit: Unit,
  range: ValueRange,
  critical?: ValueRange,
): Observation {
  const obs = quantityObservation(e, value, unit);
  obs.interpretation = interpretationConcept(interpret(value, range, critical));
  obs.referenceRange = referenceRange(range, unit);
  return obs;
}

export function codedObservation(e: ObservationEnvelope, value: CodeableConcept): Observation {
  const obs = envelope(e);
  obs.valueCodeableConcept = value;
  return obs;
}

export interface Component {
  readonly code: ObservationCode;
  readonly value: number;
  readonly unit: Unit;
}

/** A panel such as blood pressure: the values live in components and there is no top-level value. */
export function componentObservation(e: ObservationEnvelope, components: readonly Component[]): Observation {
  const obs = envelope(e);
  obs.component = components.map((c) => ({ code: codeConcept(c.code), valueQuantity: quantity(c.value, c.unit) }));
  return obs;
}
