// The resource types we serve and their search parameters: the one definition that indexing (index-rows.ts),
// query parsing (search-parse.ts), the CapabilityStatement (capability.ts), the scopes a server advertises, the
// consent groups a patient sees (portal/permissions.ts) and the proxy rules (portal/proxy-policy.ts) all read.
// The US Core 6.1.0 types are entries in us-core-types.ts; Group has the R4 search parameters (group-def.ts); every
// other FHIR R4 type is served with basic search (by _id, _lastUpdated and its patient), built here from the R4
// catalogue, so an import loses nothing.
import { R4_PATIENT_COMPARTMENT, R4_RESOURCE_TYPES } from './r4-catalog.js';
import { US_CORE_DEFS } from './us-core-types.js';
import { GROUP_DEF } from './group-def.js';

export type ParamKind = 'token' | 'string' | 'date' | 'reference';

export interface SearchParamDef {
  readonly name: string;
  readonly kind: ParamKind;
  readonly description: string;
  /** Canonical SearchParameter URL for the CapabilityStatement */
  readonly definition: string;
  /**
   * Element paths whose values are indexed: dot-separated, arrays walked at every step. A step written
   * `extension(URL)` keeps only the extensions with that url (FHIRPath's `extension.where(url = URL)`).
   */
  readonly paths: readonly string[];
  /** token on a `code` element: the system the code implicitly belongs to, so `system|code` searches work */
  readonly implicitSystem?: string;
  /** reference: the resource types it may point to; absent means any type */
  readonly targets?: readonly string[];
  /** The patient compartment parameter: searched on the resource's compartment column, not an index table */
  readonly compartment?: boolean;
  /** Index these values under another parameter's rows (patient shares subject's rows, for example) */
  readonly indexAs?: string;
  /** reference: the target type's parameters that may be chained (`practitioner.name`) */
  readonly chains?: readonly string[];
}

export type Interaction = 'read' | 'vread' | 'history-instance' | 'search-type' | 'create' | 'update' | 'delete';

/**
 * The plain-language groups a patient consents to (labels and wording in portal/permissions.ts). Observation is
 * split by category into three groups there; every other type belongs to exactly one group.
 */
export type ConsentGroupKey =
  | 'basic'
  | 'observations'
  | 'problems'
  | 'medications'
  | 'allergies'
  | 'immunizations'
  | 'visits'
  | 'procedures'
  | 'reports'
  | 'care-plans'
  | 'insurance'
  | 'devices'
  | 'questionnaires'
  | 'providers'
  | 'other-records'
  | 'reference-data';

/** A search the US Core server CapabilityStatement names, with how strongly it is expected. */
export interface SearchCombination {
  readonly names: readonly string[];
  readonly expectation: 'SHALL' | 'SHOULD';
}

export interface ResourceDef {
  readonly type: string;
  readonly profile: string;
  readonly supportedProfiles: readonly string[];
  readonly interactions: readonly Interaction[];
  readonly params: readonly SearchParamDef[];
  /**
   * Where the owning patient's reference is, in order: the first one that points at a Patient puts the resource in
   * that patient's compartment. Empty for Patient (its own compartment) and for types outside the compartment.
   */
  readonly patientPaths: readonly string[];
  /**
   * Reference paths whose targets' owner puts the resource in a compartment when it names no patient itself
   * (Provenance.target: a Provenance about a Condition is part of that Condition's record)
   */
  readonly compartmentFromTargets?: readonly string[];
  /** Whether the type is in the R4 patient compartment (Patient included) */
  readonly inCompartment: boolean;
  /**
   * Outside the compartment: whether a patient-facing token (patient/, or user/ of a patient or proxy) may read it
   * when its scopes name it. True for directories and definitions shared by every record (Practitioner, Medication,
   * ValueSet, ...); false for types that hold one person's data without being in the compartment (Task, Binary,
   * GuidanceResponse, ...), which only system/ and clinicians' user/ tokens reach.
   */
  readonly sharedWithPatients: boolean;
  /** The search parameter `_sort=date` sorts by; absent when the type has no clinically relevant date */
  readonly dateParam?: string;
  /** Elements an instance must carry (R4 cardinality 1..*), checked on create and update */
  readonly required: readonly (readonly string[])[];
  /** Elements with a required binding: the codes allowed */
  readonly codes?: Readonly<Record<string, readonly string[]>>;
  /** `_include` values accepted: `Type:param` or `Type:param:TargetType`, param a reference parameter */
  readonly includes: readonly string[];
  /** `_revinclude` values accepted (`Provenance:target`) */
  readonly revincludes: readonly string[];
  /** The searches US Core lists for the type, for the CapabilityStatement */
  readonly combinations: readonly SearchCombination[];
  /** 'us-core': the US Core 6.1.0 search parameters; 'r4': the R4 ones (group-def.ts); 'basic': _id, _lastUpdated and patient only */
  readonly support: 'us-core' | 'basic' | 'r4';
  readonly consentGroup: ConsentGroupKey;
}

export const SP = 'http://hl7.org/fhir/SearchParameter/';
export const USC = 'http://hl7.org/fhir/us/core/SearchParameter/';
export const US_CORE_VERSION = '6.1.0';
export const ALL_INTERACTIONS: readonly Interaction[] = ['read', 'vread', 'history-instance', 'search-type', 'create', 'update', 'delete'];

/** Parameters every type accepts, handled by the search machinery itself. */
export const COMMON_PARAMS: readonly { name: string; kind: ParamKind | 'special'; description: string; definition: string }[] = [
  { name: '_id', kind: 'token', description: 'Logical id of the resource', definition: `${SP}Resource-id` },
  { name: '_lastUpdated', kind: 'date', description: 'When the resource version last changed', definition: `${SP}Resource-lastUpdated` },
];

/** Result parameters (not filters) that search understands. */
export const RESULT_PARAMS = ['_count', '_sort', '_total', '_summary', '_include', '_revinclude', '_format', '_pretty', '_cursor'] as const;

// Types outside US Core that still belong to a consent group a patient would recognise; the rest of the
// compartment is "other records", and types outside it are shared reference data or directories.
const BASIC_GROUPS: Readonly<Record<string, ConsentGroupKey>> = {
  Claim: 'insurance',
  ClaimResponse: 'insurance',
  ExplanationOfBenefit: 'insurance',
  CoverageEligibilityRequest: 'insurance',
  CoverageEligibilityResponse: 'insurance',
  EnrollmentRequest: 'insurance',
  Account: 'insurance',
  Invoice: 'insurance',
  PaymentNotice: 'insurance',
  MedicationAdministration: 'medications',
  MedicationKnowledge: 'medications',
  Substance: 'medications',
  ImmunizationEvaluation: 'immunizations',
  ImmunizationRecommendation: 'immunizations',
  ImagingStudy: 'reports',
  Media: 'reports',
  DocumentManifest: 'reports',
  MolecularSequence: 'reports',
  NutritionOrder: 'care-plans',
  RequestGroup: 'care-plans',
  RiskAssessment: 'care-plans',
  DeviceRequest: 'devices',
  DeviceUseStatement: 'devices',
  VisionPrescription: 'devices',
  EpisodeOfCare: 'visits',
  Appointment: 'visits',
  AppointmentResponse: 'visits',
  Schedule: 'visits',
  FamilyMemberHistory: 'problems',
  ClinicalImpression: 'problems',
  DetectedIssue: 'problems',
  AdverseEvent: 'problems',
  HealthcareService: 'providers',
  Endpoint: 'providers',
  // Demographics of a person, like Patient; a clinical document (discharge summary, note); a charge is a bill line.
  Person: 'basic',
  Composition: 'reports',
  ChargeItem: 'insurance',
};

// Outside the patient compartment, yet about one person: Task.for, Binary (a document's bytes), GuidanceResponse.subject,
// a Contract or enrolment's subject, a payment for someone's care, messages and subscriptions that carry or watch
// records. A patient-facing token cannot be limited to its own of these, so it gets none.
const NOT_SHARED_WITH_PATIENTS = new Set([
  'Binary',
  'BiologicallyDerivedProduct',
  'Contract',
  'DeviceMetric',
  'EnrollmentResponse',
  'GuidanceResponse',
  'Linkage',
  'MessageHeader',
  'PaymentNotice',
  'PaymentReconciliation',
  'Subscription',
  'Task',
  'TestReport',
  'VerificationResult',
]);

/** A type with basic search: read, history, writes, and search by _id, _lastUpdated and (in the compartment) patient. */
// In R4's patient compartment through a list of many patients: a Group "belongs" to every member at once, so no one
// patient's token may read it (it would show the other members); it is kept out of the compartment instead.
const MANY_PATIENTS = new Set(['Group']);

function basicDef(type: string): ResourceDef {
  const compartment = MANY_PATIENTS.has(type) ? [] : (R4_PATIENT_COMPARTMENT[type] ?? []);
  const patientPaths = [...new Set(compartment.flatMap((p) => p.paths))];
  const inCompartment = patientPaths.length > 0;
  return {
    type,
    profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
    supportedProfiles: [],
    interactions: ALL_INTERACTIONS,
    params: inCompartment
      ? [{ name: 'patient', kind: 'reference', description: `The patient whose record the ${type} is in`, definition: `${SP}clinical-patient`, paths: patientPaths, targets: ['Patient'], compartment: true }]
      : [],
    patientPaths,
    inCompartment,
    sharedWithPatients: !inCompartment && !NOT_SHARED_WITH_PATIENTS.has(type) && !MANY_PATIENTS.has(type),
    required: [],
    includes: [],
    revincludes: inCompartment ? ['Provenance:target'] : [],
    combinations: [],
    support: 'basic',
    consentGroup: BASIC_GROUPS[type] ?? (inCompartment ? 'other-records' : 'reference-data'),
  };
}

const US_CORE_TYPES = new Set(US_CORE_DEFS.map((d) => d.type));
// Containers and messages, not records: a Bundle is imported as its entries, the other two only ever travel.
// AuditEvent is the server's own audit trail, read-only and served from the audit store (audit-event-routes.ts,
// definition in audit-event-def.ts): never stored as a resource, so never imported, written, exported or consented to.
const NOT_STORED = new Set(['Bundle', 'Parameters', 'OperationOutcome', 'AuditEvent']);

// Types outside US Core with their R4 search parameters, in place of basic search.
const R4_DEFS: ReadonlyMap<string, ResourceDef> = new Map([[GROUP_DEF.type, GROUP_DEF]]);

/** Every type served: the US Core ones first (in their table's order), then the rest of R4 alphabetically. */
export const RESOURCE_DEFS: readonly ResourceDef[] = [
  ...US_CORE_DEFS,
  ...R4_RESOURCE_TYPES.filter((t) => !US_CORE_TYPES.has(t) && !NOT_STORED.has(t)).map((t) => R4_DEFS.get(t) ?? basicDef(t)),
];

const BY_TYPE = new Map(RESOURCE_DEFS.map((d) => [d.type, d]));

export function resourceDef(type: string): ResourceDef | undefined {
  return BY_TYPE.get(type);
}

export function searchParam(def: ResourceDef, name: string): SearchParamDef | undefined {
  return def.params.find((p) => p.name === name);
}

export const SUPPORTED_TYPES: readonly string[] = RESOURCE_DEFS.map((d) => d.type);
/** The types with US Core search, in table order: what scopes_supported and the sandbox list by name. */
export const US_CORE_TYPE_NAMES: readonly string[] = US_CORE_DEFS.map((d) => d.type);
