// GET /metrics: Prometheus text behind METRICS_TOKEN (off without it, 401 without the right token), and counters
// that move by exactly what was done: FHIR reads and searches, a token issued, a consent given and one refused, a
// grant revoked (active grants, revocation lag). Labels carry route patterns and fixed names, never a URL or an id.
// Last, WORKERS=2: one scrape shows both workers' requests together.
import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import t from 'tap';
import { loadConfig } from '../../src/config.js';
import { authorizeInBrowser } from '../helpers/browser-flow.js';
import { createTestDatabase, usingPostgres } from '../helpers/database.js';
import { hasSample, parseExposition, sampleSum, type Exposition } from '../helpers/prometheus.js';
import { send, startServer, until } from '../helpers/server-process.js';
import { REDIRECT, authorize, fhirGet, freePort, oidcConfig, registerClient, startSmartServer } from '../helpers/smart-server.js';

const TOKEN = randomBytes(24).toString('hex');
const HTTP = 'smart_http_request_duration_seconds_count';

async function scrape(server: { base: string }, token = TOKEN): Promise<Exposition> {
  const res = await fetch(`${server.base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`scrape answered ${res.status}: ${text}`);
  if (!/^text\/plain; version=0\.0\.4/.test(res.headers.get('content-type') ?? '')) throw new Error(`content-type ${res.headers.get('content-type')}`);
  return parseExposition(text);
}

t.test('a METRICS_TOKEN too short to be secret stops the start with a message naming it', async (t) => {
  t.throws(() => loadConfig({ METRICS_TOKEN: 'secret' }), { name: 'ConfigError', message: /METRICS_TOKEN must be at least 32 printable characters/ });
  t.throws(() => loadConfig({ METRICS_TOKEN: `${TOKEN} ${TOKEN}` }), { name: 'ConfigError' }, 'nor with a space inside');
  t.equal(loadConfig({ METRICS_TOKEN: TOKEN }).metricsToken, TOKEN, 'a long random token is taken');
  t.equal(loadConfig({}).metricsToken, undefined, 'unset: off');
});

t.test('without METRICS_TOKEN there is no /metrics', async (t) => {
  const server = await startSmartServer(t, { seed: false });
  const res = await fetch(`${server.base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  t.equal(res.status, 404, 'the endpoint does not exist');
});

t.test('metrics', async (t) => {
  const server = await startSmartServer(t, { env: { METRICS_TOKEN: TOKEN } });

  t.test('a missing or wrong token is refused with 401', async (t) => {
    for (const [what, headers] of [
      ['no header', {}],
      ['a wrong token', { authorization: `Bearer ${TOKEN.slice(0, -1)}x` }],
      ['a longer token', { authorization: `Bearer ${TOKEN}x` }],
      ['another scheme', { authorization: `Basic ${TOKEN}` }],
    ] as const) {
      const res = await fetch(`${server.base}/metrics`, { headers });
      t.equal(res.status, 401, what);
      t.match(res.headers.get('www-authenticate'), /^Bearer /, `${what}: WWW-Authenticate names the scheme`);
      t.notMatch(await res.text(), /smart_/, `${what}: no metrics in the refusal`);
    }
    const ok = await fetch(`${server.base}/metrics`, { headers: { authorization: `bearer ${TOKEN}` } });
    t.equal(ok.status, 200, 'the right token, scheme in any case, is let in');
  });

  t.test('the exposition parses strictly and carries every metric the operator needs', async (t) => {
    const e = await scrape(server);
    for (const [name, type] of [
      ['smart_http_request_duration_seconds', 'histogram'],
      ['smart_fhir_interactions_total', 'counter'],
      ['smart_oauth_tokens_issued_total', 'counter'],
      ['smart_oauth_active_grants', 'gauge'],
      ['smart_consent_decisions_total', 'counter'],
      ['smart_revocation_lag_seconds', 'histogram'],
      ['smart_db_query_duration_seconds', 'histogram'],
      ['smart_audit_queue_depth', 'gauge'],
      ['nodejs_eventloop_lag_seconds', 'gauge'],
      ['process_resident_memory_bytes', 'gauge'],
    ] as const) {
      t.equal(e.types.get(name), type, `${name} is a ${type}`);
    }
    t.ok(sampleSum(e, 'smart_db_query_duration_seconds_count') > 0, 'database statements were timed');
    t.ok(hasSample(e, 'smart_audit_queue_depth', { queue: 'access' }) && hasSample(e, 'smart_audit_queue_depth', { queue: 'security' }), 'both audit queues are measured');
    if (usingPostgres) {
      t.ok(sampleSum(e, 'smart_db_pool_connections', { state: 'total' }) >= 1, 'PostgreSQL: the pool has connections');
      t.equal(e.types.get('smart_db_pool_waiting_requests'), 'gauge', 'PostgreSQL: and a waiting count');
    } else {
      t.notOk(e.types.has('smart_db_pool_connections'), 'SQLite: no pool to report');
    }
  });

  t.test('counters move by exactly what was done', async (t) => {
    const scope = 'openid fhirUser launch/patient patient/*.rs';
    const client = await registerClient(server, { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', scope });
    const config = await oidcConfig(server, client.client_id);
    const before = await scrape(server);

    const { tokens } = await authorize(server, config, { scope }, { username: 'daniel', password: 'smart-demo' });
    const reads = 5;
    for (let i = 0; i < reads; i++) t.equal((await fhirGet(server, '/Observation/daniel-kim-laboratory', tokens.access_token)).status, 200, `read ${i + 1}`);
    t.equal((await fhirGet(server, '/Observation?category=laboratory', tokens.access_token)).status, 200, 'a search');
    t.equal((await fhirGet(server, '/Patient/daniel-kim', tokens.access_token)).status, 200, 'a Patient read');
    t.equal((await fhirGet(server, '/Observation/no-such-id', tokens.access_token)).status, 404, 'a read of an unknown id');
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, aud: server.fhirBase, scope, code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256', state: 's' });
    const denied = await authorizeInBrowser(url.toString(), REDIRECT, { username: 'daniel', password: 'smart-demo', decision: 'deny' });
    t.equal(denied.callback.searchParams.get('error'), 'access_denied', 'a consent refused');

    const after = await scrape(server);
    const delta = (name: string, labels: Record<string, string> = {}) => sampleSum(after, name, labels) - sampleSum(before, name, labels);
    t.equal(delta('smart_fhir_interactions_total', { type: 'Observation', interaction: 'read' }), reads + 1, 'Observation reads: the five and the unknown id');
    t.equal(delta('smart_fhir_interactions_total', { type: 'Patient', interaction: 'read' }), 1, 'one Patient read');
    t.equal(delta('smart_fhir_interactions_total', { type: 'Observation', interaction: 'search-type' }), 1, 'one Observation search');
    t.equal(delta(HTTP, { method: 'GET', route: '/fhir/:type/:id', status_class: '2xx' }), reads + 1, 'HTTP: six reads answered 2xx on the read route');
    t.equal(delta(HTTP, { method: 'GET', route: '/fhir/:type/:id', status_class: '4xx' }), 1, 'HTTP: one 4xx on the read route');
    t.equal(delta(HTTP, { method: 'GET', route: '/fhir/:type' }), 1, 'HTTP: one search');
    t.equal(delta(HTTP, { method: 'POST', route: '/auth/token', status_class: '2xx' }), 1, 'HTTP: one token request, answered by the authorization server');
    t.equal(delta('smart_oauth_tokens_issued_total', { grant_type: 'authorization_code' }), 1, 'one token issued for an authorization code');
    t.equal(delta('smart_oauth_tokens_issued_total'), 1, 'and no other');
    t.equal(delta('smart_consent_decisions_total', { decision: 'allow' }), 1, 'one consent given');
    t.equal(delta('smart_consent_decisions_total', { decision: 'deny' }), 1, 'one consent refused');
    t.equal(delta('smart_oauth_active_grants'), 1, 'one more active grant');
    const sum = sampleSum(after, 'smart_http_request_duration_seconds_sum', { route: '/fhir/:type/:id' }) - sampleSum(before, 'smart_http_request_duration_seconds_sum', { route: '/fhir/:type/:id' });
    t.ok(sum > 0 && sum < 30, `the reads took time, and not forever (${sum.toFixed(4)} s)`);

    t.test('a revocation lowers the active grants and is timed when applied', async (t) => {
      const grantId = (await server.auth!.provider.AccessToken.find(tokens.access_token))!.grantId!;
      const lagBefore = sampleSum(await scrape(server), 'smart_revocation_lag_seconds_count');
      await server.auth!.revokeGrant(grantId);
      let now = await scrape(server);
      await until('the revocation log to be read', async () => sampleSum((now = await scrape(server)), 'smart_revocation_lag_seconds_count') > lagBefore, 10_000);
      t.equal(sampleSum(now, 'smart_oauth_active_grants'), sampleSum(after, 'smart_oauth_active_grants') - 1, 'one grant fewer');
      const lag = sampleSum(now, 'smart_revocation_lag_seconds_sum') / sampleSum(now, 'smart_revocation_lag_seconds_count');
      t.ok(lag >= 0 && lag < 5, `the mean lag is within the poll interval's reach (${(lag * 1000).toFixed(0)} ms)`);
    });
  });

  t.test('no URL, id or query string ever becomes a label', async (t) => {
    const marker = `m${randomBytes(6).toString('hex')}`;
    await fetch(`${server.base}/no/such/${marker}?q=${marker}`);
    await fetch(`${server.fhirBase}/Observation/${marker}`);
    await fetch(`${server.fhirBase}/${marker}/${marker}`);
    await fetch(`${server.issuer}/${marker}`);
    await fetch(`${server.issuer}/reg/${marker}`);
    await fetch(`${server.base}/interaction/${marker}`);
    const res = await fetch(`${server.base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const text = await res.text();
    t.notOk(text.includes(marker), 'the marker appears nowhere in the exposition');
    const e = parseExposition(text);
    const routes = new Set(e.samples.filter((s) => s.labels.route !== undefined).map((s) => s.labels.route!));
    for (const r of routes) t.match(r, /^(unmatched|\/[a-zA-Z0-9_.\-/:$*]*)$/, `route label ${r} is a pattern`);
    t.notOk([...routes].some((r) => /daniel|maria|\?/.test(r)), 'no patient id or query in any route label');
    t.ok(routes.has('unmatched'), 'a path no route serves is "unmatched"');
    t.ok(routes.has('/auth/*') && routes.has('/auth/reg/:clientId'), 'unknown authorization-server paths fold into patterns');
    const types = new Set(e.samples.filter((s) => s.name === 'smart_fhir_interactions_total').map((s) => s.labels.type!));
    t.ok(types.has('unknown'), 'an unknown resource type is counted as "unknown"');
    t.ok(e.samples.length < 2000, `the series stay few (${e.samples.length} samples)`);
  });

  t.test('health probes and scrapes leave their own series only', async (t) => {
    const before = await scrape(server);
    for (let i = 0; i < 3; i++) await fetch(`${server.base}/health/ready`);
    const after = await scrape(server);
    t.equal(sampleSum(after, HTTP, { route: '/health/ready' }) - sampleSum(before, HTTP, { route: '/health/ready' }), 3, 'three readiness probes counted');
    t.equal(sampleSum(after, HTTP, { route: '/metrics' }) - sampleSum(before, HTTP, { route: '/metrics' }), 1, 'the scrape in between counted once');
  });
});

t.test('with WORKERS=2 one scrape sums both workers', async (t) => {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const database = await createTestDatabase({ file: true });
  t.teardown(() => database.close());
  const server = startServer({ PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: database.url, WORKERS: '2', METRICS_TOKEN: TOKEN, SEED_DIR: '', LOG_LEVEL: 'warn' });
  t.teardown(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
  });
  await until('the workers to listen', async () => (await send(`${origin}/health/live`).catch(() => undefined))?.status === 200, 60_000);
  // Each request on a connection of its own: the primary hands connections to the workers in turn.
  const requests = 20;
  const before = await scrapeBySend(origin);
  for (let i = 0; i < requests; i++) t.equal((await send(`${origin}/fhir/metadata`)).status, 200);
  const after = await scrapeBySend(origin);
  t.equal(sampleSum(after, HTTP, { route: '/fhir/metadata' }) - sampleSum(before, HTTP, { route: '/fhir/metadata' }), requests, `all ${requests} requests counted, whichever worker answered them and the scrape`);
  t.ok(sampleSum(after, 'smart_fhir_interactions_total', { interaction: 'capabilities' }) >= requests, 'and the FHIR interactions too');
});

async function scrapeBySend(origin: string): Promise<Exposition> {
  const res = await send(`${origin}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  if (res.status !== 200) throw new Error(`scrape answered ${res.status}: ${res.body}`);
  return parseExposition(res.body);
}
