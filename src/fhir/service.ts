// FHIR interactions as domain functions: parse and check input, call the store, map store errors to FHIR errors.
// Routes call these and only format the reply. `constraints` is where access rules (patient compartment, granular
// scopes) are AND-ed in by the authorization layer.
import { randomUUID } from 'node:crypto';
import { AlreadyExistsError, VersionConflictError, type ResourceStore, type SearchPage, type StoredResource } from '../store/resources.js';
import { resourceDef, type ResourceDef } from './definitions.js';
import { computeIndex } from './index-rows.js';
import { conflict, gone, notFound, preconditionFailed } from './outcome.js';
import { ID_PATTERN } from './references.js';
import { parseSearch, type QueryPairs, type SearchRequest } from './search-parse.js';
import { validateResource } from './validate.js';
import { UNRESTRICTED, forbidden, indexSatisfies, outsideWrite, type AccessPolicy } from './access-filter.js';
import { then, type MaybePromise } from '../maybe-promise.js';

export interface SearchResult {
  readonly request: SearchRequest;
  readonly page: SearchPage;
  readonly included: readonly StoredResource[];
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
    if (row.deleted) {
      // Deleted rows have no index rows left to test granular filters against; judge by compartment alone.
      return policy.constraints.every((c) => c.kind !== 'compartment' || (row.patientId !== null && c.patientIds.includes(row.patientId)));
    }
    return this.store
      .search({ type: row.type, clauses: [{ kind: 'id', ids: [row.id] }, ...policy.constraints], sort: 'rid', count: 1, total: false })
      .then((page) => page.rows.length > 0);
  }

  async vread(type: string, id: string, versionId: string, policy: AccessPolicy = UNRESTRICTED): Promise<StoredResource> {
    this.definition(type);
    if (policy.constraints.length) {
      const current = ID_PATTERN.test(id) ? await this.store.read(type, id) : undefined;
      if (!current || !(await this.#allowed(current, policy))) throw notFound(`${type}/${id}/_history/${versionId} is not known`);
    }
    if (!/^\d+$/.test(versionId) || !ID_PATTERN.test(id)) throw notFound(`${type}/${id}/_history/${versionId} is not known`);
    const row = await this.store.readVersion(type, id, Number(versionId));
    if (!row) throw notFound(`${type}/${id}/_history/${versionId} is not known`);
    if (row.deleted) throw gone(`${type}/${id} version ${versionId} is a deletion`);
    return row;
  }

  async history(type: string, id: string, count: number, before?: number, policy: AccessPolicy = UNRESTRICTED): Promise<HistoryResult> {
    this.definition(type);
    const exists = ID_PATTERN.test(id) ? await this.store.read(type, id) : undefined;
    if (!exists || !(await this.#allowed(exists, policy))) throw notFound(`${type}/${id} is not known`);
    const { rows, more, total } = await this.store.history(type, id, count, before);
    const last = rows[rows.length - 1];
    return { versions: rows, total, ...(more && last ? { nextBefore: last.versionId } : {}) };
  }

  async search(type: string, pairs: QueryPairs, opts: { strict: boolean; policy?: AccessPolicy; includePolicy?: AccessPolicy }): Promise<SearchResult> {
    const def = this.definition(type);
    const request = parseSearch(def, pairs, { fhirBaseUrl: this.fhirBaseUrl, strict: opts.strict });
    const page = await this.store.search({
      type,
      clauses: [...request.clauses, ...(opts.policy?.constraints ?? [])],
      sort: request.sort,
      count: request.summaryCount ? 0 : request.count,
      ...(request.cursor ? { cursor: request.cursor } : {}),
      total: request.summaryCount || request.total === 'accurate' || (request.total === 'first-page' && !request.cursor),
    });
    // Included patients pass the same gate as a read of them would; the caller supplies the Patient policy.
    const included = request.includes.length ? await this.#included(page.rows, opts.includePolicy ?? UNRESTRICTED) : [];
    return { request, page, included };
  }

  // Every _include we offer points at the patient, so the compartment column already names them.
  async #included(rows: readonly StoredResource[], policy: AccessPolicy): Promise<StoredResource[]> {
    const ids = [...new Set(rows.map((r) => r.patientId).filter((p): p is string => p !== null))];
    const patients = await this.store.readMany('Patient', ids);
    const kept: StoredResource[] = [];
    for (const p of patients) if (await this.#allowed(p, policy)) kept.push(p);
    return kept;
  }

  async create(type: string, body: unknown, policy: AccessPolicy = UNRESTRICTED): Promise<StoredResource> {
    const def = this.definition(type);
    const resource = validateResource(def, body);
    // The server owns ids on create (FHIR R4 §3.1.0.9.1): a client-sent id is replaced.
    const id = randomUUID();
    const index = computeIndex(def, resource, id, this.fhirBaseUrl);
    if (!indexSatisfies(policy.constraints, id, index)) throw forbidden(outsideWrite('creating', type, policy, index));
    const { resource: row } = await this.store.write({ type, id, resource, index, mode: 'create' });
    return row;
  }

  async update(type: string, id: string, body: unknown, ifMatch?: string, policy: AccessPolicy = UNRESTRICTED): Promise<{ resource: StoredResource; created: boolean }> {
    const def = this.definition(type);
    if (!ID_PATTERN.test(id)) throw notFound(`"${id}" is not a valid resource id`);
    const resource = validateResource(def, body, id);
    const expected = ifMatch === undefined ? undefined : parseEtag(ifMatch);
    const index = computeIndex(def, resource, id, this.fhirBaseUrl);
    if (policy.constraints.length) {
      const current = await this.store.read(type, id);
      // Neither the version being replaced nor the new one may lie outside the token's reach.
      if (current && !current.deleted && !(await this.#allowed(current, policy))) throw notFound(`${type}/${id} is not known`);
      if (!indexSatisfies(policy.constraints, id, index)) throw forbidden(outsideWrite('writing', type, policy, index));
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

/** W/"3", "3" or 3 → 3; anything else is a precondition that can never hold. */
function parseEtag(value: string): number {
  const m = /^(?:W\/)?"?(\d+)"?$/.exec(value.trim());
  if (!m) throw preconditionFailed(`If-Match "${value}" is not a version ETag such as W/"3"`);
  return Number(m[1]);
}
