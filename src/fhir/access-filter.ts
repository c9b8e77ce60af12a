// AccessGrant + type + interaction → the constraints every query of the request must satisfy. The patient
// compartment and SMART v2 granular filters become ordinary search clauses, compiled by the same parser as user
// queries, AND-ed into the SQL. Deny by default and fail closed: no covering scope → 403; a granular filter we
// cannot parse makes its scope grant nothing. Every 403 names the scope the request needed and the scopes the
// token holds; those words are only put together on the way to a 403.
import type { AccessGrant } from '../auth/access.js';
import { applicableScopes } from '../auth/access.js';
import { INTERACTION_OPERATION, type Operation, type ResourceScope, type ScopeContext } from '../auth/scopes.js';
import type { Clause, IndexData, TokenCondition } from '../store/resource-query.js';
import type { Interaction, ResourceDef } from './definitions.js';
import { forbidden } from './outcome.js';
import { parseSearch } from './search-parse.js';

// service.ts refuses writes outside the policy with the same helper.
export { forbidden };

/** AND-ed constraints; an empty list means the grant covers every resource of the type. */
export interface AccessPolicy {
  readonly constraints: readonly Clause[];
  /**
   * Present when every scope granting the request carries a granular filter: each such scope with its filter's
   * clauses. A search that asks for values none of them allow is refused (refuseSearchOutsideFilters) rather than
   * answered with an empty Bundle.
   */
  readonly filters?: readonly ScopeFilter[];
  /** The scopes that granted this request, for a write refused as outside them (absent when unrestricted) */
  readonly grantedBy?: readonly string[];
}

export interface ScopeFilter {
  readonly scope: ResourceScope;
  readonly clauses: readonly Clause[];
}

export const UNRESTRICTED: AccessPolicy = { constraints: [] };

export interface PolicyInput {
  readonly grant: AccessGrant;
  readonly type: string;
  readonly def: ResourceDef | undefined;
  readonly interaction: Interaction;
  /** Patients a user/ scope reaches for this user (their own record and those they are proxy for); undefined = all */
  readonly userPatients: readonly string[] | undefined;
  readonly fhirBaseUrl: string;
}

export function accessPolicy(input: PolicyInput): AccessPolicy {
  const { grant, type, interaction } = input;
  const op = INTERACTION_OPERATION[interaction];
  const scopes = applicableScopes(grant, type, op);
  const lists: Clause[][] = [];
  const filters: ScopeFilter[] = [];
  for (const scope of scopes) {
    const granted = scopeConstraints(scope, input);
    if ('unusable' in granted) continue;
    if (granted.clauses.length === 0) return UNRESTRICTED;
    lists.push(granted.clauses);
    if (granted.filter.length) filters.push({ scope, clauses: granted.filter });
  }
  // A type we do not serve is still scope-checked first, so an unknown type is 403 unless covered.
  if (!lists.length) throw forbidden(missingScope(input, scopes));
  const constraints: Clause[] = lists.length === 1 ? lists[0]! : [{ kind: 'any', of: lists }];
  const grantedBy = scopes.map((sc) => sc.raw);
  return filters.length === lists.length ? { constraints, filters, grantedBy } : { constraints, grantedBy };
}

/** `clauses`: everything the scope imposes (compartment and filter); `filter`: its granular filter alone. */
type ScopeGrant = { readonly clauses: Clause[]; readonly filter: readonly Clause[] } | { readonly unusable: string };

const NO_FILTER: readonly Clause[] = [];

/** The clauses one scope imposes, or why it grants nothing for this request. */
function scopeConstraints(scope: ResourceScope, input: PolicyInput): ScopeGrant {
  const clauses: Clause[] = [];
  const patientFacing = scope.context === 'patient' || (scope.context === 'user' && input.userPatients !== undefined);
  if (patientFacing && input.def && !input.def.inCompartment && !input.def.sharedWithPatients) {
    return { unusable: `${input.type} is outside the patient compartment yet holds one person's data, so a ${scope.context}/ scope cannot be limited to this record; only system/ and clinicians' tokens reach it` };
  }
  if (patientFacing && input.def && !input.def.inCompartment) {
    // Practitioner, Organization, Location, Medication, ...: no one's record, shared by all. A patient-facing token
    // may read what its scopes name (SMART and US Core expect it), but never change what every record points at.
    const op = INTERACTION_OPERATION[input.interaction];
    if (op === 'c' || op === 'u' || op === 'd') {
      return { unusable: `${input.type} is not part of any patient's record (it is shared by all), so ${scope.raw} lets an app read it but not change it` };
    }
  } else if (scope.context === 'patient') {
    if (!input.grant.patient) return { unusable: `${scope.raw} applies only with a patient in context, and this token has none (ask for launch/patient)` };
    clauses.push({ kind: 'compartment', patientIds: [input.grant.patient] });
  } else if (scope.context === 'user' && input.userPatients) {
    clauses.push({ kind: 'compartment', patientIds: [...input.userPatients] });
  }
  if (!scope.query.length) return { clauses, filter: NO_FILTER };
  if (!input.def) return { unusable: `${scope.raw} has a filter, and ${input.type} is not a type served here` };
  try {
    const parsed = parseSearch(input.def, scope.query, { fhirBaseUrl: input.fhirBaseUrl, strict: true });
    // A chain would need a query to become a clause; a scope filter that cannot be applied grants nothing.
    if (parsed.chains.length) return { unusable: `the filter of ${scope.raw} uses a chained parameter, which scope filters cannot, so it grants nothing` };
    const filter = parsed.clauses;
    clauses.push(...filter);
    return { clauses, filter };
  } catch (err) {
    return { unusable: `the filter of ${scope.raw} is not understood here (${(err as Error).message}), so it grants nothing` };
  }
}

const VERB: Readonly<Record<Interaction, string>> = {
  read: 'Reading',
  vread: 'Reading a version of',
  'history-instance': 'Reading the history of',
  'search-type': 'Searching',
  create: 'Creating',
  update: 'Updating',
  delete: 'Deleting',
};

/** e.g. "Reading Observation needs patient/Observation.rs (or …); this token holds: patient/Patient.rs" */
function missingScope(input: PolicyInput, applicable: readonly ResourceScope[]): string {
  const { grant, type, interaction } = input;
  const op = INTERACTION_OPERATION[interaction];
  // Reads and searches go together in practice (and in SMART v1's .read); writes are asked for letter by letter.
  const reading = op === 'r' || op === 's';
  const letters = reading ? 'rs' : op;
  const contexts = tokenContexts(grant);
  const needed = contexts.map((c) => `${c}/${type}.${letters}`).join(' or ');
  const v1 = contexts.map((c) => `${c}/${type}.${reading ? 'read' : 'write'}`).join(' or ');
  const notes = applicable.map((s) => scopeConstraints(s, input)).flatMap((g) => ('unusable' in g ? [g.unusable] : []));
  if (!input.def) notes.push(`${type} is not a resource type served here (see /metadata)`);
  return `${VERB[interaction]} ${type} needs ${needed} (or ${v1}, or a wider scope such as ${contexts[0]}/*.${letters})${notes.map((n) => `; ${n}`).join('')}; this token holds: ${heldScopes(grant)}`;
}

/** The contexts a developer would add a scope in: those the token already uses, else what its launch implies. */
function tokenContexts(grant: AccessGrant): ScopeContext[] {
  const used = [...new Set(grant.scopes.map((s) => s.context))];
  if (used.length) return used;
  return [grant.patient ? 'patient' : grant.accountId ? 'user' : 'system'];
}

const heldScopes = (grant: AccessGrant) => grant.scopes.map((s) => s.raw).join(' ') || '(no FHIR resource scopes)';

/**
 * A search the token's granular filters allow none of (e.g. category=laboratory with only a vital-signs scope):
 * 403 naming the scope it needs, instead of an empty Bundle that looks like "no lab results". Only token values
 * the search names explicitly count: a search that does not name a filtered parameter is filtered silently.
 */
export function refuseSearchOutsideFilters(policy: AccessPolicy, asked: readonly Clause[], grant: AccessGrant, def: ResourceDef): void {
  const filters = policy.filters;
  if (!filters?.length) return;
  let first: (Conflict & { readonly scope: ResourceScope }) | undefined;
  for (const f of filters) {
    const conflict = conflictWith(f.clauses, asked);
    if (!conflict) return;
    first ??= { ...conflict, scope: f.scope };
  }
  throw forbidden(outsideFilters(first!, grant, def));
}

type TokenClause = Extract<Clause, { kind: 'token' }>;
interface Conflict {
  readonly asked: TokenClause;
  readonly filter: TokenClause;
}

/** A clause of the search whose values no value of the same parameter in the filter can match. */
function conflictWith(filter: readonly Clause[], asked: readonly Clause[]): Conflict | undefined {
  for (const f of filter) {
    if (f.kind !== 'token' || f.not) continue;
    for (const a of asked) {
      if (a.kind === 'token' && !a.not && a.param === f.param && !a.values.some((v) => f.values.some((w) => tokensOverlap(v, w)))) return { asked: a, filter: f };
    }
  }
  return undefined;
}

// Conservative: an empty system ("no system") is not taken as a contradiction, because codes of code-typed
// elements also match under their FHIR system.
const tokensOverlap = (a: TokenCondition, b: TokenCondition) =>
  (a.code === undefined || b.code === undefined || a.code === b.code) && (!a.system || !b.system || a.system === b.system);

const tokenText = (v: TokenCondition) => (v.system === undefined ? (v.code ?? '') : `${v.system}|${v.code ?? ''}`);

const CRUDS: readonly Operation[] = ['c', 'r', 'u', 'd', 's'];

function outsideFilters(c: Conflict & { readonly scope: ResourceScope }, grant: AccessGrant, def: ResourceDef): string {
  const name = def.params.find((p) => (p.indexAs ?? p.name) === c.asked.param)?.name ?? c.asked.param;
  // The search may give a bare code (category=laboratory); the scope to ask for names the system the filter uses.
  const systems = [...new Set(c.filter.values.map((v) => v.system).filter((s) => s))];
  const letters = CRUDS.filter((o) => c.scope.operations.has(o)).join('');
  const base = `${c.scope.context}/${def.type}.${letters}`;
  const needed = c.asked.values.map((v) => `${base}?${name}=${tokenText(v.system === undefined && systems.length === 1 ? { ...v, system: systems[0]! } : v)}`);
  const asked = c.asked.values.map(tokenText).join(',');
  return `Searching ${def.type} with ${name}=${asked} needs ${needed.join(' or ')} (or a scope without a ${name} filter, such as ${base}), as none of this token's filters allows ${asked}; this token holds: ${heldScopes(grant)}`;
}

/**
 * Whether a row in `patientId`'s compartment passes the constraints' compartment clauses, every other clause taken as
 * met: how a deleted row (no index rows left) is judged. Clauses of several scopes come as `any`, and a row passes
 * only through a scope whose compartment holds it.
 */
export function compartmentHolds(constraints: readonly Clause[], patientId: string | null): boolean {
  return constraints.every((c) =>
    c.kind === 'compartment' ? patientId !== null && c.patientIds.includes(patientId) : c.kind === 'any' ? c.of.some((all) => compartmentHolds(all, patientId)) : true,
  );
}

/** Evaluates constraints against a resource about to be written (no database): compartment, id and token only. */
export function indexSatisfies(constraints: readonly Clause[], id: string, index: IndexData): boolean {
  return constraints.every((c) => clauseHolds(c, id, index));
}

function clauseHolds(c: Clause, id: string, index: IndexData): boolean {
  switch (c.kind) {
    case 'compartment':
      return index.patientId !== null && c.patientIds.includes(index.patientId);
    case 'id':
      return c.ids.includes(id);
    case 'token': {
      const hit = index.tokens.some(
        (t) => t.param === c.param && c.values.some((v) => (v.code === undefined || v.code === t.code) && (v.system === undefined || v.system === t.system)),
      );
      return c.not ? !hit : hit;
    }
    case 'any':
      return c.of.some((all) => all.every((x) => clauseHolds(x, id, index)));
    default:
      // Fail closed on filters we do not evaluate in memory.
      return false;
  }
}

/**
 * Why a resource about to be written falls outside the policy: whose record and which scopes would have to cover it.
 * The record is named only when the resource names its patient itself (`ownerNamed`). One found through what it
 * points at (a Provenance's target) is not: the answer would tell whose record a resource the token may not read is
 * in, and that it exists; such a write reads the same whether the target is another's, shared or unknown.
 */
export function outsideWrite(verb: 'creating' | 'writing', type: string, policy: AccessPolicy, index: IndexData, ownerNamed = true): string {
  const reach = policy.constraints.flatMap((c) => (c.kind === 'compartment' ? [c.patientIds.map((p) => `Patient/${p}`).join(', ')] : []));
  const owner = index.patientId && ownerNamed ? `belongs to Patient/${index.patientId}` : ownerNamed ? 'belongs to no patient' : 'is not about a resource in a record the token reaches';
  const scopes = policy.grantedBy?.join(' ') ?? '(none)';
  return `The access token does not allow ${verb} this ${type}: it ${owner}${reach.length ? `, and the token reaches only ${reach.join('; ')}` : ''}, or it falls outside the filters of the scopes that allow ${verb} ${type} (${scopes}). Write it within those, or ask for a scope that covers it.`;
}
