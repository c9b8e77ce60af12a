// The example SMART app in real Chromium: a patient connects her record (standalone launch) on a phone and sees her
// health problems, prescriptions and lab results as graphs; screenshots at phone and desktop width.
import t from 'tap';
import { chromiumMissing, launchChromium, PHONE, screenshots } from '../helpers/chromium.js';
import { seedLabSeries, seedProblemsAndPrescriptions, startExampleApp } from '../helpers/example-app.js';
import { startSmartServer } from '../helpers/smart-server.js';

t.test('example app in Chromium', { skip: chromiumMissing() }, async (t) => {
  const server = await startSmartServer(t);
  await seedLabSeries(server);
  await seedProblemsAndPrescriptions(server);
  const example = await startExampleApp(t, server);
  const browser = await launchChromium(t);
  const context = await browser.newContext({ viewport: PHONE });
  const page = await context.newPage();

  t.test('standalone launch to the lab graphs', async (t) => {
    await page.goto(example.base);
    await page.getByRole('heading', { name: 'Connect your health record' }).waitFor();
    await screenshots(page, 'example-app-01-start');
    await page.getByRole('link', { name: 'Connect your health record' }).click();

    await page.getByLabel('Username').fill('maria');
    await page.getByLabel('Password').fill('smart-demo');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: /Whose record/ }).waitFor();
    await page.getByLabel(/Maria/).check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Allow Access' }).waitFor();
    t.match(await page.textContent('main'), /Example Lab Viewer/, 'the consent page names the app');
    await page.getByLabel('Until I turn it off').check();
    await page.getByRole('button', { name: 'Allow Access' }).click();

    await page.waitForURL(`${example.base}/record`);
    const chart = page.getByRole('img', { name: 'Hemoglobin over time' });
    await chart.waitFor();
    t.ok(await chart.isVisible(), 'the hemoglobin graph is visible');
    const box = (await chart.boundingBox())!;
    t.ok(box.width > 300 && box.height > 150, `and readable on a phone (${Math.round(box.width)}×${Math.round(box.height)})`);
    t.ok(await page.getByRole('img', { name: 'Glucose over time' }).isVisible(), 'one graph per test');
    t.equal(await page.locator('svg.lab-chart').first().locator('.point').count(), 2, 'glucose, first in order, has its two points');
    t.ok(await page.getByRole('table', { name: 'Hemoglobin results, newest first' }).isVisible(), 'a table beside each graph');
    t.match(await page.locator('.banner').textContent(), /Maria Elena Garcia[\s\S]*1000001/, 'the patient banner with name and MRN');
    const problems = page.getByRole('region', { name: 'Health problems' });
    t.match(await problems.getByRole('listitem').first().textContent(), /Underactive thyroid \(hypothyroidism\)\s*Active · since 16 May 2023/, 'her problem list first');
    const levothyroxine = page.getByRole('region', { name: 'Medications' }).getByRole('listitem').filter({ hasText: 'Levothyroxine' });
    t.equal(await levothyroxine.count(), 1, 'levothyroxine once: the prescription, not also its medication-list entry');
    t.match(await levothyroxine.textContent(), /For: Underactive thyroid \(hypothyroidism\)[\s\S]*Prescribed 16 May 2023 by Jordan Lee, MD/, 'with its reason and prescriber');
    const overflow = (await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
    t.ok(overflow <= 0, 'nothing is wider than the phone screen');
    await screenshots(page, 'example-app-02-record');
  });

  t.test('denying access', async (t) => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('link', { name: 'Connect your health record' }).click();
    // Still signed in at the portal: straight to whose record.
    await page.getByLabel(/Maria/).check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.getByRole('heading', { name: 'You did not share your record' }).waitFor();
    t.ok(await page.getByRole('link', { name: 'Connect again' }).isVisible(), 'the denial page offers to connect again');
    await screenshots(page, 'example-app-03-denied');
  });
});
