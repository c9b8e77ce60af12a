// "Forgot your password?" in real Chromium on a phone: the request page answers the same whether or not an account
// matches; the code arrives by e-mail (in the sandbox, on /dev/mailbox), works once, for 15 minutes, and replaces the
// password. The portal's clock is moved forward instead of waiting.
import type { Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { chromiumMissing, launchChromium, newPhoneContext, screenshots } from '../helpers/chromium.js';
import { REDIRECT, startSmartServer } from '../helpers/smart-server.js';

const MINUTE = 60_000;
const DANIEL_EMAIL = 'daniel@example.org';
const NEW_PASSWORD = 'copper kettle morning';
const RESET_FAILED = /The username or code is not right, or the code has expired or was used\. Ask for a new code\./;

t.test('resetting a forgotten password in Chromium', { skip: chromiumMissing() }, async (t) => {
  const browser = await launchChromium(t);
  let now = Date.now();
  const clock = () => now;
  const server = async (t: Test) => {
    now = Date.now();
    return startSmartServer(t, { clock });
  };

  const submit = async (page: Page, button: string) => {
    // Wait for the answer's page itself, not the form it was sent from.
    await Promise.all([page.waitForEvent('framenavigated', (f) => f === page.mainFrame()), page.getByRole('button', { name: button }).click()]);
    await page.waitForLoadState();
  };
  const askForCode = async (page: Page, base: string, login: string) => {
    await page.goto(`${base}/portal/forgot`);
    await page.getByLabel('Username or email address').fill(login);
    await submit(page, 'Send code');
  };
  /** The code in the newest message to `to` on the sandbox mailbox, and how many messages went there. */
  const readMailbox = async (page: Page, base: string, to: string) => {
    await page.goto(`${base}/dev/mailbox`);
    await page.getByRole('heading', { name: 'Sandbox mailbox' }).waitFor();
    const messages = page.getByRole('article').filter({ hasText: to });
    const count = await messages.count();
    const body = count ? ((await messages.first().locator('pre').textContent()) ?? '') : '';
    return { count, body, code: /Your code is: (\d{8})/.exec(body)?.[1] };
  };
  const reset = async (page: Page, base: string, v: { code: string; username: string; password: string }) => {
    await page.goto(`${base}/portal/reset`);
    await page.getByLabel('Code from the email').fill(v.code);
    await page.getByLabel('Username').fill(v.username);
    await page.getByLabel('New password').fill(v.password);
    await submit(page, 'Save new password');
  };
  const signIn = async (page: Page, base: string, username: string, password: string) => {
    await page.goto(`${base}/portal/login`);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(password);
    await submit(page, 'Sign in');
  };

  t.test('asking for a code answers the same for an existing and an unknown username; only the account gets mail', async (t) => {
    const s = await server(t);
    const { page } = await newPhoneContext(browser, REDIRECT);
    await page.goto(`${s.base}/portal/login`);
    await page.getByRole('link', { name: 'Forgot password?' }).click();
    await page.getByRole('heading', { name: 'Forgot your password?' }).waitFor();
    await screenshots(page, '30-forgot-password');

    await askForCode(page, s.base, 'daniel');
    await page.getByRole('heading', { name: 'Check your email' }).waitFor();
    const forDaniel = (await page.textContent('main')) ?? '';
    t.match(await page.getByRole('status').textContent(), /If an account matches, we sent a code to its email address/, 'the page says a code was sent if an account matches');
    await screenshots(page, '31-check-your-email');

    await askForCode(page, s.base, 'no-such-person');
    const forNobody = (await page.textContent('main')) ?? '';
    t.equal(forNobody, forDaniel, 'an unknown username gets exactly the same page');

    const mail = await readMailbox(page, s.base, DANIEL_EMAIL);
    t.equal(mail.count, 1, "one message went to daniel's address");
    t.ok(mail.code, 'with an 8-digit code');
    t.match(mail.body, /"daniel"/, 'naming the account');
    t.equal(await page.getByRole('article').count(), 1, 'and nothing was sent for the unknown username');
    await screenshots(page, '32-sandbox-mailbox');
  });

  t.test('the code from the e-mail sets a new password and signs in, once; then only the new password works', async (t) => {
    const s = await server(t);
    const { page, context } = await newPhoneContext(browser, REDIRECT);
    await askForCode(page, s.base, 'daniel');
    await page.getByRole('link', { name: 'Enter the code' }).waitFor();
    const { code } = await readMailbox(page, s.base, DANIEL_EMAIL);
    t.ok(code, 'the mailbox has the code');

    await page.goto(`${s.base}/portal/reset`);
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    await screenshots(page, '33-reset-password');
    await reset(page, s.base, { code: code!, username: 'daniel', password: NEW_PASSWORD });
    t.equal(new URL(page.url()).pathname, '/portal/apps', 'the right code with a new password signs in on Connected apps');
    t.match(await page.textContent('header'), /Signed in as Daniel Kim/, 'as daniel');

    await context.clearCookies();
    await reset(page, s.base, { code: code!, username: 'daniel', password: 'another new password' });
    t.equal(new URL(page.url()).pathname, '/portal/reset', 'the same code a second time does not sign in');
    t.match(await page.getByRole('alert').textContent(), RESET_FAILED, 'the page says the code is not right, expired or used');
    await screenshots(page, '34-reset-code-refused');

    await signIn(page, s.base, 'daniel', NEW_PASSWORD);
    t.equal(new URL(page.url()).pathname, '/portal/apps', 'the new password signs in');
    await context.clearCookies();
    await signIn(page, s.base, 'daniel', 'smart-demo');
    t.equal(new URL(page.url()).pathname, '/portal/login', 'the old password does not');
    t.match(await page.getByRole('alert').textContent(), /The username or password is not right/, 'it gets the usual refusal');
    await context.clearCookies();
    await signIn(page, s.base, 'daniel', 'another new password');
    t.equal(new URL(page.url()).pathname, '/portal/login', 'nor does the password tried with the used code');
  });

  t.test('a code older than 15 minutes is refused and the password stays as it was', async (t) => {
    const s = await server(t);
    const { page } = await newPhoneContext(browser, REDIRECT);
    await askForCode(page, s.base, 'daniel');
    const { code } = await readMailbox(page, s.base, DANIEL_EMAIL);
    now += 16 * MINUTE;
    await reset(page, s.base, { code: code!, username: 'daniel', password: NEW_PASSWORD });
    t.equal(new URL(page.url()).pathname, '/portal/reset', 'the old code does not sign in');
    t.match(await page.getByRole('alert').textContent(), RESET_FAILED, 'the page says the code is not right, expired or used');
    await signIn(page, s.base, 'daniel', NEW_PASSWORD);
    t.equal(new URL(page.url()).pathname, '/portal/login', 'the password it asked for does not sign in');
    await signIn(page, s.base, 'daniel', 'smart-demo');
    t.equal(new URL(page.url()).pathname, '/portal/apps', 'the old password still does');
  });

  t.test('a code used within its 15 minutes still works at minute 14', async (t) => {
    const s = await server(t);
    const { page } = await newPhoneContext(browser, REDIRECT);
    await askForCode(page, s.base, 'daniel');
    const { code } = await readMailbox(page, s.base, DANIEL_EMAIL);
    now += 14 * MINUTE;
    await reset(page, s.base, { code: code!, username: 'daniel', password: NEW_PASSWORD });
    t.equal(new URL(page.url()).pathname, '/portal/apps', 'the code signs in 14 minutes after it was sent');
  });
});
