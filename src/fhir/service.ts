// FHIR interactions as domain functions: parse and check input, call the store, map store errors to FHIR errors.
// Routes call these and only format the reply. `constraints` is where access rules (patient compartment, granular
// scopes) are AND-ed in by the authorization layer.
import { randomUUID } from 'node:crypto';
import { AlreadyExistsError, VersionConflictError, type ResourceStore, type SearchPage, type StoredResource } from '../store/resources.js';
import { resourceDef, type Interaction, type ResourceDef } from './definitions.js';
import { computeIndex, valuesAt } from './index-rows.js';
import { badSearchParam, conflict, gone, notFound, preconditionFailed } from './outcome.js';
import type { Clause } from '../store/resource-query.js';

const MAX_CHAIN_MATCHES = 1000;
import { ID_PATTERN, parseReference } from './references.js';
import { MAX_COUNT, parseSearch, storeTotal, type ChainSpec, type IncludeSpec, type QueryPairs, type RevIncludeSpec, type SearchRequest } from './search-parse.js';
import { validateResource } from './validate.js';
import { withOwnerCompartment, type OwnerLookup } from './compartment-owner.js';
import { UNRESTRICTED, compartmentHolds, forbidden, indexSatisfies, outsideWrite, type AccessPolicy } from './access-filter.js';
import { then, type MaybePromise } from '../maybe-promise.js';

export interface SearchResult {
  readonly request: SearchRequest;
  readonly page: SearchPage;
  readonly included: readonly StoredResource[];
}

/** The policy for reading (or searching) a related type in the same request; undefined: the token may not. */
export type RelatedPolicy = (type: string, interaction: Interaction) => MaybePromise<AccessPolicy | undefined>;

/** Included resources once each, and none that is already a match. */
function dedupe(included: readonly StoredResource[], matches: readonly StoredResource[]): StoredResource[] {
  const seen = new Set(matches.map((r) => `${r.type}/${r.id}`));
  return included.filter((r) => {
    const key = `${r.type}/${r.id}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export interface HistoryResult {
  readonly versions: readonly StoredResource[];
  readonly total: number;
  readonly nextBefore?: number;
}

export class FhirService {
  constructor(
    readonly store: ResourceStore,
    readonly fhirBaseUrl: string,
  ) {}

  /** The compartment a stored resource is in (see compartment-owner.ts); deleted ones own nothing. */
  readonly ownerOf: OwnerLookup = async (type, id) => {
    if (!resourceDef(type) || !ID_PATTERN.test(id)) return undefined;
    const row = await this.store.read(type, id);
    return row && !row.deleted ? row.patientId : undefined;
  };

  definition(type: string): ResourceDef {
    const def = resourceDef(type);
    if (!def) throw notFound(`Resource type "${type}" is not served here`);
    return def;
  }

  /** Synchronous on SQLite when the policy needs no query (see MaybePromise): the hot path of the API. */
  read(type: string, id: string, policy: AccessPolicy = UNRESTRICTED): MaybePromise<StoredResource> {
    this.definition(type);
    const found = ID_PATTERN.test(id) ? this.store.read(type, id) : undefined;
    return then(found, (row) =>
      then(row ? this.#allowed(row, policy) : false, (allowed) => {
        // Outside the token's reach is indistinguishable from absent: no 403 that would confirm it exists.
        if (!row || !allowed) throw notFound(`${type}/${id} is not known`);
        if (row.deleted) throw gone(`${type}/${id} was deleted`);
        return row;
      }),
    );
  }

  /** Whether the current row of a resource is inside the policy's constraints. */
  #allowed(row: StoredResource, policy: AccessPolicy): MaybePromise<boolean> {
    if (!policy.constraints.length) return true;
    if (policy.constraints.every((c) => c.kind === 'compartment')) {
      return policy.constraints.every((c) => c.kind === 'compartment' && row.patientId !== null && c.patientIds.includes(row.patientId));
    }
    // Deleted rows have no index rows left to test granular filters against; judge by compartment alone.
    if (row.deleted) return compartmentHolds(policy.constraints, row.patientId);
    return this.store
      .search({ type: row.type, clauses: [{ kind: 'id', ids: [row.id] }, ...policy.constraints], sort: 'rid', count: 1, total: false })
      .then((page) => page.rows.length > 0);
  }

  async vread(type: string, id: string, versionId: string, policy: AccessPolicy = UNRESTRICTED): Promise<StoredResource> {
    this.definition(type);
    let current: StoredResource | undefined;
    if (policy.constraints.length) {
      current = ID_PATTERN.test(id) ? await this.store.read(type, id) : undefined;
      if (!current || !(await this.#allowed(current, policy))) throw notFound(`${type}/${id}/_history/${versionId} is not known`);
    }
    if (!/^\d+$/.test(versionId) || !ID_PATTERN.test(id)) throw notFound(`${type}/${id}/_history/${versionId} is not known`);
    const row = await this.store.readVersion(type, id, Number(versionId));
    if (!row || (row.versionId !== current?.versionId && !(await this.#versionAllowed(row, policy)))) throw notFound(`${type}/${id}/_history/${versionId} is not known`);
    if (row.deleted) throw gone(`${type}/${id} version ${versionId} is a deletion`);
    return row;
  }

  /**
   * Whether a version lies within the policy by its own content. A resource moved from another record (or out of a
   * category the token's filters leave out) keeps those versions in its history, and the current row's check says
   * nothing about them. Fails closed on filters that need the database (indexSatisfies); a deletion carries nothing.
   */
  async #versionAllowed(row: StoredResource, policy: AccessPolicy): Promise<boolean> {
    if (!policy.constraints.length || row.json === null) return true;
    const def = this.definition(row.type);
    const resource = JSON.parse(row.json) as Record<string, unknown>;
    const index = await withOwnerCompartment(def, resource, computeIndex(def, resource, row.id, this.fhirBaseUrl), this.fhirBaseUrl, this.ownerOf);
    return indexSatisfies(policy.constraints, row.id, index);
  }

  async history(type: string, id: string, count: number, before?: number, policy: AccessPolicy = UNRESTRICTED): Promise<HistoryResult> {
    this.definition(type);
    const exists = ID_PATTERN.test(id) ? await this.store.read(type, id) : undefined;
    if (!exists || !(await this.#allowed(exists, policy))) throw notFound(`${type}/${id} is not known`);
    const { rows, more, total } = await this.store.history(type, id, count, before);
    const last = rows[rows.length - 1];
    // Past versions outside the token's reach are left out; paging still steps over them.
    const versions: StoredResource[] = [];
    for (const r of rows) if (r.versionId === exists.versionId || (await this.#versionAllowed(r, policy))) versions.push(r);
    return { versions, total, ...(more && last ? { nextBefore: last.versionId } : {}) };
  }

  async search(type: string, pairs: QueryPairs, opts: { strict: boolean; policy?: AccessPolicy; relatedPolicy?: RelatedPolicy }): Promise<SearchResult> {
    const def = this.definition(type);
    const request = parseSearch(def, pairs, { fhirBaseUrl: this.fhirBaseUrl, strict: opts.strict });
    const related = opts.relatedPolicy ?? (() => UNRESTRICTED);
    const chained = request.chains.length ? await this.#chainClauses(request.chains, related) : [];
    const page = await this.store.search({
      type,
      clauses: [...request.clauses, ...chained, ...(opts.policy?.constraints ?? [])],
      sort: request.sort,
      count: request.summaryCount ? 0 : request.count,
      ...(request.cursor ? { cursor: request.cursor } : {}),
      total: storeTotal(request),
    });
    // Included and revincluded resources pass the same gate as a read or search of them would; what the token may
    // not see is left out, never an error.
    const included: StoredResource[] = [];
    if (request.includes.length) included.push(...(await this.#included(page.rows, request.includes, related)));
    if (request.revincludes.length) included.push(...(await this.#revincluded(page.rows, request.revincludes, related)));
    return { request, page, included: dedupe(included, page.rows) };
  }

  // A chain is a search of the target type (within what the token may search there) whose matches become the
  // reference values; bounded, so a chain that matches half the directory is refused rather than run as a huge IN.
  async #chainClauses(chains: readonly ChainSpec[], related: RelatedPolicy): Promise<Clause[]> {
    const clauses: Clause[] = [];
    for (const chain of chains) {
      const def = this.definition(chain.targetType);
      const policy = await related(chain.targetType, 'search-type');
      const rows = policy
        ? (
            await this.store.search({
              type: chain.targetType,
              clauses: [...parseSearch(def, chain.pairs, { fhirBaseUrl: this.fhirBaseUrl, strict: true }).clauses, ...policy.constraints],
              sort: 'rid',
              count: MAX_CHAIN_MATCHES + 1,
              total: false,
            })
          ).rows
        : [];
      const name = `${chain.param}.${chain.pairs[0]![0]}`;
      if (rows.length > MAX_CHAIN_MATCHES) throw badSearchParam(name, `${name} matches more than ${MAX_CHAIN_MATCHES} ${chain.targetType} resources; narrow it`);
      clauses.push(rows.length ? { kind: 'reference', param: chain.param, values: rows.map((r) => ({ type: r.type, id: r.id })) } : { kind: 'any', of: [] });
    }
    return clauses;
  }

  async #included(rows: readonly StoredResource[], specs: readonly IncludeSpec[], related: RelatedPolicy): Promise<StoredResource[]> {
    const wanted = new Map<string, Set<string>>();
    for (const row of rows) {
      if (!row.json) continue;
      const resource = JSON.parse(row.json) as Record<string, unknown>;
      for (const spec of specs) {
        for (const path of spec.param.paths) {
          for (const v of valuesAt(resource, path)) {
            const ref = v && typeof v === 'object' && typeof (v as { reference?: unknown }).reference === 'string' ? parseReference((v as { reference: string }).reference, this.fhirBaseUrl) : undefined;
            if (ref?.kind !== 'local' || (spec.targetType && ref.type !== spec.targetType) || (spec.param.targets && !spec.param.targets.includes(ref.type))) continue;
            let ids = wanted.get(ref.type);
            if (!ids) wanted.set(ref.type, (ids = new Set()));
            ids.add(ref.id);
          }
        }
      }
    }
    const kept: StoredResource[] = [];
    for (const [type, ids] of wanted) {
      if (!resourceDef(type)) continue;
      const policy = await related(type, 'read');
      if (!policy) continue;
      for (const r of await this.store.readMany(type, [...ids])) if (await this.#allowed(r, policy)) kept.push(r);
    }
    return kept;
  }

  async #revincluded(rows: readonly StoredResource[], specs: readonly RevIncludeSpec[], related: RelatedPolicy): Promise<StoredResource[]> {
    if (!rows.length) return [];
    const kept: StoredResource[] = [];
    for (const spec of specs) {
      const policy = await related(spec.sourceType, 'search-type');
      if (!policy) continue;
      const page = await this.store.search({
        type: spec.sourceType,
        clauses: [{ kind: 'reference', param: spec.param, values: rows.map((r) => ({ type: r.type, id: r.id })) }, ...policy.constraints],
        sort: 'rid',
        count: MAX_COUNT,
        total: false,
      });
      kept.push(...page.rows);
    }
    return kept;
  }

  async create(type: string, body: unknown, policy: AccessPolicy = UNRESTRICTED): Promise<StoredResource> {
    const def = this.definition(type);
    const resource = validateResource(def, body);
    // The server owns ids on create (FHIR R4 §3.1.0.9.1): a client-sent id is replaced.
    const id = randomUUID();
    const named = computeIndex(def, resource, id, this.fhirBaseUrl);
    const index = await withOwnerCompartment(def, resource, named, this.fhirBaseUrl, this.ownerOf);
    if (!indexSatisfies(policy.constraints, id, index)) throw forbidden(outsideWrite('creating', type, policy, index, namesOwner(def, named)));
    const { resource: row } = await this.store.write({ type, id, resource, index, mode: 'create' });
    return row;
  }

  async update(type: string, id: string, body: unknown, ifMatch?: string, policy: AccessPolicy = UNRESTRICTED): Promise<{ resource: StoredResource; created: boolean }> {
    const def = this.definition(type);
    if (!ID_PATTERN.test(id)) throw notFound(`"${id}" is not a valid resource id`);
    const resource = validateResource(def, body, id);
    const expected = ifMatch === undefined ? undefined : parseEtag(ifMatch);
    const named = computeIndex(def, resource, id, this.fhirBaseUrl);
    const index = await withOwnerCompartment(def, resource, named, this.fhirBaseUrl, this.ownerOf);
    if (policy.constraints.length) {
      const current = await this.store.read(type, id);
      // Neither the version being replaced nor the new one may lie outside the token's reach.
      if (current && !current.deleted && !(await this.#allowed(current, policy))) throw notFound(`${type}/${id} is not known`);
      if (!indexSatisfies(policy.constraints, id, index)) throw forbidden(outsideWrite('writing', type, policy, index, namesOwner(def, named)));
    }
    try {
      return await this.store.write({
        type,
        id,
        resource,
        index,
        mode: 'upsert',
        ...(expected !== undefined ? { ifMatch: expected } : {}),
      });
    } catch (err) {
      if (err instanceof VersionConflictError) throw preconditionFailed(`If-Match failed for ${type}/${id}: ${err.message}`);
      if (err instanceof AlreadyExistsError) throw conflict(err.message);
      throw err;
    }
  }

  async delete(type: string, id: string, policy: AccessPolicy = UNRESTRICTED): Promise<void> {
    this.definition(type);
    if (policy.constraints.length) {
      const current = ID_PATTERN.test(id) ? await this.store.read(type, id) : undefined;
      if (!current || !(await this.#allowed(current, policy))) throw notFound(`${type}/${id} is not known`);
    }
    const result = ID_PATTERN.test(id) ? await this.store.delete(type, id) : { existed: false };
    if (!result.existed) throw notFound(`${type}/${id} is not known`);
  }
}

/** Whether the resource itself names the record it goes to (not only through its targets' owners, see compartment-owner.ts). */
const namesOwner = (def: ResourceDef, named: { readonly patientId: string | null }) => named.patientId !== null || !def.compartmentFromTargets;

/** W/"3", "3" or 3 → 3; anything else is a precondition that can never hold. */
function parseEtag(value: string): number {
  const m = /^(?:W\/)?"?(\d+)"?$/.exec(value.trim());
  if (!m) throw preconditionFailed(`If-Match "${value}" is not a version ETag such as W/"3"`);
  return Number(m[1]);
}
