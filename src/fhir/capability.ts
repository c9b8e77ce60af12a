// The CapabilityStatement, generated from the same definitions the server runs on, so it lists exactly what works.
import type { CapabilityStatement, CapabilityStatementRestResource, CapabilityStatementRestSecurity } from 'fhir/r4.js';
import { COMMON_PARAMS, RESOURCE_DEFS, US_CORE_VERSION, type ResourceDef } from './definitions.js';
import { AUDIT_EVENT_DEF } from './audit-event-def.js';

const COMBINATION = 'http://hl7.org/fhir/StructureDefinition/capabilitystatement-search-parameter-combination';
const EXPECTATION = 'http://hl7.org/fhir/StructureDefinition/capabilitystatement-expectation';

export interface CapabilityOptions {
  readonly fhirBaseUrl: string;
  readonly softwareVersion: string;
  /** Filled in by the authorization server (SMART oauth-uris); absent until it is mounted */
  readonly security?: CapabilityStatementRestSecurity;
  readonly date: string;
  /** Bulk Data export is served (it needs the authorization server: backend-services tokens) */
  readonly bulkExport?: boolean;
  /** The audit trail is served as AuditEvent, read and search only (it needs the authorization server) */
  readonly auditEvents?: boolean;
}

const BULK = 'http://hl7.org/fhir/uv/bulkdata';
const TOTAL_DOCUMENTATION =
  'Bundle.total. Without _total: exact on the first page, absent on the pages after it. _total=accurate: exact on every ' +
  'page; _total=estimate: an upper bound, never below the number of matches (it counts the type, patient, _id and ' +
  '_lastUpdated criteria only, on the resources table alone); _total=none: absent. A first page that holds every match always has ' +
  'its exact total; _summary=count is always exact.';
const operationsOf = (type: string, bulk: boolean) => [
  ...(type === 'Patient' ? [{ name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' }] : []),
  ...(type === 'DocumentReference' ? [{ name: 'docref', definition: 'http://hl7.org/fhir/us/core/OperationDefinition/docref' }] : []),
  ...(bulk && type === 'Patient' ? [{ name: 'export', definition: `${BULK}/OperationDefinition/patient-export` }] : []),
  ...(bulk && type === 'Group' ? [{ name: 'export', definition: `${BULK}/OperationDefinition/group-export` }] : []),
];

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
    instantiates: [`http://hl7.org/fhir/us/core/CapabilityStatement/us-core-server|${US_CORE_VERSION}`, ...(opts.bulkExport ? [`${BULK}/CapabilityStatement/bulk-data|2.0.0`] : [])],
    rest: [
      {
        mode: 'server',
        ...(opts.security ? { security: opts.security } : {}),
        resource: [...defs, ...(opts.auditEvents ? [AUDIT_EVENT_DEF] : [])].map((d) => ({
          type: d.type as CapabilityStatementRestResource['type'],
          profile: d.profile,
          ...(d.supportedProfiles.length ? { supportedProfile: [...d.supportedProfiles] } : {}),
          interaction: d.interactions.map((code) => ({ code })),
          // A read-only type (AuditEvent) has one version per resource and nothing to update.
          versioning: d.interactions.includes('update') ? ('versioned-update' as const) : ('no-version' as const),
          readHistory: d.interactions.includes('vread'),
          updateCreate: d.interactions.includes('update'),
          conditionalCreate: false,
          conditionalRead: 'not-supported' as const,
          conditionalUpdate: false,
          conditionalDelete: 'not-supported' as const,
          ...(d.includes.length ? { searchInclude: [...d.includes] } : {}),
          ...(d.revincludes.length ? { searchRevInclude: [...d.revincludes] } : {}),
          // The searches US Core names, as its own CapabilityStatement writes them (one extension per combination).
          ...(d.combinations.some((c) => c.names.length > 1)
            ? {
                extension: d.combinations
                  .filter((c) => c.names.length > 1)
                  .map((c) => ({
                    url: COMBINATION,
                    extension: [{ url: EXPECTATION, valueCode: c.expectation }, ...c.names.map((n) => ({ url: 'required', valueString: n }))],
                  })),
              }
            : {}),
          ...(operationsOf(d.type, Boolean(opts.bulkExport)).length ? { operation: operationsOf(d.type, Boolean(opts.bulkExport)) } : {}),
          documentation: d.support === 'us-core' ? `US Core ${US_CORE_VERSION} search` : d.support === 'r4' ? 'R4 search parameters' : 'Basic search: _id, _lastUpdated and patient',
          searchParam: [
            ...COMMON_PARAMS.map((p) => ({ name: p.name, definition: p.definition, type: p.kind as 'token' | 'date', documentation: p.description })),
            ...d.params.map((p) => ({ name: p.name, definition: p.definition, type: p.kind, documentation: p.description })),
          ],
        })),
        // Result parameters every search takes; _total is listed for its default, which FHIR leaves to the server.
        searchParam: [{ name: '_total', type: 'special', documentation: TOTAL_DOCUMENTATION }],
        ...(opts.bulkExport ? { operation: [{ name: 'export', definition: `${BULK}/OperationDefinition/export` }] } : {}),
      },
    ],
  };
}
