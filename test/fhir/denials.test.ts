// Every FHIR API denial explains itself: a 403 names the scope the request needed and the scopes the token holds
// (also when a granular filter rules out what a search asks for), and in sandbox mode a 401 says why the token was
// refused. With SANDBOX=false the 401 stays terse, as RFC 6750 expects.
import t from 'tap';
import { tokenHash } from '../../src/auth/adapter.js';
import type { SmartServer } from '../helpers/smart-server.js';
import { REDIRECT, authorize, fhirGet, oidcConfig, registerClient, startSmartServer } from '../helpers/smart-server.js';

const CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const TERSE = 'The access token is invalid, expired or revoked';

const PUBLIC_APP = {
  client_name: 'Denials',
  redirect_uris: [REDIRECT],
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token'],
  scope: 'openid fhirUser launch/patient offline_access patient/*.rs patient/*.cruds',
};

interface Outcome {
  resourceType: string;
  issue: { severity: string; code: string; diagnostics: string }[];
}

async function fhir(server: SmartServer, path: string, token: string, init: RequestInit = {}): Promise<{ status: number; outcome: Outcome; body: Record<string, unknown>; wwwAuthenticate: string | null }> {
  const res = await fetch(`${server.fhirBase}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string> | undefined) } });
  const body = (await res.json()) as Record<string, unknown>;
  return { status: res.status, outcome: body as unknown as Outcome, body, wwwAuthenticate: res.headers.get('www-authenticate') };
}

/** error_description of a WWW-Authenticate: Bearer header */
const description = (header: string | null) => /error_description="([^"]*)"/.exec(header ?? '')?.[1];

async function backendToken(server: SmartServer, clientId: string, secret: string, scope: string): Promise<string> {
  const res = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
  });
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

async function revokeAtEndpoint(server: SmartServer, clientId: string, secret: string, token: string): Promise<void> {
  const res = await fetch(`${server.issuer}/token/revocation`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` },
    body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
  });
  if (res.status !== 200) throw new Error(`revocation failed: ${res.status}`);
}

t.test('sandbox mode: denials say what was needed and why', async (t) => {
  const server = await startSmartServer(t);
  const client = await registerClient(server, PUBLIC_APP);
  const config = await oidcConfig(server, client.client_id);

  t.test('a 403 for a type the token lacks names the scope needed and the scopes held, for reads, searches and writes', async (t) => {
    const { tokens } = await authorize(server, config, { scope: 'launch/patient patient/Patient.rs patient/AllergyIntolerance.rs' }, { username: 'daniel', password: 'smart-demo' });
    const held = 'this token holds: patient/Patient.rs patient/AllergyIntolerance.rs';

    const read = await fhir(server, '/Observation/daniel-kim-laboratory', tokens.access_token);
    t.equal(read.status, 403);
    t.equal(read.outcome.resourceType, 'OperationOutcome');
    t.equal(read.outcome.issue[0]!.code, 'forbidden');
    t.equal(read.outcome.issue[0]!.diagnostics, `Reading Observation needs patient/Observation.rs (or patient/Observation.read, or a wider scope such as patient/*.rs); ${held}`);

    const search = await fhir(server, '/Observation?patient=daniel-kim', tokens.access_token);
    t.equal(search.status, 403);
    t.match(search.outcome.issue[0]!.diagnostics, /^Searching Observation needs patient\/Observation\.rs /);
    t.ok(search.outcome.issue[0]!.diagnostics.endsWith(held), 'the held scopes close the sentence');

    const create = await fhir(server, '/AllergyIntolerance', tokens.access_token, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'AllergyIntolerance', patient: { reference: 'Patient/daniel-kim' } }),
    });
    t.equal(create.status, 403);
    t.match(create.outcome.issue[0]!.diagnostics, /^Creating AllergyIntolerance needs patient\/AllergyIntolerance\.c \(or patient\/AllergyIntolerance\.write, /);

    const unknownType = await fhir(server, '/Prescription', tokens.access_token);
    t.equal(unknownType.status, 403, 'a type not served is still a 403 (scope checked first)');
    t.match(unknownType.outcome.issue[0]!.diagnostics, /Prescription is not a resource type served here/);
  });

  t.test("a write into another patient's record is 403 naming whose record it is, whose the token reaches, and the scopes", async (t) => {
    const { tokens } = await authorize(server, config, { scope: 'launch/patient patient/Patient.rs patient/AllergyIntolerance.cruds' }, { username: 'daniel', password: 'smart-demo' });
    const create = await fhir(server, '/AllergyIntolerance', tokens.access_token, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'AllergyIntolerance', patient: { reference: 'Patient/maria-garcia' } }),
    });
    t.equal(create.status, 403);
    const said = create.outcome.issue[0]!.diagnostics;
    t.match(said, /belongs to Patient\/maria-garcia, and the token reaches only Patient\/daniel-kim/);
    t.match(said, /patient\/AllergyIntolerance\.cruds/);
    const own = await fhir(server, '/AllergyIntolerance', tokens.access_token, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'AllergyIntolerance', patient: { reference: 'Patient/daniel-kim' } }),
    });
    t.equal(own.status, 201, 'the same write into his own record is allowed (control)');
  });

  t.test('a search asking for a category the granular scope rules out is 403 naming that category; unnamed, it is filtered', async (t) => {
    const { tokens } = await authorize(
      server,
      config,
      { scope: 'launch/patient patient/Observation.rs' },
      { username: 'maria', password: 'smart-demo', patient: 'maria-garcia', keepGroups: (offered) => offered.filter((g) => g === 'vitals') },
    );
    const vitals = `patient/Observation.rs?category=${CATEGORY}|vital-signs`;
    t.equal(tokens.scope, `launch/patient ${vitals}`, 'unticking everything but vital signs leaves one granular scope');

    const labs = await fhir(server, '/Observation?patient=maria-garcia&category=laboratory', tokens.access_token);
    t.equal(labs.status, 403);
    t.equal(labs.outcome.issue[0]!.code, 'forbidden');
    t.equal(
      labs.outcome.issue[0]!.diagnostics,
      `Searching Observation with category=laboratory needs patient/Observation.rs?category=${CATEGORY}|laboratory (or a scope without a category filter, such as patient/Observation.rs), as none of this token's filters allows laboratory; this token holds: ${vitals}`,
    );

    const withSystem = await fhir(server, `/Observation?patient=maria-garcia&category=${encodeURIComponent(`${CATEGORY}|laboratory`)}`, tokens.access_token);
    t.equal(withSystem.status, 403, 'the same with system|code');

    const posted = await fhir(server, '/Observation/_search', tokens.access_token, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ patient: 'maria-garcia', category: 'laboratory' }).toString(),
    });
    t.equal(posted.status, 403, 'and through POST _search');

    const all = await fhir(server, '/Observation?patient=maria-garcia', tokens.access_token);
    t.equal(all.status, 200, 'a search that does not name the category is not refused');
    t.same((all.body.entry as { resource: { id: string } }[]).map((e) => e.resource.id), ['maria-garcia-vital-signs'], 'it is filtered to vital signs');

    const allowed = await fhir(server, '/Observation?patient=maria-garcia&category=vital-signs,laboratory', tokens.access_token);
    t.equal(allowed.status, 200, 'a search that also asks for an allowed category is answered, filtered');
    t.same((allowed.body.entry as { resource: { id: string } }[]).map((e) => e.resource.id), ['maria-garcia-vital-signs']);

    const read = await fhir(server, '/Observation/maria-garcia-laboratory', tokens.access_token);
    t.equal(read.status, 404, 'a read outside the filter stays 404 (no confirmation that it exists)');
  });

  t.test('401 for a token never issued here says it is unknown, in the body and in WWW-Authenticate', async (t) => {
    const res = await fhir(server, '/Patient', 'never-issued-by-this-server');
    t.equal(res.status, 401);
    t.equal(res.outcome.issue[0]!.code, 'login');
    t.match(res.outcome.issue[0]!.diagnostics, /^This server has no record of the token: it was never issued here/);
    t.match(res.wwwAuthenticate, /^Bearer realm="[^"]+", error="invalid_token", error_description="/);
    t.equal(description(res.wwwAuthenticate), res.outcome.issue[0]!.diagnostics);
  });

  t.test('401 for an expired token says when it expired', async (t) => {
    const token = await backendToken(server, 'demo-backend', 'demo-backend-secret-change-me', 'system/Patient.rs');
    // Ten seconds of life left, taken away: the token row says it expired 5 s ago (its row is kept for an hour).
    const exp = Math.floor(Date.now() / 1000) - 5;
    const db = server.database.db.kysely;
    const row = await db.selectFrom('oidc_model').select('payload').where('model', '=', 'ClientCredentials').where('id', '=', tokenHash(token)).executeTakeFirstOrThrow();
    await db
      .updateTable('oidc_model')
      .set({ payload: JSON.stringify({ ...(JSON.parse(row.payload) as object), exp }), expires_at: exp })
      .where('model', '=', 'ClientCredentials')
      .where('id', '=', tokenHash(token))
      .execute();
    const res = await fhir(server, '/Patient', token);
    t.equal(res.status, 401);
    t.match(res.outcome.issue[0]!.diagnostics, `The token expired at ${new Date(exp * 1000).toISOString()}`);
    t.equal(description(res.wwwAuthenticate), res.outcome.issue[0]!.diagnostics);
  });

  t.test('401 for a token whose grant was revoked says revoked, when, and that the grant was revoked', async (t) => {
    const { tokens } = await authorize(server, config, { scope: 'launch/patient patient/*.rs' }, { username: 'daniel', password: 'smart-demo' });
    t.equal((await fhir(server, '/Patient/daniel-kim', tokens.access_token)).status, 200, 'works first (and is cached)');
    const { grantId } = await server.auth!.tokenStatus(tokens.access_token);
    const before = Date.now();
    await server.auth!.revokeGrant(grantId!);
    const res = await fhir(server, '/Patient/daniel-kim', tokens.access_token);
    t.equal(res.status, 401);
    const m = /^The token was revoked at (\S+): the grant was revoked/.exec(res.outcome.issue[0]!.diagnostics);
    t.ok(m, res.outcome.issue[0]!.diagnostics);
    t.ok(Date.parse(m?.[1] ?? '') >= before - 1, 'at the time of the revocation');
  });

  t.test('401 for a token revoked at the revocation endpoint says the token itself was revoked', async (t) => {
    const token = await backendToken(server, 'demo-backend', 'demo-backend-secret-change-me', 'system/Patient.rs');
    t.equal((await fhir(server, '/Patient', token)).status, 200);
    await revokeAtEndpoint(server, 'demo-backend', 'demo-backend-secret-change-me', token);
    const res = await fhir(server, '/Patient', token);
    t.equal(res.status, 401);
    t.match(res.outcome.issue[0]!.diagnostics, /^The token was revoked at \S+: the token itself was revoked/);
  });

  t.test("401 after the patient's access ended (the proxy access it came through) says access ended", async (t) => {
    const { tokens } = await authorize(server, config, { scope: 'launch/patient patient/*.rs' }, { username: 'maria', password: 'smart-demo', patient: 'sofia-garcia' });
    const relation = (await server.portal!.proxies.listForHolder('maria')).find((r) => r.relation.patientId === 'sofia-garcia')!.relation;
    await server.portal!.proxies.revoke(relation.id);
    const res = await fhir(server, '/Patient/sofia-garcia', tokens.access_token);
    t.equal(res.status, 401);
    t.match(res.outcome.issue[0]!.diagnostics, /^The patient's access for this app ended at \S+: the period chosen on the consent page ran out, or the proxy access it was granted through ended\.$/);
  });

  t.test('the explanation is worked out only for refused tokens', async (t) => {
    const auth = server.auth!;
    const original = auth.tokenStatus;
    let calls = 0;
    auth.tokenStatus = (token) => {
      calls++;
      return original(token);
    };
    t.teardown(() => {
      auth.tokenStatus = original;
    });
    const token = await backendToken(server, 'demo-backend', 'demo-backend-secret-change-me', 'system/Patient.rs');
    t.equal((await fhir(server, '/Patient', token)).status, 200, 'first use (resolved from the database)');
    t.equal((await fhir(server, '/Patient', token)).status, 200, 'second use (cached)');
    t.equal(calls, 0, 'no explanation for accepted tokens');
    t.equal((await fhir(server, '/Patient', 'not-a-token')).status, 401);
    t.equal(calls, 1, 'one for the refused one');
  });
});

t.test('SANDBOX=false: the 401 is terse whatever the reason, the 403 still names scopes', async (t) => {
  const server = await startSmartServer(t, { env: { SANDBOX: 'false' } });
  const backend = await registerClient(server, {
    client_name: 'Terse backend',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'system/Patient.rs',
  });
  const secret = backend.client_secret!;

  const unknown = await fhir(server, '/Patient', 'never-issued-by-this-server');
  t.equal(unknown.status, 401);
  t.equal(unknown.outcome.issue[0]!.diagnostics, TERSE);
  t.equal(unknown.wwwAuthenticate, `Bearer realm="${server.fhirBase}", error="invalid_token", error_description="${TERSE}"`);

  const token = await backendToken(server, backend.client_id, secret, 'system/Patient.rs');
  t.equal((await fhir(server, '/Patient', token)).status, 200);
  const forbidden = await fhir(server, '/Observation', token);
  t.equal(forbidden.status, 403);
  t.equal(forbidden.outcome.issue[0]!.diagnostics, 'Searching Observation needs system/Observation.rs (or system/Observation.read, or a wider scope such as system/*.rs); this token holds: system/Patient.rs');

  await revokeAtEndpoint(server, backend.client_id, secret, token);
  const revoked = await fhir(server, '/Patient', token);
  t.equal(revoked.status, 401);
  t.equal(revoked.outcome.issue[0]!.diagnostics, TERSE, 'a revoked token gets the same sentence as an unknown one');
  t.equal(description(revoked.wwwAuthenticate), TERSE);
});
