// The three shared Synthea bundles, imported, against the files themselves: every count and every sample search is
// computed here from the source JSON (own urn → id mapping, own owner rule, own date arithmetic), never from the
// importer's or the search code, and compared with what the FHIR API answers.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  AllergyIntolerance,
  Bundle,
  CarePlan,
  CareTeam,
  Condition,
  Device,
  DiagnosticReport,
  DocumentReference,
  Encounter,
  Goal,
  Immunization,
  MedicationRequest,
  Observation,
  Period,
  Procedure,
  Provenance,
  Resource,
  ServiceRequest,
} from 'fhir/r4.js';
import { importFiles } from '../../src/fhir/import/importer.js';
import { PUBLIC_URL, startTestApp, type TestApp } from '../helpers/app.js';
import { usingPostgres } from '../helpers/database.js';
import { CHECKOUT_ROOT } from '../helpers/run-script.js';

const FIXTURES = join(CHECKOUT_ROOT, '../shared/fixtures/synthea');
const BUNDLES = [
  'Dino214_Parisian75_40d82b80-b682-cd8b-da6d-396809878641.json',
  'Judson_Eichmann_34d4fd7e-b2b6-42fc-adb5-09db196b8662.json',
  'uscore_bundle_patient_355.json',
].map((f) => join(FIXTURES, f));
const NDJSON = join(FIXTURES, 'Patient.000.ndjson');

/** Types SOURCES.md lists as shared (no patient of their own) */
const OUTSIDE_COMPARTMENT = new Set(['Organization', 'Practitioner', 'Location', 'PractitionerRole']);

interface Source {
  readonly type: string;
  readonly id: string;
  /** The patient id its subject / patient / beneficiary (Provenance: target) points at */
  readonly owner?: string;
  /** The file's resource with its urn:uuid references replaced by Type/id */
  readonly resource: Resource;
}

type Json = Record<string, unknown>;

function loadBundle(path: string): Source[] {
  const bundle = JSON.parse(readFileSync(path, 'utf8')) as Bundle;
  const entries = bundle.entry ?? [];
  const urls = new Map<string, string>();
  for (const e of entries) urls.set(e.fullUrl!, `${e.resource!.resourceType}/${idOf(e)}`);
  return entries.map((e) => {
    const resource = resolveUrns(structuredClone(e.resource!), urls) as Resource;
    const id = idOf(e);
    return { type: resource.resourceType, id, resource, ...ownerOf(resource, id) };
  });
}

// The resource's own id, else the PUT target (patient 355), else the urn's uuid.
function idOf(e: NonNullable<Bundle['entry']>[number]): string {
  if (e.resource!.id) return e.resource!.id;
  if (e.request?.method === 'PUT') return e.request.url.split('/')[1]!;
  return e.fullUrl!.replace('urn:uuid:', '');
}

function resolveUrns(value: unknown, urls: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(value)) value.forEach((v) => resolveUrns(v, urls));
  else if (value && typeof value === 'object') {
    const obj = value as Json;
    if (typeof obj.reference === 'string' && urls.has(obj.reference)) obj.reference = urls.get(obj.reference);
    for (const v of Object.values(obj)) resolveUrns(v, urls);
  }
  return value;
}

function ownerOf(r: Resource, id: string): { owner?: string } {
  if (r.resourceType === 'Patient') return { owner: id };
  const obj = r as unknown as Json;
  const refs = r.resourceType === 'Provenance' ? (r as Provenance).target : ['subject', 'patient', 'beneficiary'].map((k) => obj[k] as { reference?: string } | undefined);
  const patient = refs.find((ref) => ref?.reference?.startsWith('Patient/'))?.reference;
  return patient ? { owner: patient.slice('Patient/'.length) } : {};
}

const sources = BUNDLES.flatMap(loadBundle);
const patients = sources.filter((s) => s.type === 'Patient').map((s) => s.id);
const of = <T extends Resource>(type: T['resourceType'], patient?: string) =>
  sources.filter((s) => s.type === type && (patient === undefined || s.owner === patient)).map((s) => s.resource as T);
const ndjsonPatients = readFileSync(NDJSON, 'utf8').split('\n').filter((l) => l.trim()).length;

// --- Dates: the instants a value covers, at the precision written (these files write days or whole seconds) ---
const DAY = 86_400_000;
function span(text: string): [number, number] {
  if (/^\d{4}$/.test(text)) return [Date.UTC(Number(text), 0, 1), Date.UTC(Number(text) + 1, 0, 1) - 1];
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return [Date.parse(`${text}T00:00:00Z`), Date.parse(`${text}T00:00:00Z`) + DAY - 1];
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/.test(text)) return [Date.parse(text), Date.parse(text) + 999];
  throw new Error(`the test does not know the precision of "${text}"`);
}
const periodSpan = (p: Period): [number, number] => [p.start ? span(p.start)[0] : -Infinity, p.end ? span(p.end)[1] : Infinity];
// eq: the value's range lies within the search value's; ge: the value's range reaches the search value or later.
const within = ([lo, hi]: [number, number], [sLo, sHi]: [number, number]) => lo >= sLo && hi <= sHi;
const reaches = ([, hi]: [number, number], [sLo]: [number, number]) => hi >= sLo;

const hasCoding = (concepts: readonly { coding?: { system?: string; code?: string }[] }[] | undefined, system: string | undefined, code: string) =>
  (concepts ?? []).some((c) => (c.coding ?? []).some((cd) => cd.code === code && (system === undefined || cd.system === system)));
const codings = (concepts: readonly { coding?: { system?: string; code?: string }[] }[] | undefined) =>
  [...new Map((concepts ?? []).flatMap((c) => c.coding ?? []).map((cd) => [`${cd.system}|${cd.code}`, { system: cd.system!, code: cd.code! }])).values()];
const distinct = <T>(values: readonly T[]) => [...new Set(values)];

interface Search {
  readonly path: string;
  readonly expected: number;
}

/** Every sample search, each with its expected count worked out from the files. */
function sampleSearches(): Search[] {
  const out: Search[] = [];
  const add = (type: string, params: Record<string, string>, expected: number) => out.push({ path: `/fhir/${type}?${new URLSearchParams(params)}`, expected });
  for (const patient of patients) {
    for (const { system, code } of codings(of<Condition>('Condition', patient).flatMap((c) => c.category ?? []))) {
      add('Condition', { patient, category: `${system}|${code}` }, of<Condition>('Condition', patient).filter((c) => hasCoding(c.category, system, code)).length);
      // Without a system: 355's sdoh Condition carries the code in two systems and must still count once.
      add('Condition', { patient, category: code }, of<Condition>('Condition', patient).filter((c) => hasCoding(c.category, undefined, code)).length);
    }
    const encounters = of<Encounter>('Encounter', patient);
    const years = distinct([0, Math.floor(encounters.length / 2), encounters.length - 1].map((i) => String(new Date(span(encounters[i]!.period!.start!)[0]).getUTCFullYear())));
    for (const year of years) add('Encounter', { patient, date: year }, encounters.filter((e) => within(periodSpan(e.period!), span(year))).length);
    const requests = of<MedicationRequest>('MedicationRequest', patient);
    for (const status of distinct(requests.map((m) => m.status))) {
      add('MedicationRequest', { patient, intent: 'order', status }, requests.filter((m) => m.intent === 'order' && m.status === status).length);
    }
    const reports = of<DiagnosticReport>('DiagnosticReport', patient);
    add('DiagnosticReport', { patient, category: 'LAB' }, reports.filter((r) => hasCoding(r.category, undefined, 'LAB')).length);
    add('DiagnosticReport', { patient, category: 'http://terminology.hl7.org/CodeSystem/v2-0074|LAB' }, reports.filter((r) => hasCoding(r.category, 'http://terminology.hl7.org/CodeSystem/v2-0074', 'LAB')).length);
    const documents = of<DocumentReference>('DocumentReference', patient);
    for (const { system, code } of codings(documents.map((d) => d.type!))) add('DocumentReference', { patient, type: `${system}|${code}` }, documents.filter((d) => hasCoding([d.type!], system, code)).length);
    const procedures = of<Procedure>('Procedure', patient);
    const procedureSpan = (p: Procedure) => (p.performedPeriod ? periodSpan(p.performedPeriod) : span(p.performedDateTime!));
    if (procedures.length) {
      const middle = procedures[Math.floor(procedures.length / 2)]!;
      const day = (middle.performedPeriod?.start ?? middle.performedDateTime!).slice(0, 10);
      add('Procedure', { patient, date: `ge${day}` }, procedures.filter((p) => reaches(procedureSpan(p), span(day))).length);
    }
    const observations = of<Observation>('Observation', patient);
    for (const code of distinct(codings(observations.flatMap((o) => o.category ?? [])).map((c) => c.code))) {
      add('Observation', { patient, category: code }, observations.filter((o) => hasCoding(o.category, undefined, code)).length);
    }
    const plans = of<CarePlan>('CarePlan', patient);
    add('CarePlan', { patient, category: 'assess-plan' }, plans.filter((p) => hasCoding(p.category, undefined, 'assess-plan')).length);
    add('CareTeam', { patient, status: 'active' }, of<CareTeam>('CareTeam', patient).filter((c) => c.status === 'active').length);
    const immunizations = of<Immunization>('Immunization', patient);
    for (const status of ['completed', 'not-done']) add('Immunization', { patient, status }, immunizations.filter((i) => i.status === status).length);
    const allergies = of<AllergyIntolerance>('AllergyIntolerance', patient);
    for (const status of ['active', 'inactive']) add('AllergyIntolerance', { patient, 'clinical-status': status }, allergies.filter((a) => hasCoding([a.clinicalStatus ?? {}], undefined, status)).length);
    const devices = of<Device>('Device', patient);
    for (const { system, code } of codings(devices.map((d) => d.type ?? {}))) add('Device', { patient, type: `${system}|${code}` }, devices.filter((d) => hasCoding([d.type ?? {}], system, code)).length);
    const goals = of<Goal>('Goal', patient);
    for (const status of distinct(goals.map((g) => g.lifecycleStatus))) add('Goal', { patient, 'lifecycle-status': status }, goals.filter((g) => g.lifecycleStatus === status).length);
    const orders = of<ServiceRequest>('ServiceRequest', patient);
    for (const { system, code } of codings(orders.map((o) => o.code ?? {}))) add('ServiceRequest', { patient, code: `${system}|${code}` }, orders.filter((o) => hasCoding([o.code ?? {}], system, code)).length);
  }
  return out;
}

async function get(app: TestApp, path: string): Promise<Bundle> {
  const res = await app.server.inject({ url: path });
  if (res.statusCode !== 200) throw new Error(`GET ${path}: ${res.statusCode} ${res.body}`);
  return JSON.parse(res.body) as Bundle;
}

const count = async (app: TestApp, path: string) => (await get(app, `${path}${path.includes('?') ? '&' : '?'}_summary=count`)).total;

/** Every page of a search, following its next links. */
async function readAll(app: TestApp, path: string): Promise<Resource[]> {
  const out: Resource[] = [];
  for (let url: string | undefined = path; url; ) {
    const page = await get(app, url);
    out.push(...(page.entry ?? []).map((e) => e.resource!));
    url = page.link?.find((l) => l.relation === 'next')?.url.replace(PUBLIC_URL, '');
  }
  return out;
}

// What the store adds: the version and the time it was written.
function withoutVersion(r: Resource): Resource {
  const { versionId: _v, lastUpdated: _l, ...meta } = r.meta ?? {};
  const { meta: _m, ...rest } = r;
  return Object.keys(meta).length ? { ...rest, meta } : rest;
}

t.test(`the three Synthea bundles import with 0 errors and every per-type, per-patient count and sample search matches the files (${usingPostgres ? 'PostgreSQL' : 'SQLite'})`, async (t) => {
  const app = await startTestApp(t);
  const report = await importFiles(app.fhir, [...BUNDLES, NDJSON]);
  t.same(report.errors, [], 'no errors');
  t.same(report.notStored, {}, 'nothing left out');
  const fileCounts: Record<string, number> = {};
  for (const s of sources) fileCounts[s.type] = (fileCounts[s.type] ?? 0) + 1;
  t.same(report.imported, { ...fileCounts, Patient: fileCounts.Patient! + ndjsonPatients }, 'the report counts what the files hold');
  t.equal(sources.length, 164 + 134 + 473, 'the entries SOURCES.md lists');
  t.same(patients, ['40d82b80-b682-cd8b-da6d-396809878641', '195bd73c-1ef3-400d-9269-a0d9042afafe', '355']);

  t.test('each resource in the compartment has its owner; the shared types have none', async (t) => {
    t.same(distinct(sources.filter((s) => !s.owner).map((s) => s.type)).sort(), [...OUTSIDE_COMPARTMENT].sort());
  });

  t.test('for every type and every patient, patient=<id>&_summary=count equals the file count', async (t) => {
    const types = distinct(sources.filter((s) => s.owner && s.type !== 'Patient').map((s) => s.type)).sort();
    t.ok(types.includes('Claim') && types.includes('ExplanationOfBenefit'), 'types with basic search included');
    for (const type of types) {
      for (const patient of patients) {
        t.equal(await count(app, `/fhir/${type}?patient=${patient}`), of(type as Resource['resourceType'], patient).length, `${type} of ${patient}`);
      }
    }
    for (const patient of patients) t.equal(await count(app, `/fhir/Patient?_id=${patient}`), 1, `Patient ${patient}`);
    t.equal(await count(app, '/fhir/Patient'), patients.length + ndjsonPatients, 'every Patient, the NDJSON ones included');
  });

  t.test('the types outside the compartment are counted overall', async (t) => {
    for (const type of OUTSIDE_COMPARTMENT) t.equal(await count(app, `/fhir/${type}`), of(type as Resource['resourceType']).length, type);
  });

  t.test('paged full reads return each resource of the file once, as the file has it with its references resolved', async (t) => {
    for (const [type, patient, pageSize] of [
      ['Observation', '355', 25],
      ['Encounter', '355', 30],
      ['ExplanationOfBenefit', '195bd73c-1ef3-400d-9269-a0d9042afafe', 4],
      ['Claim', '40d82b80-b682-cd8b-da6d-396809878641', 5],
    ] as const) {
      const stored = await readAll(app, `/fhir/${type}?patient=${patient}&_count=${pageSize}`);
      const expected = of(type, patient);
      t.ok(expected.length > pageSize, `${type} of ${patient} spans several pages`);
      t.same(stored.map((r) => r.id).sort(), expected.map((r) => r.id).sort(), `${type} of ${patient}: ${expected.length} ids, each once`);
      // Dino214's Claims carry conditional references, which become logical ones: compare the rest of those.
      if (type === 'Claim') continue;
      const byId = new Map(expected.map((r) => [r.id, r]));
      t.ok(stored.every((r) => t.same(withoutVersion(r), byId.get(r.id), `${type}/${r.id} as in the file`)));
    }
  });

  t.test('sample searches per US Core type count what the files hold', async (t) => {
    const searches = sampleSearches();
    const on355 = searches.filter((s) => s.path.includes('patient=355'));
    for (const category of ['survey', 'sdoh', 'social-history']) t.ok(on355.some((s) => s.path.endsWith(`category=${category}`) && s.expected > 0), `Observation category ${category} is sampled`);
    t.ok(on355.some((s) => s.path.includes('status=not-done') && s.expected === 1), 'the not-done Immunization is sampled');
    t.ok(on355.some((s) => s.path.includes('clinical-status=inactive') && s.expected === 2), 'the 2 inactive allergies are sampled');
    for (const { path, expected } of searches) t.equal(await count(app, path), expected, `${decodeURIComponent(path)}: ${expected}`);
  });

  t.test('_revinclude=Provenance:target brings the Provenance of patient 355', async (t) => {
    const bundle = await get(app, '/fhir/Patient?_id=355&_revinclude=Provenance:target');
    const included = (bundle.entry ?? []).filter((e) => e.search?.mode === 'include').map((e) => `${e.resource!.resourceType}/${e.resource!.id}`);
    const expected = of<Provenance>('Provenance').filter((p) => p.target.some((r) => r.reference === 'Patient/355'));
    t.equal(expected.length, 1);
    t.same(included, expected.map((p) => `Provenance/${p.id}`));
  });

  t.test('_include on MedicationRequest brings the requesters the files name; no file has a medicationReference', async (t) => {
    for (const patient of patients) {
      const requests = of<MedicationRequest>('MedicationRequest', patient);
      t.equal(requests.filter((m) => m.medicationReference).length, 0, `no medicationReference for ${patient}: MedicationRequest:medication has nothing to include`);
      const med = await get(app, `/fhir/MedicationRequest?patient=${patient}&_include=MedicationRequest:medication`);
      t.equal(med.entry?.filter((e) => e.search?.mode === 'include').length ?? 0, 0);
      // Dino214's requesters are conditional references to Practitioners not in the file: nothing to include there.
      const requesters = distinct(requests.map((m) => m.requester?.reference).filter((r): r is string => !!r && /^[A-Z][A-Za-z]+\/[^/?]+$/.test(r)));
      const bundle = await get(app, `/fhir/MedicationRequest?patient=${patient}&_include=MedicationRequest:requester`);
      const included = (bundle.entry ?? []).filter((e) => e.search?.mode === 'include').map((e) => `${e.resource!.resourceType}/${e.resource!.id}`);
      t.same(included.sort(), requesters.sort(), `requesters of ${patient}'s MedicationRequests`);
    }
  });
});
