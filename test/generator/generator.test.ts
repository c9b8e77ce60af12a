// Tests for the synthetic-patient generator (scripts/generator): determinism, the seed cast,
// observation shape and coding, exact per-patient counts, references, and the CLI contract.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bundle, Observation, Patient, Quantity } from 'fhir/r4.js';
import t from 'tap';
import { ANCHOR_DATE, generatePatientRecord, generateSeedBundles } from '../../scripts/generator/index.js';
import type { GeneratedResource } from '../../scripts/generator/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const CATEGORY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/observation-category';
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const DATE_OR_PARTIAL = /^\d{4}(-\d{2}(-\d{2})?)?$/;

function ageAtAnchor(birthDate: string): number {
  const [by, bm, bd] = birthDate.split('-').map(Number) as [number, number, number];
  const [ay, am, ad] = ANCHOR_DATE.split('-').map(Number) as [number, number, number];
  return ay - by - (am < bm || (am === bm && ad < bd) ? 1 : 0);
}

function resourcesOf(bundle: Bundle): GeneratedResource[] {
  return (bundle.entry ?? []).map((e) => e.resource as GeneratedResource);
}

function patientOf(resources: readonly GeneratedResource[]): Patient {
  const patient = resources.find((r): r is Patient => r.resourceType === 'Patient');
  if (!patient) throw new Error('record without a Patient');
  return patient;
}

/** Every place in a JSON tree that breaks FHIR JSON rules (empty values, stray whitespace, non-finite numbers). */
function jsonProblems(value: unknown, path = '$'): string[] {
  if (value === null || value === undefined) return [`${path} is ${String(value)}`];
  if (typeof value === 'string') {
    if (value === '') return [`${path} is an empty string`];
    if (value.trim() !== value) return [`${path} has surrounding whitespace`];
    return [];
  }
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [`${path} is not finite`];
  if (typeof value === 'boolean') return [];
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${path} is an empty array`];
    return value.flatMap((v, i) => jsonProblems(v, `${path}[${i}]`));
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return [`${path} is an empty object`];
    return entries.flatMap(([k, v]) => jsonProblems(v, `${path}.${k}`));
  }
  return [`${path} has unexpected type ${typeof value}`];
}

function references(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) references(v, out);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string') out.push(v);
      else references(v, out);
    }
  }
  return out;
}

function isUcumQuantity(q: Quantity | undefined): boolean {
  return q !== undefined && typeof q.value === 'number' && q.system === UCUM && typeof q.code === 'string' && typeof q.unit === 'string';
}

function expectedInterpretation(o: Observation): string[] | undefined {
  const value = o.valueQuantity?.value;
  const range = o.referenceRange?.[0];
  if (value === undefined || range === undefined) return undefined;
  if (range.low?.value !== undefined && value < range.low.value) return ['L', 'LL'];
  if (range.high?.value !== undefined && value > range.high.value) return ['H', 'HH'];
  return ['N'];
}

/** Checks shared by seed and bulk records; returns a list of problems (empty when all is well). */
function recordProblems(resources: readonly GeneratedResource[]): string[] {
  const problems: string[] = [];
  const patient = patientOf(resources);
  const patientRef = `Patient/${patient.id}`;
  const ids = new Set<string>();
  for (const r of resources) {
    const where = `${r.resourceType}/${r.id}`;
    if (!r.id) problems.push(`${r.resourceType} without id`);
    else if (ids.has(`${r.resourceType}/${r.id}`)) problems.push(`duplicate ${where}`);
    ids.add(`${r.resourceType}/${r.id}`);
    if (!r.meta?.profile?.[0]) problems.push(`${where} has no meta.profile`);
    for (const p of jsonProblems(r)) problems.push(`${where}: ${p}`);
    for (const ref of references(r)) if (ref !== patientRef) problems.push(`${where} references ${ref}`);
    if (r.resourceType === 'Observation') problems.push(...observationProblems(r, patientRef));
    if (r.resourceType === 'Immunization' && !(r.occurrenceDateTime && DATE_TIME.test(r.occurrenceDateTime))) problems.push(`${where} occurrence`);
    if (r.resourceType === 'AllergyIntolerance' && !(r.onsetDateTime && DATE_OR_PARTIAL.test(r.onsetDateTime))) problems.push(`${where} onset`);
    if (r.resourceType === 'MedicationStatement' && !(r.effectivePeriod?.start && DATE_OR_PARTIAL.test(r.effectivePeriod.start))) problems.push(`${where} effective`);
  }
  return problems;
}

function observationProblems(o: Observation, patientRef: string): string[] {
  const where = `Observation/${o.id}`;
  const problems: string[] = [];
  if (!o.status) problems.push(`${where} has no status`);
  if (!o.code.coding?.some((c) => c.system === LOINC && c.code)) problems.push(`${where} has no LOINC code`);
  const category = o.category?.[0]?.coding?.find((c) => c.system === CATEGORY_SYSTEM)?.code;
  if (!category) problems.push(`${where} has no observation-category`);
  if (o.subject?.reference !== patientRef) problems.push(`${where} subject ${o.subject?.reference}`);
  if (!(o.effectiveDateTime && DATE_TIME.test(o.effectiveDateTime))) problems.push(`${where} effectiveDateTime ${o.effectiveDateTime}`);
  if (o.effectiveDateTime && o.effectiveDateTime.slice(0, 10) >= ANCHOR_DATE) problems.push(`${where} is not before the anchor date`);
  if (category === 'vital-signs' || category === 'laboratory') {
    if (o.component) {
      if (o.valueQuantity) problems.push(`${where} has components and a top-level value`);
      for (const c of o.component) if (!isUcumQuantity(c.valueQuantity)) problems.push(`${where} component without UCUM quantity`);
    } else if (!isUcumQuantity(o.valueQuantity)) {
      problems.push(`${where} without UCUM valueQuantity`);
    }
  }
  if (category === 'laboratory') {
    if (!(o.issued && DATE_TIME.test(o.issued) && o.issued > (o.effectiveDateTime ?? ''))) problems.push(`${where} issued ${o.issued}`);
    const expected = expectedInterpretation(o);
    const actual = o.interpretation?.[0]?.coding?.[0]?.code;
    if (!expected) problems.push(`${where} lab without referenceRange`);
    else if (!actual || !expected.includes(actual)) problems.push(`${where} value ${o.valueQuantity?.value} interpreted ${actual}, expected ${expected.join('/')}`);
  }
  if (category === 'social-history' && !o.valueCodeableConcept?.coding?.[0]?.code) problems.push(`${where} smoking status without a coded value`);
  return problems;
}

t.test('same seed gives identical output, different seed differs', async (t) => {
  for (const index of [0, 1, 17]) {
    const a = JSON.stringify(generatePatientRecord({ seed: 42, index }));
    const b = JSON.stringify(generatePatientRecord({ seed: 42, index }));
    t.equal(a, b, `patient ${index} is deterministic`);
    const c = JSON.stringify(generatePatientRecord({ seed: 43, index }));
    t.not(a, c, `patient ${index} differs with another seed`);
  }
  t.equal(JSON.stringify(generateSeedBundles()), JSON.stringify(generateSeedBundles()), 'seed bundles are deterministic');
  t.not(JSON.stringify(generateSeedBundles({ seed: 7 })), JSON.stringify(generateSeedBundles()), 'seed bundles follow the seed');
  const n = JSON.stringify(generatePatientRecord({ seed: 5, index: 3, observationsPerPatient: 300 }));
  t.equal(n, JSON.stringify(generatePatientRecord({ seed: 5, index: 3, observationsPerPatient: 300 })), 'fixed counts are deterministic');
  const ids = new Set([0, 1, 2, 3].map((index) => patientOf(generatePatientRecord({ seed: 42, index })).id));
  t.equal(ids.size, 4, 'bulk patients get distinct ids');
});

t.test('seed set: cast, family and proxy contacts', async (t) => {
  const bundles = generateSeedBundles();
  t.ok(bundles.length >= 8, `at least 8 seed patients (got ${bundles.length})`);
  const patients = bundles.map((b) => patientOf(resourcesOf(b)));
  for (const b of bundles) {
    t.equal(b.type, 'transaction');
    for (const e of b.entry ?? []) {
      const r = e.resource;
      t.ok(r?.id, 'entry resource has an id');
      if (!r?.id) continue;
      t.equal(e.fullUrl, `urn:uuid:${r.id}`);
      t.same(e.request, { method: 'PUT', url: `${r.resourceType}/${r.id}` });
    }
  }
  for (const p of patients) t.match(p.id, /^[a-z]+(-[a-z]+)+$/, `seed patient id ${p.id} is a readable slug`);
  t.ok(patients.some((p) => p.gender === 'female') && patients.some((p) => p.gender === 'male'), 'both sexes');
  t.ok(patients.some((p) => ageAtAnchor(p.birthDate ?? '') >= 80), 'an elderly patient (80+)');

  const children = patients.filter((p) => p.contact?.length);
  const child = children.find((p) => ageAtAnchor(p.birthDate ?? '') < 13);
  const teen = children.find((p) => {
    const age = ageAtAnchor(p.birthDate ?? '');
    return age >= 13 && age <= 17;
  });
  t.ok(child, 'a child under 13 with a parent contact');
  t.ok(teen, 'a teenager 13-17 with a parent contact');
  for (const minor of [child, teen]) {
    if (!minor) continue;
    const contact = minor.contact?.[0];
    const codes = (contact?.relationship ?? []).flatMap((r) => r.coding ?? []).map((c) => `${c.system}|${c.code}`);
    t.ok(
      codes.includes('http://terminology.hl7.org/CodeSystem/v2-0131|N') || codes.includes('http://terminology.hl7.org/CodeSystem/v3-RoleCode|PRN'),
      `${minor.id} contact is next-of-kin/parent`,
    );
    const parent = patients.find((p) => p.name?.[0]?.family === contact?.name?.family && p.name?.[0]?.given?.[0] === contact?.name?.given?.[0]);
    t.ok(parent, `${minor.id}'s contact is a seed patient`);
    if (parent) t.ok(ageAtAnchor(parent.birthDate ?? '') >= 18, 'the parent is an adult');
  }

  const sofia = bundles.map(resourcesOf).find((rs) => patientOf(rs).id === child?.id) ?? [];
  t.ok(
    sofia.some((r) => r.resourceType === 'AllergyIntolerance' && r.code?.text === 'Peanut'),
    'the child has a peanut allergy',
  );
  t.ok(
    sofia.some((r) => r.resourceType === 'MedicationStatement' && r.status === 'completed' && /amoxicillin/i.test(r.medicationCodeableConcept?.coding?.[0]?.display ?? '')),
    'the child had a completed amoxicillin course',
  );
  const all = bundles.flatMap(resourcesOf);
  const rx = new Set(all.flatMap((r) => (r.resourceType === 'MedicationStatement' ? (r.medicationCodeableConcept?.coding ?? []).map((c) => c.code) : [])));
  for (const code of ['861007', '314076', '617310', '197361', '745679']) t.ok(rx.has(code), `RxNorm ${code} is used`);
  t.ok(all.some((r) => r.resourceType === 'Immunization' && r.status === 'not-done' && r.statusReason), 'one declined immunization');
});

t.test('every seed and bulk record is well-formed', async (t) => {
  const records = [
    ...generateSeedBundles().map(resourcesOf),
    ...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((index) => generatePatientRecord({ seed: 42, index })),
    generatePatientRecord({ seed: 9, index: 123, observationsPerPatient: 400 }),
  ];
  for (const resources of records) {
    const patient = patientOf(resources);
    t.same(recordProblems(resources).slice(0, 10), [], `Patient/${patient.id} has no problems`);
    const observations = resources.filter((r) => r.resourceType === 'Observation');
    if (ageAtAnchor(patient.birthDate ?? '') >= 1) t.ok(observations.length > 0, `Patient/${patient.id} has observations`);
  }
});

t.test('seed patients have a believable amount of history', async (t) => {
  for (const resources of generateSeedBundles().map(resourcesOf)) {
    const observations = resources.filter((r): r is Observation => r.resourceType === 'Observation');
    const patient = patientOf(resources);
    t.ok(observations.length >= 50 && observations.length <= 300, `${patient.id}: ${observations.length} observations`);
    const years = new Set(observations.map((o) => o.effectiveDateTime?.slice(0, 4)));
    t.ok(years.size >= 3, `${patient.id} has history over ${years.size} calendar years`);
  }
});

t.test('--observations-per-patient gives exactly N', async (t) => {
  for (const [index, n] of [[0, 0], [1, 1], [2, 7], [3, 250], [4, 1000], [5, 1000], [6, 1500]] as const) {
    const record = generatePatientRecord({ seed: 42, index, observationsPerPatient: n });
    const count = record.filter((r) => r.resourceType === 'Observation').length;
    t.equal(count, n, `patient ${index}: ${n} observations`);
    t.same(recordProblems(record).slice(0, 5), [], `patient ${index} with ${n} observations is well-formed`);
  }
  t.throws(() => generatePatientRecord({ seed: 42, index: 0, observationsPerPatient: -1 }), RangeError);
  t.throws(() => generatePatientRecord({ seed: 1.5, index: 0 }), RangeError);
});

t.test('committed seed files match the generator', async (t) => {
  const dir = join(ROOT, 'fhir-resources', 'seed');
  if (!existsSync(dir)) {
    t.pass('fhir-resources/seed not generated yet; nothing to compare');
    return;
  }
  const files = readdirSync(dir).filter((f) => /^\d{2}-.*\.json$/.test(f)).sort();
  const bundles = generateSeedBundles();
  t.equal(files.length, bundles.length, 'one file per seed patient');
  bundles.forEach((bundle, i) => {
    const id = patientOf(resourcesOf(bundle)).id ?? '';
    const file = files[i] ?? '';
    t.equal(file, `${String(i + 1).padStart(2, '0')}-${id}.json`);
    t.equal(readFileSync(join(dir, file), 'utf8'), `${JSON.stringify(bundle, null, 2)}\n`, `${file} is up to date (run npm run generate)`);
  });
});

function cli(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'generate.ts'), ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

t.test('CLI: bulk NDJSON, determinism and usage errors', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'generator-test-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const run = (name: string, extra: readonly string[] = []): string => {
    const out = join(work, name);
    const r = cli(['--patients', '12', '--out', out, '--observations-per-patient', '30', ...extra]);
    t.equal(r.status, 0, r.status === 0 ? `bulk run ${name} succeeds` : r.stderr);
    return out;
  };
  const a = run('a');
  const b = run('b');
  const c = run('c', ['--seed', '7']);
  for (const type of ['Patient', 'Observation', 'AllergyIntolerance', 'MedicationStatement', 'Immunization']) {
    const fa = readFileSync(join(a, `${type}.ndjson`), 'utf8');
    t.equal(fa, readFileSync(join(b, `${type}.ndjson`), 'utf8'), `${type}.ndjson is byte-identical for the same seed`);
    if (type === 'Patient' || type === 'Observation') t.not(fa, readFileSync(join(c, `${type}.ndjson`), 'utf8'), `${type}.ndjson differs for another seed`);
    for (const line of fa.split('\n').filter(Boolean)) {
      const resource = JSON.parse(line) as GeneratedResource;
      if (resource.resourceType !== type) t.fail(`${type}.ndjson holds a ${resource.resourceType}`);
    }
  }
  const patients = readFileSync(join(a, 'Patient.ndjson'), 'utf8').trim().split('\n');
  t.equal(patients.length, 12);
  t.equal(readFileSync(join(a, 'Observation.ndjson'), 'utf8').trim().split('\n').length, 12 * 30);

  const help = cli(['--help']);
  t.equal(help.status, 0);
  t.match(help.stdout, /--observations-per-patient/);
  for (const bad of [['--patient', '3'], ['--patients', 'ten', '--out', work], ['--patients', '5'], ['--seed', '-1'], ['extra'], ['--observations-per-patient', '5']]) {
    const r = cli(bad);
    t.equal(r.status, 2, `${bad.join(' ')} exits with 2`);
    t.match(r.stderr, /generate: /, 'and explains why');
  }
});
