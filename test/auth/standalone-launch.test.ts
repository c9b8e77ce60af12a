import t from 'tap';
import * as oidc from 'openid-client';
import { decodeJwt } from 'jose';
import { LAB, REDIRECT, authorize, fhirGet, oidcConfig, registerClient, startSmartServer } from '../helpers/smart-server.js';
import { authorizeInBrowser } from '../helpers/browser-flow.js';

const PUBLIC_APP = {
  client_name: 'Growth Chart',
  redirect_uris: [REDIRECT],
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token'],
  scope: 'openid fhirUser launch/patient offline_access online_access patient/*.rs patient/*.read',
};

t.test('standalone launch by a public client', async (t) => {
  const server = await startSmartServer(t);
  const client = await registerClient(server, PUBLIC_APP);
  const config = await oidcConfig(server, client.client_id);

  t.test('discovery lists the SMART endpoints and capabilities, with CORS', async (t) => {
    const res = await fetch(`${server.fhirBase}/.well-known/smart-configuration`, { headers: { origin: 'https://app.example' } });
    t.equal(res.status, 200);
    t.equal(res.headers.get('access-control-allow-origin'), '*');
    const doc = (await res.json()) as Record<string, unknown>;
    t.equal(doc.issuer, server.issuer);
    t.same(doc.code_challenge_methods_supported, ['S256']);
    for (const k of ['jwks_uri', 'authorization_endpoint', 'token_endpoint', 'introspection_endpoint', 'revocation_endpoint', 'registration_endpoint']) t.match(doc[k], /^http:\/\/127\.0\.0\.1:\d+\/auth\//, k);
    t.ok((doc.capabilities as string[]).includes('permission-v2'));
    const oidcDoc = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    t.equal(oidcDoc.issuer, doc.issuer, 'the same issuer in OIDC discovery');
    const meta = (await (await fetch(`${server.fhirBase}/metadata`)).json()) as { rest: { security: { extension: { extension: { url: string; valueUri: string }[] }[]; service: { coding: { code: string }[] }[] } }[] };
    const uris = Object.fromEntries(meta.rest[0]!.security.extension[0]!.extension.map((e) => [e.url, e.valueUri]));
    t.equal(uris.token, doc.token_endpoint, 'CapabilityStatement oauth-uris agree with discovery');
    t.equal(meta.rest[0]!.security.service[0]!.coding[0]!.code, 'SMART-on-FHIR');
  });

  t.test('a parent picks the child; the token carries the child as a bare patient id and the parent as fhirUser', async (t) => {
    const { tokens } = await authorize(server, config, { scope: 'openid fhirUser launch/patient patient/Observation.rs patient/Patient.rs' }, { username: 'maria', password: 'smart-demo', patient: 'sofia-garcia' });
    t.equal(tokens.patient, 'sofia-garcia');
    t.equal(tokens.token_type.toLowerCase(), 'bearer');
    t.type(tokens.expires_in, 'number');
    t.equal(tokens.need_patient_banner, true);
    t.match(tokens.smart_style_url, /\/smart-style\.json$/);
    const id = decodeJwt(tokens.id_token!);
    t.equal(id.fhirUser, `${server.fhirBase}/Patient/maria-garcia`, 'fhirUser is inside the ID token');
    t.equal(id.iss, server.issuer);
    const own = await fhirGet(server, '/Observation', tokens.access_token);
    t.equal(own.status, 200);
    t.same((own.body.entry as { resource: { subject: { reference: string } } }[]).map((e) => e.resource.subject.reference).sort(), ['Patient/sofia-garcia', 'Patient/sofia-garcia'], 'search is restricted to the child silently');
    t.equal((await fhirGet(server, '/Observation/maria-garcia-laboratory', tokens.access_token)).status, 404, "the parent's own record is not in this grant");
    t.equal((await fhirGet(server, '/Patient/sofia-garcia', tokens.access_token)).status, 200);
  });

  t.test('the token response has Cache-Control: no-store and Pragma: no-cache', async (t) => {
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, aud: server.fhirBase, scope: 'launch/patient patient/*.rs', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 's' });
    const flow = await authorizeInBrowser(url.toString(), REDIRECT, { username: 'daniel', password: 'smart-demo' });
    const res = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: flow.callback.searchParams.get('code')!, redirect_uri: REDIRECT, client_id: client.client_id, code_verifier: verifier }),
    });
    t.equal(res.status, 200);
    t.equal(res.headers.get('cache-control'), 'no-store');
    t.equal(res.headers.get('pragma'), 'no-cache');
    const body = (await res.json()) as { patient: string };
    t.equal(body.patient, 'daniel-kim', 'a user with one record is not asked to choose');
  });

  t.test('the patient can grant less than asked: an unticked type is missing from scope and refused by the API', async (t) => {
    const { tokens, offeredGroups } = await authorize(
      server,
      config,
      { scope: 'launch/patient patient/Observation.rs patient/AllergyIntolerance.rs bogus:scope patient/Observation.sr' },
      { username: 'maria', password: 'smart-demo', patient: 'sofia-garcia', keepGroups: (g) => g.filter((x) => x !== 'allergies') },
    );
    t.same(offeredGroups, ['labs', 'vitals', 'other-observations', 'allergies'], 'the consent page offers the requested kinds of data in plain language');
    t.notOk(tokens.scope!.includes('bogus:scope'), 'unknown scopes are dropped, not fatal');
    t.notOk(tokens.scope!.includes('patient/Observation.sr'), 'malformed v2 scopes are dropped');
    t.same(tokens.scope!.split(' ').sort(), ['launch/patient', 'patient/Observation.rs']);
    t.equal((await fhirGet(server, '/AllergyIntolerance', tokens.access_token)).status, 403);
    t.equal((await fhirGet(server, '/AllergyIntolerance/sofia-garcia-allergy', tokens.access_token)).status, 403);
    t.equal((await fhirGet(server, '/Condition', tokens.access_token)).status, 403, 'a type the token does not cover is 403, never 404');
    t.equal((await fhirGet(server, '/Observation', tokens.access_token)).status, 200);
  });

  t.test('a granular scope limits reads and searches to the matching category', async (t) => {
    const { tokens } = await authorize(server, config, { scope: `launch/patient patient/Observation.rs?category=${LAB}` }, { username: 'maria', password: 'smart-demo', patient: 'sofia-garcia' });
    t.equal(tokens.scope, `launch/patient patient/Observation.rs?category=${LAB}`, 'the granular scope is echoed verbatim');
    const found = await fhirGet(server, '/Observation', tokens.access_token);
    t.same((found.body.entry as { resource: { id: string } }[]).map((e) => e.resource.id), ['sofia-garcia-laboratory']);
    t.equal((await fhirGet(server, '/Observation/sofia-garcia-vital-signs', tokens.access_token)).status, 404);
    t.equal((await fhirGet(server, '/Observation/sofia-garcia-laboratory', tokens.access_token)).status, 200);
  });

  t.test('offline_access is granted and a refresh token issued without prompt=consent; refresh keeps the context and rotates', async (t) => {
    const { tokens } = await authorize(server, config, { scope: 'openid fhirUser launch/patient offline_access patient/*.rs' }, { username: 'maria', password: 'smart-demo', patient: 'sofia-garcia' });
    t.ok(tokens.scope!.split(' ').includes('offline_access'));
    t.ok(tokens.refresh_token);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    t.equal(refreshed.patient, 'sofia-garcia', 'the same patient after refresh');
    t.equal(refreshed.scope, tokens.scope, 'the same scope after refresh');
    t.not(refreshed.refresh_token, tokens.refresh_token, 'public clients get a new refresh token each time');
    t.equal((await fhirGet(server, '/Observation', refreshed.access_token)).status, 200);
    const narrowed = await oidc.refreshTokenGrant(config, refreshed.refresh_token!, { scope: 'launch/patient patient/*.rs' });
    t.same(narrowed.scope!.split(' ').sort(), ['launch/patient', 'patient/*.rs'], 'refresh can narrow scopes');
    await t.rejects(oidc.refreshTokenGrant(config, 'not-a-refresh-token'), 'a random refresh token is refused');
  });

  t.test('introspection agrees with the token response; revoking the refresh token kills the access token too', async (t) => {
    const { tokens } = await authorize(server, config, { scope: 'openid fhirUser launch/patient offline_access patient/*.rs' }, { username: 'maria', password: 'smart-demo', patient: 'sofia-garcia' });
    const info = await oidc.tokenIntrospection(config, tokens.access_token);
    t.equal(info.active, true);
    t.equal(info.scope, tokens.scope);
    t.equal(info.patient, 'sofia-garcia');
    t.equal(info.client_id, client.client_id);
    t.equal(info.fhirUser, `${server.fhirBase}/Patient/maria-garcia`);
    t.equal(info.sub, 'maria');
    t.type(info.exp, 'number');
    t.equal(info.token_type?.toLowerCase(), 'bearer');
    await oidc.tokenRevocation(config, tokens.refresh_token!);
    t.equal((await oidc.tokenIntrospection(config, tokens.access_token)).active, false);
    const res = await fhirGet(server, '/Observation', tokens.access_token);
    t.equal(res.status, 401);
    t.match(res.headers.get('www-authenticate'), /^Bearer .*error="invalid_token"/);
    await t.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token!), 'the refresh token is dead too');
  });

  t.test('Deny returns access_denied to the app', async (t) => {
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, aud: server.fhirBase, scope: 'patient/*.rs', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256', state: 'deny-state' });
    const flow = await authorizeInBrowser(url.toString(), REDIRECT, { username: 'daniel', password: 'smart-demo', decision: 'deny' });
    t.equal(flow.callback.searchParams.get('error'), 'access_denied');
    t.equal(flow.callback.searchParams.get('state'), 'deny-state');
  });

  t.test('no token is 401 with WWW-Authenticate; metadata and discovery stay public', async (t) => {
    const res = await fhirGet(server, '/Observation');
    t.equal(res.status, 401);
    t.match(res.headers.get('www-authenticate'), /^Bearer realm=/);
    t.equal((await fhirGet(server, '/metadata')).status, 200);
  });

  t.test('a browser app on another origin may call the API with its bearer token (CORS preflight and response)', async (t) => {
    const pre = await fetch(`${server.fhirBase}/Observation?patient=daniel-kim`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    t.equal(pre.status, 204, 'the preflight is answered before authorization');
    t.equal(pre.headers.get('access-control-allow-origin'), '*');
    t.match(pre.headers.get('access-control-allow-headers'), /Authorization/);
    t.match(pre.headers.get('access-control-allow-methods'), /GET/);
    const res = await fetch(`${server.fhirBase}/Observation/nope`, { headers: { origin: 'https://app.example', authorization: 'Bearer not-a-token' } });
    t.equal(res.status, 401);
    t.equal(res.headers.get('access-control-allow-origin'), '*', 'errors carry CORS headers too, so the app can read them');
    t.match(res.headers.get('access-control-expose-headers'), /WWW-Authenticate/);
  });
});

t.test('authorization requests that must fail never reach a login page', async (t) => {
  const server = await startSmartServer(t);
  const client = await registerClient(server, PUBLIC_APP);
  const authorizeUrl = (params: Record<string, string>) => `${server.issuer}/auth?${new URLSearchParams({ response_type: 'code', client_id: client.client_id, redirect_uri: REDIRECT, scope: 'patient/*.rs', state: 'abc', ...params })}`;
  const challenge = await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier());
  const cases: [string, Record<string, string>][] = [
    ['a wrong aud', { aud: 'https://other.example/fhir', code_challenge: challenge, code_challenge_method: 'S256' }],
    ['a missing aud', { code_challenge: challenge, code_challenge_method: 'S256' }],
    ['no PKCE challenge', { aud: server.fhirBase }],
    ['PKCE plain', { aud: server.fhirBase, code_challenge: challenge, code_challenge_method: 'plain' }],
  ];
  for (const [what, params] of cases) {
    const res = await fetch(authorizeUrl(params), { redirect: 'manual' });
    t.equal(res.status, 303, `${what}: redirected back`);
    const to = new URL(res.headers.get('location')!);
    t.equal(`${to.origin}${to.pathname}`, REDIRECT, `${what}: to the app, not a login page`);
    t.equal(to.searchParams.get('error'), 'invalid_request', `${what}: invalid_request`);
    t.equal(to.searchParams.get('state'), 'abc', `${what}: state round-tripped`);
  }
  t.test('a wrong PKCE verifier at the token endpoint is refused', async (t) => {
    const config = await oidcConfig(server, client.client_id);
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, aud: `${server.fhirBase}/`, scope: 'patient/*.rs', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 's' });
    const flow = await authorizeInBrowser(url.toString(), REDIRECT, { username: 'daniel', password: 'smart-demo' });
    t.ok(flow.callback.searchParams.get('code'), 'aud with a trailing slash is accepted');
    const res = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: flow.callback.searchParams.get('code')!, redirect_uri: REDIRECT, client_id: client.client_id, code_verifier: oidc.randomPKCECodeVerifier() }),
    });
    t.equal(res.status, 400);
    t.equal(((await res.json()) as { error: string }).error, 'invalid_grant');
  });
});
