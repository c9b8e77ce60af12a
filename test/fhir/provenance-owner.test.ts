// A Provenance that names only clinical resources (the usual US Core shape) belongs to the record those resources
// are in: the patient sees it, through reads, searches and _revinclude; another patient does not; and a patient
// token cannot attach one to someone else's record.
import t from 'tap';
import { REDIRECT, authorize, oidcConfig, registerClient, startSmartServer } from '../helpers/smart-server.js';
import { importResources } from '../../src/fhir/import/importer.js';

const A = 'daniel-kim';
const B = 'maria-garcia';

const condition = (id: string, patient: string) => ({
  resourceType: 'Condition',
  id,
  subject: { reference: `Patient/${patient}` },
  code: { coding: [{ system: 'http://snomed.info/sct', code: '38341003', display: 'Hypertension' }] },
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'problem-list-item' }] }],
});
const provenance = (id: string | undefined, ...targets: string[]) => ({
  resourceType: 'Provenance',
  ...(id ? { id } : {}),
  target: targets.map((reference) => ({ reference })),
  recorded: '2024-05-01T10:00:00Z',
  agent: [{ who: { reference: 'Organization/clinic' } }],
});

t.test('Provenance takes the compartment of what it is about', async (t) => {
  const server = await startSmartServer(t);
  await server.fhir.update('Condition', 'cond-a', condition('cond-a', A));
  await server.fhir.update('Condition', 'cond-b', condition('cond-b', B));
  const a = await server.fhir.create('Provenance', provenance(undefined, 'Condition/cond-a'));
  const b = await server.fhir.create('Provenance', provenance(undefined, 'Condition/cond-b'));
  t.equal(a.patientId, A, "a Provenance about A's Condition is in A's record");
  t.equal(b.patientId, B);
  const stray = await server.fhir.create('Provenance', provenance(undefined, 'Organization/clinic'));
  t.equal(stray.patientId, null, 'about nothing in a record: in none');

  // The importer does the same, for a target earlier in the same batch.
  const report = await importResources(server.fhir, [
    { resource: condition('cond-a2', A), location: 'entry 0' },
    { resource: provenance('prov-imported', 'Condition/cond-a2'), location: 'entry 1' },
  ]);
  t.same(report.errors, []);
  t.equal((await server.fhir.store.read('Provenance', 'prov-imported'))?.patientId, A, 'imported: owner found in the batch');

  const client = await registerClient(server, { client_name: 'Provenance', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], scope: 'launch/patient patient/Condition.rs patient/Provenance.cruds' });
  const config = await oidcConfig(server, client.client_id);
  const { tokens } = await authorize(server, config, { scope: 'launch/patient patient/Condition.rs patient/Provenance.cruds' }, { username: 'daniel', password: 'smart-demo' });
  const get = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${server.fhirBase}${path}`, { ...init, headers: { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/fhir+json' } });
    return { status: res.status, body: (await res.json()) as { entry?: { resource: { id: string; resourceType: string } }[]; issue?: { diagnostics: string }[] } };
  };
  t.equal((await get(`/Provenance/${a.id}`)).status, 200, 'A reads the Provenance of their Condition');
  t.equal((await get(`/Provenance/${b.id}`)).status, 404, "B's is not there for A");
  const search = await get('/Provenance');
  t.same(search.body.entry?.map((e) => e.resource.id).sort(), [a.id, 'prov-imported'].sort(), 'a search shows A\'s two only');
  const rev = await get('/Condition?_id=cond-a&_revinclude=Provenance:target');
  t.same(rev.body.entry?.map((e) => `${e.resource.resourceType}/${e.resource.id}`), ['Condition/cond-a', `Provenance/${a.id}`], '_revinclude brings it along');

  const intoB = await get('/Provenance', { method: 'POST', body: JSON.stringify(provenance(undefined, 'Condition/cond-b')) });
  t.equal(intoB.status, 403, "A cannot attach a Provenance to B's Condition");
  // The refusal does not say whose record the target is in (nor that it exists): it reads as for an unknown target.
  t.notMatch(intoB.body.issue?.[0]?.diagnostics, B, "the refusal does not name B's record");
  const unknownTarget = await get('/Provenance', { method: 'POST', body: JSON.stringify(provenance(undefined, 'Condition/no-such-condition')) });
  t.equal(unknownTarget.status, 403);
  t.equal(intoB.body.issue?.[0]?.diagnostics, unknownTarget.body.issue?.[0]?.diagnostics, 'the same words as for a target that does not exist');
  t.equal((await get('/Provenance', { method: 'POST', body: JSON.stringify(provenance(undefined, 'Condition/cond-a')) })).status, 201, 'to their own, it can');
});
