// SMART App Launch 2.2 scope grammar, pure: scope text → typed Scope, or undefined when it is not a SMART scope.
// One parser for the authorization server (which scopes survive into a grant), the FHIR API (what a token may do)
// and the consent page (what to show the patient).

export type ScopeContext = 'patient' | 'user' | 'system';
export type Operation = 'c' | 'r' | 'u' | 'd' | 's';

export interface ResourceScope {
  readonly kind: 'resource';
  readonly raw: string;
  readonly context: ScopeContext;
  /** A resource type, or '*' for every type */
  readonly type: string;
  readonly operations: ReadonlySet<Operation>;
  /** 1 for read/write/*, 2 for cruds letters */
  readonly version: 1 | 2;
  /** SMART v2 granular filter: search parameters every matching resource must satisfy (AND) */
  readonly query: readonly (readonly [string, string])[];
}

export type LaunchScope = 'launch' | 'launch/patient' | 'launch/encounter';
export type IdentityScope = 'openid' | 'fhirUser' | 'profile';
export type AccessDurationScope = 'offline_access' | 'online_access';

export interface OtherScope {
  readonly kind: 'launch' | 'identity' | 'duration';
  readonly raw: LaunchScope | IdentityScope | AccessDurationScope;
}

export type Scope = ResourceScope | OtherScope;

const LAUNCH = new Set<string>(['launch', 'launch/patient', 'launch/encounter']);
const IDENTITY = new Set<string>(['openid', 'fhirUser', 'profile']);
const DURATION = new Set<string>(['offline_access', 'online_access']);
const V1: Readonly<Record<string, readonly Operation[]>> = { read: ['r', 's'], write: ['c', 'u', 'd'], '*': ['c', 'r', 'u', 'd', 's'] };
const RESOURCE = /^(patient|user|system)\/(\*|[A-Z][A-Za-z]{1,63})\.([a-z*]+)(?:\?(.+))?$/;
// v2 permissions are a non-empty subsequence of "cruds", in that order (SMART 2.2 §scopes-for-requesting-fhir-resources).
const CRUDS = /^c?r?u?d?s?$/;
// RFC 6749 §3.3 scope-token characters, minus the space that separates tokens.
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export function parseScope(raw: string): Scope | undefined {
  if (!SCOPE_TOKEN.test(raw)) return undefined;
  if (LAUNCH.has(raw)) return { kind: 'launch', raw: raw as LaunchScope };
  if (IDENTITY.has(raw)) return { kind: 'identity', raw: raw as IdentityScope };
  if (DURATION.has(raw)) return { kind: 'duration', raw: raw as AccessDurationScope };
  const m = RESOURCE.exec(raw);
  if (!m) return undefined;
  const [, context, type, perms, queryText] = m as unknown as [string, ScopeContext, string, string, string | undefined];
  let operations: Operation[];
  let version: 1 | 2;
  if (V1[perms]) {
    operations = [...V1[perms]!];
    version = 1;
  } else if (perms.length > 0 && CRUDS.test(perms)) {
    operations = [...perms] as Operation[];
    version = 2;
  } else return undefined;
  let query: [string, string][] = [];
  if (queryText !== undefined) {
    // Granular filters are a v2 feature; on a v1 scope the query has no defined meaning.
    if (version === 1) return undefined;
    query = [...new URLSearchParams(queryText)];
    if (!query.length || query.some(([k, v]) => !k || !v)) return undefined;
  }
  return { kind: 'resource', raw, context, type, operations: new Set(operations), version, query };
}

/** Splits a space-separated scope string, keeping the SMART scopes and dropping the rest (and duplicates). */
export function parseScopes(text: string | undefined): { scopes: Scope[]; dropped: string[] } {
  const scopes: Scope[] = [];
  const dropped: string[] = [];
  const seen = new Set<string>();
  for (const raw of (text ?? '').split(' ').filter(Boolean)) {
    if (seen.has(raw)) continue;
    seen.add(raw);
    const s = parseScope(raw);
    if (s) scopes.push(s);
    else dropped.push(raw);
  }
  return { scopes, dropped };
}

export const isResourceScope = (s: Scope): s is ResourceScope => s.kind === 'resource';

/** The FHIR interactions, as SMART v2 letters. */
export const INTERACTION_OPERATION = {
  read: 'r',
  vread: 'r',
  'history-instance': 'r',
  'search-type': 's',
  create: 'c',
  update: 'u',
  delete: 'd',
} as const satisfies Record<string, Operation>;

/**
 * Types a `*` scope never covers: a client may be granted them only when its allowed scopes name them. AuditEvent is
 * the security audit trail (src/fhir/audit-event-routes.ts), which the FHIR API likewise serves only to a scope
 * naming it.
 */
export const NAMED_SCOPE_ONLY_TYPES: ReadonlySet<string> = new Set(['AuditEvent']);

/** True when a client allowed `allowed` may be granted `requested` (same context, type and query or wider). */
export function scopeCovers(allowed: Scope, requested: Scope): boolean {
  if (allowed.kind !== 'resource' || requested.kind !== 'resource') return allowed.raw === requested.raw;
  if (allowed.context !== requested.context) return false;
  if (allowed.type === '*' ? NAMED_SCOPE_ONLY_TYPES.has(requested.type) : allowed.type !== requested.type) return false;
  for (const op of requested.operations) if (!allowed.operations.has(op)) return false;
  if (!allowed.query.length) return true;
  const want = new Set(requested.query.map(([k, v]) => `${k}=${v}`));
  return allowed.query.every(([k, v]) => want.has(`${k}=${v}`));
}
