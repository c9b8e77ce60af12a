// What one Bulk Data export writes, decided once at kick-off (types, filters, patients, elements) and stored with the
// job as JSON, so a job taken over by another instance after a crash writes exactly what the first would have.
import type { Clause } from '../store/resource-query.js';

export interface ExportTypeSpec {
  readonly type: string;
  /** AND-ed: the token's constraints for the type and the _typeFilter searches (OR-ed among themselves) */
  readonly clauses: readonly Clause[];
  /** Top-level elements to keep (_elements); absent: whole resources */
  readonly elements?: readonly string[];
}

export interface ExportSpec {
  readonly types: readonly ExportTypeSpec[];
  /**
   * Whose resources: absent for a system export (everything of the types); 'any' for Patient/$export (every resource
   * in some patient's compartment); a list of patient ids for a Group's members or the `patient` parameter.
   */
  readonly patients?: 'any' | readonly string[];
  /** ms since epoch: only resources last updated after it (_since) */
  readonly since?: number;
  /** Lenient-mode notes on what was asked for and left out, written to the error file as OperationOutcomes */
  readonly warnings: readonly string[];
}

/** Where a running job is, for X-Progress; written with each heartbeat. */
export interface ExportProgress {
  readonly written: number;
  readonly type?: string;
  /** 1-based position of `type` among the job's types */
  readonly typeIndex?: number;
  readonly typeCount: number;
}

/** One finished NDJSON file of a job. */
export interface ExportFile {
  readonly name: string;
  readonly type: string;
  readonly kind: 'output' | 'error';
  readonly seq: number;
  readonly count: number;
  readonly bytes: number;
}

export const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED', display: 'subsetted' } as const;
