// tokenStatus: what the server knows about an access token, read from its own records, for the sandbox 401
// explanation and the token inspector. Every state is reached through the real server (or its stored rows).
import t from 'tap';
import { tokenHash } from '../../src/auth/adapter.js';
import { TokenResolver } from '../../src/auth/bearer.js';
import { tokenStatus } from '../../src/auth/token-status.js';
import { RevocationLog } from '../../src/store/revocations.js';
import { RevokedTokenStore } from '../../src/store/revoked-tokens.js';
import type { SmartServer } from '../helpers/smart-server.js';
import { LAB, REDIRECT, authorize, oidcConfig, registerClient, startSmartServer } from '../helpers/smart-server.js';

const BACKEND = { id: 'demo-backend', secret: 'demo-backend-secret-change-me' };
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function backendToken(server: SmartServer, scope: string): Promise<string> {
  const res = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(BACKEND.id, BACKEND.secret) },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

/** Moves a stored token's expiry to `exp` (seconds), as if it had been issued with a shorter life. */
async function setExpiry(server: SmartServer, model: 'AccessToken' | 'ClientCredentials', token: string, exp: number): Promise<void> {
  const db = server.database.db.kysely;
  const where = { model, id: tokenHash(token) };
  const row = await db.selectFrom('oidc_model').select('payload').where('model', '=', where.model).where('id', '=', where.id).executeTakeFirstOrThrow();
  await db
    .updateTable('oidc_model')
    .set({ payload: JSON.stringify({ ...(JSON.parse(row.payload) as object), exp }), expires_at: exp })
    .where('model', '=', where.model)
    .where('id', '=', where.id)
    .execute();
}

t.test('tokenStatus', async (t) => {
  const server = await startSmartServer(t);
  const auth = server.auth!;
  const app = await registerClient(server, {
    client_name: 'Status',
    redirect_uris: [REDIRECT],
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    scope: 'openid fhirUser launch/patient offline_access patient/*.rs',
  });
  const config = await oidcConfig(server, app.client_id);

  t.test('an active token from an authorization: client, grant, account, context, scopes, times and access end', async (t) => {
    const before = Date.now();
    const { tokens } = await authorize(server, config, { scope: 'openid fhirUser launch/patient offline_access patient/*.rs' }, { username: 'maria', password: 'smart-demo', patient: 'maria-garcia', duration: '30d' });
    const s = await auth.tokenStatus(tokens.access_token);
    t.equal(s.state, 'active');
    t.equal(s.kind, 'access_token');
    t.equal(s.clientId, app.client_id);
    t.type(s.grantId, 'string');
    t.equal(s.accountId, 'maria');
    t.equal(s.patient, 'maria-garcia');
    t.equal(s.fhirUser, `${server.fhirBase}/Patient/maria-garcia`, 'fhirUser as issued (absolute)');
    t.equal(s.issuedScope, tokens.scope);
    t.equal(s.scope, tokens.scope, 'nothing narrowed: in force as issued');
    t.ok(s.issuedAt! >= Math.floor(before / 1000) * 1000 && s.issuedAt! <= Date.now());
    t.equal(s.expiresAt! - s.issuedAt!, tokens.expires_in! * 1000, 'expiry as the token response said');
    const day = 24 * 3600_000;
    t.ok(Math.abs(s.accessEndsAt! - (before + 30 * day)) < 60_000, 'the 30 days the patient chose');
    t.match(s.reason, /^The token is active until \S+, and the patient's access through it ends at \S+\.$/);
    t.notOk('revokedAt' in s);
  });

  t.test('after the patient narrows the grant, scope is the narrower one and issuedScope the original', async (t) => {
    const { tokens } = await authorize(server, config, { scope: 'launch/patient patient/Observation.rs patient/Patient.rs' }, { username: 'daniel', password: 'smart-demo' });
    const { grantId } = await auth.tokenStatus(tokens.access_token);
    // What the portal's "Change what it can see" does to the grant when "Lab results" is the only kind kept.
    const grant = (await auth.provider.Grant.find(grantId!))!;
    grant.rejectResourceScope(server.fhirBase, 'patient/Observation.rs patient/Patient.rs');
    grant.addResourceScope(server.fhirBase, `patient/Observation.rs?category=${LAB}`);
    await grant.save();
    await auth.narrowGrant(grantId!, `launch/patient patient/Observation.rs?category=${LAB}`);
    const s = await auth.tokenStatus(tokens.access_token);
    t.equal(s.state, 'active');
    t.equal(s.issuedScope, 'launch/patient patient/Observation.rs patient/Patient.rs');
    t.equal(s.scope, `launch/patient patient/Observation.rs?category=${LAB}`);
  });

  t.test('a client_credentials token has no grant, account or patient', async (t) => {
    const s = await auth.tokenStatus(await backendToken(server, 'system/Patient.rs'));
    t.equal(s.state, 'active');
    t.equal(s.kind, 'client_credentials');
    t.equal(s.clientId, 'demo-backend');
    t.equal(s.scope, 'system/Patient.rs');
    t.notOk(s.grantId);
    t.notOk(s.accountId);
    t.notOk(s.patient);
  });

  t.test('a token never issued is unknown, with nothing else claimed', async (t) => {
    t.same(Object.keys(await auth.tokenStatus('no-such-token')).sort(), ['reason', 'state']);
    t.equal((await auth.tokenStatus('no-such-token')).state, 'unknown');
  });

  t.test('an expired token (its row kept for the hour before clean-up) says when it expired', async (t) => {
    const token = await backendToken(server, 'system/Patient.rs');
    const exp = Math.floor(Date.now() / 1000) - 1800;
    await setExpiry(server, 'ClientCredentials', token, exp);
    const s = await auth.tokenStatus(token);
    t.equal(s.state, 'expired');
    t.equal(s.expiresAt, exp * 1000);
    t.equal(s.clientId, 'demo-backend');
    t.equal(s.reason, `The token expired at ${new Date(exp * 1000).toISOString()}: use the refresh token, or authorize again, for a new one.`);
  });

  t.test('a token whose grant was revoked is revoked, with when, its grant, client and original expiry', async (t) => {
    const { tokens } = await authorize(server, config, { scope: 'launch/patient patient/*.rs' }, { username: 'daniel', password: 'smart-demo' });
    const active = await auth.tokenStatus(tokens.access_token);
    const before = Date.now();
    await auth.revokeGrant(active.grantId!);
    const s = await auth.tokenStatus(tokens.access_token);
    t.equal(s.state, 'revoked');
    t.equal(s.kind, 'access_token');
    t.equal(s.grantId, active.grantId);
    t.equal(s.clientId, app.client_id);
    t.equal(s.expiresAt, active.expiresAt);
    t.ok(s.revokedAt! >= before && s.revokedAt! <= Date.now());
    t.match(s.reason, /: the grant was revoked \(the patient removed the app's access, or the app revoked its refresh token\)/);
  });

  t.test('a token revoked at the revocation endpoint says the token itself was revoked', async (t) => {
    const token = await backendToken(server, 'system/Patient.rs');
    const res = await fetch(`${server.issuer}/token/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(BACKEND.id, BACKEND.secret) },
      body: new URLSearchParams({ token }),
    });
    t.equal(res.status, 200);
    const s = await auth.tokenStatus(token);
    t.equal(s.state, 'revoked');
    t.equal(s.kind, 'client_credentials');
    t.match(s.reason, /: the token itself was revoked/);
  });

  t.test("a token of a deleted app says the app was removed", async (t) => {
    const doomed = await registerClient(server, { client_name: 'Doomed', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', scope: 'launch/patient patient/*.rs' });
    const { tokens } = await authorize(server, await oidcConfig(server, doomed.client_id), { scope: 'launch/patient patient/*.rs' }, { username: 'daniel', password: 'smart-demo' });
    t.equal(await auth.deleteClient(doomed.client_id), true);
    const s = await auth.tokenStatus(tokens.access_token);
    t.equal(s.state, 'revoked');
    t.match(s.reason, /: the app was removed\.$/);
  });

  t.test('a token revoked after it had expired reads as expired', async (t) => {
    const { tokens } = await authorize(server, config, { scope: 'launch/patient patient/*.rs' }, { username: 'daniel', password: 'smart-demo' });
    const { grantId } = await auth.tokenStatus(tokens.access_token);
    const exp = Math.floor(Date.now() / 1000) - 60;
    await setExpiry(server, 'AccessToken', tokens.access_token, exp);
    await auth.revokeGrant(grantId!);
    const s = await auth.tokenStatus(tokens.access_token);
    t.equal(s.state, 'expired');
    t.equal(s.expiresAt, exp * 1000);
    t.type(s.revokedAt, 'number');
    t.match(s.reason, /^The token expired at \S+ \(and was revoked later, at \S+\)\.$/);
  });

  t.test('a token whose grant vanished without its tokens reads as revoked', async (t) => {
    const { tokens } = await authorize(server, config, { scope: 'launch/patient patient/*.rs' }, { username: 'daniel', password: 'smart-demo' });
    const { grantId } = await auth.tokenStatus(tokens.access_token);
    await (await auth.provider.Grant.find(grantId!))!.destroy();
    const s = await auth.tokenStatus(tokens.access_token);
    t.equal(s.state, 'revoked');
    t.notOk(s.revokedAt, 'no time is claimed: nothing recorded it');
    t.match(s.reason, /no longer exists/);
  });

  t.test("when the patient's access ended (proxy access revoked), access-ended with the time", async (t) => {
    const { tokens } = await authorize(server, config, { scope: 'launch/patient patient/*.rs' }, { username: 'maria', password: 'smart-demo', patient: 'sofia-garcia' });
    const relation = (await server.portal!.proxies.listForHolder('maria')).find((r) => r.relation.patientId === 'sofia-garcia')!.relation;
    const before = Date.now();
    await server.portal!.proxies.revoke(relation.id);
    const s = await auth.tokenStatus(tokens.access_token);
    t.equal(s.state, 'access-ended');
    t.ok(s.accessEndsAt! >= before && s.accessEndsAt! <= Date.now());
    t.equal(s.patient, 'sofia-garcia');
    t.notOk(s.scope, 'no scope is in force');
  });

  t.test('a server with another FHIR base (another audience) reads the same token as wrong-audience', async (t) => {
    const token = await backendToken(server, 'system/Patient.rs');
    const other = new TokenResolver(auth.provider, new RevocationLog(server.database.db), { fhirBaseUrl: 'https://elsewhere.example/fhir', pollMs: 0, maxEntries: 10 });
    const s = await tokenStatus({ provider: auth.provider, resolver: other, models: auth.models, revokedTokens: new RevokedTokenStore(server.database.db) }, token);
    t.equal(s.state, 'wrong-audience');
    t.equal(s.reason, `The token was issued for ${server.fhirBase}, not for this FHIR server (https://elsewhere.example/fhir): authorize with aud=https://elsewhere.example/fhir.`);
  });

  t.test('tombstones are pruned once past the token expiry; then the token is unknown', async (t) => {
    const token = await backendToken(server, 'system/Patient.rs');
    await fetch(`${server.issuer}/token/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(BACKEND.id, BACKEND.secret) },
      body: new URLSearchParams({ token }),
    });
    const { expiresAt } = await auth.tokenStatus(token);
    const store = new RevokedTokenStore(server.database.db);
    await store.prune(expiresAt! - 1);
    t.equal((await auth.tokenStatus(token)).state, 'revoked', 'kept while the token would still be valid');
    t.ok((await store.prune(expiresAt! + 1)) >= 1);
    t.equal((await auth.tokenStatus(token)).state, 'unknown');
  });
});
