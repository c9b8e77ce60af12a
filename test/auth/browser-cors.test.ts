// What a browser-only SMART app (fhirclient, a SPA) needs from us across origins, and what it must not get:
// discovery and /metadata for any origin; the token endpoint only from a public client's registered redirect origins;
// never for a confidential client, whose secret has no place in a browser.
import t from 'tap';
import { registerClient, startSmartServer } from '../helpers/smart-server.js';

const APP_ORIGIN = 'http://127.0.0.1:9';
const REDIRECT = `${APP_ORIGIN}/app/index.html`;

t.test('cross-origin access for browser apps', async (t) => {
  const server = await startSmartServer(t, { seed: false });
  const publicClient = await registerClient(server, { client_name: 'Browser app', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', scope: 'launch/patient patient/*.rs' });
  const confidential = await registerClient(server, { client_name: 'Server app', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'client_secret_basic', scope: 'launch/patient patient/*.rs' });

  /** A code exchange with a made-up code: the client and its origin are checked before the code is. */
  const exchange = (origin: string | undefined, auth: { clientId: string; secret?: string }) =>
    fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(origin ? { origin } : {}),
        ...(auth.secret ? { authorization: `Basic ${Buffer.from(`${auth.clientId}:${auth.secret}`).toString('base64')}` } : {}),
      },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: 'not-a-code', redirect_uri: REDIRECT, code_verifier: 'v'.repeat(43), ...(auth.secret ? {} : { client_id: auth.clientId }) }),
    });
  const answer = async (res: Response) => ({ status: res.status, acao: res.headers.get('access-control-allow-origin'), error: ((await res.json()) as { error: string }).error });

  t.test('discovery and the CapabilityStatement are open to every origin, and agree on the management page', async (t) => {
    const smart = await fetch(`${server.fhirBase}/.well-known/smart-configuration`, { headers: { origin: 'https://any.example' } });
    t.equal(smart.headers.get('access-control-allow-origin'), '*', 'smart-configuration');
    const doc = (await smart.json()) as Record<string, unknown>;
    t.equal(doc.management_endpoint, `${server.base}/portal/apps`, 'management_endpoint is the connected-apps page, as an absolute URL');
    const meta = await fetch(`${server.fhirBase}/metadata`, { headers: { origin: 'https://any.example' } });
    t.equal(meta.headers.get('access-control-allow-origin'), '*', '/fhir/metadata');
    const security = ((await meta.json()) as { rest: { security: { extension: { extension: { url: string; valueUri: string }[] }[] } }[] }).rest[0]!.security;
    const uris = Object.fromEntries(security.extension[0]!.extension.map((e) => [e.url, e.valueUri]));
    t.equal(uris.manage, doc.management_endpoint, "oauth-uris' manage mirrors management_endpoint");
    t.equal((await fetch(doc.management_endpoint as string, { redirect: 'manual' })).status < 400, true, 'and the page is there');
  });

  t.test("a public client's own page may call the token endpoint", async (t) => {
    const preflight = await fetch(`${server.issuer}/token`, { method: 'OPTIONS', headers: { origin: APP_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    t.equal(preflight.status, 204, 'the preflight is answered');
    t.equal(preflight.headers.get('access-control-allow-origin'), APP_ORIGIN, 'for the app origin');
    t.same(await answer(await exchange(APP_ORIGIN, { clientId: publicClient.client_id })), { status: 400, acao: APP_ORIGIN, error: 'invalid_grant' }, 'the app can read the answer (here: the made-up code is refused)');
  });

  t.test('another origin may not use a public client at the token endpoint', async (t) => {
    t.same(await answer(await exchange('https://evil.example', { clientId: publicClient.client_id })), { status: 400, acao: null, error: 'invalid_request' }, 'refused before the code is looked at, and unreadable to the page');
    t.same(await answer(await exchange('null', { clientId: publicClient.client_id })), { status: 400, acao: null, error: 'invalid_request' }, 'nor an opaque origin (sandboxed frame, file://)');
  });

  t.test('a confidential client gets no CORS, even from its redirect origin; its server (no Origin) is unaffected', async (t) => {
    const auth = { clientId: confidential.client_id, secret: confidential.client_secret! };
    t.same(await answer(await exchange(APP_ORIGIN, auth)), { status: 400, acao: null, error: 'invalid_request' }, 'a browser call with the secret is refused');
    const server2server = await answer(await exchange(undefined, auth));
    t.same([server2server.status, server2server.error], [400, 'invalid_grant'], 'a server-side call reaches the code check');
  });
});
