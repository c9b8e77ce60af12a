// Dynamic registration that explains itself (RFC 7591), client management (RFC 7592), and client deletion that ends
// every grant and token at once.
import t, { type Test } from 'tap';
import { explainScope } from '../../src/auth/scope-explain.js';
import { mintRegistrationAccessToken, registrationFieldErrors, SUPPORTED_AUTH_METHODS, SUPPORTED_GRANT_TYPES } from '../../src/auth/registration.js';
import { StaticClientError } from '../../src/auth/client-removal.js';
import { REDIRECT, authorize, fhirGet, oidcConfig, registerClient, startSmartServer, type SmartServer } from '../helpers/smart-server.js';

interface Refusal {
  readonly error: string;
  readonly error_description: string;
}

async function register(server: SmartServer, metadata: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> & Partial<Refusal> }> {
  const res = await fetch(`${server.issuer}/reg`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(metadata) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & Partial<Refusal> };
}

async function clientCredentialsToken(server: SmartServer, clientId: string, secret: string, scope: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function management(server: SmartServer, method: 'GET' | 'PUT' | 'DELETE', clientId: string, token: string, body?: Record<string, unknown>) {
  const res = await fetch(`${server.issuer}/reg/${encodeURIComponent(clientId)}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> & Partial<Refusal> };
}

const PUBLIC_APP = { client_name: 'Registration Test App', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' };
// RFC 6749 §5.2: error_description holds only these characters.
const DESCRIPTION_CHARS = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;

t.test('explainScope says why a scope is not understood, and nothing for valid ones', async (t) => {
  for (const valid of ['openid', 'fhirUser', 'launch/patient', 'offline_access', 'patient/*.rs', 'user/Observation.cruds', 'system/*.read', 'patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory']) {
    t.equal(explainScope(valid), undefined, `${valid} is valid`);
  }
  t.equal(explainScope('patient/Observation.rx'), "'patient/Observation.rx': 'rx' is not a permission - use SMART v2 letters c r u d s in that order (e.g. .rs) or v1 read/write/*");
  t.match(explainScope('patient/Observation.sr'), /order c r u d s - write \.rs$/);
  t.match(explainScope('patient/observation.rs'), /capital letter: patient\/Observation\.rs$/);
  t.match(explainScope('Patient/Observation.rs'), /lower case, patient\/Observation\.rs$/);
  t.match(explainScope('practitioner/Observation.rs'), /'practitioner' is not a scope context/);
  t.match(explainScope('patient/Observation'), /has no permission/);
  t.match(explainScope('patient/Observation.read?category=laboratory'), /granular filters .* need SMART v2 permissions - write patient\/Observation\.rs\?category=laboratory$/);
  t.match(explainScope('patient/Observation.rs?category'), /name=value pairs/);
  t.match(explainScope('fhiruser'), /case-sensitive: write fhirUser$/);
  t.match(explainScope('offline'), /did you mean offline_access\?$/);
  t.match(explainScope('bogus:scope'), /not a scope this server knows/);
});

t.test('registrationFieldErrors splits a refusal into fields, ours and oidc-provider\'s own wording alike', async (t) => {
  t.same(registrationFieldErrors("redirect_uris: 'x' is not an absolute URL - write it with scheme and host; scope: 'bogus' is not a scope this server knows"), [
    { field: 'redirect_uris', message: "'x' is not an absolute URL - write it with scheme and host" },
    { field: 'scope', message: "'bogus' is not a scope this server knows" },
  ]);
  t.same(registrationFieldErrors('contacts can only contain email addresses'), [{ field: 'contacts', message: 'contacts can only contain email addresses' }]);
  t.same(registrationFieldErrors('client registration request must be a JSON object'), [{ field: 'request', message: 'client registration request must be a JSON object' }]);
  t.same(registrationFieldErrors("scope: 'patient/Observation.rs?category=a|b; c: d' is odd"), [{ field: 'scope', message: "'patient/Observation.rs?category=a|b; c: d' is odd" }], 'a separator must be followed by a metadata name');
});

t.test('dynamic registration', async (t) => {
  const server = await startSmartServer(t);

  t.test('the refusals name the auth methods and grant types discovery advertises', async (t) => {
    const discovery = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<string, string[]>;
    t.same([...SUPPORTED_AUTH_METHODS].sort(), [...discovery.token_endpoint_auth_methods_supported!].sort());
    t.same([...SUPPORTED_GRANT_TYPES].sort(), [...discovery.grant_types_supported!].sort());
  });

  t.test('a backend service that sends only grant_types [client_credentials] gets no redirects inferred, and a working token', async (t) => {
    const { status, body } = await register(server, { client_name: 'Nightly Export', grant_types: ['client_credentials'], scope: 'system/*.rs' });
    t.equal(status, 201, JSON.stringify(body));
    t.same(body.response_types, []);
    t.same(body.redirect_uris, []);
    t.same(body.grant_types, ['client_credentials'], 'no authorization_code added');
    t.equal(body.token_endpoint_auth_method, 'client_secret_basic');
    t.type(body.client_secret, 'string');
    const token = await clientCredentialsToken(server, body.client_id as string, body.client_secret as string, 'system/Patient.rs');
    t.equal(token.status, 200, JSON.stringify(token.body));
    t.equal((await fhirGet(server, '/Patient/daniel-kim', token.body.access_token as string)).status, 200);
  });

  t.test('SMART scopes register as the client\'s allow-list, and the response shows scope as registered', async (t) => {
    const lab = 'patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory';
    const { status, body } = await register(server, { ...PUBLIC_APP, scope: `openid fhirUser launch/patient ${lab}` });
    t.equal(status, 201, JSON.stringify(body));
    t.equal(body.scope, `openid fhirUser launch/patient ${lab}`);
    t.equal(body.smart_scope, undefined, 'the internal split stays internal');
    const client = await server.auth!.provider.Client.find(body.client_id as string);
    t.equal(client!.metadata().smart_scope, `openid fhirUser launch/patient ${lab}`, 'the allow-list the token endpoint applies');
  });

  const refusals: readonly { name: string; metadata: Record<string, unknown>; error: string; field: string; fix: RegExp }[] = [
    {
      name: 'no redirect URI for the code flow',
      metadata: { client_name: 'No Redirect', token_endpoint_auth_method: 'none' },
      error: 'invalid_redirect_uri',
      field: 'redirect_uris',
      fix: /^at least one redirect URI is required for the authorization code flow - add the URL your app receives the code at, such as http:\/\/localhost:3000\/callback/,
    },
    { name: 'a redirect URI with a fragment', metadata: { ...PUBLIC_APP, redirect_uris: ['http://localhost:3000/cb#x'] }, error: 'invalid_redirect_uri', field: 'redirect_uris', fix: /contains a fragment .* - remove it/ },
    { name: 'a relative redirect URI', metadata: { ...PUBLIC_APP, redirect_uris: ['/callback'] }, error: 'invalid_redirect_uri', field: 'redirect_uris', fix: /'\/callback' is not an absolute URL - write it with scheme and host/ },
    { name: 'a redirect URI without http(s) for a web app', metadata: { ...PUBLIC_APP, redirect_uris: ['localhost:3000/cb'] }, error: 'invalid_redirect_uri', field: 'redirect_uris', fix: /starts with https:\/\/.*application_type native/ },
    {
      name: 'http on a non-loopback host for a native app',
      metadata: { ...PUBLIC_APP, application_type: 'native', redirect_uris: ['http://app.example/cb'] },
      error: 'invalid_redirect_uri',
      field: 'redirect_uris',
      fix: /http only on a loopback address - use http:\/\/127\.0\.0\.1:PORT\/path/,
    },
    { name: 'redirect_uris as a string', metadata: { ...PUBLIC_APP, redirect_uris: REDIRECT }, error: 'invalid_redirect_uri', field: 'redirect_uris', fix: /must be a list \(JSON array\) of URLs, even for one/ },
    { name: 'an unknown token_endpoint_auth_method', metadata: { ...PUBLIC_APP, token_endpoint_auth_method: 'magic' }, error: 'invalid_client_metadata', field: 'token_endpoint_auth_method', fix: /'magic' is not supported - use none .*private_key_jwt/ },
    { name: 'private_key_jwt without keys', metadata: { ...PUBLIC_APP, token_endpoint_auth_method: 'private_key_jwt' }, error: 'invalid_client_metadata', field: 'jwks', fix: /private_key_jwt needs your public keys - add jwks_uri .* or jwks/ },
    {
      name: 'jwks and jwks_uri both',
      metadata: { ...PUBLIC_APP, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ kty: 'EC', crv: 'P-384', x: 'a', y: 'b' }] }, jwks_uri: 'https://app.example/jwks' },
      error: 'invalid_client_metadata',
      field: 'jwks',
      fix: /send either jwks or jwks_uri, not both/,
    },
    { name: 'client_credentials with none', metadata: { grant_types: ['client_credentials'], token_endpoint_auth_method: 'none', scope: 'system/*.rs' }, error: 'invalid_client_metadata', field: 'token_endpoint_auth_method', fix: /backend service \(client_credentials\) must authenticate - use private_key_jwt/ },
    { name: 'a logo that is not a web address', metadata: { ...PUBLIC_APP, logo_uri: 'javascript:alert(1)' }, error: 'invalid_client_metadata', field: 'logo_uri', fix: /not a web address - use an absolute https URL of an image/ },
    { name: 'terms of service over http on a public host', metadata: { ...PUBLIC_APP, tos_uri: 'http://app.example/terms' }, error: 'invalid_client_metadata', field: 'tos_uri', fix: /consent page shows only https addresses .* - use https:\/\/app\.example\/terms/ },
    { name: 'a privacy policy that is not a URL', metadata: { ...PUBLIC_APP, policy_uri: 'see our website' }, error: 'invalid_client_metadata', field: 'policy_uri', fix: /not a web address/ },
    { name: 'an unknown grant type', metadata: { ...PUBLIC_APP, grant_types: ['authorization_code', 'password'] }, error: 'invalid_client_metadata', field: 'grant_types', fix: /'password' is not supported here - use authorization_code/ },
    { name: 'a SMART scope that is not understood', metadata: { ...PUBLIC_APP, scope: 'openid patient/Observation.rx' }, error: 'invalid_client_metadata', field: 'scope', fix: /^'patient\/Observation\.rx': 'rx' is not a permission - use SMART v2 letters c r u d s/ },
    { name: 'a scope token that is no scope at all', metadata: { ...PUBLIC_APP, scope: 'launch/patient bogus:scope' }, error: 'invalid_client_metadata', field: 'scope', fix: /'bogus:scope' is not a scope this server knows/ },
    { name: 'system/ scopes for an app without client_credentials', metadata: { ...PUBLIC_APP, scope: 'launch/patient system/*.rs' }, error: 'invalid_client_metadata', field: 'scope', fix: /'system\/\*\.rs' is for backend services - .*use patient\/\*\.rs or user\/\*\.rs/ },
    { name: 'patient/ scopes for a client_credentials-only client', metadata: { grant_types: ['client_credentials'], scope: 'patient/*.rs' }, error: 'invalid_client_metadata', field: 'scope', fix: /'patient\/\*\.rs' needs a signed-in user - .*use system\/\*\.rs$/ },
  ];
  for (const r of refusals) {
    t.test(`refused with the field and the fix: ${r.name}`, async (t) => {
      const { status, body } = await register(server, r.metadata);
      t.equal(status, 400);
      t.equal(body.error, r.error);
      t.match(body.error_description, DESCRIPTION_CHARS, 'only characters RFC 6749 allows in error_description');
      const problems = registrationFieldErrors(body.error_description!);
      t.equal(problems.length, 1, `one problem: ${body.error_description}`);
      t.equal(problems[0]!.field, r.field);
      t.match(problems[0]!.message, r.fix);
    });
  }

  t.test('every problem of one registration is reported at once, redirect_uris first', async (t) => {
    const { status, body } = await register(server, { client_name: 'Many Mistakes', token_endpoint_auth_method: 'magic', logo_uri: 'logo.png', scope: 'patient/Observation.sr' });
    t.equal(status, 400);
    t.equal(body.error, 'invalid_redirect_uri');
    t.same(registrationFieldErrors(body.error_description!).map((p) => p.field), ['redirect_uris', 'token_endpoint_auth_method', 'logo_uri', 'scope']);
  });

  t.test('unknown scopes are refused, never silently dropped: nothing was registered', async (t) => {
    const before = (await server.auth!.models.listClients()).length;
    await register(server, { ...PUBLIC_APP, scope: 'patient/Observation.rx' });
    t.equal((await server.auth!.models.listClients()).length, before);
  });
});

t.test('RFC 7592 client management with the registration access token', async (t) => {
  const server = await startSmartServer(t);
  const { body: created } = await register(server, { ...PUBLIC_APP, scope: 'launch/patient patient/*.rs' });
  const clientId = created.client_id as string;
  const token = created.registration_access_token as string;
  t.type(token, 'string', 'registration returns a registration access token');
  t.equal(created.registration_client_uri, `${server.issuer}/reg/${clientId}`);

  t.test('GET reads the client', async (t) => {
    const { status, body } = await management(server, 'GET', clientId, token);
    t.equal(status, 200);
    t.equal(body.client_name, PUBLIC_APP.client_name);
    t.equal(body.scope, 'launch/patient patient/*.rs');
  });

  t.test('a wrong token is refused', async (t) => {
    t.equal((await management(server, 'GET', clientId, 'not-a-token')).status, 401);
  });

  t.test('PUT replaces the metadata; the new scope becomes the allow-list; the token is not rotated', async (t) => {
    const { status, body } = await management(server, 'PUT', clientId, token, {
      client_id: clientId,
      client_name: 'Renamed App',
      redirect_uris: [REDIRECT, 'http://127.0.0.1:9/other'],
      token_endpoint_auth_method: 'none',
      scope: 'launch/patient patient/Observation.rs',
    });
    t.equal(status, 200, JSON.stringify(body));
    t.equal(body.client_name, 'Renamed App');
    t.equal(body.scope, 'launch/patient patient/Observation.rs');
    t.equal((await server.auth!.provider.Client.find(clientId))!.metadata().smart_scope, 'launch/patient patient/Observation.rs', 'the new allow-list applies');
    t.equal(body.registration_access_token, token);
    const read = await management(server, 'GET', clientId, token);
    t.same(read.body.redirect_uris, [REDIRECT, 'http://127.0.0.1:9/other']);
  });

  t.test('a client read, edited and PUT back keeps its scopes', async (t) => {
    const { body: read } = await management(server, 'GET', clientId, token);
    const { registration_access_token: _r, registration_client_uri: _u, client_id_issued_at: _i, client_secret_expires_at: _e, ...editable } = read;
    const { status, body } = await management(server, 'PUT', clientId, token, { ...editable, client_name: 'Edited Again' });
    t.equal(status, 200, JSON.stringify(body));
    t.equal(body.client_name, 'Edited Again');
    t.equal(read.scope, 'launch/patient patient/Observation.rs', 'read back as last written');
    t.equal(body.scope, 'launch/patient patient/Observation.rs');
    t.equal((await server.auth!.provider.Client.find(clientId))!.metadata().smart_scope, 'launch/patient patient/Observation.rs', 'the allow-list survives the round trip');
  });

  t.test('PUT with a mistake is refused per field like a registration', async (t) => {
    const { status, body } = await management(server, 'PUT', clientId, token, { client_id: clientId, redirect_uris: ['/relative'], token_endpoint_auth_method: 'none' });
    t.equal(status, 400);
    t.equal(body.error, 'invalid_redirect_uri');
    t.same(registrationFieldErrors(body.error_description!).map((p) => p.field), ['redirect_uris']);
  });

  t.test('a registration access token minted by the server itself works (what the sandbox edit page does)', async (t) => {
    const minted = await mintRegistrationAccessToken(server.auth!.provider, clientId);
    t.type(minted, 'string');
    const { status, body } = await management(server, 'GET', clientId, minted);
    t.equal(status, 200);
    t.equal(body.client_id, clientId);
  });

  t.test('static clients cannot be managed or deleted', async (t) => {
    const minted = await mintRegistrationAccessToken(server.auth!.provider, 'demo-patient-app');
    t.equal((await management(server, 'GET', 'demo-patient-app', minted)).status, 403);
    t.equal((await management(server, 'DELETE', 'demo-patient-app', minted)).status, 403);
    await t.rejects(server.auth!.deleteClient('demo-patient-app'), StaticClientError);
    t.ok(await server.auth!.provider.Client.find('demo-patient-app'), 'still there');
  });

  t.test('DELETE removes the client and its registration access tokens', async (t) => {
    const extra = await mintRegistrationAccessToken(server.auth!.provider, clientId);
    t.equal((await management(server, 'DELETE', clientId, token)).status, 204);
    t.notOk(await server.auth!.provider.Client.find(clientId));
    t.equal((await management(server, 'GET', clientId, extra)).status, 401, 'every registration access token of the client is gone');
  });
});

t.test('deleting a client ends its grants and tokens at once', async (t) => {
  // No polling of the revocation log: only what the deletion itself evicts can stop the cached tokens.
  const server = await startSmartServer(t, { env: { REVOCATION_POLL_MS: '0' } });

  // An app with a patient's grant (and its connected-app row) and a backend service's token, both in use.
  const setUp = async (t: Test, name: string) => {
    const app = await registerClient(server, { ...PUBLIC_APP, client_name: name, scope: 'launch/patient patient/*.rs offline_access' });
    const { tokens } = await authorize(server, await oidcConfig(server, app.client_id), { scope: 'launch/patient patient/*.rs offline_access' }, { username: 'daniel', password: 'smart-demo' });
    const { body: backend } = await register(server, { client_name: `${name} backend`, grant_types: ['client_credentials'], scope: 'system/*.rs' });
    const cc = await clientCredentialsToken(server, backend.client_id as string, backend.client_secret as string, 'system/*.rs');
    t.equal((await fhirGet(server, '/Patient/daniel-kim', tokens.access_token)).status, 200);
    t.equal((await fhirGet(server, '/Patient/daniel-kim', cc.body.access_token as string)).status, 200);
    const links = (await server.portal!.appLinks.listForPatients(['daniel-kim'])).filter((l) => l.clientId === app.client_id);
    t.equal(links.length, 1, 'the patient sees the app among connected apps');
    return { app, tokens, backend, ccToken: cc.body.access_token as string, grantId: links[0]!.grantId };
  };

  const expectEnded = async (t: Test, s: Awaited<ReturnType<typeof setUp>>) => {
    t.equal((await fhirGet(server, '/Patient/daniel-kim', s.tokens.access_token)).status, 401, "the app's access token answers 401 at once");
    t.equal((await fhirGet(server, '/Patient/daniel-kim', s.ccToken)).status, 401, "the backend service's token answers 401 at once");
    t.equal((await server.auth!.tokenStatus(s.ccToken)).state, 'revoked', 'and reads as revoked, not unknown');
    t.equal((await server.auth!.tokenStatus(s.tokens.access_token)).state, 'revoked');
    t.equal((await server.portal!.appLinks.find(s.grantId))?.revokedAt !== null, true, 'the connected-app row is revoked');
    t.notOk(await server.auth!.provider.Grant.find(s.grantId), 'the grant is gone');
    t.notOk(await server.auth!.provider.RefreshToken.find(s.tokens.refresh_token!), 'the refresh token is gone');
  };

  t.test('through AuthServer.deleteClient', async (t) => {
    const s = await setUp(t, 'Deleted Directly');
    t.equal(await server.auth!.deleteClient(s.app.client_id), true);
    t.equal(await server.auth!.deleteClient(s.backend.client_id as string), true);
    await expectEnded(t, s);
    t.equal(await server.auth!.deleteClient(s.app.client_id), false, 'an unknown client is reported as such');
  });

  t.test('through RFC 7592 DELETE', async (t) => {
    const s = await setUp(t, 'Deleted By Its Developer');
    t.equal((await management(server, 'DELETE', s.app.client_id, s.app.registration_access_token as string)).status, 204);
    t.equal((await management(server, 'DELETE', s.backend.client_id as string, s.backend.registration_access_token as string)).status, 204);
    await expectEnded(t, s);
  });
});
