// The authorization endpoint's error page (when it cannot redirect back to the app) and the errors it redirects back
// with: each says what the app's developer has to fix; sandbox mode says more than production.
import t from 'tap';
import * as oidc from 'openid-client';
import { REDIRECT, registerClient, startSmartServer, type SmartServer } from '../helpers/smart-server.js';

const SECOND = 'http://127.0.0.1:9/second';

async function authorizeRequest(server: SmartServer, params: Record<string, string | undefined>): Promise<{ status: number; location: string | null; html: string; headers: Headers }> {
  const query = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined));
  const res = await fetch(`${server.issuer}/auth?${query}`, { redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location'), html: await res.text(), headers: res.headers };
}

async function baseParams(server: SmartServer, clientId: string): Promise<Record<string, string>> {
  return {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT,
    scope: 'launch/patient patient/*.rs',
    aud: server.fhirBase,
    state: 'st',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  };
}

/** The error the app receives at its redirect URI. */
function redirected(location: string | null): { error: string | null; description: string | null; state: string | null } {
  const url = new URL(location ?? 'http://invalid/');
  t.equal(`${url.origin}${url.pathname}`, REDIRECT, 'sent back to the app');
  return { error: url.searchParams.get('error'), description: url.searchParams.get('error_description'), state: url.searchParams.get('state') };
}

const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');

t.test('sandbox mode', async (t) => {
  const server = await startSmartServer(t);
  const app = await registerClient(server, { client_name: 'Two Redirects', redirect_uris: [REDIRECT, SECOND], token_endpoint_auth_method: 'none', scope: 'launch launch/patient patient/*.rs' });

  t.test('an unknown client_id gets our page, naming it and linking to registration, with no redirect', async (t) => {
    const res = await authorizeRequest(server, { ...(await baseParams(server, app.client_id)), client_id: 'no-such-app' });
    t.equal(res.status, 400);
    t.equal(res.location, null, 'no redirect to an unverified URI');
    t.match(res.headers.get('content-type'), /^text\/html/);
    t.match(res.headers.get('content-security-policy'), /default-src 'none'; style-src 'self'/);
    t.match(res.html, /<link rel="stylesheet" href="\/portal\/static\/portal\.css">/, 'our stylesheet');
    t.match(text(res.html), /No app with client_id no-such-app is registered here\./);
    t.match(res.html, /href="\/sandbox\/apps\/new"/, 'links to the registration page');
  });

  t.test('what the request sent is escaped', async (t) => {
    const res = await authorizeRequest(server, { ...(await baseParams(server, app.client_id)), client_id: '<img src=x onerror=alert(1)>' });
    t.notMatch(res.html, /<img src=x/);
    t.match(res.html, /&lt;img src=x onerror=alert\(1\)&gt;/);
    const other = await authorizeRequest(server, { ...(await baseParams(server, app.client_id)), redirect_uri: 'http://127.0.0.1:9/cb?x="><script>alert(1)</script>' });
    t.notMatch(other.html, /<script>/);
  });

  t.test('an unregistered redirect_uri: the page shows the one sent and the registered ones, with no redirect', async (t) => {
    const res = await authorizeRequest(server, { ...(await baseParams(server, app.client_id)), redirect_uri: 'http://127.0.0.1:9/elsewhere' });
    t.equal(res.status, 400);
    t.equal(res.location, null);
    const page = text(res.html);
    t.match(page, new RegExp(`The redirect_uri this request sent, http://127\\.0\\.0\\.1:9/elsewhere, is not registered for Two Redirects \\(client_id ${app.client_id}\\)\\.`));
    t.match(page, `Registered redirect URIs: ${REDIRECT}, ${SECOND}.`);
    t.match(page, /Send one of these exactly/);
  });

  t.test('no redirect_uri while two are registered: the page says which are', async (t) => {
    const res = await authorizeRequest(server, { ...(await baseParams(server, app.client_id)), redirect_uri: undefined });
    t.equal(res.location, null);
    const page = text(res.html);
    t.match(page, /The request has no redirect_uri, and Two Redirects .* has more than one registered/);
    t.match(page, `Registered redirect URIs: ${REDIRECT}, ${SECOND}.`);
  });

  t.test('errors sent back to the app say what to fix', async (t) => {
    const base = await baseParams(server, app.client_id);

    const noPkce = redirected((await authorizeRequest(server, { ...base, code_challenge: undefined, code_challenge_method: undefined })).location);
    t.equal(noPkce.error, 'invalid_request');
    t.equal(noPkce.state, 'st', 'state is kept');
    t.match(noPkce.description, /^code_challenge is missing: this server requires PKCE with S256 .* send code_challenge=BASE64URL\(SHA256\(code_verifier\)\) and code_challenge_method=S256/);

    const plain = redirected((await authorizeRequest(server, { ...base, code_challenge_method: 'plain' })).location);
    t.equal(plain.error, 'invalid_request');
    t.match(plain.description, /^code_challenge_method 'plain' is not supported: only S256 is accepted \(plain is not allowed\)/);

    const noMethod = redirected((await authorizeRequest(server, { ...base, code_challenge_method: undefined })).location);
    t.match(noMethod.description, /^code_challenge_method is missing: .* add code_challenge_method=S256$/);

    const aud = redirected((await authorizeRequest(server, { ...base, aud: 'https://elsewhere.example/fhir' })).location);
    t.equal(aud.error, 'invalid_request');
    t.match(aud.description, `is not this FHIR server (${server.fhirBase})`);

    const noLaunch = redirected((await authorizeRequest(server, { ...base, scope: 'launch patient/*.rs' })).location);
    t.equal(noLaunch.error, 'invalid_request');
    t.match(noLaunch.description, /^launch is missing: the scope 'launch' asks for the EHR's launch context - pass on the launch value .* or for a standalone launch ask for launch\/patient/);

    const badLaunch = redirected((await authorizeRequest(server, { ...base, scope: 'launch patient/*.rs', launch: 'made-up' })).location);
    t.match(badLaunch.description, /^launch is not a launch this server issued - pass on the launch value your launch URL received, unchanged/);

    for (const d of [noPkce, plain, noMethod, noLaunch, badLaunch]) t.match(d.description, /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/, 'only characters RFC 6749 allows in error_description');
  });

  t.test('launch together with launch/patient and no launch value is a standalone launch, not an error', async (t) => {
    const res = await authorizeRequest(server, { ...(await baseParams(server, app.client_id)), scope: 'launch launch/patient patient/*.rs' });
    t.equal(res.status, 303);
    t.match(res.location, /\/interaction\//, 'on to sign-in');
  });
});

t.test('production (SANDBOX=false) keeps the page terse', async (t) => {
  const server = await startSmartServer(t, { env: { SANDBOX: 'false' } });
  const app = await registerClient(server, { client_name: 'Prod App', redirect_uris: [REDIRECT, SECOND], token_endpoint_auth_method: 'none' });

  t.test('unknown client: named, with no sandbox link', async (t) => {
    const res = await authorizeRequest(server, { ...(await baseParams(server, app.client_id)), client_id: 'no-such-app' });
    t.equal(res.status, 400);
    t.equal(res.location, null);
    t.match(text(res.html), /No app with client_id no-such-app is registered here\./);
    t.notMatch(res.html, /sandbox/i);
  });

  t.test('unregistered redirect_uri: the one sent, never the registered list', async (t) => {
    const res = await authorizeRequest(server, { ...(await baseParams(server, app.client_id)), redirect_uri: 'http://127.0.0.1:9/elsewhere' });
    t.equal(res.status, 400);
    t.equal(res.location, null);
    const page = text(res.html);
    t.match(page, /The redirect_uri this request sent, http:\/\/127\.0\.0\.1:9\/elsewhere, is not registered for Prod App/);
    t.notMatch(page, /Registered redirect URIs/);
    t.notMatch(page, SECOND);
    t.notMatch(res.html, /sandbox/i);
  });
});
