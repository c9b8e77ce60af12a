// Access ends when it should, on every instance: a proxy's app tokens stop within a second of the proxy relation being
// revoked, or of its end date passing, on both of two instances sharing one database (each caches tokens in memory),
// and the refresh token no longer mints new ones. The portal's expiry sweep (every minute) is not what ends them.
import * as oidc from 'openid-client';
import t, { type Test } from 'tap';
import { createTestDatabase } from '../helpers/database.js';
import { REDIRECT, authorize, freePort, oidcConfig, registerClient, startSmartServer, type SmartServer } from '../helpers/smart-server.js';

const APP = { client_name: 'Proxy Diary', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', scope: 'openid fhirUser launch/patient offline_access patient/*.rs' };
// The configured default, so the delay measured is the one a deployment gets; no load shedding (a busy test machine
// can make this process's event loop lag, and a 503 is not what these tests are about).
const ENV = { REVOCATION_POLL_MS: '250', OVERLOAD_EVENT_LOOP_DELAY_MS: '0' };
const LIMIT_MS = 1000;
// The refusal names the reason; "refresh token already used" (a refresh that wrongly succeeded elsewhere) does not match.
const ENDED = { status: 400, error: 'invalid_grant', error_description: /access .*ended/ };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function twoInstances(t: Test) {
  const database = await createTestDatabase({ file: true });
  t.teardown(() => database.close());
  const portA = await freePort();
  const publicUrl = `http://127.0.0.1:${portA}`;
  const a = await startSmartServer(t, { database, port: portA, env: ENV });
  const b = await startSmartServer(t, { database, publicUrl, seed: false, env: ENV });
  const client = await registerClient(a, APP);
  return { a, b, client };
}

const read = async (s: SmartServer, token: string) =>
  (await fetch(`${s.server.listeningOrigin}/fhir/Observation?patient=maria-garcia`, { headers: { authorization: `Bearer ${token}` } })).status;

/** Polls both instances until each refuses the token; ms from `since` to each first 401 (Infinity: not within `limit`). */
async function refusedAfter(instances: Record<string, SmartServer>, token: string, since: number, limit = LIMIT_MS + 1000): Promise<Record<string, number>> {
  const delays: Record<string, number> = {};
  const pending = new Set(Object.keys(instances));
  while (pending.size && Date.now() - since < limit) {
    await Promise.all(
      [...pending].map(async (name) => {
        if ((await read(instances[name]!, token)) === 401) {
          delays[name] = Date.now() - since;
          pending.delete(name);
        }
      }),
    );
    await sleep(10);
  }
  for (const name of pending) delays[name] = Infinity;
  return delays;
}

async function refreshError(s: SmartServer, clientId: string, refreshToken: string): Promise<{ status: number; error?: string; error_description?: string }> {
  const res = await fetch(`${s.server.listeningOrigin}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId }),
  });
  return { status: res.status, ...((await res.json()) as { error?: string; error_description?: string }) };
}

t.test("a proxy's app tokens stop within a second on both instances once the relation is revoked through one, and refresh is refused", async (t) => {
  const { a, b, client } = await twoInstances(t);
  const relation = await a.portal!.proxies.grant({ holderUsername: 'daniel', patientId: 'maria-garcia', relationship: 'legal-authorization', from: Date.now() - 60_000 });
  const { tokens } = await authorize(a, await oidcConfig(a, client.client_id), { scope: APP.scope }, { username: 'daniel', password: 'smart-demo', patient: 'maria-garcia' });
  t.equal(tokens.patient, 'maria-garcia', "daniel's app reads maria's record through the relation");
  t.equal(await read(a, tokens.access_token), 200, 'the token works on A (and is cached there)');
  t.equal(await read(b, tokens.access_token), 200, 'and on B (cached there too)');

  const revokedAt = Date.now();
  t.same((await a.portal!.proxies.revoke(relation.id)).revoked, true, 'the relation is revoked through instance A');
  const delays = await refusedAfter({ A: a, B: b }, tokens.access_token, revokedAt);
  t.comment(`revocation → 401: A ${delays.A} ms, B ${delays.B} ms`);
  t.ok(delays.A! < LIMIT_MS, `A refuses the token within a second (${delays.A} ms)`);
  t.ok(delays.B! < LIMIT_MS, `B refuses the token within a second (${delays.B} ms)`);
  t.match(await refreshError(b, client.client_id, tokens.refresh_token!), ENDED, 'B refuses the refresh token');
  t.match(await refreshError(a, client.client_id, tokens.refresh_token!), ENDED, 'and so does A');
});

t.test("a proxy's app tokens stop within a second of the relation's end date on both instances, without the sweep, and refresh is refused", async (t) => {
  const { a, b, client } = await twoInstances(t);
  // Far enough ahead for a sign-in with the real password hashing on a busy machine; near enough to wait for.
  const endsAt = Date.now() + 4000;
  const relation = await a.portal!.proxies.grant({ holderUsername: 'daniel', patientId: 'maria-garcia', relationship: 'legal-authorization', from: Date.now() - 60_000, until: endsAt });
  const { tokens } = await authorize(a, await oidcConfig(a, client.client_id), { scope: APP.scope }, { username: 'daniel', password: 'smart-demo', patient: 'maria-garcia' });
  t.ok(Date.now() < endsAt - 1000, `authorized ${endsAt - Date.now()} ms before the end`);
  t.equal(await read(a, tokens.access_token), 200, 'the token works on A before the end');
  t.equal(await read(b, tokens.access_token), 200, 'and on B');
  const refreshed = (await oidc.refreshTokenGrant(await oidcConfig(b, client.client_id), tokens.refresh_token!)) as oidc.TokenEndpointResponse;
  t.ok(refreshed.access_token, 'a refresh before the end still works');

  await sleep(endsAt - Date.now() - 300);
  t.equal(await read(a, tokens.access_token), 200, 'A still serves the token 300 ms before the end');
  t.equal(await read(b, refreshed.access_token), 200, 'B still serves the refreshed token 300 ms before the end');

  const delays = await refusedAfter({ A: a, B: b }, tokens.access_token, endsAt);
  const delaysRefreshed = await refusedAfter({ A: a, B: b }, refreshed.access_token, endsAt);
  t.comment(`end date → 401: A ${delays.A} ms, B ${delays.B} ms; refreshed token A ${delaysRefreshed.A} ms, B ${delaysRefreshed.B} ms`);
  for (const [name, ms] of Object.entries({ ...delays, ...Object.fromEntries(Object.entries(delaysRefreshed).map(([k, v]) => [`${k} (refreshed token)`, v])) })) {
    t.ok(ms >= 0 && ms < LIMIT_MS, `${name} refuses the token within a second of the end, not before it (${ms} ms)`);
  }
  t.match(await refreshError(a, client.client_id, refreshed.refresh_token!), ENDED, 'A refuses the refresh token after the end');
  t.match(await refreshError(b, client.client_id, refreshed.refresh_token!), ENDED, 'and so does B');
  const links = await a.portal!.appLinks.findByProxyRelation(relation.id);
  t.same(links.map((l) => l.revokedAt), [null], 'the sweep has not run: the app link is still live in the database');
});
