import t, { type Test } from 'tap';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, Coverage, Encounter, ExplanationOfBenefit, Immunization, Observation, Patient, Provenance, ServiceRequest } from 'fhir/r4.js';
import { importFiles, importResources, type ImportProgress } from '../../src/fhir/import/importer.js';
import { seedIfEmpty } from '../../src/fhir/seed.js';
import { ResourceStore } from '../../src/store/resources.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/database.js';
import { CHECKOUT_ROOT, runScript } from '../helpers/run-script.js';

const FIXTURES = join(CHECKOUT_ROOT, '../shared/fixtures/synthea');
const DINO = join(FIXTURES, 'Dino214_Parisian75_40d82b80-b682-cd8b-da6d-396809878641.json');
const JUDSON = join(FIXTURES, 'Judson_Eichmann_34d4fd7e-b2b6-42fc-adb5-09db196b8662.json');
const P355 = join(FIXTURES, 'uscore_bundle_patient_355.json');
const NDJSON = join(FIXTURES, 'Patient.000.ndjson');
const DINO_ID = '40d82b80-b682-cd8b-da6d-396809878641';

async function get<T = Bundle>(app: TestApp, url: string): Promise<T> {
  const res = await app.server.inject({ url });
  if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode} ${res.body}`);
  return JSON.parse(res.body) as T;
}

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'import-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function writeJson(path: string, value: unknown): string {
  writeFileSync(path, JSON.stringify(value));
  return path;
}

// Dino214's 164 entries by type (SOURCES.md).
const DINO_TYPES = {
  Observation: 62,
  Claim: 18,
  Condition: 16,
  Encounter: 16,
  ExplanationOfBenefit: 16,
  Procedure: 12,
  DiagnosticReport: 9,
  Immunization: 6,
  AllergyIntolerance: 2,
  CarePlan: 2,
  CareTeam: 2,
  MedicationRequest: 2,
  Patient: 1,
};

t.test('a Synthea transaction bundle imports all 164 entries, each type with its level of search support, and nothing is left out', async (t) => {
  const app = await startTestApp(t);
  const report = await importFiles(app.fhir, [DINO]);
  t.same(report.errors, []);
  t.same(report.imported, DINO_TYPES);
  t.same(report.notStored, {});
  t.same(report.searchSupport, { ...Object.fromEntries(Object.keys(DINO_TYPES).map((type) => [type, 'us-core'])), Claim: 'basic', ExplanationOfBenefit: 'basic' });
  t.equal(report.files, 1);
  t.ok(report.seconds > 0 && report.resourcesPerSecond > 0, 'the report carries timing');
  // SOURCES.md: 84 Practitioner?identifier= and 38 Organization?identifier= references, none of them in the file.
  t.equal(report.conditionalReferences, 84 + 38, 'every conditional reference is counted once its resource is stored');
});

t.test('urn:uuid references become Patient/<id> references that patient searches find', async (t) => {
  const app = await startTestApp(t);
  await importFiles(app.fhir, [DINO]);
  const patients = await get(app, '/fhir/Patient');
  t.equal(patients.entry?.[0]?.resource?.id, DINO_ID, "the entry's urn:uuid is the patient's id");
  t.equal((await get(app, `/fhir/Observation?patient=${DINO_ID}&_total=accurate`)).total, 62);
  t.equal((await get(app, `/fhir/AllergyIntolerance?patient=${DINO_ID}`)).total, 2);
  t.equal((await get(app, `/fhir/Immunization?patient=Patient/${DINO_ID}`)).total, 6);
  const obs = (await get(app, `/fhir/Observation?patient=${DINO_ID}&_count=1`)).entry![0]!.resource as Observation;
  t.equal(obs.subject?.reference, `Patient/${DINO_ID}`);
  t.match(obs.encounter?.reference, /^Encounter\/[0-9a-f-]{36}$/, 'references to other entries become Type/id as well');
  const encounter = await get<Encounter>(app, `/fhir/${obs.encounter!.reference!}`);
  t.equal(encounter.subject?.reference, `Patient/${DINO_ID}`, 'and the Encounter they point at is stored');
  t.notMatch(JSON.stringify(obs), /urn:uuid:/, 'no urn:uuid reference is left');
  t.equal((await get(app, `/fhir/Claim?patient=${DINO_ID}&_summary=count`)).total, 18, 'a type with basic search is found by its patient');
});

t.test('an ExplanationOfBenefit keeps its contained Coverage and ServiceRequest inside it, with their references rewritten', async (t) => {
  const app = await startTestApp(t);
  await importFiles(app.fhir, [DINO]);
  const eob = await get<ExplanationOfBenefit>(app, '/fhir/ExplanationOfBenefit/77ec915d-a0bd-e2cb-a337-2d6fa06ec2c9');
  t.same(eob.contained?.map((c) => `${c.resourceType}/${c.id}`), ['ServiceRequest/referral', 'Coverage/coverage']);
  t.equal(eob.referral?.reference, '#referral', 'the #id references to them are kept');
  t.equal(eob.insurance[0]!.coverage.reference, '#coverage');
  const coverage = eob.contained![1] as Coverage;
  t.equal(coverage.beneficiary.reference, `Patient/${DINO_ID}`, 'urn:uuid references inside contained resources are rewritten');
  const referral = eob.contained![0] as ServiceRequest;
  t.same(referral.requester, { identifier: { system: 'http://hl7.org/fhir/sid/us-npi', value: '9999997395' }, type: 'Practitioner' }, 'a conditional reference inside a contained resource becomes logical');
  t.match(eob.claim?.reference, /^Claim\/dbdc3ee3-7962-62e9-9ecb-7556943b0747$/);
  t.equal((await get(app, '/fhir/Coverage?_summary=count')).total, 0, 'contained resources are not stored on their own');
  t.equal((await get(app, `/fhir/ServiceRequest?patient=${DINO_ID}&_summary=count`)).total, 0, 'nor found by their patient');
  t.equal((await get(app, `/fhir/ExplanationOfBenefit?patient=${DINO_ID}&_summary=count`)).total, 16);
});

t.test('a PUT entry keeps its id and its urn fullUrl maps to it (Inferno patient 355)', async (t) => {
  const app = await startTestApp(t);
  const report = await importFiles(app.fhir, [P355]);
  t.same(report.errors, []);
  t.same(report.imported, {
    Observation: 140,
    Encounter: 129,
    Condition: 31,
    DiagnosticReport: 23,
    DocumentReference: 21,
    CarePlan: 20,
    CareTeam: 20,
    Immunization: 20,
    MedicationRequest: 20,
    Procedure: 20,
    AllergyIntolerance: 10,
    Location: 3,
    Organization: 3,
    Practitioner: 3,
    PractitionerRole: 3,
    Device: 2,
    ServiceRequest: 2,
    Goal: 1,
    Patient: 1,
    Provenance: 1,
  });
  t.same(new Set(Object.values(report.searchSupport)), new Set(['us-core']), 'all of them are US Core types');
  t.equal((await get<Patient>(app, '/fhir/Patient/355')).id, '355');
  t.equal((await get(app, '/fhir/Observation?patient=355&_total=accurate')).total, 140, 'urn:uuid:e91975f5-… references point at Patient/355');
  t.equal((await get(app, '/fhir/AllergyIntolerance?patient=355')).total, 10);
  t.equal((await get(app, '/fhir/Immunization?patient=355')).total, 20, 'including the not-done Immunization with occurrenceString');
});

t.test('an older Synthea bundle imports its inline Organization and Practitioner, referenced by id, and the Patient id from its urn, not the file name', async (t) => {
  const app = await startTestApp(t);
  const report = await importFiles(app.fhir, [JUDSON]);
  t.same(report.errors, []);
  t.same(report.imported, {
    Observation: 56,
    Claim: 16,
    Encounter: 14,
    ExplanationOfBenefit: 14,
    AllergyIntolerance: 7,
    CarePlan: 5,
    Condition: 5,
    Immunization: 5,
    DiagnosticReport: 4,
    Procedure: 3,
    MedicationRequest: 2,
    Organization: 1,
    Patient: 1,
    Practitioner: 1,
  });
  t.equal(report.conditionalReferences, 0, 'this generation references its Organization and Practitioner by urn:uuid');
  const encounter = await get<Encounter>(app, '/fhir/Encounter/80759a0b-bd70-404e-abd0-f7c8502d4c9a');
  t.equal(encounter.serviceProvider?.reference, 'Organization/ff9863d3-3fa3-3861-900e-f00148f5d9c2');
  t.equal(encounter.participant?.[0]?.individual?.reference, 'Practitioner/ec06fc71-7541-44d0-80cf-6b0eec00ab3b');
  t.equal((await get(app, '/fhir/Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|620')).entry?.[0]?.resource?.id, 'ec06fc71-7541-44d0-80cf-6b0eec00ab3b');
  t.equal((await get(app, '/fhir/Encounter?patient=195bd73c-1ef3-400d-9269-a0d9042afafe&_include=Encounter:practitioner')).entry?.filter((e) => e.search?.mode === 'include').length, 1, 'the Practitioner is included with the Encounters');
  t.equal((await get(app, '/fhir/Observation?patient=195bd73c-1ef3-400d-9269-a0d9042afafe&_total=accurate')).total, 56);
  t.equal((await app.server.inject({ url: '/fhir/Patient/34d4fd7e-b2b6-42fc-adb5-09db196b8662' })).statusCode, 404);
});

t.test('bulk NDJSON Patients import line by line with their own ids', async (t) => {
  const app = await startTestApp(t);
  const report = await importFiles(app.fhir, [NDJSON]);
  t.same(report.errors, []);
  t.same(report.imported, { Patient: 13 });
  t.equal((await get(app, '/fhir/Patient?_total=accurate')).total, 13);
  t.equal((await get<Patient>(app, '/fhir/Patient/129c6ac7-8d06-89de-ad63-0204a93e76c3')).id, '129c6ac7-8d06-89de-ad63-0204a93e76c3');
});

// A collection Bundle as we would write one: absolute fullUrls, a Patient found by identifier, conditional references
// to a Practitioner and a Location that are not in the file, and a contained resource pointing at a bundle entry.
function ownCollection(): Record<string, unknown> {
  return {
    resourceType: 'Bundle',
    type: 'collection',
    entry: [
      {
        fullUrl: 'http://example.org/fhir/Patient/ann',
        resource: { resourceType: 'Patient', identifier: [{ system: 'urn:test:mrn', value: 'A-1' }], name: [{ family: 'Ann' }] },
      },
      {
        fullUrl: 'http://example.org/fhir/Immunization/imm-1',
        resource: {
          resourceType: 'Immunization',
          id: 'imm-1',
          status: 'completed',
          vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '140' }] },
          patient: { reference: 'Patient?identifier=urn:test:mrn|A-1' },
          occurrenceDateTime: '2021-10-01T10:00:00Z',
          location: { reference: 'Location?identifier=https://github.com/synthetichealth/synthea|loc-9' },
          performer: [{ actor: { reference: 'Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999991234', display: 'Dr. Rivera' } }],
        },
      },
      {
        fullUrl: 'urn:uuid:7d1e4a0c-65a1-4c59-9b1a-2f4a3f0f5a11',
        resource: {
          resourceType: 'Observation',
          status: 'final',
          code: { text: 'weight' },
          subject: { reference: 'http://example.org/fhir/Patient/ann' },
          contained: [{ resourceType: 'Provenance', id: 'p', target: [{ reference: 'http://example.org/fhir/Immunization/imm-1' }] }],
          valueQuantity: { value: 70, unit: 'kg' },
        },
      },
    ],
  };
}

t.test('a collection Bundle of our own imports with ids from its fullUrls and references resolved inside the bundle', async (t) => {
  const app = await startTestApp(t);
  const file = writeJson(join(tempDir(t), 'own.json'), ownCollection());
  const report = await importFiles(app.fhir, [file]);
  t.same(report.errors, []);
  t.same(report.imported, { Patient: 1, Immunization: 1, Observation: 1 });
  t.equal((await get<Patient>(app, '/fhir/Patient/ann')).id, 'ann', 'an absolute fullUrl without a resource id gives the id');
  const obs = await get<Observation>(app, '/fhir/Observation/7d1e4a0c-65a1-4c59-9b1a-2f4a3f0f5a11');
  t.equal(obs.subject?.reference, 'Patient/ann');
  t.equal((obs.contained?.[0] as Provenance).target[0]!.reference, 'Immunization/imm-1', 'contained resources are rewritten too');
  const imm = await get<Immunization>(app, '/fhir/Immunization/imm-1');
  t.equal(imm.patient.reference, 'Patient/ann', 'a conditional reference matching an entry of the bundle resolves to it');
  t.equal((await get(app, '/fhir/Immunization?patient=ann')).total, 1);
});

t.test('conditional references to resources outside the file become logical references and are counted', async (t) => {
  const app = await startTestApp(t);
  const file = writeJson(join(tempDir(t), 'own.json'), ownCollection());
  const report = await importFiles(app.fhir, [file]);
  t.equal(report.conditionalReferences, 2);
  const imm = await get<Immunization>(app, '/fhir/Immunization/imm-1');
  t.same(imm.location, { identifier: { system: 'https://github.com/synthetichealth/synthea', value: 'loc-9' }, type: 'Location' });
  t.same(imm.performer?.[0]?.actor, { display: 'Dr. Rivera', identifier: { system: 'http://hl7.org/fhir/sid/us-npi', value: '9999991234' }, type: 'Practitioner' }, 'the display is kept');
});

t.test('a searchset Bundle imports its matches and includes and counts its OperationOutcome as not stored', async (t) => {
  const app = await startTestApp(t);
  const searchset = {
    resourceType: 'Bundle',
    type: 'searchset',
    entry: [
      { fullUrl: 'http://other.example/fhir/Observation/s1', search: { mode: 'match' }, resource: { resourceType: 'Observation', id: 's1', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/s-pat' } } },
      { fullUrl: 'http://other.example/fhir/Patient/s-pat', search: { mode: 'include' }, resource: { resourceType: 'Patient', id: 's-pat' } },
      { search: { mode: 'outcome' }, resource: { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational' }] } },
    ],
  };
  const report = await importFiles(app.fhir, [writeJson(join(tempDir(t), 'searchset.json'), searchset)]);
  t.same(report.errors, []);
  t.same(report.imported, { Observation: 1, Patient: 1 });
  t.same(report.notStored, { OperationOutcome: 1 });
  t.equal((await get(app, '/fhir/Observation?patient=s-pat')).total, 1);
});

t.test('a Bundle nested as an entry is counted as not stored, and the entries around it import', async (t) => {
  const app = await startTestApp(t);
  const collection = {
    resourceType: 'Bundle',
    type: 'collection',
    entry: [
      { resource: { resourceType: 'Patient', id: 'outer' } },
      { resource: { resourceType: 'Bundle', id: 'inner', type: 'collection', entry: [{ resource: { resourceType: 'Patient', id: 'nested' } }] } },
    ],
  };
  const report = await importFiles(app.fhir, [writeJson(join(tempDir(t), 'nested.json'), collection)]);
  t.same(report.errors, []);
  t.same(report.imported, { Patient: 1 });
  t.same(report.notStored, { Bundle: 1 });
  t.equal((await app.server.inject({ url: '/fhir/Patient/nested' })).statusCode, 404, "the nested Bundle's own entries are not imported");
});

t.test('bad NDJSON lines, invalid resources and types that are not R4 are reported with file and line while the rest imports', async (t) => {
  const app = await startTestApp(t);
  const file = join(tempDir(t), 'mixed.ndjson');
  writeFileSync(
    file,
    [
      JSON.stringify({ resourceType: 'Patient', id: 'ok-1', gender: 'female' }),
      '{not json',
      JSON.stringify({ resourceType: 'Observation', id: 'no-status', code: { text: 'x' } }),
      '',
      JSON.stringify({ resourceType: 'Claim', id: 'c1' }),
      JSON.stringify({ resourceType: 'Patient', id: 'bad-date', birthDate: '1990-02-30' }),
      JSON.stringify({ resourceType: 'Patient', gender: 'male' }),
      JSON.stringify([1, 2]),
      JSON.stringify({ resourceType: 'Patient', id: 'ok-2' }),
      JSON.stringify({ resourceType: 'DeviceUsage', id: 'r5-only', status: 'active' }),
      JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'x', valueString: 'y' }] }),
    ].join('\r\n'),
  );
  const report = await importFiles(app.fhir, [NDJSON, file]);
  t.same(report.imported, { Patient: 13 + 2, Claim: 1 }, '13 Synthea patients and the three good lines');
  t.same(report.notStored, { Parameters: 1 });
  const at = (line: number) => report.errors.find((e) => e.file === file && e.location === `line ${line}`);
  t.match(at(2), { message: /not JSON/ }, 'the unparsable line');
  t.match(at(3), { resource: 'Observation/no-status', message: /Observation\.status/ }, 'the invalid resource, with its problem');
  t.match(at(6), { resource: 'Patient/bad-date', message: /birthDate/ }, 'an impossible date');
  t.match(at(7), { resource: 'Patient', message: /no id/ }, 'a resource without an id');
  t.match(at(8), { message: /not a FHIR resource/ }, 'JSON that is not a resource');
  t.match(at(10), { resource: 'DeviceUsage/r5-only', message: /"DeviceUsage" is not a FHIR R4 resource type/ }, 'an R5 type');
  t.equal(report.errors.length, 6);
  t.equal((await app.server.inject({ url: '/fhir/Patient/ok-2' })).statusCode, 200, 'lines after the bad ones still import');
});

t.test('a file that is neither JSON nor NDJSON is reported once and the next file still imports', async (t) => {
  const app = await startTestApp(t);
  const dir = tempDir(t);
  const binary = join(dir, 'photo.json');
  writeFileSync(binary, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff]));
  const text = join(dir, 'notes.ndjson');
  writeFileSync(text, Array.from({ length: 50 }, (_, i) => `note ${i}: nothing to see`).join('\n'));
  const folder = join(dir, 'folder.json');
  mkdirSync(folder);
  const report = await importFiles(app.fhir, [binary, text, folder, join(dir, 'missing.json'), NDJSON]);
  t.equal(report.files, 5);
  t.same(
    report.errors.map((e) => [e.file, e.location]),
    [binary, text, folder, join(dir, 'missing.json')].map((f) => [f, '']),
    'one error per unreadable file, none per line',
  );
  t.match(report.errors[1]!.message, /neither JSON nor NDJSON/);
  t.match(report.errors[3]!.message, /no such file/);
  t.same(report.imported, { Patient: 13 });
});

t.test('NDJSON saved with a .json name is read as NDJSON', async (t) => {
  const app = await startTestApp(t);
  const file = join(tempDir(t), 'patients.json');
  writeFileSync(file, `${JSON.stringify({ resourceType: 'Patient', id: 'n1' })}\n${JSON.stringify({ resourceType: 'Patient', id: 'n2' })}\n`);
  const report = await importFiles(app.fhir, [file]);
  t.same(report.errors, []);
  t.same(report.imported, { Patient: 2 });
});

t.test('re-importing the same file creates version 2 of each resource, not duplicates', async (t) => {
  const app = await startTestApp(t);
  await importFiles(app.fhir, [DINO]);
  const again = await importFiles(app.fhir, [DINO]);
  t.same(again.imported, DINO_TYPES);
  const patients = await get(app, '/fhir/Patient?_total=accurate');
  t.equal(patients.total, 1);
  t.equal(patients.entry![0]!.resource!.meta?.versionId, '2');
  t.equal((await get(app, '/fhir/Observation?_total=accurate')).total, 62);
  t.equal((await get(app, `/fhir/Patient/${DINO_ID}/_history`)).total, 2);
  const eobs = await get(app, '/fhir/ExplanationOfBenefit?_count=100');
  t.equal(eobs.total, 16, 'a type with basic search is updated in place too');
  t.ok(eobs.entry!.every((e) => e.resource!.meta?.versionId === '2'));
});

t.test('small batches give the same result and progress reports counts and rate', async (t) => {
  const app = await startTestApp(t);
  const seen: ImportProgress[] = [];
  const report = await importFiles(app.fhir, [DINO, NDJSON], { batchSize: 7, progressEveryMs: 0, onProgress: (p) => seen.push(p) });
  t.same(report.imported, { ...DINO_TYPES, Patient: 14 });
  t.ok(seen.length > 10, 'progress after every batch when asked to');
  const last = seen[seen.length - 1]!;
  t.equal(last.done, 164 + 13);
  t.equal(last.file, NDJSON);
  t.equal(last.notStored, 0);
  t.ok(last.rate > 0 && last.seconds > 0);
  t.ok(seen.every((p, i) => i === 0 || p.done >= seen[i - 1]!.done), 'counts only grow');
});

t.test('importResources takes resources from any iterable and reports their own locations', async (t) => {
  const app = await startTestApp(t);
  const report = await importResources(app.fhir, [
    { resource: { resourceType: 'Patient', id: 'it-1' }, location: 'item 0', file: 'generator' },
    { resource: { resourceType: 'Patient', id: 'bad id' }, location: 'item 1', file: 'generator' },
  ]);
  t.same(report.imported, { Patient: 1 });
  t.match(report.errors, [{ file: 'generator', location: 'item 1', message: /not a valid FHIR id/ }]);
});

t.test('seedIfEmpty imports the seed directory into an empty database and nothing once it holds data', async (t) => {
  const app = await startTestApp(t);
  const dir = tempDir(t);
  writeJson(join(dir, 'b.json'), { resourceType: 'Patient', id: 'seed-b' });
  writeFileSync(join(dir, 'a.ndjson'), JSON.stringify({ resourceType: 'Patient', id: 'seed-a' }));
  writeFileSync(join(dir, 'README.md'), '# not data');
  const logs: string[] = [];
  t.equal(await seedIfEmpty(app.fhir, dir, (m) => logs.push(m)), 2);
  t.equal(await seedIfEmpty(app.fhir, dir, (m) => logs.push(m)), 0, 'a second start imports nothing');
  t.equal((await get<Patient>(app, '/fhir/Patient/seed-a')).meta?.versionId, '1');
  t.same(logs, []);
});

t.test('seedIfEmpty logs and returns 0 when the seed directory does not exist', async (t) => {
  const app = await startTestApp(t);
  const logs: string[] = [];
  t.equal(await seedIfEmpty(app.fhir, join(tempDir(t), 'nope'), (m) => logs.push(m)), 0);
  t.match(logs, [/nope/]);
});

t.test('the bundled seed data set imports without a single error', async (t) => {
  const app = await startTestApp(t);
  const seedDir = join(CHECKOUT_ROOT, 'fhir-resources/seed');
  const report = await importFiles(app.fhir, readdirSync(seedDir).filter((f) => f.endsWith('.json')).map((f) => join(seedDir, f)));
  t.same(report.errors, []);
  t.equal(report.imported.Patient, 12);
  t.ok(report.imported.Observation! > 1000);
});

const runCli = (args: string[], env: Record<string, string>) => runScript('import', args, env);

t.test('npm run import exits 2 on usage errors and prints usage for --help', async (t) => {
  const env = { DATABASE_URL: 'sqlite::memory:' };
  const help = await runCli(['--help'], env);
  t.equal(help.code, 0);
  t.match(help.stdout, /usage: npm run import -- \[--batch-size N\] FILE/);
  t.equal((await runCli([], env)).code, 2, 'no files');
  const bad = await runCli(['--batch-size', 'lots', NDJSON], env);
  t.equal(bad.code, 2, 'a batch size that is not a number');
  t.match(bad.stderr, /--batch-size/);
  t.equal((await runCli(['--frobnicate', NDJSON], env)).code, 2, 'an unknown flag');
});

t.test('npm run import stores into DATABASE_URL, prints the summary and exits 1 when something failed', async (t) => {
  const database = await createTestDatabase({ file: true });
  t.teardown(() => database.close());
  const bad = join(tempDir(t), 'bad.ndjson');
  writeFileSync(bad, `${JSON.stringify({ resourceType: 'Observation', id: 'x' })}\n${JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational' }] })}\n`);
  const run = await runCli(['--batch-size', '50', DINO, bad], { DATABASE_URL: database.url });
  t.equal(run.code, 1, run.stderr);
  t.match(run.stdout, /Imported 164 resources from 2 file\(s\)/);
  t.match(run.stdout, /\n  Observation\s+62  US Core 6\.1\.0 search\n/);
  t.match(run.stdout, /\n  Claim\s+18  basic search: _id, _lastUpdated, patient\n/);
  t.match(run.stdout, /Not stored: 1 resources \(containers and messages.*\)\n  OperationOutcome\s+1\n/);
  t.match(run.stdout, /kept as logical \(identifier\) references: 122/);
  t.match(run.stdout, /Errors: 1\n.*bad\.ndjson line 1 Observation\/x: .*status/);
  t.ok(await new ResourceStore(database.db).read('Patient', DINO_ID), 'the data is in the database');
  const ok = await runCli([NDJSON], { DATABASE_URL: database.url });
  t.equal(ok.code, 0, 'exit 0 when everything imported');
  t.match(ok.stdout, /Errors: none/);
});
