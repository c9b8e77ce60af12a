// The example app's reading of FHIR data: lab series per test, latest vital signs, dates, ages, MRN, granted scopes.
import type { Observation } from 'fhir/r4.js';
import t from 'tap';
import { scopeAllows } from '../../src/example-app/granted-scope.js';
import { formatFhirDate, groupLabResults, latestVitalSigns } from '../../src/example-app/observations.js';
import { ageText, mrnOf } from '../../src/example-app/record-page.js';

const LOINC = 'http://loinc.org';
const lab = (id: string, code: string, text: string, when: string, value: number, extra: Partial<Observation> = {}): Observation => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { coding: [{ system: LOINC, code }], text },
  effectiveDateTime: when,
  valueQuantity: { value, unit: 'mg/dL' },
  ...extra,
});

t.test('lab results become one series per test, newest first, with flags', async (t) => {
  const series = groupLabResults([
    lab('g1', '2345-7', 'Glucose', '2024-01-05T08:00:00-06:00', 92, { referenceRange: [{ low: { value: 70 }, high: { value: 99 } }] }),
    lab('c1', '2160-0', 'Creatinine', '2024-01-05T08:00:00-06:00', 0.8),
    lab('g2', '2345-7', 'Glucose', '2025-02-10T08:00:00-06:00', 131, { referenceRange: [{ low: { value: 70 }, high: { value: 99 } }] }),
    lab('g3', '2345-7', 'Glucose', '2024-07-01', 65, { interpretation: [{ coding: [{ code: 'L' }] }] }),
    lab('gx', '2345-7', 'Glucose', '2024-08-01', 999, { status: 'entered-in-error' }),
  ]);
  t.same(series.map((s) => s.name), ['Creatinine', 'Glucose'], 'grouped by code, in alphabetical order');
  const glucose = series[1]!;
  t.same(glucose.results.map((r) => r.id), ['g2', 'g3', 'g1'], 'newest first, results entered in error left out');
  t.same(glucose.results.map((r) => r.flag), ['High', 'Low', 'Normal'], 'flag from the range, or from the lab’s interpretation');
  t.same(glucose.range, { low: 70, high: 99 }, 'the newest range is the series range');
  t.equal(glucose.results[0]!.dateText, '10 Feb 2025', 'dates read as recorded');
  t.equal(series[0]!.results[0]!.flag, '', 'no range and no interpretation: no flag');
  const lessThan = groupLabResults([lab('q', '1', 'CRP', '2024-01-01', 5, { valueQuantity: { value: 5, comparator: '<', unit: 'mg/L' } })])[0]!.results[0]!;
  t.equal(lessThan.valueText, '<5', 'a "less than" result keeps its comparator');
  t.equal(lessThan.value, undefined, 'and is not plotted as a number');
});

t.test('vital signs show the newest reading of each kind', async (t) => {
  const bp = (id: string, when: string, sys: number, dia: number): Observation => ({
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { coding: [{ system: LOINC, code: '85354-9' }], text: 'Blood pressure' },
    effectiveDateTime: when,
    component: [
      { code: { text: 'Systolic' }, valueQuantity: { value: sys, unit: 'mmHg' } },
      { code: { text: 'Diastolic' }, valueQuantity: { value: dia, unit: 'mmHg' } },
    ],
  });
  const vitals = latestVitalSigns([bp('a', '2023-02-15', 113, 74), bp('b', '2024-05-01', 121, 79), lab('hr', '8867-4', 'Heart rate', '2024-05-01', 72, { valueQuantity: { value: 72, unit: '/min' } })]);
  t.same(vitals, [
    { name: 'Blood pressure', valueText: '121/79 mmHg', dateText: '1 May 2024', earlier: 1 },
    { name: 'Heart rate', valueText: '72 /min', dateText: '1 May 2024', earlier: 0 },
  ]);
});

t.test('dates, ages and the medical record number', async (t) => {
  t.equal(formatFhirDate('2023-03-02T23:30:00-06:00'), '2 Mar 2023', 'the recorded day, whatever the time zone');
  t.equal(formatFhirDate('2023-03'), 'Mar 2023');
  t.equal(formatFhirDate('2023'), '2023');
  t.equal(formatFhirDate(undefined), '');
  const today = new Date('2026-03-14T12:00:00Z');
  t.equal(ageText('1985-03-14', today), '41 years', 'birthday today');
  t.equal(ageText('1985-03-15', today), '40 years', 'birthday tomorrow');
  t.equal(ageText('2025-09-01', today), '6 months', 'a baby in months');
  t.equal(ageText(undefined, today), 'Unknown');
  const mrn = mrnOf({
    resourceType: 'Patient',
    identifier: [
      { system: 'urn:ssn', value: '000' },
      { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] }, value: '1000001' },
    ],
  });
  t.equal(mrn, '1000001', 'the identifier typed MR');
});

t.test('the granted scope decides what the app may read', async (t) => {
  const LAB = 'http://terminology.hl7.org/CodeSystem/observation-category|laboratory';
  const VITALS = 'http://terminology.hl7.org/CodeSystem/observation-category|vital-signs';
  const full = 'launch/patient offline_access patient/Patient.rs patient/Observation.rs patient/AllergyIntolerance.rs';
  t.ok(scopeAllows(full, 'Observation', 'search', 'laboratory'), 'an unfiltered Observation scope covers labs');
  t.notOk(scopeAllows(full, 'Immunization', 'search'), 'a type not granted is not covered');
  const noLabs = `patient/Patient.rs patient/Observation.rs?category=${VITALS}`;
  t.notOk(scopeAllows(noLabs, 'Observation', 'search', 'laboratory'), 'labs unticked: only vital signs granted');
  t.ok(scopeAllows(noLabs, 'Observation', 'search', 'vital-signs'), 'vital signs still are');
  t.ok(scopeAllows(`patient/Observation.rs?category=${LAB},${VITALS}`, 'Observation', 'search', 'laboratory'), 'a list of categories');
  t.ok(scopeAllows('patient/Observation.rs?category=laboratory', 'Observation', 'search', 'laboratory'), 'a category without its system');
  t.notOk(scopeAllows('patient/Observation.rs?category=http://example.org/other|laboratory', 'Observation', 'search', 'laboratory'), 'another system’s laboratory is not ours');
  t.ok(scopeAllows('patient/*.read', 'AllergyIntolerance', 'search'), 'SMART v1 read covers search');
  t.ok(scopeAllows('user/*.cruds', 'Patient', 'read'), 'v2 wildcard');
  t.notOk(scopeAllows('patient/Patient.s', 'Patient', 'read'), 'search alone is no read');
  t.notOk(scopeAllows('patient/Patient.r', 'Patient', 'search'), 'read alone is no search');
  t.notOk(scopeAllows('system/Observation.rs', 'Observation', 'search'), 'system scopes are not a patient app’s');
});
