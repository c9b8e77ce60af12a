// The patient compartment for every US Core type (and two basic ones), through real tokens from the consent page:
// a patient/ token and a patient user's user/ token see only their own record — the other patient's is 404 to read,
// absent from searches, and 403 to create into; granular scopes narrow what comes back and refuse searches outside
// them; shared directory types (Practitioner, Organization, Location, Medication, PractitionerRole) are readable with
// their scope, 403 without it, and never writable by a patient-facing token.
import t from 'tap';
import type { FhirResource } from 'fhir/r4.js';
import { US_CORE_DEFS } from '../../src/fhir/us-core-types.js';
import type { SmartServer } from '../helpers/smart-server.js';
import { REDIRECT, authorize, oidcConfig, registerClient, startSmartServer } from '../helpers/smart-server.js';
import { CLINICAL, COND_CAT, DIRECTORY, DR_CAT, LOINC, RECORDS_OF_A, RECORDS_OF_B, US_CAT } from './us-core-fixtures.js';

// Daniel signs in as himself (A); Maria's record (B) is one he has no access to.
const A = 'daniel-kim';
const B = 'maria-garcia';
const remap = (r: FhirResource): FhirResource =>
  JSON.parse(JSON.stringify(r).replaceAll('"Patient/pa"', `"Patient/${A}"`).replaceAll('"Patient/pb"', `"Patient/${B}"`)) as FhirResource;

// Two types outside US Core, served with basic search.
const BASIC: FhirResource[] = [
  { resourceType: 'Claim', id: 'claim-a', status: 'active', type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] }, use: 'claim', patient: { reference: `Patient/${A}` }, created: '2023-03-12', provider: { reference: 'Organization/org-1' }, priority: { coding: [{ code: 'normal' }] }, insurance: [{ sequence: 1, focal: true, coverage: { reference: 'Coverage/cov-a1' } }] },
  { resourceType: 'Claim', id: 'claim-b', status: 'active', type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'pharmacy' }] }, use: 'claim', patient: { reference: `Patient/${B}` }, created: '2023-04-03', provider: { reference: 'Organization/org-1' }, priority: { coding: [{ code: 'normal' }] }, insurance: [{ sequence: 1, focal: true, coverage: { reference: 'Coverage/cov-b1' } }] },
  { resourceType: 'ExplanationOfBenefit', id: 'eob-a', status: 'active', type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] }, use: 'claim', patient: { reference: `Patient/${A}` }, created: '2023-03-20', insurer: { reference: 'Organization/org-2' }, provider: { reference: 'Organization/org-1' }, outcome: 'complete', insurance: [{ focal: true, coverage: { reference: 'Coverage/cov-a1' } }] },
  { resourceType: 'ExplanationOfBenefit', id: 'eob-b', status: 'active', type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'pharmacy' }] }, use: 'claim', patient: { reference: `Patient/${B}` }, created: '2023-04-10', insurer: { reference: 'Organization/org-2' }, provider: { reference: 'Organization/org-1' }, outcome: 'complete', insurance: [{ focal: true, coverage: { reference: 'Coverage/cov-b1' } }] },
];

const FIXTURES = [...DIRECTORY, ...CLINICAL.map(remap), ...BASIC];
const byId = new Map(FIXTURES.map((r) => [r.id!, r]));

// seedFamily gives each family member a lab, a vital sign and an allergy too.
const SEEDED: Record<string, readonly string[]> = {
  Observation: [`${A}-laboratory`, `${A}-vital-signs`],
  AllergyIntolerance: [`${A}-allergy`],
};

const COMPARTMENT_TYPES = [...US_CORE_DEFS.filter((d) => d.inCompartment && d.type !== 'Patient').map((d) => d.type), 'Claim', 'ExplanationOfBenefit'];
const recordsOf = (owner: 'A' | 'B', type: string): string[] => {
  if (type === 'Claim' || type === 'ExplanationOfBenefit') return [`${type === 'Claim' ? 'claim' : 'eob'}-${owner.toLowerCase()}`];
  return [...(owner === 'A' ? RECORDS_OF_A : RECORDS_OF_B)[type]!];
};
const DIRECTORY_TYPES = ['Practitioner', 'Organization', 'Location', 'Medication', 'PractitionerRole'];

const GRANULAR: readonly { scope: string; type: string; ids: readonly string[]; hidden: string; refused: string }[] = [
  { scope: `Condition.rs?category=${COND_CAT}|problem-list-item`, type: 'Condition', ids: ['cond-a1'], hidden: 'cond-a2', refused: 'category=encounter-diagnosis' },
  { scope: `Observation.rs?category=${US_CAT}|sdoh`, type: 'Observation', ids: ['obs-a-sdoh'], hidden: 'obs-a-smoke', refused: 'category=social-history' },
  { scope: `DiagnosticReport.rs?category=${DR_CAT}|LAB`, type: 'DiagnosticReport', ids: ['dr-a1'], hidden: 'dr-a2', refused: 'category=LP29684-5' },
  { scope: `ServiceRequest.rs?category=${US_CAT}|sdoh`, type: 'ServiceRequest', ids: ['sr-a2'], hidden: 'sr-a1', refused: 'category=108252007' },
  { scope: `DocumentReference.rs?type=${LOINC}|18842-5`, type: 'DocumentReference', ids: ['doc-a1'], hidden: 'doc-a2', refused: 'type=11488-4' },
  { scope: 'MedicationRequest.rs?intent=order', type: 'MedicationRequest', ids: ['mr-a1'], hidden: 'mr-a2', refused: 'intent=plan' },
];

interface Reply {
  status: number;
  body: { entry?: { resource: { id: string; resourceType: string }; search: { mode: string } }[]; issue?: { diagnostics: string }[]; meta?: { versionId: string } };
}

async function call(server: SmartServer, token: string, path: string, init: { method?: string; body?: unknown } = {}): Promise<Reply> {
  const res = await fetch(`${server.fhirBase}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/fhir+json' } : {}) },
    ...(init.body ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Reply['body']) : {} };
}

const matchIds = (r: Reply) => (r.body.entry ?? []).filter((e) => e.search.mode === 'match').map((e) => e.resource.id).sort();
const withoutId = (r: FhirResource) => ({ ...r, id: undefined });

t.test('patient compartment', async (t) => {
  const server = await startSmartServer(t);
  for (const r of FIXTURES) await server.fhir.update(r.resourceType, r.id!, r);
  const granular = GRANULAR.map((g) => `patient/${g.scope}`).join(' ');
  const client = await registerClient(server, {
    client_name: 'Compartment',
    redirect_uris: [REDIRECT],
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    scope: `openid fhirUser launch/patient patient/*.cruds user/*.cruds ${granular} ${granular.replaceAll('patient/', 'user/')}`,
  });
  const config = await oidcConfig(server, client.client_id);
  const tokenFor = async (scope: string) => {
    const { tokens } = await authorize(server, config, { scope }, { username: 'daniel', password: 'smart-demo' });
    t.equal(tokens.scope, scope, `the consent page grants ${scope}`);
    return tokens.access_token;
  };
  const patientToken = await tokenFor('launch/patient patient/*.cruds');
  const userToken = await tokenFor('openid fhirUser user/*.cruds');

  for (const [kind, token] of [
    ['patient/*.cruds', patientToken],
    ['user/*.cruds of a patient user', userToken],
  ] as const) {
    t.test(`${kind}: each compartment type shows A's records only, and refuses writes into B's`, async (t) => {
      for (const type of COMPARTMENT_TYPES) {
        const mine = [...recordsOf('A', type), ...(SEEDED[type] ?? [])].sort();
        const theirs = recordsOf('B', type);
        const own = recordsOf('A', type)[0]!;
        t.equal((await call(server, token, `/${type}/${own}`)).status, 200, `${type}/${own} (A's) can be read`);
        for (const id of theirs) t.equal((await call(server, token, `/${type}/${id}`)).status, 404, `${type}/${id} (B's) is 404`);
        t.same(matchIds(await call(server, token, `/${type}`)), mine, `${type} without parameters: A's records`);
        t.same(matchIds(await call(server, token, `/${type}?patient=${A}`)), mine, `${type}?patient=A`);
        t.same(matchIds(await call(server, token, `/${type}?patient=${B}`)), [], `${type}?patient=B: none`);
        t.same(matchIds(await call(server, token, `/${type}?_id=${theirs.join(',')}`)), [], `${type}?_id=B's: none`);
        t.equal((await call(server, token, `/${type}/${theirs[0]}/_history/1`)).status, 404, `${type}/${theirs[0]}/_history/1 is 404`);

        const intoB = await call(server, token, `/${type}`, { method: 'POST', body: withoutId(byId.get(theirs[0]!)!) });
        t.equal(intoB.status, 403, `creating a ${type} in B's record is 403`);
        t.match(intoB.body.issue?.[0]?.diagnostics, `belongs to Patient/${B}`);
        t.equal((await call(server, token, `/${type}/${theirs[0]}`, { method: 'PUT', body: byId.get(theirs[0]!) })).status, 404, `updating B's ${type} is 404`);
        const moved = JSON.parse(JSON.stringify(byId.get(own)).replaceAll(`"Patient/${A}"`, `"Patient/${B}"`)) as FhirResource;
        t.equal((await call(server, token, `/${type}/${own}`, { method: 'PUT', body: moved })).status, 403, `moving A's ${type} into B's record is 403`);
        t.equal((await call(server, token, `/${type}/${theirs[0]}`, { method: 'DELETE' })).status, 404, `deleting B's ${type} is 404`);

        const intoA = await call(server, token, `/${type}`, { method: 'POST', body: withoutId(byId.get(own)!) });
        t.equal(intoA.status, 201, `creating a ${type} in A's record is allowed (control)`);
        const created = (intoA.body as { id?: string }).id;
        if (created) t.equal((await call(server, token, `/${type}/${created}`, { method: 'DELETE' })).status, 204);
      }
      t.equal((await call(server, token, `/Patient/${A}`)).status, 200);
      t.equal((await call(server, token, `/Patient/${B}`)).status, 404);
      t.same(matchIds(await call(server, token, '/Patient')), [A]);
      t.equal((await call(server, token, '/Patient', { method: 'POST', body: { resourceType: 'Patient', name: [{ family: 'New' }] } })).status, 403, 'creating another Patient is 403');
      // Included and revincluded resources pass the same gate: B's Provenance never comes along.
      const withProvenance = await call(server, token, `/Condition?_revinclude=Provenance:target`);
      t.same((withProvenance.body.entry ?? []).map((e) => `${e.search.mode}:${e.resource.id}`).sort(), ['include:prov-a', 'match:cond-a1', 'match:cond-a2', 'match:cond-a3']);
      const pvB = await call(server, token, `/Patient?_id=${A},${B}&_revinclude=Provenance:target`);
      t.same((pvB.body.entry ?? []).map((e) => `${e.search.mode}:${e.resource.id}`).sort(), ['include:prov-a', `match:${A}`]);
      // Directory types are readable with patient/*: _include brings them along.
      const team = await call(server, token, '/CareTeam?status=active&_include=CareTeam:participant:Practitioner');
      t.same((team.body.entry ?? []).map((e) => `${e.search.mode}:${e.resource.id}`).sort(), ['include:pr-1', 'match:ct-a1']);
    });
  }

  t.test('granular scopes: only the matching records come back, a search naming another value is 403', async (t) => {
    for (const context of ['patient', 'user'] as const) {
      const token = await tokenFor(context === 'patient' ? `launch/patient ${granular}` : `openid fhirUser ${granular.replaceAll('patient/', 'user/')}`);
      for (const g of GRANULAR) {
        t.same(matchIds(await call(server, token, `/${g.type}`)), g.ids, `${context}/${g.scope}: ${g.type} without parameters`);
        t.same(matchIds(await call(server, token, `/${g.type}?patient=${A}`)), g.ids, `${context}/${g.scope}: ${g.type}?patient=A`);
        const refused = await call(server, token, `/${g.type}?patient=${A}&${g.refused}`);
        t.equal(refused.status, 403, `${context}/${g.scope}: ${g.type}?${g.refused} is 403`);
        t.match(refused.body.issue?.[0]?.diagnostics, `Searching ${g.type} with ${g.refused.replace(/=.*/, '')}=`);
        t.equal((await call(server, token, `/${g.type}/${g.ids[0]}`)).status, 200, `${g.type}/${g.ids[0]} can be read`);
        t.equal((await call(server, token, `/${g.type}/${g.hidden}`)).status, 404, `${g.type}/${g.hidden} (outside the filter) is 404`);
        for (const id of recordsOf('B', g.type)) t.equal((await call(server, token, `/${g.type}/${id}`)).status, 404, `${g.type}/${id} (B's) is 404`);
        t.same(matchIds(await call(server, token, `/${g.type}?patient=${B}`)), [], `${g.type}?patient=B: none`);
      }
      t.equal((await call(server, token, '/Encounter')).status, 403, 'a type without a scope is 403');
      t.equal((await call(server, token, '/Practitioner/pr-1')).status, 403, 'a directory type without a scope is 403');
      const cond = await call(server, token, '/Condition?_revinclude=Provenance:target');
      t.same(matchIds(cond), ['cond-a1'], 'no Provenance scope: the revinclude is left out, the search answered');
    }
  });

  t.test('directory types: readable with their scope, 403 without it, never writable by a patient-facing token', async (t) => {
    const read = await tokenFor(`launch/patient ${DIRECTORY_TYPES.map((d) => `patient/${d}.rs`).join(' ')}`);
    const write = await tokenFor(`launch/patient ${DIRECTORY_TYPES.map((d) => `patient/${d}.cruds`).join(' ')}`);
    const none = await tokenFor('launch/patient patient/Condition.rs');
    for (const type of DIRECTORY_TYPES) {
      const all = FIXTURES.filter((r) => r.resourceType === type).map((r) => r.id!).sort();
      for (const token of [read, write, userToken, patientToken]) {
        t.equal((await call(server, token, `/${type}/${all[0]}`)).status, 200, `${type}/${all[0]} can be read`);
        t.same(matchIds(await call(server, token, `/${type}`)), all, `${type}: every record, whoever's patient is in context`);
      }
      t.equal((await call(server, none, `/${type}/${all[0]}`)).status, 403, `${type} without a scope: read is 403`);
      t.equal((await call(server, none, `/${type}`)).status, 403, `${type} without a scope: search is 403`);
      for (const token of [write, userToken, patientToken]) {
        const body = byId.get(all[0]!)!;
        const created = await call(server, token, `/${type}`, { method: 'POST', body: withoutId(body) });
        t.equal(created.status, 403, `creating a ${type} is 403`);
        t.match(created.body.issue?.[0]?.diagnostics, 'shared by all');
        t.equal((await call(server, token, `/${type}/${all[0]}`, { method: 'PUT', body })).status, 403, `updating a ${type} is 403`);
        t.equal((await call(server, token, `/${type}/${all[0]}`, { method: 'DELETE' })).status, 403, `deleting a ${type} is 403`);
      }
      t.equal((await call(server, read, `/${type}/${all[0]}`)).body.meta?.versionId, '1', `${type}/${all[0]} is unchanged`);
    }
  });

  t.test('a compartment of no patients matches nothing (a user/ token that reaches no record)', async (t) => {
    for (const type of ['Observation', 'Condition', 'Practitioner']) {
      const result = await server.fhir.search(type, [], { strict: false, policy: { constraints: [{ kind: 'compartment', patientIds: [] }] } });
      t.same(result.page.rows, [], type);
    }
  });
});
