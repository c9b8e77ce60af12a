// The launch simulator driving the example app in real Chromium, as a developer tries an app against the sandbox:
// an EHR launch into the lab graphs, then every failure drill, each seen the way the app's user sees it.
import type { Page } from 'playwright-core';
import t from 'tap';
import { chromiumMissing, launchChromium, PHONE, screenshots } from '../helpers/chromium.js';
import { seedLabSeries, startExampleApp } from '../helpers/example-app.js';
import { startSmartServer } from '../helpers/smart-server.js';

t.test('launch simulator and failure drills with the example app', { skip: chromiumMissing() }, async (t) => {
  const server = await startSmartServer(t);
  await seedLabSeries(server);
  const example = await startExampleApp(t, server);
  const browser = await launchChromium(t);

  /** Fills the simulator for maria-garcia and the example app, presses Launch, and returns on the launch page. */
  const simulate = async (page: Page, opts: { drill: RegExp; signInAs?: string; skipConsent?: boolean; seconds?: string; untick?: string }) => {
    await page.goto(`${server.base}/sandbox/launch?client_id=${encodeURIComponent(example.clientId)}&q=maria`);
    await page.getByRole("radio", { name: /^Maria/ }).check();
    await page.getByLabel('Sign in automatically as').selectOption(opts.signInAs ?? 'maria');
    if (opts.skipConsent) await page.getByLabel(/Skip the consent page/).check();
    await page.getByLabel(opts.drill).check();
    if (opts.seconds) await page.getByLabel(/Access token lifetime/).fill(opts.seconds);
    if (opts.untick) await page.getByLabel(/Data the patient unticks/).selectOption(opts.untick);
    await page.getByRole('button', { name: 'Launch' }).click();
    await page.getByRole('heading', { name: /Launch of/ }).waitFor();
    return page.url();
  };
  const newPage = async () => (await browser.newContext({ viewport: PHONE })).newPage();

  t.test('EHR launch from the simulator into the example app: the lab graph is visible', async (t) => {
    const page = await newPage();
    const launchPage = await simulate(page, { drill: /None: a normal launch/, signInAs: 'dr-lee', skipConsent: true });
    await screenshots(page, '80-simulator-launch-ready');
    await page.getByRole('link', { name: /Open Example Lab Viewer/ }).click();
    await page.waitForURL(`${example.base}/record`);
    const chart = page.getByRole('img', { name: 'Hemoglobin over time' });
    await chart.waitFor();
    t.ok(await chart.isVisible(), 'the hemoglobin graph is visible');
    t.equal(await page.locator('.banner').count(), 0, 'inside an EHR launch the app shows no patient banner (need_patient_banner false)');
    await screenshots(page, '81-simulator-ehr-launch-record');
    await page.goto(launchPage);
    t.match(await page.locator('#launch-state').textContent(), /grant is active/);
  });

  t.test('drill: the patient denies access', async (t) => {
    const page = await newPage();
    await simulate(page, { drill: /The patient denies access/ });
    await page.getByRole('link', { name: /Open Example Lab Viewer/ }).click();
    await page.getByRole('heading', { name: 'You did not share your record' }).waitFor();
    t.pass('the app says nothing was shared');
    await screenshots(page, '82-drill-denied');
  });

  t.test('drill: the access token expires within seconds; the app refreshes and keeps working', async (t) => {
    const page = await newPage();
    await simulate(page, { drill: /The access token expires quickly/, skipConsent: true, seconds: '5' });
    await page.getByRole('link', { name: /Open Example Lab Viewer/ }).click();
    await page.waitForURL(`${example.base}/record`);
    await page.getByRole('img', { name: 'Hemoglobin over time' }).waitFor();
    await new Promise((r) => setTimeout(r, 6000));
    await page.reload();
    await page.getByRole('img', { name: 'Hemoglobin over time' }).waitFor();
    t.pass('after the first token expired the record still shows (refreshed with the refresh token)');
  });

  t.test('drill: the grant is revoked mid-session; the app asks to connect again', async (t) => {
    const page = await newPage();
    const launchPage = await simulate(page, { drill: /The grant is revoked mid-session/, skipConsent: true });
    await page.getByRole('link', { name: /Open Example Lab Viewer/ }).click();
    await page.waitForURL(`${example.base}/record`);
    await page.getByRole('img', { name: 'Hemoglobin over time' }).waitFor();
    await page.goto(launchPage);
    await page.getByRole('button', { name: 'Revoke access now' }).click();
    await page.getByText(/Access was revoked/).waitFor();
    await screenshots(page, '83-drill-revoked-simulator');
    await page.goto(`${example.base}/record`);
    await page.getByRole('heading', { name: 'Your connection ended' }).waitFor();
    t.ok(await page.getByRole('link', { name: 'Connect again' }).isVisible(), 'with a Connect again link');
    await screenshots(page, '84-drill-revoked-app');
  });

  t.test('drill: the patient unticks lab results; the app shows them as not shared', async (t) => {
    const page = await newPage();
    await simulate(page, { drill: /The patient unticks a kind of data/, untick: 'labs' });
    await page.getByRole('link', { name: /Open Example Lab Viewer/ }).click();
    await page.waitForURL(`${example.base}/record`);
    const labs = page.locator('section', { has: page.getByRole('heading', { name: /Lab results/ }) });
    await labs.waitFor();
    t.match(await labs.textContent(), /Not shared by the patient/);
    t.equal(await page.getByRole('img', { name: 'Hemoglobin over time' }).count(), 0, 'no lab graph');
    await screenshots(page, '85-drill-limited');
  });

  t.test('drill: the aud is wrong; an app that checks iss stops before sending the user anywhere', async (t) => {
    const page = await newPage();
    await simulate(page, { drill: /The aud is wrong/ });
    await page.getByRole('link', { name: /Open Example Lab Viewer/ }).click();
    await page.getByRole('heading', { name: 'Unknown health record server' }).waitFor();
    t.match(await page.textContent('main'), /wrong-aud/, 'it names the server it was asked to connect to');
    await screenshots(page, '86-drill-wrong-aud');
  });
});
