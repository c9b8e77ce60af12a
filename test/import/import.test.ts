import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importFiles } from '../../src/fhir/import/importer.js';
import { startTestApp } from '../helpers/app.js';

const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/synthea/', import.meta.url));
const DINO = join(FIXTURES, 'Dino214_Parisian75_40d82b80-b682-cd8b-da6d-396809878641.json');
const P355 = join(FIXTURES, 'uscore_bundle_patient_355.json');
const NDJSON = join(FIXTURES, 'Patient.000.ndjson');

const search = async (server: Awaited<ReturnType<typeof startTestApp>>['server'], url: string) => JSON.parse((await server.inject({ url })).body) as { total: number; entry?: { resource: Record<string, unknown> }[] };

t.test('a Synthea transaction bundle imports the served types, keeps ids and rewrites urn references', async (t) => {
  const { server, fhir } = await startTestApp(t);
  const report = await importFiles(fhir, [DINO]);
  t.same(report.imported, { Patient: 1, Observation: 62, AllergyIntolerance: 2, Immunization: 6 });
  t.equal(report.skipped.MedicationRequest, 2, 'MedicationRequest is skipped and counted');
  t.equal(report.skipped.Claim, 18);
  t.equal(report.skipped.ExplanationOfBenefit, 16);
  t.equal(report.errors.length, 0);
  t.equal(report.conditionalReferences, 122, 'conditional Practitioner/Organization references are replaced and counted');
  const patients = await search(server, '/fhir/Patient');
  const id = patients.entry![0]!.resource.id as string;
  t.equal(id, '40d82b80-b682-cd8b-da6d-396809878641', "the urn:uuid becomes the patient's id");
  t.equal((await search(server, `/fhir/Observation?patient=${id}`)).total, 62, 'rewritten references are searchable');
  const obs = (await search(server, `/fhir/Observation?patient=${id}&_count=1`)).entry![0]!.resource as { subject: { reference: string }; encounter?: { reference: string } };
  t.equal(obs.subject.reference, `Patient/${id}`);
  t.match(obs.encounter?.reference, /^Encounter\/[0-9a-f-]+$/, 'references to types we do not serve are rewritten too');
});

t.test('a PUT entry keeps its id even when its fullUrl is a urn (Inferno patient 355)', async (t) => {
  const { server, fhir } = await startTestApp(t);
  const report = await importFiles(fhir, [P355]);
  t.equal(report.errors.length, 0, JSON.stringify(report.errors.slice(0, 3)));
  t.equal(report.imported.Patient, 1);
  t.equal((await server.inject({ url: '/fhir/Patient/355' })).statusCode, 200);
  t.equal((await search(server, '/fhir/Observation?patient=355')).total, 140, 'references through the urn point at Patient/355');
  t.equal((await search(server, '/fhir/Immunization?patient=355')).total, 20, 'including the not-done Immunization with occurrenceString');
});

t.test('NDJSON imports line by line and reports bad lines with their location while importing the rest', async (t) => {
  const { fhir } = await startTestApp(t);
  const dir = mkdtempSync(join(tmpdir(), 'import-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bad = join(dir, 'mixed.ndjson');
  writeFileSync(
    bad,
    [
      JSON.stringify({ resourceType: 'Patient', id: 'ok-1', gender: 'female' }),
      '{not json',
      JSON.stringify({ resourceType: 'Observation', id: 'no-status', code: { text: 'x' } }),
      '',
      JSON.stringify({ resourceType: 'Claim', id: 'c1' }),
      JSON.stringify({ resourceType: 'Patient', id: 'ok-2', birthDate: '1990-02-30' }),
      JSON.stringify({ resourceType: 'Patient', id: 'ok-3' }),
    ].join('\n'),
  );
  const report = await importFiles(fhir, [NDJSON, bad, join(dir, 'missing.json')]);
  t.equal(report.imported.Patient, 13 + 2, '13 Synthea patients and the two good lines');
  t.same(report.skipped, { Claim: 1 });
  const locations = report.errors.map((e) => e.location);
  t.ok(locations.some((l) => l.includes('mixed.ndjson line 2') && l.includes('not JSON')), 'the unparsable line is named');
  t.ok(report.errors.some((e) => e.location.endsWith('mixed.ndjson line 3') && /Observation\.status/.test(e.message)), 'the invalid resource is named with the problem');
  t.ok(report.errors.some((e) => e.location.endsWith('mixed.ndjson line 6') && /birthDate/.test(e.message)), 'an impossible date is reported');
  t.ok(report.errors.some((e) => e.location.endsWith('missing.json')), 'a missing file is reported and the import goes on');
});

t.test('re-importing the same file creates new versions, not duplicates', async (t) => {
  const { server, fhir } = await startTestApp(t);
  await importFiles(fhir, [DINO]);
  await importFiles(fhir, [DINO]);
  const patients = await search(server, '/fhir/Patient');
  t.equal(patients.total, 1);
  t.equal((patients.entry![0]!.resource.meta as { versionId: string }).versionId, '2');
  t.equal((await search(server, '/fhir/Observation')).total, 62);
});

t.test('the seed data set imports without a single error', async (t) => {
  const { fhir } = await startTestApp(t);
  const seedDir = fileURLToPath(new URL('../../fhir-resources/seed/', import.meta.url));
  const { readdirSync } = await import('node:fs');
  const report = await importFiles(fhir, readdirSync(seedDir).map((f) => join(seedDir, f)));
  t.equal(report.errors.length, 0, JSON.stringify(report.errors.slice(0, 3)));
  t.equal(report.imported.Patient, 12);
  t.ok(report.imported.Observation! > 1000);
});
