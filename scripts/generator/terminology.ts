// Code systems, profile URLs and the small coded values shared by several resource builders.
// Kept in one place so a typo in a system URL cannot hide in one module.
import type { CodeableConcept, Coding } from 'fhir/r4.js';

export const SYSTEM = {
  loinc: 'http://loinc.org',
  snomed: 'http://snomed.info/sct',
  rxnorm: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  cvx: 'http://hl7.org/fhir/sid/cvx',
  ucum: 'http://unitsofmeasure.org',
  observationCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
  interpretation: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation',
  allergyClinical: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical',
  allergyVerification: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification',
  identifierType: 'http://terminology.hl7.org/CodeSystem/v2-0203',
  contactRelationship: 'http://terminology.hl7.org/CodeSystem/v2-0131',
  roleCode: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode',
  maritalStatus: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus',
  actReason: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
  ombRaceEthnicity: 'urn:oid:2.16.840.1.113883.6.238',
  language: 'urn:ietf:bcp:47',
  mrn: 'http://hospital.example.org/mrn',
  medicationStatementCategory: 'http://terminology.hl7.org/CodeSystem/medication-statement-category',
  icd10cm: 'http://hl7.org/fhir/sid/icd-10-cm',
  npi: 'http://hl7.org/fhir/sid/us-npi',
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  participationType: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
  diagnosisRole: 'http://terminology.hl7.org/CodeSystem/diagnosis-role',
  conditionCategory: 'http://terminology.hl7.org/CodeSystem/condition-category',
  conditionClinical: 'http://terminology.hl7.org/CodeSystem/condition-clinical',
  conditionVerification: 'http://terminology.hl7.org/CodeSystem/condition-ver-status',
  medicationRequestCategory: 'http://terminology.hl7.org/CodeSystem/medicationrequest-category',
  diagnosticServiceSection: 'http://terminology.hl7.org/CodeSystem/v2-0074',
  documentCategory: 'http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category',
  documentFormat: 'http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode',
  carePlanCategory: 'http://hl7.org/fhir/us/core/CodeSystem/careplan-category',
  provenanceParticipant: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type',
  usCoreProvenanceParticipant: 'http://hl7.org/fhir/us/core/CodeSystem/us-core-provenance-participant-type',
  organizationType: 'http://terminology.hl7.org/CodeSystem/organization-type',
  practitionerRole: 'http://terminology.hl7.org/CodeSystem/practitioner-role',
  nucc: 'http://nucc.org/provider-taxonomy',
  coverageClass: 'http://terminology.hl7.org/CodeSystem/coverage-class',
  subscriberRelationship: 'http://terminology.hl7.org/CodeSystem/subscriber-relationship',
  sourceOfPayment: 'https://nahdo.org/sopt',
  goalAchievement: 'http://terminology.hl7.org/CodeSystem/goal-achievement',
  gs1DeviceIdentifier: 'http://hl7.org/fhir/NamingSystem/gs1-di',
  fdaUdi: 'http://hl7.org/fhir/NamingSystem/fda-udi',
  /** Local identifier systems of the fictional practice (visit numbers, accession numbers, member ids). */
  encounterNumber: 'http://hospital.example.org/encounter',
  accessionNumber: 'http://hospital.example.org/lab-accession',
  memberId: 'http://healthplan.example.org/member-id',
  patientGroup: 'http://hospital.example.org/patient-group',
} as const;

const US_CORE = 'http://hl7.org/fhir/us/core/StructureDefinition';

/**
 * US Core profile canonicals, unversioned so they match both 3.1.1 and 6.1 (the later types exist
 * only in 6.1). MedicationStatement has no US Core profile in either version, so the base R4
 * definition is claimed instead.
 */
export const PROFILE = {
  patient: `${US_CORE}/us-core-patient`,
  allergy: `${US_CORE}/us-core-allergyintolerance`,
  immunization: `${US_CORE}/us-core-immunization`,
  lab: `${US_CORE}/us-core-observation-lab`,
  smoking: `${US_CORE}/us-core-smokingstatus`,
  bloodPressure: `${US_CORE}/us-core-blood-pressure`,
  heartRate: `${US_CORE}/us-core-heart-rate`,
  respiratoryRate: `${US_CORE}/us-core-respiratory-rate`,
  bodyTemperature: `${US_CORE}/us-core-body-temperature`,
  bodyWeight: `${US_CORE}/us-core-body-weight`,
  bodyHeight: `${US_CORE}/us-core-body-height`,
  bmi: `${US_CORE}/us-core-bmi`,
  pulseOximetry: `${US_CORE}/us-core-pulse-oximetry`,
  pediatricBmi: `${US_CORE}/pediatric-bmi-for-age`,
  pediatricWeightForLength: `${US_CORE}/pediatric-weight-for-height`,
  medicationStatement: 'http://hl7.org/fhir/StructureDefinition/MedicationStatement',
  raceExtension: `${US_CORE}/us-core-race`,
  ethnicityExtension: `${US_CORE}/us-core-ethnicity`,
  birthSexExtension: `${US_CORE}/us-core-birthsex`,
  encounter: `${US_CORE}/us-core-encounter`,
  conditionEncounterDiagnosis: `${US_CORE}/us-core-condition-encounter-diagnosis`,
  conditionProblem: `${US_CORE}/us-core-condition-problems-health-concerns`,
  medicationRequest: `${US_CORE}/us-core-medicationrequest`,
  medication: `${US_CORE}/us-core-medication`,
  medicationDispense: `${US_CORE}/us-core-medicationdispense`,
  procedure: `${US_CORE}/us-core-procedure`,
  diagnosticReportLab: `${US_CORE}/us-core-diagnosticreport-lab`,
  diagnosticReportNote: `${US_CORE}/us-core-diagnosticreport-note`,
  documentReference: `${US_CORE}/us-core-documentreference`,
  carePlan: `${US_CORE}/us-core-careplan`,
  careTeam: `${US_CORE}/us-core-careteam`,
  goal: `${US_CORE}/us-core-goal`,
  coverage: `${US_CORE}/us-core-coverage`,
  implantableDevice: `${US_CORE}/us-core-implantable-device`,
  serviceRequest: `${US_CORE}/us-core-servicerequest`,
  provenance: `${US_CORE}/us-core-provenance`,
  relatedPerson: `${US_CORE}/us-core-relatedperson`,
  questionnaireResponse: `${US_CORE}/us-core-questionnaireresponse`,
  specimen: `${US_CORE}/us-core-specimen`,
  organization: `${US_CORE}/us-core-organization`,
  practitioner: `${US_CORE}/us-core-practitioner`,
  practitionerRole: `${US_CORE}/us-core-practitionerrole`,
  location: `${US_CORE}/us-core-location`,
} as const;

export function coding(system: string, code: string, display: string): Coding {
  return { system, code, display };
}

export function concept(system: string, code: string, display: string, text?: string): CodeableConcept {
  return text === undefined ? { coding: [coding(system, code, display)] } : { coding: [coding(system, code, display)], text };
}

export type ObservationCategoryCode = 'vital-signs' | 'laboratory' | 'social-history';

const CATEGORY_DISPLAY: Record<ObservationCategoryCode, string> = {
  'vital-signs': 'Vital Signs',
  laboratory: 'Laboratory',
  'social-history': 'Social History',
};

export function observationCategory(code: ObservationCategoryCode): CodeableConcept[] {
  return [concept(SYSTEM.observationCategory, code, CATEGORY_DISPLAY[code])];
}

export type InterpretationCode = 'N' | 'H' | 'L' | 'HH' | 'LL';

const INTERPRETATION_DISPLAY: Record<InterpretationCode, string> = {
  N: 'Normal',
  H: 'High',
  L: 'Low',
  HH: 'Critical high',
  LL: 'Critical low',
};

export function interpretationConcept(code: InterpretationCode): CodeableConcept[] {
  return [concept(SYSTEM.interpretation, code, INTERPRETATION_DISPLAY[code])];
}

/** SNOMED CT diagnoses used as MedicationStatement.reasonCode; conditions.ts adds ICD-10-CM for Condition.code. */
export const DIAGNOSIS = {
  type2Diabetes: { code: '44054006', display: 'Diabetes mellitus type 2' },
  prediabetes: { code: '714628002', display: 'Prediabetes' },
  hypertension: { code: '59621000', display: 'Essential hypertension' },
  hyperlipidemia: { code: '55822004', display: 'Hyperlipidemia' },
  asthma: { code: '195967001', display: 'Asthma' },
  hypothyroidism: { code: '40930008', display: 'Hypothyroidism' },
  ironDeficiencyAnemia: { code: '87522002', display: 'Iron deficiency anemia' },
  ckdStage3: { code: '433144002', display: 'Chronic kidney disease stage 3' },
  otitisMedia: { code: '65363002', display: 'Otitis media' },
  acuteBronchitis: { code: '10509002', display: 'Acute bronchitis' },
  acuteSinusitis: { code: '15805002', display: 'Acute sinusitis' },
  strepPharyngitis: { code: '43878008', display: 'Streptococcal sore throat' },
  peanutAllergy: { code: '91935009', display: 'Allergy to peanut' },
  allergicRhinitis: { code: '61582004', display: 'Allergic rhinitis' },
} as const satisfies Record<string, { code: string; display: string }>;

export type DiagnosisKey = keyof typeof DIAGNOSIS;

export function diagnosisConcept(key: DiagnosisKey): CodeableConcept {
  const d = DIAGNOSIS[key];
  return concept(SYSTEM.snomed, d.code, d.display, d.display);
}
