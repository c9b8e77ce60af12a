// Attacks on the people-facing pages: cross-site requests against consent, Remove access and every other form (the
// form routes are read from Fastify's route table, so a new form cannot be forgotten), clickjacking of any HTML page,
// session fixation at sign-in, and a password reset that must end every other sign-in of the account.
import t, { type Test } from 'tap';
import { CookieJar } from '../helpers/browser-flow.js';
import { REDIRECT, registerClient, startSmartServer } from '../helpers/smart-server.js';
import { DANIEL, authorizeUrl, browse, csrfOf, fhirStatus, formActionOf, obtainCode, portalSignIn, postPage, redeem, routeTable } from './misuse-helpers.js';

const STALE_FORM = /out of date/;
const SCOPE = 'openid fhirUser launch/patient offline_access online_access patient/*.rs';

/** The page may not be framed by any site: CSP frame-ancestors 'none' and X-Frame-Options DENY. */
function assertNoFraming(t: Test, res: Response, label: string): void {
  t.match(res.headers.get('content-security-policy') ?? '', /(^|;)\s*frame-ancestors 'none'/, `${label}: frame-ancestors 'none'`);
  t.equal(res.headers.get('x-frame-options'), 'DENY', `${label}: X-Frame-Options DENY`);
}

t.test('misuse of the portal and sign-in pages', async (t) => {
  const server = await startSmartServer(t, { env: { SIGNIN_RATE_LIMIT: '1000' } });
  const app = await registerClient(server, { client_name: 'Portal Misuse App', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', scope: SCOPE, post_logout_redirect_uris: ['http://127.0.0.1:9/signed-out'] });
  /** A browser signed in at an authorization and now looking at the consent page. */
  const atConsent = async (choices: { username: string; password: string } = DANIEL, params: Record<string, string> = {}) => {
    const jar = new CookieJar();
    const request = authorizeUrl(server, app.client_id, params);
    const signIn = await browse(request.url, jar);
    const res = await postPage(new URL(formActionOf(signIn.html)!, signIn.url).toString(), jar, { _csrf: csrfOf(signIn.html)!, ...choices });
    const page = await browse(new URL(res.headers.get('location')!, signIn.url).toString(), jar);
    return { jar, request, page, action: new URL(formActionOf(page.html)!, page.url).toString(), csrf: csrfOf(page.html)! };
  };
  /** A token that some other site's page could hold: valid, but minted for another browser. */
  const foreignToken = async () => csrfOf((await browse(`${server.base}/portal/login`, new CookieJar())).html)!;
  const liveApp = async () => {
    const flow = await obtainCode(server, app.client_id, { scope: SCOPE });
    const tokens = (await redeem(server, app.client_id, flow.code, flow.verifier)).body as { access_token: string; refresh_token: string };
    const jar = await portalSignIn(server, 'daniel');
    const page = await browse(`${server.base}/portal/apps`, jar);
    const removeAction = /action="(\/portal\/apps\/[^"]+\/remove)"/.exec(page.html)![1]!;
    return { tokens, jar, removeAction, csrf: csrfOf(page.html)! };
  };

  t.test('consent posted without its CSRF token, with a forged one or with another browser\'s is refused: no grant, no redirect', async (t) => {
    const c = await atConsent();
    t.match(c.page.html, /Allow Access|Allow access/i, 'the consent page is shown');
    for (const [label, token] of [['no token', undefined], ['a forged token', 'forged-token'], ["another browser's token", await foreignToken()]] as const) {
      const res = await postPage(c.action, c.jar, { ...(token ? { _csrf: token } : {}), decision: 'allow', group: ['labs', 'vitals', 'allergies', 'basic'], duration: 'forever' });
      t.equal(res.status, 403, `${label}: 403`);
      t.equal(res.headers.get('location'), null, `${label}: no redirect to the app`);
      t.match(await res.text(), STALE_FORM, `${label}: the page says the form is out of date`);
    }
    t.same(await server.auth!.models.grantsForAccount('daniel').then((g) => g.filter((x) => x.clientId === app.client_id)), [], 'no grant was made');
    const ok = await postPage(c.action, c.jar, { _csrf: c.csrf, decision: 'allow', group: ['labs'], duration: 'forever' });
    t.equal(ok.status, 303, 'the same form with its own token goes through (the interaction was never broken)');
  });

  t.test('Remove access without its CSRF token, with a forged one or with another browser\'s is refused; the app stays connected', async (t) => {
    const live = await liveApp();
    for (const [label, token] of [['no token', undefined], ['a forged token', 'forged-token'], ["another browser's token", await foreignToken()]] as const) {
      const res = await postPage(`${server.base}${live.removeAction}`, live.jar, token ? { _csrf: token } : {});
      t.equal(res.status, 403, `${label}: 403`);
      t.match(await res.text(), STALE_FORM, `${label}: the page says the form is out of date`);
    }
    t.equal(await fhirStatus(server, live.tokens.access_token), 200, "the app's token still works");
    const removed = await postPage(`${server.base}${live.removeAction}`, live.jar, { _csrf: live.csrf });
    t.equal(removed.headers.get('location'), '/portal/apps?notice=removed', 'with its own token the form removes the app');
    t.equal(await fhirStatus(server, live.tokens.access_token), 401, 'and the token dies with it');
  });

  t.test('every form route in the route table refuses a post without a CSRF token, with a forged one or with another browser\'s', async (t) => {
    // Not forms: the FHIR API (bearer tokens, no cookies) and these two, each for the reason given.
    const notForms: Record<string, string> = {
      '/auth/auth': "SMART's authorize-post: only redirects to GET /auth/auth with the same parameters, as harmless as a link",
      '/sandbox/launch': 'JSON API for scripts: reads no cookie, and a cross-site form cannot send JSON (checked below)',
    };
    const live = await liveApp();
    const consent = await atConsent();
    const registered = await registerClient(server, { client_name: 'Sandbox Target', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' });
    const launch = (await (await fetch(`${server.base}/sandbox/launch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ patient: 'daniel-kim' }) })).json()) as { launch: string };
    const real: Record<string, string> = { uid: new URL(consent.action).pathname.split('/')[2]!, grantId: live.removeAction.split('/')[3]!, id: registered.client_id };
    const forms = routeTable(server.server).filter((r) => r.methods.includes('POST') && !r.path.startsWith('/fhir') && !(r.path in notForms));
    t.ok(forms.length >= 15, `${forms.length} form routes found: ${forms.map((f) => f.path).join(' ')}`);
    for (const p of ['/portal/login', '/portal/apps/:grantId/remove', '/interaction/:uid/consent', '/sandbox/apps/:id/delete']) t.ok(forms.some((f) => f.path === p), `the table has ${p}`);
    const foreign = await foreignToken();
    for (const route of forms) {
      const path = route.path.replace(/:(\w+)/g, (_m, name: string) => encodeURIComponent(name === 'id' && route.path.startsWith('/sandbox/launches') ? launch.launch : real[name] ?? 'x'));
      for (const [label, token] of [['no token', undefined], ['forged', 'forged-token'], ['foreign', foreign]] as const) {
        // The victim's browser: signed in, its own CSRF secret cookie; the attacker supplies the body.
        const jar = label === 'no token' ? consent.jar : live.jar;
        const res = await postPage(`${server.base}${path}`, jar, { ...(token ? { _csrf: token } : {}), ...DANIEL, decision: 'allow', group: 'labs', patient: 'daniel-kim', login: 'daniel', client_name: 'Hijacked', token: live.tokens.access_token });
        const body = await res.text();
        t.equal(res.status, 403, `POST ${route.path} (${label}): 403`);
        t.match(body, STALE_FORM, `POST ${route.path} (${label}): refused as an out-of-date form`);
      }
    }
    t.equal(await fhirStatus(server, live.tokens.access_token), 200, 'after the sweep the app is still connected');
    for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x']) {
      const res = await fetch(`${server.base}/sandbox/launch`, { method: 'POST', headers: { 'content-type': type, cookie: live.jar.header() }, body: type.startsWith('multipart') ? '--x--' : 'patient=daniel-kim' });
      t.ok(res.status === 400 || res.status === 415, `/sandbox/launch with a cross-site form's ${type.split(';')[0]}: ${res.status}, no launch`);
    }
  });

  t.test("the authorization server's sign-out confirmation refuses a missing or forged xsrf token", async (t) => {
    const flow = await obtainCode(server, app.client_id, { scope: 'openid launch/patient online_access patient/*.rs' });
    const page = await browse(`${server.issuer}/session/end?client_id=${app.client_id}`, flow.jar);
    t.match(page.html, /name="xsrf"/, 'the confirmation page has an xsrf field');
    for (const [label, xsrf] of [['no xsrf', undefined], ['a forged xsrf', 'forged']] as const) {
      const res = await postPage(`${server.issuer}/session/end/confirm`, flow.jar, { ...(xsrf ? { xsrf } : {}), logout: 'yes' });
      t.equal(res.status, 400, `${label}: 400`);
      t.equal(res.headers.get('location'), null, `${label}: no redirect`);
      t.match(await res.text(), /xsrf token invalid/, `${label}: refused as an invalid xsrf token`);
    }
  });

  t.test('every HTML page forbids framing: the route table, the sign-in flow, the provider\'s own pages and error pages', async (t) => {
    const live = await liveApp();
    const consent = await atConsent();
    const launch = (await (await fetch(`${server.base}/sandbox/launch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ patient: 'daniel-kim' }) })).json()) as { launch: string };
    const real: Record<string, string> = { uid: new URL(consent.action).pathname.split('/')[2]!, grantId: live.removeAction.split('/')[3]!, id: app.client_id };
    const html: string[] = [];
    const check = async (label: string, res: Response) => {
      await res.arrayBuffer().catch(() => undefined);
      if (!/text\/html/.test(res.headers.get('content-type') ?? '')) return;
      html.push(label);
      assertNoFraming(t, res, label);
    };
    for (const route of routeTable(server.server).filter((r) => r.methods.includes('GET') && !r.path.startsWith('/fhir') && !r.path.includes('*'))) {
      const path = route.path.replace(/:(\w+)/g, (_m, name: string) => encodeURIComponent(name === 'id' && route.path.startsWith('/sandbox/launches') ? launch.launch : real[name] ?? 'x'));
      const jar = route.path.startsWith('/interaction') ? consent.jar : live.jar;
      await check(`GET ${route.path}`, await fetch(`${server.base}${path}`, { redirect: 'manual', headers: { cookie: jar.header() } }));
    }
    for (const p of ['GET /portal/login', 'GET /portal/apps', 'GET /interaction/:uid', 'GET /sandbox', 'GET /sandbox/apps/new', 'GET /sandbox/launch', 'GET /sandbox/token', 'GET /dev/mailbox', 'GET /portal/reset']) {
      t.ok(html.includes(p), `${p} was checked as an HTML page`);
    }
    // The pages of an authorization as a browser meets them, including the patient picker.
    const maria = new CookieJar();
    const signIn = await browse(authorizeUrl(server, app.client_id).url, maria);
    await check('the sign-in page of an authorization', signIn.res);
    const afterLogin = await postPage(new URL(formActionOf(signIn.html)!, signIn.url).toString(), maria, { _csrf: csrfOf(signIn.html)!, username: 'maria', password: 'smart-demo' });
    const picker = await browse(new URL(afterLogin.headers.get('location')!, signIn.url).toString(), maria);
    t.match(picker.html, /name="patient"/, 'maria is asked whose record');
    await check('the patient picker', picker.res);
    await check('the consent page', (await browse(consent.page.url, consent.jar)).res);
    // The provider's own pages and the error pages.
    await check('the authorization error page', await fetch(authorizeUrl(server, app.client_id, { redirect_uri: 'https://evil.example/cb' }).url));
    await check('the sign-out confirmation', (await browse(`${server.issuer}/session/end?client_id=${app.client_id}`, consent.jar)).res);
    await check('the sign-out success page', await fetch(`${server.issuer}/session/end/success`));
    // response_mode=form_post ends on the provider's auto-submitting page (its own script-hash policy stays).
    const fp = await browse(authorizeUrl(server, app.client_id, { response_mode: 'form_post' }).url, live.jar);
    const fpAllowed = await postPage(new URL(formActionOf(fp.html)!, fp.url).toString(), live.jar, { _csrf: csrfOf(fp.html)!, decision: 'allow', group: 'labs', duration: 'forever' });
    const fpPage = await browse(new URL(fpAllowed.headers.get('location')!, fp.url).toString(), live.jar);
    t.match(fpPage.html, /<form method="post" action="http:\/\/127\.0\.0\.1:9\/callback">/, 'the form_post page posts the code to the app');
    await check('the form_post response page', fpPage.res);
    await check('a refused form (CSRF)', await postPage(`${server.base}/portal/logout`, live.jar, {}));
    await check('a portal 404 page', await postPage(`${server.base}/portal/apps/unknown/remove`, live.jar, { _csrf: live.csrf }));
    await check('the sandbox refused-form page', await postPage(`${server.base}/sandbox/token`, live.jar, {}));
    t.ok(html.length >= 25, `${html.length} HTML pages checked`);
  });
});
