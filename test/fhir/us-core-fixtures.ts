// Hand-written US Core-shaped records for two patients (pa: Amy Shaw, pb: Ben Ortiz) and the shared directory they
// point at, with known codes, statuses and dates, so searches can be checked for exactly the ids they must return.
// Values differ between the two patients where a test needs "the other patient has none".
import type { CodeableConcept, Coding, FhirResource, Reference } from 'fhir/r4.js';

export const SNOMED = 'http://snomed.info/sct';
export const LOINC = 'http://loinc.org';
export const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
export const CPT = 'http://www.ama-assn.org/go/cpt';
export const ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
export const NPI = 'http://hl7.org/fhir/sid/us-npi';
export const NUCC = 'http://nucc.org/provider-taxonomy';
export const CVX = 'http://hl7.org/fhir/sid/cvx';
export const OBS_CAT = 'http://terminology.hl7.org/CodeSystem/observation-category';
export const US_CAT = 'http://hl7.org/fhir/us/core/CodeSystem/us-core-category';
export const COND_CAT = 'http://terminology.hl7.org/CodeSystem/condition-category';
export const US_COND_CAT = 'http://hl7.org/fhir/us/core/CodeSystem/condition-category';
export const COND_CLINICAL = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
export const COND_VER = 'http://terminology.hl7.org/CodeSystem/condition-ver-status';
export const AI_CLINICAL = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical';
export const AI_VER = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification';
export const DR_CAT = 'http://terminology.hl7.org/CodeSystem/v2-0074';
export const DOC_CAT = 'http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category';
export const CAREPLAN_CAT = 'http://hl7.org/fhir/us/core/CodeSystem/careplan-category';
export const DISCHARGE = 'http://terminology.hl7.org/CodeSystem/discharge-disposition';
export const SOPT = 'https://nahdo.org/sopt';
export const MS_CAT = 'http://terminology.hl7.org/CodeSystem/medication-statement-category';
export const MRN = 'http://hospital.example.org/mrn';
export const IDS = 'http://hospital.example.org/ids';
export const ASSERTED_DATE = 'http://hl7.org/fhir/StructureDefinition/condition-assertedDate';
export const PHQ9 = 'http://loinc.org/q/44249-1';
export const HRSN = 'http://hl7.org/fhir/us/core/Questionnaire/ahc-hrsn';

const coding = (system: string, code: string, display?: string): Coding => ({ system, code, ...(display ? { display } : {}) });
const cc = (system: string, code: string, display?: string): CodeableConcept => ({ coding: [coding(system, code, display)], ...(display ? { text: display } : {}) });
const ref = (reference: string): Reference => ({ reference });
const ident = (value: string) => [{ system: IDS, value }];
const A = ref('Patient/pa');
const B = ref('Patient/pb');

export const PATIENTS: FhirResource[] = [
  {
    resourceType: 'Patient',
    id: 'pa',
    identifier: [{ system: MRN, value: 'A-1001' }],
    name: [{ family: 'Shaw', given: ['Amy', 'Valerie'], prefix: ['Ms.'] }],
    gender: 'female',
    birthDate: '1987-02-20',
    address: [{ line: ['49 Meadow St'], city: 'Mounds', state: 'OK', postalCode: '74047', country: 'US' }],
    telecom: [{ system: 'phone', value: '555-555-0101', use: 'home' }],
  },
  {
    resourceType: 'Patient',
    id: 'pb',
    identifier: [{ system: MRN, value: 'B-2002' }],
    name: [{ family: 'Ortiz', given: ['Ben'] }],
    gender: 'male',
    birthDate: '1950-05-01',
    deceasedDateTime: '2024-01-15T08:00:00Z',
    address: [{ line: ['10 Elm Ave'], city: 'Boston', state: 'MA', postalCode: '02118', country: 'US' }],
    telecom: [{ system: 'email', value: 'ben@example.org' }],
  },
];

// Not in any patient's compartment: shared by both records.
export const DIRECTORY: FhirResource[] = [
  {
    resourceType: 'Organization',
    id: 'org-1',
    identifier: [{ system: NPI, value: '1234567893' }],
    active: true,
    name: 'Acme Health Clinic',
    alias: ['Acme Family Practice'],
    address: [{ line: ['100 Main St'], city: 'Springfield', state: 'IL', postalCode: '62701', country: 'US' }],
  },
  {
    resourceType: 'Organization',
    id: 'org-2',
    identifier: [{ system: NPI, value: '1144221847' }],
    active: true,
    name: 'Beacon Insurance',
    address: [{ line: ['7 Harbor Rd'], city: 'Boston', state: 'MA', postalCode: '02110', country: 'US' }],
  },
  {
    resourceType: 'Practitioner',
    id: 'pr-1',
    identifier: [{ system: NPI, value: '1111111112' }],
    name: [{ family: 'Lee', given: ['Jordan'], prefix: ['Dr.'] }],
  },
  {
    resourceType: 'Practitioner',
    id: 'pr-2',
    identifier: [{ system: NPI, value: '2222222228' }],
    name: [{ family: 'Okafor', given: ['Chidi'], suffix: ['MD'] }],
  },
  { resourceType: 'Endpoint', id: 'ep-1', status: 'active', connectionType: coding('http://terminology.hl7.org/CodeSystem/endpoint-connection-type', 'direct-project'), payloadType: [{ text: 'any' }], address: 'mailto:lee@direct.acme.example.org' },
  {
    resourceType: 'PractitionerRole',
    id: 'prr-1',
    identifier: ident('role-lee'),
    practitioner: ref('Practitioner/pr-1'),
    organization: ref('Organization/org-1'),
    specialty: [cc(NUCC, '207Q00000X', 'Family Medicine Physician')],
    endpoint: [ref('Endpoint/ep-1')],
  },
  {
    resourceType: 'PractitionerRole',
    id: 'prr-2',
    identifier: ident('role-okafor'),
    practitioner: ref('Practitioner/pr-2'),
    organization: ref('Organization/org-1'),
    specialty: [cc(NUCC, '207RC0000X', 'Cardiovascular Disease Physician')],
  },
  {
    resourceType: 'Location',
    id: 'loc-1',
    identifier: ident('loc-sgh'),
    status: 'active',
    name: 'Springfield General Hospital',
    alias: ['SGH'],
    address: { line: ['1 Hospital Way'], city: 'Springfield', state: 'IL', postalCode: '62702' },
  },
  {
    resourceType: 'Location',
    id: 'loc-2',
    identifier: ident('loc-buc'),
    status: 'active',
    name: 'Boston Urgent Care',
    address: { line: ['55 Tremont St'], city: 'Boston', state: 'MA', postalCode: '02108' },
  },
  { resourceType: 'Medication', id: 'med-1', identifier: ident('med-amlodipine'), code: cc(RXNORM, '197361', 'Amlodipine 5 MG Oral Tablet') },
  { resourceType: 'Medication', id: 'med-2', identifier: ident('med-lisinopril'), code: cc(RXNORM, '314076', 'Lisinopril 10 MG Oral Tablet') },
];

const encounter = (id: string, subject: Reference, status: 'finished' | 'in-progress' | 'planned', cls: string, type: [string, string], period: { start?: string; end?: string } | undefined, extra: object = {}): FhirResource => ({
  resourceType: 'Encounter',
  id,
  identifier: ident(id),
  status,
  class: coding(ACT, cls),
  type: [cc(type[0], type[1])],
  subject,
  ...(period ? { period } : {}),
  ...extra,
});

const condition = (id: string, subject: Reference, categories: Coding[], clinical: string, code: [string, string], extra: object = {}): FhirResource => ({
  resourceType: 'Condition',
  id,
  identifier: ident(id),
  clinicalStatus: cc(COND_CLINICAL, clinical),
  verificationStatus: cc(COND_VER, 'confirmed'),
  category: categories.map((c) => ({ coding: [c] })),
  code: cc(code[0], code[1]),
  subject,
  ...extra,
});

const observation = (id: string, subject: Reference, categories: Coding[], code: string, effective: string | undefined, extra: object = {}): FhirResource => ({
  resourceType: 'Observation',
  id,
  identifier: ident(id),
  status: 'final',
  category: categories.map((c) => ({ coding: [c] })),
  code: cc(LOINC, code),
  subject,
  ...(effective ? { effectiveDateTime: effective } : {}),
  ...extra,
});

export const CLINICAL: FhirResource[] = [
  // Encounters
  encounter('enc-a1', A, 'finished', 'AMB', [CPT, '99213'], { start: '2023-03-10T09:00:00Z', end: '2023-03-10T09:30:00Z' }, {
    location: [{ location: ref('Location/loc-1') }],
    participant: [{ individual: ref('Practitioner/pr-1') }],
  }),
  encounter('enc-a2', A, 'finished', 'IMP', [SNOMED, '183452005'], { start: '2023-06-01T14:00:00Z', end: '2023-06-05T10:00:00Z' }, {
    location: [{ location: ref('Location/loc-2') }],
    participant: [{ individual: ref('Practitioner/pr-2') }],
    hospitalization: { dischargeDisposition: cc(DISCHARGE, 'home') },
  }),
  encounter('enc-a3', A, 'planned', 'AMB', [CPT, '99214'], { start: '2024-09-01T10:00:00Z' }),
  encounter('enc-b1', B, 'in-progress', 'EMER', [SNOMED, '50849002'], { start: '2023-03-10T22:00:00Z' }, {
    location: [{ location: ref('Location/loc-2') }],
    hospitalization: { dischargeDisposition: cc(DISCHARGE, 'snf') },
  }),

  // Conditions: a problem, an encounter diagnosis, a health concern with an SDOH category; the other patient's problem
  condition('cond-a1', A, [coding(COND_CAT, 'problem-list-item')], 'active', [SNOMED, '44054006'], {
    onsetDateTime: '2015-04',
    recordedDate: '2015-05-01T10:00:00Z',
    extension: [{ url: ASSERTED_DATE, valueDateTime: '2015-04-20' }],
  }),
  condition('cond-a2', A, [coding(COND_CAT, 'encounter-diagnosis')], 'resolved', [SNOMED, '195662009'], {
    onsetPeriod: { start: '2023-03-08', end: '2023-03-09' },
    abatementDateTime: '2023-03-15',
    recordedDate: '2023-03-10T09:20:00Z',
    encounter: ref('Encounter/enc-a1'),
  }),
  condition('cond-a3', A, [coding(US_COND_CAT, 'health-concern'), coding(US_CAT, 'sdoh')], 'active', [SNOMED, '733423003'], {
    recordedDate: '2023-06-02T08:00:00Z',
  }),
  condition('cond-b1', B, [coding(COND_CAT, 'problem-list-item')], 'active', [SNOMED, '38341003'], {
    onsetDateTime: '2019-01-10',
    recordedDate: '2019-02-01T10:00:00Z',
    abatementPeriod: { start: '2023-12-01' },
    extension: [{ url: ASSERTED_DATE, valueDateTime: '2019-01-20' }],
    encounter: ref('Encounter/enc-b1'),
  }),

  // Care plans
  { resourceType: 'CarePlan', id: 'cp-a1', identifier: ident('cp-a1'), status: 'active', intent: 'plan', category: [cc(CAREPLAN_CAT, 'assess-plan')], subject: A, period: { start: '2023-01-01', end: '2023-12-31' }, text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Diabetes plan</div>' } },
  { resourceType: 'CarePlan', id: 'cp-a2', identifier: ident('cp-a2'), status: 'completed', intent: 'plan', category: [cc(CAREPLAN_CAT, 'assess-plan')], subject: A, period: { start: '2020-01-01', end: '2020-06-30' } },
  { resourceType: 'CarePlan', id: 'cp-b1', identifier: ident('cp-b1'), status: 'revoked', intent: 'plan', category: [cc(CAREPLAN_CAT, 'assess-plan')], subject: B, period: { start: '2023-02-01' } },

  // Care teams
  {
    resourceType: 'CareTeam',
    id: 'ct-a1',
    identifier: ident('ct-a1'),
    status: 'active',
    subject: A,
    participant: [
      { role: [cc(SNOMED, '446050000', 'Primary care physician')], member: ref('Practitioner/pr-1') },
      { role: [cc(SNOMED, '133932002', 'Caregiver')], member: ref('RelatedPerson/rp-a1') },
      { role: [cc(SNOMED, '116154003', 'Patient')], member: A },
    ],
  },
  { resourceType: 'CareTeam', id: 'ct-a2', identifier: ident('ct-a2'), status: 'inactive', subject: A, participant: [{ role: [cc(SNOMED, '17561000', 'Cardiologist')], member: ref('PractitionerRole/prr-2') }] },
  { resourceType: 'CareTeam', id: 'ct-b1', identifier: ident('ct-b1'), status: 'proposed', subject: B, participant: [{ role: [cc(SNOMED, '17561000', 'Cardiologist')], member: ref('Practitioner/pr-2') }] },

  // Coverage
  { resourceType: 'Coverage', id: 'cov-a1', identifier: ident('cov-a1'), status: 'active', type: cc(SOPT, '5', 'Private health insurance'), beneficiary: A, subscriberId: 'AMY-77', payor: [ref('Organization/org-2')], relationship: cc('http://terminology.hl7.org/CodeSystem/subscriber-relationship', 'self') },
  { resourceType: 'Coverage', id: 'cov-a2', identifier: ident('cov-a2'), status: 'cancelled', type: cc(SOPT, '2', 'Medicaid'), beneficiary: A, payor: [ref('Organization/org-1')] },
  { resourceType: 'Coverage', id: 'cov-b1', identifier: ident('cov-b1'), status: 'active', type: cc(SOPT, '1', 'Medicare'), beneficiary: B, payor: [ref('Organization/org-2')] },

  // Implantable devices
  { resourceType: 'Device', id: 'dev-a1', identifier: ident('dev-a1'), status: 'active', type: cc(SNOMED, '468063009', 'Coated femoral stem prosthesis'), patient: A, udiCarrier: [{ deviceIdentifier: '09504000059118' }] },
  { resourceType: 'Device', id: 'dev-a2', identifier: ident('dev-a2'), status: 'inactive', type: cc(SNOMED, '14106009', 'Cardiac pacemaker'), patient: A },
  { resourceType: 'Device', id: 'dev-b1', identifier: ident('dev-b1'), status: 'entered-in-error', type: cc(SNOMED, '14106009', 'Cardiac pacemaker'), patient: B },

  // Observations: the result a lab report points at, and the categories beyond labs and vitals
  observation('obs-a-hgb', A, [coding(OBS_CAT, 'laboratory')], '718-7', '2023-03-10T10:00:00Z', { encounter: ref('Encounter/enc-a1') }),
  observation('obs-a-sdoh', A, [coding(OBS_CAT, 'survey'), coding(US_CAT, 'sdoh')], '88122-7', '2023-03-10T09:10:00Z', { encounter: ref('Encounter/enc-a1') }),
  observation('obs-a-smoke', A, [coding(OBS_CAT, 'social-history')], '72166-2', '2023-03-10T09:05:00Z', { valueCodeableConcept: cc(SNOMED, '8517006', 'Ex-smoker') }),
  observation('obs-a-func', A, [coding(US_CAT, 'functional-status')], '75246-9', undefined, {
    status: 'preliminary',
    effectivePeriod: { start: '2023-06-02', end: '2023-06-04' },
    encounter: ref('Encounter/enc-a2'),
  }),
  observation('obs-b-sdoh', B, [coding(OBS_CAT, 'survey'), coding(US_CAT, 'sdoh')], '88124-3', '2023-04-01T12:00:00Z', { status: 'amended' }),
  observation('obs-b-smoke', B, [coding(OBS_CAT, 'social-history')], '72166-2', '2023-04-01T12:05:00Z'),
  { resourceType: 'Observation', id: 'obs-group', status: 'final', category: [cc(OBS_CAT, 'survey')], code: cc(LOINC, '88122-7'), subject: ref('Group/g-1'), effectiveDateTime: '2023-03-10' },

  // Diagnostic reports: a lab panel, a radiology note
  { resourceType: 'DiagnosticReport', id: 'dr-a1', identifier: ident('dr-a1'), status: 'final', category: [cc(DR_CAT, 'LAB')], code: cc(LOINC, '58410-2', 'CBC panel'), subject: A, encounter: ref('Encounter/enc-a1'), effectiveDateTime: '2023-03-10T10:00:00Z', issued: '2023-03-10T12:00:00Z', result: [ref('Observation/obs-a-hgb')] },
  { resourceType: 'DiagnosticReport', id: 'dr-a2', identifier: ident('dr-a2'), status: 'amended', category: [cc(LOINC, 'LP29684-5', 'Radiology')], code: cc(LOINC, '24627-2', 'Chest CT'), subject: A, encounter: ref('Encounter/enc-a2'), effectivePeriod: { start: '2023-06-02T08:00:00Z', end: '2023-06-02T09:00:00Z' } },
  { resourceType: 'DiagnosticReport', id: 'dr-b1', identifier: ident('dr-b1'), status: 'preliminary', category: [cc(DR_CAT, 'LAB')], code: cc(LOINC, '24323-8', 'Comprehensive metabolic panel'), subject: B, effectiveDateTime: '2023-03-11T07:00:00Z' },

  // Clinical notes
  {
    resourceType: 'DocumentReference',
    id: 'doc-a1',
    identifier: ident('doc-a1'),
    status: 'current',
    type: cc(LOINC, '18842-5', 'Discharge summary'),
    category: [cc(DOC_CAT, 'clinical-note')],
    subject: A,
    date: '2023-06-05T12:00:00Z',
    content: [{ attachment: { contentType: 'text/plain', data: 'RGlzY2hhcmdlZCBob21lLg==' } }],
    context: { encounter: [ref('Encounter/enc-a2')], period: { start: '2023-06-01T14:00:00Z', end: '2023-06-05T10:00:00Z' } },
  },
  {
    resourceType: 'DocumentReference',
    id: 'doc-a2',
    identifier: ident('doc-a2'),
    status: 'superseded',
    type: cc(LOINC, '11488-4', 'Consult note'),
    category: [cc(DOC_CAT, 'clinical-note')],
    subject: A,
    date: '2023-03-10T11:00:00Z',
    content: [{ attachment: { contentType: 'text/plain', url: 'http://example.org/notes/a2.txt' } }],
    context: { encounter: [ref('Encounter/enc-a1')], period: { start: '2023-03-10T09:00:00Z', end: '2023-03-10T09:30:00Z' } },
  },
  {
    resourceType: 'DocumentReference',
    id: 'doc-b1',
    identifier: ident('doc-b1'),
    status: 'current',
    type: cc(LOINC, '34117-2', 'History and physical note'),
    category: [cc(DOC_CAT, 'clinical-note')],
    subject: B,
    date: '2023-04-01T08:00:00Z',
    content: [{ attachment: { contentType: 'text/plain', data: 'SCZQ' } }],
    context: { period: { start: '2023-03-28' } },
  },

  // Goals
  { resourceType: 'Goal', id: 'goal-a1', identifier: ident('goal-a1'), lifecycleStatus: 'active', description: cc(SNOMED, '289169006', 'Weight loss'), subject: A, target: [{ dueDate: '2024-06-30' }] },
  { resourceType: 'Goal', id: 'goal-a2', identifier: ident('goal-a2'), lifecycleStatus: 'completed', description: cc(LOINC, '4548-4', 'HbA1c below 7%'), subject: A, target: [{ dueDate: '2022-12-31' }] },
  { resourceType: 'Goal', id: 'goal-b1', identifier: ident('goal-b1'), lifecycleStatus: 'proposed', description: cc(SNOMED, '229065009', 'Exercise therapy'), subject: B, target: [{ dueDate: '2024-01-15' }] },

  // Dispenses and prescriptions
  { resourceType: 'MedicationDispense', id: 'md-a1', identifier: ident('md-a1'), status: 'completed', type: cc(ACT, 'FF', 'First Fill'), medicationCodeableConcept: cc(RXNORM, '197361'), subject: A, whenHandedOver: '2023-03-11T15:00:00Z' },
  { resourceType: 'MedicationDispense', id: 'md-a2', identifier: ident('md-a2'), status: 'in-progress', type: cc(ACT, 'RF', 'Refill'), medicationReference: ref('Medication/med-2'), subject: A },
  { resourceType: 'MedicationDispense', id: 'md-b1', identifier: ident('md-b1'), status: 'cancelled', type: cc(ACT, 'EM', 'Emergency Supply'), medicationCodeableConcept: cc(RXNORM, '860975'), subject: B, whenHandedOver: '2023-04-02' },
  {
    resourceType: 'MedicationRequest',
    id: 'mr-a1',
    identifier: ident('mr-a1'),
    status: 'active',
    intent: 'order',
    medicationCodeableConcept: cc(RXNORM, '197361'),
    subject: A,
    encounter: ref('Encounter/enc-a1'),
    authoredOn: '2023-03-10T09:25:00Z',
    requester: ref('Practitioner/pr-1'),
  },
  { resourceType: 'MedicationRequest', id: 'mr-a2', identifier: ident('mr-a2'), status: 'completed', intent: 'plan', medicationReference: ref('Medication/med-2'), subject: A, authoredOn: '2022-01-15', requester: ref('PractitionerRole/prr-2') },
  { resourceType: 'MedicationRequest', id: 'mr-b1', identifier: ident('mr-b1'), status: 'stopped', intent: 'order', medicationCodeableConcept: cc(RXNORM, '860975'), subject: B, encounter: ref('Encounter/enc-b1'), authoredOn: '2023-04-01T08:00:00Z', requester: ref('Practitioner/pr-2') },

  // Procedures
  { resourceType: 'Procedure', id: 'proc-a1', identifier: ident('proc-a1'), status: 'completed', code: cc(SNOMED, '80146002', 'Appendectomy'), subject: A, performedDateTime: '2010-07-15' },
  { resourceType: 'Procedure', id: 'proc-a2', identifier: ident('proc-a2'), status: 'completed', code: cc(SNOMED, '241615005', 'MRI of knee'), subject: A, encounter: ref('Encounter/enc-a2'), performedPeriod: { start: '2023-06-02T08:00:00Z', end: '2023-06-02T09:00:00Z' } },
  { resourceType: 'Procedure', id: 'proc-b1', identifier: ident('proc-b1'), status: 'not-done', code: cc(SNOMED, '73761001', 'Colonoscopy'), subject: B, encounter: ref('Encounter/enc-b1'), performedDateTime: '2023-03-11' },

  // Questionnaire responses: canonical questionnaires, one versioned, one on this server
  { resourceType: 'QuestionnaireResponse', id: 'qr-a1', identifier: { system: IDS, value: 'qr-a1' }, status: 'completed', questionnaire: PHQ9, subject: A, authored: '2023-03-10T09:10:00Z' },
  { resourceType: 'QuestionnaireResponse', id: 'qr-a2', identifier: { system: IDS, value: 'qr-a2' }, status: 'in-progress', questionnaire: `${HRSN}|3.0`, subject: A, authored: '2023-06-01' },
  { resourceType: 'QuestionnaireResponse', id: 'qr-a3', identifier: { system: IDS, value: 'qr-a3' }, status: 'amended', questionnaire: 'http://localhost:8080/fhir/Questionnaire/local-q', subject: A, authored: '2024-02-02T10:00:00Z' },
  { resourceType: 'QuestionnaireResponse', id: 'qr-b1', identifier: { system: IDS, value: 'qr-b1' }, status: 'stopped', questionnaire: `${HRSN}|3.0`, subject: B, authored: '2023-04-01T12:00:00Z' },

  // Related persons
  { resourceType: 'RelatedPerson', id: 'rp-a1', identifier: ident('rp-a1'), patient: A, relationship: [cc('http://terminology.hl7.org/CodeSystem/v3-RoleCode', 'HUSB')], name: [{ family: 'Rivera', given: ['Carlos'] }] },
  { resourceType: 'RelatedPerson', id: 'rp-b1', identifier: ident('rp-b1'), patient: B, relationship: [cc('http://terminology.hl7.org/CodeSystem/v3-RoleCode', 'DAU')], name: [{ family: 'Whitfield', given: ['Dana'] }] },

  // Orders
  { resourceType: 'ServiceRequest', id: 'sr-a1', identifier: ident('sr-a1'), status: 'active', intent: 'order', category: [cc(SNOMED, '108252007', 'Laboratory procedure')], code: cc(LOINC, '24357-6', 'Urinalysis'), subject: A, authoredOn: '2023-03-10T09:20:00Z' },
  { resourceType: 'ServiceRequest', id: 'sr-a2', identifier: ident('sr-a2'), status: 'completed', intent: 'order', category: [cc(US_CAT, 'sdoh')], code: cc(SNOMED, '464681000124103', 'Referral to food bank'), subject: A, authoredOn: '2022-11-01' },
  { resourceType: 'ServiceRequest', id: 'sr-b1', identifier: ident('sr-b1'), status: 'draft', intent: 'order', category: [cc(SNOMED, '363679005', 'Imaging')], code: cc(LOINC, '24627-2', 'Chest CT'), subject: B, authoredOn: '2023-04-01T08:00:00Z' },

  // Specimens (one with a local code without a system, for |code)
  { resourceType: 'Specimen', id: 'spec-a1', identifier: ident('spec-a1'), status: 'available', type: { coding: [coding(SNOMED, '119297000', 'Blood specimen'), { code: 'BLD' }] }, subject: A },
  { resourceType: 'Specimen', id: 'spec-a2', identifier: ident('spec-a2'), status: 'available', type: cc(SNOMED, '122575003', 'Urine specimen'), subject: A },
  { resourceType: 'Specimen', id: 'spec-b1', identifier: ident('spec-b1'), status: 'unavailable', type: cc(SNOMED, '258580003', 'Whole blood sample'), subject: B },

  // The five original types, for their parameters beyond the first ones
  {
    resourceType: 'AllergyIntolerance',
    id: 'al-a1',
    identifier: ident('al-a1'),
    clinicalStatus: cc(AI_CLINICAL, 'active'),
    verificationStatus: cc(AI_VER, 'confirmed'),
    type: 'allergy',
    category: ['medication'],
    criticality: 'high',
    code: cc(RXNORM, '7980', 'Penicillin G'),
    patient: A,
    onsetDateTime: '2004-08',
    recordedDate: '2010-05-02T10:00:00Z',
  },
  {
    resourceType: 'AllergyIntolerance',
    id: 'al-b1',
    identifier: ident('al-b1'),
    clinicalStatus: cc(AI_CLINICAL, 'resolved'),
    verificationStatus: cc(AI_VER, 'unconfirmed'),
    category: ['food'],
    criticality: 'low',
    code: cc(SNOMED, '762952008', 'Peanut'),
    patient: B,
    reaction: [{ substance: cc(SNOMED, '256349002', 'Peanut protein'), manifestation: [cc(SNOMED, '247472004', 'Hives')], onset: '2019-07-04' }],
    recordedDate: '2019-07-05',
  },
  { resourceType: 'Immunization', id: 'imm-a1', identifier: ident('imm-a1'), status: 'completed', vaccineCode: cc(CVX, '140', 'Influenza, seasonal'), patient: A, occurrenceDateTime: '2022-10-01T10:00:00Z', lotNumber: 'FLU-2022-AX7', primarySource: true },
  { resourceType: 'Immunization', id: 'imm-b1', identifier: ident('imm-b1'), status: 'not-done', vaccineCode: cc(CVX, '208', 'COVID-19, mRNA'), patient: B, occurrenceDateTime: '2021-04-10', statusReason: cc(ACT, 'PATOBJ'), primarySource: true },
  { resourceType: 'MedicationStatement', id: 'ms-a1', identifier: ident('ms-a1'), status: 'active', category: cc(MS_CAT, 'community'), medicationCodeableConcept: cc(RXNORM, '197361'), subject: A, effectivePeriod: { start: '2023-03-10' } },
  { resourceType: 'MedicationStatement', id: 'ms-b1', identifier: ident('ms-b1'), status: 'stopped', category: cc(MS_CAT, 'patientspecified'), medicationReference: ref('Medication/med-2'), subject: B, effectiveDateTime: '2021-05-01' },

  // Provenance for a problem and the patient record
  {
    resourceType: 'Provenance',
    id: 'prov-a',
    target: [ref('Condition/cond-a1'), A],
    recorded: '2023-03-10T10:00:00Z',
    agent: [{ type: cc('http://terminology.hl7.org/CodeSystem/provenance-participant-type', 'author'), who: ref('Practitioner/pr-1'), onBehalfOf: ref('Organization/org-1') }],
  },
  {
    resourceType: 'Provenance',
    id: 'prov-b',
    target: [ref('Condition/cond-b1'), B],
    recorded: '2019-02-01T10:00:00Z',
    agent: [{ type: cc('http://terminology.hl7.org/CodeSystem/provenance-participant-type', 'author'), who: ref('Practitioner/pr-2') }],
  },
];

/** Patient A's records of each US Core type (the directory types: all of them), for result-parameter checks. */
export const RECORDS_OF_A: Record<string, readonly string[]> = {
  Patient: ['pa'],
  Observation: ['obs-a-func', 'obs-a-hgb', 'obs-a-sdoh', 'obs-a-smoke'],
  AllergyIntolerance: ['al-a1'],
  CarePlan: ['cp-a1', 'cp-a2'],
  CareTeam: ['ct-a1', 'ct-a2'],
  Condition: ['cond-a1', 'cond-a2', 'cond-a3'],
  Coverage: ['cov-a1', 'cov-a2'],
  Device: ['dev-a1', 'dev-a2'],
  DiagnosticReport: ['dr-a1', 'dr-a2'],
  DocumentReference: ['doc-a1', 'doc-a2'],
  Encounter: ['enc-a1', 'enc-a2', 'enc-a3'],
  Goal: ['goal-a1', 'goal-a2'],
  Immunization: ['imm-a1'],
  Location: ['loc-1', 'loc-2'],
  Medication: ['med-1', 'med-2'],
  MedicationDispense: ['md-a1', 'md-a2'],
  MedicationRequest: ['mr-a1', 'mr-a2'],
  MedicationStatement: ['ms-a1'],
  Organization: ['org-1', 'org-2'],
  Practitioner: ['pr-1', 'pr-2'],
  PractitionerRole: ['prr-1', 'prr-2'],
  Procedure: ['proc-a1', 'proc-a2'],
  Provenance: ['prov-a'],
  QuestionnaireResponse: ['qr-a1', 'qr-a2', 'qr-a3'],
  RelatedPerson: ['rp-a1'],
  ServiceRequest: ['sr-a1', 'sr-a2'],
  Specimen: ['spec-a1', 'spec-a2'],
};

/** Patient B's records of each type in the compartment. */
export const RECORDS_OF_B: Record<string, readonly string[]> = {
  Patient: ['pb'],
  Observation: ['obs-b-sdoh', 'obs-b-smoke'],
  AllergyIntolerance: ['al-b1'],
  CarePlan: ['cp-b1'],
  CareTeam: ['ct-b1'],
  Condition: ['cond-b1'],
  Coverage: ['cov-b1'],
  Device: ['dev-b1'],
  DiagnosticReport: ['dr-b1'],
  DocumentReference: ['doc-b1'],
  Encounter: ['enc-b1'],
  Goal: ['goal-b1'],
  Immunization: ['imm-b1'],
  MedicationDispense: ['md-b1'],
  MedicationRequest: ['mr-b1'],
  MedicationStatement: ['ms-b1'],
  Procedure: ['proc-b1'],
  Provenance: ['prov-b'],
  QuestionnaireResponse: ['qr-b1'],
  RelatedPerson: ['rp-b1'],
  ServiceRequest: ['sr-b1'],
  Specimen: ['spec-b1'],
};

export const ALL_FIXTURES: FhirResource[] = [...PATIENTS, ...DIRECTORY, ...CLINICAL];

/** Loads every fixture through the service (no auth), with its own id. */
export async function seedUsCore(fhir: { update(type: string, id: string, body: unknown): Promise<unknown> }): Promise<void> {
  for (const r of ALL_FIXTURES) await fhir.update(r.resourceType, r.id!, r);
}
