// Sessions under attack: a session id planted before sign-in (fixation) is never adopted and every sign-in issues a
// new one, at the portal and at the authorization server; a password reset ends every other sign-in of the account
// (portal sessions, authorization-server sessions, authorizations in progress) and keeps the connected apps.
import t from 'tap';
import { CookieJar } from '../helpers/browser-flow.js';
import { REDIRECT, registerClient, startSmartServer } from '../helpers/smart-server.js';
import { PASSWORD_CHANGED_NOTICE } from '../../src/portal/password-changed.js';
import { authorizeUrl, browse, cookieValue, csrfOf, fhirStatus, formActionOf, obtainCode, portalSignIn, postPage, redeem, tokenRequest } from './misuse-helpers.js';

const PLANTED = 'A'.repeat(43);
const MATEO = { username: 'mateo', password: 'smart-demo' } as const;
const NEW_PASSWORD = 'violet-kestrel-hovering-83';

t.test('session misuse', async (t) => {
  const server = await startSmartServer(t, { env: { SIGNIN_RATE_LIMIT: '1000' } });
  const offline = await registerClient(server, { client_name: 'Lasting App', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', scope: 'launch/patient offline_access patient/*.rs' });
  const online = await registerClient(server, { client_name: 'While Signed In App', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', scope: 'openid launch/patient online_access patient/*.rs' });
  const withCookie = (jar: CookieJar, extra: string) => [jar.header(), extra].filter(Boolean).join('; ');
  /** Is this cookie header signed in to the portal? */
  const portalSignedIn = async (cookie: string) => (await fetch(`${server.base}/portal/apps`, { redirect: 'manual', headers: { cookie } })).status === 200;

  t.test('a portal session id planted before sign-in is not adopted: sign-in issues a new one and the planted one signs nobody in', async (t) => {
    const jar = new CookieJar();
    const page = await fetch(`${server.base}/portal/login`, { headers: { cookie: `portal_session=${PLANTED}` } });
    jar.store(page);
    const res = await fetch(`${server.base}/portal/login?next=/portal/apps`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: withCookie(jar, `portal_session=${PLANTED}`) },
      body: new URLSearchParams({ _csrf: csrfOf(await page.text())!, username: 'daniel', password: 'smart-demo' }),
    });
    t.equal(res.status, 303, 'signed in');
    jar.store(res);
    const issued = cookieValue(jar, 'portal_session');
    t.ok(issued, 'a session cookie was set');
    t.not(issued, PLANTED, 'a new session id, not the planted one');
    t.notOk(await portalSignedIn(`portal_session=${PLANTED}`), 'the planted id is not signed in');
    t.ok(await portalSignedIn(jar.header()), 'the issued one is');
  });

  t.test('signing in at an authorization with a planted portal session id issues a new one as well', async (t) => {
    const jar = new CookieJar();
    const request = authorizeUrl(server, offline.client_id);
    const signIn = await fetch(request.url, { redirect: 'manual', headers: { cookie: `portal_session=${PLANTED}` } });
    jar.store(signIn);
    const page = await browse(new URL(signIn.headers.get('location')!, request.url).toString(), jar);
    const res = await fetch(new URL(formActionOf(page.html)!, page.url), {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: withCookie(jar, `portal_session=${PLANTED}`) },
      body: new URLSearchParams({ _csrf: csrfOf(page.html)!, username: 'daniel', password: 'smart-demo' }),
    });
    t.equal(res.status, 303, 'signed in');
    jar.store(res);
    t.not(cookieValue(jar, 'portal_session'), PLANTED, 'a new portal session id');
    t.notOk(await portalSignedIn(`portal_session=${PLANTED}`), 'the planted id is not signed in');
  });

  t.test('signing in again replaces the session id and ends the one the browser carried', async (t) => {
    const jar = await portalSignIn(server, 'daniel');
    const first = cookieValue(jar, 'portal_session')!;
    await portalSignIn(server, 'maria', 'smart-demo', jar);
    const second = cookieValue(jar, 'portal_session')!;
    t.not(second, first, 'a new id at the second sign-in');
    t.notOk(await portalSignedIn(`portal_session=${first}`), 'the earlier id no longer signs anyone in');
    t.ok(await portalSignedIn(`portal_session=${second}`));
  });

  t.test("the authorization server's session cookie is never adopted and changes at every sign-in", async (t) => {
    const jar = new CookieJar();
    // A planted (unsigned) session cookie, then a full authorization in that browser.
    const planted = await fetch(authorizeUrl(server, offline.client_id).url, { redirect: 'manual', headers: { cookie: `_session=${PLANTED}; _session.sig=forged` } });
    await planted.arrayBuffer();
    await obtainCode(server, offline.client_id, {}, { username: 'daniel', password: 'smart-demo' }, jar);
    const first = cookieValue(jar, '_session');
    t.ok(first, 'the provider set its session cookie');
    t.not(first, PLANTED, 'not the planted value');
    const firstSig = cookieValue(jar, '_session.sig');
    // The same browser authorizes again (signed in already): the provider session id is renewed.
    const again = await obtainCode(server, offline.client_id, {}, { username: 'daniel', password: 'smart-demo' }, jar);
    t.ok(again.code, 'the second authorization completed');
    t.not(cookieValue(jar, '_session'), first, 'a new provider session id');
    // The earlier id, carried by another browser without a portal session, signs nobody in: the sign-in page shows.
    const stale = new CookieJar();
    const res = await fetch(authorizeUrl(server, offline.client_id).url, { redirect: 'manual', headers: { cookie: `_session=${first}; _session.sig=${firstSig}` } });
    stale.store(res);
    const page = await browse(new URL(res.headers.get('location')!, server.issuer).toString(), stale);
    t.match(formActionOf(page.html), /\/login$/, 'the earlier provider session id leads to the sign-in page');
  });

  t.test('a password reset ends every session of the account, and the page and e-mail say connected apps keep their access', async (t) => {
    // Browser A: the portal. Browser B: two apps, one lasting (offline_access), one for while signed in (online_access).
    const a = await portalSignIn(server, 'mateo');
    const b = new CookieJar();
    const lasting = await obtainCode(server, offline.client_id, {}, MATEO, b);
    const lastingTokens = (await redeem(server, offline.client_id, lasting.code, lasting.verifier)).body as { access_token: string; refresh_token: string };
    const whileIn = await obtainCode(server, online.client_id, { scope: 'openid launch/patient online_access patient/*.rs' }, MATEO, b);
    const whileInTokens = (await redeem(server, online.client_id, whileIn.code, whileIn.verifier)).body as { access_token: string; refresh_token: string };
    t.ok(whileInTokens.refresh_token, 'online_access gave a refresh token');
    for (const token of [lastingTokens.access_token, whileInTokens.access_token]) t.equal(await fhirStatus(server, token), 200, 'both apps work before the reset');
    // Browser C: signed in at an authorization, now on its consent page.
    const c = new CookieJar();
    const cSignIn = await browse(authorizeUrl(server, offline.client_id).url, c);
    const cLogin = await postPage(new URL(formActionOf(cSignIn.html)!, cSignIn.url).toString(), c, { _csrf: csrfOf(cSignIn.html)!, ...MATEO });
    const cConsent = await browse(new URL(cLogin.headers.get('location')!, cSignIn.url).toString(), c);
    t.match(formActionOf(cConsent.html), /\/consent$/, 'browser C is on the consent page');
    // Browser D: the sign-in form was accepted, the redirect that resumes the authorization not yet followed.
    const d = new CookieJar();
    const dSignIn = await browse(authorizeUrl(server, offline.client_id).url, d);
    const dLogin = await postPage(new URL(formActionOf(dSignIn.html)!, dSignIn.url).toString(), d, { _csrf: csrfOf(dSignIn.html)!, ...MATEO });
    const dResume = new URL(dLogin.headers.get('location')!, dSignIn.url).toString();

    // Browser E resets the password with a code from the e-mail.
    const e = new CookieJar();
    const forgot = await browse(`${server.base}/portal/forgot`, e);
    await postPage(`${server.base}/portal/forgot`, e, { _csrf: csrfOf(forgot.html)!, login: 'mateo' });
    const code = /Your code is: (\d{8})/.exec((await browse(`${server.base}/dev/mailbox`, e)).html)![1]!;
    const resetPage = await browse(`${server.base}/portal/reset`, e);
    const reset = await postPage(`${server.base}/portal/reset`, e, { _csrf: csrfOf(resetPage.html)!, username: 'mateo', code, newPassword: NEW_PASSWORD });
    t.equal(reset.status, 303, 'the reset is accepted');
    t.equal(reset.headers.get('location'), '/portal/apps?notice=password-changed');
    const done = await browse(`${server.base}${reset.headers.get('location')!}`, e);
    t.ok(done.html.includes(PASSWORD_CHANGED_NOTICE), 'the page says every other sign-in ended and that connected apps keep their access');
    t.match(done.html, /Lasting App/, 'and lists the app that stays, with its Remove access button');
    t.match(done.html, /action="\/portal\/apps\/[^"]+\/remove"/);
    t.notMatch(done.html, /While Signed In App/, 'the app that only lasted while signed in is gone');

    t.notOk(await portalSignedIn(a.header()), 'browser A (portal) is signed out');
    const bAgain = await browse(authorizeUrl(server, offline.client_id).url, b);
    t.match(formActionOf(bAgain.html), /\/login$/, 'browser B must sign in again for the next authorization');
    const cPost = await postPage(new URL(formActionOf(cConsent.html)!, cConsent.url).toString(), c, { _csrf: csrfOf(cConsent.html)!, decision: 'allow', group: 'labs', duration: 'forever' });
    t.equal(cPost.status, 400, "browser C's consent is refused");
    t.match(await cPost.text(), /This link has expired/);
    const dFollow = await browse(dResume, d, (url) => url.startsWith(REDIRECT));
    t.notOk(dFollow.url.startsWith(REDIRECT) && new URL(dFollow.url).searchParams.get('code'), 'browser D gets no code');
    t.notMatch(formActionOf(dFollow.html) ?? '', /\/consent$/, 'and no consent page: the sign-in it made before the reset is gone');

    t.equal(await fhirStatus(server, lastingTokens.access_token), 200, 'the lasting app keeps its access token');
    const refreshed = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: lastingTokens.refresh_token, client_id: offline.client_id });
    t.equal(refreshed.status, 200, 'and can refresh');
    t.equal(await fhirStatus(server, whileInTokens.access_token), 401, 'the while-signed-in app lost its access token');
    const refusedRefresh = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: whileInTokens.refresh_token, client_id: online.client_id });
    t.equal(refusedRefresh.body.error, 'invalid_grant', 'and its refresh token');

    const mailbox = (await browse(`${server.base}/dev/mailbox`, e)).html;
    t.match(mailbox, /Your password was changed/, 'an e-mail tells the account');
    t.match(mailbox, /Every sign-in to the account has ended/);
    t.match(mailbox, /Apps connected to your health records keep their access/);
    t.match(mailbox, /\/portal\/apps/, 'with the link to remove them');
  });
});
