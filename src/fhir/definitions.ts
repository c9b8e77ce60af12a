// The resource types we serve and their search parameters: the one definition that indexing (index-rows.ts),
// query parsing (search-parse.ts) and the CapabilityStatement (capability.ts) all read.

export type ParamKind = 'token' | 'string' | 'date' | 'reference';

export interface SearchParamDef {
  readonly name: string;
  readonly kind: ParamKind;
  readonly description: string;
  /** Canonical SearchParameter URL for the CapabilityStatement */
  readonly definition: string;
  /** Element paths (dot-separated; arrays are walked) whose values are indexed */
  readonly paths: readonly string[];
  /** token on a `code` element: the system the code implicitly belongs to, so `system|code` searches work */
  readonly implicitSystem?: string;
  /** reference: the resource types it may point to */
  readonly targets?: readonly string[];
  /** The patient compartment parameter: searched on the resource's compartment column, not an index table */
  readonly compartment?: boolean;
  /** Index these values under another parameter's rows (patient shares subject's rows, for example) */
  readonly indexAs?: string;
}

export type Interaction = 'read' | 'vread' | 'history-instance' | 'search-type' | 'create' | 'update' | 'delete';

export interface ResourceDef {
  readonly type: string;
  readonly profile: string;
  readonly supportedProfiles: readonly string[];
  readonly interactions: readonly Interaction[];
  readonly params: readonly SearchParamDef[];
  /** Where the owning patient's reference is (absent for Patient, which is its own compartment) */
  readonly patientPaths: readonly string[];
  /** The search parameter `_sort=date` sorts by */
  readonly dateParam: string;
  /** Elements an instance must carry (R4 cardinality 1..*), checked on create and update */
  readonly required: readonly (readonly string[])[];
  /** `_include` values accepted, e.g. Observation:patient */
  readonly includes: readonly string[];
}

const SP = 'http://hl7.org/fhir/SearchParameter/';
const USC = 'http://hl7.org/fhir/us/core/SearchParameter/';
const CS = 'http://hl7.org/fhir/';
const ALL: readonly Interaction[] = ['read', 'vread', 'history-instance', 'search-type', 'create', 'update', 'delete'];

const identifier = (type: string): SearchParamDef => ({
  name: 'identifier',
  kind: 'token',
  description: `A business identifier of the ${type}`,
  definition: `${SP}clinical-identifier`,
  paths: ['identifier'],
});

const patientRef = (type: string, path: string): SearchParamDef => ({
  name: 'patient',
  kind: 'reference',
  description: `Who the ${type} is about (the patient compartment)`,
  definition: `${USC}us-core-${type.toLowerCase()}-patient`,
  paths: [path],
  targets: ['Patient'],
  compartment: true,
});

export const RESOURCE_DEFS: readonly ResourceDef[] = [
  {
    type: 'Patient',
    profile: 'http://hl7.org/fhir/StructureDefinition/Patient',
    supportedProfiles: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient'],
    interactions: ALL,
    patientPaths: [],
    dateParam: 'birthdate',
    required: [],
    includes: [],
    params: [
      identifier('Patient'),
      { name: 'name', kind: 'string', description: 'Any part of a name: family, given, prefix, suffix or text', definition: `${USC}us-core-patient-name`, paths: ['name.family', 'name.given', 'name.prefix', 'name.suffix', 'name.text'] },
      { name: 'family', kind: 'string', description: 'Family name', definition: `${USC}us-core-patient-family`, paths: ['name.family'] },
      { name: 'given', kind: 'string', description: 'Given name', definition: `${USC}us-core-patient-given`, paths: ['name.given'] },
      { name: 'birthdate', kind: 'date', description: 'Date of birth', definition: `${USC}us-core-patient-birthdate`, paths: ['birthDate'] },
      { name: 'gender', kind: 'token', description: 'Administrative gender', definition: `${USC}us-core-patient-gender`, paths: ['gender'], implicitSystem: `${CS}administrative-gender` },
      { name: 'death-date', kind: 'date', description: 'Date of death', definition: `${USC}us-core-patient-death-date`, paths: ['deceasedDateTime'] },
      { name: 'address', kind: 'string', description: 'Any part of an address', definition: `${SP}individual-address`, paths: ['address.line', 'address.city', 'address.district', 'address.state', 'address.postalCode', 'address.country', 'address.text'] },
      { name: 'address-city', kind: 'string', description: 'City of an address', definition: `${SP}individual-address-city`, paths: ['address.city'] },
      { name: 'address-state', kind: 'string', description: 'State of an address', definition: `${SP}individual-address-state`, paths: ['address.state'] },
      { name: 'address-postalcode', kind: 'string', description: 'Postal code of an address', definition: `${SP}individual-address-postalcode`, paths: ['address.postalCode'] },
      { name: 'telecom', kind: 'token', description: 'A phone number, e-mail address or other contact point', definition: `${SP}individual-telecom`, paths: ['telecom'] },
    ],
  },
  {
    type: 'Observation',
    profile: 'http://hl7.org/fhir/StructureDefinition/Observation',
    supportedProfiles: [
      'http://hl7.org/fhir/us/core/StructureDefinition/us-core-observation-lab',
      'http://hl7.org/fhir/us/core/StructureDefinition/us-core-vital-signs',
      'http://hl7.org/fhir/us/core/StructureDefinition/us-core-blood-pressure',
      'http://hl7.org/fhir/us/core/StructureDefinition/us-core-smokingstatus',
    ],
    interactions: ALL,
    patientPaths: ['subject'],
    dateParam: 'date',
    required: [['status'], ['code']],
    includes: ['Observation:patient', 'Observation:subject'],
    params: [
      patientRef('Observation', 'subject'),
      { name: 'subject', kind: 'reference', description: 'Who the observation is about', definition: `${SP}Observation-subject`, paths: ['subject'], targets: ['Patient', 'Group', 'Device', 'Location'] },
      { name: 'category', kind: 'token', description: 'Classification of the observation (laboratory, vital-signs, ...)', definition: `${USC}us-core-observation-category`, paths: ['category'] },
      { name: 'code', kind: 'token', description: 'What was observed (LOINC)', definition: `${USC}us-core-observation-code`, paths: ['code'] },
      { name: 'date', kind: 'date', description: 'Clinically relevant time of the observation', definition: `${USC}us-core-observation-date`, paths: ['effectiveDateTime', 'effectivePeriod', 'effectiveInstant'] },
      { name: 'status', kind: 'token', description: 'Status of the observation', definition: `${USC}us-core-observation-status`, paths: ['status'], implicitSystem: `${CS}observation-status` },
      { name: 'encounter', kind: 'reference', description: 'The encounter the observation belongs to', definition: `${SP}clinical-encounter`, paths: ['encounter'], targets: ['Encounter'] },
      identifier('Observation'),
    ],
  },
  {
    type: 'AllergyIntolerance',
    profile: 'http://hl7.org/fhir/StructureDefinition/AllergyIntolerance',
    supportedProfiles: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-allergyintolerance'],
    interactions: ALL,
    patientPaths: ['patient'],
    dateParam: 'date',
    required: [['patient']],
    includes: ['AllergyIntolerance:patient'],
    params: [
      patientRef('AllergyIntolerance', 'patient'),
      { name: 'clinical-status', kind: 'token', description: 'active | inactive | resolved', definition: `${USC}us-core-allergyintolerance-clinical-status`, paths: ['clinicalStatus'] },
      { name: 'verification-status', kind: 'token', description: 'unconfirmed | confirmed | refuted | entered-in-error', definition: `${SP}AllergyIntolerance-verification-status`, paths: ['verificationStatus'] },
      { name: 'category', kind: 'token', description: 'food | medication | environment | biologic', definition: `${SP}AllergyIntolerance-category`, paths: ['category'], implicitSystem: `${CS}allergy-intolerance-category` },
      { name: 'criticality', kind: 'token', description: 'low | high | unable-to-assess', definition: `${SP}AllergyIntolerance-criticality`, paths: ['criticality'], implicitSystem: `${CS}allergy-intolerance-criticality` },
      { name: 'code', kind: 'token', description: 'The substance (SNOMED CT or RxNorm)', definition: `${SP}clinical-code`, paths: ['code', 'reaction.substance'] },
      { name: 'date', kind: 'date', description: 'When the allergy was recorded', definition: `${SP}AllergyIntolerance-date`, paths: ['recordedDate'] },
      { name: 'onset', kind: 'date', description: 'When the reaction started', definition: `${SP}AllergyIntolerance-onset`, paths: ['onsetDateTime', 'onsetPeriod', 'reaction.onset'] },
      identifier('AllergyIntolerance'),
    ],
  },
  {
    type: 'MedicationStatement',
    profile: 'http://hl7.org/fhir/StructureDefinition/MedicationStatement',
    supportedProfiles: [],
    interactions: ALL,
    patientPaths: ['subject'],
    dateParam: 'effective',
    required: [['status'], ['medicationCodeableConcept', 'medicationReference'], ['subject']],
    includes: ['MedicationStatement:patient', 'MedicationStatement:subject'],
    params: [
      patientRef('MedicationStatement', 'subject'),
      { name: 'subject', kind: 'reference', description: 'Who is taking the medication', definition: `${SP}MedicationStatement-subject`, paths: ['subject'], targets: ['Patient', 'Group'] },
      { name: 'status', kind: 'token', description: 'active | completed | entered-in-error | intended | stopped | on-hold | unknown | not-taken', definition: `${SP}medications-status`, paths: ['status'], implicitSystem: `${CS}CodeSystem/medication-statement-status` },
      { name: 'effective', kind: 'date', description: 'When the medication was, is or will be taken', definition: `${SP}MedicationStatement-effective`, paths: ['effectiveDateTime', 'effectivePeriod'] },
      { name: 'code', kind: 'token', description: 'The medication (RxNorm)', definition: `${SP}medications-code`, paths: ['medicationCodeableConcept'] },
      { name: 'category', kind: 'token', description: 'Type of medication usage', definition: `${SP}MedicationStatement-category`, paths: ['category'] },
      identifier('MedicationStatement'),
    ],
  },
  {
    type: 'Immunization',
    profile: 'http://hl7.org/fhir/StructureDefinition/Immunization',
    supportedProfiles: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-immunization'],
    interactions: ALL,
    patientPaths: ['patient'],
    dateParam: 'date',
    required: [['status'], ['vaccineCode'], ['patient'], ['occurrenceDateTime', 'occurrenceString']],
    includes: ['Immunization:patient'],
    params: [
      patientRef('Immunization', 'patient'),
      { name: 'date', kind: 'date', description: 'When the vaccine was given', definition: `${USC}us-core-immunization-date`, paths: ['occurrenceDateTime'] },
      { name: 'status', kind: 'token', description: 'completed | entered-in-error | not-done', definition: `${USC}us-core-immunization-status`, paths: ['status'], implicitSystem: `${CS}event-status` },
      { name: 'vaccine-code', kind: 'token', description: 'The vaccine (CVX)', definition: `${SP}Immunization-vaccine-code`, paths: ['vaccineCode'] },
      { name: 'lot-number', kind: 'string', description: 'Vaccine lot number', definition: `${SP}Immunization-lot-number`, paths: ['lotNumber'] },
      identifier('Immunization'),
    ],
  },
];

/** Parameters every type accepts, handled by the search machinery itself. */
export const COMMON_PARAMS: readonly { name: string; kind: ParamKind | 'special'; description: string; definition: string }[] = [
  { name: '_id', kind: 'token', description: 'Logical id of the resource', definition: `${SP}Resource-id` },
  { name: '_lastUpdated', kind: 'date', description: 'When the resource version last changed', definition: `${SP}Resource-lastUpdated` },
];

/** Result parameters (not filters) that search understands. */
export const RESULT_PARAMS = ['_count', '_sort', '_total', '_summary', '_include', '_revinclude', '_format', '_pretty', '_cursor'] as const;

const BY_TYPE = new Map(RESOURCE_DEFS.map((d) => [d.type, d]));

export function resourceDef(type: string): ResourceDef | undefined {
  return BY_TYPE.get(type);
}

export function searchParam(def: ResourceDef, name: string): SearchParamDef | undefined {
  return def.params.find((p) => p.name === name);
}

export const SUPPORTED_TYPES: readonly string[] = RESOURCE_DEFS.map((d) => d.type);
