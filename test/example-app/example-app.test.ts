// The example SMART app end to end against the real server: standalone and EHR launch, the lab graph, health problems
// and prescriptions, limited access, a revoked grant, short-lived tokens, a denial, and a launch from a server it does
// not know.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { AppBrowser, seedLabSeries, seedProblemsAndPrescriptions, startExampleApp } from '../helpers/example-app.js';
import { startSmartServer, type SmartServer } from '../helpers/smart-server.js';

const MARIA = { username: 'maria', password: 'smart-demo', patient: 'maria-garcia' } as const;
const count = (text: string, re: RegExp) => [...text.matchAll(re)].length;
/** The HTML of one section of the record page, by its heading id. */
const sectionOf = (html: string, id: string) => /<section class="record-section" aria-labelledby="([^"]+)">[\s\S]*?<\/section>\s*(?=<section class="record-section"|<details)/g.exec(html.slice(html.indexOf(`aria-labelledby="${id}"`) - 60))?.[0] ?? '';
const grantOf = async (server: SmartServer, clientId: string, patient = 'maria-garcia') => {
  const links = await server.portal!.appLinks.listForPatients([patient]);
  const link = links.filter((l) => l.clientId === clientId && !l.revokedAt).sort((a, b) => a.createdAt - b.createdAt).at(-1);
  if (!link) throw new Error(`no grant for ${clientId}`);
  return link.grantId;
};
/** An EHR launch handle as POST /sandbox/launch makes it, for the app's /launch URL. */
const sandboxLaunch = async (server: SmartServer, body: Record<string, string>) => {
  const res = await fetch(`${server.base}/sandbox/launch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  t.equal(res.status, 201, 'the sandbox makes a launch');
  return ((await res.json()) as { launch: string }).launch;
};
const launchPath = (server: SmartServer, launch: string) => `/launch?iss=${encodeURIComponent(server.fhirBase)}&launch=${encodeURIComponent(launch)}`;

t.test('example app', async (t) => {
  const server = await startSmartServer(t);
  await seedLabSeries(server);
  await seedProblemsAndPrescriptions(server);
  const example = await startExampleApp(t, server);

  t.test('standalone launch: the record page shows one lab graph per test, the banner and the lists', async (t) => {
    const browser = new AppBrowser(example);
    const home = await browser.get('/');
    t.equal(home.status, 200);
    t.match(home.html, /<h1>Connect your health record<\/h1>/, 'the start page offers to connect');
    t.match(home.html, /<html lang="en">/);
    t.match(home.html, /name="viewport"/);

    const page = await browser.connect('/connect', MARIA);
    const authorize = page.authorizeUrl.searchParams;
    t.equal(authorize.get('code_challenge_method'), 'S256', 'PKCE S256');
    t.match(authorize.get('code_challenge'), /^[\w-]{43}$/, 'with a challenge');
    t.ok(authorize.get('state'), 'and a state');
    t.equal(authorize.get('aud'), server.fhirBase, 'aud is the FHIR server');
    t.match(authorize.get('scope'), /(^| )launch\/patient( |$)/, 'standalone asks for launch/patient');
    t.notOk(authorize.has('launch'), 'and sends no launch');

    t.equal(page.status, 200);
    t.equal(page.url, `${example.base}/record`, 'the callback lands on the record page');
    const html = page.html;
    t.match(html, /<p class="banner-name">Maria Elena Garcia<\/p>/, 'the banner names the patient (need_patient_banner)');
    t.match(html, /<dt>MRN<\/dt><dd>1000001<\/dd>/, 'with the MRN');
    t.match(html, /<dt>Sex<\/dt><dd>Female<\/dd>/, 'the sex');
    t.match(html, /<dt>Age<\/dt><dd>\d+ years/, 'and the age');

    t.equal(count(html, /<svg [^>]*class="lab-chart"/g), 2, 'one graph per lab test: hemoglobin and glucose');
    const hb = html.slice(html.indexOf('>Hemoglobin</h3>'), html.indexOf('>Glucose</h3>') === -1 ? undefined : html.indexOf('</section>', html.indexOf('>Hemoglobin</h3>')));
    t.equal(count(hb, /class="point[ "]/g), 4, 'four hemoglobin results, four points');
    t.equal(count(hb, /class="range-band"/g), 1, 'with the reference range band');
    t.match(hb, /<title>14 Sep 2023: 11\.2 g\/dL \(Low\)<\/title>/, 'each point reads on hover');
    const rows = [...hb.matchAll(/<tr><td>([^<]+)<\/td><td class="num">([^<]+)<\/td>/g)].map((m) => `${m[1]} ${m[2]}`);
    t.same(rows, ['2 Jan 2025 14.1', '20 Apr 2024 12.9', '14 Sep 2023 11.2', '2 Mar 2023 13.7'], 'the table lists the newest first');
    t.match(hb, /<th scope="col">Date<\/th><th scope="col">Value<\/th><th scope="col">Unit<\/th><th scope="col">Flag<\/th>/, 'with column headers');
    const glucose = html.slice(html.indexOf('>Glucose</h3>'));
    t.notMatch(glucose.slice(0, glucose.indexOf('</section>')), /range-band/, 'glucose has no range, so no band');

    t.match(sectionOf(html, 'vitals'), /<span class="item-name">[^<]+<\/span>/, 'vital signs are listed');
    const problems = sectionOf(html, 'problems');
    t.match(problems, /<h3 class="subheading">Problem list<\/h3><ul class="items"><li><span class="item-name">Underactive thyroid \(hypothyroidism\)<\/span><span class="item-meta item-active">Active · since 16 May 2023<\/span>/, 'the problem list: hypothyroidism, active, with its onset');
    t.match(problems, /<h3 class="subheading">Diagnoses from visits<\/h3><ul class="items"><li><span class="item-name">Rash<\/span><span class="item-meta">Resolved · 11 Feb 2023 to 23 Feb 2023<\/span>/, 'then the visit diagnosis, resolved');
    const medications = sectionOf(html, 'medications');
    const medicines = [...medications.matchAll(/<li data-source="([^"]+)"><span class="item-name">([^<]+)<\/span>/g)].map((m) => `${m[2]} (${m[1]})`);
    t.same(medicines, ['Ibuprofen 200 mg tablet (medication-list)', 'Levothyroxine 125 mcg tablet (prescription)'], 'the prescription, and the medication-list entry for the same levothyroxine left out; newest first');
    const levo = medications.slice(medications.indexOf('Levothyroxine'));
    t.match(levo, /<span class="item-detail">Take 1 tablet by mouth every morning on an empty stomach, 30 to 60 minutes before breakfast<\/span>/, 'with the dosage');
    t.match(levo, /<span class="item-detail">For: Underactive thyroid \(hypothyroidism\)<\/span>/, 'the reason: the Condition it points to, by its name on the page');
    t.match(levo, /<span class="item-meta">Active · Prescribed 16 May 2023 by Jordan Lee, MD<\/span>/, 'status, date and prescriber');
    t.match(medications, /Ibuprofen 200 mg tablet<\/span><span class="item-detail">1 tablet when needed for headache<\/span><span class="item-meta">Active · Reported by you since 10 Jan 2025<\/span>/, 'a medicine she reported herself says so');
    for (const scope of ['patient/Condition.rs', 'patient/MedicationRequest.rs', 'patient/Medication.rs']) t.match(authorize.get('scope'), new RegExp(`(^| )${scope.replace('.', '\\.')}( |$)`), `asks for ${scope}`);
    t.match(sectionOf(html, 'allergies'), /<li>/, 'allergies');
    t.match(sectionOf(html, 'immunizations'), /Influenza/, 'immunizations');
    t.notMatch(html, /Not shared by the patient/, 'everything was shared');
    t.match(html, /<code>need_patient_banner<\/code><\/dt><dd><code>true<\/code>/, 'the developer details show the token response');

    const again = await browser.get('/');
    t.equal(again.url, `${example.base}/record`, 'a connected browser goes straight to the record');
    const out = await browser.post('/sign-out');
    t.match(out.html, /Connect your health record/, 'signing out forgets the connection');
  });

  t.test('EHR launch: the launch and aud go to the server; no banner when the EHR shows the patient', async (t) => {
    const browser = new AppBrowser(example);
    const launch = await sandboxLaunch(server, { patient: 'maria-garcia', client_id: example.clientId });
    const page = await browser.connect(launchPath(server, launch), { username: 'dr-lee', password: 'smart-demo' });
    const authorize = page.authorizeUrl.searchParams;
    t.equal(authorize.get('launch'), launch, 'the launch handle is passed on');
    t.equal(authorize.get('aud'), server.fhirBase, 'with aud');
    t.match(authorize.get('scope'), /(^| )launch( |$)/, 'EHR launch asks for the launch scope');
    t.equal(page.status, 200);
    t.equal(count(page.html, /<svg [^>]*class="lab-chart"/g), 2, 'the lab graphs of the launched patient');
    t.notMatch(page.html, /class="banner"/, 'no banner: need_patient_banner is false');
    t.match(page.html, /<code>need_patient_banner<\/code><\/dt><dd><code>false<\/code>/);
  });

  t.test('an EHR launch naming another server is refused before anyone is sent there', async (t) => {
    const browser = new AppBrowser(example);
    const page = await browser.get('/launch?iss=https%3A%2F%2Fevil.example%2Ffhir&launch=abc');
    t.equal(page.status, 400);
    t.match(page.html, /Unknown health record server/);
    t.match(page.html, /will not connect to https:\/\/evil\.example\/fhir/);
    const incomplete = await browser.get(`/launch?iss=${encodeURIComponent(server.fhirBase)}`);
    t.equal(incomplete.status, 400, 'a launch without launch= is refused too');
    t.match(incomplete.html, /This launch link is incomplete/);
  });

  t.test('a flow started at another loopback name is sent to PUBLIC_URL first, where its cookies must live', async (t) => {
    const port = new URL(example.base).port;
    const res = await fetch(`http://localhost:${port}/connect`, { redirect: 'manual' });
    t.equal(res.status, 302);
    t.equal(res.headers.get('location'), `${example.base}/connect`, 'to the same path on 127.0.0.1');
    t.equal(res.headers.getSetCookie().length, 0, 'before any state cookie is set');
  });

  t.test('unticking Lab results shows them as not shared, the rest as usual', async (t) => {
    const browser = new AppBrowser(example);
    const page = await browser.connect('/connect', { ...MARIA, keepGroups: (offered) => offered.filter((g) => g !== 'labs') });
    t.equal(page.status, 200, 'a page, not an error');
    t.match(sectionOf(page.html, 'labs'), /Not shared by the patient/, 'the lab section says so');
    t.notMatch(page.html, /class="lab-chart"/, 'and shows no graph');
    t.notMatch(sectionOf(page.html, 'vitals'), /Not shared/, 'vital signs are still shown');
    t.match(sectionOf(page.html, 'vitals'), /class="item-name"/);
  });

  t.test('unticking Health problems: prescriptions still shown, without a reason from the problem list', async (t) => {
    const browser = new AppBrowser(example);
    const page = await browser.connect('/connect', { ...MARIA, keepGroups: (offered) => offered.filter((g) => g !== 'problems') });
    t.equal(page.status, 200);
    t.match(sectionOf(page.html, 'problems'), /Not shared by the patient/, 'the problems section says so');
    t.notMatch(page.html, /hypothyroidism/i, 'the diagnosis appears nowhere on the page');
    const medications = sectionOf(page.html, 'medications');
    t.match(medications, /Levothyroxine 125 mcg tablet/, 'the prescription is still listed');
    t.notMatch(medications, /For:/, 'but without a reason: its Condition is not on the page');
  });

  t.test('unticking Medications: the medicines are not shared, the problems still are', async (t) => {
    const browser = new AppBrowser(example);
    const page = await browser.connect('/connect', { ...MARIA, keepGroups: (offered) => offered.filter((g) => g !== 'medications') });
    t.equal(page.status, 200);
    t.match(sectionOf(page.html, 'medications'), /Not shared by the patient/, 'the medications section says so');
    t.notMatch(page.html, /Levothyroxine|Ibuprofen/, 'no medicine appears');
    t.match(sectionOf(page.html, 'problems'), /Underactive thyroid/, 'the problem list is still shown');
  });

  t.test('a kind of data the patient stops sharing later (403) shows as not shared', async (t) => {
    const browser = new AppBrowser(example);
    await browser.connect('/connect', MARIA);
    // What "Change what it can see" in the portal does when allergies are unticked after linking.
    const grantId = await grantOf(server, example.clientId);
    const grant = (await server.auth!.provider.Grant.find(grantId))!;
    grant.rejectResourceScope(server.fhirBase, 'patient/AllergyIntolerance.rs');
    await grant.save();
    await server.auth!.narrowGrant(grantId, 'launch/patient offline_access patient/Patient.rs patient/Condition.rs patient/Observation.rs patient/MedicationRequest.rs patient/Medication.rs patient/MedicationStatement.rs patient/Immunization.rs');
    const page = await browser.get('/record');
    t.equal(page.status, 200, 'a page, not an error');
    t.match(sectionOf(page.html, 'allergies'), /Not shared by the patient/, 'the 403 reads as not shared');
    t.equal(count(page.html, /class="lab-chart"/g), 2, 'the lab graphs are still there');
  });

  t.test('a revoked grant ends the connection: "Connect again"', async (t) => {
    const browser = new AppBrowser(example);
    await browser.connect('/connect', MARIA);
    await server.auth!.revokeGrant(await grantOf(server, example.clientId));
    const page = await browser.get('/record');
    t.equal(page.status, 200);
    t.match(page.html, /<h1>Your connection ended<\/h1>/, 'the user is told the connection ended');
    t.match(page.html, /<a class="button" href="\/connect">Connect again<\/a>/, 'and offered to connect again');
    const after = await browser.get('/record');
    t.equal(after.url, `${example.base}/`, 'the session is gone');
  });

  t.test('without a refresh token, a refused token also leads to "Connect again"', async (t) => {
    const browser = new AppBrowser(example);
    const first = await browser.connect('/connect', { ...MARIA, duration: 'session' });
    t.notMatch(first.html, /offline_access/, 'only while using the app: no offline access');
    await server.auth!.revokeGrant(await grantOf(server, example.clientId));
    t.match((await browser.get('/record')).html, /Your connection ended/);
  });

  t.test('access tokens that live seconds: refreshed while a refresh token lasts, then "Connect again"', async (t) => {
    // The sandbox's short-token drill: an EHR launch whose grant issues access tokens that live 3 seconds.
    const shortLaunch = async () => {
      const id = randomBytes(16).toString('base64url');
      await server.auth!.contexts.createLaunch({ id, patient: 'maria-garcia', encounter: null, clientId: example.clientId, expiresAt: Date.now() + 60_000, options: { accessTokenTtl: 3 } });
      return id;
    };
    const withRefresh = new AppBrowser(example);
    const first = await withRefresh.connect(launchPath(server, await shortLaunch()), { username: 'dr-lee', password: 'smart-demo' });
    t.equal(count(first.html, /class="lab-chart"/g), 2, 'the record loads with a token about to expire');
    const expires = Date.parse(/Access token expires<\/dt><dd>([^<]+)</.exec(first.html)![1]!);
    t.ok(expires - Date.now() < 5000, 'the token really lives only seconds');
    await new Promise((r) => setTimeout(r, 3500));
    const later = await withRefresh.get('/record');
    t.equal(count(later.html, /class="lab-chart"/g), 2, 'and again after it expired: the app refreshed it');

    const withoutRefresh = new AppBrowser(example);
    await withoutRefresh.connect(launchPath(server, await shortLaunch()), { username: 'dr-lee', password: 'smart-demo', duration: 'session' });
    await new Promise((r) => setTimeout(r, 3500));
    const ended = await withoutRefresh.get('/record');
    t.equal(ended.status, 200, 'no crash');
    t.match(ended.html, /Your connection ended/, 'an expired token without a refresh token: connect again');
  });

  t.test('denying access shows what happened and offers to connect again', async (t) => {
    const browser = new AppBrowser(example);
    const page = await browser.connect('/connect', { ...MARIA, decision: 'deny' });
    t.match(page.html, /<h1>You did not share your record<\/h1>/);
    t.match(page.html, /Connect again/);
    t.notMatch(page.html, /at \w+ \(|Error:/, 'no stack trace');
    t.notOk(browser.jar.header().includes('smart-state='), 'the state cookie is cleared');
  });

  t.test('an authorization error with a description (e.g. a wrong aud) is shown plainly', async (t) => {
    const browser = new AppBrowser(example);
    // What the server sends back when a request is invalid (its redirect to the app's callback).
    const page = await browser.get(`/callback?error=invalid_request&error_description=${encodeURIComponent('aud "https://x.example/fhir" is not this FHIR server')}&state=s`);
    t.equal(page.status, 400);
    t.match(page.html, /<h1>The connection did not work<\/h1>/);
    t.match(page.html, /aud &quot;https:\/\/x\.example\/fhir&quot; is not this FHIR server/, 'the description, escaped');
    t.match(page.html, /Connect again/);
    const forged = await browser.get('/callback?code=abc&state=forged');
    t.equal(forged.status, 400, 'a code without the matching state cookie is refused');
    t.match(forged.html, /This sign-in has expired/);
  });
});
