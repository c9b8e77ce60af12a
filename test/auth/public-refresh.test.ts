// A public client refreshes with grant_type and refresh_token alone (what SMART's fhirclient sends); confidential
// clients must still authenticate, and nothing else about the token endpoint changes.
import * as oidc from 'openid-client';
import t from 'tap';
import { REDIRECT, authorize, oidcConfig, registerClient, startSmartServer } from '../helpers/smart-server.js';

const tokenRequest = (issuer: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(`${issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form) });

t.test('refresh without client identification', async (t) => {
  const server = await startSmartServer(t);
  const scope = 'openid fhirUser launch/patient offline_access patient/*.rs';

  t.test('a public client refreshes with only grant_type and refresh_token', async (t) => {
    const client = await registerClient(server, { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', scope });
    const { tokens } = await authorize(server, await oidcConfig(server, client.client_id), { scope }, { username: 'daniel', password: 'smart-demo' });
    const res = await tokenRequest(server.issuer, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
    const body = (await res.json()) as Record<string, unknown>;
    t.equal(res.status, 200, JSON.stringify(body));
    t.equal(body.patient, 'daniel-kim', 'the launch context comes along');
    t.ok(body.refresh_token && body.refresh_token !== tokens.refresh_token, 'and the refresh token rotates');
    // A rotated-out token stays redeemable until its successor is used (a crash may have lost the answer that
    // carried the successor: see test/security/refresh-rotation.test.ts); once the successor is used, it is spent.
    const next = await tokenRequest(server.issuer, { grant_type: 'refresh_token', refresh_token: body.refresh_token as string });
    t.equal(next.status, 200, 'the successor refreshes');
    const reuse = await tokenRequest(server.issuer, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
    t.equal(reuse.status, 400, 'the rotated-out refresh token is refused once its successor was used');
  });

  t.test('a confidential client still has to authenticate', async (t) => {
    const client = await registerClient(server, { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'client_secret_basic', scope });
    const { tokens } = await authorize(server, await oidcConfig(server, client.client_id, oidc.ClientSecretBasic(client.client_secret!)), { scope }, { username: 'daniel', password: 'smart-demo' });
    const res = await tokenRequest(server.issuer, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
    const body = (await res.json()) as { error: string; error_description?: string };
    t.ok(res.status === 400 || res.status === 401, `refused (${res.status} ${body.error}: ${body.error_description})`);
    t.match(body.error, /invalid_(client|request)/, 'as a request without client authentication');
  });

  t.test('an unknown refresh token is refused as before', async (t) => {
    const res = await tokenRequest(server.issuer, { grant_type: 'refresh_token', refresh_token: 'nope' });
    t.ok(res.status === 400 || res.status === 401, `status ${res.status}`);
    t.match(((await res.json()) as { error: string }).error, /invalid_(client|grant|request)/);
  });
});
