// Signing keys, cookie secrets and client secrets are encrypted at rest under SECRETS_KEY: the database rows hold no
// private key material and no client secret, while the server still signs tokens and authenticates clients. Rows
// written before the key was set are encrypted at the next start; a wrong or missing key stops the start with a
// message saying which key is needed; SECRETS_KEY_PREVIOUS rotates to a new key (or, alone, back to plaintext); and
// without any key everything is stored as before.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import t, { type Test } from 'tap';
import { buildApp } from '../../src/app.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { openDb } from '../../src/store/db.js';
import { up as scrubTokenValues } from '../../src/store/migrations/2026-12-08T0012-secrets-at-rest.js';
import { createTestDatabase, exportDir, type TestDatabase } from '../helpers/database.js';
import { startServer } from '../helpers/server-process.js';
import { REDIRECT, authorize, freePort, oidcConfig, registerClient, startSmartServer, type SmartServer } from '../helpers/smart-server.js';

const K1 = randomBytes(32).toString('hex');
const K2 = randomBytes(32).toString('base64');
// Load shedding answers 503 when this process's event loop lags, which a busy test machine can cause; it is not what
// these tests are about.
const QUIET = { OVERLOAD_EVENT_LOOP_DELAY_MS: '0' };

interface RawRows {
  readonly keys: { kid: string; private_jwk: string }[];
  readonly clients: { id: string; payload: string }[];
  /** Everything stored, as text: the rows above and, on SQLite, the database file and its write-ahead log */
  readonly everything: string;
}

async function rawRows(database: TestDatabase): Promise<RawRows> {
  const keys = await database.db.kysely.selectFrom('signing_key').select(['kid', 'private_jwk']).execute();
  const clients = await database.db.kysely.selectFrom('oidc_model').select(['id', 'payload']).where('model', '=', 'Client').execute();
  const all = await database.db.kysely.selectFrom('oidc_model').select(['payload']).execute();
  const file = database.target.kind === 'sqlite' ? database.target.filename : undefined;
  const files = file ? [file, `${file}-wal`].filter(existsSync).map((f) => readFileSync(f).toString('latin1')) : [];
  return { keys, clients, everything: [...keys.map((k) => k.private_jwk), ...all.map((r) => r.payload), ...files].join('\n') };
}

/** A confidential backend client (client_secret_basic) and an app whose ID tokens are signed with the stored keys. */
async function registerClients(server: SmartServer) {
  const backend = await registerClient(server, { client_name: 'Secret Backend', grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_basic', scope: 'system/Patient.rs' });
  const app = await registerClient(server, { client_name: 'Secret App', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'client_secret_post', scope: 'openid fhirUser launch/patient offline_access patient/*.rs' });
  return {
    backend: { id: backend.client_id, secret: backend.client_secret! },
    app: { id: app.client_id, secret: app.client_secret! },
    registrationTokens: [backend.registration_access_token as string, app.registration_access_token as string],
  };
}

type Clients = Awaited<ReturnType<typeof registerClients>>;

/** The server authenticates both clients with their secrets, signs an ID token its JWKS verifies, and serves FHIR; returns the tokens it issued. */
async function works(t: Test, server: SmartServer, clients: Clients, label: string): Promise<string[]> {
  const basic = `Basic ${Buffer.from(`${clients.backend.id}:${clients.backend.secret}`).toString('base64')}`;
  const cc = await fetch(`${server.issuer}/token`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&scope=system%2FPatient.rs' });
  const ccBody = (await cc.json()) as { access_token: string };
  t.equal(cc.status, 200, `${label}: the backend client authenticates with its secret${cc.status === 200 ? '' : ` (${JSON.stringify(ccBody)})`}`);
  const token = ccBody.access_token;
  t.equal((await fetch(`${server.fhirBase}/Patient`, { headers: { authorization: `Bearer ${token}` } })).status, 200, `${label}: and reads with its token`);
  const wrong = await fetch(`${server.issuer}/token`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${clients.backend.id}:not-the-secret`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&scope=system%2FPatient.rs' });
  t.equal(wrong.status, 401, `${label}: a wrong secret is still refused`);
  const appConfig = await oidcConfig(server, clients.app.id, oidc.ClientSecretPost(clients.app.secret));
  const { tokens } = await authorize(server, appConfig, { scope: 'openid fhirUser launch/patient offline_access patient/*.rs' }, { username: 'daniel', password: 'smart-demo' });
  const verified = await jwtVerify(tokens.id_token!, createRemoteJWKSet(new URL(`${server.issuer}/jwks`)), { issuer: server.issuer, audience: clients.app.id });
  t.ok(verified.payload.sub, `${label}: the ID token is signed with a key the JWKS publishes`);
  const refreshed = await oidc.refreshTokenGrant(appConfig, tokens.refresh_token!);
  t.ok(refreshed.access_token, `${label}: the app refreshes, authenticating with its secret`);
  return [token, tokens.access_token, tokens.refresh_token!, refreshed.access_token, refreshed.refresh_token!];
}

/** The app built on the database with `env`: resolves when it starts, rejects with the start-up error. */
async function startFails(database: TestDatabase, env: Record<string, string>): Promise<Error> {
  const db = openDb(database.target);
  const exports = exportDir();
  try {
    const config = { ...loadConfig({ PUBLIC_URL: 'http://127.0.0.1:1', SEED_DIR: '', EXPORT_DIR: exports.path, ...env }), database: database.target };
    const app = await buildApp({ config, db, logger: false });
    await app.server.close();
    throw new Error('the server started');
  } catch (err) {
    return err as Error;
  } finally {
    await db.close();
    exports.remove();
  }
}

t.test('with SECRETS_KEY the database holds no private key and no client secret, and the server still signs and authenticates', async (t) => {
  const database = await createTestDatabase({ file: true });
  t.teardown(() => database.close());
  const s = await startSmartServer(t, { database, env: { ...QUIET, SECRETS_KEY: K1 } });
  const clients = await registerClients(s);
  const tokens = await works(t, s, clients, 'with SECRETS_KEY');
  const raw = await rawRows(database);
  t.ok(raw.keys.length >= 3, `${raw.keys.length} signing keys and cookie secrets stored`);
  t.ok(raw.keys.every((k) => k.private_jwk.startsWith('enc:v1:')), 'every one is stored encrypted');
  t.notOk(/"d":|"k":|"p":|"q":/.test(raw.keys.map((k) => k.private_jwk).join('')), 'no private JWK member is readable in them');
  for (const c of [clients.backend, clients.app]) t.notOk(raw.everything.includes(c.secret), `client ${c.id}: the secret appears nowhere in what is stored${database.target.kind === 'sqlite' ? ' (database file and WAL included)' : ''}`);
  const stored = raw.clients.map((c) => JSON.parse(c.payload) as { client_secret?: string }).filter((p) => p.client_secret);
  t.equal(stored.length, 2, 'both clients keep a secret');
  t.ok(stored.every((p) => p.client_secret!.startsWith('enc:v1:')), 'encrypted');
  // Tokens are kept as hashes of themselves (key or not): their values are not in the rows either.
  const live = [...tokens, ...clients.registrationTokens];
  t.same(live.filter((v) => raw.everything.includes(v)), [], `none of the ${live.length} access, refresh and registration access tokens issued is stored`);
  await s.stop();
});

t.test('plaintext rows from before the key are read, then encrypted at the next start; a wrong or missing key stops the start; SECRETS_KEY_PREVIOUS rotates', async (t) => {
  const database = await createTestDatabase({ file: true });
  t.teardown(() => database.close());

  const first = await startSmartServer(t, { database, env: QUIET });
  const clients = await registerClients(first);
  await works(t, first, clients, 'without a key');
  const jwks = await (await fetch(`${first.issuer}/jwks`)).json();
  await first.stop();
  let raw = await rawRows(database);
  t.ok(raw.keys.every((k) => k.private_jwk.startsWith('{')), 'without a key, keys are stored as before (plaintext JSON)');
  t.ok(raw.everything.includes(clients.backend.secret), 'and so are client secrets');

  const second = await startSmartServer(t, { database, env: { ...QUIET, SECRETS_KEY: K1 }, seed: false });
  t.same(await (await fetch(`${second.issuer}/jwks`)).json(), jwks, 'with the key: the same signing keys');
  await works(t, second, clients, 'after setting SECRETS_KEY');
  await second.stop();
  raw = await rawRows(database);
  t.ok(raw.keys.every((k) => k.private_jwk.startsWith('enc:v1:')), 'the start encrypted every stored key');
  t.notOk(raw.clients.some((c) => c.payload.includes(clients.backend.secret) || c.payload.includes(clients.app.secret)), 'and every client secret');

  const wrong = await startFails(database, { SECRETS_KEY: K2 });
  t.type(wrong, ConfigError, 'a wrong key stops the start as a configuration error');
  t.match(wrong.message, /encrypted with another key \(key id [\w-]{8}\).*SECRETS_KEY_PREVIOUS/, `it says so: ${wrong.message}`);
  const none = await startFails(database, {});
  t.type(none, ConfigError, 'no key stops it too');
  t.match(none.message, /encrypted \(key id [\w-]{8}\), but SECRETS_KEY is not set/, `and says so: ${none.message}`);

  // The real entry point: exit code 1 and the message on stderr, nothing else.
  const port = await freePort();
  const proc = startServer({ DATABASE_URL: database.url, PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: `http://127.0.0.1:${port}`, SEED_DIR: '', LOG_LEVEL: 'warn', SECRETS_KEY: K2 });
  t.teardown(() => {
    if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
  });
  t.equal(await proc.exited, 1, 'npm start with the wrong key exits with 1');
  t.match(proc.stderr(), /Invalid configuration:\n\s+- the stored value at signing_key\/\S+ is encrypted with another key/, 'and prints what is wrong');
  t.notMatch(proc.stderr(), /\n\s+at /, 'without a stack trace');

  const rotated = await startSmartServer(t, { database, env: { ...QUIET, SECRETS_KEY: K2, SECRETS_KEY_PREVIOUS: K1 }, seed: false });
  await works(t, rotated, clients, 'rotating: SECRETS_KEY new, SECRETS_KEY_PREVIOUS old');
  await rotated.stop();
  const k2Only = await startSmartServer(t, { database, env: { ...QUIET, SECRETS_KEY: K2 }, seed: false });
  t.same(await (await fetch(`${k2Only.issuer}/jwks`)).json(), jwks, 'after the rotation the new key alone opens everything');
  await works(t, k2Only, clients, 'the new key alone');
  await k2Only.stop();
  t.match(await startFails(database, { SECRETS_KEY: K1 }), { message: /encrypted with another key/ }, 'and the old key alone no longer does');

  const off = await startSmartServer(t, { database, env: { ...QUIET, SECRETS_KEY_PREVIOUS: K2 }, seed: false });
  await off.stop();
  raw = await rawRows(database);
  t.ok(raw.keys.every((k) => k.private_jwk.startsWith('{')), 'SECRETS_KEY_PREVIOUS alone decrypts everything back to plaintext');
  const plain = await startSmartServer(t, { database, env: QUIET, seed: false });
  await works(t, plain, clients, 'back to no key');
});

t.test('an encrypted value copied onto another row, or altered, does not open there: the start stops', async (t) => {
  const database = await createTestDatabase({ file: true });
  t.teardown(() => database.close());
  const s = await startSmartServer(t, { database, env: { ...QUIET, SECRETS_KEY: K1 } });
  await s.stop();
  const keys = await database.db.kysely.selectFrom('signing_key').select(['kid', 'private_jwk']).orderBy('kid').execute();
  const [a, b] = keys as [(typeof keys)[0], (typeof keys)[0]];
  await database.db.kysely.updateTable('signing_key').set({ private_jwk: b.private_jwk }).where('kid', '=', a.kid).execute();
  t.match(await startFails(database, { SECRETS_KEY: K1 }), { message: new RegExp(`signing_key/${a.kid} does not decrypt with key .*copied from another row`) }, 'a swapped value is refused');
  await database.db.kysely.updateTable('signing_key').set({ private_jwk: `${a.private_jwk.slice(0, -4)}AAAA` }).where('kid', '=', a.kid).execute();
  t.match(await startFails(database, { SECRETS_KEY: K1 }), { message: /does not decrypt with key .*altered/ }, 'an altered value is refused');
});

t.test('SECRETS_KEY and SECRETS_KEY_PREVIOUS must be 32 bytes in hex or base64', async (t) => {
  t.equal(loadConfig({ SECRETS_KEY: K1 }).secretsKey?.length, 32, 'hex');
  t.equal(loadConfig({ SECRETS_KEY: K2 }).secretsKey?.toString('base64'), K2, 'base64');
  t.equal(loadConfig({ SECRETS_KEY: Buffer.from(K1, 'hex').toString('base64url') }).secretsKey?.toString('hex'), K1, 'base64url');
  t.equal(loadConfig({}).secretsKey, undefined, 'unset: none');
  for (const bad of ['short', 'x'.repeat(64), randomBytes(16).toString('hex'), randomBytes(33).toString('base64')]) {
    t.throws(() => loadConfig({ SECRETS_KEY: bad }), { message: /SECRETS_KEY must be 32 random bytes/ }, `refused: ${bad.slice(0, 12)}…`);
  }
  t.throws(() => loadConfig({ SECRETS_KEY_PREVIOUS: 'nope' }), { message: /SECRETS_KEY_PREVIOUS must be 32 random bytes/ }, 'SECRETS_KEY_PREVIOUS too');
});

t.test('the migration removes token values (jti) that earlier versions kept in token rows', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const row = (model: string, id: string, payload: Record<string, unknown>) => ({ model, id, payload: JSON.stringify(payload), grant_id: null, uid: null, user_code: null, account_id: null, client_id: 'c', expires_at: null, consumed_at: null });
  await database.db.kysely
    .insertInto('oidc_model')
    .values([
      row('AccessToken', 'hash-a', { kind: 'AccessToken', jti: 'LIVE-ACCESS-TOKEN', scope: 'system/Patient.rs' }),
      row('RegistrationAccessToken', 'hash-r', { kind: 'RegistrationAccessToken', jti: 'LIVE-RAT' }),
      row('Session', 'hash-s', { kind: 'Session', jti: 'session-id', uid: 'u' }),
    ])
    .execute();
  await scrubTokenValues(database.db.kysely);
  const payloads = Object.fromEntries((await database.db.kysely.selectFrom('oidc_model').select(['model', 'payload']).execute()).map((r) => [r.model, JSON.parse(r.payload) as Record<string, unknown>]));
  t.same(payloads.AccessToken, { kind: 'AccessToken', scope: 'system/Patient.rs' }, 'the access token row keeps everything but the token');
  t.same(payloads.RegistrationAccessToken, { kind: 'RegistrationAccessToken' }, 'so does the registration access token row');
  t.equal(payloads.Session!.jti, 'session-id', 'sessions, also found by uid, keep their id');
});
