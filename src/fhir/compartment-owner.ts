// A resource whose compartment is its subject's owner: a Provenance about a Condition belongs to the record the
// Condition is in, though it never names the patient. Without this a patient could not see where their own data
// came from (US Core's Provenance targets the clinical resources, not always the Patient).
import type { IndexData } from '../store/resource-query.js';
import type { ResourceDef } from './definitions.js';
import { valuesAt } from './index-rows.js';
import { parseReference } from './references.js';

/** The owner of `Type/id` as stored: its compartment's patient, null when it has none, undefined when unknown. */
export type OwnerLookup = (type: string, id: string) => Promise<string | null | undefined>;

/** The local `Type/id` references at the definition's owner paths, in document order. */
export function ownerCandidates(def: ResourceDef, resource: Record<string, unknown>, fhirBaseUrl: string): { type: string; id: string }[] {
  const out: { type: string; id: string }[] = [];
  for (const path of def.compartmentFromTargets ?? []) {
    for (const v of valuesAt(resource, path)) {
      const raw = v && typeof v === 'object' ? (v as { reference?: unknown }).reference : undefined;
      const ref = typeof raw === 'string' ? parseReference(raw, fhirBaseUrl) : undefined;
      if (ref?.kind === 'local' && ref.type !== 'Patient') out.push({ type: ref.type, id: ref.id });
    }
  }
  return out;
}

/**
 * The index with its compartment taken from the first target that has an owner, when the resource names no patient
 * itself. Targets in several records are not merged: the first owner found decides, as with patient paths.
 */
export async function withOwnerCompartment(def: ResourceDef, resource: Record<string, unknown>, index: IndexData, fhirBaseUrl: string, owner: OwnerLookup): Promise<IndexData> {
  if (index.patientId !== null || !def.compartmentFromTargets) return index;
  for (const target of ownerCandidates(def, resource, fhirBaseUrl)) {
    const patientId = await owner(target.type, target.id);
    if (patientId) return { ...index, patientId };
  }
  return index;
}
