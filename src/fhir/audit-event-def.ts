// AuditEvent as the CapabilityStatement describes it: read and search only, over the audit trail (audit-event.ts maps
// the rows, audit-event-routes.ts serves them). It is not one of RESOURCE_DEFS: nothing stores, indexes, imports,
// exports or consents to it; the paths below say where each parameter looks, they are never indexed.
import type { ResourceDef, SearchParamDef } from './definitions.js';
import { SP } from './definitions.js';

const p = (name: string, kind: SearchParamDef['kind'], description: string, paths: readonly string[]): SearchParamDef => ({
  name,
  kind,
  description,
  definition: `${SP}AuditEvent-${name}`,
  paths,
});

export const AUDIT_EVENT_DEF: ResourceDef = {
  type: 'AuditEvent',
  profile: 'http://hl7.org/fhir/StructureDefinition/AuditEvent',
  supportedProfiles: [],
  interactions: ['read', 'search-type'],
  params: [
    p('date', 'date', 'When the event was recorded (also _lastUpdated)', ['recorded']),
    p('patient', 'reference', 'The patient whose record the event is about', ['entity.what']),
    p('entity', 'reference', 'The resource read or changed (Observation/123), or the patient (Patient/123)', ['entity.what']),
    p('agent', 'reference', "Who acted: an app's client_id or an account id (agent.who.identifier.value)", ['agent.who']),
    p('altid', 'token', 'The username of the person who acted', ['agent.altId']),
    p('type', 'token', 'rest (a FHIR request), DCM 110114 (User Authentication) or DCM 110113 (Security Alert)', ['type']),
    p('subtype', 'token', 'The FHIR interaction (read, search-type, ...), a DICOM subtype (110122 Login, ...) or the security event code (user.login, token.issued, ...)', ['subtype']),
    p('action', 'token', 'C, R, U, D or E', ['action']),
    p('outcome', 'token', '0 success, 4 refused or failed, 8 server error', ['outcome']),
  ],
  patientPaths: [],
  inCompartment: false,
  sharedWithPatients: false,
  required: [],
  includes: [],
  revincludes: [],
  combinations: [],
  support: 'r4',
  consentGroup: 'reference-data',
};
