// Tests for the synthetic-patient generator (scripts/generator): determinism, the seed cast,
// observation shape and coding, exact per-patient counts, references, and the CLI contract.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bundle, Condition, DiagnosticReport, DocumentReference, Encounter, Group, MedicationRequest, Observation, Patient, Quantity } from 'fhir/r4.js';
import t from 'tap';
import {
  ANCHOR_DATE,
  CohortCollector,
  generatePatientRecord,
  generateSeedBundles,
  generateSeedGroupBundle,
  generateSeedGroups,
  generateSharedBundle,
  generateSharedResources,
} from '../../scripts/generator/index.js';
import type { GeneratedResource } from '../../scripts/generator/index.js';
import { nodeEntry } from '../helpers/run-script.js';

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

type Json = Record<string, unknown>;

/** Each type's required elements (R4 minimum cardinality, and US Core 6.1 mandatory ones); `a|b` is a choice. */
const REQUIRED: Record<string, readonly string[]> = {
  Encounter: ['status', 'class', 'type', 'subject', 'period', 'identifier'],
  Condition: ['category', 'code', 'subject', 'clinicalStatus', 'verificationStatus', 'recordedDate'],
  MedicationRequest: ['status', 'intent', 'subject', 'medicationCodeableConcept|medicationReference', 'authoredOn', 'requester', 'dosageInstruction', 'reasonReference'],
  MedicationDispense: ['status', 'subject', 'medicationCodeableConcept|medicationReference', 'whenHandedOver', 'authorizingPrescription'],
  Medication: ['code'],
  Procedure: ['status', 'subject', 'code', 'performedDateTime'],
  DiagnosticReport: ['status', 'code', 'category', 'subject', 'effectiveDateTime', 'issued'],
  DocumentReference: ['status', 'content', 'type', 'category', 'subject', 'date', 'author'],
  CarePlan: ['status', 'intent', 'subject', 'category', 'text'],
  CareTeam: ['status', 'subject', 'participant'],
  Goal: ['lifecycleStatus', 'description', 'subject', 'target'],
  Coverage: ['status', 'beneficiary', 'payor', 'relationship', 'subscriberId'],
  Device: ['type', 'patient', 'udiCarrier'],
  ServiceRequest: ['status', 'intent', 'subject', 'code', 'category', 'authoredOn', 'requester'],
  Provenance: ['target', 'recorded', 'agent'],
  QuestionnaireResponse: ['status', 'subject', 'authored', 'questionnaire', 'item'],
  RelatedPerson: ['patient', 'active', 'relationship', 'name'],
  Specimen: ['type', 'subject'],
  Organization: ['active', 'name'],
  Practitioner: ['identifier', 'name'],
  PractitionerRole: ['practitioner', 'organization', 'telecom'],
  Location: ['name', 'address', 'managingOrganization'],
};

const US_CORE = 'http://hl7.org/fhir/us/core/StructureDefinition/';

/** The US Core 6.1 profile a resource must claim; Condition and DiagnosticReport depend on their category. */
function expectedProfile(r: GeneratedResource): string | undefined {
  switch (r.resourceType) {
    case 'Condition':
      return `${US_CORE}${r.category?.[0]?.coding?.[0]?.code === 'encounter-diagnosis' ? 'us-core-condition-encounter-diagnosis' : 'us-core-condition-problems-health-concerns'}`;
    case 'DiagnosticReport':
      return `${US_CORE}${r.category?.[0]?.coding?.[0]?.code === 'LAB' ? 'us-core-diagnosticreport-lab' : 'us-core-diagnosticreport-note'}`;
    case 'Device':
      return `${US_CORE}us-core-implantable-device`;
    case 'Patient':
    case 'Observation':
    case 'AllergyIntolerance':
    case 'Immunization':
    case 'MedicationStatement':
      return undefined;
    default:
      return `${US_CORE}us-core-${r.resourceType.toLowerCase()}`;
  }
}

function requiredElementProblems(r: GeneratedResource): string[] {
  const where = `${r.resourceType}/${r.id}`;
  const problems: string[] = [];
  const json = r as unknown as Json;
  for (const element of REQUIRED[r.resourceType] ?? []) {
    if (!element.split('|').some((k) => json[k] !== undefined)) problems.push(`${where} lacks ${element}`);
  }
  const profile = expectedProfile(r);
  if (profile !== undefined && r.meta?.profile?.[0] !== profile) problems.push(`${where} claims ${r.meta?.profile?.[0]}, expected ${profile}`);
  switch (r.resourceType) {
    case 'Encounter':
      if (r.class.system !== 'http://terminology.hl7.org/CodeSystem/v3-ActCode' || r.class.code !== 'AMB') problems.push(`${where} class is not AMB`);
      if (r.status !== 'finished') problems.push(`${where} status ${r.status}`);
      if (!(r.period?.start && r.period.end && DATE_TIME.test(r.period.start) && DATE_TIME.test(r.period.end) && r.period.start < r.period.end)) problems.push(`${where} period ${JSON.stringify(r.period)}`);
      if (!r.type?.[0]?.coding?.some((c) => c.system === 'http://snomed.info/sct')) problems.push(`${where} type is not SNOMED`);
      for (const key of ['serviceProvider', 'participant', 'location'] as const) if (!r[key]) problems.push(`${where} lacks ${key}`);
      break;
    case 'Condition': {
      const codes = r.code?.coding?.map((c) => c.system) ?? [];
      if (!codes.includes('http://snomed.info/sct') || !codes.includes('http://hl7.org/fhir/sid/icd-10-cm')) problems.push(`${where} is not coded in SNOMED CT and ICD-10-CM`);
      if (r.category?.[0]?.coding?.[0]?.system !== 'http://terminology.hl7.org/CodeSystem/condition-category') problems.push(`${where} category system`);
      const resolved = r.clinicalStatus?.coding?.[0]?.code === 'resolved';
      if (resolved !== (r.abatementDateTime !== undefined)) problems.push(`${where} is ${r.clinicalStatus?.coding?.[0]?.code} with abatement ${r.abatementDateTime}`);
      if (r.abatementDateTime !== undefined && r.onsetDateTime !== undefined && r.abatementDateTime < r.onsetDateTime) problems.push(`${where} abates before its onset`);
      break;
    }
    case 'MedicationRequest': {
      if (r.intent !== 'order' || !['active', 'completed', 'stopped'].includes(r.status)) problems.push(`${where} ${r.status}/${r.intent}`);
      const code = r.medicationCodeableConcept?.coding?.[0];
      if (!r.medicationReference && code?.system !== 'http://www.nlm.nih.gov/research/umls/rxnorm') problems.push(`${where} is not RxNorm-coded`);
      const dosage = r.dosageInstruction?.[0];
      if (!dosage?.text || !dosage.timing?.repeat) problems.push(`${where} dosage without text and timing`);
      break;
    }
    case 'DiagnosticReport':
      if (r.category?.[0]?.coding?.[0]?.code === 'LAB') {
        if (r.category[0]?.coding?.[0]?.system !== 'http://terminology.hl7.org/CodeSystem/v2-0074') problems.push(`${where} LAB category system`);
        if (!r.result?.length) problems.push(`${where} lab report without results`);
      } else if (!r.presentedForm?.[0]?.data) problems.push(`${where} note without presentedForm`);
      break;
    case 'DocumentReference': {
      const attachment = r.content[0]?.attachment;
      if (attachment?.contentType !== 'text/plain' || !attachment.data) problems.push(`${where} attachment`);
      if (!r.context?.encounter?.length || !r.context.period) problems.push(`${where} context`);
      if (r.category?.[0]?.coding?.[0]?.code !== 'clinical-note') problems.push(`${where} category`);
      break;
    }
    case 'CarePlan':
      if (r.category?.[0]?.coding?.[0]?.code !== 'assess-plan' || !r.text?.div.startsWith('<div xmlns="http://www.w3.org/1999/xhtml">')) problems.push(`${where} category or narrative`);
      break;
    case 'CareTeam':
      for (const p of r.participant ?? []) if (!p.role?.[0]?.coding?.[0]?.code || !p.member?.reference) problems.push(`${where} participant without role or member`);
      break;
    case 'Goal':
      for (const target of r.target ?? []) if (!target.dueDate) problems.push(`${where} target without dueDate`);
      break;
    case 'Provenance':
      for (const a of r.agent) if (!a.type || !a.who.reference) problems.push(`${where} agent without type or who`);
      break;
    case 'Practitioner':
    case 'Organization':
      for (const id of r.identifier ?? []) if (id.system === 'http://hl7.org/fhir/sid/us-npi' && !validNpi(id.value ?? '')) problems.push(`${where} NPI ${id.value}`);
      break;
  }
  return problems;
}

/** US Core's NPI rules: 10 digits, Luhn check digit computed with the 80840 prefix. */
function validNpi(npi: string): boolean {
  if (!/^\d{10}$/.test(npi)) return false;
  const digits = `80840${npi}`;
  let sum = 0;
  for (let i = digits.length - 1, double = false; i >= 0; i--, double = !double) {
    let d = Number(digits[i]);
    if (double) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

const SHARED = generateSharedResources();
const SHARED_KEYS = new Set(SHARED.map((r) => `${r.resourceType}/${r.id}`));

/** Checks shared by seed and bulk records; returns a list of problems (empty when all is well). */
function recordProblems(resources: readonly GeneratedResource[]): string[] {
  const problems: string[] = [];
  const patient = patientOf(resources);
  const patientRef = `Patient/${patient.id}`;
  const ids = new Set<string>();
  const own = new Set(resources.map((r) => `${r.resourceType}/${r.id}`));
  for (const r of resources) {
    const where = `${r.resourceType}/${r.id}`;
    if (!r.id) problems.push(`${r.resourceType} without id`);
    else if (ids.has(`${r.resourceType}/${r.id}`)) problems.push(`duplicate ${where}`);
    ids.add(`${r.resourceType}/${r.id}`);
    if (!r.meta?.profile?.[0]) problems.push(`${where} has no meta.profile`);
    for (const p of jsonProblems(r)) problems.push(`${where}: ${p}`);
    // A record refers to itself and to the shared practice only: never to another patient's data.
    for (const ref of references(r)) if (!own.has(ref) && !SHARED_KEYS.has(ref)) problems.push(`${where} references ${ref}, which is neither in the record nor shared`);
    problems.push(...requiredElementProblems(r));
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
  t.equal(files.length, bundles.length + 2, 'the shared practice bundle, one file per seed patient and the Groups');
  t.equal(files.at(-1), '99-groups.json', 'the Groups sort last, so a directory import creates their members first');
  t.equal(readFileSync(join(dir, '99-groups.json'), 'utf8'), `${JSON.stringify(generateSeedGroupBundle(), null, 2)}\n`, '99-groups.json is up to date (run npm run generate)');
  t.equal(files[0], '00-practice.json', 'the shared bundle sorts first, so a directory import creates the practice before the records');
  t.equal(readFileSync(join(dir, '00-practice.json'), 'utf8'), `${JSON.stringify(generateSharedBundle(), null, 2)}\n`, '00-practice.json is up to date (run npm run generate)');
  bundles.forEach((bundle, i) => {
    const id = patientOf(resourcesOf(bundle)).id ?? '';
    const file = files[i + 1] ?? '';
    t.equal(file, `${String(i + 1).padStart(2, '0')}-${id}.json`);
    t.equal(readFileSync(join(dir, file), 'utf8'), `${JSON.stringify(bundle, null, 2)}\n`, `${file} is up to date (run npm run generate)`);
  });
});

/** Every resource of the seed output (shared bundle and patient bundles), keyed Type/id. */
function seedOutput(): { byKey: Map<string, GeneratedResource>; records: GeneratedResource[][] } {
  const records = generateSeedBundles().map(resourcesOf);
  const byKey = new Map<string, GeneratedResource>();
  for (const r of [...resourcesOf(generateSharedBundle()), ...records.flat()]) byKey.set(`${r.resourceType}/${r.id}`, r);
  return { byKey, records };
}

t.test('every reference in the seed output resolves to a resource in it', async (t) => {
  const { byKey, records } = seedOutput();
  const shared = resourcesOf(generateSharedBundle());
  t.equal(byKey.size, shared.length + records.reduce((n, r) => n + r.length, 0), 'no two resources share a Type/id');
  const dangling: string[] = [];
  for (const r of byKey.values()) for (const ref of references(r)) if (!byKey.has(ref)) dangling.push(`${r.resourceType}/${r.id} -> ${ref}`);
  t.same(dangling.slice(0, 10), [], `no dangling references (${dangling.length})`);
  const problems = shared.flatMap((r) => [...jsonProblems(r).map((p) => `${r.resourceType}/${r.id}: ${p}`), ...requiredElementProblems(r)]);
  t.same(problems.slice(0, 10), [], 'the shared practice resources are well-formed');
});

/** Checks that references point at the right kind of resource of the same patient; returns problems. */
function linkProblems(resources: readonly GeneratedResource[]): string[] {
  const problems: string[] = [];
  const patientRef = `Patient/${patientOf(resources).id}`;
  const own = new Map(resources.map((r) => [`${r.resourceType}/${r.id}`, r]));
  const ofPatient = (ref: string | undefined, type: string): GeneratedResource | undefined => {
    const target = ref === undefined ? undefined : own.get(ref);
    return target?.resourceType === type ? target : undefined;
  };
  const subjectOf = (r: GeneratedResource | undefined): string | undefined => (r && 'subject' in r ? (r.subject as { reference?: string } | undefined)?.reference : undefined);
  const encounters = new Map<string, Encounter>();
  for (const r of resources) if (r.resourceType === 'Encounter') encounters.set(`Encounter/${r.id}`, r);
  for (const r of resources) {
    const where = `${r.resourceType}/${r.id}`;
    if ('subject' in r && r.subject && (r.subject as { reference?: string }).reference !== patientRef) problems.push(`${where} subject is not ${patientRef}`);
    switch (r.resourceType) {
      case 'MedicationRequest':
        for (const reason of r.reasonReference ?? []) {
          const condition = ofPatient(reason.reference, 'Condition');
          if (!condition || subjectOf(condition) !== patientRef) problems.push(`${where} reason ${reason.reference} is not a Condition of ${patientRef}`);
        }
        if (r.encounter && !encounters.has(r.encounter.reference ?? '')) problems.push(`${where} encounter ${r.encounter.reference}`);
        if (r.medicationReference && !SHARED_KEYS.has(r.medicationReference.reference ?? '')) problems.push(`${where} medication ${r.medicationReference.reference}`);
        break;
      case 'DiagnosticReport':
        for (const result of r.result ?? []) {
          const o = ofPatient(result.reference, 'Observation') as Observation | undefined;
          if (!o || o.subject?.reference !== patientRef) problems.push(`${where} result ${result.reference} is not an Observation of ${patientRef}`);
          else if (o.encounter?.reference !== r.encounter?.reference) problems.push(`${where} result ${result.reference} is from another encounter`);
        }
        break;
      case 'Condition':
        if (r.category?.[0]?.coding?.[0]?.code === 'encounter-diagnosis') {
          const e = encounters.get(r.encounter?.reference ?? '');
          if (!e) problems.push(`${where} encounter-diagnosis points at ${r.encounter?.reference}, not an Encounter of ${patientRef}`);
          else if (!e.diagnosis?.some((d) => d.condition.reference === where)) problems.push(`${where} is not among its Encounter's diagnoses`);
        }
        break;
      case 'Observation': {
        const e = encounters.get(r.encounter?.reference ?? '');
        if (!e) problems.push(`${where} encounter ${r.encounter?.reference} is not an Encounter of ${patientRef}`);
        else if (e.period?.start?.slice(0, 10) !== r.effectiveDateTime?.slice(0, 10)) problems.push(`${where} is on ${r.effectiveDateTime} but its encounter on ${e.period?.start}`);
        break;
      }
      case 'Encounter':
        for (const d of r.diagnosis ?? []) if (subjectOf(own.get(d.condition.reference ?? '')) !== patientRef) problems.push(`${where} diagnosis ${d.condition.reference}`);
        break;
      case 'MedicationDispense':
        for (const p of r.authorizingPrescription ?? []) if (!ofPatient(p.reference, 'MedicationRequest')) problems.push(`${where} prescription ${p.reference}`);
        break;
      case 'Procedure':
        if (r.encounter && !encounters.has(r.encounter.reference ?? '')) problems.push(`${where} encounter ${r.encounter.reference}`);
        break;
      case 'DocumentReference':
        for (const e of r.context?.encounter ?? []) if (!encounters.has(e.reference ?? '')) problems.push(`${where} encounter ${e.reference}`);
        break;
      case 'Provenance':
        if (!r.target.some((x) => x.reference === patientRef)) problems.push(`${where} does not target the Patient`);
        break;
      case 'Coverage':
        if (r.beneficiary.reference !== patientRef) problems.push(`${where} beneficiary ${r.beneficiary.reference}`);
        break;
      case 'RelatedPerson':
        if (r.patient.reference !== patientRef) problems.push(`${where} patient ${r.patient.reference}`);
        break;
    }
  }
  // Every visit's Observations point at it, and every sick visit names a diagnosis.
  for (const e of encounters.values()) {
    if (e.type?.[0]?.coding?.[0]?.code === '185345009' && !e.diagnosis?.length) problems.push(`Encounter/${e.id} sick visit without a diagnosis`);
  }
  return problems;
}

t.test('references point at the right resources of the same patient (seed and bulk)', async (t) => {
  const records = [
    ...generateSeedBundles().map(resourcesOf),
    ...Array.from({ length: 40 }, (_, index) => generatePatientRecord({ seed: 42, index })),
    generatePatientRecord({ seed: 7, index: 3, observationsPerPatient: 500 }),
  ];
  for (const resources of records) t.same(linkProblems(resources).slice(0, 10), [], `Patient/${patientOf(resources).id}: links are consistent`);
});

t.test('every seed patient has the promised US Core record', async (t) => {
  const { byKey, records } = seedOutput();
  const byPatient = new Map(records.map((rs) => [patientOf(rs).id ?? '', rs]));
  const count = (rs: readonly GeneratedResource[], type: string): number => rs.filter((r) => r.resourceType === type).length;
  for (const [id, rs] of byPatient) {
    for (const type of ['Encounter', 'Coverage', 'CareTeam', 'Provenance', 'DocumentReference']) t.ok(count(rs, type) > 0, `${id} has ${type}`);
    t.equal(count(rs, 'MedicationRequest'), count(rs, 'MedicationStatement'), `${id}: one MedicationRequest per medication course`);
    t.equal(count(rs, 'Encounter'), new Set(rs.flatMap((r) => (r.resourceType === 'Observation' ? [r.encounter?.reference] : []))).size, `${id}: every Encounter has Observations`);
    const problems = rs.filter((r): r is Condition => r.resourceType === 'Condition' && r.category?.[0]?.coding?.[0]?.code === 'problem-list-item');
    if (problems.length > 0) {
      t.equal(count(rs, 'CarePlan'), 1, `${id} with a problem list has a CarePlan`);
      t.ok(count(rs, 'Goal') > 0, `${id} with a problem list has Goals`);
    }
  }
  const get = (id: string): GeneratedResource[] => byPatient.get(id) ?? [];
  const problemCodes = (id: string): string[] => get(id).flatMap((r) => (r.resourceType === 'Condition' && r.category?.[0]?.coding?.[0]?.code === 'problem-list-item' ? (r.code?.coding ?? []).map((c) => c.code ?? '') : []));
  t.ok(problemCodes('maria-garcia').includes('E03.9'), 'Maria: hypothyroidism on the problem list');
  t.ok(problemCodes('marcus-thompson').includes('44054006'), 'Marcus: type 2 diabetes on the problem list');
  t.ok(problemCodes('harold-jensen').includes('N18.32'), 'Harold: CKD stage 3b on the problem list');

  const marcusGoal = get('marcus-thompson').find((r) => r.resourceType === 'Goal' && r.target?.some((x) => x.measure?.coding?.[0]?.code === '4548-4' && x.detailQuantity?.value === 7 && x.detailQuantity.comparator === '<'));
  t.ok(marcusGoal, 'Marcus has an HbA1c < 7% goal');

  const levo = get('maria-garcia').find((r): r is MedicationRequest => r.resourceType === 'MedicationRequest' && r.status === 'active');
  const medication = byKey.get(levo?.medicationReference?.reference ?? '');
  t.equal(medication?.resourceType === 'Medication' ? medication.code?.coding?.[0]?.code : undefined, '966224', "Maria's levothyroxine is prescribed by reference to a Medication (RxNorm 966224)");
  const reason = byKey.get(levo?.reasonReference?.[0]?.reference ?? '');
  t.equal(reason?.resourceType === 'Condition' ? reason.code?.coding?.[0]?.code : undefined, '40930008', 'for her hypothyroidism');
  t.ok(get('maria-garcia').some((r) => r.resourceType === 'MedicationDispense'), 'Maria has a levothyroxine refill (MedicationDispense)');

  const earInfections = get('sofia-garcia').filter((r): r is Condition => r.resourceType === 'Condition' && r.code?.coding?.some((c) => c.code === 'H66.90') === true);
  t.ok(earInfections.length >= 2, `Sofia has ear infections as encounter diagnoses (${earInfections.length})`);
  t.ok(earInfections.filter((c) => c.clinicalStatus?.coding?.[0]?.code === 'resolved').every((c) => c.abatementDateTime), 'resolved ear infections have an abatement date');
  const amoxicillin = get('sofia-garcia').filter((r): r is MedicationRequest => r.resourceType === 'MedicationRequest' && r.medicationCodeableConcept?.coding?.[0]?.code === '308189');
  t.ok(amoxicillin.length > 0 && amoxicillin.every((m) => earInfections.some((c) => m.reasonReference?.[0]?.reference === `Condition/${c.id}`)), 'her amoxicillin prescriptions are for those ear infections');

  for (const child of ['sofia-garcia', 'mateo-garcia']) {
    const mother = get(child).find((r) => r.resourceType === 'RelatedPerson');
    t.match(mother, { patient: { reference: `Patient/${child}` }, name: [{ family: 'Garcia', given: ['Maria', 'Elena'] }], relationship: [{ coding: [{ code: 'MTH' }] }] }, `${child} has Maria as mother (RelatedPerson)`);
    const coverage = get(child).find((r) => r.resourceType === 'Coverage');
    const own = get('maria-garcia').find((r) => r.resourceType === 'Coverage');
    t.equal(coverage?.resourceType === 'Coverage' ? coverage.subscriberId : undefined, own?.resourceType === 'Coverage' ? own.subscriberId : 'x', `${child} is covered on Maria's policy`);
  }
  t.ok(get('mateo-garcia').some((r) => r.resourceType === 'Procedure' && r.code?.coding?.[0]?.code === '127783003'), 'Mateo (asthma) has spirometry');
  t.ok(get('harold-jensen').some((r) => r.resourceType === 'Device'), 'Harold has an implanted device');
  const all = records.flat();
  for (const type of ['ServiceRequest', 'Specimen', 'QuestionnaireResponse', 'MedicationDispense', 'Device', 'Procedure']) t.ok(all.some((r) => r.resourceType === type), `the seed set has a ${type}`);
  const ecg = all.find((r): r is DiagnosticReport => r.resourceType === 'DiagnosticReport' && r.code.coding?.[0]?.code === '11524-6');
  t.match(Buffer.from(ecg?.presentedForm?.[0]?.data ?? '', 'base64').toString('utf8'), /Impression:/, 'an ECG note report carries its text as base64 text/plain');
  const note = all.find((r): r is DocumentReference => r.resourceType === 'DocumentReference' && r.subject?.reference === 'Patient/maria-garcia');
  t.match(Buffer.from(note?.content[0]?.attachment.data ?? '', 'base64').toString('utf8'), /Maria Elena Garcia/, "a visit note's text is about its patient");
  t.ok(byKey.get('Practitioner/dr-lee'), "the demo clinician's fhirUser (Practitioner/dr-lee) exists");
});

t.test('the generated output is the same every time', async (t) => {
  t.equal(JSON.stringify(generateSharedBundle()), JSON.stringify(generateSharedBundle()), 'the shared bundle is deterministic');
  const a = generatePatientRecord({ seed: 11, index: 5, observationsPerPatient: 200 });
  const b = generatePatientRecord({ seed: 11, index: 5, observationsPerPatient: 200 });
  t.equal(JSON.stringify(a), JSON.stringify(b), 'a full record with a fixed count is deterministic');
  t.equal(a.filter((r) => r.resourceType === 'Observation').length, 200, 'and keeps exactly the requested Observations');
  t.ok(a.some((r) => r.resourceType === 'Encounter'), 'and its Encounters');
});


function cli(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [...nodeEntry('scripts/generate'), ...args], { cwd: ROOT, encoding: 'utf8' });
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
  for (const type of ['Patient', 'Observation', 'AllergyIntolerance', 'MedicationStatement', 'Immunization', 'Encounter', 'Condition', 'Practitioner']) {
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
  const practitioners = SHARED.filter((r) => r.resourceType === 'Practitioner').length;
  t.equal(readFileSync(join(a, 'Practitioner.ndjson'), 'utf8').trim().split('\n').length, practitioners, 'the shared practice is written once, not per patient');
  t.ok(readFileSync(join(a, 'Encounter.ndjson'), 'utf8').trim().split('\n').length >= 12, 'bulk patients have Encounters');

  const help = cli(['--help']);
  t.equal(help.status, 0);
  t.match(help.stdout, /--observations-per-patient/);
  for (const bad of [['--patient', '3'], ['--patients', 'ten', '--out', work], ['--patients', '5'], ['--seed', '-1'], ['extra'], ['--observations-per-patient', '5']]) {
    const r = cli(bad);
    t.equal(r.status, 2, `${bad.join(' ')} exits with 2`);
    t.match(r.stderr, /generate: /, 'and explains why');
  }
});

// The cohort Groups (scripts/generator/groups.ts), checked against the records with criteria of this test's own.
const HYPERTENSION = 'http://snomed.info/sct|59621000';

/** Whether the record has an active problem-list Condition with this system|code. */
function hasActiveProblem(record: readonly GeneratedResource[], token: string): boolean {
  return record.some(
    (r) =>
      r.resourceType === 'Condition' &&
      r.category?.some((c) => c.coding?.some((x) => x.code === 'problem-list-item')) === true &&
      r.clinicalStatus?.coding?.[0]?.code === 'active' &&
      r.code?.coding?.some((x) => `${x.system}|${x.code}` === token) === true,
  );
}

/** Each Group's member ids by the criterion its id names, worked out here from the records. */
function expectedMembers(records: readonly (readonly GeneratedResource[])[]): Record<string, string[]> {
  const of = (keep: (record: readonly GeneratedResource[], age: number) => boolean) =>
    records.filter((r) => keep(r, ageAtAnchor(patientOf(r).birthDate ?? ''))).map((r) => patientOf(r).id ?? '');
  return {
    'all-patients': of(() => true),
    'patients-under-18': of((_r, age) => age < 18),
    'patients-65-and-older': of((_r, age) => age >= 65),
    'patients-with-hypertension': of((r) => hasActiveProblem(r, HYPERTENSION)),
  };
}

const memberIds = (g: Group): string[] => (g.member ?? []).map((m) => (m.entity.reference ?? '').replace(/^Patient\//, ''));

t.test('seed Groups list exactly the seed patients meeting their criterion, each a non-empty proper subset', async (t) => {
  const records = generateSeedBundles().map(resourcesOf);
  const groups = generateSeedGroups();
  const expected = expectedMembers(records);
  t.same(groups.map((g) => g.id), Object.keys(expected), 'one Group per cohort, everyone first');
  for (const g of groups) {
    t.same(memberIds(g), expected[g.id ?? ''], `${g.id} lists ${expected[g.id ?? '']?.join(', ')}`);
    t.equal(g.quantity, g.member?.length, `${g.id}: quantity is the number of members`);
    if (g.id === 'all-patients') t.equal(memberIds(g).length, records.length, 'all-patients lists every seed patient');
    else {
      t.ok(memberIds(g).length > 0 && memberIds(g).length < records.length, `${g.id} is a non-empty proper subset (${memberIds(g).length} of ${records.length})`);
      t.equal(g.characteristic?.length, 1, `${g.id} states its criterion as a characteristic`);
    }
  }
  const hypertension = groups.find((g) => g.id === 'patients-with-hypertension');
  t.same(hypertension?.characteristic?.[0]?.valueCodeableConcept?.coding?.map((c) => `${c.system}|${c.code}`), [HYPERTENSION], 'the problem characteristic names the code its members have');
  const over65 = groups.find((g) => g.id === 'patients-65-and-older')?.characteristic?.[0];
  t.same([over65?.valueRange?.low?.value, over65?.valueRange?.high], [65, undefined], '65 and older: a range with no upper end');
  t.equal(JSON.stringify(generateSeedGroupBundle()), JSON.stringify(generateSeedGroupBundle()), 'the Group bundle is deterministic');
});

t.test('seed Groups are well-formed actual person Groups whose references resolve', async (t) => {
  const { byKey } = seedOutput();
  const bundle = generateSeedGroupBundle();
  t.equal(bundle.type, 'transaction');
  for (const e of bundle.entry ?? []) {
    const g = e.resource as Group;
    t.same(e.request, { method: 'PUT', url: `Group/${g.id}` });
    t.same(jsonProblems(g), [], `Group/${g.id} is valid FHIR JSON`);
    t.match(g, { resourceType: 'Group', type: 'person', actual: true, active: true, identifier: [{ system: String, value: g.id }], name: String }, `Group/${g.id} is an actual person Group`);
    const dangling = references(g).filter((ref) => !byKey.has(ref));
    t.same(dangling, [], `Group/${g.id}: every member and the managing organization exist in the seed output`);
    t.equal(byKey.get(g.managingEntity?.reference ?? '')?.resourceType, 'Organization', 'managed by the practice organization');
  }
});

t.test('the cohort collector gives bulk records the same criteria, and a cohort nobody meets no member element', async (t) => {
  const records = Array.from({ length: 40 }, (_, index) => generatePatientRecord({ seed: 42, index, observationsPerPatient: 5 }));
  const collector = new CohortCollector();
  for (const r of records) collector.add(r);
  const expected = expectedMembers(records);
  for (const g of collector.groups()) t.same(memberIds(g), expected[g.id ?? ''], `bulk ${g.id}: ${g.quantity} of 40`);
  t.ok(collector.groups().every((g) => (g.quantity ?? 0) > 0), 'forty bulk patients fill every cohort');

  const children = new CohortCollector();
  children.add(generateSeedBundles().map(resourcesOf).find((r) => patientOf(r).id === 'sofia-garcia') ?? []);
  const over65 = children.groups().find((g) => g.id === 'patients-65-and-older');
  t.equal(over65?.quantity, 0);
  t.notOk('member' in (over65 ?? {}), 'an empty cohort leaves member out (FHIR JSON has no empty arrays)');
  t.same(jsonProblems(over65), []);
});
