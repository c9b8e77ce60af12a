// The consent groups over HTTP, on the full server: counts that add up every type of a group, and a parent's access
// to a 15-year-old's record (Mateo, born 2011-04-09) reaching only what a parent may see, whether the app holds
// user/ scopes (the FHIR API filters by type) or patient/ scopes (the consent page narrows them).
import * as oidc from 'openid-client';
import t from 'tap';
import type { App } from '../../src/app.js';
import { CookieJar, authorizeInBrowser, type FlowChoices } from '../helpers/browser-flow.js';
import { REDIRECT, fhirGet, registerClient, startSmartServer } from '../helpers/smart-server.js';

const ref = (patientId: string) => ({ reference: `Patient/${patientId}` });
const med = { text: 'Albuterol inhaler' };

/** A few entries of the newer kinds for one patient, with ids `<patient>-<kind>`, made here rather than by the seed. */
async function addRecords(app: App, p: string): Promise<void> {
  const put = (type: string, id: string, body: Record<string, unknown>) => app.fhir.update(type, `${p}-${id}`, { resourceType: type, id: `${p}-${id}`, ...body });
  await put('Condition', 'asthma', { subject: ref(p), code: { text: 'Asthma' } });
  await put('FamilyMemberHistory', 'mother', { status: 'completed', patient: ref(p), relationship: { text: 'mother' } });
  await put('MedicationRequest', 'inhaler', { status: 'active', intent: 'order', medicationCodeableConcept: med, subject: ref(p) });
  await put('MedicationRequest', 'refill', { status: 'active', intent: 'order', medicationCodeableConcept: med, subject: ref(p) });
  await put('MedicationStatement', 'taking', { status: 'active', medicationCodeableConcept: med, subject: ref(p) });
  await put('MedicationDispense', 'pharmacy', { status: 'completed', medicationCodeableConcept: med, subject: ref(p) });
  await put('Immunization', 'flu', { status: 'completed', vaccineCode: { text: 'Influenza' }, patient: ref(p), occurrenceDateTime: '2026-10-01' });
  await put('Coverage', 'plan', { status: 'active', beneficiary: ref(p), payor: [{ display: 'Acme Insurance' }] });
  await put('Claim', 'visit', {
    status: 'active',
    type: { text: 'professional' },
    use: 'claim',
    patient: ref(p),
    created: '2026-10-02',
    provider: { display: 'Teen clinic' },
    priority: { text: 'normal' },
    insurance: [{ sequence: 1, focal: true, coverage: { reference: `Coverage/${p}-plan` } }],
  });
}

t.test('consent groups on the full server', async (t) => {
  const server = await startSmartServer(t);
  for (const p of ['maria-garcia', 'mateo-garcia']) await addRecords(server, p);
  await server.fhir.update('Practitioner', 'dr-ng', { resourceType: 'Practitioner', id: 'dr-ng', name: [{ family: 'Ng' }] });
  const client = await registerClient(server, {
    client_name: 'Family Records',
    redirect_uris: [REDIRECT],
    token_endpoint_auth_method: 'none',
    scope: 'openid fhirUser launch/patient offline_access patient/*.rs user/*.rs',
  });
  const config = await oidc.discovery(new URL(server.issuer), client.client_id, {}, oidc.None(), { execute: [oidc.allowInsecureRequests] });
  const maria = { username: 'maria', password: 'smart-demo' };
  /** Through sign-in, the patient picker and the consent page in one browser (its cookies in `jar`). */
  const authorize = async (scope: string, choices: FlowChoices, jar = new CookieJar()) => {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      aud: server.fhirBase,
      scope,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const flow = await authorizeInBrowser(url.toString(), REDIRECT, choices, jar);
    const tokens = await oidc.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: verifier, expectedState: state });
    return { ...flow, tokens };
  };
  const status = async (path: string, token: string) => (await fhirGet(server, path, token)).status;
  const total = async (path: string, token: string) => {
    const r = await fhirGet(server, path, token);
    return r.status === 200 ? (r.body.entry as unknown[] | undefined)?.length ?? 0 : `HTTP ${r.status}`;
  };
  const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');

  t.test("the consent page counts every type of a group in the patient's own record", async (t) => {
    const jar = new CookieJar();
    const { tokens, offeredGroups, pages } = await authorize('launch/patient patient/*.rs', { ...maria, patient: 'maria-garcia' }, jar);
    t.same(offeredGroups.slice(0, 4), ['labs', 'vitals', 'other-observations', 'problems']);
    t.ok(offeredGroups.includes('providers') && offeredGroups.includes('reference-data'), 'shared data is offered too');
    const consent = text(pages.find((p) => p.includes('Allow Access'))!);
    t.match(consent, 'Health problems 2 records', 'Condition and FamilyMemberHistory');
    t.match(consent, 'Medications 4 records', 'two MedicationRequests, a MedicationStatement and a MedicationDispense');
    t.match(consent, 'Insurance 2 records', 'the coverage and the claim');
    t.match(consent, 'Visits None on record');
    t.equal(tokens.scope, 'launch/patient patient/*.rs', 'everything kept: the scope as asked');

    const apps = text(await (await fetch(`${server.base}/portal/apps`, { headers: { cookie: jar.header() } })).text());
    t.match(apps, 'Medications 4 records', 'the connected-apps page counts the same way');
    t.match(apps, 'Health problems 2 records');
  });

  t.test("a parent's user/ token reads a 15-year-old's immunizations and coverage, never conditions or medication requests", async (t) => {
    const { tokens } = await authorize('openid fhirUser user/*.rs', maria);
    t.equal(tokens.scope, 'openid fhirUser user/*.rs', 'her own record: granted as asked');
    const token = tokens.access_token;
    t.equal(await status('/Immunization/mateo-garcia-flu', token), 200, "the teen's immunization");
    t.equal(await total('/Immunization?patient=mateo-garcia', token), 1);
    t.equal(await status('/Coverage/mateo-garcia-plan', token), 200, "the teen's insurance coverage");
    t.equal(await status('/Condition/mateo-garcia-asthma', token), 404, "the teen's condition is not there for her");
    t.equal(await total('/Condition?patient=mateo-garcia', token), 0, 'nor in a search');
    t.equal(await status('/MedicationRequest/mateo-garcia-inhaler', token), 404, "the teen's prescription neither");
    t.equal(await total('/MedicationRequest?patient=mateo-garcia', token), 0);
    t.equal(await status('/Claim/mateo-garcia-visit', token), 404, 'nor the claim, which would reveal the visit');
    t.equal(await status('/FamilyMemberHistory/mateo-garcia-mother', token), 404);
    t.equal(await status('/Condition/maria-garcia-asthma', token), 200, 'her own condition she reads');
    t.equal(await total('/MedicationRequest?patient=maria-garcia', token), 2, 'and her own prescriptions');
    t.equal(await status('/Practitioner/dr-ng', token), 200, 'doctors are nobody\'s record: the scopes decide');
  });

  t.test("on a teenager's record the consent page offers and counts only what a parent may see, and the token follows", async (t) => {
    const jar = new CookieJar();
    const flow = await authorize('launch/patient patient/*.rs', { ...maria, patient: 'mateo-garcia' }, jar);
    t.same(flow.offeredGroups, ['allergies', 'immunizations', 'insurance', 'basic', 'providers', 'reference-data']);
    const { tokens } = flow;
    t.equal(tokens.patient, 'mateo-garcia');
    const granted = tokens.scope!.split(' ');
    t.ok(granted.includes('patient/Immunization.rs') && granted.includes('patient/Coverage.rs'));
    for (const type of ['Condition', 'MedicationRequest', 'Claim', 'Observation', 'Medication']) t.notOk(granted.some((s) => s.startsWith(`patient/${type}.`)), `no ${type} scope`);
    const token = tokens.access_token;
    t.equal(await status('/Immunization/mateo-garcia-flu', token), 200);
    t.equal(await status('/Condition/mateo-garcia-asthma', token), 403);
    t.equal(await status('/MedicationRequest?patient=mateo-garcia', token), 403);
    t.equal(await status('/Claim/mateo-garcia-visit', token), 403);
    t.equal(await status('/Practitioner/dr-ng', token), 200);

    const apps = text(await (await fetch(`${server.base}/portal/apps`, { headers: { cookie: jar.header() } })).text());
    const mateo = apps.slice(apps.indexOf('Mateo'));
    const maySee = mateo.slice(mateo.indexOf('What it may see'), mateo.indexOf('Remove access'));
    t.match(maySee, 'Insurance 1 record', "the teen's insurance counts the coverage only, not the claim");
    t.match(maySee, 'Immunizations 1 record');
    t.notMatch(maySee, /Health problems|Medications|Lab results/, 'confidential groups are not listed');
  });
});
