// The SMART conformance pitfalls (shared/notes/smart-conformance-checklist.md §4) not covered elsewhere.
import t from 'tap';
import * as oidc from 'openid-client';
import { Client } from 'fhir-kit-client';
import { REDIRECT, authorize, oidcConfig, registerClient, startSmartServer } from '../helpers/smart-server.js';
import { CookieJar, authorizeInBrowser } from '../helpers/browser-flow.js';

const APP = { client_name: 'Conformance App', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', scope: 'openid fhirUser launch/patient offline_access online_access patient/*.rs' };

t.test('SMART conformance details', async (t) => {
  const server = await startSmartServer(t);
  const client = await registerClient(server, APP);
  const config = await oidcConfig(server, client.client_id);

  t.test('consent is asked on every authorization, even for an app approved before in the same session', async (t) => {
    const jar = new CookieJar();
    const run = async () => {
      const verifier = oidc.randomPKCECodeVerifier();
      const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, aud: server.fhirBase, scope: 'launch/patient patient/*.rs', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 's' });
      return authorizeInBrowser(url.toString(), REDIRECT, { username: 'daniel', password: 'smart-demo' }, jar);
    };
    const first = await run();
    const second = await run();
    t.ok(first.pages.some((p) => p.includes('/consent')), 'first authorization shows the consent page');
    t.notOk(second.pages.some((p) => p.includes('/login"')), 'the second one reuses the sign-in');
    t.ok(second.pages.some((p) => p.includes('/consent')), 'and still shows the consent page');
  });

  t.test('refresh with an explicit scope equal to the whole grant succeeds', async (t) => {
    const { tokens } = await authorize(server, config, { scope: 'launch/patient offline_access patient/*.rs' }, { username: 'daniel', password: 'smart-demo' });
    const again = await oidc.refreshTokenGrant(config, tokens.refresh_token!, { scope: tokens.scope! });
    t.equal(again.scope, tokens.scope);
    t.type(again.expires_in, 'number');
  });

  t.test('the FHIR API works with fhir-kit-client and a SMART token', async (t) => {
    const { tokens } = await authorize(server, config, { scope: 'launch/patient patient/*.rs' }, { username: 'maria', password: 'smart-demo', patient: 'sofia-garcia' });
    const fhir = new Client({ baseUrl: server.fhirBase, bearerToken: tokens.access_token });
    const patient = (await fhir.read({ resourceType: 'Patient', id: tokens.patient as string })) as unknown as { id: string };
    t.equal(patient.id, 'sofia-garcia');
    const bundle = (await fhir.search({ resourceType: 'Observation', searchParams: { patient: tokens.patient as string, category: 'laboratory' } })) as unknown as { total: number };
    t.equal(bundle.total, 1);
    await t.rejects(fhir.read({ resourceType: 'Patient', id: 'daniel-kim' }), 'another patient is not readable');
  });

  t.test('online_access: a refresh token that dies with the login session', async (t) => {
    const jar = new CookieJar();
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, aud: server.fhirBase, scope: 'openid launch/patient online_access patient/*.rs', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 's' });
    const flow = await authorizeInBrowser(url.toString(), REDIRECT, { username: 'daniel', password: 'smart-demo' }, jar);
    const tokens = await oidc.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: verifier, expectedState: 's' });
    t.ok(tokens.refresh_token, 'online_access gives a refresh token');
    t.ok(tokens.scope!.includes('online_access'));
    const info = await oidc.tokenIntrospection(config, tokens.refresh_token!);
    t.equal(info.active, true);
    // End the user's session (RP-initiated logout); the session-bound refresh token must stop working.
    const logout = await fetch(`${server.issuer}/session/end?client_id=${client.client_id}`, { headers: { cookie: jar.header() } });
    jar.store(logout);
    const form = /name="xsrf" value="([^"]+)"/.exec(await logout.text())?.[1];
    t.ok(form, 'the logout confirmation page is shown');
    const confirm = await fetch(`${server.issuer}/session/end/confirm`, { method: 'POST', redirect: 'manual', headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ xsrf: form!, logout: 'yes' }) });
    t.ok(confirm.status < 400, `logout confirmed (${confirm.status})`);
    await t.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token!), 'the online_access refresh token died with the session');
  });

  t.test('token endpoint errors have the statuses SMART clients expect', async (t) => {
    const post = async (body: Record<string, string>, headers: Record<string, string> = {}) => {
      const res = await fetch(`${server.issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(body) });
      return { status: res.status, body: (await res.json()) as { error: string } };
    };
    const badCode = await post({ grant_type: 'authorization_code', code: 'BAD_CODE', redirect_uri: REDIRECT, client_id: client.client_id, code_verifier: oidc.randomPKCECodeVerifier() });
    t.equal(badCode.status, 400);
    t.equal(badCode.body.error, 'invalid_grant');
    const unknownClient = await post({ grant_type: 'client_credentials', client_id: 'nobody', client_secret: 'x' });
    t.equal(unknownClient.status, 401);
    t.equal(unknownClient.body.error, 'invalid_client');
    const badAssertionType = await post({ grant_type: 'client_credentials', client_assertion_type: 'urn:bogus', client_assertion: 'x.y.z' });
    t.equal(badAssertionType.status, 400);
    const badGrant = await post({ grant_type: 'urn:bogus', client_id: client.client_id });
    t.equal(badGrant.status, 400);
  });

  t.test('expired rows are cleaned up', async (t) => {
    await server.auth!.models.upsert({ model: 'Session', id: 'old-session', payload: { exp: 1 }, grantId: null, uid: 'u-old', userCode: null, accountId: null, clientId: null, expiresAt: 1 });
    const removed = await server.auth!.models.deleteExpired(60);
    t.ok(removed >= 1, `${removed} expired row(s) removed`);
    t.equal(await server.auth!.models.find('Session', 'id', 'old-session', 0), undefined);
  });
});

t.test('outside the sandbox, dynamic registration requires the initial access token', async (t) => {
  const token = 'a-registration-token-that-is-long-enough-123';
  const server = await startSmartServer(t, { env: { SANDBOX: 'false', REGISTRATION_TOKEN: token } });
  const register = (auth?: string) =>
    fetch(`${server.issuer}/reg`, { method: 'POST', headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) }, body: JSON.stringify(APP) });
  t.equal((await register()).status, 401, 'no token: refused');
  t.equal((await register('wrong-token')).status, 401, 'wrong token: refused');
  t.equal((await register(token)).status, 201, 'the configured token: registered');
  t.equal((await fetch(`${server.base}/sandbox/launch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"patient":"daniel-kim"}' })).status, 404, 'no sandbox launcher in production mode');
  const demo = await fetch(`${server.issuer}/token`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from('demo-backend:demo-backend-secret-change-me').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&scope=system%2F*.rs' });
  t.equal(demo.status, 401, 'no demo clients in production mode');
});
