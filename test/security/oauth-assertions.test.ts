// Forged, stale and replayed JWTs where a client signs something: client assertions (private_key_jwt) at the token
// endpoint and request objects (JAR) at the authorization endpoint. Every one is refused with the exact OAuth error,
// and no token or code comes out of it.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose';
import { REDIRECT, registerClient, startSmartServer } from '../helpers/smart-server.js';
import { JWT_BEARER, authorizeUrl, fhirStatus, postForm, tokenRequest } from './misuse-helpers.js';

const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
const unsigned = (payload: object) => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
const now = () => Math.floor(Date.now() / 1000);

t.test('client assertions and request objects', async (t) => {
  const server = await startSmartServer(t);
  const tokenEndpoint = `${server.issuer}/token`;
  const rsa = await generateKeyPair('RS384', { extractable: true });
  const jwk = { ...(await exportJWK(rsa.publicKey)), kid: 'rs-1', alg: 'RS384', use: 'sig' };
  const pem = await exportSPKI(rsa.publicKey);
  // Pinned to RS384 at registration, and one that names no algorithm: algorithm confusion must fail for both.
  const pinned = await registerClient(server, { client_name: 'Pinned Backend', grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'RS384', jwks: { keys: [jwk] }, scope: 'system/*.rs' });
  const unpinned = await registerClient(server, { client_name: 'Unpinned Backend', grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwk] }, scope: 'system/*.rs' });
  const app = await registerClient(server, { client_name: 'JAR App', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'RS384', jwks: { keys: [jwk] }, scope: 'launch/patient patient/*.rs' });

  const claims = (clientId: string, over: JWTPayload = {}): JWTPayload => ({ iss: clientId, sub: clientId, aud: tokenEndpoint, jti: randomBytes(16).toString('hex'), iat: now(), exp: now() + 240, ...over });
  const sign = (payload: JWTPayload, key: CryptoKey | Uint8Array = rsa.privateKey, alg = 'RS384') => new SignJWT(payload).setProtectedHeader({ alg, kid: 'rs-1', typ: 'JWT' }).sign(key);
  const backendToken = (assertion: string) => tokenRequest(server, { grant_type: 'client_credentials', scope: 'system/Patient.rs', client_assertion_type: JWT_BEARER, client_assertion: assertion });

  t.test('a well-formed assertion gets a token (the baseline every refusal below differs from in one way)', async (t) => {
    for (const c of [pinned, unpinned]) {
      const res = await backendToken(await sign(claims(c.client_id)));
      t.equal(res.status, 200, `${c.client_name}: 200`);
      t.equal(await fhirStatus(server, res.body.access_token as string, '/Patient'), 200);
    }
  });

  const refusals: [string, (clientId: string) => Promise<string>][] = [
    ["alg 'none' (unsigned)", async (id) => unsigned(claims(id))],
    ['HS256 keyed with the public key (PEM), algorithm confusion', async (id) => sign(claims(id), new TextEncoder().encode(pem), 'HS256')],
    ['HS256 keyed with the public JWK, algorithm confusion', async (id) => sign(claims(id), new TextEncoder().encode(JSON.stringify(jwk)), 'HS256')],
    ["signed by another key under the client's kid", async (id) => sign(claims(id), (await generateKeyPair('RS384')).privateKey)],
    ['expired (exp a minute ago)', async (id) => sign(claims(id, { iat: now() - 360, exp: now() - 60 }))],
    ['not yet valid (nbf in an hour)', async (id) => sign(claims(id, { nbf: now() + 3600, exp: now() + 3900 }))],
    ['issued in the future (iat tomorrow)', async (id) => sign(claims(id, { iat: now() + 86_400, exp: now() + 240 }))],
    ['living longer than five minutes (exp tomorrow)', async (id) => sign(claims(id, { exp: now() + 86_400 }))],
    ['without exp', async (id) => sign(claims(id, { exp: undefined }))],
    ['without jti', async (id) => sign(claims(id, { jti: undefined }))],
    ['for another audience', async (id) => sign(claims(id, { aud: 'https://evil.example/token' }))],
    ['issued by another client', async (id) => sign(claims(id, { iss: id === pinned.client_id ? unpinned.client_id : pinned.client_id }))],
    ['about another subject', async (id) => sign(claims(id, { sub: 'someone-else' }))],
  ];
  for (const [label, make] of refusals) {
    t.test(`a client assertion ${label} is refused with invalid_client`, async (t) => {
      for (const c of [pinned, unpinned]) {
        const res = await backendToken(await make(c.client_id));
        t.equal(res.status, 401, `${c.client_name}: 401`);
        t.equal(res.body.error, 'invalid_client', `${c.client_name}: invalid_client`);
        t.notOk(res.body.access_token, `${c.client_name}: no token`);
      }
    });
  }

  t.test('a replayed client assertion (same jti) is refused, even by a client that signs it again', async (t) => {
    const jti = randomBytes(16).toString('hex');
    const assertion = await sign(claims(pinned.client_id, { jti }));
    t.equal((await backendToken(assertion)).status, 200, 'first use: 200');
    const replay = await backendToken(assertion);
    t.equal(replay.status, 401, 'the same assertion again: 401');
    t.equal(replay.body.error, 'invalid_client');
    const resigned = await backendToken(await sign(claims(pinned.client_id, { jti })));
    t.equal(resigned.status, 401, 'a new assertion reusing the jti: 401');
    t.equal(resigned.body.error, 'invalid_client');
  });

  t.test('request objects are not accepted: unsigned, HS256-confused or properly signed, the app gets request_not_supported and no code', async (t) => {
    const object = (over: JWTPayload = {}): JWTPayload => {
      const inner = Object.fromEntries(new URL(authorizeUrl(server, app.client_id, { scope: 'launch/patient patient/*.rs openid' }).url).searchParams);
      return { ...inner, iss: app.client_id, aud: server.issuer, exp: now() + 240, iat: now(), jti: randomBytes(8).toString('hex'), ...over };
    };
    const requests: [string, string][] = [
      ["alg 'none'", unsigned(object())],
      ['HS256 keyed with the public key', await sign(object(), new TextEncoder().encode(pem), 'HS256')],
      ['signed with the client key', await sign(object())],
    ];
    for (const [label, request] of requests) {
      const outer = new URLSearchParams({ client_id: app.client_id, response_type: 'code', redirect_uri: REDIRECT, scope: 'openid', request });
      const res = await fetch(`${server.issuer}/auth?${outer}`, { redirect: 'manual' });
      const back = new URL(res.headers.get('location')!);
      t.equal(`${back.origin}${back.pathname}`, REDIRECT, `${label}: sent back to the app`);
      t.equal(back.searchParams.get('error'), 'request_not_supported', `${label}: request_not_supported`);
      t.notOk(back.searchParams.get('code'), `${label}: no code`);
    }
    const byUri = new URLSearchParams({ client_id: app.client_id, response_type: 'code', redirect_uri: REDIRECT, scope: 'openid', request_uri: 'https://evil.example/request.jwt' });
    const viaUri = new URL((await fetch(`${server.issuer}/auth?${byUri}`, { redirect: 'manual' })).headers.get('location')!);
    t.equal(viaUri.searchParams.get('error'), 'request_uri_not_supported', 'request_uri: request_uri_not_supported');

    const clientAuth = { client_assertion_type: JWT_BEARER, client_assertion: await sign(claims(app.client_id, { aud: server.issuer })) };
    const par = await postForm(`${server.issuer}/request`, { client_id: app.client_id, request: unsigned(object()), ...clientAuth });
    t.equal(par.status, 400, 'pushed authorization request with a request object: 400');
    t.equal(par.body.error, 'request_not_supported');
    const discovery = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    t.notOk(discovery.request_parameter_supported, 'discovery does not offer the request parameter');
    t.equal(discovery.request_uri_parameter_supported, false, 'nor request_uri');
  });
});
