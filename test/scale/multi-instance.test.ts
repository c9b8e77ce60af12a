// Three server processes (src/main.ts, as separate hosts would run it) on one database behind one address behave as
// one server. They share PUBLIC_URL, so one issuer; a loopback balancer sends each request to the next instance in
// turn (no sticky sessions), or to a named one where a step must land on a particular instance. On PostgreSQL they
// also start at the same moment: one migration run, one key set, the demo seed data once. On SQLite (a file) the
// instances share the file as WORKERS on one host do; that start-up race is not theirs (the primary does the first
// start alone, and separate hosts cannot share a SQLite file), so there the first instance starts before the others.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import * as oidc from 'openid-client';
import t from 'tap';
import { authorizeInBrowser, CookieJar } from '../helpers/browser-flow.js';
import { createTestDatabase, exportDir, usingPostgres } from '../helpers/database.js';
import { PIN, startLoadBalancer, type LoadBalancer } from '../helpers/load-balancer.js';
import { REPO_ROOT, runScript } from '../helpers/run-script.js';
import { startServer, until, type ServerProcess } from '../helpers/server-process.js';
import { freePort, REDIRECT } from '../helpers/smart-server.js';

const INSTANCES = 3;
/** KEYS_RELOAD_SECONDS for these instances: a rotation is published within it, and signs within twice it */
const KEYS_RELOAD_SECONDS = 1;
const REVOCATION_BOUND_MS = 1000;
// Slack over a stated bound for one poll round trip on CI's shared cores.
const SLACK_MS = 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const kidOf = (jwt: string) => (JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;

t.test('three server processes on one database behave as one server behind one address', async (t) => {
  const database = await createTestDatabase({ file: true, migrate: false });
  const exports = exportDir();
  const lb = await startLoadBalancer();
  const ports = await Promise.all(Array.from({ length: INSTANCES }, () => freePort()));
  lb.setInstances(ports);
  const servers: ServerProcess[] = [];
  t.teardown(async () => {
    for (const s of servers) s.child.kill('SIGTERM');
    await Promise.all(servers.map((s) => s.exited));
    await lb.close();
    await database.close();
    exports.remove();
  });
  const env = (i: number) => ({
    DATABASE_URL: database.url,
    PORT: String(ports[i]),
    HOST: '127.0.0.1',
    PUBLIC_URL: lb.base,
    EXPORT_DIR: exports.path,
    LOG_LEVEL: 'info',
    KEYS_RELOAD_SECONDS: String(KEYS_RELOAD_SECONDS),
    SIGNIN_RATE_LIMIT: '10000',
    TOKEN_RATE_LIMIT: '0',
    TOKEN_CLIENT_RATE_LIMIT: '0',
    REGISTRATION_RATE_LIMIT: '0',
  });
  const started = (s: ServerProcess) => s.lines.some((l) => l.msg?.startsWith('FHIR base'));
  const waitStarted = async (s: ServerProcess) => {
    await until('an instance to listen', () => {
      if (s.child.exitCode !== null) throw new Error(`an instance exited at start: ${s.stderr()}`);
      return started(s);
    }, 180_000);
  };
  const begin = Date.now();
  if (usingPostgres) {
    for (let i = 0; i < INSTANCES; i++) servers.push(startServer(env(i)));
  } else {
    servers.push(startServer(env(0)));
    await waitStarted(servers[0]!);
    for (let i = 1; i < INSTANCES; i++) servers.push(startServer(env(i)));
  }
  for (const s of servers) await waitStarted(s);
  t.comment(`${INSTANCES} instances listening after ${Date.now() - begin} ms`);

  /** A request through the balancer; `instance` pins it to one instance. */
  const call = (path: string, init: RequestInit & { instance?: number } = {}) => {
    const { instance, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (instance !== undefined) headers.set(PIN, String(instance));
    return fetch(new URL(path, lb.base), { ...rest, headers, redirect: 'manual' });
  };
  const count = async (table: string, where = '') => {
    const r = await sql<{ n: number | string }>`select count(*) as n from ${sql.raw(table)} ${sql.raw(where)}`.execute(database.db.kysely);
    return Number(r.rows[0]!.n);
  };

  t.test('start-up at the same moment: one migration run, exactly one key set, the seed data and demo accounts once', { skip: usingPostgres ? false : 'SQLite: instances sharing a file are WORKERS of one primary that does the first start alone, and separate hosts cannot share a SQLite file; so the instances here start one after the other' }, async (t) => {
    const lines = (msg: string) => servers.flatMap((s) => s.lines.filter((l) => l.msg === msg));
    t.equal(lines('database migrated').length, 1, 'exactly one instance ran the migrations');
    const migrations = readdirSync(join(REPO_ROOT, 'src/store/migrations')).filter((f) => /^\d{4}-.*\.(ts|js)$/.test(f) && !f.endsWith('.d.ts')).length;
    t.equal(await count('kysely_migration'), migrations, 'each migration is recorded once');
    t.same(
      (await database.db.kysely.selectFrom('signing_key').select(['alg']).execute()).map((r) => r.alg).sort(),
      ['ES256', 'RS256', 'cookie-secret'],
      'one signing key per algorithm and one cookie secret',
    );
    const seeded = lines('seeded an empty database') as unknown as { resources: number }[];
    t.equal(seeded.length, 1, 'exactly one instance seeded the empty database');
    t.ok(seeded[0]!.resources > 100, `the seed imported ${seeded[0]?.resources} resources`);
    t.equal(await count('resources'), seeded[0]!.resources, 'each seed resource is stored once');
    t.equal(await count('resource_versions'), seeded[0]!.resources, 'in one version: nothing was imported twice');
    t.equal(lines('created the sandbox demo accounts').length, 1, 'exactly one instance created the demo accounts');
    t.equal(await count('accounts'), 5, 'five demo accounts');
  });

  t.test('every instance publishes the same keys and one issuer', async (t) => {
    const docs = await Promise.all(ports.map((_, i) => call('/auth/.well-known/openid-configuration', { instance: i }).then((r) => r.json() as Promise<{ issuer: string }>)));
    t.same(new Set(docs.map((d) => d.issuer)), new Set([`${lb.base}/auth`]), 'one issuer: the balancer address');
    const jwks = await Promise.all(ports.map((_, i) => call('/auth/jwks', { instance: i }).then((r) => r.json() as Promise<{ keys: { kid: string }[] }>)));
    t.equal(new Set(jwks.map((j) => j.keys.map((k) => k.kid).sort().join(' '))).size, 1, 'the same JWKS from every instance');
  });

  // A public client registered on instance 0; the later steps run on the others.
  const reg = await call('/auth/reg', {
    instance: 0,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'Multi-instance app', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', scope: 'openid fhirUser launch/patient offline_access patient/*.rs' }),
  });
  const client = (await reg.json()) as { client_id: string; registration_client_uri: string; registration_access_token: string };
  const config = await oidc.discovery(new URL(`${lb.base}/auth`), client.client_id, {}, oidc.None(), { execute: [oidc.allowInsecureRequests] });
  const meta = config.serverMetadata();

  t.test('a client registered on one instance is known to all', async (t) => {
    t.equal(reg.status, 201);
    for (let i = 1; i < INSTANCES; i++) {
      const res = await call(new URL(client.registration_client_uri).pathname, { instance: i, headers: { authorization: `Bearer ${client.registration_access_token}` } });
      t.equal(res.status, 200, `instance ${i} reads the registration`);
      t.equal(((await res.json()) as { client_id: string }).client_id, client.client_id);
    }
  });

  /** An authorization through the balancer, each HTTP step on the next instance; returns the code and where it was issued. */
  const launch = async (username: string) => {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid fhirUser launch/patient offline_access patient/Patient.rs patient/Observation.rs',
      aud: `${lb.base}/fhir`,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const from = lb.routed.length;
    const flow = await authorizeInBrowser(url.toString(), REDIRECT, { username, password: 'smart-demo' }, new CookieJar());
    const steps = lb.routed.slice(from);
    const code = flow.callback.searchParams.get('code');
    if (!code) throw new Error(`no code: ${flow.callback}`);
    return { code, verifier, steps, issuedBy: steps.at(-1)!.instance };
  };
  const tokenAt = async (instance: number, form: Record<string, string>) => {
    const res = await call(meta.token_endpoint!, { instance, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: client.client_id, ...form }) });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  };
  const redeem = async (l: Awaited<ReturnType<typeof launch>>, instance: number) =>
    tokenAt(instance, { grant_type: 'authorization_code', code: l.code, redirect_uri: REDIRECT, code_verifier: l.verifier });
  const readAt = async (instance: number, token: string, path: string) => (await call(`/fhir/${path}`, { instance, headers: { authorization: `Bearer ${token}` } })).status;

  let refresh = '';
  let patient = '';
  t.test('an authorization started on one instance is finished on others, and its code redeemed at another', async (t) => {
    const l = await launch('maria');
    t.ok(l.steps.length >= 6, `the flow took ${l.steps.length} HTTP steps: ${l.steps.map((s) => `${s.method} ${s.path.split('?')[0]} @${s.instance}`).join(', ')}`);
    t.ok(l.steps.some((s) => s.method === 'POST' && s.path.endsWith('/login')), 'sign-in form included');
    t.ok(l.steps.some((s) => s.method === 'POST' && s.path.endsWith('/consent')), 'consent form included');
    t.ok(l.steps.every((s, i) => i === 0 || s.instance !== l.steps[i - 1]!.instance), 'each step went to a different instance than the one before');
    t.equal(new Set(l.steps.map((s) => s.instance)).size, INSTANCES, 'every instance served part of the flow');
    const other = (l.issuedBy + 1) % INSTANCES;
    const tokens = await redeem(l, other);
    t.equal(tokens.status, 200, `code issued by instance ${l.issuedBy} redeemed at instance ${other}`);
    refresh = tokens.body.refresh_token!;
    patient = tokens.body.patient!;
    t.ok(refresh && patient, 'with a refresh token and the patient in context');
    for (let i = 0; i < INSTANCES; i++) t.equal(await readAt(i, tokens.body.access_token!, `Patient/${patient}`), 200, `its access token reads at instance ${i}`);
  });

  t.test('a refresh token works at any instance', async (t) => {
    for (const i of [2, 0, 1, 2]) {
      const r = await tokenAt(i, { grant_type: 'refresh_token', refresh_token: refresh });
      t.equal(r.status, 200, `refreshed at instance ${i}`);
      refresh = r.body.refresh_token!;
      t.equal(await readAt((i + 1) % INSTANCES, r.body.access_token!, `Patient/${patient}`), 200, 'the new access token reads at the next instance');
    }
  });

  /** Polls the read at every instance but `except` until each refuses the token; returns ms per instance since `since`. */
  const refusedWithin = async (token: string, path: string, since: number) => {
    const ms: number[] = [];
    await Promise.all(
      ports.map(async (_, i) => {
        while ((await readAt(i, token, path)) !== 401) {
          if (Date.now() - since > 10_000) throw new Error(`instance ${i} still accepts the token after 10 s`);
          await sleep(20);
        }
        ms[i] = Date.now() - since;
      }),
    );
    return ms;
  };

  t.test(`a revocation on one instance is refused by every other within ${REVOCATION_BOUND_MS} ms`, async (t) => {
    const r = await tokenAt(1, { grant_type: 'refresh_token', refresh_token: refresh });
    refresh = r.body.refresh_token!;
    const token = r.body.access_token!;
    // Every instance has seen (and cached) the token before it is revoked.
    for (let i = 0; i < INSTANCES; i++) t.equal(await readAt(i, token, `Patient/${patient}`), 200, `instance ${i} accepts it first`);
    const res = await call(meta.revocation_endpoint!, { instance: 0, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: client.client_id, token }) });
    const at = Date.now();
    t.equal(res.status, 200, 'revoked at instance 0');
    const ms = await refusedWithin(token, `Patient/${patient}`, at);
    t.comment(`refused after ${ms.map((m, i) => `instance ${i}: ${m} ms`).join(', ')}`);
    for (let i = 1; i < INSTANCES; i++) t.ok(ms[i]! <= REVOCATION_BOUND_MS, `instance ${i} refused it within ${REVOCATION_BOUND_MS} ms (${ms[i]} ms)`);
  });

  t.test(`Remove access in the portal on one instance is refused by every other within ${REVOCATION_BOUND_MS} ms`, async (t) => {
    const l = await launch('daniel');
    const tokens = await redeem(l, 0);
    t.equal(tokens.status, 200);
    const token = tokens.body.access_token!;
    for (let i = 0; i < INSTANCES; i++) t.equal(await readAt(i, token, `Patient/${tokens.body.patient}`), 200, `instance ${i} accepts it first`);
    // Signed in on instance 0; the session, CSRF secret and pages then work on instance 1.
    const jar = new CookieJar();
    const loginPage = await call('/portal/login', { instance: 0 });
    jar.store(loginPage);
    const loginCsrf = /name="_csrf" value="([^"]+)"/.exec(await loginPage.text())![1]!;
    const signIn = await call('/portal/login?next=/portal/apps', { instance: 0, method: 'POST', headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: loginCsrf, username: 'daniel', password: 'smart-demo' }) });
    jar.store(signIn);
    t.equal(signIn.status, 303, 'signed in to the portal on instance 0');
    const apps = await call('/portal/apps', { instance: 1, headers: { cookie: jar.header() } });
    const html = await apps.text();
    t.equal(apps.status, 200, 'the connected-apps page on instance 1 knows the session');
    const remove = /action="(\/portal\/apps\/[^"]+\/remove)"/.exec(html)![1]!;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(html)![1]!;
    const res = await call(remove.replace(/&amp;/g, '&'), { instance: 1, method: 'POST', headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: csrf }) });
    const at = Date.now();
    t.equal(res.status, 303, 'access removed on instance 1');
    const ms = await refusedWithin(token, `Patient/${tokens.body.patient}`, at);
    t.comment(`refused after ${ms.map((m, i) => `instance ${i}: ${m} ms`).join(', ')}`);
    for (const i of [0, 2]) t.ok(ms[i]! <= REVOCATION_BOUND_MS, `instance ${i} refused it within ${REVOCATION_BOUND_MS} ms (${ms[i]} ms)`);
    for (const i of [0, 2]) t.equal((await tokenAt(i, { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token! })).status, 400, `instance ${i} refuses its refresh token`);
  });

  t.test(`npm run keys:rotate while they run: every instance publishes the new keys within KEYS_RELOAD_SECONDS (${KEYS_RELOAD_SECONDS} s) and signs with them within twice that (each plus ${SLACK_MS} ms for the reload and this poll on shared cores), never before every instance publishes them`, async (t) => {
    let refresh = (await redeem(await launch('maria'), 2)).body.refresh_token!;
    const rotated = await runScript('keys-rotate', [], { DATABASE_URL: database.url });
    t.equal(rotated.code, 0, rotated.stderr);
    const added = /Added signing keys: (.+)/.exec(rotated.stdout)![1]!.split(', ');
    const rs256 = added.find((k) => k.startsWith('rs256-'))!;
    const row = await database.db.kysely.selectFrom('signing_key').select('created_at').where('kid', '=', rs256).executeTakeFirstOrThrow();
    const since = Number(row.created_at);
    const publishedAt: (number | undefined)[] = [];
    const signedAt: (number | undefined)[] = [];
    const unpublished: string[] = [];
    while (signedAt.filter((x) => x !== undefined).length < INSTANCES) {
      if (Date.now() - since > 20_000) throw new Error(`not every instance signs with the new key after 20 s (published ${publishedAt}, signs ${signedAt})`);
      for (let i = 0; i < INSTANCES; i++) {
        if (publishedAt[i] === undefined) {
          const jwks = (await (await call('/auth/jwks', { instance: i })).json()) as { keys: { kid: string }[] };
          if (added.every((kid) => jwks.keys.some((k) => k.kid === kid))) publishedAt[i] = Date.now() - since;
        }
        if (signedAt[i] === undefined) {
          const r = await tokenAt(i, { grant_type: 'refresh_token', refresh_token: refresh });
          if (r.status !== 200) throw new Error(`refresh failed at instance ${i}: ${JSON.stringify(r.body)}`);
          refresh = r.body.refresh_token!;
          if (kidOf(r.body.id_token!) === rs256) {
            signedAt[i] = Date.now() - since;
            // A client that fetches the JWKS from any instance now can verify this ID token.
            for (let j = 0; j < INSTANCES; j++) {
              const jwks = (await (await call('/auth/jwks', { instance: j })).json()) as { keys: { kid: string }[] };
              if (!jwks.keys.some((k) => k.kid === rs256)) unpublished.push(`signed by ${i}, not in the JWKS of ${j}`);
            }
          }
        }
      }
      await sleep(50);
    }
    t.comment(`published after ${publishedAt.join(', ')} ms; signing after ${signedAt.join(', ')} ms`);
    for (let i = 0; i < INSTANCES; i++) {
      t.ok(publishedAt[i] !== undefined && publishedAt[i]! <= KEYS_RELOAD_SECONDS * 1000 + SLACK_MS, `instance ${i} published the new keys after ${publishedAt[i]} ms`);
      t.ok(signedAt[i]! <= 2 * KEYS_RELOAD_SECONDS * 1000 + SLACK_MS, `instance ${i} signed with the new key after ${signedAt[i]} ms`);
    }
    t.same(unpublished, [], 'whenever an instance signed with the new key, every instance already published it');
  });
});
