// The US Core 6.1.0 types as data: profiles, the search parameters and combinations the US Core server
// CapabilityStatement lists as SHALL or SHOULD (checked against Inferno's us-core-test-kit v6.1.0 metadata), the
// patient compartment paths (from the R4 CompartmentDefinition, primary subject first), required elements and
// codes, includes and the consent group. Adding a type is adding an entry here.
import type { ConsentGroupKey, Interaction, ResourceDef, SearchCombination, SearchParamDef } from './definitions.js';

const SP = 'http://hl7.org/fhir/SearchParameter/';
const USC = 'http://hl7.org/fhir/us/core/SearchParameter/';
const PROFILE = 'http://hl7.org/fhir/us/core/StructureDefinition/';
const CS = 'http://hl7.org/fhir/';
const ALL: readonly Interaction[] = ['read', 'vread', 'history-instance', 'search-type', 'create', 'update', 'delete'];
const PROVENANCE = ['Provenance:target'];

type Extra = Partial<Pick<SearchParamDef, 'implicitSystem' | 'targets' | 'compartment' | 'indexAs' | 'definition' | 'chains'>>;

/** A parameter of `type`; its definition is the US Core SearchParameter unless `extra.definition` names another. */
function param(type: string, name: string, kind: SearchParamDef['kind'], description: string, paths: readonly string[], extra: Extra = {}): SearchParamDef {
  return { name, kind, description, definition: `${USC}us-core-${type.toLowerCase()}-${name}`, paths, ...extra };
}

const patientRef = (type: string, path: string): SearchParamDef =>
  param(type, 'patient', 'reference', `Who the ${type} is about (the patient compartment)`, [path], { targets: ['Patient'], compartment: true });

const identifier = (type: string): SearchParamDef =>
  param(type, 'identifier', 'token', `A business identifier of the ${type}`, ['identifier'], { definition: `${SP}clinical-identifier` });

const status = (type: string, path: string, system: string, description: string): SearchParamDef =>
  param(type, 'status', 'token', description, [path], { implicitSystem: system });

const combos = (shall: readonly string[], should: readonly string[] = []): SearchCombination[] => [
  ...shall.map((c) => ({ names: c.split('+'), expectation: 'SHALL' as const })),
  ...should.map((c) => ({ names: c.split('+'), expectation: 'SHOULD' as const })),
];

interface Entry {
  readonly type: string;
  readonly profiles: readonly string[];
  readonly params: readonly SearchParamDef[];
  readonly patientPaths: readonly string[];
  readonly compartmentFromTargets?: readonly string[];
  readonly dateParam?: string;
  readonly required?: readonly (readonly string[])[];
  readonly codes?: Readonly<Record<string, readonly string[]>>;
  readonly includes?: readonly string[];
  readonly combinations: readonly SearchCombination[];
  readonly consentGroup: ConsentGroupKey;
  /** Types outside the patient compartment carry no Provenance:target revinclude in US Core */
  readonly outsideCompartment?: boolean;
}

function def(e: Entry): ResourceDef {
  const inCompartment = e.type === 'Patient' || !e.outsideCompartment;
  return {
    type: e.type,
    profile: `http://hl7.org/fhir/StructureDefinition/${e.type}`,
    supportedProfiles: e.profiles.map((p) => (p.startsWith('http') ? p : `${PROFILE}${p}`)),
    interactions: ALL,
    params: e.params,
    patientPaths: e.patientPaths,
    ...(e.compartmentFromTargets ? { compartmentFromTargets: e.compartmentFromTargets } : {}),
    inCompartment,
    sharedWithPatients: !inCompartment,
    ...(e.dateParam ? { dateParam: e.dateParam } : {}),
    required: e.required ?? [],
    ...(e.codes ? { codes: e.codes } : {}),
    includes: e.includes ?? [],
    revincludes: inCompartment ? PROVENANCE : [],
    combinations: e.combinations,
    support: 'us-core',
    consentGroup: e.consentGroup,
  };
}

const EVENT_STATUS = ['preparation', 'in-progress', 'not-done', 'on-hold', 'stopped', 'completed', 'entered-in-error', 'unknown'];
const REQUEST_STATUS = ['draft', 'active', 'on-hold', 'revoked', 'completed', 'entered-in-error', 'unknown'];
const REQUEST_INTENT = ['proposal', 'plan', 'directive', 'order', 'original-order', 'reflex-order', 'filler-order', 'instance-order', 'option'];

const address = (type: string, prefix = ''): SearchParamDef[] => [
  param(type, `${prefix}address`, 'string', 'Any part of an address', ['address.line', 'address.city', 'address.district', 'address.state', 'address.postalCode', 'address.country', 'address.text'], type === 'Patient' ? { definition: `${SP}individual-address` } : {}),
  param(type, 'address-city', 'string', 'City of an address', ['address.city'], type === 'Patient' ? { definition: `${SP}individual-address-city` } : {}),
  param(type, 'address-state', 'string', 'State of an address', ['address.state'], type === 'Patient' ? { definition: `${SP}individual-address-state` } : {}),
  param(type, 'address-postalcode', 'string', 'Postal code of an address', ['address.postalCode'], type === 'Patient' ? { definition: `${SP}individual-address-postalcode` } : {}),
];

const humanName = ['name.family', 'name.given', 'name.prefix', 'name.suffix', 'name.text'];

export const US_CORE_DEFS: readonly ResourceDef[] = [
  def({
    type: 'Patient',
    profiles: ['us-core-patient'],
    patientPaths: [],
    dateParam: 'birthdate',
    codes: { gender: ['male', 'female', 'other', 'unknown'] },
    consentGroup: 'basic',
    combinations: combos(['_id', 'identifier', 'name', 'birthdate+name', 'gender+name'], ['birthdate+family', 'family+gender', 'death-date+family']),
    params: [
      identifier('Patient'),
      param('Patient', 'name', 'string', 'Any part of a name: family, given, prefix, suffix or text', humanName),
      param('Patient', 'family', 'string', 'Family name', ['name.family']),
      param('Patient', 'given', 'string', 'Given name', ['name.given']),
      param('Patient', 'birthdate', 'date', 'Date of birth', ['birthDate']),
      param('Patient', 'gender', 'token', 'Administrative gender', ['gender'], { implicitSystem: `${CS}administrative-gender` }),
      param('Patient', 'death-date', 'date', 'Date of death', ['deceasedDateTime']),
      ...address('Patient'),
      param('Patient', 'telecom', 'token', 'A phone number, e-mail address or other contact point', ['telecom'], { definition: `${SP}individual-telecom` }),
    ],
  }),
  def({
    type: 'Observation',
    profiles: [
      'us-core-observation-lab',
      'us-core-observation-clinical-result',
      'us-core-observation-screening-assessment',
      'us-core-observation-sexual-orientation',
      'us-core-observation-pregnancystatus',
      'us-core-observation-pregnancyintent',
      'us-core-observation-occupation',
      'us-core-simple-observation',
      'us-core-smokingstatus',
      'us-core-vital-signs',
      'us-core-blood-pressure',
      'us-core-bmi',
      'us-core-body-height',
      'us-core-body-temperature',
      'us-core-body-weight',
      'us-core-head-circumference',
      'us-core-heart-rate',
      'us-core-pulse-oximetry',
      'us-core-respiratory-rate',
      'pediatric-bmi-for-age',
      'pediatric-weight-for-height',
      'head-occipital-frontal-circumference-percentile',
    ],
    patientPaths: ['subject'],
    dateParam: 'date',
    required: [['status'], ['code']],
    codes: { status: ['registered', 'preliminary', 'final', 'amended', 'corrected', 'cancelled', 'entered-in-error', 'unknown'] },
    includes: ['Observation:patient', 'Observation:subject'],
    consentGroup: 'observations',
    combinations: combos(['patient+category', 'patient+code', 'patient+category+date'], ['patient+category+status', 'patient+code+date', 'patient+category+_lastUpdated']),
    params: [
      patientRef('Observation', 'subject'),
      param('Observation', 'subject', 'reference', 'Who the observation is about', ['subject'], { definition: `${SP}Observation-subject`, targets: ['Patient', 'Group', 'Device', 'Location'] }),
      param('Observation', 'category', 'token', 'Classification of the observation (laboratory, vital-signs, sdoh, survey, ...)', ['category']),
      param('Observation', 'code', 'token', 'What was observed (LOINC)', ['code']),
      param('Observation', 'date', 'date', 'Clinically relevant time of the observation', ['effectiveDateTime', 'effectivePeriod', 'effectiveInstant', 'effectiveTiming.event']),
      status('Observation', 'status', `${CS}observation-status`, 'Status of the observation'),
      param('Observation', 'encounter', 'reference', 'The encounter the observation belongs to', ['encounter'], { definition: `${SP}clinical-encounter`, targets: ['Encounter'] }),
      identifier('Observation'),
    ],
  }),
  def({
    type: 'AllergyIntolerance',
    profiles: ['us-core-allergyintolerance'],
    patientPaths: ['patient', 'recorder', 'asserter'],
    dateParam: 'date',
    required: [['patient']],
    codes: { type: ['allergy', 'intolerance'], criticality: ['low', 'high', 'unable-to-assess'], category: ['food', 'medication', 'environment', 'biologic'] },
    includes: ['AllergyIntolerance:patient'],
    consentGroup: 'allergies',
    combinations: combos(['patient'], ['patient+clinical-status']),
    params: [
      patientRef('AllergyIntolerance', 'patient'),
      param('AllergyIntolerance', 'clinical-status', 'token', 'active | inactive | resolved', ['clinicalStatus']),
      param('AllergyIntolerance', 'verification-status', 'token', 'unconfirmed | confirmed | refuted | entered-in-error', ['verificationStatus'], { definition: `${SP}AllergyIntolerance-verification-status` }),
      param('AllergyIntolerance', 'category', 'token', 'food | medication | environment | biologic', ['category'], { definition: `${SP}AllergyIntolerance-category`, implicitSystem: `${CS}allergy-intolerance-category` }),
      param('AllergyIntolerance', 'criticality', 'token', 'low | high | unable-to-assess', ['criticality'], { definition: `${SP}AllergyIntolerance-criticality`, implicitSystem: `${CS}allergy-intolerance-criticality` }),
      param('AllergyIntolerance', 'code', 'token', 'The substance (SNOMED CT or RxNorm)', ['code', 'reaction.substance'], { definition: `${SP}clinical-code` }),
      param('AllergyIntolerance', 'date', 'date', 'When the allergy was recorded', ['recordedDate'], { definition: `${SP}AllergyIntolerance-date` }),
      param('AllergyIntolerance', 'onset', 'date', 'When the reaction started', ['onsetDateTime', 'onsetPeriod', 'reaction.onset'], { definition: `${SP}AllergyIntolerance-onset` }),
      identifier('AllergyIntolerance'),
    ],
  }),
  def({
    type: 'CarePlan',
    profiles: ['us-core-careplan'],
    patientPaths: ['subject'],
    dateParam: 'date',
    required: [['status'], ['intent'], ['subject']],
    codes: { status: ['draft', 'active', 'on-hold', 'revoked', 'completed', 'entered-in-error', 'unknown'], intent: ['proposal', 'plan', 'order', 'option'] },
    consentGroup: 'care-plans',
    combinations: combos(['patient+category'], ['patient+category+status', 'patient+category+status+date', 'patient+category+date']),
    params: [
      patientRef('CarePlan', 'subject'),
      param('CarePlan', 'category', 'token', 'Type of plan (assess-plan for US Core)', ['category']),
      status('CarePlan', 'status', `${CS}request-status`, 'draft | active | on-hold | revoked | completed | entered-in-error | unknown'),
      param('CarePlan', 'date', 'date', 'The period the plan covers', ['period']),
      identifier('CarePlan'),
    ],
  }),
  def({
    type: 'CareTeam',
    profiles: ['us-core-careteam'],
    patientPaths: ['subject', 'participant.member'],
    codes: { status: ['proposed', 'active', 'suspended', 'inactive', 'entered-in-error'] },
    includes: ['CareTeam:participant', 'CareTeam:participant:Patient', 'CareTeam:participant:Practitioner', 'CareTeam:participant:PractitionerRole', 'CareTeam:participant:RelatedPerson'],
    consentGroup: 'care-plans',
    combinations: combos(['patient+status'], ['role', 'patient+role']),
    params: [
      patientRef('CareTeam', 'subject'),
      status('CareTeam', 'status', `${CS}care-team-status`, 'proposed | active | suspended | inactive | entered-in-error'),
      param('CareTeam', 'role', 'token', 'The role of a member of the team', ['participant.role']),
      param('CareTeam', 'participant', 'reference', 'A member of the team', ['participant.member'], { definition: `${SP}CareTeam-participant`, targets: ['Patient', 'Practitioner', 'PractitionerRole', 'RelatedPerson', 'Organization', 'CareTeam'] }),
      identifier('CareTeam'),
    ],
  }),
  def({
    type: 'Condition',
    profiles: ['us-core-condition-encounter-diagnosis', 'us-core-condition-problems-health-concerns'],
    patientPaths: ['subject', 'asserter'],
    dateParam: 'onset-date',
    required: [['subject']],
    includes: ['Condition:patient'],
    consentGroup: 'problems',
    combinations: combos(
      ['patient', 'patient+category'],
      ['patient+clinical-status', 'patient+category+clinical-status', 'patient+category+encounter', 'patient+code', 'patient+onset-date', 'patient+asserted-date', 'patient+recorded-date', 'patient+abatement-date', 'patient+category+_lastUpdated'],
    ),
    params: [
      patientRef('Condition', 'subject'),
      param('Condition', 'category', 'token', 'problem-list-item | encounter-diagnosis | health-concern (and screening-assessment categories)', ['category']),
      param('Condition', 'clinical-status', 'token', 'active | recurrence | relapse | inactive | remission | resolved', ['clinicalStatus']),
      param('Condition', 'code', 'token', 'The problem (SNOMED CT or ICD-10-CM)', ['code']),
      param('Condition', 'onset-date', 'date', 'When the condition began', ['onsetDateTime', 'onsetPeriod']),
      param('Condition', 'abatement-date', 'date', 'When the condition resolved', ['abatementDateTime', 'abatementPeriod']),
      param('Condition', 'asserted-date', 'date', 'When first asserted (condition-assertedDate extension)', ['extension(http://hl7.org/fhir/StructureDefinition/condition-assertedDate).valueDateTime']),
      param('Condition', 'recorded-date', 'date', 'When the condition was first recorded', ['recordedDate']),
      param('Condition', 'encounter', 'reference', 'The encounter in which it was diagnosed', ['encounter'], { targets: ['Encounter'] }),
      identifier('Condition'),
    ],
  }),
  def({
    type: 'Coverage',
    profiles: ['us-core-coverage'],
    patientPaths: ['beneficiary', 'subscriber', 'policyHolder', 'payor'],
    required: [['status'], ['beneficiary'], ['payor']],
    codes: { status: ['active', 'cancelled', 'draft', 'entered-in-error'] },
    consentGroup: 'insurance',
    combinations: combos(['patient']),
    params: [
      patientRef('Coverage', 'beneficiary'),
      status('Coverage', 'status', `${CS}fm-status`, 'active | cancelled | draft | entered-in-error'),
      param('Coverage', 'type', 'token', 'The kind of coverage (health plan, Medicare, ...)', ['type'], { definition: `${SP}Coverage-type` }),
      param('Coverage', 'payor', 'reference', 'Who pays', ['payor'], { definition: `${SP}Coverage-payor`, targets: ['Organization', 'Patient', 'RelatedPerson'] }),
      identifier('Coverage'),
    ],
  }),
  // R4's patient CompartmentDefinition leaves Device out (a device can outlive its patient), but a US Core
  // implantable device is part of one patient's record and apps read it with patient/Device.rs, so it is kept in
  // that patient's compartment through Device.patient: a patient token sees its own devices only.
  def({
    type: 'Device',
    profiles: ['us-core-implantable-device'],
    patientPaths: ['patient'],
    codes: { status: ['active', 'inactive', 'entered-in-error', 'unknown'] },
    consentGroup: 'devices',
    combinations: combos(['patient'], ['patient+type', 'patient+status']),
    params: [
      patientRef('Device', 'patient'),
      param('Device', 'type', 'token', 'The kind of device (SNOMED CT)', ['type']),
      status('Device', 'status', `${CS}device-status`, 'active | inactive | entered-in-error | unknown'),
      identifier('Device'),
    ],
  }),
  def({
    type: 'DiagnosticReport',
    profiles: ['us-core-diagnosticreport-lab', 'us-core-diagnosticreport-note'],
    patientPaths: ['subject'],
    dateParam: 'date',
    required: [['status'], ['code']],
    codes: { status: ['registered', 'partial', 'preliminary', 'final', 'amended', 'corrected', 'appended', 'cancelled', 'entered-in-error', 'unknown'] },
    includes: ['DiagnosticReport:patient', 'DiagnosticReport:result'],
    consentGroup: 'reports',
    combinations: combos(['patient', 'patient+category', 'patient+code', 'patient+category+date'], ['patient+status', 'patient+code+date', 'patient+category+_lastUpdated']),
    params: [
      patientRef('DiagnosticReport', 'subject'),
      param('DiagnosticReport', 'category', 'token', 'LAB, a note category (LP29684-5 radiology, ...) and so on', ['category']),
      param('DiagnosticReport', 'code', 'token', 'What the report is (LOINC)', ['code']),
      param('DiagnosticReport', 'date', 'date', 'Clinically relevant time of the report', ['effectiveDateTime', 'effectivePeriod']),
      status('DiagnosticReport', 'status', `${CS}diagnostic-report-status`, 'registered | partial | preliminary | final | ...'),
      param('DiagnosticReport', 'encounter', 'reference', 'The encounter the report belongs to', ['encounter'], { definition: `${SP}clinical-encounter`, targets: ['Encounter'] }),
      param('DiagnosticReport', 'result', 'reference', 'An Observation the report includes', ['result'], { definition: `${SP}DiagnosticReport-result`, targets: ['Observation'] }),
      identifier('DiagnosticReport'),
    ],
  }),
  def({
    type: 'DocumentReference',
    profiles: ['us-core-documentreference'],
    patientPaths: ['subject', 'author'],
    dateParam: 'date',
    required: [['status'], ['content']],
    codes: { status: ['current', 'superseded', 'entered-in-error'], docStatus: ['preliminary', 'final', 'amended', 'entered-in-error'] },
    includes: ['DocumentReference:patient'],
    consentGroup: 'reports',
    combinations: combos(['_id', 'patient', 'patient+category', 'patient+category+date', 'patient+type'], ['patient+status', 'patient+type+period']),
    params: [
      patientRef('DocumentReference', 'subject'),
      param('DocumentReference', 'category', 'token', 'clinical-note and other document categories', ['category']),
      param('DocumentReference', 'type', 'token', 'The kind of document (LOINC)', ['type']),
      param('DocumentReference', 'date', 'date', 'When the document reference was created', ['date']),
      param('DocumentReference', 'period', 'date', 'The time of service the document covers', ['context.period']),
      status('DocumentReference', 'status', `${CS}document-reference-status`, 'current | superseded | entered-in-error'),
      param('DocumentReference', 'encounter', 'reference', 'The encounter the document belongs to', ['context.encounter'], { definition: `${SP}clinical-encounter`, targets: ['Encounter', 'EpisodeOfCare'] }),
      identifier('DocumentReference'),
    ],
  }),
  def({
    type: 'Encounter',
    profiles: ['us-core-encounter'],
    patientPaths: ['subject'],
    dateParam: 'date',
    required: [['status'], ['class']],
    codes: { status: ['planned', 'arrived', 'triaged', 'in-progress', 'onleave', 'finished', 'cancelled', 'entered-in-error', 'unknown'] },
    includes: ['Encounter:patient', 'Encounter:location', 'Encounter:practitioner'],
    consentGroup: 'visits',
    combinations: combos(['_id', 'patient', 'patient+date'], ['identifier', 'patient+type', 'class+patient', 'patient+status', 'patient+location', 'patient+discharge-disposition', 'patient+_lastUpdated']),
    params: [
      patientRef('Encounter', 'subject'),
      identifier('Encounter'),
      param('Encounter', 'class', 'token', 'Inpatient, ambulatory, emergency, ... (v3 ActCode)', ['class']),
      param('Encounter', 'type', 'token', 'The specific kind of visit', ['type']),
      status('Encounter', 'status', `${CS}encounter-status`, 'planned | arrived | triaged | in-progress | onleave | finished | cancelled | ...'),
      param('Encounter', 'date', 'date', 'When the visit took place', ['period']),
      param('Encounter', 'location', 'reference', 'Where the visit took place', ['location.location'], { targets: ['Location'] }),
      param('Encounter', 'discharge-disposition', 'token', 'Where the patient went after a hospital stay', ['hospitalization.dischargeDisposition']),
      param('Encounter', 'practitioner', 'reference', 'A practitioner who took part', ['participant.individual'], { definition: `${SP}Encounter-practitioner`, targets: ['Practitioner'] }),
    ],
  }),
  def({
    type: 'Goal',
    profiles: ['us-core-goal'],
    patientPaths: ['subject'],
    dateParam: 'target-date',
    required: [['lifecycleStatus'], ['description'], ['subject']],
    codes: { lifecycleStatus: ['proposed', 'planned', 'accepted', 'active', 'on-hold', 'completed', 'cancelled', 'entered-in-error', 'rejected'] },
    consentGroup: 'care-plans',
    combinations: combos(['patient'], ['patient+lifecycle-status', 'patient+target-date', 'patient+description']),
    params: [
      patientRef('Goal', 'subject'),
      param('Goal', 'lifecycle-status', 'token', 'proposed | planned | accepted | active | on-hold | completed | ...', ['lifecycleStatus'], { implicitSystem: `${CS}goal-status` }),
      param('Goal', 'target-date', 'date', 'When the goal should be reached', ['target.dueDate']),
      param('Goal', 'description', 'token', 'What the goal is (code)', ['description']),
      identifier('Goal'),
    ],
  }),
  def({
    type: 'Immunization',
    profiles: ['us-core-immunization'],
    patientPaths: ['patient'],
    dateParam: 'date',
    required: [['status'], ['vaccineCode'], ['patient'], ['occurrenceDateTime', 'occurrenceString']],
    codes: { status: ['completed', 'entered-in-error', 'not-done'] },
    includes: ['Immunization:patient'],
    consentGroup: 'immunizations',
    combinations: combos(['patient'], ['patient+date', 'patient+status']),
    params: [
      patientRef('Immunization', 'patient'),
      param('Immunization', 'date', 'date', 'When the vaccine was given', ['occurrenceDateTime']),
      status('Immunization', 'status', `${CS}event-status`, 'completed | entered-in-error | not-done'),
      param('Immunization', 'vaccine-code', 'token', 'The vaccine (CVX)', ['vaccineCode'], { definition: `${SP}Immunization-vaccine-code` }),
      param('Immunization', 'lot-number', 'string', 'Vaccine lot number', ['lotNumber'], { definition: `${SP}Immunization-lot-number` }),
      identifier('Immunization'),
    ],
  }),
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
    type: 'MedicationDispense',
    profiles: ['us-core-medicationdispense'],
    patientPaths: ['subject', 'receiver'],
    dateParam: 'whenhandedover',
    required: [['status'], ['medicationCodeableConcept', 'medicationReference']],
    codes: { status: ['preparation', 'in-progress', 'cancelled', 'on-hold', 'completed', 'entered-in-error', 'stopped', 'declined', 'unknown'] },
    includes: ['MedicationDispense:medication', 'MedicationDispense:patient'],
    consentGroup: 'medications',
    combinations: combos(['patient'], ['patient+status', 'patient+status+type']),
    params: [
      patientRef('MedicationDispense', 'subject'),
      status('MedicationDispense', 'status', 'http://terminology.hl7.org/CodeSystem/medicationdispense-status', 'preparation | in-progress | cancelled | on-hold | completed | ...'),
      param('MedicationDispense', 'type', 'token', 'The kind of dispense (first fill, refill, ...)', ['type']),
      param('MedicationDispense', 'whenhandedover', 'date', 'When the medication was handed over', ['whenHandedOver'], { definition: `${SP}MedicationDispense-whenhandedover` }),
      param('MedicationDispense', 'code', 'token', 'The medication (RxNorm)', ['medicationCodeableConcept'], { definition: `${SP}medications-code` }),
      param('MedicationDispense', 'medication', 'reference', 'The Medication resource dispensed', ['medicationReference'], { definition: `${SP}medications-medication`, targets: ['Medication'] }),
      identifier('MedicationDispense'),
    ],
  }),
  def({
    type: 'MedicationRequest',
    profiles: ['us-core-medicationrequest'],
    patientPaths: ['subject'],
    dateParam: 'authoredon',
    required: [['status'], ['intent'], ['medicationCodeableConcept', 'medicationReference'], ['subject']],
    codes: {
      status: ['active', 'on-hold', 'cancelled', 'completed', 'entered-in-error', 'stopped', 'draft', 'unknown'],
      intent: ['proposal', 'plan', 'order', 'original-order', 'reflex-order', 'filler-order', 'instance-order', 'option'],
    },
    includes: ['MedicationRequest:medication', 'MedicationRequest:patient', 'MedicationRequest:requester'],
    consentGroup: 'medications',
    combinations: combos(['patient+intent', 'patient+intent+status'], ['patient+intent+encounter', 'patient+intent+authoredon']),
    params: [
      patientRef('MedicationRequest', 'subject'),
      param('MedicationRequest', 'intent', 'token', 'proposal | plan | order | original-order | reflex-order | filler-order | instance-order | option', ['intent'], { implicitSystem: `${CS}CodeSystem/medicationrequest-intent` }),
      status('MedicationRequest', 'status', `${CS}CodeSystem/medicationrequest-status`, 'active | on-hold | cancelled | completed | entered-in-error | stopped | draft | unknown'),
      param('MedicationRequest', 'authoredon', 'date', 'When the prescription was written', ['authoredOn']),
      param('MedicationRequest', 'encounter', 'reference', 'The encounter in which it was written', ['encounter'], { targets: ['Encounter'] }),
      param('MedicationRequest', 'code', 'token', 'The medication (RxNorm)', ['medicationCodeableConcept'], { definition: `${SP}medications-code` }),
      param('MedicationRequest', 'medication', 'reference', 'The Medication resource prescribed', ['medicationReference'], { definition: `${SP}medications-medication`, targets: ['Medication'] }),
      param('MedicationRequest', 'requester', 'reference', 'Who wrote the prescription', ['requester'], { definition: `${SP}MedicationRequest-requester`, targets: ['Practitioner', 'PractitionerRole', 'Organization', 'Patient', 'RelatedPerson', 'Device'] }),
      identifier('MedicationRequest'),
    ],
  }),
  def({
    type: 'MedicationStatement',
    profiles: [],
    patientPaths: ['subject'],
    dateParam: 'effective',
    required: [['status'], ['medicationCodeableConcept', 'medicationReference'], ['subject']],
    codes: { status: ['active', 'completed', 'entered-in-error', 'intended', 'stopped', 'on-hold', 'unknown', 'not-taken'] },
    includes: ['MedicationStatement:patient', 'MedicationStatement:subject', 'MedicationStatement:medication'],
    consentGroup: 'medications',
    combinations: [],
    params: [
      patientRef('MedicationStatement', 'subject'),
      param('MedicationStatement', 'subject', 'reference', 'Who is taking the medication', ['subject'], { definition: `${SP}MedicationStatement-subject`, targets: ['Patient', 'Group'] }),
      param('MedicationStatement', 'status', 'token', 'active | completed | entered-in-error | intended | stopped | on-hold | unknown | not-taken', ['status'], { definition: `${SP}medications-status`, implicitSystem: `${CS}CodeSystem/medication-statement-status` }),
      param('MedicationStatement', 'effective', 'date', 'When the medication was, is or will be taken', ['effectiveDateTime', 'effectivePeriod'], { definition: `${SP}MedicationStatement-effective` }),
      param('MedicationStatement', 'code', 'token', 'The medication (RxNorm)', ['medicationCodeableConcept'], { definition: `${SP}medications-code` }),
      param('MedicationStatement', 'medication', 'reference', 'The Medication resource taken', ['medicationReference'], { definition: `${SP}medications-medication`, targets: ['Medication'] }),
      param('MedicationStatement', 'category', 'token', 'Type of medication usage', ['category'], { definition: `${SP}MedicationStatement-category` }),
      identifier('MedicationStatement'),
    ],
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
  def({
    type: 'Procedure',
    profiles: ['us-core-procedure'],
    patientPaths: ['subject'],
    dateParam: 'date',
    required: [['status'], ['subject']],
    codes: { status: EVENT_STATUS },
    includes: ['Procedure:patient'],
    consentGroup: 'procedures',
    combinations: combos(['patient', 'patient+date'], ['patient+code+date', 'patient+status']),
    params: [
      patientRef('Procedure', 'subject'),
      param('Procedure', 'code', 'token', 'What was done (SNOMED CT, CPT, ...)', ['code']),
      param('Procedure', 'date', 'date', 'When it was done', ['performedDateTime', 'performedPeriod']),
      status('Procedure', 'status', `${CS}event-status`, 'preparation | in-progress | not-done | on-hold | stopped | completed | ...'),
      param('Procedure', 'encounter', 'reference', 'The encounter in which it was done', ['encounter'], { definition: `${SP}clinical-encounter`, targets: ['Encounter'] }),
      identifier('Procedure'),
    ],
  }),
  def({
    type: 'Provenance',
    profiles: ['us-core-provenance'],
    patientPaths: ['target'],
    compartmentFromTargets: ['target'],
    dateParam: 'recorded',
    required: [['target'], ['recorded'], ['agent']],
    consentGroup: 'other-records',
    combinations: [],
    params: [
      param('Provenance', 'patient', 'reference', 'The patient whose record the provenance is about (the patient compartment)', ['target'], { definition: `${SP}Provenance-patient`, targets: ['Patient'], compartment: true }),
      param('Provenance', 'target', 'reference', 'The resource the provenance is about', ['target'], { definition: `${SP}Provenance-target` }),
      param('Provenance', 'recorded', 'date', 'When the activity was recorded', ['recorded'], { definition: `${SP}Provenance-recorded` }),
      param('Provenance', 'agent', 'reference', 'Who took part', ['agent.who'], { definition: `${SP}Provenance-agent` }),
    ],
  }),
  def({
    type: 'QuestionnaireResponse',
    profiles: ['us-core-questionnaireresponse'],
    patientPaths: ['subject', 'author'],
    dateParam: 'authored',
    required: [['status']],
    codes: { status: ['in-progress', 'completed', 'amended', 'entered-in-error', 'stopped'] },
    consentGroup: 'questionnaires',
    combinations: combos(['_id', 'patient'], ['patient+questionnaire', 'patient+authored', 'patient+status']),
    params: [
      patientRef('QuestionnaireResponse', 'subject'),
      status('QuestionnaireResponse', 'status', `${CS}questionnaire-answers-status`, 'in-progress | completed | amended | entered-in-error | stopped'),
      param('QuestionnaireResponse', 'authored', 'date', 'When the answers were given', ['authored']),
      param('QuestionnaireResponse', 'questionnaire', 'reference', 'The questionnaire answered (canonical URL)', ['questionnaire'], { targets: ['Questionnaire'] }),
      identifier('QuestionnaireResponse'),
    ],
  }),
  def({
    type: 'RelatedPerson',
    profiles: ['us-core-relatedperson'],
    patientPaths: ['patient'],
    required: [['patient']],
    codes: { gender: ['male', 'female', 'other', 'unknown'] },
    consentGroup: 'basic',
    combinations: combos(['_id'], ['patient', 'name', 'patient+name']),
    params: [
      patientRef('RelatedPerson', 'patient'),
      param('RelatedPerson', 'name', 'string', 'Any part of the related person\'s name', humanName),
      identifier('RelatedPerson'),
    ],
  }),
  def({
    type: 'ServiceRequest',
    profiles: ['us-core-servicerequest'],
    patientPaths: ['subject', 'performer'],
    dateParam: 'authored',
    required: [['status'], ['intent'], ['subject']],
    codes: { status: REQUEST_STATUS, intent: REQUEST_INTENT },
    consentGroup: 'procedures',
    combinations: combos(['_id', 'patient', 'patient+category', 'patient+code', 'patient+category+authored'], ['patient+status', 'patient+code+authored']),
    params: [
      patientRef('ServiceRequest', 'subject'),
      param('ServiceRequest', 'category', 'token', 'The kind of order (lab, imaging, referral, ...)', ['category']),
      param('ServiceRequest', 'code', 'token', 'What is ordered', ['code']),
      param('ServiceRequest', 'authored', 'date', 'When the order was written', ['authoredOn']),
      status('ServiceRequest', 'status', `${CS}request-status`, 'draft | active | on-hold | revoked | completed | entered-in-error | unknown'),
      identifier('ServiceRequest'),
    ],
  }),
  def({
    type: 'Specimen',
    profiles: ['us-core-specimen'],
    patientPaths: ['subject'],
    codes: { status: ['available', 'unavailable', 'unsatisfactory', 'entered-in-error'] },
    consentGroup: 'reports',
    combinations: combos(['_id'], ['patient']),
    params: [
      patientRef('Specimen', 'subject'),
      param('Specimen', 'type', 'token', 'The kind of specimen', ['type'], { definition: `${SP}Specimen-type` }),
      identifier('Specimen'),
    ],
  }),
];
