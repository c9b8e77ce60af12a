// The CapabilityStatement, generated from the same definitions the server runs on, so it lists exactly what works.
import type { CapabilityStatement, CapabilityStatementRestResource, CapabilityStatementRestSecurity } from 'fhir/r4.js';
import { COMMON_PARAMS, RESOURCE_DEFS, type ResourceDef } from './definitions.js';

export interface CapabilityOptions {
  readonly fhirBaseUrl: string;
  readonly softwareVersion: string;
  /** Filled in by the authorization server (SMART oauth-uris); absent until it is mounted */
  readonly security?: CapabilityStatementRestSecurity;
  readonly date: string;
}

export function buildCapabilityStatement(opts: CapabilityOptions, defs: readonly ResourceDef[] = RESOURCE_DEFS): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: opts.date,
    publisher: 'SMART on FHIR server',
    kind: 'instance',
    software: { name: 'smart-fhir-server', version: opts.softwareVersion },
    implementation: { description: 'SMART on FHIR authorization server and FHIR R4 API', url: opts.fhirBaseUrl },
    fhirVersion: '4.0.1',
    format: ['json', 'application/fhir+json'],
    patchFormat: [],
    instantiates: ['http://hl7.org/fhir/us/core/CapabilityStatement/us-core-server'],
    rest: [
      {
        mode: 'server',
        ...(opts.security ? { security: opts.security } : {}),
        resource: defs.map((d) => ({
          type: d.type as CapabilityStatementRestResource['type'],
          profile: d.profile,
          ...(d.supportedProfiles.length ? { supportedProfile: [...d.supportedProfiles] } : {}),
          interaction: d.interactions.map((code) => ({ code })),
          versioning: 'versioned-update' as const,
          readHistory: true,
          updateCreate: true,
          conditionalCreate: false,
          conditionalRead: 'not-supported' as const,
          conditionalUpdate: false,
          conditionalDelete: 'not-supported' as const,
          ...(d.includes.length ? { searchInclude: [...d.includes] } : {}),
          searchParam: [
            ...COMMON_PARAMS.map((p) => ({ name: p.name, definition: p.definition, type: p.kind as 'token' | 'date', documentation: p.description })),
            ...d.params.map((p) => ({ name: p.name, definition: p.definition, type: p.kind, documentation: p.description })),
          ],
        })),
      },
    ],
  };
}
