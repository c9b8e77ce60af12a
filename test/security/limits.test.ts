// Every limit the README's "Limits" section lists (src/limits.ts), crossed on purpose against the real server over
// HTTP: the client gets the 4xx the README names, in the words of the area it asked (an OperationOutcome from /fhir,
// an OAuth error from /auth, the HTML page from the portal, JSON elsewhere), and nothing past a limit is acted on.
// Also the regressions the fuzz test (fuzz.test.ts) found, each named after what it broke.
import { Agent, request } from 'node:http';
import t, { type Test } from 'tap';
import { LIMITS } from '../../src/limits.js';
import { backendToken } from '../helpers/bulk-client.js';
import { registerClient, startSmartServer, type SmartServer } from '../helpers/smart-server.js';
import { rawRequest } from './raw-http.js';

const FHIR = /^application\/fhir\+json/;

async function get(url: string, init: RequestInit = {}) {
  const res = await fetch(url, { redirect: 'manual', ...init });
  const text = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, json, headers: res.headers };
}

type Reply = Awaited<ReturnType<typeof get>>;

function isOutcome(t: Test, r: Reply, status: number, what: string) {
  t.equal(r.status, status, `${what}: ${status}`);
  t.match(r.type, FHIR, `${what}: application/fhir+json`);
  t.equal(r.json?.resourceType, 'OperationOutcome', `${what}: an OperationOutcome`);
  return ((r.json?.issue as { diagnostics?: string; expression?: string[] }[] | undefined) ?? [])[0] ?? {};
}

function isOAuthError(t: Test, r: Reply, status: number, what: string) {
  t.equal(r.status, status, `${what}: ${status}`);
  t.match(r.type, /^application\/json/, `${what}: JSON`);
  t.equal(r.json?.error, 'invalid_request', `${what}: invalid_request`);
}

function isPage(t: Test, r: Reply, status: number, what: string) {
  t.equal(r.status, status, `${what}: ${status}`);
  t.match(r.type, /^text\/html/, `${what}: an HTML page`);
  t.match(r.text, /<html/i, `${what}: the site's page`);
}

let server: SmartServer;
let token: string;
let writer: string;

t.before(async () => {
  server = await startSmartServer(t);
  token = await backendToken(server.issuer);
  const client = await registerClient(server, { client_name: 'Limits writer', grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_basic', scope: 'system/*.cruds' });
  writer = await backendToken(server.issuer, 'system/*.cruds', `${client.client_id}:${client.client_secret}`);
});

const bearer = () => ({ authorization: `Bearer ${token}` });

t.test(`a request line and headers over ${LIMITS.headerBytes} bytes get 431, in the area's words`, async (t) => {
  const big = 'x'.repeat(LIMITS.headerBytes + 100);
  const port = Number(new URL(server.base).port);
  for (const [path, check] of [
    ['/fhir/Patient', (r: Reply) => isOutcome(t, r, 431, '/fhir')],
    ['/auth/token', (r: Reply) => isOAuthError(t, r, 431, '/auth')],
    ['/portal/login', (r: Reply) => isPage(t, r, 431, '/portal')],
  ] as const) {
    const a = await rawRequest(port, Buffer.from(`GET ${path} HTTP/1.1\r\nHost: x\r\nX-Big: ${big}\r\n\r\n`));
    const text = a.body.toString();
    let json;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      json = undefined;
    }
    check({ status: a.status, type: a.headers['content-type'] ?? '', text, json, headers: new Headers() });
  }
});

t.test(`a request line and headers over Node's own ${LIMITS.parserHeaderBytes} bytes get 431 and the connection ends`, async (t) => {
  const port = Number(new URL(server.base).port);
  const a = await rawRequest(port, Buffer.from(`GET /fhir/Patient HTTP/1.1\r\nHost: x\r\nX-Big: ${'x'.repeat(LIMITS.parserHeaderBytes + 100)}\r\n\r\n`));
  t.equal(a.status, 431, '431');
  t.ok(a.body.length > 0, 'with an error body');
});

t.test('a JSON array posted to _search gets 415 (its entries were taken for form pairs: a 500)', async (t) => {
  isOutcome(t, await get(`${server.fhirBase}/Patient/_search`, { method: 'POST', headers: { ...bearer(), 'content-type': 'application/fhir+json' }, body: '[{"resourceType":"Patient"}]' }), 415, 'POST _search');
});

t.test(`a URL over ${LIMITS.urlBytes} bytes gets 414 in every area`, async (t) => {
  const q = `?x=${'a'.repeat(LIMITS.urlBytes)}`;
  const d = isOutcome(t, await get(`${server.fhirBase}/Patient${q}`, { headers: bearer() }), 414, '/fhir');
  t.match(d.diagnostics, /POST \[type\]\/_search/, 'the FHIR answer points at POST _search');
  isOAuthError(t, await get(`${server.issuer}/auth${q}`), 414, '/auth');
  isPage(t, await get(`${server.base}/portal/login${q}`), 414, '/portal');
  const other = await get(`${server.base}/healthz${q}`);
  t.equal(other.status, 414, 'elsewhere: 414');
  t.type(other.json?.message, 'string', 'elsewhere: a JSON error');
  t.equal((await get(`${server.fhirBase}/Patient?x=${'a'.repeat(LIMITS.urlBytes - 100)}`, { headers: bearer() })).status, 200, 'a URL just under the limit is served');
});

t.test(`more than ${LIMITS.parameters} query parameters get 400`, async (t) => {
  const many = (n: number) => Array.from({ length: n }, (_, i) => `given=a${i}`).join('&');
  isOutcome(t, await get(`${server.fhirBase}/Patient?${many(LIMITS.parameters + 1)}`, { headers: bearer() }), 400, 'query string');
  t.equal((await get(`${server.fhirBase}/Patient?${many(LIMITS.parameters)}`, { headers: bearer() })).status, 200, `${LIMITS.parameters} are served`);
  isOutcome(
    t,
    await get(`${server.fhirBase}/Patient/_search`, { method: 'POST', headers: { ...bearer(), 'content-type': 'application/x-www-form-urlencoded' }, body: many(LIMITS.parameters + 1) }),
    400,
    'a _search form',
  );
  isOAuthError(t, await get(`${server.issuer}/auth?${many(LIMITS.parameters + 1)}`), 400, '/auth');
  const params = { resourceType: 'Parameters', parameter: Array.from({ length: LIMITS.parameters + 1 }, () => ({ name: '_count', valueInteger: 1 })) };
  isOutcome(t, await get(`${server.fhirBase}/Patient/maria-garcia/$everything`, { method: 'POST', headers: { ...bearer(), 'content-type': 'application/fhir+json' }, body: JSON.stringify(params) }), 400, 'a Parameters body');
});

t.test(`more than ${LIMITS.orValues} comma-separated values in one search parameter get 400 naming it`, async (t) => {
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `p${i}`).join(',');
  const d = isOutcome(t, await get(`${server.fhirBase}/Patient?_id=${ids(LIMITS.orValues + 1)}`, { headers: bearer() }), 400, '_id');
  t.same(d.expression, ['_id'], 'the parameter is named');
  isOutcome(t, await get(`${server.fhirBase}/Observation?code=${ids(LIMITS.orValues + 1)}`, { headers: bearer() }), 400, 'a token parameter');
  t.equal((await get(`${server.fhirBase}/Patient?_id=${ids(LIMITS.orValues)}`, { headers: bearer() })).status, 200, `${LIMITS.orValues} are served`);
});

t.test(`more than ${LIMITS.includes} _include and _revinclude values get 400`, async (t) => {
  const inc = (n: number) => Array.from({ length: n }, () => '_include=Observation:patient').join('&');
  const d = isOutcome(t, await get(`${server.fhirBase}/Observation?${inc(LIMITS.includes + 1)}`, { headers: bearer() }), 400, 'includes');
  t.same(d.expression, ['_include'], 'the parameter is named');
  t.equal((await get(`${server.fhirBase}/Observation?${inc(LIMITS.includes)}`, { headers: bearer() })).status, 200, `${LIMITS.includes} are served`);
});

t.test(`_count above ${LIMITS.maxCount} is lowered to ${LIMITS.maxCount}`, async (t) => {
  for (const path of ['/Observation?_count=5000', '/Patient/maria-garcia/_history?_count=5000', '/Patient/maria-garcia/$everything?_count=5000']) {
    const r = await get(`${server.fhirBase}${path}`, { headers: bearer() });
    t.equal(r.status, 200, `${path}: served`);
    const self = ((r.json?.link as { relation: string; url: string }[]) ?? []).find((l) => l.relation === 'self')?.url ?? '';
    t.match(self, new RegExp(`_count=${LIMITS.maxCount}\\b`), `${path}: the self link says ${LIMITS.maxCount}`);
  }
});

t.test(`a FHIR JSON body over ${LIMITS.fhirJsonBodyBytes} bytes gets 413 and nothing is written`, async (t) => {
  const body = JSON.stringify({ resourceType: 'Patient', id: 'too-big', text: { status: 'generated', div: `<div>${'x'.repeat(LIMITS.fhirJsonBodyBytes)}</div>` } });
  isOutcome(t, await get(`${server.fhirBase}/Patient/too-big`, { method: 'PUT', headers: { authorization: `Bearer ${writer}`, 'content-type': 'application/fhir+json' }, body }), 413, 'PUT');
  t.equal((await get(`${server.fhirBase}/Patient/too-big`, { headers: bearer() })).status, 404, 'nothing was written');
});

t.test(`FHIR JSON nested more than ${LIMITS.fhirJsonDepth} deep gets 400 (it made a 500 when stored: JSON.stringify overflowed the stack)`, async (t) => {
  const nested = (depth: number) => `{"resourceType":"Patient","id":"deep","extension":[{"url":"http://x","extension":${'['.repeat(depth)}1${']'.repeat(depth)}}]}`;
  const d = isOutcome(t, await get(`${server.fhirBase}/Patient/deep`, { method: 'PUT', headers: { authorization: `Bearer ${writer}`, 'content-type': 'application/fhir+json' }, body: nested(200_000) }), 400, 'a deep body');
  t.match(d.diagnostics, new RegExp(`more than ${LIMITS.fhirJsonDepth} deep`), 'the answer says why');
  const shallow = await get(`${server.fhirBase}/Patient/deep`, { method: 'PUT', headers: { authorization: `Bearer ${writer}`, 'content-type': 'application/fhir+json' }, body: nested(LIMITS.fhirJsonDepth - 4) });
  t.not(shallow.status, 400, `a body ${LIMITS.fhirJsonDepth} deep is not refused for its depth (${shallow.status})`);
  const inString = JSON.stringify({ resourceType: 'Patient', id: 'brackets', name: [{ family: '['.repeat(1000) }] });
  t.equal((await get(`${server.fhirBase}/Patient/brackets`, { method: 'PUT', headers: { authorization: `Bearer ${writer}`, 'content-type': 'application/fhir+json' }, body: inString })).status, 201, 'brackets inside strings do not count');
});

t.test(`form bodies over ${LIMITS.formBodyBytes} bytes get 413`, async (t) => {
  const form = `given=${'a'.repeat(LIMITS.formBodyBytes)}`;
  isOutcome(t, await get(`${server.fhirBase}/Patient/_search`, { method: 'POST', headers: { ...bearer(), 'content-type': 'application/x-www-form-urlencoded' }, body: form }), 413, 'FHIR _search');
  isPage(t, await get(`${server.base}/portal/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `username=${'a'.repeat(LIMITS.formBodyBytes)}` }), 413, 'portal sign-in');
});

t.test(`token endpoint bodies over ${LIMITS.oauthBodyBytes} bytes get invalid_request as JSON (a public client's body answered Koa's plain-text "invalid_request")`, async (t) => {
  const body = `grant_type=refresh_token&refresh_token=x&pad=${'a'.repeat(LIMITS.oauthBodyBytes)}`;
  isOAuthError(t, await get(`${server.issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }), 400, 'without client authentication');
  isOAuthError(
    t,
    await get(`${server.issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('demo-backend:demo-backend-secret-change-me').toString('base64')}` }, body }),
    400,
    'with client authentication',
  );
});

t.test(`an authorization POST longer than the URL limit gets 414 (its redirect's Location header overflowed clients)`, async (t) => {
  const r = await get(`${server.issuer}/auth`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `scope=${'a'.repeat(LIMITS.urlBytes)}` });
  isOAuthError(t, r, 414, 'POST /auth/auth');
  t.equal(r.headers.get('location'), null, 'no redirect');
});

t.test(`a path segment over ${LIMITS.pathSegmentChars} characters gets 414 in the area's words`, async (t) => {
  isOutcome(t, await get(`${server.fhirBase}/Patient/${'a'.repeat(LIMITS.pathSegmentChars + 1)}`, { headers: bearer() }), 414, '/fhir');
  isPage(t, await get(`${server.base}/sandbox/apps/${'a'.repeat(LIMITS.pathSegmentChars + 1)}`), 414, '/sandbox');
});

t.test('an address nothing serves gets 404 in the area\'s words (oidc-provider answered plain text, the portal JSON)', async (t) => {
  isOAuthError(t, await get(`${server.issuer}/no-such-endpoint`), 404, '/auth');
  isOAuthError(t, await get(`${server.issuer}/jwks`, { method: 'POST' }), 404, 'a method an OAuth endpoint does not take');
  isPage(t, await get(`${server.base}/portal/no-such-page`), 404, '/portal');
  isPage(t, await get(`${server.base}/sandbox/no-such-page`), 404, '/sandbox');
  isOutcome(t, await get(`${server.fhirBase}/no/such/thing/here`, { headers: bearer() }), 404, '/fhir');
  const other = await get(`${server.base}/no-such-thing`);
  t.equal(other.status, 404, 'elsewhere: 404');
  t.type(other.json?.message, 'string', 'elsewhere: a JSON error');
});

t.test('paging cursors with numbers beyond 2^53 get 400 (PostgreSQL refused them as bigint: a 500)', async (t) => {
  for (const c of ['a.99999999999999999999.1', 'a.1.18446744073709551616', 'b.-99999999999999999999.1']) {
    isOutcome(t, await get(`${server.fhirBase}/Observation?_cursor=${Buffer.from(c).toString('base64url')}`, { headers: bearer() }), 400, `search cursor ${c}`);
  }
  isOutcome(t, await get(`${server.fhirBase}/Patient/maria-garcia/_history?_cursor=99999999999999999999`, { headers: bearer() }), 400, 'history cursor');
});

t.test('an operation\'s Parameters body with a null parameter gets 400 (it threw a TypeError: 500)', async (t) => {
  const body = JSON.stringify({ resourceType: 'Parameters', parameter: [null] });
  const headers = { ...bearer(), 'content-type': 'application/fhir+json' };
  isOutcome(t, await get(`${server.fhirBase}/Patient/maria-garcia/$everything`, { method: 'POST', headers, body }), 400, '$everything');
  isOutcome(t, await get(`${server.fhirBase}/DocumentReference/$docref`, { method: 'POST', headers, body }), 400, '$docref');
});

t.test('a NUL in a URL is answered and audited, and the audit trail goes on (PostgreSQL refused the event: every later FHIR answer was a 503)', async (t) => {
  const before = await get(`${server.fhirBase}/%00`, { headers: bearer() });
  t.ok(before.status >= 400 && before.status < 500, `GET /fhir/%00: ${before.status}`);
  for (const q of ['name=%00', 'code=%00', 'identifier=a%00%7Cb', '_lastUpdated=%00']) {
    const r = await get(`${server.fhirBase}/Patient?${q}`, { headers: bearer() });
    t.ok(r.status < 500, `a NUL in ${q.split('=')[0]}: ${r.status}`);
  }
  for (let i = 0; i < 3; i++) t.equal((await get(`${server.fhirBase}/Patient/maria-garcia`, { headers: bearer() })).status, 200, `a read afterwards is served (${i + 1})`);
});

t.test('an authorization POST sent as text/plain with characters a URL cannot hold is redirected, re-encoded (Node threw on the Location header: a 500)', async (t) => {
  const r = await get(`${server.issuer}/auth`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'client_id=demo-patient-app&state=é\u00ff\u2028' });
  t.equal(r.status, 303, '303');
  t.match(r.headers.get('location') ?? '', /^\/auth\/auth\?client_id=demo-patient-app&state=%C3%A9/, 'the form travels percent-encoded');
});

t.test('after a public client\'s oversized token body the connection closes instead of waiting for the unread rest (the next request on it hung until the request timeout)', async (t) => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const port = Number(new URL(server.base).port);
  const go = (method: string, path: string, body?: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path, agent, timeout: 10_000, headers: body ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length) } : {} }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
      req.on('error', reject);
      req.end(body);
    });
  t.equal(await go('POST', '/auth/token', `grant_type=refresh_token&pad=${'a'.repeat(200 * 1024)}`), 400, 'the oversized body is refused');
  const started = Date.now();
  t.equal(await go('GET', '/healthz'), 200, 'the next request is answered');
  t.ok(Date.now() - started < 5000, `at once (${Date.now() - started} ms)`);
});

t.test('a body sent to a page address nothing serves gets 413 as the HTML page (it was Fastify\'s JSON)', async (t) => {
  isPage(t, await get(`${server.base}/sandbox/token`, { method: 'DELETE', headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(LIMITS.formBodyBytes + 1) }), 413, 'DELETE /sandbox/token');
});

t.test('a body that stalls is cut off with 408 after REQUEST_TIMEOUT_SECONDS, and the server answers meanwhile', async (t) => {
  const slow = await startSmartServer(t, { env: { REQUEST_TIMEOUT_SECONDS: '1' }, seed: false });
  const port = Number(new URL(slow.base).port);
  const slowToken = await backendToken(slow.issuer);
  const stalled = rawRequest(port, Buffer.from(`POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nAuthorization: Bearer ${slowToken}\r\nContent-Length: 100\r\n\r\n{"resource`), { timeoutMs: 10_000 });
  t.equal((await get(`${slow.base}/healthz`)).status, 200, 'the server answers others while the body stalls');
  const a = await stalled;
  t.equal(a.status, 408, `408 (after ${a.ms} ms)`);
  t.ok(a.ms < 5000, 'within a few seconds of the 1 s limit');
  t.match(a.headers['content-type'], FHIR, 'as an OperationOutcome');
});

