// The portal over HTTP: security headers and CSRF on every form, the e-mail a new link sends, the connected-apps
// page with what the app read, narrowing a grant (the FHIR API follows at once), and a chosen duration running out.
import * as oidc from 'openid-client';
import t from 'tap';
import { CookieJar } from '../helpers/browser-flow.js';
import { REDIRECT, authorize, fhirGet, registerClient, startSmartServer } from '../helpers/smart-server.js';

const DAY = 86_400_000;

t.test('patient portal over HTTP', async (t) => {
  let now = Date.now();
  const server = await startSmartServer(t, { clock: () => now });
  const client = await registerClient(server, {
    client_name: 'Acme <b>Tracker</b>',
    redirect_uris: [REDIRECT],
    token_endpoint_auth_method: 'none',
    scope: 'openid fhirUser launch/patient offline_access patient/*.rs',
  });
  const config = await oidc.discovery(new URL(server.issuer), client.client_id, {}, oidc.None(), { execute: [oidc.allowInsecureRequests] });
  const scope = 'openid fhirUser launch/patient offline_access patient/Observation.rs patient/AllergyIntolerance.rs patient/Patient.rs';

  /** Signs in on the portal; returns the cookie jar of that browser. */
  const signIn = async (username: string) => {
    const jar = new CookieJar();
    const page = await fetch(`${server.base}/portal/login`);
    jar.store(page);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
    const res = await fetch(`${server.base}/portal/login?next=/portal/apps`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, username, password: 'smart-demo' }),
    });
    jar.store(res);
    if (res.status !== 303) throw new Error(`sign-in failed: ${res.status}`);
    return jar;
  };
  const appsPage = async (jar: CookieJar) => {
    const res = await fetch(`${server.base}/portal/apps`, { headers: { cookie: jar.header() } });
    return { status: res.status, html: await res.text() };
  };
  const post = async (jar: CookieJar, path: string, form: Record<string, string | string[]>) => {
    const { html } = await appsPage(jar);
    const body = new URLSearchParams({ _csrf: /name="_csrf" value="([^"]+)"/.exec(html)![1]! });
    for (const [k, v] of Object.entries(form)) for (const x of [v].flat()) body.append(k, x);
    return fetch(`${server.base}${path}`, { method: 'POST', redirect: 'manual', headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' }, body });
  };
  const grantIdOf = (html: string) => decodeURIComponent(/action="\/portal\/apps\/([^/"]+)\/remove"/.exec(html)![1]!);

  t.test('pages send a strict CSP and the usual security headers; the sign-in page is never cached', async (t) => {
    const res = await fetch(`${server.base}/portal/login`);
    const csp = res.headers.get('content-security-policy') ?? '';
    t.match(csp, /default-src 'none'/);
    t.match(csp, /frame-ancestors 'none'/);
    t.equal(res.headers.get('x-frame-options'), 'DENY');
    t.equal(res.headers.get('x-content-type-options'), 'nosniff');
    t.equal(res.headers.get('cache-control'), 'no-store');
    t.match(res.headers.get('set-cookie') ?? '', /HttpOnly/i, 'the CSRF secret cookie is HttpOnly');
    t.match(res.headers.get('set-cookie') ?? '', /SameSite=Lax/i);
  });

  t.test('a form posted without its CSRF token is refused and changes nothing', async (t) => {
    const res = await fetch(`${server.base}/portal/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'daniel', password: 'smart-demo' }),
    });
    t.equal(res.status, 403);
    t.match(res.headers.get('content-type'), /text\/html/, 'the person gets a page, not JSON');
    t.match(await res.text(), /out of date/);
    t.notOk(res.headers.get('set-cookie')?.includes('portal_session='), 'no session was started');
  });

  t.test('the consent screen escapes the app name and the linked app is mailed, listed and audited', async (t) => {
    const { tokens } = await authorize(server, config, { scope }, { username: 'maria', password: 'smart-demo', patient: 'sofia-garcia' });
    t.equal(tokens.patient, 'sofia-garcia');
    const mail = await server.portal!.directory.findAccount('maria');
    t.ok(mail, 'maria exists');
    const mailbox = await (await fetch(`${server.base}/dev/mailbox`)).text();
    t.match(mailbox, /can now see Sofia[^<]*health record/, 'a new link sends an e-mail naming whose record');
    t.notMatch(mailbox, /<b>Tracker<\/b>/, 'app-supplied markup never reaches a page unescaped');

    t.equal((await fhirGet(server, '/Observation', tokens.access_token)).status, 200);
    t.equal((await fhirGet(server, '/AllergyIntolerance', tokens.access_token)).status, 200);
    await new Promise((r) => setTimeout(r, 600)); // the audit buffer flushes every 250 ms
    const jar = await signIn('maria');
    const { status, html } = await appsPage(jar);
    t.equal(status, 200);
    t.match(html, /Acme &lt;b&gt;Tracker&lt;\/b&gt;/, 'the connected apps page lists the app, escaped');
    t.match(html, /Searched/, 'with what it read');
    t.match(html, /Allergies/);

    t.test('unticking Allergies on the connected apps page narrows the live token at once', async (t) => {
      const res = await post(jar, `/portal/apps/${encodeURIComponent(grantIdOf(html))}/change`, { group: ['labs', 'vitals', 'other-observations', 'basic', 'offline'] });
      t.equal(res.status, 303);
      t.equal((await fhirGet(server, '/AllergyIntolerance', tokens.access_token)).status, 403, 'allergies are refused with the same token');
      t.equal((await fhirGet(server, '/Observation', tokens.access_token)).status, 200, 'observations still work');
      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      t.notOk(refreshed.scope!.includes('AllergyIntolerance'), 'the next token does not carry the unticked scope');
    });
  });

  t.test('unticking Lab results keeps vital signs: live and refreshed tokens carry a granular Observation scope', async (t) => {
    const { tokens } = await authorize(server, config, { scope }, { username: 'daniel', password: 'smart-demo' });
    const jar = await signIn('daniel');
    const res = await post(jar, `/portal/apps/${encodeURIComponent(grantIdOf((await appsPage(jar)).html))}/change`, { group: ['vitals', 'allergies', 'basic', 'offline'] });
    t.equal(res.status, 303);
    const ids = async (token: string) => ((await fhirGet(server, '/Observation', token)).body.entry as { resource: { id: string } }[]).map((e) => e.resource.id);
    t.same(await ids(tokens.access_token), ['daniel-kim-vital-signs'], 'the live token now sees vital signs only');
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    t.match(refreshed.scope, /patient\/Observation\.rs\?category=http:\/\/terminology\.hl7\.org\/CodeSystem\/observation-category\|vital-signs/);
    t.same(await ids(refreshed.access_token), ['daniel-kim-vital-signs'], 'and so does the refreshed one');
    t.equal((await fhirGet(server, '/Observation/daniel-kim-laboratory', refreshed.access_token)).status, 404);
  });

  t.test('another account cannot remove or change an app on a record it does not control', async (t) => {
    await authorize(server, config, { scope }, { username: 'maria', password: 'smart-demo', patient: 'maria-garcia' });
    const maria = await signIn('maria');
    const grantId = grantIdOf((await appsPage(maria)).html);
    const daniel = await signIn('daniel');
    const res = await post(daniel, `/portal/apps/${encodeURIComponent(grantId)}/remove`, {});
    t.equal(res.status, 404);
    t.match((await appsPage(maria)).html, new RegExp(grantId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'the app is still connected');
  });

  t.test('access chosen for 30 days ends after 30 days: the sweep revokes the grant and its tokens', async (t) => {
    const { tokens } = await authorize(server, config, { scope }, { username: 'daniel', password: 'smart-demo', duration: '30d' });
    t.ok(tokens.refresh_token);
    t.equal((await fhirGet(server, '/Observation', tokens.access_token)).status, 200);
    now += 31 * DAY;
    const swept = await server.portal!.sweep();
    t.ok(swept.expiredLinks >= 1);
    t.equal((await fhirGet(server, '/Observation', tokens.access_token)).status, 401);
    await t.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token!));
    now = Date.now();
  });

  t.test('"only while I use the app" issues no refresh token', async (t) => {
    const { tokens } = await authorize(server, config, { scope }, { username: 'daniel', password: 'smart-demo', duration: 'session' });
    t.notOk(tokens.refresh_token);
    t.notOk(tokens.scope!.split(' ').includes('offline_access'));
  });
});

t.test('sign-in posts beyond SIGNIN_RATE_LIMIT per minute from one address get 429 with a page saying to wait', async (t) => {
  const server = await startSmartServer(t, { env: { SIGNIN_RATE_LIMIT: '2' } });
  const statuses: number[] = [];
  let last: Response | undefined;
  for (let i = 0; i < 3; i++) {
    last = await fetch(`${server.base}/portal/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=x&password=y' });
    statuses.push(last.status);
  }
  t.same(statuses, [403, 403, 429], 'the third post is refused before anything else runs');
  t.match(last!.headers.get('content-type'), /text\/html/);
  t.match(await last!.text(), /Wait \d+ seconds/);
});
