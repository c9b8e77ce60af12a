import t from 'tap';
import * as oidc from 'openid-client';
import { createTestDatabase } from '../helpers/database.js';
import { REDIRECT, authorize, fhirGet, freePort, oidcConfig, registerClient, startSmartServer } from '../helpers/smart-server.js';

const APP = { client_name: 'Persistent App', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', scope: 'openid fhirUser launch/patient offline_access patient/*.rs' };

t.test('a restart loses nothing: clients, access tokens, refresh tokens and launch context survive', async (t) => {
  const database = await createTestDatabase({ file: true });
  t.teardown(() => database.close());
  const port = await freePort();
  const first = await startSmartServer(t, { database, port });
  const client = await registerClient(first, APP);
  const { tokens } = await authorize(first, await oidcConfig(first, client.client_id), { scope: APP.scope }, { username: 'maria', password: 'smart-demo', patient: 'sofia-garcia' });
  const jwksBefore = await (await fetch(`${first.issuer}/jwks`)).json();
  await first.stop();

  const second = await startSmartServer(t, { database, port, seed: false });
  t.same(await (await fetch(`${second.issuer}/jwks`)).json(), jwksBefore, 'the same signing keys after the restart');
  const read = await fhirGet(second, '/Observation', tokens.access_token);
  t.equal(read.status, 200, 'the access token still works');
  t.equal(read.body.total, 2);
  const refreshed = await oidc.refreshTokenGrant(await oidcConfig(second, client.client_id), tokens.refresh_token!);
  t.equal(refreshed.patient, 'sofia-garcia', 'refresh after restart keeps the launch context');
});

t.test('two instances on one database serve the same clients and tokens, and a revocation on one reaches the other within a second', async (t) => {
  const database = await createTestDatabase({ file: true });
  t.teardown(() => database.close());
  const portA = await freePort();
  const publicUrl = `http://127.0.0.1:${portA}`;
  const a = await startSmartServer(t, { database, port: portA });
  const b = await startSmartServer(t, { database, publicUrl, seed: false });
  const client = await registerClient(a, APP);
  const { tokens } = await authorize(a, await oidcConfig(a, client.client_id), { scope: APP.scope }, { username: 'maria', password: 'smart-demo', patient: 'sofia-garcia' });
  const onB = (token: string) => fetch(`${b.server.listeningOrigin}/fhir/Observation`, { headers: { authorization: `Bearer ${token}` } });
  t.equal((await onB(tokens.access_token)).status, 200, 'a token issued by A works on B (and is now cached there)');
  const refreshOnB = await fetch(`${b.server.listeningOrigin}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: client.client_id }),
  });
  const refreshed = (await refreshOnB.json()) as { patient?: string; refresh_token?: string };
  t.equal(refreshOnB.status, 200, 'B knows the client registered on A and its refresh token');
  t.equal(refreshed.patient, 'sofia-garcia');

  // Revoking the (rotated) refresh token on A revokes the whole grant, including the access token B has cached.
  await oidc.tokenRevocation(await oidcConfig(a, client.client_id), refreshed.refresh_token!);
  const started = Date.now();
  let status = 200;
  while (Date.now() - started < 1000) {
    status = (await onB(tokens.access_token)).status;
    if (status === 401) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  t.equal(status, 401, `B refused the revoked token after ${Date.now() - started} ms`);
});
