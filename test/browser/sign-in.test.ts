// Signing in to the portal as a person would, in real Chromium on a phone: the lockout after five wrong passwords
// (even the right one fails until it ends), one answer for a wrong username and a wrong password, the sign-out after
// 20 idle minutes, and the Sign out button. The portal's clock is moved forward instead of waiting.
import type { Page } from 'playwright-core';
import t from 'tap';
import { chromiumMissing, launchChromium, newPhoneContext, screenshots } from '../helpers/chromium.js';
import { REDIRECT, startSmartServer } from '../helpers/smart-server.js';

const MINUTE = 60_000;

t.test('signing in to the portal in Chromium', { skip: chromiumMissing() }, async (t) => {
  const browser = await launchChromium(t);
  let now = Date.now();
  const clock = () => now;

  const signIn = async (page: Page, username: string, password: string) => {
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(password);
    // Wait for the answer's page itself, not the one the form was on (both show the same URL after a refusal).
    await Promise.all([page.waitForEvent('framenavigated', (f) => f === page.mainFrame()), page.getByRole('button', { name: 'Sign in' }).click()]);
    await page.waitForLoadState();
  };
  const problem = async (page: Page) => ((await page.getByRole('alert').textContent()) ?? '').trim();

  t.test('five wrong passwords lock the account for 15 minutes: even the right one fails, until the lock ends', async (t) => {
    now = Date.now();
    const server = await startSmartServer(t, { clock, env: { SIGNIN_RATE_LIMIT: '1000' } });
    const { page } = await newPhoneContext(browser, REDIRECT);
    await page.goto(`${server.base}/portal/login`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await screenshots(page, '10-portal-sign-in');

    for (let i = 1; i <= 4; i++) {
      await signIn(page, 'maria', `wrong-password-${i}`);
      t.match(await problem(page), /The username or password is not right/, `wrong password ${i} is refused`);
    }
    t.match(page.url(), /\/portal\/login/, 'the person stays on the sign-in page');
    t.equal(await page.getByLabel('Username').inputValue(), 'maria', 'with the username kept in the form');
    t.equal(await page.getByLabel('Password').inputValue(), '', 'and the password emptied');
    await screenshots(page, '11-wrong-password');

    await signIn(page, 'maria', 'wrong-password-5');
    t.match(await problem(page), /Too many attempts\. Wait 15 minutes/, 'the fifth wrong password locks the account');
    await signIn(page, 'maria', 'smart-demo');
    t.match(await problem(page), /Too many attempts\. Wait 15 minutes/, 'the sixth attempt, with the RIGHT password, still fails');
    t.match(page.url(), /\/portal\/login/, 'and does not sign in');
    await screenshots(page, '12-locked');

    now += 14 * MINUTE;
    await signIn(page, 'maria', 'smart-demo');
    t.match(await problem(page), /Too many attempts/, '14 minutes later the account is still locked');

    now += 2 * MINUTE;
    await signIn(page, 'maria', 'smart-demo');
    await page.waitForURL(`${server.base}/portal/apps`);
    await page.getByRole('heading', { name: 'Connected apps' }).waitFor();
    t.pass('16 minutes after the lock the right password signs in and lands on Connected apps');
    t.match(await page.textContent('header'), /Signed in as Maria Elena Garcia/, 'the header says who is signed in');
    await screenshots(page, '13-signed-in-no-apps');
  });

  t.test('a wrong username and a wrong password get the same answer', async (t) => {
    now = Date.now();
    const server = await startSmartServer(t, { clock });
    const { page } = await newPhoneContext(browser, REDIRECT);
    await page.goto(`${server.base}/portal/login`);
    await signIn(page, 'nobody-by-this-name', 'smart-demo');
    const unknownUser = await problem(page);
    const unknownStatusUrl = page.url();
    await signIn(page, 'daniel', 'not-the-password');
    const wrongPassword = await problem(page);
    t.match(unknownUser, /The username or password is not right/, 'an unknown username is refused');
    t.equal(wrongPassword, unknownUser, 'with exactly the words used for a wrong password');
    t.equal(page.url(), unknownStatusUrl, 'on the same page');
  });

  t.test('after 20 minutes without activity the session ends and the sign-in page says why', async (t) => {
    now = Date.now();
    const server = await startSmartServer(t, { clock });
    const { page } = await newPhoneContext(browser, REDIRECT);
    await page.goto(`${server.base}/portal/apps`);
    await page.waitForURL(/\/portal\/login/);
    t.notMatch(await page.textContent('main'), /without activity/, 'someone who never signed in is not told about a timeout');
    await signIn(page, 'daniel', 'smart-demo');
    await page.waitForURL(`${server.base}/portal/apps`);

    now += 19 * MINUTE;
    await page.reload();
    await page.getByRole('heading', { name: 'Connected apps' }).waitFor();
    t.equal(new URL(page.url()).pathname, '/portal/apps', 'after 19 quiet minutes the session is still alive');

    now += 21 * MINUTE;
    await page.reload();
    await page.waitForURL(/\/portal\/login/);
    t.equal(new URL(page.url()).searchParams.get('next'), '/portal/apps', 'after 21 more quiet minutes the page asks to sign in again');
    t.match(await page.getByRole('status').textContent(), /You were signed out after 20 minutes without activity/, 'saying why');
    await screenshots(page, '14-idle-sign-out');

    await signIn(page, 'daniel', 'smart-demo');
    await page.waitForURL(`${server.base}/portal/apps`);
    t.pass('signing in again goes back to Connected apps');
  });

  t.test(
    'with a shorter idle limit configured, the notice names that limit',
    async (t) => {
      now = Date.now();
      const server = await startSmartServer(t, { clock, env: { SESSION_IDLE_SECONDS: '600' } });
      const { page } = await newPhoneContext(browser, REDIRECT);
      await page.goto(`${server.base}/portal/login`);
      await signIn(page, 'daniel', 'smart-demo');
      await page.waitForURL(`${server.base}/portal/apps`);
      now += 11 * MINUTE;
      await page.reload();
      await page.waitForURL(/\/portal\/login/);
      const notice = (await page.getByRole('status').textContent()) ?? '';
      t.match(notice, /after 10 minutes without activity/, 'a 10-minute limit is announced as 10 minutes');
      t.notMatch(notice, /20 minutes/, 'not as 20');
    },
  );

  t.test('Sign out ends the session: Connected apps asks to sign in again', async (t) => {
    now = Date.now();
    const server = await startSmartServer(t, { clock });
    const { page, context } = await newPhoneContext(browser, REDIRECT);
    await page.goto(`${server.base}/portal/login`);
    await signIn(page, 'daniel', 'smart-demo');
    await page.waitForURL(`${server.base}/portal/apps`);
    const session = (await context.cookies()).find((c) => c.name === 'portal_session');
    t.ok(session, 'signing in set a session cookie');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/portal\/login\?out=1/);
    t.match(await page.getByRole('status').textContent(), /You are signed out/, 'the sign-in page confirms the sign-out');
    t.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0, 'and has no Sign out button any more');
    await screenshots(page, '15-signed-out');
    t.notOk((await context.cookies()).some((c) => c.name === 'portal_session'), 'the session cookie is gone from the browser');

    await page.goto(`${server.base}/portal/apps`);
    await page.waitForURL(/\/portal\/login/);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    t.notMatch(await page.textContent('main'), /without activity/, 'Connected apps asks to sign in, without a timeout notice');

    // The session ended on the server too: the old cookie, put back, opens nothing.
    await context.addCookies([session!]);
    await page.goto(`${server.base}/portal/apps`);
    await page.waitForURL(/\/portal\/login/);
    t.pass('the old session cookie, replayed, is sent to sign in');
  });
});
