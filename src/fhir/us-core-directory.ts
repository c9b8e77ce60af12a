// The US Core 6.1.0 types outside the patient compartment: directories and drug definitions shared by every record,
// readable by a patient-facing token whose scopes name them and never writable by one (see access-filter.ts).
import type { ResourceDef } from './definitions.js';
import { SP, address, combos, def, humanName, identifier, param, status } from './us-core-builders.js';

export const US_CORE_DIRECTORY_DEFS: readonly ResourceDef[] = [
  def({
    type: 'Location',
    profiles: ['us-core-location'],
    patientPaths: [],
    outsideCompartment: true,
    codes: { status: ['active', 'suspended', 'inactive'] },
    consentGroup: 'providers',
    combinations: combos(['name', 'address'], ['address-city', 'address-state', 'address-postalcode']),
    params: [
      param('Location', 'name', 'string', 'The name or an alias of the location', ['name', 'alias']),
      ...address('Location'),
      identifier('Location'),
    ],
  }),
  def({
    type: 'Medication',
    profiles: ['us-core-medication'],
    patientPaths: [],
    outsideCompartment: true,
    consentGroup: 'medications',
    combinations: [],
    params: [param('Medication', 'code', 'token', 'The medication (RxNorm)', ['code'], { definition: `${SP}clinical-code` }), identifier('Medication')],
  }),
  def({
    type: 'Organization',
    profiles: ['us-core-organization'],
    patientPaths: [],
    outsideCompartment: true,
    consentGroup: 'providers',
    combinations: combos(['name', 'address']),
    params: [
      param('Organization', 'name', 'string', 'The name or an alias of the organization', ['name', 'alias']),
      param('Organization', 'address', 'string', 'Any part of an address', ['address.line', 'address.city', 'address.district', 'address.state', 'address.postalCode', 'address.country', 'address.text']),
      identifier('Organization'),
    ],
  }),
  def({
    type: 'Practitioner',
    profiles: ['us-core-practitioner'],
    patientPaths: [],
    outsideCompartment: true,
    consentGroup: 'providers',
    combinations: combos(['name', 'identifier'], ['_id']),
    params: [
      param('Practitioner', 'name', 'string', 'Any part of a name', humanName),
      param('Practitioner', 'identifier', 'token', 'A business identifier (NPI, ...)', ['identifier']),
    ],
  }),
  def({
    type: 'PractitionerRole',
    profiles: ['us-core-practitionerrole'],
    patientPaths: [],
    outsideCompartment: true,
    includes: ['PractitionerRole:practitioner', 'PractitionerRole:endpoint'],
    consentGroup: 'providers',
    combinations: combos(['specialty', 'practitioner']),
    params: [
      param('PractitionerRole', 'specialty', 'token', 'The practitioner\'s specialty (NUCC)', ['specialty']),
      param('PractitionerRole', 'practitioner', 'reference', 'The practitioner in the role (chains: practitioner.name, practitioner.identifier)', ['practitioner'], { targets: ['Practitioner'], chains: ['name', 'identifier'] }),
      param('PractitionerRole', 'endpoint', 'reference', 'Technical endpoints for the role', ['endpoint'], { definition: `${SP}PractitionerRole-endpoint`, targets: ['Endpoint'] }),
      identifier('PractitionerRole'),
    ],
  }),
];
