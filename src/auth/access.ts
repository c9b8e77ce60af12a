// What a verified access token lets its bearer do, before any FHIR specifics: the resource scopes and the launch
// context. Deny by default: a token without a resource scope covering a type and operation gets nothing.
import { isResourceScope, parseScopes, type Operation, type ResourceScope } from './scopes.js';

export interface AccessGrant {
  readonly clientId: string;
  readonly accountId?: string;
  readonly grantId?: string;
  readonly scopes: readonly ResourceScope[];
  /** Patient in context (patient/ scopes are limited to this compartment) */
  readonly patient?: string;
  /** Relative FHIR reference of the user, e.g. Patient/123 */
  readonly fhirUser?: string;
  /** ms since epoch */
  readonly expiresAt: number;
  readonly tokenHash: string;
}

export function accessGrantFrom(fields: {
  clientId: string;
  accountId?: string | undefined;
  grantId?: string | undefined;
  scope: string;
  patient?: unknown;
  fhirUser?: unknown;
  exp: number;
  tokenHash: string;
  fhirBaseUrl: string;
}): AccessGrant {
  const fhirUser = typeof fields.fhirUser === 'string' ? fields.fhirUser.replace(`${fields.fhirBaseUrl}/`, '') : undefined;
  return {
    clientId: fields.clientId,
    ...(fields.accountId ? { accountId: fields.accountId } : {}),
    ...(fields.grantId ? { grantId: fields.grantId } : {}),
    scopes: parseScopes(fields.scope).scopes.filter(isResourceScope),
    ...(typeof fields.patient === 'string' ? { patient: fields.patient } : {}),
    ...(fhirUser ? { fhirUser } : {}),
    expiresAt: fields.exp * 1000,
    tokenHash: fields.tokenHash,
  };
}

/** The token's scopes that cover `type` for `operation`. Empty means the request is forbidden. */
export function applicableScopes(grant: AccessGrant, type: string, operation: Operation): ResourceScope[] {
  return grant.scopes.filter((s) => (s.type === '*' || s.type === type) && s.operations.has(operation));
}
