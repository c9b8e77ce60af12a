// Who may export what: only backend services (system/ scopes) start exports; a job holds only the types its token
// allows (granular filters included); only the client that started a job sees its status and files, and only while
// its token still covers a file's type; a Group export is exactly its members' records.
import t from 'tap';
import { backendToken, download, exportAll, kickOff, poll } from '../helpers/bulk-client.js';
import { REDIRECT, authorize, oidcConfig, registerClient, startSmartServer, type SmartServer } from '../helpers/smart-server.js';

const LAB = 'http://terminology.hl7.org/CodeSystem/observation-category|laboratory';

async function backendClient(server: SmartServer, scope: string): Promise<{ token: (scope?: string) => Promise<string> }> {
  const c = await registerClient(server, { client_name: 'Export client', grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_basic', scope });
  return { token: (s = scope) => backendToken(server.issuer, s, `${c.client_id}:${c.client_secret!}`) };
}

async function diagnostics(res: Response): Promise<string> {
  return ((await res.json()) as { issue: { diagnostics: string }[] }).issue.map((i) => i.diagnostics).join(' | ');
}

const ids = (lines: readonly Record<string, unknown>[]) => lines.map((l) => `${l.resourceType as string}/${l.id as string}`).sort();

t.test('export access', async (t) => {
  const server = await startSmartServer(t, { env: { SANDBOX: 'true' } });

  t.test("a patient's or a user's token is refused with a 403 that says bulk export is for backend services", async (t) => {
    const app = await registerClient(server, { client_name: 'Patient app', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], scope: 'openid fhirUser launch/patient patient/*.rs user/*.rs' });
    const config = await oidcConfig(server, app.client_id);
    const patient = await authorize(server, config, { scope: 'launch/patient patient/*.rs' }, { username: 'daniel', password: 'smart-demo' });
    for (const path of ['/$export', '/Patient/$export', '/Group/anything/$export']) {
      const res = await kickOff(`${server.fhirBase}${path}`, patient.tokens.access_token);
      t.equal(res.status, 403, path);
      t.match(await diagnostics(res), /Bulk export is for backend services.*client_credentials.*limited to the patient in context \(daniel-kim\)/);
    }
    const clinician = await authorize(server, config, { scope: 'openid fhirUser user/*.rs' }, { username: 'dr-lee', password: 'smart-demo' });
    const res = await kickOff(`${server.fhirBase}/Patient/$export`, clinician.tokens.access_token);
    t.equal(res.status, 403);
    t.match(await diagnostics(res), /acts for a signed-in user and holds user\/\*\.rs/);
    // Nor may such a token poll someone's export.
    const backend = await backendToken(server.issuer);
    const started = await kickOff(`${server.fhirBase}/Patient/$export?_type=Patient`, backend);
    const status = await fetch(started.headers.get('content-location')!, { headers: { authorization: `Bearer ${patient.tokens.access_token}` } });
    t.equal(status.status, 403);
  });

  t.test('a job includes only the types the token may search, and names a type it may not', async (t) => {
    const client = await backendClient(server, 'system/Observation.rs system/Patient.rs');
    const token = await client.token('system/Observation.rs');
    const { byType } = await exportAll(`${server.fhirBase}/Patient/$export`, token);
    t.same([...byType.keys()], ['Observation'], 'no Patient or AllergyIntolerance file');
    const asked = await kickOff(`${server.fhirBase}/Patient/$export?_type=Observation,AllergyIntolerance`, token);
    t.equal(asked.status, 403);
    t.match(await diagnostics(asked), /may not export AllergyIntolerance: .*needs system\/AllergyIntolerance\.rs/);
    const lenient = await kickOff(`${server.fhirBase}/Patient/$export?_type=Observation,AllergyIntolerance`, token, { prefer: 'respond-async; handling=lenient' });
    t.equal(lenient.status, 202);
    const { manifest } = await poll(lenient.headers.get('content-location')!, token, { maxWaitMs: 100 });
    t.same(manifest!.output.map((o) => o.type), ['Observation']);
    t.match((await download(manifest!.error[0]!.url, token)).text, /may not export AllergyIntolerance/);
  });

  t.test('v1 system/*.read exports everything, and a token with no usable type is refused', async (t) => {
    const token = await backendToken(server.issuer, 'system/*.read');
    const { byType } = await exportAll(`${server.fhirBase}/Patient/$export`, token);
    t.same([...byType.keys()].sort(), ['AllergyIntolerance', 'Observation', 'Patient']);
    const client = await backendClient(server, 'system/Organization.rs');
    const res = await kickOff(`${server.fhirBase}/Patient/$export`, await client.token());
    t.equal(res.status, 403);
    t.match(await diagnostics(res), /allows none of the types a patient-level export includes/);
  });

  t.test('a granular system/ scope exports only what its filter allows', async (t) => {
    const client = await backendClient(server, `system/Observation.rs?category=${LAB}`);
    const { byType } = await exportAll(`${server.fhirBase}/Patient/$export`, await client.token());
    const lines = byType.get('Observation')!;
    t.equal(lines.length, 4);
    t.ok(lines.every((l) => JSON.stringify(l.category).includes('laboratory')), 'laboratory results only');
  });

  t.test('another client can neither poll, download nor cancel an export, and a later token of the same client needs the type', async (t) => {
    const owner = await backendClient(server, 'system/Observation.rs system/Patient.rs');
    const ownerToken = await owner.token();
    const { manifest } = await exportAll(`${server.fhirBase}/Patient/$export`, ownerToken);
    const file = manifest.output.find((o) => o.type === 'Observation')!;
    const jobId = file.url.split('/').at(-2)!;
    const statusUrl = `${server.fhirBase}/$export-status/${jobId}`;
    const other = await backendToken(server.issuer);
    const status = await fetch(statusUrl, { headers: { authorization: `Bearer ${other}` } });
    t.equal(status.status, 403);
    t.match(await diagnostics(status), /started by another client/);
    const got = await download(file.url, other);
    t.equal(got.status, 403);
    t.equal(got.lines.length, 0);
    t.equal((await fetch(statusUrl, { method: 'DELETE', headers: { authorization: `Bearer ${other}` } })).status, 403);
    t.equal((await download(file.url, ownerToken)).status, 200, 'the owner still can');
    const narrower = await owner.token('system/Patient.rs');
    const refused = await download(file.url, narrower);
    t.equal(refused.status, 403);
    t.match(refused.text, /may no longer read Observation/);
    t.equal((await download(manifest.output.find((o) => o.type === 'Patient')!.url, narrower)).status, 200, 'a type it still holds');
  });
});

t.test('Group export', async (t) => {
  const server = await startSmartServer(t, { env: { SANDBOX: 'true' } });
  await server.fhir.update('Group', 'garcias', {
    resourceType: 'Group',
    id: 'garcias',
    type: 'person',
    actual: true,
    member: [
      { entity: { reference: 'Patient/maria-garcia' } },
      { entity: { reference: 'Patient/sofia-garcia' } },
      { entity: { reference: 'Patient/mateo-garcia' }, inactive: true },
      { entity: { reference: 'Practitioner/dr-lee' } },
    ],
  });
  const token = await backendToken(server.issuer);

  t.test("returns exactly the active members' records, and notes members that have none", async (t) => {
    const { manifest, byType } = await exportAll(`${server.fhirBase}/Group/garcias/$export`, token);
    const all = ids([...byType.values()].flat());
    t.same(all, [
      'AllergyIntolerance/maria-garcia-allergy',
      'AllergyIntolerance/sofia-garcia-allergy',
      'Observation/maria-garcia-laboratory',
      'Observation/maria-garcia-vital-signs',
      'Observation/sofia-garcia-laboratory',
      'Observation/sofia-garcia-vital-signs',
      'Patient/maria-garcia',
      'Patient/sofia-garcia',
    ]);
    t.equal(manifest.error.length, 1);
    t.match((await download(manifest.error[0]!.url, token)).text, /Practitioner\/dr-lee is not a Patient/);
  });

  t.test('the patient parameter narrows a Group export to some of its members', async (t) => {
    const body = { resourceType: 'Parameters', parameter: [{ name: 'patient', valueReference: { reference: 'Patient/sofia-garcia' } }, { name: '_type', valueString: 'Patient' }] };
    const res = await kickOff(`${server.fhirBase}/Group/garcias/$export`, token, { method: 'POST', body });
    const { manifest } = await poll(res.headers.get('content-location')!, token, { maxWaitMs: 100 });
    t.same(ids((await download(manifest!.output[0]!.url, token)).lines), ['Patient/sofia-garcia']);
    const outside = { resourceType: 'Parameters', parameter: [{ name: 'patient', valueReference: { reference: 'Patient/daniel-kim' } }] };
    const refused = await kickOff(`${server.fhirBase}/Group/garcias/$export`, token, { method: 'POST', body: outside });
    t.equal(refused.status, 400);
    t.match(await diagnostics(refused), /Patient\/daniel-kim is not a member of the Group/);
  });

  t.test("a token that cannot read the Group cannot export its members' records", async (t) => {
    const c = await registerClient(server, { client_name: 'No groups', grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_basic', scope: 'system/Patient.rs system/Observation.rs' });
    const noGroup = await backendToken(server.issuer, 'system/Patient.rs system/Observation.rs', `${c.client_id}:${c.client_secret!}`);
    const res = await kickOff(`${server.fhirBase}/Group/garcias/$export`, noGroup);
    t.equal(res.status, 403);
    t.match(await diagnostics(res), /needs system\/Group\.rs/);
  });

  t.test('a Group export may not ask for types outside the patient compartment', async (t) => {
    const res = await kickOff(`${server.fhirBase}/Group/garcias/$export?_type=Group`, token);
    t.equal(res.status, 400);
    t.match(await diagnostics(res), /Group-level export has none of it/);
  });
});
