// The example app's health problems and medications: which come first, what each line says, how prescriptions and
// medication-list entries of one medicine become one line, and how the page reads when part was not shared.
import type { Condition, MedicationRequest, MedicationStatement } from 'fhir/r4.js';
import t from 'tap';
import { groupConditions } from '../../src/example-app/conditions.js';
import type { PatientRecord, Prescription, Section } from '../../src/example-app/fhir-record.js';
import { medicationList } from '../../src/example-app/medications.js';
import { recordPage } from '../../src/example-app/record-page.js';

const CATEGORY = 'http://terminology.hl7.org/CodeSystem/condition-category';
const CLINICAL = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';

const condition = (id: string, text: string, category: string, status: string, onset: string, extra: Partial<Condition> = {}): Condition => ({
  resourceType: 'Condition',
  id,
  category: [{ coding: [{ system: CATEGORY, code: category }] }],
  clinicalStatus: { coding: [{ system: CLINICAL, code: status }] },
  code: { text },
  subject: { reference: 'Patient/p' },
  onsetDateTime: onset,
  ...extra,
});

const request = (id: string, status: MedicationRequest['status'], authoredOn: string, extra: Partial<MedicationRequest> = {}): MedicationRequest => ({
  resourceType: 'MedicationRequest',
  id,
  status,
  intent: 'order',
  subject: { reference: 'Patient/p' },
  authoredOn,
  ...extra,
});

const statement = (id: string, status: MedicationStatement['status'], extra: Partial<MedicationStatement> = {}): MedicationStatement => ({
  resourceType: 'MedicationStatement',
  id,
  status,
  subject: { reference: 'Patient/p' },
  ...extra,
});

t.test('health problems: the problem list and concerns first, then visit diagnoses; active first', async (t) => {
  const groups = groupConditions([
    condition('rash', 'Rash', 'encounter-diagnosis', 'resolved', '2023-02-11', { abatementDateTime: '2023-02-23' }),
    condition('flu', 'Influenza', 'encounter-diagnosis', 'resolved', '2024-12-01'),
    condition('asthma', 'Asthma', 'problem-list-item', 'resolved', '2010-05-01'),
    condition('thyroid', 'Hypothyroidism', 'problem-list-item', 'active', '2023-05-16'),
    condition('housing', 'Housing instability', 'health-concern', 'active', '2024-09'),
    condition('wrong', 'Diabetes', 'problem-list-item', 'active', '2024-01-01', { verificationStatus: { coding: [{ code: 'entered-in-error' }] } }),
    condition('ruled-out', 'Fracture', 'encounter-diagnosis', 'resolved', '2024-01-01', { verificationStatus: { coding: [{ code: 'refuted' }] } }),
    condition('both', 'Hypertension', 'encounter-diagnosis', 'active', '2022-03-01', { category: [{ coding: [{ system: CATEGORY, code: 'encounter-diagnosis' }] }, { coding: [{ system: CATEGORY, code: 'problem-list-item' }] }] }),
  ]);
  t.same(groups.problemList.map((p) => p.name), ['Housing instability', 'Hypothyroidism', 'Hypertension', 'Asthma'], 'problems and health concerns; active ones first, newest onset first; a diagnosis also on the problem list stays there');
  t.same(groups.visitDiagnoses.map((p) => p.name), ['Influenza', 'Rash'], 'then the diagnoses from visits; entered in error and refuted ones are left out');
  t.same(groups.problemList[1], { id: 'thyroid', name: 'Hypothyroidism', statusText: 'Active', active: true, whenText: 'since 16 May 2023' });
  t.same(groups.visitDiagnoses[1], { id: 'rash', name: 'Rash', statusText: 'Resolved', active: false, whenText: '11 Feb 2023 to 23 Feb 2023' }, 'a resolved one with when it began and ended');
  t.equal(groups.problemList[3]!.whenText, 'began 1 May 2010', 'resolved without an end date');
  t.equal(groups.problemList[0]!.whenText, 'since Sep 2024', 'a month-only onset');
});

t.test('medications: current first, then ended, newest first; names from the concept, the Medication or the reference', async (t) => {
  const prescriptions: Prescription[] = [
    { request: request('old-antibiotic', 'completed', '2022-01-10', { medicationCodeableConcept: { text: 'Amoxicillin 500 mg capsule' } }) },
    { request: request('levo', 'active', '2023-05-16', { medicationReference: { reference: 'Medication/m1' } }), medication: { resourceType: 'Medication', id: 'm1', code: { text: 'Levothyroxine 125 mcg tablet' } } },
    { request: request('paused', 'on-hold', '2024-02-01', { medicationReference: { reference: 'Medication/gone', display: 'Metformin 500 mg tablet' } }) },
    { request: request('stopped', 'stopped', '2024-06-01', { medicationCodeableConcept: { coding: [{ system: RXNORM, code: '197361', display: 'amlodipine 5 MG Oral Tablet' }] } }) },
    { request: request('cancelled', 'cancelled', '2025-01-01', { medicationCodeableConcept: { text: 'Prednisone 10 mg tablet' } }) },
    { request: request('draft', 'draft', '2025-02-01', { medicationCodeableConcept: { text: 'Not yet prescribed' } }) },
    { request: request('error', 'entered-in-error', '2025-02-01', { medicationCodeableConcept: { text: 'Someone else’s medicine' } }) },
  ];
  const items = medicationList(prescriptions, [], []);
  t.same(items.map((m) => `${m.name}: ${m.statusText}`), [
    'Levothyroxine 125 mcg tablet: Active',
    'Metformin 500 mg tablet: On hold',
    'amlodipine 5 MG Oral Tablet: Stopped',
    'Amoxicillin 500 mg capsule: Completed',
    'Prednisone 10 mg tablet: Cancelled',
  ], 'active, on hold, then stopped and completed (newest first), then the rest; drafts and errors left out');
});

t.test('a prescription line: dosage, prescriber and date, and its reason when that Condition is on the page', async (t) => {
  const levo = request('levo', 'active', '2023-05-16T13:20:00-05:00', {
    medicationCodeableConcept: { text: 'Levothyroxine 125 mcg tablet' },
    requester: { reference: 'Practitioner/dr-lee', display: 'Jordan Lee, MD' },
    dosageInstruction: [{ sequence: 1, text: 'Take 1 tablet every morning' }],
    reasonReference: [{ reference: 'Condition/thyroid', display: 'Hypothyroidism' }],
  });
  const thyroid = condition('thyroid', 'Underactive thyroid (hypothyroidism)', 'problem-list-item', 'active', '2023-05-16');
  const [shown] = medicationList([{ request: levo }], [], [thyroid]);
  t.same(shown, {
    name: 'Levothyroxine 125 mcg tablet',
    source: 'prescription',
    statusText: 'Active',
    sourceText: 'Prescribed 16 May 2023 by Jordan Lee, MD',
    dosage: 'Take 1 tablet every morning',
    reason: 'Underactive thyroid (hypothyroidism)',
  });
  t.equal(medicationList([{ request: levo }], [], [])[0]!.reason, undefined, 'problems not on the page: no reason from them');
  const absolute = { ...levo, reasonReference: [{ reference: 'https://ehr.example/fhir/Condition/thyroid' }] };
  t.equal(medicationList([{ request: absolute }], [], [thyroid])[0]!.reason, 'Underactive thyroid (hypothyroidism)', 'an absolute reference resolves too');
  const coded = { ...levo, reasonReference: [], reasonCode: [{ text: 'Low thyroid hormone' }] };
  t.equal(medicationList([{ request: coded }], [], [])[0]!.reason, 'Low thyroid hormone', 'a reason the prescription codes itself');
});

t.test('a medication-list entry of a prescribed medicine is folded into the prescription; others stay, labelled', async (t) => {
  const levo: Prescription = { request: request('levo', 'active', '2023-05-16', { medicationCodeableConcept: { coding: [{ system: RXNORM, code: '966224' }], text: 'Levothyroxine 125 mcg tablet' } }) };
  const amox: Prescription = { request: request('amox', 'completed', '2022-01-10', { medicationCodeableConcept: { text: 'Amoxicillin 500 mg capsule' } }) };
  const items = medicationList(
    [levo, amox],
    [
      statement('same-code', 'active', { medicationCodeableConcept: { coding: [{ system: RXNORM, code: '966224', display: 'levothyroxine sodium 0.125 MG Oral Tablet' }] } }),
      statement('based-on', 'active', { medicationCodeableConcept: { text: 'Synthroid' }, basedOn: [{ reference: 'MedicationRequest/levo' }] }),
      statement('same-name', 'completed', { medicationCodeableConcept: { text: 'amoxicillin 500 mg capsule' } }),
      statement('taking-again', 'active', { medicationCodeableConcept: { text: 'Amoxicillin 500 mg capsule' }, effectivePeriod: { start: '2025-03-01' } }),
      statement('own', 'active', { medicationCodeableConcept: { text: 'Vitamin D 1000 IU' }, informationSource: { reference: 'Patient/p' }, effectiveDateTime: '2024-11-02', dosage: [{ text: 'Daily' }] }),
      statement('clinic', 'stopped', { medicationCodeableConcept: { text: 'Lisinopril 10 mg' }, informationSource: { reference: 'Practitioner/dr-lee' }, effectivePeriod: { start: '2020-01-01' }, reasonCode: [{ text: 'High blood pressure' }] }),
      statement('wrong', 'entered-in-error', { medicationCodeableConcept: { text: 'Warfarin' } }),
    ],
    [],
  );
  t.same(items.map((m) => `${m.name} (${m.source}): ${m.sourceText}`), [
    'Amoxicillin 500 mg capsule (medication-list): On your medication list since 1 Mar 2025',
    'Vitamin D 1000 IU (medication-list): Reported by you since 2 Nov 2024',
    'Levothyroxine 125 mcg tablet (prescription): Prescribed 16 May 2023',
    'Amoxicillin 500 mg capsule (prescription): Prescribed 10 Jan 2022',
    'Lisinopril 10 mg (medication-list): On your medication list since 1 Jan 2020',
  ], 'same code, based on the prescription, or same name in the same state: one line; taking a finished course again: its own line');
  t.equal(items[1]!.dosage, 'Daily');
  t.equal(items[4]!.reason, 'High blood pressure', 'a medication-list entry’s own reason');
});

const shown = <T>(items: T[]): Section<T> => ({ status: 'shown', items, truncated: false });
const record = (over: Partial<PatientRecord>): PatientRecord => ({
  patient: shown([{ resourceType: 'Patient', id: 'p' }]),
  problems: shown([]),
  labs: shown([]),
  vitals: shown([]),
  prescriptions: shown([]),
  medicationStatements: shown([]),
  allergies: shown([]),
  immunizations: shown([]),
  ...over,
});
const page = (over: Partial<PatientRecord>) => recordPage({ record: record(over), patientId: 'p', needPatientBanner: false, grantedScope: '', today: new Date('2026-01-01T00:00:00Z') });
const sectionHtml = (html: string, id: string) => html.slice(html.indexOf(`aria-labelledby="${id}"`), html.indexOf('</section>', html.indexOf(`aria-labelledby="${id}"`)));

t.test('the record page: problems before medications, each saying when it was not shared', async (t) => {
  const html = page({
    problems: shown([condition('x', '<script>alert(1)</script>', 'problem-list-item', 'active', '2020-01-01')]),
    prescriptions: shown([{ request: request('a', 'active', '2024-01-01', { medicationCodeableConcept: { text: 'Aspirin 81 mg' } }) }]),
  });
  t.ok(html.indexOf('id="problems"') < html.indexOf('id="medications"') && html.indexOf('id="medications"') < html.indexOf('id="labs"'), 'problems, medications, then lab results');
  t.match(sectionHtml(html, 'problems'), /&lt;script&gt;alert\(1\)&lt;\/script&gt;/, 'names from the server are escaped');
  t.notMatch(sectionHtml(html, 'problems'), /class="subheading"/, 'one kind of problem: no subheadings');
  t.match(sectionHtml(html, 'medications'), /<li data-source="prescription"><span class="item-name">Aspirin 81 mg<\/span>/);

  const onlyStatements = page({ prescriptions: { status: 'not-shared' }, medicationStatements: shown([statement('s', 'active', { medicationCodeableConcept: { text: 'Vitamin D' } })]) });
  t.match(sectionHtml(onlyStatements, 'medications'), /Prescriptions: not shared by the patient\.[\s\S]*Vitamin D/, 'prescriptions not granted: the medication list, with a note');
  const failed = page({ prescriptions: { status: 'failed', message: 'the server answered 500' }, medicationStatements: { status: 'not-shared' } });
  t.match(sectionHtml(failed, 'medications'), /This could not be loaded: the server answered 500/, 'neither shown: the failure');
  const neither = page({ prescriptions: { status: 'not-shared' }, medicationStatements: { status: 'not-shared' }, problems: { status: 'not-shared' } });
  t.match(sectionHtml(neither, 'medications'), /Not shared by the patient/, 'neither granted: not shared');
  t.match(sectionHtml(neither, 'problems'), /Not shared by the patient/);
  t.match(sectionHtml(page({}), 'problems'), /No health problems on record\./);
});
