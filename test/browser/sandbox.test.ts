// The developer sandbox in real Chromium, as a developer uses it: register each kind of client through the pages and
// complete a launch with it, then launch with a failure drill and read the token inspector's verdicts. Screenshots at
// phone and desktop width go to test-results/screenshots/.
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import * as oidc from 'openid-client';
import type { Page } from 'playwright-core';
import t from 'tap';
import { chromiumMissing, launchChromium, newPhoneContext, screenshots } from '../helpers/chromium.js';
import { LAB, REDIRECT, fhirGet, oidcConfig, startSmartServer, type SmartServer } from '../helpers/smart-server.js';

const value = async (page: Page, id: string) => ((await page.locator(`#${id}`).textContent()) ?? '').trim();

/** Fills the registration form the way a developer would and returns the result page's client_id and secret. */
async function registerInPage(page: Page, server: SmartServer, app: { name: string; kind: RegExp; jwks?: string; jwksUri?: string; scopes?: string[]; redirect?: boolean }) {
  await page.goto(`${server.base}/sandbox/apps/new`);
  await page.getByLabel('App name').fill(app.name);
  await page.getByLabel('Publisher').fill('Sandbox Tests Inc.');
  await page.getByLabel(app.kind).check();
  if (app.redirect !== false) await page.getByLabel('Redirect URIs', { exact: true }).fill(REDIRECT);
  if (app.jwks) await page.getByLabel('JWKS (public keys)', { exact: true }).fill(app.jwks);
  if (app.jwksUri) await page.getByLabel('JWKS URL', { exact: true }).fill(app.jwksUri);
  if (app.scopes) {
    // The form starts with a patient app's usual scopes ticked; a backend service asks for system/ ones instead.
    const ticked = page.locator('input[name="scopes"]:checked');
    while (await ticked.count()) await ticked.first().uncheck();
    for (const s of app.scopes) await page.locator(`input[name="scopes"][value="${s}"]`).check();
  }
  await page.getByRole('button', { name: 'Register' }).click();
  await page.locator('#value-client-id').or(page.locator('.error-summary')).first().waitFor();
  if (await page.locator('.error-summary').count()) throw new Error(`registration refused: ${await page.locator('.error-summary').textContent()}`);
  const secret = (await page.locator('#client-secret').count()) ? await value(page, 'client-secret') : undefined;
  return { clientId: await value(page, 'value-client-id'), secret };
}

/** Sign in and allow in the browser; the code exchange happens on the app's server (here: openid-client). */
async function authorizeInPage(page: Page, callbacks: URL[], server: SmartServer, config: oidc.Configuration, username = 'daniel') {
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, aud: server.fhirBase, scope: 'openid fhirUser launch/patient patient/*.rs', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'st' });
  const before = callbacks.length;
  await page.goto(url.toString());
  // Signed in to the portal by an earlier launch in this browser: no second sign-in.
  const allow = page.getByRole('button', { name: 'Allow Access' });
  await page.getByLabel('Username').or(allow).first().waitFor();
  if (await page.getByLabel('Username').count()) {
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill('smart-demo');
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
  await allow.click();
  await page.waitForURL(`${REDIRECT}**`);
  return oidc.authorizationCodeGrant(config, callbacks[before]!, { pkceCodeVerifier: verifier, expectedState: 'st' });
}

t.test('developer sandbox in Chromium', { skip: chromiumMissing() }, async (t) => {
  const server = await startSmartServer(t);
  const browser = await launchChromium(t);

  t.test('each kind of client registered through the pages completes a launch', async (t) => {
    const { page, callbacks } = await newPhoneContext(browser, REDIRECT);
    await page.goto(`${server.base}/sandbox`);
    await screenshots(page, '70-sandbox-home');
    await page.goto(`${server.base}/sandbox/apps/new`);
    await screenshots(page, '71-sandbox-register');

    // Public with PKCE
    const pub = await registerInPage(page, server, { name: 'Public Tracker', kind: /^Public app/ });
    t.notOk(pub.secret, 'a public app gets no secret');
    t.equal(await value(page, 'value-iss'), server.fhirBase, 'the result page gives the iss to paste');
    await screenshots(page, '72-sandbox-registered');
    const pubTokens = await authorizeInPage(page, callbacks, server, await oidcConfig(server, pub.clientId));
    t.equal(pubTokens.patient, 'daniel-kim', 'public client: launch completed');

    // Confidential with a secret
    const conf = await registerInPage(page, server, { name: 'Server Tracker', kind: /^Confidential app with a client secret/ });
    t.ok(conf.secret, 'the secret is shown once');
    const confTokens = await authorizeInPage(page, callbacks, server, await oidcConfig(server, conf.clientId, oidc.ClientSecretBasic(conf.secret!)));
    t.equal((await fhirGet(server, '/Patient/daniel-kim', confTokens.access_token)).status, 200, 'confidential client: launch completed');

    // Confidential with a key (JWKS pasted into the form)
    const keys = await generateKeyPair('ES384');
    const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'ES384', use: 'sig' };
    const asym = await registerInPage(page, server, { name: 'Key Tracker', kind: /^Confidential app with a key/, jwks: JSON.stringify({ keys: [jwk] }) });
    const asymTokens = await authorizeInPage(page, callbacks, server, await oidcConfig(server, asym.clientId, oidc.PrivateKeyJwt({ key: keys.privateKey, kid: 'k1' }), { token_endpoint_auth_signing_alg: 'ES384' }));
    t.equal(asymTokens.patient, 'daniel-kim', 'private_key_jwt client: launch completed');

    // Backend service with its keys at a JWKS URL (sandbox mode lets jwks_uri point at loopback)
    const backendKeys = await generateKeyPair('RS384');
    const backendJwk = { ...(await exportJWK(backendKeys.publicKey)), kid: 'b1', alg: 'RS384', use: 'sig' };
    const jwksServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [backendJwk] })));
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    t.teardown(() => new Promise<void>((r) => jwksServer.close(() => r())));
    const jwksUri = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/jwks.json`;
    const backend = await registerInPage(page, server, { name: 'Nightly Export', kind: /^Backend service/, jwksUri, scopes: ['system/*.rs'], redirect: false });
    const backendConfig = await oidcConfig(server, backend.clientId, oidc.PrivateKeyJwt({ key: backendKeys.privateKey, kid: 'b1' }), { token_endpoint_auth_signing_alg: 'RS384' });
    const backendTokens = await oidc.clientCredentialsGrant(backendConfig, { scope: 'system/Patient.rs' });
    t.equal((await fhirGet(server, '/Patient/maria-garcia', backendTokens.access_token)).status, 200, 'backend service: client_credentials token works');
  });

  t.test('a refused registration names the field and the fix', async (t) => {
    const { page } = await newPhoneContext(browser, REDIRECT);
    await page.goto(`${server.base}/sandbox/apps/new`);
    await page.getByLabel('App name').fill('Half-done App');
    await page.getByLabel('More scopes').fill('patient/Observation.rx');
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByRole('heading', { name: 'There is a problem' }).waitFor();
    const summary = (await page.locator('.error-summary').textContent()) ?? '';
    t.match(summary, /redirect/i, 'the missing redirect URI is named');
    await screenshots(page, '73-sandbox-register-errors');
  });

  t.test('limited-access drill: the token inspector shows each scope\'s verdict', async (t) => {
    const { page, callbacks } = await newPhoneContext(browser, REDIRECT);
    const app = await registerInPage(page, server, { name: 'Drill Tracker', kind: /^Public app/ });
    await page.goto(`${server.base}/sandbox/launch?client_id=${app.clientId}`);
    await page.getByLabel(/Find a patient/).fill('maria');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByLabel(/Maria Garcia/).check();
    await page.getByLabel('Sign in automatically as').selectOption('maria');
    await page.getByLabel(/The patient unticks a kind of data/).check();
    await page.getByLabel(/Data the patient unticks/).selectOption('labs');
    await screenshots(page, '74-sandbox-launch');
    await page.getByRole('button', { name: 'Launch' }).click();
    await page.getByRole('heading', { name: /Launch of Drill Tracker/ }).waitFor();
    const launch = ((await page.locator('dt:has-text("launch") + dd').textContent()) ?? '').trim();
    t.ok(launch, 'the launch page shows the launch parameter');

    // The app (here a script) authorizes with the launch; sign-in and consent are decided by the drill.
    const config = await oidcConfig(server, app.clientId);
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, aud: server.fhirBase, launch, scope: 'openid fhirUser launch patient/Observation.rs patient/Patient.rs', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'st' });
    const popup = await page.context().newPage();
    const before = callbacks.length;
    // The redirect chain ends at the app's (intercepted) redirect URI without a page of ours in between.
    await popup.goto(url.toString()).catch(() => undefined);
    for (let i = 0; i < 100 && callbacks.length === before; i++) await new Promise((r) => setTimeout(r, 50));
    const tokens = await oidc.authorizationCodeGrant(config, callbacks.at(-1)!, { pkceCodeVerifier: verifier, expectedState: 'st' });
    t.equal((await fhirGet(server, `/Observation?patient=maria-garcia&category=${encodeURIComponent(LAB)}`, tokens.access_token)).status, 403);

    await page.reload();
    await page.getByRole('button', { name: /Inspect this launch/ }).click();
    await page.locator('#scope-verdicts').waitFor();
    const rows = await page.locator('#scope-verdicts tbody tr').allTextContents();
    const verdictOf = (scope: string) => rows.find((r) => r.includes(scope)) ?? '';
    t.match(verdictOf('patient/Observation.rs'), /Unticked by the patient/);
    t.match(verdictOf('patient/Patient.rs'), /Granted/);
    t.match(await page.locator('#token-state').textContent(), /active/);
    await screenshots(page, '75-sandbox-token-inspector');
  });
});
