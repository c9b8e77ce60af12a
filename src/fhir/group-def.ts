// Group with the R4 search parameters (http://hl7.org/fhir/R4/group.html#search), so a backend service can find the
// cohort it wants to export (Group?member=Patient/x, Group?characteristic=...). Group lists many patients at once:
// it stays out of the patient compartment and away from patient-facing tokens (see MANY_PATIENTS in definitions.ts),
// and only system/ and clinicians' user/ tokens reach it. characteristic-value (a composite) is not offered.
import type { ResourceDef, SearchParamDef } from './definitions.js';
import { SP, param } from './us-core-builders.js';

const GROUP_TYPE = 'http://hl7.org/fhir/group-type';

const groupParam = (name: string, kind: SearchParamDef['kind'], description: string, paths: readonly string[], extra: Partial<Pick<SearchParamDef, 'implicitSystem' | 'targets'>> = {}): SearchParamDef =>
  param('Group', name, kind, description, paths, { definition: `${SP}Group-${name}`, ...extra });

export const GROUP_DEF: ResourceDef = {
  type: 'Group',
  profile: 'http://hl7.org/fhir/StructureDefinition/Group',
  supportedProfiles: [],
  interactions: ['read', 'vread', 'history-instance', 'search-type', 'create', 'update', 'delete'],
  params: [
    groupParam('actual', 'token', 'Descriptive (false) or actual (true): whether the members are listed', ['actual']),
    groupParam('characteristic', 'token', 'Kind of characteristic the members share (Group.characteristic.code)', ['characteristic.code']),
    groupParam('code', 'token', 'The kind of resources contained', ['code']),
    groupParam('exclude', 'token', 'Whether a characteristic includes (false) or excludes (true) the members who have it', ['characteristic.exclude']),
    groupParam('identifier', 'token', 'A business identifier of the Group', ['identifier']),
    groupParam('managing-entity', 'reference', "Who maintains the Group's definition", ['managingEntity'], { targets: ['Organization', 'RelatedPerson', 'Practitioner', 'PractitionerRole'] }),
    groupParam('member', 'reference', 'A member of the Group', ['member.entity'], { targets: ['Patient', 'Practitioner', 'PractitionerRole', 'Device', 'Medication', 'Substance', 'Group'] }),
    groupParam('type', 'token', 'The type of resources the Group contains (person, animal, practitioner, device, medication, substance)', ['type'], { implicitSystem: GROUP_TYPE }),
    groupParam('value', 'token', 'The value of a characteristic, when coded or true/false', ['characteristic.valueCodeableConcept', 'characteristic.valueBoolean']),
  ],
  patientPaths: [],
  inCompartment: false,
  sharedWithPatients: false,
  // R4: type and actual are 1..1, and type has a required binding.
  required: [['type'], ['actual']],
  codes: { type: ['person', 'animal', 'practitioner', 'device', 'medication', 'substance'] },
  includes: ['Group:member', 'Group:managing-entity'],
  revincludes: [],
  combinations: [],
  support: 'r4',
  consentGroup: 'reference-data',
};
