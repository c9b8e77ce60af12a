// A Bulk Data client as the Bulk Data Access IG 2.0 describes one, end to end over HTTP with a real SMART Backend
// Services token: register a key, discover the token endpoint, sign a client assertion (RS384), check the capability
// statement, kick off Group/[id]/$export, poll honouring Retry-After, read the manifest, download every file, and
// compare what came out with what the same token finds by searching the Group members' records. Then the rules
// around the export: files need the token, and a cancelled export is gone. (That another client may not poll,
// download or cancel an export is test/bulk/export-access.test.ts's.)
// Runs on SQLite and, with DATABASE_URL, on PostgreSQL.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { Bundle, CapabilityStatement, FhirResource } from 'fhir/r4.js';
import { registerClient, startSmartServer, type SmartServer } from '../helpers/smart-server.js';
import type { Manifest } from '../helpers/bulk-client.js';

const BULK = 'http://hl7.org/fhir/uv/bulkdata';
const SCOPE = 'system/Patient.rs system/Observation.rs system/AllergyIntolerance.rs system/Group.rs';
const GROUP_ID = 'export-cohort';
/** startSmartServer seeds maria-garcia, sofia-garcia, mateo-garcia and daniel-kim; these three are added here. */
const NEW_PATIENTS = ['ana-lopez', 'ben-okafor', 'chen-wu'];
const MEMBERS = ['ana-lopez', 'maria-garcia'];
const NON_MEMBERS = ['sofia-garcia', 'mateo-garcia', 'daniel-kim', 'ben-okafor', 'chen-wu'];
/** Enough rows that the export is normally still queued or running at the first poll, and files are split */
const OBSERVATIONS_PER_MEMBER = 150;
const OBSERVATIONS_PER_NON_MEMBER = 40;
const FILE_RESOURCES = 100;
const FHIR_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

interface BackendClient {
  readonly clientId: string;
  readonly kid: string;
  readonly privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
}

interface TokenResponse {
  readonly access_token: string;
  readonly token_type: string;
  readonly expires_in: number;
  readonly scope: string;
  readonly refresh_token?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const keyOf = (r: { resourceType: string; id?: string }) => `${r.resourceType}/${r.id ?? ''}`;

function observation(id: string, patient: string, i: number): FhirResource {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
    subject: { reference: `Patient/${patient}` },
    effectiveDateTime: new Date(Date.UTC(2024, 0, 1) + i * 3_600_000).toISOString(),
    valueQuantity: { value: 60 + (i % 40), unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
  };
}

/** Three more patients, a few hundred observations, an allergy each, a Condition the token may not read, the Group. */
async function addCohort(server: SmartServer): Promise<void> {
  for (const [i, id] of NEW_PATIENTS.entries()) {
    await server.fhir.update('Patient', id, { resourceType: 'Patient', id, name: [{ family: id.split('-')[1], given: [id.split('-')[0]] }], gender: 'male', birthDate: `19${70 + i}-05-0${i + 1}` });
    await server.fhir.update('AllergyIntolerance', `${id}-allergy`, { resourceType: 'AllergyIntolerance', id: `${id}-allergy`, patient: { reference: `Patient/${id}` } });
  }
  for (const p of [...MEMBERS, ...NON_MEMBERS]) {
    const n = MEMBERS.includes(p) ? OBSERVATIONS_PER_MEMBER : OBSERVATIONS_PER_NON_MEMBER;
    for (let i = 0; i < n; i++) await server.fhir.update('Observation', `${p}-hr-${i}`, observation(`${p}-hr-${i}`, p, i));
    await server.fhir.update('Condition', `${p}-condition`, { resourceType: 'Condition', id: `${p}-condition`, subject: { reference: `Patient/${p}` }, code: { text: 'Hypertension' } });
  }
  // A member's resource changed (exported once, as its current version) and one deleted (not exported at all).
  await server.fhir.update('Observation', 'ana-lopez-hr-1', { ...observation('ana-lopez-hr-1', 'ana-lopez', 1), status: 'amended' });
  await server.fhir.delete('Observation', 'ana-lopez-hr-2');
  await server.fhir.update('Group', GROUP_ID, {
    resourceType: 'Group',
    id: GROUP_ID,
    type: 'person',
    actual: true,
    name: 'Bulk export cohort',
    member: MEMBERS.map((m) => ({ entity: { reference: `Patient/${m}` } })),
  });
}

/** A backend service registers itself (RFC 7591) with the public half of an RS384 key, inline. */
async function registerBackend(server: SmartServer, name: string): Promise<BackendClient> {
  const { privateKey, publicKey } = await generateKeyPair('RS384', { extractable: true });
  const kid = `key-${randomBytes(4).toString('hex')}`;
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS384', use: 'sig', key_ops: ['verify'] };
  const c = await registerClient(server, { client_name: name, grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'RS384', jwks: { keys: [jwk] }, scope: SCOPE });
  return { clientId: c.client_id, kid, privateKey };
}

/** SMART Backend Services "Obtain access token": a client assertion signed with RS384, exp 5 minutes ahead. */
async function requestToken(tokenEndpoint: string, client: BackendClient, scope: string): Promise<Response> {
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg: 'RS384', kid: client.kid, typ: 'JWT' })
    .setIssuer(client.clientId)
    .setSubject(client.clientId)
    .setAudience(tokenEndpoint)
    .setJti(randomBytes(32).toString('hex'))
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(client.privateKey);
  return fetch(tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope, client_assertion_type: JWT_BEARER, client_assertion: assertion }),
  });
}

/** Every match of a search, following the Bundle's next links. */
async function searchAll(url: string, token: string): Promise<FhirResource[]> {
  const out: FhirResource[] = [];
  let next: string | undefined = url;
  while (next) {
    const res = await fetch(next, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' } });
    if (res.status !== 200) throw new Error(`${next} answered ${res.status}: ${await res.text()}`);
    const bundle = (await res.json()) as Bundle<FhirResource>;
    for (const e of bundle.entry ?? []) if (e.resource && e.search?.mode !== 'include') out.push(e.resource);
    next = bundle.link?.find((l) => l.relation === 'next')?.url;
  }
  return out;
}

/** The patient whose compartment an exported resource is in, by the reference each exported type uses. */
function patientOf(r: Record<string, unknown>): string | undefined {
  if (r.resourceType === 'Patient') return r.id as string;
  const ref = ((r.resourceType === 'Observation' ? r.subject : r.patient) as { reference?: string } | undefined)?.reference;
  return ref?.replace(/^Patient\//, '');
}

t.test('a backend service exports a Group the way the Bulk Data IG describes, with a private_key_jwt token', async (t) => {
  const server = await startSmartServer(t, { env: { SANDBOX: 'true', EXPORT_FILE_RESOURCES: String(FILE_RESOURCES) } });
  await addCohort(server);
  const client = await registerBackend(server, 'Population Health Export');
  let tokenEndpoint = '';
  let token = '';

  t.test('discovery: smart-configuration names the token endpoint and advertises Backend Services', async (t) => {
    const res = await fetch(`${server.fhirBase}/.well-known/smart-configuration`, { headers: { accept: 'application/json' } });
    t.equal(res.status, 200, 'smart-configuration is public');
    const smart = (await res.json()) as Record<string, unknown>;
    t.type(smart.token_endpoint, 'string', 'token_endpoint is given');
    tokenEndpoint = smart.token_endpoint as string;
    t.equal(tokenEndpoint, `${server.issuer}/token`, "the issuer's token endpoint");
    t.ok((smart.grant_types_supported as string[]).includes('client_credentials'), 'client_credentials is offered');
    t.ok((smart.token_endpoint_auth_methods_supported as string[]).includes('private_key_jwt'), 'private_key_jwt is offered');
    t.ok((smart.token_endpoint_auth_signing_alg_values_supported as string[]).includes('RS384'), 'RS384 assertions are accepted');
    t.ok((smart.scopes_supported as string[]).includes('system/*.rs'), 'system/*.rs is among scopes_supported');
    t.ok((smart.scopes_supported as string[]).includes('system/Group.rs'), 'system/Group.rs is among scopes_supported');
  });

  t.test('token: a signed client assertion gets a short-lived bearer token with exactly the system/ scopes asked for', async (t) => {
    const res = await requestToken(tokenEndpoint, client, SCOPE);
    t.equal(res.status, 200, 'the token endpoint accepts the assertion');
    const body = (await res.json()) as TokenResponse;
    t.type(body.access_token, 'string', 'an access token');
    t.match(body.token_type, /^bearer$/i, 'token_type bearer');
    t.type(body.expires_in, 'number', 'expires_in is a JSON number');
    t.ok(body.expires_in > 0 && body.expires_in <= 300, `expires_in ${body.expires_in} is at most 300 seconds`);
    t.same(body.scope.split(' ').sort(), SCOPE.split(' ').sort(), 'scope is what was asked for');
    t.notOk(body.refresh_token, 'no refresh token for a backend service');
    token = body.access_token;
  });

  t.test('the capability statement advertises the export operations and instantiates bulk-data 2.0.0', async (t) => {
    const res = await fetch(`${server.fhirBase}/metadata`, { headers: { accept: 'application/fhir+json' } });
    t.equal(res.status, 200, '/metadata is public');
    const cs = (await res.json()) as CapabilityStatement;
    t.ok(cs.instantiates?.includes(`${BULK}/CapabilityStatement/bulk-data|2.0.0`), 'instantiates bulk-data|2.0.0');
    const rest = cs.rest![0]!;
    t.same(rest.operation?.filter((o) => o.name === 'export'), [{ name: 'export', definition: `${BULK}/OperationDefinition/export` }], 'system-level export');
    const ops = (type: string) => rest.resource!.find((r) => r.type === type)?.operation?.filter((o) => o.name === 'export');
    t.same(ops('Patient'), [{ name: 'export', definition: `${BULK}/OperationDefinition/patient-export` }], 'Patient export');
    t.same(ops('Group'), [{ name: 'export', definition: `${BULK}/OperationDefinition/group-export` }], 'Group export');
  });

  const kickOffUrl = `${server.fhirBase}/Group/${GROUP_ID}/$export`;
  let statusUrl = '';
  let manifest: Manifest | undefined;

  t.test('Group/[id]/$export: kick-off, polling with Retry-After, manifest, files', async (t) => {
    const before = Date.now();
    const kick = await fetch(kickOffUrl, { headers: { accept: 'application/fhir+json', prefer: 'respond-async', authorization: `Bearer ${token}` } });
    const after = Date.now();
    t.equal(kick.status, 202, 'kick-off is accepted');
    statusUrl = kick.headers.get('content-location') ?? '';
    t.ok(URL.canParse(statusUrl), `Content-Location is an absolute URL: ${statusUrl}`);
    t.ok(statusUrl.startsWith(`${server.fhirBase}/`), 'the status URL is on this server');
    await kick.arrayBuffer();

    // Poll at once, then as often as Retry-After says (capped at 1 s to keep the test quick).
    let accepted = 0;
    let done: Response | undefined;
    const deadline = Date.now() + 60_000;
    while (!done) {
      const res = await fetch(statusUrl, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
      if (res.status !== 202) {
        done = res;
        break;
      }
      accepted++;
      await res.arrayBuffer();
      const retryAfter = res.headers.get('retry-after');
      t.match(retryAfter, /^[1-9]\d*$/, `202 #${accepted}: Retry-After is a positive whole number of seconds (${retryAfter})`);
      t.ok(res.headers.get('x-progress'), `202 #${accepted}: X-Progress says where the export is (${res.headers.get('x-progress')})`);
      if (Date.now() > deadline) throw new Error('the export was still running after 60 s');
      await sleep(Math.min(Number(retryAfter) * 1000, 1000));
    }
    t.comment(`status answered 202 ${accepted} time(s) before 200`);

    // Written after the kick-off, so after transactionTime: not part of this export.
    await server.fhir.update('Observation', 'ana-lopez-late', observation('ana-lopez-late', 'ana-lopez', 999));

    t.equal(done.status, 200, 'the export completes');
    t.match(done.headers.get('content-type'), /^application\/json\b/, 'the manifest is application/json');
    const expires = done.headers.get('expires');
    t.ok(expires && Date.parse(expires) > Date.now(), `Expires says until when the files are kept (${expires})`);
    manifest = (await done.json()) as Manifest;
    t.match(manifest.transactionTime, FHIR_INSTANT, 'transactionTime is a FHIR instant');
    const tt = Date.parse(manifest.transactionTime);
    t.ok(tt >= before - 1000 && tt <= after + 1000, 'transactionTime is the time of the kick-off');
    t.equal(manifest.request, kickOffUrl, 'request is the kick-off URL');
    t.equal(manifest.requiresAccessToken, true, 'requiresAccessToken is true');
    t.ok(Array.isArray(manifest.error), 'error is an array');
    t.same(manifest.error, [], 'nothing went wrong');
    t.ok(manifest.output.length > 0, 'there are output files');
    for (const o of manifest.output) {
      t.type(o.type, 'string', 'output entry has a type');
      t.ok(URL.canParse(o.url) && o.url.startsWith(`${server.fhirBase}/`), `file URL ${o.url} is absolute`);
      t.type(o.count, 'number', 'output entry has a count');
    }
    t.same([...new Set(manifest.output.map((o) => o.type))].sort(), ['AllergyIntolerance', 'Observation', 'Patient'], 'every compartment type the token may read, and only those (no Condition, no Group)');
    t.ok(manifest.output.filter((o) => o.type === 'Observation').length >= 3, `Observation is split into files of at most ${FILE_RESOURCES}`);

    const exported = new Map<string, Record<string, unknown>>();
    const twice: string[] = [];
    for (const o of manifest.output) {
      const res = await fetch(o.url, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+ndjson' } });
      t.equal(res.status, 200, `${o.url} downloads`);
      t.equal(res.headers.get('content-type'), 'application/fhir+ndjson', 'as application/fhir+ndjson');
      const lines = (await res.text()).split('\n');
      t.equal(lines.pop(), '', 'the file ends with a newline');
      t.equal(lines.length, o.count, `${o.url}: ${o.count} lines, as the manifest says`);
      t.ok(o.count <= FILE_RESOURCES, 'no file holds more than EXPORT_FILE_RESOURCES');
      const resources = lines.map((line) => JSON.parse(line) as { resourceType: string; id: string } & Record<string, unknown>);
      t.same([...new Set(resources.map((r) => r.resourceType))], [o.type], `${o.url}: every line is a ${o.type}`);
      for (const r of resources) {
        if (exported.has(keyOf(r))) twice.push(keyOf(r));
        exported.set(keyOf(r), r);
      }
    }
    t.same(twice, [], 'no resource is exported twice');

    const outsiders = [...exported].filter(([, r]) => !MEMBERS.includes(patientOf(r) ?? '')).map(([key]) => key);
    t.same(outsiders, [], 'no resource of a patient outside the Group');
    t.notOk(exported.has('Observation/ana-lopez-late'), 'a resource written after transactionTime is left out');
    t.notOk(exported.has('Observation/ana-lopez-hr-2'), 'a deleted resource is left out');
    t.equal(exported.get('Observation/ana-lopez-hr-1')?.status, 'amended', 'a changed resource is exported as its current version');

    // What the same token finds by searching each member's record: exactly the files' content.
    const expected = new Map<string, FhirResource>();
    for (const m of MEMBERS) {
      const found = [
        ...(await searchAll(`${server.fhirBase}/Patient?_id=${m}`, token)),
        ...(await searchAll(`${server.fhirBase}/Observation?patient=Patient/${m}&_count=100`, token)),
        ...(await searchAll(`${server.fhirBase}/AllergyIntolerance?patient=Patient/${m}`, token)),
      ];
      for (const r of found) if (keyOf(r) !== 'Observation/ana-lopez-late') expected.set(keyOf(r), r);
    }
    t.equal(expected.size, 2 + (2 * OBSERVATIONS_PER_MEMBER - 1) + 2 + 2, "the members' records: 2 patients, their observations (one deleted) and maria-garcia's 2 seeded ones, 2 allergies");
    t.same([...exported.keys()].sort(), [...expected.keys()].sort(), "the files hold exactly the members' compartments for the exported types");
    const differing = [...expected].filter(([key, r]) => JSON.stringify(exported.get(key)) !== JSON.stringify(r)).map(([key]) => key);
    t.same(differing, [], 'every resource is exported as the API serves it (current version, same JSON)');
    t.equal(
      manifest.output.reduce((n, o) => n + o.count, 0),
      expected.size,
      'the manifest counts add up to the resources exported',
    );
  });

  t.test('a file without the access token is 401', async (t) => {
    const file = manifest!.output[0]!.url;
    const res = await fetch(file, { headers: { accept: 'application/fhir+ndjson' } });
    t.equal(res.status, 401, 'no token: 401');
    t.match(res.headers.get('www-authenticate'), /^Bearer/, 'with a Bearer challenge');
    const withToken = await fetch(file, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+ndjson' } });
    t.equal(withToken.status, 200, 'with the token the same file downloads');
    await withToken.arrayBuffer();
  });

  t.test('DELETE on the status URL cancels the export: then status and files are 404', async (t) => {
    const del = await fetch(statusUrl, { method: 'DELETE', headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' } });
    t.equal(del.status, 202, 'DELETE is accepted');
    await del.arrayBuffer();
    const status = await fetch(statusUrl, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
    t.equal(status.status, 404, 'status is 404');
    await status.arrayBuffer();
    for (const o of manifest!.output) {
      const res = await fetch(o.url, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+ndjson' } });
      t.equal(res.status, 404, `${o.url} is 404`);
      await res.arrayBuffer();
    }
  });
});
