// The developer sandbox pages over real HTTP: registration through the form (the same rules as /auth/reg), editing
// and deleting apps, the launch simulator's options and failure drills, the token inspector's verdicts, and their
// absence with SANDBOX=false.
import * as oidc from 'openid-client';
import t from 'tap';
import { CookieJar, authorizeInBrowser } from '../helpers/browser-flow.js';
import { LAB, REDIRECT, fhirGet, oidcConfig, startSmartServer, type SmartServer } from '../helpers/smart-server.js';

/** A browser without JavaScript: keeps cookies, reads the CSRF token of the last page, posts forms. */
class FormClient {
  readonly jar = new CookieJar();
  #csrf = '';
  constructor(private readonly base: string) {}
  async get(path: string): Promise<{ status: number; html: string }> {
    const res = await fetch(new URL(path, this.base), { headers: { cookie: this.jar.header() }, redirect: 'manual' });
    this.jar.store(res);
    const html = await res.text();
    this.#csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? this.#csrf;
    return { status: res.status, html };
  }
  async post(path: string, fields: [string, string][]): Promise<{ status: number; html: string; location: string | null }> {
    const body = new URLSearchParams([['_csrf', this.#csrf], ...fields]);
    const res = await fetch(new URL(path, this.base), { method: 'POST', body, headers: { cookie: this.jar.header(), 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
    this.jar.store(res);
    const html = await res.text();
    this.#csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? this.#csrf;
    return { status: res.status, html, location: res.headers.get('location') };
  }
}

const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/&amp;/g, '&').replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/\s+/g, ' ');
const clientIdOf = (html: string) => /id="value-client-id">([^<]+)</.exec(html)?.[1];

const APP_FIELDS: [string, string][] = [
  ['name', 'Sandbox Tracker'],
  ['publisher', 'Tracker Labs'],
  ['description', 'Charts your results.'],
  ['kind', 'public'],
  ['redirectUris', REDIRECT],
  ['scopes', 'openid'],
  ['scopes', 'fhirUser'],
  ['scopes', 'launch'],
  ['scopes', 'launch/patient'],
  ['scopes', 'offline_access'],
  ['scopes', 'patient/*.rs'],
];

async function registerThroughPage(server: SmartServer, fields: [string, string][] = APP_FIELDS) {
  const web = new FormClient(server.base);
  await web.get('/sandbox/apps/new');
  const res = await web.post('/sandbox/apps', fields);
  return { web, res, clientId: clientIdOf(res.html) };
}

/** An authorization for a simulator launch; with automatic sign-in and consent there are no pages to fill in. */
async function launchApp(server: SmartServer, clientId: string, launch: string, opts: { aud?: string; scope?: string } = {}) {
  const config = await oidcConfig(server, clientId);
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    aud: opts.aud ?? server.fhirBase,
    launch,
    scope: opts.scope ?? 'openid fhirUser launch offline_access patient/*.rs',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: 'st',
  });
  const flow = await authorizeInBrowser(url.toString(), REDIRECT, { username: 'maria', password: 'smart-demo' });
  return { config, flow, verifier };
}

async function simulate(web: FormClient, fields: [string, string][]): Promise<string> {
  await web.get('/sandbox/launch');
  const res = await web.post('/sandbox/launches', fields);
  if (res.status !== 303) throw new Error(`launch refused: ${res.status} ${text(res.html).slice(0, 400)}`);
  return res.location!.split('/').pop()!;
}

t.test('sandbox pages', async (t) => {
  const server = await startSmartServer(t);
  await server.fhir.update('Encounter', 'enc-1', { resourceType: 'Encounter', id: 'enc-1', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject: { reference: 'Patient/sofia-garcia' } });

  t.test('home shows the FHIR base, discovery URLs, the demo accounts from the database and the apps', async (t) => {
    const web = new FormClient(server.base);
    const home = text((await web.get('/sandbox')).html);
    t.match(home, server.fhirBase);
    t.match(home, `${server.fhirBase}/.well-known/smart-configuration`);
    t.match(home, `${server.issuer}/.well-known/openid-configuration`);
    t.match(home, /maria .*Maria Garcia .*Sofia Garcia \(your child\)/, "maria's row lists her child's record, from the proxy relations");
    t.match(home, /dr-lee/);
    t.match(home, /demo-patient-app/);
  });

  t.test('registering a public app through the form gives its values to paste, and it completes a launch', async (t) => {
    const { res, clientId } = await registerThroughPage(server);
    t.equal(res.status, 201);
    t.ok(clientId, 'the page shows the client_id');
    const page = text(res.html);
    t.match(page, server.fhirBase, 'and the iss to paste');
    t.match(page, 'patient/*.rs', 'and the scope string');
    t.match(page, REDIRECT, 'and the redirect URI');
    t.notMatch(page, /client secret/i, 'a public app has no secret');
    const config = await oidcConfig(server, clientId!);
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, aud: server.fhirBase, scope: 'launch/patient patient/*.rs', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'x' });
    const flow = await authorizeInBrowser(url.toString(), REDIRECT, { username: 'daniel', password: 'smart-demo' });
    const tokens = await oidc.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: verifier, expectedState: 'x' });
    t.equal(tokens.patient, 'daniel-kim');
  });

  t.test('a confidential app sees its secret once, and it works at the token endpoint', async (t) => {
    const { web, res, clientId } = await registerThroughPage(server, [...APP_FIELDS.filter(([k]) => k !== 'kind'), ['kind', 'secret']]);
    t.equal(res.status, 201);
    const secret = /id="client-secret">([^<]+)</.exec(res.html)?.[1];
    t.ok(secret && secret.length >= 32, 'the secret is on the result page');
    const again = await web.get(`/sandbox/apps/${clientId}`);
    t.notOk(again.html.includes(secret!), 'and never again');
    const config = await oidcConfig(server, clientId!, oidc.ClientSecretBasic(secret!));
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, aud: server.fhirBase, scope: 'launch/patient patient/*.rs', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'y' });
    const flow = await authorizeInBrowser(url.toString(), REDIRECT, { username: 'daniel', password: 'smart-demo' });
    const tokens = await oidc.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: verifier, expectedState: 'y' });
    t.equal((await fhirGet(server, '/Patient/daniel-kim', tokens.access_token)).status, 200);
  });

  t.test('a backend service registered through the form gets client_credentials tokens with system/ scopes', async (t) => {
    const { res, clientId } = await registerThroughPage(server, [['name', 'Nightly Export'], ['kind', 'backend'], ['scopes', 'system/*.rs']]);
    t.equal(res.status, 201, text(res.html).slice(0, 300));
    const secret = /id="client-secret">([^<]+)</.exec(res.html)?.[1];
    const token = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=system/Patient.rs',
    });
    const body = (await token.json()) as { access_token: string };
    t.equal(token.status, 200);
    t.equal((await fhirGet(server, '/Patient/maria-garcia', body.access_token)).status, 200);
  });

  t.test('refusals are shown per field, saying what to fix, and nothing is registered', async (t) => {
    const before = (await server.auth!.models.listClients()).length;
    const { res } = await registerThroughPage(server, [['name', 'Broken'], ['kind', 'public'], ['redirectUris', ''], ['scopeText', 'patient/Observation.rx']]);
    t.equal(res.status, 400);
    const page = text(res.html);
    t.match(page, /There is a problem/);
    t.match(res.html, /href="#field-redirectUris"/, 'the redirect URI problem links to its field');
    t.match(page, /redirect/i);
    t.equal((await server.auth!.models.listClients()).length, before);
    const bad = await registerThroughPage(server, [['name', 'Bad JWKS'], ['kind', 'keys'], ['redirectUris', REDIRECT], ['jwks', '{not json']]);
    t.equal(bad.res.status, 400);
    t.match(text(bad.res.html), /JWKS is not valid JSON/);
  });

  t.test('an app can be edited, and deleting it ends its tokens at once', async (t) => {
    const { web, clientId } = await registerThroughPage(server);
    const edit = await web.get(`/sandbox/apps/${clientId}/edit`);
    t.equal(edit.status, 200);
    t.match(edit.html, /value="Sandbox Tracker"/, 'the form is filled with the registration');
    const saved = await web.post(`/sandbox/apps/${clientId}`, [['name', 'Sandbox Tracker Pro'], ['redirectUris', REDIRECT], ['scopeText', 'openid fhirUser launch launch/patient offline_access patient/*.rs']]);
    t.equal(saved.status, 200, text(saved.html).slice(0, 400));
    t.equal((await server.auth!.provider.Client.find(clientId!))?.clientName, 'Sandbox Tracker Pro');

    const launch = await simulate(web, [['client_id', clientId!], ['patient', 'maria-garcia'], ['signInAs', 'maria'], ['skipConsent', '1'], ['drill', 'none']]);
    const { config, flow, verifier } = await launchApp(server, clientId!, launch);
    const tokens = await oidc.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: verifier, expectedState: 'st' });
    t.equal((await fhirGet(server, '/Patient/maria-garcia', tokens.access_token)).status, 200);
    const deleted = await web.post(`/sandbox/apps/${clientId}/delete`, []);
    t.equal(deleted.status, 303);
    t.equal((await fhirGet(server, '/Patient/maria-garcia', tokens.access_token)).status, 401, 'its access token is refused right after');
    t.equal((await web.get(`/sandbox/apps/${clientId}`)).status, 404);
    t.equal((await web.get('/sandbox/apps/demo-patient-app/edit')).status, 403, 'built-in apps cannot be edited');
  });

  t.test('launch simulator', async (t) => {
    const { web, clientId } = await registerThroughPage(server);

    t.test('the patient list is searchable and shows age, sex and a summary', async (t) => {
      const all = text((await web.get('/sandbox/launch')).html);
      t.match(all, /Daniel Kim/);
      const found = text((await web.get('/sandbox/launch?q=sofia')).html);
      t.match(found, /Sofia Garcia .* years · Female/);
      t.match(found, /1 lab result/);
      t.notMatch(found, /Patient\/daniel-kim/, 'other patients are left out');
    });

    t.test('automatic sign-in and skipped consent go straight back to the app with a token for the patient', async (t) => {
      const launch = await simulate(web, [['client_id', clientId!], ['patient', 'sofia-garcia'], ['encounter', 'enc-1'], ['signInAs', 'dr-lee'], ['skipConsent', '1'], ['drill', 'none']]);
      const { config, flow, verifier } = await launchApp(server, clientId!, launch, { scope: 'openid fhirUser launch offline_access patient/*.rs' });
      t.equal(flow.pages.length, 0, 'no sign-in or consent page was shown');
      const tokens = await oidc.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: verifier, expectedState: 'st' });
      t.equal(tokens.patient, 'sofia-garcia');
      t.equal(tokens.encounter, 'enc-1');
      t.match(tokens.scope, /patient\/\*\.rs/, 'exactly what was asked is granted');
      const detail = text((await web.get(`/sandbox/launches/${launch}`)).html);
      t.match(detail, /grant is active/);
      const inspector = await web.get('/sandbox/token');
      t.match(inspector.html, new RegExp(`name="launch" value="${launch}"`), "the inspector offers this browser's last launch");
      const inspected = await web.post('/sandbox/token', [['launch', launch]]);
      t.match(text(inspected.html), /This token is active/);
      t.match(text(inspected.html), /patient\/\*\.rs Granted/);
    });

    t.test('deny drill: the app receives access_denied', async (t) => {
      const launch = await simulate(web, [['client_id', clientId!], ['patient', 'maria-garcia'], ['signInAs', 'maria'], ['drill', 'deny']]);
      const { flow } = await launchApp(server, clientId!, launch);
      t.equal(flow.callback.searchParams.get('error'), 'access_denied');
    });

    t.test('expiry drill: access tokens of the launch live the chosen seconds, refresh tokens still work', async (t) => {
      const launch = await simulate(web, [['client_id', clientId!], ['patient', 'maria-garcia'], ['signInAs', 'maria'], ['skipConsent', '1'], ['drill', 'expire'], ['tokenSeconds', '5']]);
      const { config, flow, verifier } = await launchApp(server, clientId!, launch);
      const tokens = await oidc.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: verifier, expectedState: 'st' });
      t.ok(tokens.expires_in! <= 5, `expires_in ${tokens.expires_in}`);
      await new Promise((r) => setTimeout(r, 5500));
      const expired = await fhirGet(server, '/Patient/maria-garcia', tokens.access_token);
      t.equal(expired.status, 401, 'the token is refused once it expired');
      t.match(JSON.stringify(expired.body), /expired/i, 'and the sandbox says it expired');
      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      t.ok(refreshed.expires_in! <= 5, 'a refreshed token is short-lived too');
      t.equal((await fhirGet(server, '/Patient/maria-garcia', refreshed.access_token)).status, 200);
      const inspected = text((await web.post('/sandbox/token', [['token', tokens.access_token]])).html);
      t.match(inspected, /This token is expired/);
      t.match(inspected, /patient\/\*\.rs Expired/);
    });

    t.test('limited drill: the unticked kind of data is refused and the inspector says the patient unticked it', async (t) => {
      const launch = await simulate(web, [['client_id', clientId!], ['patient', 'maria-garcia'], ['signInAs', 'maria'], ['drill', 'limited'], ['untick', 'labs']]);
      const { config, flow, verifier } = await launchApp(server, clientId!, launch, { scope: 'openid fhirUser launch patient/Observation.rs patient/Patient.rs patient/Immunization.rx' });
      const tokens = await oidc.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: verifier, expectedState: 'st' });
      const labs = await fhirGet(server, `/Observation?patient=maria-garcia&category=${encodeURIComponent(LAB)}`, tokens.access_token);
      t.equal(labs.status, 403, 'lab results are refused');
      const vitals = await fhirGet(server, '/Observation?patient=maria-garcia', tokens.access_token);
      t.equal(vitals.status, 200, 'other observations are still served');
      const inspected = text((await web.post('/sandbox/token', [['launch', launch]])).html);
      t.match(inspected, /patient\/Observation\.rs Unticked by the patient Only in part/);
      t.match(inspected, /patient\/Patient\.rs Granted/);
      t.match(inspected, /patient\/Immunization\.rx Not understood/);
    });

    t.test('revoke drill: Revoke access now ends the launch\'s tokens at once', async (t) => {
      const launch = await simulate(web, [['client_id', clientId!], ['patient', 'maria-garcia'], ['signInAs', 'maria'], ['skipConsent', '1'], ['drill', 'revoke']]);
      const { config, flow, verifier } = await launchApp(server, clientId!, launch);
      const tokens = await oidc.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: verifier, expectedState: 'st' });
      t.equal((await fhirGet(server, '/Patient/maria-garcia', tokens.access_token)).status, 200);
      await web.get(`/sandbox/launches/${launch}`);
      const revoked = await web.post(`/sandbox/launches/${launch}/revoke`, []);
      t.equal(revoked.status, 303);
      const after = await fhirGet(server, '/Patient/maria-garcia', tokens.access_token);
      t.equal(after.status, 401);
      t.match(JSON.stringify(after.body), /revoked/i);
      await t.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token!), 'the refresh token is dead too');
    });

    t.test('wrong-aud drill: the app is handed an iss that is not the audience, and its authorization is refused', async (t) => {
      const launch = await simulate(web, [['client_id', clientId!], ['patient', 'maria-garcia'], ['drill', 'wrong-aud']]);
      const detail = (await web.get(`/sandbox/launches/${launch}`)).html;
      const iss = /<dt><code>iss<\/code><\/dt><dd><code class="copyable">([^<]+)</.exec(detail)?.[1];
      t.not(iss, server.fhirBase);
      const discovery = await fetch(`${iss}/.well-known/smart-configuration`);
      t.equal(discovery.status, 200, 'discovery answers at the wrong iss, as a misconfigured app would find it');
      const { flow } = await launchApp(server, clientId!, launch, { aud: iss! });
      t.equal(flow.callback.searchParams.get('error'), 'invalid_request');
      t.match(flow.callback.searchParams.get('error_description'), /aud/);
    });

    t.test("only the browser that pressed Launch sees the launch, can revoke it or get its token; the launch id alone is not enough", async (t) => {
      const launch = await simulate(web, [['client_id', clientId!], ['patient', 'maria-garcia'], ['signInAs', 'maria'], ['skipConsent', '1'], ['drill', 'none']]);
      const { config, flow, verifier } = await launchApp(server, clientId!, launch);
      const tokens = await oidc.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: verifier, expectedState: 'st' });
      t.equal((await web.get(`/sandbox/launches/${launch}`)).status, 200, 'its own browser sees it (control)');
      const other = new FormClient(server.base);
      t.equal((await other.get(`/sandbox/launches/${launch}`)).status, 404, 'another browser with the launch id does not');
      await other.get('/sandbox/token');
      const stolen = await other.post('/sandbox/token', [['launch', launch]]);
      t.equal(stolen.status, 400, 'nor does it get the launch\'s token from the inspector');
      t.notOk(stolen.html.includes(tokens.access_token), 'the token is not on the page');
      await other.get('/sandbox/launch');
      t.equal((await other.post(`/sandbox/launches/${launch}/revoke`, [])).status, 404, 'nor can it revoke the launch');
      t.equal((await fhirGet(server, '/Patient/maria-garcia', tokens.access_token)).status, 200, 'which is still live');
    });

    t.test('a patient account cannot be signed in automatically to a record it cannot see', async (t) => {
      await web.get('/sandbox/launch');
      const res = await web.post('/sandbox/launches', [['client_id', clientId!], ['patient', 'daniel-kim'], ['signInAs', 'maria'], ['drill', 'none']]);
      t.equal(res.status, 400);
      t.match(text(res.html), /maria cannot see Patient\/daniel-kim/);
    });
  });

  t.test('the token inspector explains unknown tokens and refuses junk', async (t) => {
    const web = new FormClient(server.base);
    await web.get('/sandbox/token');
    t.match(text((await web.post('/sandbox/token', [['token', 'not-a-real-token']])).html), /This token is unknown/);
    await web.get('/sandbox/token');
    t.equal((await web.post('/sandbox/token', [['token', '']])).status, 400);
  });

  t.test('every sandbox page: labelled controls, unique ids, real aria references, headings in order, CSRF on posting forms', async (t) => {
    const web = new FormClient(server.base);
    const { clientId } = await registerThroughPage(server);
    const launch = await simulate(web, [['client_id', clientId!], ['patient', 'maria-garcia'], ['signInAs', 'maria'], ['skipConsent', '1'], ['drill', 'none']]);
    const { config, flow, verifier } = await launchApp(server, clientId!, launch);
    await oidc.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: verifier, expectedState: 'st' });
    const pages: Record<string, string> = {};
    for (const path of ['/sandbox', '/sandbox/apps', '/sandbox/apps/new', `/sandbox/apps/${clientId}`, `/sandbox/apps/${clientId}/edit`, '/sandbox/launch', `/sandbox/launches/${launch}`, '/sandbox/token']) {
      pages[path] = (await web.get(path)).html;
    }
    pages['token result'] = (await web.post('/sandbox/token', [['launch', launch]])).html;
    await web.get('/sandbox/apps/new');
    pages['registration errors'] = (await web.post('/sandbox/apps', [['name', ''], ['kind', 'public']])).html;
    for (const [name, html] of Object.entries(pages)) {
      t.match(html, /^<!doctype html>\n<html lang="en">/, `${name}: doctype and lang`);
      t.match(html, /<meta name="viewport" content="width=device-width, initial-scale=1">/, `${name}: viewport`);
      t.notMatch(html, /\sstyle=|<script/i, `${name}: no inline style or script`);
      const ids = [...html.matchAll(/\sid="([^"]*)"/g)].map((m) => m[1]!);
      t.same(ids.filter((id, i) => ids.indexOf(id) !== i), [], `${name}: ids are unique`);
      for (const m of html.matchAll(/<(input|select|textarea)\b([^>]*)>/g)) {
        if (/type="hidden"/.test(m[2]!)) continue;
        const id = /\sid="([^"]+)"/.exec(m[2]!)?.[1];
        t.ok(id && new RegExp(`<label[^>]*for="${id}"`).test(html), `${name}: ${m[1]} ${id ?? m[2]} has a label`);
      }
      for (const m of html.matchAll(/aria-(?:describedby|labelledby)="([^"]*)"/g)) {
        for (const ref of m[1]!.split(' ').filter(Boolean)) t.ok(ids.includes(ref), `${name}: aria reference ${ref} exists`);
      }
      const levels = [...html.matchAll(/<h([1-6])\b/g)].map((m) => Number(m[1]));
      t.equal(levels.filter((l) => l === 1).length, 1, `${name}: one h1`);
      for (let i = 1; i < levels.length; i++) t.ok(levels[i]! <= levels[i - 1]! + 1, `${name}: h${levels[i - 1]} then h${levels[i]}`);
      for (const form of html.matchAll(/<form\b[\s\S]*?<\/form>/g)) {
        if (/method="get"/.test(form[0])) continue;
        t.match(form[0], /name="_csrf" value="[^"]+"/, `${name}: posting form carries the CSRF token`);
      }
    }
  });

  t.test('forms without the CSRF token are refused with a page that says why', async (t) => {
    const res = await fetch(`${server.base}/sandbox/apps`, { method: 'POST', body: new URLSearchParams(APP_FIELDS), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    t.equal(res.status, 403);
    t.match(res.headers.get('content-type'), /text\/html/);
    t.match(text(await res.text()), /This form is out of date/);
  });
});

t.test('sandbox form posts are rate limited per address, with a page saying how long to wait', async (t) => {
  const server = await startSmartServer(t);
  const web = new FormClient(server.base);
  await web.get('/sandbox/token');
  const statuses: number[] = [];
  let last = '';
  for (let i = 0; i < 61; i++) {
    const res = await web.post('/sandbox/token', [['token', `not-a-token-${i}`]]);
    statuses.push(res.status);
    last = res.html;
  }
  t.same(statuses.slice(0, 60), Array(60).fill(200), 'sixty inspections a minute are answered');
  t.equal(statuses[60], 429, 'the sixty-first is refused');
  t.match(text(last), /Please wait .*Wait \d+ seconds/);
});

t.test('with SANDBOX=false none of the sandbox exists', async (t) => {
  const server = await startSmartServer(t, { env: { SANDBOX: 'false' } });
  for (const path of ['/sandbox', '/sandbox/apps', '/sandbox/apps/new', '/sandbox/launch', '/sandbox/token', '/sandbox/wrong-aud/fhir/.well-known/smart-configuration']) {
    t.equal((await fetch(`${server.base}${path}`)).status, 404, `GET ${path} is 404`);
  }
  for (const path of ['/sandbox/launch', '/sandbox/launches', '/sandbox/token', '/sandbox/apps']) {
    t.equal((await fetch(`${server.base}${path}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status, 404, `POST ${path} is 404`);
  }
  const res = await fhirGet(server, '/Patient/maria-garcia', 'made-up-token');
  t.equal(res.status, 401);
  t.notMatch(JSON.stringify(res.body), /unknown|never issued|revoked at|expired at/i, 'a 401 stays terse');
});
