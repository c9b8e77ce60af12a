// OAuth and OIDC misuse at the authorization server, each refused with the exact error a client sees AND the
// consequence checked where there is one (tokens that must die, codes that must stay unused, pages that must not
// redirect). Client authentication and request objects are in oauth-assertions.test.ts.
import t, { type Test } from 'tap';
import { CookieJar } from '../helpers/browser-flow.js';
import { REDIRECT, registerClient, startSmartServer } from '../helpers/smart-server.js';
import {
  DANIEL,
  authorizeUrl,
  browse,
  fhirStatus,
  introspect,
  obtainCode,
  portalSignIn,
  redeem,
  routeTable,
  tokenRequest,
  postPage,
  csrfOf,
} from './misuse-helpers.js';

const SCOPE = 'openid fhirUser launch/patient offline_access online_access patient/*.rs';
const EVIL = 'https://evil.example';

t.test('OAuth misuse at the authorization server', async (t) => {
  // Many sign-ins in one minute from one address: above the default per-address limit on purpose.
  const server = await startSmartServer(t, { env: { SIGNIN_RATE_LIMIT: '1000' } });
  const app = await registerClient(server, { client_name: 'Misuse App', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', scope: SCOPE, post_logout_redirect_uris: ['http://127.0.0.1:9/signed-out'] });
  const other = await registerClient(server, { client_name: 'Other App', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', scope: SCOPE });
  const confidential = await registerClient(server, { client_name: 'Other Confidential App', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'client_secret_basic', scope: SCOPE });
  const basic = (c: { client_id: string; client_secret?: string }) => ({ authorization: `Basic ${Buffer.from(`${encodeURIComponent(c.client_id)}:${encodeURIComponent(c.client_secret!)}`).toString('base64')}` });

  /** A fresh code and its first redemption, with the access token used once at /fhir (so it sits in the token cache). */
  const firstTokens = async (scope?: string) => {
    const flow = await obtainCode(server, app.client_id, scope ? { scope } : {});
    const first = await redeem(server, app.client_id, flow.code, flow.verifier);
    if (first.status !== 200) throw new Error(`redemption failed: ${JSON.stringify(first.body)}`);
    const tokens = first.body as { access_token: string; refresh_token: string };
    if ((await fhirStatus(server, tokens.access_token)) !== 200) throw new Error('the fresh token does not work');
    return { flow, tokens };
  };
  /** The token is dead everywhere a client could try it. */
  const assertDead = async (t: Test, clientId: string, tokens: { access_token: string; refresh_token?: string }, label: string) => {
    t.equal(await fhirStatus(server, tokens.access_token), 401, `${label}: the access token is refused at /fhir`);
    t.same(await introspect(server, clientId, tokens.access_token), { active: false }, `${label}: introspection says the access token is inactive`);
    if (tokens.refresh_token) {
      t.same(await introspect(server, clientId, tokens.refresh_token), { active: false }, `${label}: introspection says the refresh token is inactive`);
      const refresh = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: clientId });
      t.equal(refresh.status, 400, `${label}: the refresh token is refused`);
      t.equal(refresh.body.error, 'invalid_grant', `${label}: as invalid_grant`);
    }
  };

  t.test('a replayed authorization code is refused with invalid_grant and revokes the tokens of its first redemption', async (t) => {
    const { flow, tokens } = await firstTokens();
    const replay = await redeem(server, app.client_id, flow.code, flow.verifier);
    t.equal(replay.status, 400);
    t.equal(replay.body.error, 'invalid_grant');
    t.notOk(replay.body.access_token, 'no token for the replay');
    await assertDead(t, app.client_id, tokens, 'after the replay');
    const jar = await portalSignIn(server, 'daniel');
    const page = await browse(`${server.base}/portal/apps`, jar);
    t.notMatch(page.html, /Misuse App/, 'the connected-apps page no longer lists the app as connected');
  });

  // A rotated token stays redeemable until its successor has been used (a crash can lose the rotated answer:
  // src/auth/refresh-rotation.ts, test/security/refresh-rotation.test.ts); from then on a reuse is a replay.
  t.test('a refresh token used again after its successor was used is refused and ends the whole grant', async (t) => {
    const { tokens } = await firstTokens();
    const rotated = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: app.client_id });
    t.equal(rotated.status, 200);
    const second = rotated.body as { access_token: string; refresh_token: string };
    t.not(second.refresh_token, tokens.refresh_token, 'a public client gets a new refresh token each time');
    t.equal(await fhirStatus(server, second.access_token), 200);
    const used = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: second.refresh_token, client_id: app.client_id });
    t.equal(used.status, 200, 'the client uses its successor');
    const third = used.body as { access_token: string; refresh_token: string };
    const reuse = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: app.client_id });
    t.equal(reuse.status, 400);
    t.equal(reuse.body.error, 'invalid_grant');
    await assertDead(t, app.client_id, tokens, 'the first tokens');
    await assertDead(t, app.client_id, second, 'the rotated tokens');
    await assertDead(t, app.client_id, third, 'the tokens rotated again');
  });

  t.test('a redirect_uri that is not registered, or registered but altered, gets an error page and never a redirect', async (t) => {
    const variants = [
      `${EVIL}/callback`,
      'http://127.0.0.1:9/callback/',
      'http://127.0.0.1:9/callback?next=https://evil.example',
      'http://127.0.0.1:9/callback#x',
      'http://127.0.0.1:9/Callback',
      'http://127.0.0.1:9/callback/../evil',
      'http://127.0.0.1:9/callback%2F..%2Fevil',
      'http://127.0.0.1:10/callback',
      'https://127.0.0.1:9/callback',
      'http://localhost:9/callback',
      'http://127.0.0.1:9@evil.example/callback',
      'http://127.0.0.1:9.evil.example/callback',
      'HTTP://127.0.0.1:9/callback',
    ];
    for (const redirect of variants) {
      const res = await fetch(authorizeUrl(server, app.client_id, { redirect_uri: redirect }).url, { redirect: 'manual' });
      const html = await res.text();
      t.equal(res.status, 400, `${redirect}: 400`);
      t.equal(res.headers.get('location'), null, `${redirect}: no redirect`);
      t.match(res.headers.get('content-type'), /text\/html/, `${redirect}: a page`);
      t.match(html, /Redirect URI not registered/, `${redirect}: saying the redirect URI is not registered`);
    }
    const unknown = await fetch(authorizeUrl(server, 'no-such-client', { redirect_uri: `${EVIL}/callback` }).url, { redirect: 'manual' });
    t.equal(unknown.status, 400, 'an unknown client_id with any redirect_uri: 400');
    t.equal(unknown.headers.get('location'), null, 'and no redirect');
    t.match(await unknown.text(), /Unknown app/);
  });

  t.test('a code redeemed with another redirect_uri than it was issued for is refused', async (t) => {
    const flow = await obtainCode(server, app.client_id);
    const res = await redeem(server, app.client_id, flow.code, flow.verifier, { redirect_uri: `${EVIL}/callback` });
    t.equal(res.status, 400);
    t.equal(res.body.error, 'invalid_grant');
    t.equal((await redeem(server, app.client_id, flow.code, flow.verifier)).status, 200, 'the code was not spent by the refused attempt');
  });

  t.test('no parameter of any page or endpoint redirects the browser to another site', async (t) => {
    const jar = await portalSignIn(server, 'daniel');
    const origin = new URL(server.base).origin;
    const targets = [`${EVIL}/x`, '//evil.example/x', '/\\evil.example/x', '\\\\evil.example/x', 'https:evil.example', 'javascript:alert(1)', '/portal/../\\evil.example'];
    const names = ['next', 'return', 'returnTo', 'return_to', 'redirect', 'redirect_url', 'redirect_uri', 'url', 'continue', 'goto', 'target', 'dest', 'destination', 'callback', 'post_logout_redirect_uri', 'launch_url'];
    const paths = routeTable(server.server)
      .filter((r) => r.methods.includes('GET') && !r.path.startsWith('/fhir') && !r.path.includes('*'))
      .map((r) => r.path.replace(/:\w+/g, 'x'));
    const valid = authorizeUrl(server, app.client_id).url.slice(server.base.length);
    paths.push('/auth/auth', valid, '/auth/session/end', `/auth/session/end?client_id=${app.client_id}`, '/auth/session/end/success');
    let checked = 0;
    const offsite: string[] = [];
    for (const path of paths) {
      for (const value of targets) {
        const q = new URLSearchParams(names.map((n): [string, string] => [n, value]));
        const res = await fetch(`${server.base}${path}${path.includes('?') ? '&' : '?'}${q}`, { redirect: 'manual', headers: { cookie: jar.header() } });
        await res.arrayBuffer();
        checked++;
        const to = URL.parse(res.headers.get('location') ?? '', `${server.base}${path}`);
        // Off this site only to the app's registered redirect URI (an authorization error goes back to the app).
        if (res.headers.has('location') && to?.origin !== origin && `${to?.origin}${to?.pathname}` !== REDIRECT) offsite.push(`${path} ${value} -> ${to?.href}`);
      }
    }
    t.ok(paths.length > 25, `${paths.length} GET paths swept`);
    t.same(offsite, [], `${checked} requests: every redirect stays on this site`);

    // The sign-in form's next= is the one parameter that does steer a redirect.
    for (const next of targets) {
      const page = await browse(`${server.base}/portal/login`, new CookieJar());
      const fresh = new CookieJar();
      fresh.store(page.res);
      const res = await postPage(`${server.base}/portal/login?next=${encodeURIComponent(next)}`, fresh, { _csrf: csrfOf(page.html)!, ...DANIEL });
      t.equal(res.headers.get('location'), '/portal/apps', `sign-in with next=${next} lands on the portal`);
    }
  });

  t.test('sign-out refuses an unregistered post_logout_redirect_uri: a page, no redirect', async (t) => {
    const res = await fetch(`${server.issuer}/session/end?client_id=${app.client_id}&post_logout_redirect_uri=${encodeURIComponent(`${EVIL}/signed-out`)}`, { redirect: 'manual' });
    t.equal(res.status, 400);
    t.equal(res.headers.get('location'), null);
    t.match(await res.text(), /post_logout_redirect_uri/);
  });

  t.test('the authorization response returns state unchanged and names the issuer (RFC 9207), on success and on error', async (t) => {
    const state = 'a b&c=d/é?+%';
    const ok = await obtainCode(server, app.client_id, { state });
    t.equal(ok.callback.searchParams.get('state'), state, 'success: state as sent');
    t.equal(ok.callback.searchParams.get('iss'), server.issuer, 'success: iss is this issuer');
    const denied = await obtainCode(server, app.client_id, { state }, { ...DANIEL, decision: 'deny' });
    t.equal(denied.callback.searchParams.get('error'), 'access_denied');
    t.equal(denied.callback.searchParams.get('state'), state, 'error: state as sent');
    t.equal(denied.callback.searchParams.get('iss'), server.issuer, 'error: iss is this issuer');
    const badAud = await fetch(authorizeUrl(server, app.client_id, { state, aud: `${EVIL}/fhir` }).url, { redirect: 'manual' });
    const back = new URL(badAud.headers.get('location')!);
    t.equal(back.searchParams.get('state'), state, 'a refused request: state as sent');
    t.equal(back.searchParams.get('iss'), server.issuer);
  });

  t.test('PKCE: a code with the verifier of another authorization, no verifier or a malformed one is refused, and stays redeemable', async (t) => {
    const a = await obtainCode(server, app.client_id);
    const b = await obtainCode(server, app.client_id);
    for (const [label, verifier] of [
      ['the verifier of another authorization', b.verifier],
      ['no verifier', undefined],
      ['a verifier too short', 'short'],
      ['the challenge instead of the verifier', new URL(a.url).searchParams.get('code_challenge')!],
    ] as const) {
      const res = await tokenRequest(server, { grant_type: 'authorization_code', code: a.code, redirect_uri: REDIRECT, client_id: app.client_id, ...(verifier ? { code_verifier: verifier } : {}) });
      t.equal(res.status, 400, `${label}: 400`);
      t.equal(res.body.error, label === 'a verifier too short' ? 'invalid_request' : 'invalid_grant', `${label}: ${res.body.error}`);
    }
    t.equal((await redeem(server, app.client_id, a.code, a.verifier)).status, 200, 'the right verifier still redeems the code');
    t.equal((await redeem(server, app.client_id, b.code, b.verifier)).status, 200, 'and the other authorization is unaffected');
  });

  t.test('PKCE: an authorization request without a challenge or with plain is refused before any sign-in', async (t) => {
    for (const params of [{ code_challenge: undefined, code_challenge_method: undefined }, { code_challenge_method: 'plain' }, { code_challenge_method: undefined }]) {
      const res = await fetch(authorizeUrl(server, app.client_id, params).url, { redirect: 'manual' });
      const back = new URL(res.headers.get('location')!);
      t.equal(`${back.origin}${back.pathname}`, REDIRECT, `${JSON.stringify(params)}: sent back to the app`);
      t.equal(back.searchParams.get('error'), 'invalid_request');
      t.notOk(back.searchParams.get('code'), 'without a code');
    }
  });

  t.test('a code redeemed by another client is refused and stays redeemable by its own client', async (t) => {
    const flow = await obtainCode(server, app.client_id);
    const byPublic = await redeem(server, other.client_id, flow.code, flow.verifier);
    t.equal(byPublic.status, 400, 'another public client: 400');
    t.equal(byPublic.body.error, 'invalid_grant');
    const byConfidential = await tokenRequest(server, { grant_type: 'authorization_code', code: flow.code, code_verifier: flow.verifier, redirect_uri: REDIRECT }, basic(confidential));
    t.equal(byConfidential.status, 400, 'an authenticated confidential client: 400');
    t.equal(byConfidential.body.error, 'invalid_grant');
    const own = await redeem(server, app.client_id, flow.code, flow.verifier);
    t.equal(own.status, 200, 'its own client still redeems it');
    t.equal(await fhirStatus(server, (own.body as { access_token: string }).access_token), 200);
  });

  t.test('a token for another audience', async (t) => {
    t.test('an authorization request with another aud is refused before any sign-in', async (t) => {
      const res = await fetch(authorizeUrl(server, app.client_id, { aud: `${EVIL}/fhir` }).url, { redirect: 'manual' });
      const back = new URL(res.headers.get('location')!);
      t.equal(back.searchParams.get('error'), 'invalid_request');
      t.match(back.searchParams.get('error_description'), /is not this FHIR server/);
      t.notOk(back.searchParams.get('code'));
    });
    t.test('a resource indicator for another server is refused at the authorization and token endpoints', async (t) => {
      const res = await fetch(authorizeUrl(server, app.client_id, { resource: `${EVIL}/fhir` }).url, { redirect: 'manual' });
      t.equal(new URL(res.headers.get('location')!).searchParams.get('error'), 'invalid_target', 'authorization: invalid_target');
      const { tokens } = await firstTokens();
      const refresh = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: app.client_id, resource: `${EVIL}/fhir` });
      t.equal(refresh.status, 400, 'refresh for another resource: 400');
      t.equal(refresh.body.error, 'invalid_target');
      const code = await obtainCode(server, app.client_id);
      const exchange = await redeem(server, app.client_id, code.code, code.verifier, { resource: `${EVIL}/fhir` });
      t.equal(exchange.status, 400, 'code exchange for another resource: 400');
      t.equal(exchange.body.error, 'invalid_target');
    });
    t.test('an access token issued for another audience is refused by the FHIR API', async (t) => {
      const { tokens } = await firstTokens();
      const stored = await server.auth!.provider.AccessToken.find(tokens.access_token);
      const client = (await server.auth!.provider.Client.find(app.client_id))!;
      const foreign = new server.auth!.provider.AccessToken({ client, accountId: stored!.accountId, grantId: stored!.grantId, scope: stored!.scope!, gty: 'authorization_code' });
      foreign.aud = `${EVIL}/fhir`;
      const value = await foreign.save();
      t.equal((await server.auth!.provider.AccessToken.find(value))?.aud, `${EVIL}/fhir`, 'the token is stored, live, for the other audience');
      t.equal(await fhirStatus(server, value), 401, 'a live token of the same grant, but for another server: 401');
      const res = await fetch(`${server.fhirBase}/Observation`, { headers: { authorization: `Bearer ${value}` } });
      t.match(res.headers.get('www-authenticate'), /invalid_token/);
    });
    t.test('the FHIR access token is not accepted at the userinfo endpoint', async (t) => {
      const { tokens } = await firstTokens('openid fhirUser launch/patient patient/*.rs');
      const res = await fetch(`${server.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      t.equal(res.status, 401);
      t.equal(((await res.json()) as { error: string }).error, 'invalid_token');
    });
  });
});

