// Secrets stay out of the logs. The real server (src/main.ts) runs in its own process at LOG_LEVEL=trace while a
// representative run goes through it: sign-up with an activation code, sign-in, a wrong password, password reset,
// authorization code flows with PKCE (public, client_secret_basic, private_key_jwt), token, refresh, introspection,
// revocation, client_credentials with a secret (basic and post, and a wrong one) and with a signed assertion, FHIR
// reads with Bearer (and a token in the query string), client management with the registration access token,
// end-session with an id_token_hint, the sandbox pages (register an app, launch simulator, token inspector),
// malformed bodies carrying secrets, and the portal's connected-apps page. Every secret value sent or received is
// collected; none may appear anywhere in what the process wrote to stdout or stderr.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import Fastify from 'fastify';
import t from 'tap';
import { loggableUrl, loggerOptions } from '../../src/logging.js';
import { FhirService } from '../../src/fhir/service.js';
import { createPortalServices } from '../../src/portal/services.js';
import { openDb } from '../../src/store/db.js';
import { ResourceStore } from '../../src/store/resources.js';
import { CookieJar, authorizeInBrowser } from '../helpers/browser-flow.js';
import { createTestDatabase } from '../helpers/database.js';
import { startServer, until } from '../helpers/server-process.js';
import { freePort } from '../helpers/smart-server.js';
import { SEED_DIR, seedPatients } from '../portal/fixtures.js';

const REDIRECT = 'http://127.0.0.1:9/callback';
const DEMO_REDIRECT = 'http://localhost:3000/callback';

/** Every secret the run sent or received, by what it is. */
class Secrets {
  readonly values = new Map<string, string>();
  keep(label: string, value: string | undefined | null): string {
    if (!value) throw new Error(`no value for ${label}`);
    if (value.length >= 6 && ![...this.values.values()].includes(value)) this.values.set(`${label} #${this.values.size + 1}`, value);
    return value;
  }
}

/** A browser's cookie jar that also keeps every cookie value it is handed. */
class RecordingJar extends CookieJar {
  constructor(private readonly secrets: Secrets) {
    super();
  }
  override store(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const pair = c.split(';')[0]!;
      const eq = pair.indexOf('=');
      const value = pair.slice(eq + 1);
      if (value) this.secrets.keep(`cookie ${pair.slice(0, eq)}`, value);
    }
    super.store(res);
  }
}

const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
const b64url = (b: Buffer) => b.toString('base64url');

t.test('a full run at LOG_LEVEL=trace logs no password, code, token, client secret, cookie, Authorization header, CSRF token or client assertion', async (t) => {
  const database = await createTestDatabase({ file: true });
  t.teardown(() => database.close());
  const dir = mkdtempSync(join(tmpdir(), 'log-secrets-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // A small data set: every seed Patient and Maria's observations (the demo accounts need the Patients).
  const maria = JSON.parse(readFileSync(join(SEED_DIR, '01-maria-garcia.json'), 'utf8')) as { entry: { resource: Record<string, unknown> }[] };
  const observations = maria.entry
    .map((e) => e.resource)
    .filter((r) => r.resourceType === 'Observation')
    .slice(0, 20)
    .map(({ encounter: _e, performer: _p, hasMember: _h, derivedFrom: _d, ...rest }) => rest);
  writeFileSync(join(dir, 'seed.ndjson'), [...seedPatients(), ...observations].map((r) => JSON.stringify(r)).join('\n'));

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = startServer({ DATABASE_URL: database.url, PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: base, LOG_LEVEL: 'trace', SEED_DIR: dir, SANDBOX: 'true', REVOCATION_POLL_MS: '100', EXPORT_DIR: join(dir, 'exports') });
  let log = '';
  server.child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  server.child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  t.teardown(() => {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
  });
  await until('the server listening', () => server.lines.some((l) => l.msg?.startsWith('Server listening')), 60_000);

  const s = new Secrets();
  /** dchen's password, once set by the portal tests */
  let patientPassword = '';
  const jar = new RecordingJar(s);
  /** A request as a browser sends it (cookies kept); pages' CSRF tokens are collected. */
  const browse = async (path: string, init: { method?: string; form?: Record<string, string | string[]>; headers?: Record<string, string> } = {}) => {
    const body = init.form ? new URLSearchParams(Object.entries(init.form).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x): [string, string] => [k, x]))).toString() : undefined;
    const res = await fetch(new URL(path, base), {
      method: init.method ?? (body ? 'POST' : 'GET'),
      redirect: 'manual',
      headers: { cookie: jar.header(), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...init.headers },
      ...(body ? { body } : {}),
    });
    jar.store(res);
    const html = await res.text();
    const csrf = csrfOf(html);
    if (csrf) s.keep('csrf token', csrf);
    return { status: res.status, html, location: res.headers.get('location'), csrf };
  };
  const postForm = async (pagePath: string, action: string, fields: Record<string, string | string[]>) => {
    const page = await browse(pagePath);
    return browse(action, { form: { _csrf: page.csrf!, ...fields } });
  };
  const api = async (path: string, init: { method?: string; headers?: Record<string, string>; body?: string; form?: Record<string, string> } = {}) => {
    const body = init.form ? new URLSearchParams(init.form).toString() : init.body;
    const res = await fetch(new URL(path, base), {
      method: init.method ?? (body !== undefined ? 'POST' : 'GET'),
      headers: { ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...init.headers },
      ...(body !== undefined ? { body } : {}),
    });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // a page, not JSON
    }
    return { status: res.status, json, text };
  };
  const bearer = (token: string) => s.keep('authorization header', `Bearer ${token}`);
  const basic = (id: string, secret: string) => s.keep('authorization header', `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`);
  const keepTokens = (label: string, json: Record<string, unknown>) => {
    for (const k of ['access_token', 'refresh_token', 'id_token'] as const) if (typeof json[k] === 'string') s.keep(`${label} ${k}`, json[k]);
  };

  /** Authorization code flow with PKCE through the sign-in and consent pages; returns the token response. */
  const codeFlow = async (clientId: string, redirect: string, user: { username: string; password: string }, scope: string, clientAuth: Record<string, string> = {}, form: Record<string, string> = {}) => {
    const verifier = s.keep('code_verifier', b64url(randomBytes(32)));
    const state = s.keep('state', b64url(randomBytes(16)));
    const url = new URL(`${base}/auth/auth`);
    url.search = new URLSearchParams({ client_id: clientId, response_type: 'code', redirect_uri: redirect, scope, aud: `${base}/fhir`, state, code_challenge: b64url(createHash('sha256').update(verifier).digest()), code_challenge_method: 'S256' }).toString();
    const flowJar = new RecordingJar(s);
    const flow = await authorizeInBrowser(url.toString(), redirect, { username: user.username, password: user.password }, flowJar);
    for (const page of flow.pages) if (csrfOf(page)) s.keep('csrf token', csrfOf(page));
    const code = s.keep('authorization code', flow.callback.searchParams.get('code'));
    const res = await api('/auth/token', { headers: clientAuth, form: { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirect, ...form } });
    if (res.status !== 200) throw new Error(`code exchange ${res.status}: ${res.text}`);
    keepTokens('code exchange', res.json);
    return res.json as { access_token: string; refresh_token?: string; id_token?: string; patient?: string };
  };

  await t.test('portal accounts: sign-up with an activation code, sign-in, a wrong password, password reset', async (t) => {
    // The clinic's activation code, issued as `npm run activation-code` would, on a connection of our own.
    const db = openDb(database.target);
    const services = createPortalServices({ db, fhir: new FhirService(new ResourceStore(db), `${base}/fhir`) });
    const { code: activation } = await services.activation.issueActivationCode('david-chen');
    await db.close();
    s.keep('activation code', activation);
    const firstPassword = s.keep('password', `Sign-up ${b64url(randomBytes(9))}`);
    const signedUp = await postForm('/portal/signup', '/portal/signup', { activationCode: activation, birthDate: '1974-02-17', email: 'david@example.org', username: 'dchen', newPassword: firstPassword, confirmPassword: firstPassword });
    t.equal(signedUp.status, 303, `sign-up with the activation code (${signedUp.status})`);
    await postForm('/portal/apps', '/portal/logout', {});
    const wrong = await postForm('/portal/login', '/portal/login?next=/portal/apps', { username: 'dchen', password: s.keep('password (wrong)', `Wrong ${b64url(randomBytes(9))}`) });
    t.equal(wrong.status, 401, 'a wrong password is refused');
    const signedIn = await postForm('/portal/login', '/portal/login?next=/portal/apps', { username: 'dchen', password: firstPassword });
    t.equal(signedIn.status, 303, 'sign-in with the password');
    await postForm('/portal/apps', '/portal/logout', {});

    await postForm('/portal/forgot', '/portal/forgot', { login: 'dchen' });
    const mailbox = await browse('/dev/mailbox');
    const resetCode = s.keep('reset code', /Your code is: (\d{8})/.exec(mailbox.html)?.[1]);
    const newPassword = s.keep('password', `Reset ${b64url(randomBytes(9))}`);
    const reset = await postForm('/portal/reset', '/portal/reset', { username: 'dchen', code: resetCode, newPassword });
    t.equal(reset.status, 303, 'password reset with the mailed code');
    patientPassword = newPassword;
    s.keep('password', 'smart-demo');
  });

  await t.test('OAuth: code flows with PKCE, refresh, introspection, revocation, client credentials, client management, end-session', async (t) => {
    // A public app, registered with RFC 7591; its registration access token manages it.
    const reg = await api('/auth/reg', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_name: 'Log Test Public', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', scope: 'openid fhirUser launch/patient offline_access patient/*.rs' }) });
    t.equal(reg.status, 201, 'public app registered');
    const publicId = reg.json.client_id as string;
    const rat = s.keep('registration access token', reg.json.registration_access_token as string);
    t.equal((await api(`/auth/reg/${publicId}`, { headers: { authorization: bearer(rat) } })).status, 200, 'client read with the registration access token');

    const tokens = await codeFlow(publicId, REDIRECT, { username: 'dchen', password: patientPassword }, 'openid fhirUser launch/patient offline_access patient/*.rs', {}, { client_id: publicId });
    t.equal(tokens.patient, 'david-chen', 'public app: tokens for the signed-up patient');
    const refreshed = await api('/auth/token', { form: { grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: publicId } });
    t.equal(refreshed.status, 200, 'refresh');
    keepTokens('refresh', refreshed.json);
    for (const token of [tokens.access_token, refreshed.json.access_token as string]) {
      t.equal((await api('/fhir/Patient/david-chen', { headers: { authorization: bearer(token) } })).status, 200, 'FHIR read with Bearer');
      t.equal((await api('/fhir/Observation?patient=david-chen&_count=5', { headers: { authorization: bearer(token) } })).status, 200, 'FHIR search with Bearer');
    }
    t.equal((await api(`/fhir/Patient/david-chen?access_token=${encodeURIComponent(tokens.access_token)}`)).status, 401, 'a token in the query string is not accepted (and not logged)');
    t.equal((await api('/fhir/Patient/david-chen', { headers: { authorization: bearer(s.keep('made-up token', b64url(randomBytes(32)))) } })).status, 401, 'an unknown token is refused');
    const ended = await api(`/auth/session/end?id_token_hint=${encodeURIComponent(tokens.id_token!)}&client_id=${publicId}`);
    t.ok(ended.status < 500, `end-session with an id_token_hint (${ended.status})`);

    // The demo confidential app (client_secret_basic), as daniel with the demo password.
    const demoSecret = s.keep('client secret', 'demo-confidential-app-secret-change-me');
    const conf = await codeFlow('demo-confidential-app', DEMO_REDIRECT, { username: 'daniel', password: 'smart-demo' }, 'openid fhirUser launch/patient offline_access patient/*.rs', { authorization: basic('demo-confidential-app', demoSecret) });
    t.equal(conf.patient, 'daniel-kim', 'client_secret_basic app: tokens');
    const introspected = await api('/auth/token/introspection', { headers: { authorization: basic('demo-confidential-app', demoSecret) }, form: { token: conf.access_token } });
    t.equal(introspected.json.active, true, 'introspection');
    t.equal((await api('/auth/token/revocation', { headers: { authorization: basic('demo-confidential-app', demoSecret) }, form: { token: conf.refresh_token! } })).status, 200, 'revocation');

    // Backend services with a secret: basic, post, and a wrong secret.
    const backendSecret = s.keep('client secret', 'demo-backend-secret-change-me');
    const cc = await api('/auth/token', { headers: { authorization: basic('demo-backend', backendSecret) }, form: { grant_type: 'client_credentials', scope: 'system/Patient.rs' } });
    t.equal(cc.status, 200, 'client_credentials with client_secret_basic');
    keepTokens('client_credentials', cc.json);
    t.equal((await api('/fhir/Patient?_count=2', { headers: { authorization: bearer(cc.json.access_token as string) } })).status, 200, 'system read');
    const wrongSecret = s.keep('client secret (wrong)', `wrong-${b64url(randomBytes(12))}`);
    t.equal((await api('/auth/token', { headers: { authorization: basic('demo-backend', wrongSecret) }, form: { grant_type: 'client_credentials', scope: 'system/Patient.rs' } })).status, 401, 'a wrong secret is refused');
    const regPost = await api('/auth/reg', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_name: 'Log Test Post', grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_post', scope: 'system/Patient.rs' }) });
    t.equal(regPost.status, 201, 'client_secret_post backend registered');
    s.keep('registration access token', regPost.json.registration_access_token as string);
    const postSecret = s.keep('client secret', regPost.json.client_secret as string);
    const ccPost = await api('/auth/token', { form: { grant_type: 'client_credentials', scope: 'system/Patient.rs', client_id: regPost.json.client_id as string, client_secret: postSecret } });
    t.equal(ccPost.status, 200, 'client_credentials with client_secret_post');
    keepTokens('client_credentials', ccPost.json);

    // Backend services with a signed assertion (private_key_jwt).
    const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'log-test', alg: 'ES384', use: 'sig' };
    const regJwt = await api('/auth/reg', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_name: 'Log Test JWT', grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'ES384', jwks: { keys: [jwk] }, scope: 'system/Observation.rs' }) });
    t.equal(regJwt.status, 201, 'private_key_jwt backend registered');
    s.keep('registration access token', regJwt.json.registration_access_token as string);
    const jwtId = regJwt.json.client_id as string;
    const assertion = s.keep(
      'client assertion',
      await new SignJWT({}).setProtectedHeader({ alg: 'ES384', kid: 'log-test' }).setIssuer(jwtId).setSubject(jwtId).setAudience(`${base}/auth/token`).setJti(b64url(randomBytes(16))).setExpirationTime('5m').setIssuedAt().sign(privateKey),
    );
    const ccJwt = await api('/auth/token', { form: { grant_type: 'client_credentials', scope: 'system/Observation.rs', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion } });
    t.equal(ccJwt.status, 200, 'client_credentials with private_key_jwt');
    keepTokens('client_credentials', ccJwt.json);
    t.equal((await api('/fhir/Observation?_count=2', { headers: { authorization: bearer(ccJwt.json.access_token as string) } })).status, 200, 'system read with the private_key_jwt token');
    t.equal((await api('/auth/token', { form: { grant_type: 'client_credentials', scope: 'system/Observation.rs', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion } })).status, 401, 'a replayed assertion is refused');

    // Malformed bodies that carry secrets: their parse errors must not quote them.
    const inBadJson = s.keep('password (in a malformed body)', `Malformed ${b64url(randomBytes(9))}`);
    const badReg = await api('/auth/reg', { headers: { 'content-type': 'application/json' }, body: `{"client_name":"x","client_secret":"${inBadJson}"` });
    t.ok(badReg.status >= 400 && badReg.status < 500, `malformed registration refused (${badReg.status})`);
    const badFhir = await api('/fhir/Observation', { headers: { 'content-type': 'application/fhir+json', authorization: bearer(cc.json.access_token as string) }, body: `{"resourceType":"Observation","note":[{"text":"${inBadJson}"}]` });
    t.ok(badFhir.status >= 400 && badFhir.status < 500, `malformed FHIR body refused (${badFhir.status})`);
    const badToken = await api('/auth/token', { headers: { 'content-type': 'application/json' }, body: `{"grant_type":"password","password":"${inBadJson}"` });
    t.ok(badToken.status >= 400 && badToken.status < 500, `a token request with a JSON body is refused (${badToken.status})`);
  });

  await t.test('sandbox pages: register an app with a secret, launch simulator, token inspector; the connected-apps page', async (t) => {
    t.equal((await browse('/sandbox')).status, 200, 'sandbox home');
    const registered = await postForm('/sandbox/apps/new', '/sandbox/apps', { name: 'Log Test Secret App', kind: 'secret', redirectUris: REDIRECT, scopes: ['openid', 'fhirUser', 'launch', 'launch/patient', 'offline_access', 'patient/*.rs'], description: '', publisher: '', logoUri: '', tosUri: '', policyUri: '', launchUri: '', jwks: '', jwksUri: '', scopeText: '' });
    t.equal(registered.status, 201, 'app registered through the page');
    const clientId = /id="value-client-id">([^<]+)</.exec(registered.html)?.[1];
    const secret = s.keep('client secret (sandbox page)', /id="client-secret">([^<]+)</.exec(registered.html)?.[1]);
    t.ok(clientId && secret, 'the page shows the client_id and the secret once');
    const launched = await postForm('/sandbox/launch', '/sandbox/launches', { client_id: 'demo-confidential-app', patient: 'maria-garcia', signInAs: 'maria', skipConsent: '1', drill: 'none' });
    t.equal(launched.status, 303, 'simulator launch');
    const launchPage = await browse(launched.location!);
    t.equal(launchPage.status, 200, 'launch page');
    const launchId = launched.location!.split('/').pop()!;
    // The app's launch: EHR launch with that launch id; sign-in and consent are skipped by the simulator.
    const verifier = s.keep('code_verifier', b64url(randomBytes(32)));
    const url = new URL(`${base}/auth/auth`);
    url.search = new URLSearchParams({ client_id: 'demo-confidential-app', response_type: 'code', redirect_uri: DEMO_REDIRECT, scope: 'launch openid fhirUser patient/*.rs', aud: `${base}/fhir`, state: s.keep('state', b64url(randomBytes(16))), launch: launchId, code_challenge: b64url(createHash('sha256').update(verifier).digest()), code_challenge_method: 'S256' }).toString();
    const flow = await authorizeInBrowser(url.toString(), DEMO_REDIRECT, { username: 'maria', password: 'smart-demo' }, jar);
    const code = s.keep('authorization code', flow.callback.searchParams.get('code'));
    const tok = await api('/auth/token', { headers: { authorization: basic('demo-confidential-app', 'demo-confidential-app-secret-change-me') }, form: { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: DEMO_REDIRECT } });
    t.equal(tok.status, 200, 'the launch completes');
    keepTokens('simulator launch', tok.json);
    const inspected = await postForm('/sandbox/token', '/sandbox/token', { token: tok.json.access_token as string });
    t.equal(inspected.status, 200, 'token inspector');
    t.equal((await postForm('/sandbox/token', '/sandbox/token', { launch: launchId })).status, 200, "token inspector on this browser's launch");
    const revoke = await postForm(launched.location!, `${launched.location!}/revoke`, {});
    t.equal(revoke.status, 303, 'revoke from the launch page');

    const signIn = await postForm('/portal/login', '/portal/login?next=/portal/apps', { username: 'dchen', password: patientPassword });
    t.equal(signIn.status, 303, 'the new patient signs in to the portal');
    const apps = await browse('/portal/apps');
    const remove = /action="(\/portal\/apps\/[^"]+\/remove)"/.exec(apps.html)?.[1];
    t.ok(remove, 'his connected apps list the app he authorized');
    t.equal((await browse(remove!, { form: { _csrf: apps.csrf! } })).status, 303, 'remove access');
  });

  await t.test('the log holds none of them', async (t) => {
    server.child.kill('SIGTERM');
    await server.exited;
    const requests = log.split('\n').filter((l) => l.includes('"incoming request"')).length;
    t.ok(requests >= 60, `the log records the requests (${requests} requests, ${log.length} bytes)`);
    t.ok(log.includes('/fhir/Patient/david-chen'), 'and their paths (so the scan looks at real request lines)');
    t.ok(s.values.size >= 40, `${s.values.size} secret values collected`);
    const leaks: string[] = [];
    for (const [label, value] of s.values) {
      // Reset codes are 8 digits: only as a number of their own (timestamps hold many 8-digit runs).
      const found = /^\d+$/.test(value) ? new RegExp(`(?<!\\d)${value}(?!\\d)`).test(log) : log.includes(value) || log.includes(encodeURIComponent(value));
      if (found) leaks.push(`${label}: …${log.slice(Math.max(0, log.indexOf(value) - 120), log.indexOf(value) + value.length + 40)}…`);
      // A JWT's signature alone identifies it too.
      const signature = value.split('.').length === 3 ? value.split('.')[2]! : undefined;
      if (signature && signature.length > 20 && log.includes(signature) && !found) leaks.push(`${label} (signature)`);
    }
    t.same(leaks, [], 'no secret value appears in the log');
  });
});

t.test('loggable URLs: credential values go, FHIR search values stay', async (t) => {
  const cases: [string, string][] = [
    ['/auth/cb?code=abc123&state=xyz', '/auth/cb?code=[redacted]&state=[redacted]'],
    ['/fhir/Observation?code=http://loinc.org|718-7&patient=p1', '/fhir/Observation?code=http://loinc.org|718-7&patient=p1'],
    ['/fhir/MedicationRequest?authoredon=ge2024&access_token=t0k', '/fhir/MedicationRequest?authoredon=ge2024&access_token=[redacted]'],
    ['/portal/reset?code=12345678&newPassword=p&_csrf=c', '/portal/reset?code=[redacted]&newPassword=[redacted]&_csrf=[redacted]'],
    ['/auth/session/end?id_token_hint=a.b.c&client_id=app', '/auth/session/end?id_token_hint=[redacted]&client_id=app'],
    ['/auth/auth?client_id=app&launch=L1&client%5Fsecret=s', '/auth/auth?client_id=app&launch=[redacted]&client%5Fsecret=[redacted]'],
    ['/interaction/uid123/login', '/interaction/[redacted]/login'],
    ['/auth/auth/uid123', '/auth/auth/[redacted]'],
    ['/sandbox/launches/L1/revoke', '/sandbox/launches/[redacted]/revoke'],
    ['/fhir/Patient/p1', '/fhir/Patient/p1'],
  ];
  for (const [url, logged] of cases) t.equal(loggableUrl(url), logged, url);
});

t.test('headers, cookies and credential fields are redacted if ever logged', async (t) => {
  const lines: string[] = [];
  // The server's own logger settings, writing into `lines`.
  const app = Fastify({ logger: { ...(loggerOptions('trace') as object), stream: { write: (l: string) => void lines.push(l) } } });
  const log = app.log;
  log.info({ req: { headers: { authorization: 'Bearer SECRET-1', cookie: 'sid=SECRET-2', accept: 'text/html' } } }, 'request');
  log.info({ res: { headers: { 'set-cookie': 'sid=SECRET-3' } } }, 'response');
  log.info({ body: { username: 'maria', password: 'SECRET-4', client_secret: 'SECRET-5' } }, 'form');
  log.info({ form: { newPassword: 'SECRET-6', refresh_token: 'SECRET-7' } }, 'nested');
  const out = lines.join('');
  for (let i = 1; i <= 7; i++) t.notOk(out.includes(`SECRET-${i}`), `SECRET-${i} is not written`);
  t.ok(out.includes('text/html') && out.includes('maria'), 'the rest is');
});
