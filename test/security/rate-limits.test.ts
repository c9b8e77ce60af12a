// Rate limits are counted in the database, so they hold across instances. Two server processes (src/main.ts, as an
// operator starts them) share one database, a SQLite file or a PostgreSQL database, and every check spreads its
// requests over both. Requests come from different loopback addresses (127.0.0.x), so each check has an address of
// its own. Each limit answers 429 with Retry-After and the body of its part of the server; the windows end on time
// (checked in process, where the test moves the clock).
import { request } from 'node:http';
import t, { type Test } from 'tap';
import { seededDatabase, spawnServer } from '../helpers/seeded-server.js';
import { send, type Reply } from '../helpers/server-process.js';
import { startSmartServer } from '../helpers/smart-server.js';

const FORM = 'application/x-www-form-urlencoded';
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const BACKEND = basic('demo-backend', 'demo-backend-secret-change-me');
const BACKEND_TOKEN = { method: 'POST', headers: { authorization: BACKEND, 'content-type': FORM }, body: 'grant_type=client_credentials&scope=system%2F*.rs' };

/** One request on a connection of its own, from loopback address `from` (e.g. 127.0.0.12). */
const call = (url: string, from: string, opts: Parameters<typeof send>[1] = {}): Promise<Reply> => send(url, { ...opts, localAddress: from });

/** Retry-After is whole seconds within the one-minute window. */
function checkRetryAfter(t: Test, headers: Reply['headers']): void {
  const v = String(headers['retry-after']);
  t.match(v, /^\d+$/, `Retry-After is whole seconds (${v})`);
  t.ok(Number(v) >= 1 && Number(v) <= 60, 'within the one-minute window');
}

/** The 429 of an OAuth endpoint: oidc-provider's error body, invalid_request, saying it is a rate limit. */
function checkOAuthRefusal(t: Test, r: Reply, why: RegExp): void {
  t.equal(r.status, 429);
  t.match(r.headers['content-type'], /^application\/json/);
  t.equal(r.headers['cache-control'], 'no-store');
  checkRetryAfter(t, r.headers);
  const body = JSON.parse(r.body) as Record<string, unknown>;
  t.same(Object.keys(body).sort(), ['error', 'error_description'], 'the OAuth error shape');
  t.equal(body.error, 'invalid_request');
  t.match(body.error_description, why);
  t.match(body.error_description, /^rate limit exceeded: .*; retry after \d+ seconds$/);
}

t.test('two server processes on one database share every limit', async (t) => {
  const database = await seededDatabase(t);
  const env = { TOKEN_RATE_LIMIT: '4', TOKEN_CLIENT_RATE_LIMIT: '6', REGISTRATION_RATE_LIMIT: '2', SIGNIN_RATE_LIMIT: '2' };
  const [a, b] = await Promise.all([spawnServer(t, database, env), spawnServer(t, database, env)]);
  const both = [a.origin, b.origin];
  const on = (i: number) => both[i % 2]!;

  t.test('token endpoint: per address, one count over both instances; then introspection is refused too', async (t) => {
    const from = '127.0.0.11';
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(`${on(i)}/auth/token`, from, BACKEND_TOKEN)).status);
    t.same(statuses, [200, 200, 200, 200], 'four tokens, two from each instance');
    for (const origin of both) checkOAuthRefusal(t, await call(`${origin}/auth/token`, from, BACKEND_TOKEN), /too many requests from this address \(at most 4 per minute\)/);
    const introspect = await call(`${a.origin}/auth/token/introspection`, from, { method: 'POST', headers: { authorization: BACKEND, 'content-type': FORM }, body: 'token=x' });
    t.equal(introspect.status, 429, 'introspection shares the token endpoint budget');
    t.equal((await call(`${b.origin}/auth/token`, '127.0.0.12', BACKEND_TOKEN)).status, 200, 'another address is not affected');
  });

  t.test('token endpoint: per client, from any address and instance, whether the client is named by Basic, the form or client_assertion', async (t) => {
    let host = 100;
    const post = (i: number, headers: Record<string, string>, body: string) => call(`${on(i)}/auth/token`, `127.0.0.${host++}`, { method: 'POST', headers: { 'content-type': FORM, ...headers }, body });
    const seven = async (send: (i: number) => Promise<Reply>) => {
      const replies: Reply[] = [];
      for (let i = 0; i < 7; i++) replies.push(await send(i));
      return replies;
    };

    const ghost = await seven((i) => post(i, { authorization: basic('ghost-client', 'wrong') }, 'grant_type=client_credentials'));
    t.same(ghost.slice(0, 6).map((r) => r.status), Array(6).fill(401), 'Basic: six attempts as an unknown client are answered (invalid_client)');
    checkOAuthRefusal(t, ghost[6]!, /too many requests for this client_id \(at most 6 per minute\)/);

    const code = 'grant_type=authorization_code&client_id=demo-patient-app&code=not-a-code&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcallback&code_verifier=' + 'v'.repeat(64);
    const form = await seven((i) => post(i, {}, code));
    t.same(form.slice(0, 6).map((r) => r.status), Array(6).fill(400), 'form client_id: six answered');
    t.equal(JSON.parse(form[0]!.body).error, 'invalid_grant', 'the provider read the whole form after the limit looked at it: it got as far as the code');
    checkOAuthRefusal(t, form[6]!, /too many requests for this client_id/);

    // private_key_jwt: the assertion's sub names the client; counted before (and whether or not) it verifies.
    const claims = Buffer.from(JSON.stringify({ iss: 'jwt-client', sub: 'jwt-client', aud: `${a.origin}/auth/token`, jti: 'j', exp: 2e9 })).toString('base64url');
    const assertion = `grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=eyJhbGciOiJSUzM4NCJ9.${claims}.c2ln`;
    const jwt = await seven((i) => post(i, {}, assertion));
    t.notOk(jwt.slice(0, 6).some((r) => r.status === 429), 'client_assertion: six answered');
    checkOAuthRefusal(t, jwt[6]!, /too many requests for this client_id/);

    t.equal((await post(0, { authorization: BACKEND }, 'grant_type=client_credentials&scope=system%2F*.rs')).status, 200, 'another client is not affected');

    // A body in two chunks, without Content-Length: read to its end, counted, and handed on whole.
    const chunked = await new Promise<Reply>((resolve, reject) => {
      const req = request(`${a.origin}/auth/token`, { method: 'POST', headers: { 'content-type': FORM, 'transfer-encoding': 'chunked' }, agent: false, localAddress: `127.0.0.${host++}` }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.write('grant_type=client_credentials&client_id=chunked-client&');
      setTimeout(() => req.end('client_secret=x'), 50);
    });
    t.equal(chunked.status, 401, 'a chunked form reaches the provider');
    t.match(JSON.parse(chunked.body), { error: 'invalid_client' }, 'which read its client_id (an unknown client), so the whole form');
  });

  t.test('registration: per address over both instances', async (t) => {
    const from = '127.0.0.31';
    const register = (origin: string) =>
      call(`${origin}/auth/reg`, from, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_name: 'Limited', redirect_uris: ['http://127.0.0.1:9/cb'], token_endpoint_auth_method: 'none' }) });
    t.same([(await register(a.origin)).status, (await register(b.origin)).status], [201, 201]);
    checkOAuthRefusal(t, await register(a.origin), /too many requests from this address \(at most 2 per minute\)/);
  });

  t.test('portal forms: sign-in, sign-up with an activation code, self sign-up, reset request and reset, each per address over both instances, with a page', async (t) => {
    const from = '127.0.0.41';
    for (const path of ['/portal/login', '/portal/signup', '/portal/signup/self', '/portal/forgot', '/portal/reset']) {
      // Without a CSRF token each post is refused (403), but only after it was counted.
      const post = (origin: string) => call(`${origin}${path}`, from, { method: 'POST', headers: { 'content-type': FORM }, body: 'username=x&password=y' });
      t.same([(await post(a.origin)).status, (await post(b.origin)).status], [403, 403], `${path}: two posts answered`);
      const r = await post(a.origin);
      t.equal(r.status, 429, `${path}: the third is refused`);
      t.match(r.headers['content-type'], /^text\/html/);
      checkRetryAfter(t, r.headers);
      t.match(r.body, /Wait \d+ seconds, then try again/);
    }
  });

  t.test('sign-in lockout: five failures spread over both instances lock an account and an unknown username alike', async (t) => {
    let host = 60;
    // Each attempt from an address of its own, with its own CSRF cookie and token from the other instance.
    const attempt = async (i: number, username: string, password: string) => {
      const from = `127.0.0.${host++}`;
      const page = await call(`${on(i + 1)}/portal/login`, from);
      const cookie = ([] as string[]).concat(page.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
      const body = new URLSearchParams({ _csrf: csrf, username, password }).toString();
      const r = await call(`${on(i)}/portal/login`, from, { method: 'POST', headers: { 'content-type': FORM, cookie }, body });
      return r.status === 303 ? 'ok' : /Too many attempts/.test(r.body) ? 'locked' : /not right/.test(r.body) ? 'invalid' : `status ${r.status}`;
    };
    const six = (username: string) => Promise.all([0, 1, 2, 3, 4, 5].map(async (i) => [i, await attempt(i, username, `wrong-password-${i}`)] as const));
    // In parallel per username, then ordered: the count is atomic, so exactly the fifth and sixth are locked out.
    const [known, unknown] = await Promise.all([six('maria'), six('nobody-here')]);
    const sorted = (r: readonly (readonly [number, string])[]) => r.map(([, v]) => v).sort();
    const expected = ['invalid', 'invalid', 'invalid', 'invalid', 'locked', 'locked'];
    t.same(sorted(known), expected, 'an account: four refused, then locked');
    t.same(sorted(unknown), expected, 'an unknown username exactly the same');
    t.equal(await attempt(0, 'maria', 'smart-demo'), 'locked', 'the right password is refused while locked, on either instance');
    t.equal(await attempt(1, 'maria', 'smart-demo'), 'locked');
    t.equal(await attempt(0, 'daniel', 'smart-demo'), 'ok', 'another account signs in');
  });
});

t.test('windows end: after a minute (on the server clock) each limit lets requests in again', async (t) => {
  let offset = 0;
  const clock = () => Date.now() + offset;
  const server = await startSmartServer(t, { clock, env: { TOKEN_RATE_LIMIT: '2', REGISTRATION_RATE_LIMIT: '1', SIGNIN_RATE_LIMIT: '1' } });
  const token = () => fetch(`${server.issuer}/token`, BACKEND_TOKEN).then((r) => r.status);
  const register = () =>
    fetch(`${server.issuer}/reg`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_name: 'W', redirect_uris: ['http://127.0.0.1:9/cb'], token_endpoint_auth_method: 'none' }) }).then((r) => r.status);
  const signIn = () => fetch(`${server.base}/portal/login`, { method: 'POST', headers: { 'content-type': FORM }, body: 'username=x' }).then((r) => r.status);
  t.same([await token(), await token(), await token()], [200, 200, 429]);
  t.same([await register(), await register()], [201, 429]);
  t.same([await signIn(), await signIn()], [403, 429]);
  offset += 59_000;
  t.same([await token(), await register(), await signIn()], [429, 429, 429], 'still refused a second before the minute ends');
  offset += 1_000;
  t.same([await token(), await register(), await signIn()], [200, 201, 403], 'answered again when the minute has passed');
});
