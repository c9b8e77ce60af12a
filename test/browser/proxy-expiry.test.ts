// Acting for someone else, in real Chromium on a phone. An adult's proxy under a legal authorization with an end date
// links an app to that adult's record; once the end date passes, the expiry sweep cuts the app off and the record
// leaves the proxy's portal. A parent of a teenager is offered only what the teen rule allows (basic information, allergies, immunizations, insurance), never results.
// The portal's clock is moved forward instead of waiting (oidc-provider keeps its own time).
import * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { chromiumMissing, launchChromium, newPhoneContext, screenshots } from '../helpers/chromium.js';
import { REDIRECT, registerClient, startSmartServer, type SmartServer } from '../helpers/smart-server.js';

const DAY = 86_400_000;

t.test('proxy access in Chromium', { skip: chromiumMissing() }, async (t) => {
  const browser: Browser = await launchChromium(t);
  let now = Date.now();
  const clock = () => now;

  /** A fresh server with a public app registered; `authorizationUrl()` starts a standalone patient launch. */
  const serverWithApp = async (t: Test) => {
    now = Date.now();
    const server = await startSmartServer(t, { clock });
    const client = await registerClient(server, {
      client_name: 'Family Health Diary',
      publisher: 'Diary Apps Ltd.',
      redirect_uris: [REDIRECT],
      token_endpoint_auth_method: 'none',
      scope: 'openid fhirUser launch/patient offline_access patient/*.rs',
    });
    const config = await oidc.discovery(new URL(server.issuer), client.client_id, {}, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    const authorizationUrl = async () => {
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT,
        aud: server.fhirBase,
        scope: 'openid fhirUser launch/patient offline_access patient/Patient.rs patient/Observation.rs patient/AllergyIntolerance.rs patient/Immunization.rs',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
      });
      return { url: url.toString(), verifier, state };
    };
    return { server, config, authorizationUrl };
  };

  const signIn = async (page: Page, username: string) => {
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill('smart-demo');
    await page.getByRole('button', { name: 'Sign in' }).click();
  };
  const fhirStatus = async (server: SmartServer, path: string, token: string) =>
    (await fetch(`${server.fhirBase}${path}`, { headers: { authorization: `Bearer ${token}` } })).status;

  t.test("a proxy's app is cut off, and the record leaves the portal, once the legal authorization's end date passes", async (t) => {
    const { server, config, authorizationUrl } = await serverWithApp(t);
    const relation = await server.portal!.proxies.grant({
      holderUsername: 'daniel',
      patientId: 'maria-garcia',
      relationship: 'legal-authorization',
      from: now,
      until: now + 10 * DAY,
      note: 'Health care power of attorney, 10 days',
    });
    t.ok(relation.id, 'daniel holds a legal authorization for maria, ending in 10 days');

    const { page, context, callbacks } = await newPhoneContext(browser, REDIRECT);
    const req = await authorizationUrl();
    await page.goto(req.url);
    await signIn(page, 'daniel');
    await page.getByRole('heading', { name: /Whose record should Family Health Diary see/ }).waitFor();
    const picker = (await page.textContent('main')) ?? '';
    t.match(picker, /Daniel Kim/, 'the picker offers his own record');
    t.match(picker, /Maria Garcia/, "and maria's, which he holds the authorization for");
    await screenshots(page, '40-proxy-patient-picker');
    await page.getByLabel(/Maria Garcia/).check();
    await page.getByRole('button', { name: 'Continue' }).click();

    await page.getByRole('button', { name: 'Allow Access' }).waitFor();
    const consent = (await page.textContent('main')) ?? '';
    t.match(consent, /Maria Garcia/, "the consent page names maria's record");
    t.match(consent, /Lab results/, 'and, for an adult under legal authorization, offers everything asked for');
    await screenshots(page, '41-proxy-consent');
    await page.getByLabel('Until I turn it off').check();
    await page.getByRole('button', { name: 'Allow Access' }).click();
    await page.waitForURL(`${REDIRECT}**`);

    const tokens = await oidc.authorizationCodeGrant(config, callbacks[0]!, { pkceCodeVerifier: req.verifier, expectedState: req.state });
    t.equal(tokens.patient, 'maria-garcia', 'the token carries maria as the patient');
    t.equal(await fhirStatus(server, '/Observation?patient=maria-garcia', tokens.access_token), 200, "the app reads maria's observations");

    await page.goto(`${server.base}/portal/apps`);
    await page.getByRole('button', { name: /Remove access/ }).first().waitFor();
    const before = (await page.textContent('main')) ?? '';
    t.match(before, /Family Health Diary/, "daniel's connected apps list the app");
    t.match(before, /Maria Garcia/, "on maria's record");
    await screenshots(page, '42-proxy-connected-apps');

    now += 11 * DAY;
    const swept = await server.portal!.sweep();
    t.equal(swept.proxyGrants, 1, "the sweep revokes the one grant made through the ended authorization");

    const deadline = Date.now() + 1000;
    let status = 0;
    while (Date.now() < deadline) {
      status = await fhirStatus(server, '/Observation?patient=maria-garcia', tokens.access_token);
      if (status === 401) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    t.equal(status, 401, "the app's token is refused within a second");
    await t.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token!), 'and so is its refresh token');

    // 11 days on, the portal session has long ended: daniel signs in again.
    await page.goto(`${server.base}/portal/apps`);
    await page.waitForURL(/\/portal\/login/);
    await signIn(page, 'daniel');
    await page.waitForURL(`${server.base}/portal/apps`);
    const after = (await page.textContent('main')) ?? '';
    t.notMatch(after, /Family Health Diary/, 'his connected apps no longer list the app');
    t.notMatch(after, /Maria/, "nor maria's record");
    t.match(after, /No apps are connected/, 'the page says no apps are connected');
    await screenshots(page, '43-proxy-ended-connected-apps');

    // Connecting an app again: only his own record is left, so there is nothing to pick.
    await context.clearCookies();
    await page.goto((await authorizationUrl()).url);
    await signIn(page, 'daniel');
    await page.getByRole('button', { name: 'Allow Access' }).waitFor();
    const again = (await page.textContent('main')) ?? '';
    t.match(again, /Daniel Kim/, 'a new connection goes straight to his own record');
    t.notMatch(again, /Maria/, "and does not offer maria's");
  });

  t.test("a parent linking an app to her teenager's record is offered basic information and allergies, never results", async (t) => {
    const { server, config, authorizationUrl } = await serverWithApp(t);
    const { page, callbacks } = await newPhoneContext(browser, REDIRECT);
    const req = await authorizationUrl();
    await page.goto(req.url);
    await signIn(page, 'maria');
    await page.getByRole('heading', { name: /Whose record should Family Health Diary see/ }).waitFor();
    await page.getByLabel(/Mateo/).check();
    await page.getByRole('button', { name: 'Continue' }).click();

    await page.getByRole('button', { name: 'Allow Access' }).waitFor();
    const consent = (await page.textContent('main')) ?? '';
    t.match(consent, /Mateo/, "the consent page names the teen's record");
    const offered = await page.getByRole('group', { name: /may see/ }).getByRole('checkbox').evaluateAll((boxes) => boxes.map((b) => b.labels?.[0]?.textContent?.trim() ?? ''));
    t.notOk(offered.some((l) => /Lab results/.test(l)), 'Lab results are not offered');
    t.notOk(offered.some((l) => /Vital signs/.test(l)), 'nor Vital signs');
    t.notOk(offered.some((l) => /measurements/.test(l)), 'nor other measurements');
    t.ok(offered.some((l) => /Allergies/.test(l)), 'Allergies are');
    t.ok(offered.some((l) => /Basic information/.test(l)), 'and basic information');
    await screenshots(page, '44-teen-consent');

    // Whatever the form says: a lab box slipped into the page grants nothing.
    await page.locator('form:has(button[value="allow"])').evaluate((form) => form.insertAdjacentHTML('beforeend', '<input type="checkbox" name="group" value="labs" checked hidden>'));
    const [posted] = await Promise.all([
      page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/consent')),
      page.getByRole('button', { name: 'Allow Access' }).click(),
    ]);
    t.match(posted.postData() ?? '', /group=labs/, 'the browser did send the slipped-in lab box');
    await page.waitForURL(`${REDIRECT}**`);
    const tokens = await oidc.authorizationCodeGrant(config, callbacks[0]!, { pkceCodeVerifier: req.verifier, expectedState: req.state });
    t.equal(tokens.patient, 'mateo-garcia', 'the token carries the teen as the patient');
    t.notOk(tokens.scope!.includes('Observation'), 'its scope has no Observation');
    t.equal(await fhirStatus(server, '/Observation?patient=mateo-garcia', tokens.access_token), 403, "the app gets 403 for the teen's observations");
    t.equal(await fhirStatus(server, '/Observation/mateo-garcia-laboratory', tokens.access_token), 403, 'and for reading his lab result directly');
    t.equal(await fhirStatus(server, '/AllergyIntolerance?patient=mateo-garcia', tokens.access_token), 200, 'while it reads his allergies');
  });
});
