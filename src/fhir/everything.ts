// Patient/[id]/$everything (FHIR R4 operation patient-everything): the Patient, every resource in its compartment and
// the shared resources they point at (Practitioner, Medication, Organization, ...), paged, within the token's scopes.
// Each type passes the gate a search of it would: a type the token lacks is left out, granular filters apply.
import { createHash } from 'node:crypto';
import type { Clause } from '../store/resource-query.js';
import type { StoredResource } from '../store/resources.js';
import type { AccessPolicy } from './access-filter.js';
import type { BundleLink } from './bundle.js';
import { RESOURCE_DEFS, resourceDef } from './definitions.js';
import { parseFhirDateRange } from './fhir-date.js';
import { badSearchParam, type Issue } from './outcome.js';
import { parseReference } from './references.js';
import { DEFAULT_COUNT, MAX_COUNT, splitOr, type QueryPairs } from './search-parse.js';
import type { FhirService, RelatedPolicy } from './service.js';

/** The compartment's types besides Patient itself, whose only member is the patient (its patient_id is its own id). */
const COMPARTMENT_TYPES: readonly string[] = RESOURCE_DEFS.filter((d) => d.inCompartment && d.type !== 'Patient').map((d) => d.type);
const COMPARTMENT = new Set(COMPARTMENT_TYPES);

export interface EverythingInput {
  readonly patientId: string;
  readonly pairs: QueryPairs;
  /** Prefer: handling=strict: an unknown parameter is a 400 instead of a warning */
  readonly strict: boolean;
  /** The token's policy for reading the Patient (the caller has already refused a token with no Patient scope) */
  readonly patientPolicy: AccessPolicy;
  /** The token's policy for another type; undefined leaves the type out */
  readonly related: RelatedPolicy;
}

export interface EverythingResult {
  readonly matches: readonly StoredResource[];
  readonly included: readonly StoredResource[];
  /** On the first page only: counting costs a query of its own */
  readonly total?: number;
  readonly links: readonly BundleLink[];
  readonly warnings: readonly Issue[];
}

interface EverythingRequest {
  /** undefined: every type */
  readonly types?: ReadonlySet<string>;
  readonly since?: number;
  readonly count: number;
  readonly after?: Position;
  readonly canonical: QueryPairs;
  readonly warnings: readonly Issue[];
}

/** Where a page ends: the type and rid of its last compartment row ('' and 0 right after the Patient). */
interface Position {
  readonly type: string;
  readonly rid: number;
}

export async function patientEverything(service: FhirService, input: EverythingInput): Promise<EverythingResult> {
  const { patientId } = input;
  const request = parseEverything(input.pairs, patientId, input.strict);
  // Answers 404 (or 410) exactly as a read of the Patient would, before anything of the record is looked at.
  const patient = await service.read('Patient', patientId, input.patientPolicy);

  const first = request.after === undefined;
  const wantsPatient = first && (!request.types || request.types.has('Patient')) && (request.since === undefined || patient.lastUpdated >= request.since);
  const room = request.count - (wantsPatient && request.count > 0 ? 1 : 0);
  const types = await compartmentTypes(patientId, request.types, input.related);
  const page = await service.store.compartment({
    patientId,
    types,
    ...(request.since !== undefined ? { since: request.since } : {}),
    ...(request.after ? { after: request.after } : {}),
    count: room,
    total: first,
  });

  const matches = request.count > 0 ? [...(wantsPatient ? [patient] : []), ...page.rows] : [];
  const included = await referenced(service, matches, request.types, input.related);
  const last = page.rows[page.rows.length - 1];
  const nextAt: Position | undefined = request.count > 0 && page.more ? (last ? { type: last.type, rid: last.rid } : { type: '', rid: 0 }) : undefined;

  const url = (at: Position | undefined) => {
    const pairs: [string, string][] = request.canonical.map(([k, v]) => [k, v]);
    if (at) pairs.push(['_cursor', encodePosition(patientId, at)]);
    return `${service.fhirBaseUrl}/Patient/${patientId}/$everything?${new URLSearchParams(pairs).toString()}`;
  };
  const links: BundleLink[] = [{ relation: 'self', url: url(request.after) }];
  if (nextAt) links.push({ relation: 'next', url: url(nextAt) });
  return {
    matches,
    included,
    ...(page.total !== undefined ? { total: page.total + (wantsPatient ? 1 : 0) } : {}),
    links,
    warnings: request.warnings,
  };
}

const IGNORED = new Set(['_format', '_pretty']);

function parseEverything(pairs: QueryPairs, patientId: string, strict: boolean): EverythingRequest {
  let types: Set<string> | undefined;
  let since: number | undefined;
  let count = DEFAULT_COUNT;
  let after: Position | undefined;
  const canonical: [string, string][] = [];
  const warnings: Issue[] = [];
  const ignore = (name: string, why: string) => {
    if (strict) throw badSearchParam(name, `${why} (rejected because of Prefer: handling=strict)`);
    warnings.push({ severity: 'warning', code: 'not-supported', diagnostics: `${why}; the parameter was ignored`, expression: [name] });
  };
  for (const [name, value] of pairs) {
    switch (name) {
      case '_type': {
        const asked = splitOr(value).map((t) => t.trim());
        for (const t of asked) if (!resourceDef(t)) throw badSearchParam('_type', `_type names "${t}", which is not a resource type served here (see /metadata)`);
        // Repeats add types, as FHIR's "one or more parameters" of patient-everything says.
        types = new Set([...(types ?? []), ...asked]);
        break;
      }
      case '_since': {
        const range = parseFhirDateRange(value.replace(' ', '+'));
        if (!range) throw badSearchParam('_since', `_since must be an instant such as 2024-03-05T10:00:00Z, not "${value}"`);
        since = range.lo;
        canonical.push(['_since', value]);
        break;
      }
      case '_count':
        if (!/^\d+$/.test(value)) throw badSearchParam('_count', `_count must be a whole number, not "${value}"`);
        count = Math.min(Number(value), MAX_COUNT);
        break;
      case '_cursor':
        after = decodePosition(patientId, value);
        break;
      case 'start':
      case 'end':
        ignore(name, `${name} (a care date range) is not supported by $everything here; use _since for changes since an instant`);
        break;
      default:
        if (!IGNORED.has(name)) ignore(name, `Parameter "${name}" is not a parameter of $everything (supported: _type, _since, _count)`);
    }
  }
  if (types) canonical.unshift(['_type', [...types].join(',')]);
  canonical.push(['_count', String(count)]);
  return { ...(types ? { types } : {}), ...(since !== undefined ? { since } : {}), count, ...(after ? { after } : {}), canonical, warnings };
}

/** The compartment types to return, each with the clauses the token's scopes add; types it may not search are left out. */
async function compartmentTypes(patientId: string, asked: ReadonlySet<string> | undefined, related: RelatedPolicy): Promise<{ type: string; clauses: Clause[] }[]> {
  const wanted = asked ? COMPARTMENT_TYPES.filter((t) => asked.has(t)) : COMPARTMENT_TYPES;
  const found = await Promise.all(
    wanted.map(async (type) => {
      const policy = await related(type, 'search-type');
      const clauses = policy && forPatient(policy.constraints, patientId);
      return clauses ? { type, clauses } : undefined;
    }),
  );
  return found.filter((t) => t !== undefined);
}

/**
 * The constraints that remain once the rows are known to be in `patientId`'s compartment: compartment clauses are
 * settled here (kept out of the SQL), granular filters stay. undefined: the token does not reach this patient.
 */
function forPatient(clauses: readonly Clause[], patientId: string): Clause[] | undefined {
  const left: Clause[] = [];
  for (const c of clauses) {
    if (c.kind === 'compartment') {
      if (!c.patientIds.includes(patientId)) return undefined;
    } else if (c.kind === 'any') {
      const branches = c.of.map((all) => forPatient(all, patientId)).filter((b) => b !== undefined);
      if (!branches.length) return undefined;
      // A branch with nothing left means some scope grants the whole type for this patient.
      if (!branches.some((b) => !b.length)) left.push({ kind: 'any', of: branches });
    } else left.push(c);
  }
  return left;
}

/** The shared resources (outside every compartment) the page's resources point at, each type behind its read gate. */
async function referenced(service: FhirService, rows: readonly StoredResource[], asked: ReadonlySet<string> | undefined, related: RelatedPolicy): Promise<StoredResource[]> {
  const wanted = new Map<string, Set<string>>();
  for (const row of rows) {
    if (!row.json) continue;
    for (const reference of referencesIn(JSON.parse(row.json) as unknown)) {
      const ref = parseReference(reference, service.fhirBaseUrl);
      if (ref?.kind !== 'local' || ref.type === 'Patient' || COMPARTMENT.has(ref.type) || !resourceDef(ref.type) || (asked && !asked.has(ref.type))) continue;
      let ids = wanted.get(ref.type);
      if (!ids) wanted.set(ref.type, (ids = new Set()));
      ids.add(ref.id);
    }
  }
  const kept: StoredResource[] = [];
  for (const [type, ids] of [...wanted].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const policy = await related(type, 'read');
    if (!policy) continue;
    const page = await service.store.search({ type, clauses: [{ kind: 'id', ids: [...ids] }, ...policy.constraints], sort: 'rid', count: ids.size, total: false });
    kept.push(...page.rows);
  }
  return kept;
}

/** Every Reference.reference anywhere in a resource (contained resources included). */
function referencesIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) referencesIn(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string') out.push(v);
      else referencesIn(v, out);
    }
  }
  return out;
}

// The cursor is opaque to clients. A check value over the patient and the position turns an edited or
// mistyped cursor (or one from another patient's $everything) into a 400 rather than a page from somewhere else.
function encodePosition(patientId: string, at: Position): string {
  const body = `${at.type}.${at.rid}`;
  return Buffer.from(`${body}.${check(patientId, body)}`).toString('base64url');
}

function decodePosition(patientId: string, value: string): Position {
  const m = /^([A-Za-z]*)\.(\d{1,15})\.([A-Za-z0-9_-]{8})$/.exec(Buffer.from(value, 'base64url').toString());
  if (!m || m[3] !== check(patientId, `${m[1]}.${m[2]}`) || (m[1] !== '' && !COMPARTMENT.has(m[1]!))) {
    throw badSearchParam('_cursor', 'The paging cursor is not valid for this $everything; follow the next link of its Bundle');
  }
  return { type: m[1]!, rid: Number(m[2]) };
}

const check = (patientId: string, body: string) => createHash('sha256').update(`${patientId}\n${body}`).digest('base64url').slice(0, 8);
