// AccessGrant + type + interaction → the constraints every query of the request must satisfy. The patient
// compartment and SMART v2 granular filters become ordinary search clauses, compiled by the same parser as user
// queries, AND-ed into the SQL. Deny by default and fail closed: no covering scope → 403; a granular filter we
// cannot parse makes its scope grant nothing.
import type { AccessGrant } from '../auth/access.js';
import { applicableScopes } from '../auth/access.js';
import { INTERACTION_OPERATION, type ResourceScope } from '../auth/scopes.js';
import type { Clause, IndexData } from '../store/resource-query.js';
import type { Interaction, ResourceDef } from './definitions.js';
import { FhirError } from './outcome.js';
import { parseSearch } from './search-parse.js';

/** AND-ed constraints; an empty list means the grant covers every resource of the type. */
export interface AccessPolicy {
  readonly constraints: readonly Clause[];
}

export const UNRESTRICTED: AccessPolicy = { constraints: [] };

export const forbidden = (diagnostics: string) => new FhirError(403, [{ severity: 'error', code: 'forbidden', diagnostics }]);

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
  const { grant, type, def, interaction } = input;
  const op = INTERACTION_OPERATION[interaction];
  const scopes = applicableScopes(grant, type, op);
  const lists: Clause[][] = [];
  for (const scope of scopes) {
    const list = scopeConstraints(scope, input);
    if (list === undefined) continue;
    if (list.length === 0) return UNRESTRICTED;
    lists.push(list);
  }
  if (!lists.length) {
    throw forbidden(`The access token does not allow ${interaction} on ${type}; granted scopes: ${grant.scopes.map((s) => s.raw).join(' ') || '(none for FHIR resources)'}`);
  }
  // A type we do not serve was still scope-checked first (403 above), so unknown types only reach here when covered.
  void def;
  return { constraints: lists.length === 1 ? lists[0]! : [{ kind: 'any', of: lists }] };
}

/** The clauses one scope imposes, or undefined when the scope cannot grant anything for this request. */
function scopeConstraints(scope: ResourceScope, input: PolicyInput): Clause[] | undefined {
  const out: Clause[] = [];
  if (scope.context === 'patient') {
    if (!input.grant.patient) return undefined;
    out.push({ kind: 'compartment', patientIds: [input.grant.patient] });
  } else if (scope.context === 'user' && input.userPatients) {
    out.push({ kind: 'compartment', patientIds: [...input.userPatients] });
  }
  if (scope.query.length) {
    if (!input.def) return undefined;
    try {
      const parsed = parseSearch(input.def, scope.query, { fhirBaseUrl: input.fhirBaseUrl, strict: true });
      out.push(...parsed.clauses);
    } catch {
      return undefined;
    }
  }
  return out;
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
