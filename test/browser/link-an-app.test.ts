// The whole "link an app" flow as a parent would do it on a phone, in real Chromium: the app sends her to sign in,
// she picks her child's record, unticks Allergies and allows; the app reads the child's data, then she removes it.
import { Client } from 'fhir-kit-client';
import * as oidc from 'openid-client';
import t from 'tap';
import { chromiumMissing, launchChromium, newPhoneContext, screenshots } from '../helpers/chromium.js';
import { REDIRECT, registerClient, startSmartServer } from '../helpers/smart-server.js';

t.test('link an app in Chromium', { skip: chromiumMissing() }, async (t) => {
  const server = await startSmartServer(t);
  const browser = await launchChromium(t);
  const client = await registerClient(server, {
    client_name: 'Acme Health Tracker',
    publisher: 'Acme Digital Health, Inc.',
    description: 'Keeps your lab results and vital signs in one place.',
    tos_uri: 'https://acme.example/terms',
    policy_uri: 'https://acme.example/privacy',
    redirect_uris: [REDIRECT],
    token_endpoint_auth_method: 'none',
    scope: 'openid fhirUser launch/patient offline_access patient/*.rs',
  });
  const config = await oidc.discovery(new URL(server.issuer), client.client_id, {}, oidc.None(), { execute: [oidc.allowInsecureRequests] });

  const start = async () => {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      aud: server.fhirBase,
      scope: 'openid fhirUser launch/patient offline_access patient/Patient.rs patient/Observation.rs patient/AllergyIntolerance.rs',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    return { url: url.toString(), verifier, state };
  };

  t.test('a parent links an app to her child, without allergies; removing it cuts the token off', async (t) => {
    const { page, callbacks } = await newPhoneContext(browser, REDIRECT);
    const req = await start();
    await page.goto(req.url);

    t.match(await page.textContent('body'), /Acme Health Tracker/, 'the sign-in page names the app that sent the patient');
    await screenshots(page, '01-sign-in');
    await page.getByLabel('Username').fill('maria');
    await page.getByLabel('Password').fill('smart-demo');
    await page.getByRole('button', { name: 'Sign in' }).click();

    await page.getByRole('heading', { name: /Whose record should Acme Health Tracker see/ }).waitFor();
    await screenshots(page, '02-patient-picker');
    await page.getByLabel(/Sofia/).check();
    await page.getByRole('button', { name: 'Continue' }).click();

    await page.getByRole('button', { name: 'Allow Access' }).waitFor();
    const consent = (await page.textContent('main')) ?? '';
    t.match(consent, /Sofia/, 'the consent screen says whose record');
    t.match(consent, /Acme Digital Health/, 'and who publishes the app');
    t.match(consent, /1 lab result/, 'with a preview of how much each permission covers');
    t.match(consent, /not .*emergency/i, 'and the warning that the app is no emergency service');
    const terms = page.getByRole('link', { name: /Terms/ });
    t.equal(await terms.getAttribute('target'), '_blank', 'terms open in a new tab');
    await screenshots(page, '03-consent');
    await page.getByRole('checkbox', { name: /Allergies/ }).uncheck();
    await page.getByLabel('Until I turn it off').check();
    await page.getByRole('button', { name: 'Allow Access' }).click();

    await page.waitForURL(`${REDIRECT}**`);
    t.equal(callbacks.length, 1, 'the browser lands on the app with a code');
    const tokens = await oidc.authorizationCodeGrant(config, callbacks[0]!, { pkceCodeVerifier: req.verifier, expectedState: req.state });
    t.equal(tokens.patient, 'sofia-garcia', 'the token carries the child as the patient');
    t.notOk(tokens.scope!.includes('AllergyIntolerance'), 'the unticked kind of data is not in the scope');
    t.ok(tokens.refresh_token, 'offline access was kept');

    const fhir = new Client({ baseUrl: server.fhirBase, bearerToken: tokens.access_token });
    const observations = (await fhir.search({ resourceType: 'Observation', searchParams: { patient: 'sofia-garcia' } })) as { total?: number };
    t.ok((observations.total ?? 0) > 0, "the app reads the child's observations");
    const allergies = await fhir.search({ resourceType: 'AllergyIntolerance', searchParams: { patient: 'sofia-garcia' } }).catch((e: { response?: { status: number } }) => e.response);
    t.equal((allergies as { status?: number }).status, 403, 'and gets 403 for allergies');

    await page.goto(`${server.base}/portal/apps`);
    await page.getByRole('button', { name: /Remove access/ }).first().waitFor();
    const apps = (await page.textContent('main')) ?? '';
    t.match(apps, /Acme Health Tracker/, 'the connected apps page lists the app');
    t.match(apps, /Sofia/, 'with whose record it sees');
    await screenshots(page, '04-connected-apps');
    await page.getByRole('button', { name: /Remove access/ }).first().click();
    await page.getByText(/Access was removed/).waitFor();
    await screenshots(page, '05-app-removed');

    const deadline = Date.now() + 1000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await fetch(`${server.fhirBase}/Observation?patient=sofia-garcia`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).status;
      if (status === 401) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    t.equal(status, 401, 'the same token is refused within a second');
    await t.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token!), 'and so is its refresh token');
  });

  t.test('Deny returns access_denied to the app', async (t) => {
    const { page, callbacks } = await newPhoneContext(browser, REDIRECT);
    await page.goto((await start()).url);
    await page.getByLabel('Username').fill('daniel');
    await page.getByLabel('Password').fill('smart-demo');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.waitForURL(`${REDIRECT}**`);
    t.equal(callbacks[0]!.searchParams.get('error'), 'access_denied');
  });

  t.test('the whole flow works with the keyboard alone, in a sensible focus order', async (t) => {
    const { page, callbacks } = await newPhoneContext(browser, REDIRECT);
    await page.goto((await start()).url);
    const focused = () => page.evaluate('(() => { const e = document.activeElement; if (!e) return ""; return (e.tagName === "BUTTON" || e.tagName === "A" ? e.textContent : e.getAttribute("name") || e.id || "").trim(); })()') as Promise<string>;
    /** Presses Tab until `want` has focus; returns what had focus on the way. */
    const tabTo = async (want: (f: string) => boolean) => {
      const seen: string[] = [];
      for (let i = 0; i < 40; i++) {
        await page.keyboard.press('Tab');
        const f = await focused();
        seen.push(f);
        if (want(f)) return seen;
      }
      throw new Error(`never reached by Tab; focus went ${seen.join(' → ')}`);
    };
    const first = await tabTo(() => true);
    t.match(first[0], /Skip to main content/, 'the first Tab reaches the skip link');
    await tabTo((f) => f === 'username');
    await page.keyboard.type('maria');
    await page.keyboard.press('Tab');
    t.equal(await focused(), 'password', 'Tab goes from Username to Password');
    await page.keyboard.type('smart-demo');
    await page.keyboard.press('Enter');

    await page.getByRole('heading', { name: /Whose record/ }).waitFor();
    await tabTo((f) => f === 'patient');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');

    await page.getByRole('button', { name: 'Allow Access' }).waitFor();
    const order = await tabTo((f) => f === 'Allow Access');
    const firstBox = order.findIndex((f) => f === 'group');
    const firstDuration = order.findIndex((f) => f === 'duration');
    t.ok(firstBox >= 0 && firstDuration > firstBox, 'permissions come before the duration question, and both before Allow Access');
    await page.keyboard.press('Enter');
    for (let i = 0; i < 100 && !callbacks.length; i++) await new Promise((r) => setTimeout(r, 50));
    t.ok(callbacks[0]?.searchParams.get('code'), 'the app gets its code');
  });
});
