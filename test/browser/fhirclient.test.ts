// The official SMART JavaScript client (`fhirclient` from npm, unchanged) against our server in real Chromium:
// standalone and EHR launch through FHIR.oauth2.authorize / FHIR.oauth2.ready, then client.request for the patient
// and a lab search. The app is served from its own origin, so discovery, the token exchange and the FHIR calls are
// all cross-origin requests the browser checks for CORS, as in any real deployment of a browser-only app.
import type { Page } from 'playwright-core';
import t from 'tap';
import { chromiumMissing, launchChromium, newPhoneContext, screenshots } from '../helpers/chromium.js';
import { startFhirclientApp } from '../helpers/fhirclient-app.js';
import { registerClient, startSmartServer, type SmartServer } from '../helpers/smart-server.js';

const SCOPE = 'openid fhirUser launch launch/patient patient/*.rs offline_access';

interface SmartResult {
  readonly patient: { id: string; name: { family: string; given: string[] }[] };
  readonly labs: { entry?: { resource: { id: string } }[] };
  /** client.user.fhirUser, which fhirclient reads from the ID token */
  readonly fhirUser: string | null;
  readonly tokenResponse: { patient?: string; scope?: string; need_patient_banner?: boolean };
  readonly hasRefreshToken: boolean;
  readonly accessToken: string;
}

/** What the app ended with: its result, or the error it showed (so a failure names its cause). */
async function appOutcome(page: Page): Promise<SmartResult> {
  await page.waitForFunction('window.smartResult || window.smartError', undefined, { timeout: 15_000 });
  const error = (await page.evaluate('window.smartError')) as string | undefined;
  if (error) throw new Error(`the fhirclient app failed: ${error}`);
  return (await page.evaluate('window.smartResult')) as SmartResult;
}

async function signInAndAllow(page: Page, username: string, patientLabel?: RegExp): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill('smart-demo');
  await page.getByRole('button', { name: 'Sign in' }).click();
  if (patientLabel) {
    await page.getByRole('heading', { name: /Whose record/ }).waitFor();
    await page.getByLabel(patientLabel).check();
    await page.getByRole('button', { name: 'Continue' }).click();
  }
  // The app asks for offline_access; the patient keeps it (the page's default is "only while I use the app").
  await page.getByLabel('Until I turn it off').check();
  await page.getByRole('button', { name: 'Allow Access' }).click();
}

/** The server's own record of the token (RFC 7662), asked by the public client itself. */
async function introspect(server: SmartServer, clientId: string, token: string): Promise<{ active: boolean; scope?: string; patient?: string }> {
  const res = await fetch(`${server.issuer}/token/introspection`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token, client_id: clientId }) });
  return (await res.json()) as { active: boolean; scope?: string; patient?: string };
}

t.test('the SMART JavaScript client (fhirclient) in Chromium', { skip: chromiumMissing() }, async (t) => {
  const [server, app, browser] = await Promise.all([startSmartServer(t), startFhirclientApp(t), launchChromium(t)]);
  // No initiate_login_uri: oidc-provider refuses an http:// one even on loopback (reported); POST /sandbox/launch then
  // answers a launch_url of just "?iss=…&launch=…", which the EHR side resolves against the app's launch page.
  const client = await registerClient(server, { client_name: 'fhirclient test app', redirect_uris: [app.redirectUri], token_endpoint_auth_method: 'none', scope: SCOPE });
  app.use({ clientId: client.client_id, scope: SCOPE });

  t.test('standalone launch: Maria signs in, picks her own record and allows; the app reads her and her labs', async (t) => {
    const { page } = await newPhoneContext(browser, 'http://127.0.0.1:9/unused');
    await page.goto(`${app.launchUrl}?iss=${encodeURIComponent(server.fhirBase)}`);
    await page.waitForURL(`${server.base}/**`);
    t.match(await page.textContent('body'), /fhirclient test app/, 'fhirclient sends the browser to our sign-in page, which names the app');
    await signInAndAllow(page, 'maria', /Maria/);

    const result = await appOutcome(page);
    t.ok(page.url().startsWith(app.redirectUri), 'the browser is back on the app');
    t.equal(result.tokenResponse.patient, 'maria-garcia', 'the token response carried the chosen patient');
    t.equal(result.patient.id, 'maria-garcia', 'client.request read Patient/maria-garcia');
    t.match(await page.textContent('#patient'), /Maria Garcia/, "the page shows the patient's name");
    t.same(result.labs.entry?.map((e) => e.resource.id), ['maria-garcia-laboratory'], 'the lab search found her lab result, and only that');
    t.match(await page.textContent('#labs'), /maria-garcia-laboratory: http:\/\/loinc.org\|718-7/, 'the page shows the lab result');
    const granted = await introspect(server, client.client_id, result.accessToken);
    t.ok(granted.active, 'the access token is live');
    t.equal(result.tokenResponse.scope, granted.scope, "client.state.tokenResponse.scope is exactly what the server granted");
    t.same(new Set(result.tokenResponse.scope?.split(' ')), new Set(SCOPE.split(' ')), 'everything asked for was granted (every kind of data ticked, kept until turned off)');
    t.equal(result.fhirUser, 'Patient/maria-garcia', "fhirclient reads the signed-in user from our ID token's fhirUser");
    t.ok(result.hasRefreshToken, 'offline_access brought a refresh token');

    // What fhirclient does when the access token runs out: a refresh from the page (cross-origin), then the API again.
    // With fhirclient's defaults the refresh sends no client_id (a public app need not identify itself); the server
    // names the refresh token's public client for it (src/auth/public-refresh.ts).
    const refreshed = await page.evaluate(`(async () => {
      const c = window.smartClient;
      const before = c.state.tokenResponse.access_token;
      try { await c.refresh(); } catch (e) { return { error: String(e.message).split('\\n')[0] }; }
      const p = await c.request('Patient/' + c.patient.id);
      return { changed: c.state.tokenResponse.access_token !== before, patient: p.id, scope: c.state.tokenResponse.scope };
    })()`);
    t.same(refreshed, { changed: true, patient: 'maria-garcia', scope: result.tokenResponse.scope }, 'client.refresh() with fhirclient defaults gets a new access token with the same scope, and it reads the patient');
    await screenshots(page, '60-fhirclient-standalone');
  });

  t.test('EHR launch: the sandbox launches Sofia; Dr. Lee signs in and allows; the app reads the launched patient', async (t) => {
    const res = await fetch(`${server.base}/sandbox/launch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ patient: 'sofia-garcia', client_id: client.client_id }) });
    t.equal(res.status, 201, 'the sandbox issues a launch');
    const { launch_url } = (await res.json()) as { launch_url: string };
    const launchUrl = new URL(launch_url, app.launchUrl);
    t.equal(launchUrl.searchParams.get('iss'), server.fhirBase, 'the launch URL names our FHIR base as iss');

    const { page } = await newPhoneContext(browser, 'http://127.0.0.1:9/unused');
    await page.goto(launchUrl.toString());
    await page.waitForURL(`${server.base}/**`);
    await signInAndAllow(page, 'dr-lee');

    const result = await appOutcome(page);
    t.equal(result.tokenResponse.patient, 'sofia-garcia', 'the token response carried the launched patient');
    t.match(await page.textContent('#patient'), /Sofia Garcia \(Patient\/sofia-garcia\)/, 'the page shows the launched patient');
    t.same(result.labs.entry?.map((e) => e.resource.id), ['sofia-garcia-laboratory'], "the lab search found the launched patient's lab result");
    const granted = await introspect(server, client.client_id, result.accessToken);
    t.equal(result.tokenResponse.scope, granted.scope, 'client.state.tokenResponse.scope is exactly what the server granted');
    t.same(new Set(result.tokenResponse.scope?.split(' ')), new Set(SCOPE.split(' ')), 'everything asked for was granted, launch included');
    t.equal(result.fhirUser, 'Practitioner/dr-lee', 'the user is the clinician who signed in, not the patient');
    await screenshots(page, '61-fhirclient-ehr-launch');
  });
});
