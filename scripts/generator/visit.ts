// What a single encounter looks like to the observation builders.
import type { Reference } from 'fhir/r4.js';
import type { PatientProfile, SickReason } from './profile.js';
import type { Random } from './random.js';

export type VisitKind = 'wellness' | 'follow-up' | 'sick';

export type LabPanel = 'cbc' | 'bmp' | 'lipid' | 'a1c' | 'tsh';

export interface Visit {
  readonly day: number;
  /** Local minutes after midnight at check-in. */
  readonly minute: number;
  readonly kind: VisitKind;
  readonly reason?: SickReason;
  readonly labs: readonly LabPanel[];
  /** Stable key for this visit's random stream. */
  readonly key: string;
}

export interface VisitContext {
  readonly profile: PatientProfile;
  readonly subject: Reference;
  /** The Encounter this visit is recorded as; every Observation of the visit points at it. */
  readonly encounter: Reference;
  readonly visit: Visit;
  readonly rng: Random;
  /** Exact age in years on the visit day. */
  readonly age: number;
  /** Check-in time as a FHIR dateTime with offset. */
  readonly effective: string;
}
