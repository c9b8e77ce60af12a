// One imported resource → what to do with it: write it (validated and indexed as the API would), leave it out (an
// R4 type that is never stored), or report it. Pure, so it runs wherever the resources are read.
import { resourceDef } from '../definitions.js';
import { computeIndex } from '../index-rows.js';
import { FhirError } from '../outcome.js';
import { R4_RESOURCE_TYPES } from '../r4-catalog.js';
import { ID_PATTERN } from '../references.js';
import { validateResource } from '../validate.js';
import type { WriteInput } from '../../store/resources.js';

export type BatchInput = Omit<WriteInput, 'mode' | 'ifMatch'>;

export type Prepared =
  | { readonly kind: 'write'; readonly input: BatchInput }
  /** A valid R4 type the store never holds (see NOT_STORED_REASON) */
  | { readonly kind: 'not-stored'; readonly type: string }
  | { readonly kind: 'error'; readonly resource?: string; readonly message: string };

/**
 * Why the R4 types that are not served are left out: a Bundle is imported as its entries, so only one nested as an
 * entry reaches here; Parameters and OperationOutcome are messages, not records; AuditEvent is this server's own
 * audit trail, which only the server writes.
 */
export const NOT_STORED_REASON =
  'containers and messages, not records: a Bundle nested as an entry (its own entries are not imported), Parameters, OperationOutcome; and AuditEvent, which only this server writes (its audit trail)';

const R4_TYPES = new Set(R4_RESOURCE_TYPES);

export function prepare(value: unknown, fhirBaseUrl: string): Prepared {
  const r = value as { resourceType?: unknown; id?: unknown } | null;
  if (!r || typeof r !== 'object' || Array.isArray(r) || typeof r.resourceType !== 'string') {
    return { kind: 'error', message: 'not a FHIR resource (no resourceType)' };
  }
  const def = resourceDef(r.resourceType);
  if (!def) {
    if (R4_TYPES.has(r.resourceType)) return { kind: 'not-stored', type: r.resourceType };
    // Every R4 type is served, so this is another FHIR version's type (or a typo): the data is not R4.
    const label = typeof r.id === 'string' ? `${r.resourceType}/${r.id}` : r.resourceType;
    return { kind: 'error', resource: label, message: `"${r.resourceType}" is not a FHIR R4 resource type` };
  }
  // Without an id a re-import could not find the resource again and would duplicate it.
  if (typeof r.id !== 'string') return { kind: 'error', resource: r.resourceType, message: 'the resource has no id' };
  const label = `${r.resourceType}/${r.id}`;
  if (!ID_PATTERN.test(r.id)) return { kind: 'error', resource: label, message: `"${r.id}" is not a valid FHIR id` };
  try {
    const resource = validateResource(def, r);
    return { kind: 'write', input: { type: def.type, id: r.id, resource, index: computeIndex(def, resource, r.id, fhirBaseUrl) } };
  } catch (err) {
    // Whatever one resource trips over (even an indexing bug) is that resource's error, not the import's.
    const message =
      err instanceof FhirError
        ? err.issues.map((i) => `${i.expression?.[0] ? `${i.expression[0]}: ` : ''}${i.diagnostics}`).join('; ')
        : `could not be indexed: ${(err as Error).message}`;
    return { kind: 'error', resource: label, message };
  }
}
