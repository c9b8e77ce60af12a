// What the per-patient resource builders share: the visits as recorded (with their Encounter),
// the problem list, the practice, and a way to get a deterministic random stream of their own.
import type { Observation, Reference } from 'fhir/r4.js';
import type { ProblemKey, ProblemPlan } from './conditions.js';
import type { Clinic, Clinician, Practice } from './practice.js';
import type { PatientProfile } from './profile.js';
import { Random } from './random.js';
import type { SeedPart } from './random.js';
import type { TimeZoneKey } from './time.js';
import type { Visit } from './visit.js';

export interface RecordedVisit {
  readonly visit: Visit;
  readonly observations: Observation[];
  readonly encounterId: string;
  readonly encounter: Reference;
  /** This visit's stream for the resources recorded at it (diagnosis, lab reports), drawn in a fixed order. */
  readonly rng: Random;
  readonly clinician: Clinician;
  /** Exact age on the visit day. */
  readonly age: number;
  /** Local minute of day the visit ended. */
  readonly endMinute: number;
}

export interface Problem {
  readonly plan: ProblemPlan;
  readonly reference: Reference;
}

export interface RecordContext {
  readonly profile: PatientProfile;
  readonly subject: Reference;
  readonly zone: TimeZoneKey;
  /** Visits in chronological order. */
  readonly visits: readonly RecordedVisit[];
  readonly practice: Practice;
  readonly clinic: Clinic;
  readonly problems: ReadonlyMap<ProblemKey, Problem>;
}

/** A stream of its own for one part of a patient's record, so adding draws elsewhere never shifts it. */
export function stream(ctx: { readonly profile: PatientProfile }, ...parts: SeedPart[]): Random {
  return Random.derive(...ctx.profile.seedParts, ...parts);
}

/** The latest visit in [from, to] (inclusive days), if any. */
export function latestVisitBetween(visits: readonly RecordedVisit[], from: number, to: number): RecordedVisit | undefined {
  for (let i = visits.length - 1; i >= 0; i--) {
    const v = visits[i];
    if (v && v.visit.day >= from && v.visit.day <= to) return v;
  }
  return undefined;
}

/** The value of the latest Observation with this LOINC code (or component code) in the visits, if any. */
export function latestValue(visits: readonly RecordedVisit[], loinc: string): number | undefined {
  for (let i = visits.length - 1; i >= 0; i--) {
    const v = visits[i];
    if (!v) continue;
    for (const o of v.observations) {
      if (o.code.coding?.[0]?.code === loinc && o.valueQuantity?.value !== undefined) return o.valueQuantity.value;
      const component = o.component?.find((c) => c.code.coding?.[0]?.code === loinc);
      if (component?.valueQuantity?.value !== undefined) return component.valueQuantity.value;
    }
  }
  return undefined;
}
