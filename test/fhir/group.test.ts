// Group with the R4 search parameters: read and search by member, type, actual, characteristic, value, exclude, code,
// identifier and managing-entity, _include of members and manager, for system/ and clinicians' user/ tokens; a
// patient-facing token gets none (a Group names many patients). The seeded cohort Groups load from
// fhir-resources/seed and list exactly the patients a search by their criterion finds.
import { join } from 'node:path';
import t from 'tap';
import { FhirError } from '../../src/fhir/outcome.js';
import { seedIfEmpty } from '../../src/fhir/seed.js';
import type { SmartServer } from '../helpers/smart-server.js';
import { REDIRECT, authorize, fhirGet, oidcConfig, registerClient, startSmartServer } from '../helpers/smart-server.js';
import { backendToken } from '../helpers/bulk-client.js';

interface Entry {
  resource: { resourceType: string; id: string } & Record<string, unknown>;
  search?: { mode: string };
}
interface Bundle {
  resourceType: string;
  total?: number;
  entry?: Entry[];
  link?: { relation: string; url: string }[];
}

const SEED_DIR = join(import.meta.dirname, '../../fhir-resources/seed');
const SNOMED = 'http://snomed.info/sct';
const PATIENT_KIND = { coding: [{ system: SNOMED, code: '116154003', display: 'Patient' }] };


const keys = (b: Bundle, mode = 'match') => (b.entry ?? []).filter((e) => (e.search?.mode ?? 'match') === mode).map((e) => `${e.resource.resourceType}/${e.resource.id}`).sort();
const ids = (b: Bundle) => (b.entry ?? []).filter((e) => e.search?.mode !== 'include').map((e) => e.resource.id).sort();

/** Three Groups over the test server's four patients (seedFamily), a Device and an Organization. */
async function putGroups(server: SmartServer): Promise<void> {
  const put = (type: string, id: string, body: Record<string, unknown>) => server.fhir.update(type, id, { resourceType: type, id, ...body });
  await put('Organization', 'org-clinic', { name: 'Riverside Clinic' });
  await put('Device', 'dev-pump', { status: 'active' });
  await put('Group', 'garcia-household', {
    identifier: [{ system: 'http://example.org/groups', value: 'hh-1' }],
    type: 'person',
    actual: true,
    code: PATIENT_KIND,
    name: 'The Garcia household',
    quantity: 3,
    managingEntity: { reference: 'Organization/org-clinic' },
    characteristic: [{ code: { coding: [{ system: 'http://example.org/characteristic', code: 'household' }] }, valueCodeableConcept: { coding: [{ system: 'http://example.org/household', code: 'garcia' }] }, exclude: false }],
    member: [{ entity: { reference: 'Patient/maria-garcia' } }, { entity: { reference: 'Patient/sofia-garcia' } }, { entity: { reference: 'Patient/mateo-garcia' } }],
  });
  await put('Group', 'non-smokers', {
    type: 'person',
    actual: false,
    name: 'People who do not smoke',
    characteristic: [{ code: { coding: [{ system: 'http://loinc.org', code: '72166-2' }] }, valueBoolean: true, exclude: true }],
  });
  await put('Group', 'pumps', { type: 'device', actual: true, member: [{ entity: { reference: 'Device/dev-pump' } }] });
}

t.test('Group read and search', async (t) => {
  const server = await startSmartServer(t);
  await putGroups(server);
  const token = await backendToken(server.issuer);
  const search = async (query: string) => {
    const res = await fhirGet(server, `/Group?${query}`, token);
    return { status: res.status, bundle: res.body as unknown as Bundle, diagnostics: (res.body as { issue?: { diagnostics: string }[] }).issue?.[0]?.diagnostics };
  };
  const found = async (query: string) => {
    const r = await search(query);
    t.equal(r.status, 200, `${query}: ${r.diagnostics ?? 'ok'}`);
    return ids(r.bundle);
  };

  t.test('a backend token reads a Group', async (t) => {
    const res = await fhirGet(server, '/Group/garcia-household', token);
    t.equal(res.status, 200);
    t.match(res.body, { resourceType: 'Group', id: 'garcia-household', type: 'person', actual: true });
  });

  t.test('by member: Type/id, a bare id, the :Patient modifier, and OR', async (t) => {
    t.same(await found('member=Patient/maria-garcia'), ['garcia-household']);
    t.same(await found('member=sofia-garcia'), ['garcia-household'], 'a bare id matches whatever type it names');
    t.same(await found('member:Patient=mateo-garcia'), ['garcia-household']);
    t.same(await found('member=Patient/daniel-kim'), [], 'Daniel is in no Group');
    t.same(await found('member=Device/dev-pump'), ['pumps']);
    t.same(await found('member=Patient/daniel-kim,Device/dev-pump'), ['pumps']);
    const wrong = await search('member=Encounter/e-1');
    t.equal(wrong.status, 400, 'a type member cannot name is refused');
    t.match(wrong.diagnostics, /"member" refers to Patient or Practitioner/);
  });

  t.test('by type, with and without the group-type system', async (t) => {
    t.same(await found('type=person'), ['garcia-household', 'non-smokers']);
    t.same(await found('type=http://hl7.org/fhir/group-type|device'), ['pumps']);
    t.same(await found('type=http://example.org/other|person'), [], 'another system does not match');
  });

  t.test('by actual, characteristic, value, exclude and code', async (t) => {
    t.same(await found('actual=true'), ['garcia-household', 'pumps']);
    t.same(await found('actual=false'), ['non-smokers']);
    t.same(await found('characteristic=http://example.org/characteristic|household'), ['garcia-household']);
    t.same(await found('characteristic=http://loinc.org|72166-2'), ['non-smokers']);
    t.same(await found('value=http://example.org/household|garcia'), ['garcia-household'], 'a coded characteristic value');
    t.same(await found('value=true'), ['non-smokers'], 'a true/false characteristic value');
    t.same(await found('exclude=true'), ['non-smokers']);
    t.same(await found('exclude=false'), ['garcia-household']);
    t.same(await found(`code=${SNOMED}|116154003`), ['garcia-household']);
    t.same(await found('code=http://example.org/other|116154003'), []);
  });

  t.test('by identifier and managing-entity', async (t) => {
    t.same(await found('identifier=http://example.org/groups|hh-1'), ['garcia-household']);
    t.same(await found('identifier=hh-2'), []);
    t.same(await found('managing-entity=Organization/org-clinic'), ['garcia-household']);
    t.same(await found('managing-entity=Organization/org-other'), []);
  });

  t.test('_include=Group:member brings the members, _include=Group:managing-entity the manager', async (t) => {
    const members = await search('_id=garcia-household&_include=Group:member');
    t.equal(members.status, 200);
    t.same(keys(members.bundle), ['Group/garcia-household']);
    t.same(keys(members.bundle, 'include'), ['Patient/maria-garcia', 'Patient/mateo-garcia', 'Patient/sofia-garcia']);
    const onlyPatients = await search('_id=garcia-household,pumps&_include=Group:member:Patient');
    t.same(keys(onlyPatients.bundle, 'include'), ['Patient/maria-garcia', 'Patient/mateo-garcia', 'Patient/sofia-garcia'], 'Group:member:Patient leaves the Device out');
    const manager = await search('member=Patient/maria-garcia&_include=Group:managing-entity');
    t.same(keys(manager.bundle, 'include'), ['Organization/org-clinic']);
  });

  t.test('a Group without actual or with an unknown type is refused (both are 1..1 in R4, type a required binding)', async (t) => {
    // In process: the demo backend client may only read.
    const error = await server.fhir.create('Group', { resourceType: 'Group', type: 'people', member: [{ entity: { reference: 'Patient/daniel-kim' } }] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.ok(error instanceof FhirError, 'the create fails');
    if (!(error instanceof FhirError)) return;
    t.equal(error.status, 422);
    t.same(error.issues.map((i) => i.diagnostics), ['Group.actual is required', 'Group.type must be one of person, animal, practitioner, device, medication, substance; got "people"']);
  });

  t.test('the CapabilityStatement lists the R4 Group parameters and includes', async (t) => {
    const res = await fetch(`${server.fhirBase}/metadata`);
    const cs = (await res.json()) as { rest: { resource: { type: string; documentation: string; searchInclude?: string[]; searchParam: { name: string; definition: string }[] }[] }[] };
    const group = cs.rest[0]!.resource.find((r) => r.type === 'Group')!;
    t.equal(group.documentation, 'R4 search parameters');
    t.same(group.searchParam.map((p) => p.name).sort(), ['_id', '_lastUpdated', 'actual', 'characteristic', 'code', 'exclude', 'identifier', 'managing-entity', 'member', 'type', 'value']);
    t.equal(group.searchParam.find((p) => p.name === 'member')?.definition, 'http://hl7.org/fhir/SearchParameter/Group-member');
    t.same(group.searchInclude, ['Group:member', 'Group:managing-entity']);
  });

  t.test("a clinician's user/ token reaches Groups; a patient-facing token gets 403 for them", async (t) => {
    const scope = 'openid fhirUser launch/patient patient/*.rs user/*.rs';
    const client = await registerClient(server, { client_name: 'Cohorts', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], scope });
    const config = await oidcConfig(server, client.client_id);
    const clinician = await authorize(server, config, { scope: 'openid fhirUser user/*.rs' }, { username: 'dr-lee', password: 'smart-demo' });
    t.equal((await fhirGet(server, '/Group/garcia-household', clinician.tokens.access_token)).status, 200, 'dr-lee reads the Group');
    t.same(ids((await fhirGet(server, '/Group?member=Patient/maria-garcia', clinician.tokens.access_token)).body as unknown as Bundle), ['garcia-household'], 'and searches by member');

    // Maria is a member herself: the Group still is not hers to read, as it names her children too.
    const patient = await authorize(server, config, { scope: 'launch/patient patient/*.rs' }, { username: 'maria', password: 'smart-demo', patient: 'maria-garcia' });
    const ownUser = await authorize(server, config, { scope: 'openid fhirUser user/*.rs' }, { username: 'daniel', password: 'smart-demo' });
    for (const [who, token] of [['patient/*.rs of a member', patient.tokens.access_token], ["a patient's own user/*.rs", ownUser.tokens.access_token]] as const) {
      const read = await fhirGet(server, '/Group/garcia-household', token);
      t.equal(read.status, 403, `${who}: read is 403`);
      t.match((read.body as { resourceType: string }).resourceType, 'OperationOutcome');
      t.equal((await fhirGet(server, '/Group?member=Patient/maria-garcia', token)).status, 403, `${who}: search is 403`);
      t.equal((await fhirGet(server, '/Group', token)).status, 403, `${who}: a search without parameters too`);
    }
  });
});

t.test('the seeded cohort Groups load from fhir-resources/seed and list exactly the patients their criteria select', async (t) => {
  const server = await startSmartServer(t, { seed: false });
  const imported = await seedIfEmpty(server.fhir, SEED_DIR, (msg) => t.comment(msg));
  t.ok(imported > 2000, `the seed data set is imported (${imported} resources)`);
  const token = await backendToken(server.issuer);
  const get = async (path: string): Promise<Bundle> => {
    const res = await fhirGet(server, path, token);
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`);
    const bundle = res.body as unknown as Bundle;
    if (bundle.link?.some((l) => l.relation === 'next')) throw new Error(`${path}: more than one page`);
    return bundle;
  };
  const membersOf = (g: Entry['resource']) => ((g.member ?? []) as { entity: { reference: string } }[]).map((m) => m.entity.reference.replace(/^Patient\//, '')).sort();

  const groups = new Map((await get('/Group?type=person&actual=true&_count=100')).entry!.map((e) => [e.resource.id, e.resource]));
  t.same([...groups.keys()].sort(), ['all-patients', 'patients-65-and-older', 'patients-under-18', 'patients-with-hypertension']);
  for (const g of groups.values()) t.equal(g.quantity, membersOf(g).length, `${g.id}: quantity counts the members`);

  // Ages are stated at the generator's anchor date, 2026-11-01: under 18 is born after 2008-11-01, 65 or older on or before 1961-11-01.
  const patients = async (query: string) => ids(await get(`/Patient?${query}&_count=100`));
  const allPatients = await patients('_sort=_lastUpdated');
  t.equal(allPatients.length, 12);
  t.same(membersOf(groups.get('all-patients')!), allPatients, 'all-patients lists every patient');
  t.same(membersOf(groups.get('patients-under-18')!), await patients('birthdate=gt2008-11-01'), 'patients-under-18: those born after 2008-11-01');
  t.same(membersOf(groups.get('patients-65-and-older')!), await patients('birthdate=le1961-11-01'), 'patients-65-and-older: those born on or before 1961-11-01');
  const hypertension = await get(`/Condition?code=${SNOMED}|59621000&category=problem-list-item&clinical-status=active&_count=100`);
  const withHypertension = [...new Set((hypertension.entry ?? []).map((e) => (e.resource.subject as { reference: string }).reference.replace(/^Patient\//, '')))].sort();
  t.same(membersOf(groups.get('patients-with-hypertension')!), withHypertension, 'patients-with-hypertension: those with an active problem-list Condition of essential hypertension');
  for (const id of ['patients-under-18', 'patients-65-and-older', 'patients-with-hypertension']) {
    const n = membersOf(groups.get(id)!).length;
    t.ok(n > 0 && n < allPatients.length, `${id} is a non-empty proper subset (${n})`);
  }

  t.same(ids(await get('/Group?member=Patient/harold-jensen')), ['all-patients', 'patients-65-and-older', 'patients-with-hypertension'], 'Group?member finds every cohort of a patient');
  t.same(ids(await get(`/Group?characteristic=${SNOMED}|424144002`)), ['patients-65-and-older', 'patients-under-18'], 'the age cohorts by their characteristic');
  t.same(ids(await get(`/Group?value=${SNOMED}|59621000`)), ['patients-with-hypertension'], 'the problem cohort by its value');
  t.same(ids(await get('/Group?identifier=http://hospital.example.org/patient-group|all-patients')), ['all-patients']);
  const children = await get('/Group?_id=patients-under-18&_include=Group:member');
  t.same(keys(children, 'include'), ['Patient/mateo-garcia', 'Patient/sofia-garcia'], 'its members ride along with _include=Group:member');
  const managed = await get('/Group?_id=all-patients&_include=Group:managing-entity');
  t.match(keys(managed, 'include'), [/^Organization\//], 'managed by the practice organization, which the seed holds');
});
