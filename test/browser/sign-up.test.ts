// Creating a portal account in real Chromium on a phone: with the activation code the clinic hands out (once, for 45
// days, with the right date of birth; every way of getting it wrong reads the same), and as an adult without a code
// by matching name, date of birth and medical record number to exactly one record.
import type { Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { chromiumMissing, launchChromium, newPhoneContext, screenshots } from '../helpers/chromium.js';
import { REDIRECT, startSmartServer } from '../helpers/smart-server.js';

const DAY = 86_400_000;
const GENERIC = /The activation code, date of birth or both are not right, or the code has expired\. Ask the clinic for a new code\./;

t.test('signing up for the portal in Chromium', { skip: chromiumMissing() }, async (t) => {
  const browser = await launchChromium(t);
  let now = Date.now();
  const clock = () => now;

  /** A server with Ana Rivera's record, which has no account yet. */
  const serverWithAna = async (t: Test) => {
    now = Date.now();
    const server = await startSmartServer(t, { clock });
    await server.fhir.update('Patient', 'new-patient', {
      resourceType: 'Patient',
      id: 'new-patient',
      name: [{ family: 'Rivera', given: ['Ana'] }],
      birthDate: '1990-05-01',
      identifier: [{ system: 'urn:mrn', value: 'MRN-123' }],
    });
    return server;
  };

  const submit = async (page: Page, button: string) => {
    // Wait for the answer's page itself, not the form it was sent from.
    await Promise.all([page.waitForEvent('framenavigated', (f) => f === page.mainFrame()), page.getByRole('button', { name: button }).click()]);
    await page.waitForLoadState();
  };
  const withCode = async (page: Page, base: string, v: { code: string; birthDate: string; username: string; password?: string }) => {
    if (!page.url().startsWith(`${base}/portal/signup`)) await page.goto(`${base}/portal/signup`);
    await page.getByLabel('Activation code').fill(v.code);
    await page.getByLabel('Date of birth').fill(v.birthDate);
    await page.getByLabel('Email address').fill('ana.rivera@example.org');
    await page.getByLabel('Username').fill(v.username);
    await page.getByLabel('New password', { exact: true }).fill(v.password ?? 'lantern orchard 42');
    await page.getByLabel('Type the new password again').fill(v.password ?? 'lantern orchard 42');
    await submit(page, 'Create account');
  };
  /** The problem shown at the Activation code field, and the summary at the top. */
  const codeProblem = async (page: Page) => ({
    summary: ((await page.getByRole('alert').textContent()) ?? '').replace(/\s+/g, ' ').trim(),
    atField: ((await page.locator('.field--error').filter({ has: page.getByLabel('Activation code') }).locator('.field__error').textContent()) ?? '').replace(/^Error:\s*/, '').trim(),
  });

  let reusedCodeError = '';

  t.test('a valid code with the right date of birth creates the account and signs in; the same code cannot be used again', async (t) => {
    const server = await serverWithAna(t);
    const { code } = await server.portal!.activation.issueActivationCode('new-patient');
    const { page, context } = await newPhoneContext(browser, REDIRECT);

    await page.goto(`${server.base}/portal/login`);
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByRole('heading', { name: 'Create an account' }).waitFor();
    await screenshots(page, '20-sign-up-with-code');

    await withCode(page, server.base, { code, birthDate: '1990-05-01', username: 'ana.rivera' });
    t.equal(new URL(page.url()).pathname, '/portal/apps', 'the new account is signed in on Connected apps');
    t.match(await page.textContent('header'), /Signed in as Ana Rivera/, 'as the person of the record');
    await screenshots(page, '21-signed-up');

    // Someone else at the same desk tries the same code again.
    await context.clearCookies();
    await page.goto(`${server.base}/portal/signup`);
    await withCode(page, server.base, { code, birthDate: '1990-05-01', username: 'someone.else' });
    t.equal(new URL(page.url()).pathname, '/portal/signup', 'the used code does not create a second account');
    const problem = await codeProblem(page);
    t.match(problem.summary, GENERIC, 'the page shows the one generic error');
    t.match(problem.atField, GENERIC, 'next to the activation code field too');
    reusedCodeError = problem.atField;
    t.equal(await page.getByLabel('Username').inputValue(), 'someone.else', 'what was typed is kept');
    t.equal(await page.getByLabel('New password', { exact: true }).inputValue(), '', 'except the passwords');
    await screenshots(page, '22-code-refused');

    await page.goto(`${server.base}/portal/login`);
    await page.getByLabel('Username').fill('ana.rivera');
    await page.getByLabel('Password').fill('lantern orchard 42');
    await submit(page, 'Sign in');
    t.equal(new URL(page.url()).pathname, '/portal/apps', 'the new account signs in with its password');
  });

  t.test('a code older than 45 days gets the same generic error as a used code', async (t) => {
    const server = await serverWithAna(t);
    const { code } = await server.portal!.activation.issueActivationCode('new-patient');
    now += 46 * DAY;
    const { page } = await newPhoneContext(browser, REDIRECT);
    await withCode(page, server.base, { code, birthDate: '1990-05-01', username: 'ana.rivera' });
    t.equal(new URL(page.url()).pathname, '/portal/signup', 'the expired code creates no account');
    const problem = await codeProblem(page);
    t.match(problem.atField, GENERIC, 'the page shows the generic error');
    t.equal(problem.atField, reusedCodeError, 'word for word the error of a used code');
  });

  t.test('a wrong date of birth gets the same generic error, and does not use up the code', async (t) => {
    const server = await serverWithAna(t);
    const { code } = await server.portal!.activation.issueActivationCode('new-patient');
    const { page } = await newPhoneContext(browser, REDIRECT);
    await withCode(page, server.base, { code, birthDate: '1990-01-05', username: 'ana.rivera' });
    t.equal(new URL(page.url()).pathname, '/portal/signup', 'a wrong date of birth creates no account');
    const problem = await codeProblem(page);
    t.equal(problem.atField, reusedCodeError, 'word for word the error of a used code');
    t.equal(await page.getByLabel('Date of birth').inputValue(), '1990-01-05', 'the date typed stays in the form to be corrected');

    await withCode(page, server.base, { code, birthDate: '1990-05-01', username: 'ana.rivera' });
    t.equal(new URL(page.url()).pathname, '/portal/apps', 'with the right date the same code then works');
  });

  t.test(
    'the password hint on every form states the length the policy enforces (10 characters)',
    async (t) => {
      const server = await serverWithAna(t);
      const { page } = await newPhoneContext(browser, REDIRECT);
      for (const path of ['/portal/signup', '/portal/signup/self', '/portal/reset']) {
        await page.goto(`${server.base}${path}`);
        const field = page.locator('.field').filter({ has: page.getByLabel('New password', { exact: true }) });
        const hint = (await field.locator('.field__hint').textContent()) ?? '';
        t.match(hint, /at least 10 characters/, `${path}: the hint says 10 characters`);
      }
      const { code } = await server.portal!.activation.issueActivationCode('new-patient');
      await withCode(page, server.base, { code, birthDate: '1990-05-01', username: 'ana.rivera', password: 'tulip rain' });
      t.equal(new URL(page.url()).pathname, '/portal/apps', 'as the policy does: a 10-character password is accepted');
    },
  );

  t.test('an adult without a code signs up by matching name, date of birth and medical record number', async (t) => {
    const server = await serverWithAna(t);
    const { page } = await newPhoneContext(browser, REDIRECT);
    await page.goto(`${server.base}/portal/signup`);
    await page.getByRole('link', { name: 'create an account without a code' }).click();
    await page.getByRole('heading', { name: 'Create an account without a code' }).waitFor();
    await screenshots(page, '23-self-sign-up');

    await page.getByLabel('First name').fill('Ana');
    await page.getByLabel('Last name').fill('Rivera');
    await page.getByLabel('Date of birth').fill('1990-05-01');
    await page.getByLabel('Medical record number').fill('MRN-123');
    await page.getByLabel('Email address').fill('ana.rivera@example.org');
    await page.getByLabel('Username').fill('ana.rivera');
    await page.getByLabel('New password', { exact: true }).fill('lantern orchard 42');
    await page.getByLabel('Type the new password again').fill('lantern orchard 42');
    await submit(page, 'Create account');
    t.equal(new URL(page.url()).pathname, '/portal/apps', 'the new account is signed in on Connected apps');
    t.match(await page.textContent('header'), /Signed in as Ana Rivera/, 'as the person of the matched record');
  });

  t.test('self sign-up with a medical record number that does not match sends the person to support', async (t) => {
    const server = await serverWithAna(t);
    const { page } = await newPhoneContext(browser, REDIRECT);
    await page.goto(`${server.base}/portal/signup/self`);
    await page.getByLabel('First name').fill('Ana');
    await page.getByLabel('Last name').fill('Rivera');
    await page.getByLabel('Date of birth').fill('1990-05-01');
    await page.getByLabel('Medical record number').fill('MRN-999');
    await page.getByLabel('Username').fill('ana.rivera');
    await page.getByLabel('New password', { exact: true }).fill('lantern orchard 42');
    await page.getByLabel('Type the new password again').fill('lantern orchard 42');
    await submit(page, 'Create account');
    t.equal(new URL(page.url()).pathname, '/portal/signup/self', 'no account is created');
    t.match(await page.getByRole('alert').textContent(), /We could not match you to one record; please contact support\./, 'the page says to contact support');
    t.equal(await page.getByLabel('Medical record number').inputValue(), 'MRN-999', 'the number typed stays in the form to be checked');
    await screenshots(page, '24-self-sign-up-no-match');

    await page.goto(`${server.base}/portal/login`);
    await page.getByLabel('Username').fill('ana.rivera');
    await page.getByLabel('Password').fill('lantern orchard 42');
    await submit(page, 'Sign in');
    t.match(await page.getByRole('alert').textContent(), /The username or password is not right/, 'and the username it asked for cannot sign in');
  });
});
