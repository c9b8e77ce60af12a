// Refresh-token rotation survives a lost answer, and still catches a replayed token. A client whose refresh answer
// never arrived (the server was killed after rotating, or the connection dropped) presents its old token again and
// gets a new pair. Once a successor has been used, the old token and any other unused successor are spent, and
// presenting one revokes the grant (RFC 9700 §4.14.2 reuse detection).
import t from 'tap';
import * as oidc from 'openid-client';
import { REDIRECT, authorize, oidcConfig, registerClient, startSmartServer } from '../helpers/smart-server.js';

const APP = { client_name: 'Rotation App', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', scope: 'launch/patient offline_access patient/*.rs' };

t.test('refresh-token rotation', async (t) => {
  const server = await startSmartServer(t);
  const client = await registerClient(server, APP);
  const config = await oidcConfig(server, client.client_id);
  const connect = async () => (await authorize(server, config, { scope: 'launch/patient offline_access patient/*.rs' }, { username: 'daniel', password: 'smart-demo' })).tokens;
  const refresh = async (token: string) => {
    const res = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token, client_id: client.client_id }),
    });
    return { status: res.status, body: (await res.json()) as { refresh_token?: string; access_token?: string; error?: string } };
  };
  const reads = async (accessToken: string) => (await fetch(`${server.fhirBase}/Patient/daniel-kim`, { headers: { authorization: `Bearer ${accessToken}` } })).status;

  t.test('a token whose rotated answer was lost refreshes again, and the unused successor then dies with a replay', async (t) => {
    const t0 = (await connect()).refresh_token!;
    const lost = await refresh(t0);
    t.equal(lost.status, 200, 'the first refresh rotates (its answer is "lost": the client never sees T1)');
    t.not(lost.body.refresh_token, t0);
    const retry = await refresh(t0);
    t.equal(retry.status, 200, 'the client presents T0 again and gets a new pair');
    const t1b = retry.body.refresh_token!;
    t.not(t1b, lost.body.refresh_token, 'a new successor, beside the unused one');
    const next = await refresh(t1b);
    t.equal(next.status, 200, 'the successor the client holds works');
    t.equal(await reads(next.body.access_token!), 200);
    const replay = await refresh(lost.body.refresh_token!);
    t.equal(replay.status, 400, 'the unused sibling was retired when T1b was used: presenting it is a replay');
    t.equal(replay.body.error, 'invalid_grant');
    t.equal((await refresh(next.body.refresh_token!)).status, 400, 'and the replay revoked the whole grant');
    t.equal(await reads(next.body.access_token!), 401, 'its access tokens too');
  });

  t.test('a token whose successor has been used is spent: presenting it revokes the grant', async (t) => {
    const t0 = (await connect()).refresh_token!;
    const t1 = (await refresh(t0)).body.refresh_token!;
    const second = await refresh(t1);
    t.equal(second.status, 200);
    const replay = await refresh(t0);
    t.equal(replay.status, 400, 'T0 is refused');
    t.equal((await refresh(second.body.refresh_token!)).status, 400, 'and the grant is revoked');
  });

  t.test('a thief redeeming a token the client has already rotated is caught at the next use of either successor', async (t) => {
    const t0 = (await connect()).refresh_token!;
    const clientT1 = (await refresh(t0)).body.refresh_token!;
    const thief = await refresh(t0);
    t.equal(thief.status, 200, 'the client has not used T1 yet, so T0 still redeems');
    const thiefNext = await refresh(thief.body.refresh_token!);
    t.equal(thiefNext.status, 200, 'the thief uses its successor first');
    t.equal((await refresh(clientT1)).status, 400, "the client's T1, retired, is refused");
    t.equal((await refresh(thiefNext.body.refresh_token!)).status, 400, "and the thief's chain dies with the grant");
  });

  t.test('a plain rotation chain keeps working', async (t) => {
    let token = (await connect()).refresh_token!;
    for (let i = 0; i < 5; i++) {
      const r = await refresh(token);
      t.equal(r.status, 200, `refresh ${i + 1}`);
      token = r.body.refresh_token!;
    }
    t.ok(await oidc.tokenIntrospection(config, token).then((x) => x.active), 'the last token is active');
  });
});
