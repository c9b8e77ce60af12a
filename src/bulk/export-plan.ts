// Kick-off parameters + the caller's token → what the job will write (ExportSpec), or a 4xx saying what is wrong.
// Bulk export is for backend services: only system/ scopes count, every type is checked against them with the same
// policy code the rest of the API uses (granular filters included), and a type the token may not search is never
// written. Under `Prefer: handling=lenient` what cannot be honoured is left out and noted in the error file instead.
import type { AccessGrant } from '../auth/access.js';
import { accessPolicy } from '../fhir/access-filter.js';
import { RESOURCE_DEFS, RESULT_PARAMS, resourceDef, type ResourceDef } from '../fhir/definitions.js';
import { isFhirInstant } from '../fhir/fhir-date.js';
import { FhirError, badRequest, forbidden } from '../fhir/outcome.js';
import { parseReference } from '../fhir/references.js';
import { parseSearch } from '../fhir/search-parse.js';
import type { Clause } from '../store/resource-query.js';
import type { ExportJobKind } from '../store/schema.js';
import type { ExportParams } from './export-params.js';
import type { ExportSpec, ExportTypeSpec } from './export-spec.js';

export const NDJSON_FORMATS = ['application/fhir+ndjson', 'application/ndjson', 'ndjson'] as const;

export interface PlanInput {
  readonly kind: ExportJobKind;
  readonly grant: AccessGrant;
  readonly params: ExportParams;
  readonly lenient: boolean;
  readonly fhirBaseUrl: string;
  /** Group exports: the ids of the Group's patients, already read under the token's policy */
  readonly groupMembers?: readonly string[];
}

/** 403 unless the token is a backend service's (client_credentials, system/ scopes, no user and no patient). */
export function assertBackendToken(grant: AccessGrant): void {
  const userScopes = grant.scopes.filter((s) => s.context !== 'system').map((s) => s.raw);
  if (grant.accountId || grant.patient || userScopes.length || !grant.scopes.length) {
    throw forbidden(
      `Bulk export is for backend services: get a token with the client_credentials grant and system/ scopes (e.g. system/*.rs) using SMART Backend Services. This token ${
        grant.patient ? `is limited to the patient in context (${grant.patient})` : grant.accountId ? 'acts for a signed-in user' : 'has no system/ scopes'
      }${userScopes.length ? ` and holds ${userScopes.join(' ')}` : ''}.`,
    );
  }
}

export function planExport(input: PlanInput): ExportSpec {
  const { params, lenient, kind, grant } = input;
  const warnings: string[] = [];
  /** A request the server cannot honour: an error, or under lenient handling a note and nothing else. */
  const cannot = (err: FhirError) => {
    if (!lenient) throw err;
    warnings.push(err.issues.map((i) => i.diagnostics).join('; '));
  };

  if (params.outputFormat !== undefined && !(NDJSON_FORMATS as readonly string[]).includes(params.outputFormat.trim().toLowerCase())) {
    throw badRequest(`_outputFormat "${params.outputFormat}" is not supported; this server writes ${NDJSON_FORMATS.join(' (or ')}))`, ['_outputFormat']);
  }
  let since: number | undefined;
  if (params.since !== undefined) {
    if (!isFhirInstant(params.since)) throw badRequest(`_since "${params.since}" is not a FHIR instant such as 2024-01-01T00:00:00Z (date, time with seconds, and a time zone)`, ['_since']);
    since = Date.parse(params.since);
  }
  for (const name of params.unknown) cannot(badRequest(`$export has no parameter "${name}" here (supported: _outputFormat, _since, _type, _typeFilter, _elements, patient)`, [name]));
  if (params.includeAssociatedData.length) cannot(badRequest('includeAssociatedData is not supported by this server', ['includeAssociatedData']));

  const inScope = (d: ResourceDef) => kind === 'system' || d.inCompartment;
  const allowed = (d: ResourceDef) => {
    try {
      return accessPolicy({ grant, type: d.type, def: d, interaction: 'search-type', userPatients: undefined, fhirBaseUrl: input.fhirBaseUrl });
    } catch (err) {
      if (err instanceof FhirError && err.status === 403) return err;
      throw err;
    }
  };

  const chosen = new Map<string, readonly Clause[]>();
  if (params.types.length) {
    for (const type of params.types) {
      const def = resourceDef(type);
      if (!def) cannot(badRequest(`_type names "${type}", which is not a resource type served here (see /metadata)`, ['_type']));
      else if (!inScope(def)) cannot(badRequest(`_type names ${type}, which is not in the patient compartment, so a ${kind === 'group' ? 'Group' : 'Patient'}-level export has none of it; use the system-level [base]/$export for it`, ['_type']));
      else {
        const policy = allowed(def);
        if (policy instanceof FhirError) cannot(forbidden(`This token may not export ${type}: ${policy.issues[0]!.diagnostics}`));
        else chosen.set(type, policy.constraints);
      }
    }
  } else {
    for (const def of RESOURCE_DEFS.filter(inScope)) {
      const policy = allowed(def);
      if (!(policy instanceof FhirError)) chosen.set(def.type, policy.constraints);
    }
  }
  if (!chosen.size) {
    throw forbidden(
      params.types.length
        ? 'None of the types asked for (_type) can be exported with this token'
        : `This token allows none of the types a ${kind}-level export includes; ask for system/*.rs or system/[Type].rs scopes`,
    );
  }

  const filters = typeFilters(params.typeFilters, chosen, input.fhirBaseUrl, cannot);
  const elements = elementsByType(params.elements, [...chosen.keys()]);
  const types: ExportTypeSpec[] = [...chosen].map(([type, constraints]) => {
    const any = filters.get(type);
    const keep = elements(type);
    return { type, clauses: [...constraints, ...(any ? [{ kind: 'any' as const, of: any }] : [])], ...(keep ? { elements: keep } : {}) };
  });

  let patients: ExportSpec['patients'];
  if (kind === 'patient') patients = 'any';
  if (kind === 'group') patients = input.groupMembers ?? [];
  if (params.patients.length) {
    if (kind === 'system') throw badRequest('patient applies to Patient/$export and Group/[id]/$export, not to the system-level $export', ['patient']);
    const ids = params.patients.map((p) => {
      const ref = parseReference(p, input.fhirBaseUrl);
      if (ref?.kind !== 'local' || ref.type !== 'Patient') throw badRequest(`patient "${p}" is not a Patient reference such as Patient/123`, ['patient']);
      return ref.id;
    });
    if (Array.isArray(patients)) {
      const members = new Set(patients);
      for (const id of ids) if (!members.has(id)) cannot(badRequest(`Patient/${id} is not a member of the Group`, ['patient']));
      patients = ids.filter((id) => members.has(id));
    } else patients = ids;
  }
  return { types, ...(patients !== undefined ? { patients: Array.isArray(patients) ? [...new Set(patients)].sort() : patients } : {}), ...(since !== undefined ? { since } : {}), warnings };
}

/** `_typeFilter` queries → per type, the OR-ed lists of clauses; each query in the search syntax of the API. */
function typeFilters(queries: readonly string[], chosen: ReadonlyMap<string, unknown>, fhirBaseUrl: string, cannot: (e: FhirError) => void): Map<string, Clause[][]> {
  const out = new Map<string, Clause[][]>();
  for (const q of queries) {
    const m = /^([A-Z][A-Za-z]+)\?(.+)$/.exec(q);
    if (!m) {
      cannot(badRequest(`_typeFilter "${q}" is not a search such as Observation?category=laboratory`, ['_typeFilter']));
      continue;
    }
    const [, type, query] = m as unknown as [string, string, string];
    const def = resourceDef(type);
    if (!def || !chosen.has(type)) {
      cannot(badRequest(`_typeFilter "${q}" is for ${type}, which this export does not include`, ['_typeFilter']));
      continue;
    }
    const pairs = [...new URLSearchParams(query)];
    const result = pairs.find(([k]) => (RESULT_PARAMS as readonly string[]).includes(k.split(':')[0]!));
    if (result) {
      cannot(badRequest(`_typeFilter "${q}" uses ${result[0]}, which shapes a search result; a filter may only select resources`, ['_typeFilter']));
      continue;
    }
    try {
      const parsed = parseSearch(def, pairs, { fhirBaseUrl, strict: true });
      if (parsed.chains.length) throw badRequest('chained parameters are not supported in _typeFilter');
      const list = out.get(type) ?? [];
      list.push([...parsed.clauses]);
      out.set(type, list);
    } catch (err) {
      if (!(err instanceof FhirError)) throw err;
      cannot(badRequest(`_typeFilter "${q}" is not a search this server can run: ${err.message}`, ['_typeFilter']));
    }
  }
  return out;
}

/** `_elements` (`name` for every type, `Type.name` for one) → the elements to keep for a type, or undefined for all. */
function elementsByType(list: readonly string[], types: readonly string[]): (type: string) => readonly string[] | undefined {
  const common: string[] = [];
  const typed = new Map<string, string[]>();
  for (const e of list) {
    const m = /^(?:([A-Z][A-Za-z]+)\.)?([a-z][A-Za-z0-9]*(?:\[x\])?)$/.exec(e);
    if (!m) throw badRequest(`_elements "${e}" is not an element name such as status or Observation.code`, ['_elements']);
    const [, type, name] = m as unknown as [string, string | undefined, string];
    const element = name.replace('[x]', '');
    if (type === undefined) common.push(element);
    else if (!types.includes(type)) throw badRequest(`_elements "${e}" names ${type}, which this export does not include`, ['_elements']);
    else typed.set(type, [...(typed.get(type) ?? []), element]);
  }
  return (type) => {
    const names = [...common, ...(typed.get(type) ?? [])];
    if (!names.length) return undefined;
    // FHIR asks servers to keep mandatory elements whatever _elements says, so a subset is still a valid resource.
    const required = (resourceDef(type)?.required ?? []).map((path) => path[0]!).filter(Boolean);
    return [...new Set([...names, ...required])];
  };
}
