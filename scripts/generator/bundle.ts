// Seed files are FHIR transaction Bundles of PUTs, so loading them twice is harmless and every
// resource keeps the id the documentation and tests refer to.
import type { Bundle, FhirResource } from 'fhir/r4.js';

export function transactionBundle(resources: readonly FhirResource[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((resource) => {
      const id = resource.id;
      if (id === undefined) throw new Error(`${resource.resourceType} without an id`);
      return {
        fullUrl: `urn:uuid:${id}`,
        resource,
        request: { method: 'PUT' as const, url: `${resource.resourceType}/${id}` },
      };
    }),
  };
}
