// The one FHIR error helper: FhirError carries an HTTP status and OperationOutcome issues; the plugin's error
// handler serialises it. Nothing else builds OperationOutcome bodies.
import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4.js';

export type IssueSeverity = OperationOutcomeIssue['severity'];
export type IssueCode = OperationOutcomeIssue['code'];

export interface Issue {
  readonly severity: IssueSeverity;
  readonly code: IssueCode;
  readonly diagnostics: string;
  /** FHIRPath-ish location, e.g. Observation.status, or the search parameter name */
  readonly expression?: readonly string[];
}

export class FhirError extends Error {
  constructor(
    readonly status: number,
    readonly issues: readonly Issue[],
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(issues.map((i) => i.diagnostics).join('; '));
    this.name = 'FhirError';
  }
}

const error = (status: number, code: IssueCode, diagnostics: string, expression?: readonly string[]) =>
  new FhirError(status, [{ severity: 'error', code, diagnostics, ...(expression ? { expression } : {}) }]);

export const notFound = (diagnostics: string) => error(404, 'not-found', diagnostics);
/** The token does not allow the request; `diagnostics` names the scope needed and the scopes held. */
export const forbidden = (diagnostics: string) => error(403, 'forbidden', diagnostics);
export const gone = (diagnostics: string) => error(410, 'deleted', diagnostics);
export const badRequest = (diagnostics: string, expression?: readonly string[]) => error(400, 'invalid', diagnostics, expression);
export const badSearchParam = (param: string, diagnostics: string) => error(400, 'invalid', diagnostics, [param]);
export const unprocessable = (issues: readonly Issue[]) => new FhirError(422, issues);
export const preconditionFailed = (diagnostics: string) => error(412, 'conflict', diagnostics);
export const conflict = (diagnostics: string) => error(409, 'conflict', diagnostics);
export const notSupported = (status: number, diagnostics: string) => error(status, 'not-supported', diagnostics);
export const unsupportedMediaType = (diagnostics: string) => error(415, 'not-supported', diagnostics);
export const notAcceptable = (diagnostics: string) => error(406, 'not-supported', diagnostics);
/** Something the server depends on (the database, the audit trail) is unavailable for now: a 503 asking to retry. */
export const unavailable = (diagnostics: string, retryAfterSeconds = 1) =>
  new FhirError(503, [{ severity: 'error', code: 'transient', diagnostics }], { 'Retry-After': String(retryAfterSeconds) });
export const internalError = () => error(500, 'exception', 'The server could not complete the request. The error has been logged.');

export function operationOutcome(issues: readonly Issue[]): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: issues.map((i) => ({
      severity: i.severity,
      code: i.code,
      diagnostics: i.diagnostics,
      ...(i.expression ? { expression: [...i.expression] } : {}),
    })),
  };
}
