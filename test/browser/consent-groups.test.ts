// The consent page for an app asking for everything (patient/*.rs), in real Chromium on a phone: the record's kinds of
// data appear as plain-language groups with counts, the patient unticks "Health problems", and the token reads her
// prescriptions but is refused her conditions.
import * as oidc from 'openid-client';
import t from 'tap';
import { chromiumMissing, launchChromium, newPhoneContext, screenshots } from '../helpers/chromium.js';
import { REDIRECT, fhirGet, registerClient, startSmartServer } from '../helpers/smart-server.js';

t.test('consent groups in Chromium', { skip: chromiumMissing() }, async (t) => {
  const server = await startSmartServer(t);
  const subject = { reference: 'Patient/maria-garcia' };
  for (const [id, text] of [['asthma', 'Asthma'], ['migraine', 'Migraine']] as const) {
    await server.fhir.update('Condition', `maria-${id}`, { resourceType: 'Condition', id: `maria-${id}`, subject, code: { text } });
  }
  for (const id of ['inhaler', 'refill', 'painkiller']) {
    await server.fhir.update('MedicationRequest', `maria-${id}`, { resourceType: 'MedicationRequest', id: `maria-${id}`, status: 'active', intent: 'order', subject, medicationCodeableConcept: { text: id } });
  }
  const browser = await launchChromium(t);
  const client = await registerClient(server, {
    client_name: 'Everything Health',
    redirect_uris: [REDIRECT],
    token_endpoint_auth_method: 'none',
    scope: 'openid fhirUser launch/patient patient/*.rs',
  });
  const config = await oidc.discovery(new URL(server.issuer), client.client_id, {}, oidc.None(), { execute: [oidc.allowInsecureRequests] });

  t.test('the patient unticks Health problems: the token reads MedicationRequest and gets 403 for Condition', async (t) => {
    const { page, callbacks } = await newPhoneContext(browser, REDIRECT);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      aud: server.fhirBase,
      scope: 'openid fhirUser launch/patient patient/*.rs',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    await page.goto(url.toString());
    await page.getByLabel('Username').fill('maria');
    await page.getByLabel('Password').fill('smart-demo');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: /Whose record/ }).waitFor();
    await page.getByLabel(/Maria/).check();
    await page.getByRole('button', { name: 'Continue' }).click();

    await page.getByRole('button', { name: 'Allow Access' }).waitFor();
    await screenshots(page, 'consent-groups-01-everything');
    const box = (name: string) => page.getByRole('checkbox', { name: new RegExp(`^${name}\\b`) });
    for (const [label, count] of [
      ['Health problems', '2 records'],
      ['Medications', '3 records'],
      ['Lab results', '1 lab result'],
      ['Allergies', '1 allergy'],
      ['Visits', 'None on record'],
      ['Test reports and clinical notes', 'None on record'],
      ['Care plans and care team', 'None on record'],
      ['Insurance', 'None on record'],
    ] as const) {
      t.ok(await box(label).isChecked(), `${label}: a ticked checkbox`);
      t.match(await box(label).getAttribute('aria-describedby'), /-count/, `${label}: its count is part of its description`);
      t.match(((await page.locator(`label[for="${await box(label).getAttribute('id')}"]`).textContent()) ?? '').replace(/\s+/g, ' '), `${label} ${count}`, `${label} shows ${count}`);
    }
    t.ok(await box('Your care providers').isVisible(), 'shared data has a checkbox of its own');
    const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    t.equal(overflow, 0, 'the long list fits the phone width (no sideways scrolling)');

    await box('Health problems').uncheck();
    await page.getByRole('button', { name: 'Allow Access' }).click();
    await page.waitForURL(`${REDIRECT}**`);
    const tokens = await oidc.authorizationCodeGrant(config, callbacks[0]!, { pkceCodeVerifier: verifier, expectedState: state });
    const granted = tokens.scope!.split(' ');
    t.notOk(granted.includes('patient/*.rs'), 'the wildcard was narrowed');
    t.notOk(granted.some((s) => /^patient\/(Condition|FamilyMemberHistory|AdverseEvent|ClinicalImpression|DetectedIssue)\./.test(s)), 'no scope for any kind of health problem');
    t.ok(granted.includes('patient/MedicationRequest.rs'), 'a scope per kept type');

    const meds = await fhirGet(server, '/MedicationRequest?patient=maria-garcia', tokens.access_token);
    t.equal(meds.status, 200, 'the app reads her prescriptions');
    t.equal((meds.body.entry as unknown[]).length, 3);
    t.equal((await fhirGet(server, '/Condition?patient=maria-garcia', tokens.access_token)).status, 403, 'and gets 403 for her conditions');
    t.equal((await fhirGet(server, '/Condition/maria-asthma', tokens.access_token)).status, 403, 'read by id too');

    await page.goto(`${server.base}/portal/apps`);
    await page.getByRole('button', { name: /Remove access/ }).first().waitFor();
    const apps = ((await page.textContent('main')) ?? '').replace(/\s+/g, ' ');
    t.match(apps, 'Medications 3 records', 'the connected-apps page lists what it may see, with counts');
    t.notMatch(apps.slice(0, apps.indexOf('Change what')), 'Health problems', 'and not the unticked group');
    await screenshots(page, 'consent-groups-02-connected-apps');
  });
});
