import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { samplePages } from '../../scripts/render-views.js';
import { groupsForScopes } from '../../src/portal/permissions.js';
import {
  CONSENT_UI_STATIC_DIR,
  CONSENT_UI_TEMPLATES_DIR,
  previewCountText,
  renderConnectedApps,
  renderConsent,
  renderMessage,
  renderPatientPicker,
  renderSignIn,
  renderSignUp,
  safeAppUrl,
  safeHref,
  type ConsentModel,
} from '../../src/portal/views.js';

// --- a tiny HTML reader, enough for the markup these templates produce --------------------------------------------

type Attrs = Record<string, string>;
interface Tag {
  readonly name: string;
  readonly attrs: Attrs;
  readonly index: number;
}
function tags(html: string, name: string): Tag[] {
  const out: Tag[] = [];
  const re = new RegExp(`<${name}(\\s[^>]*)?>`, 'gi');
  for (const m of html.matchAll(re)) {
    const attrs: Attrs = {};
    for (const a of (m[1] ?? '').matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:="([^"]*)")?/g)) attrs[a[1]!.toLowerCase()] = a[2] ?? '';
    out.push({ name, attrs, index: m.index! });
  }
  return out;
}
const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
function labelFor(html: string, id: string): string | undefined {
  const m = new RegExp(`<label[^>]*\\sfor="${id}"[^>]*>([\\s\\S]*?)</label>`).exec(html);
  return m ? text(m[1]!) : undefined;
}
function forms(html: string): string[] {
  return [...html.matchAll(/<form\b[\s\S]*?<\/form>/g)].map((m) => m[0]);
}
const ids = (html: string) => [...html.matchAll(/\sid="([^"]*)"/g)].map((m) => m[1]!);

const pages = samplePages();
const CSRF = 'sample-csrf-token';

// --- every page ----------------------------------------------------------------------------------------------------

t.test('every page renders a complete document', async (t) => {
  t.ok(Object.keys(pages).length >= 15);
  for (const [name, html] of Object.entries(pages)) {
    t.match(html, /^<!doctype html>\n<html lang="en">/, `${name}: doctype and lang`);
    t.match(html, /<meta name="viewport" content="width=device-width, initial-scale=1">/, `${name}: viewport`);
    t.match(html, /<link rel="stylesheet" href="\/portal\/static\/portal\.css">/, `${name}: stylesheet`);
    t.match(html, /<title>[^<]+ – Riverside Health<\/title>/, `${name}: title`);
    t.match(html, /<p class="site-name">Riverside Health<\/p>/, `${name}: hospital name in the header`);
    t.match(html, /<main id="main"/, `${name}: main landmark`);
    t.match(html, /<\/html>\s*$/, `${name}: closed`);
  }
});

t.test('no inline style or script, no javascript: URLs, in any page or template', async (t) => {
  for (const [name, html] of Object.entries(pages)) {
    t.notMatch(html, /\sstyle=/i, `${name}: no style attribute`);
    t.notMatch(html, /<style/i, `${name}: no style element`);
    t.notMatch(html, /<script/i, `${name}: no script`);
    for (const m of html.matchAll(/<[a-z][a-z0-9]*(\s[^>]*)?>/gi)) {
      for (const a of (m[1] ?? '').matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:="([^"]*)")?/g)) {
        if (/^on/i.test(a[1]!)) t.fail(`${name}: event handler attribute ${a[0]}`);
        if (/^(href|src|action)$/i.test(a[1]!) && !/^(\/(?![/\\])|https:\/\/|#[-\w]*$)/.test(a[2] ?? '')) t.fail(`${name}: unsafe URL ${a[0]}`);
      }
    }
  }
  // Every template, the developer sandbox's (sandbox/) included.
  for (const file of readdirSync(CONSENT_UI_TEMPLATES_DIR, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.eta'))) {
    const src = readFileSync(join(CONSENT_UI_TEMPLATES_DIR, file), 'utf8');
    t.notMatch(src, /style=|<style|<script/i, `${file}: no inline style or script`);
    // Raw (unescaped) output only for partials and the layout body
    for (const m of src.matchAll(/<%~\s*([^%]*)%>/g)) t.match(m[1]!, /^(include\(|it\.body\s*$)/, `${file}: raw output only for include/body: ${m[1]}`);
  }
  const css = readFileSync(join(CONSENT_UI_STATIC_DIR, 'portal.css'), 'utf8');
  t.match(css, /:focus-visible/, 'the stylesheet styles focus');
  t.match(css, /min-height: 2\.75rem/, 'buttons and inputs are at least 44 px tall');
  t.match(css, /@media \(min-width: 48em\)/, 'mobile first with a wider layout');
});

t.test('every input has a label, ids are unique, aria-describedby points at real elements', async (t) => {
  for (const [name, html] of Object.entries(pages)) {
    const all = ids(html);
    t.same(all.filter((id, i) => all.indexOf(id) !== i), [], `${name}: ids are unique`);
    for (const input of tags(html, 'input')) {
      if (input.attrs.type === 'hidden') continue;
      t.ok(input.attrs.id, `${name}: input ${input.attrs.name} has an id`);
      t.ok(labelFor(html, input.attrs.id!), `${name}: input ${input.attrs.name} (${input.attrs.id}) has a label`);
    }
    t.same(tags(html, 'select').length + tags(html, 'textarea').length, 0, `${name}: no unlabelled select or textarea`);
    for (const el of [...tags(html, 'input'), ...tags(html, 'fieldset'), ...tags(html, 'div')]) {
      for (const ref of (el.attrs['aria-describedby'] ?? '').split(' ').filter(Boolean)) t.ok(all.includes(ref), `${name}: aria-describedby ${ref} exists`);
    }
    for (const el of [...tags(html, 'section'), ...tags(html, 'div'), ...tags(html, 'article')]) {
      const ref = el.attrs['aria-labelledby'];
      if (ref) t.ok(all.includes(ref), `${name}: aria-labelledby ${ref} exists`);
    }
  }
});

t.test('headings start at h1 and never skip a level', async (t) => {
  for (const [name, html] of Object.entries(pages)) {
    const levels = [...html.matchAll(/<h([1-6])\b/g)].map((m) => Number(m[1]));
    t.equal(levels[0], 1, `${name}: starts with h1`);
    t.equal(levels.filter((l) => l === 1).length, 1, `${name}: one h1`);
    for (let i = 1; i < levels.length; i++) t.ok(levels[i]! <= levels[i - 1]! + 1, `${name}: h${levels[i - 1]} then h${levels[i]}`);
  }
});

t.test('every form posts, carries the CSRF token, and has a submit button', async (t) => {
  let count = 0;
  for (const [name, html] of Object.entries(pages)) {
    for (const form of forms(html)) {
      count++;
      t.match(form, /^<form[^>]*method="post"/, `${name}: form posts`);
      t.match(form, new RegExp(`<input type="hidden" name="_csrf" value="${CSRF}">`), `${name}: form has _csrf`);
      t.match(form, /<button type="submit"/, `${name}: form has a submit button`);
    }
  }
  t.ok(count >= 15, `${count} forms checked`);
});

t.test('links that open a new tab say so and do not leak the opener', async (t) => {
  for (const [name, html] of Object.entries(pages)) {
    for (const m of html.matchAll(/<a\b([^>]*)>([\s\S]*?)<\/a>/g)) {
      if (!m[1]!.includes('target="_blank"')) continue;
      t.match(m[1]!, /rel="noopener noreferrer"/, `${name}: rel on new-tab link`);
      t.match(m[2]!, /\(opens in a new tab\)/, `${name}: new-tab link says so`);
    }
  }
});

// --- app-supplied data -------------------------------------------------------------------------------------------

t.test('safeAppUrl keeps https and local http only', async (t) => {
  t.equal(safeAppUrl('https://app.example/logo.png'), 'https://app.example/logo.png');
  t.equal(safeAppUrl('  https://app.example/a b  '), 'https://app.example/a%20b', 'normalised');
  t.equal(safeAppUrl('http://localhost:3000/terms'), 'http://localhost:3000/terms');
  t.equal(safeAppUrl('http://127.0.0.1/privacy'), 'http://127.0.0.1/privacy');
  for (const bad of ['http://app.example/terms', 'http://localhost.evil.example/', 'javascript:alert(1)', 'JavaScript:alert(1)', ' javascript:alert(1)', 'java\tscript:alert(1)', 'data:text/html,<script>', 'vbscript:x', '//evil.example/x', '/relative', 'ftp://x.example/', 'not a url', '', undefined, null]) {
    t.equal(safeAppUrl(bad as string | undefined), undefined, `${JSON.stringify(bad)} refused`);
  }
  t.equal(safeHref('/portal/sign-in'), '/portal/sign-in');
  t.equal(safeHref('//evil.example/'), '#');
  t.equal(safeHref('/\\evil.example/'), '#');
  t.equal(safeHref('javascript:alert(1)'), '#');
  t.equal(safeHref('https://app.example/'), 'https://app.example/');
});

t.test('markup in app name, publisher, description and URLs comes out escaped or omitted', async (t) => {
  const html = pages['consent-injection']!;
  t.notMatch(html, /<img src=x/, 'no injected img');
  t.notMatch(html, /<script/i);
  t.notMatch(html, /<a href="javascript/i);
  t.match(html, /&lt;img src=x onerror=alert\(1\)&gt;Evil &quot;App&quot;/, 'name escaped');
  t.match(html, /Made by &lt;\/p&gt;&lt;script&gt;alert\(2\)&lt;\/script&gt;/, 'publisher escaped');
  t.match(html, /&lt;a href=&quot;javascript:alert\(3\)&quot;&gt;click&lt;\/a&gt;|&lt;a href=&quot;/, 'description escaped');
  t.equal(tags(html, 'img').length, 0, 'javascript: logo omitted');
  t.notMatch(html, /evil\.example/, 'plain http terms link omitted');
  t.notMatch(html, /data:text/, 'data: privacy link omitted');
  t.notMatch(html, /Terms and Conditions|Privacy Policy/, 'no app links at all');
  t.match(html, /has not shared a privacy policy/);

  // The same hostile app on the connected-apps page, and in the sign-in and picker headings
  const evil = '"><script>alert(1)</script>';
  const apps = renderConnectedApps({
    csrfToken: 'c',
    signOutAction: '/portal/sign-out',
    apps: [
      {
        app: { name: evil, publisher: evil, logoUrl: 'javascript:alert(1)' },
        patient: { name: evil, relationship: 'self' },
        groups: [],
        since: 'not a date " <b>',
        removeAction: '/portal/apps/1/remove',
        changeAction: '/portal/apps/1/change',
        accessLog: [{ time: new Date(0), patientName: evil, dataKind: evil, action: evil }],
      },
    ],
  });
  const signIn = renderSignIn({ csrfToken: 'c', action: '/x', appName: evil, signUpUrl: '/a', forgotPasswordUrl: '/b', username: evil, notice: evil });
  const picker = renderPatientPicker({ csrfToken: 'c', action: '/x', appName: evil, patients: [{ id: evil, name: evil, relationship: 'other' }] });
  const message = renderMessage({ title: evil, text: evil, link: { href: 'javascript:alert(1)', text: evil } });
  for (const [name, page] of Object.entries({ apps, signIn, picker, message })) {
    t.notMatch(page, /<script/i, `${name}: escaped`);
    t.notMatch(page, /javascript:/i, `${name}: no javascript: URL`);
    t.match(page, /&quot;&gt;&lt;script&gt;/, `${name}: shows the text`);
  }
  t.match(message, /href="#"/, 'unsafe message link neutralised');
});

t.test('the consent page: app, whose record, groups with counts, checkboxes follow the model', async (t) => {
  const html = pages.consent!;
  t.match(html, /<h1>Allow HealthTrack Pro to see health information\?<\/h1>/);
  t.match(html, /Made by HealthTrack Inc\./);
  t.match(html, /Keeps your lab results, medicines and vaccines/);
  t.match(html, /<a href="https:\/\/healthtrack\.example\/terms" target="_blank" rel="noopener noreferrer">Terms and Conditions<span class="visually-hidden"> \(opens in a new tab\)<\/span><\/a>/);
  t.match(html, /<a href="https:\/\/healthtrack\.example\/privacy" target="_blank" rel="noopener noreferrer">Privacy Policy/);
  t.match(html, /<img class="app-identity__logo" src="https:\/\/healthtrack\.example\/logo\.svg" alt="" width="56" height="56">/, 'the logo');
  t.match(html, /Sofia Isabel Garcia<\/span> <span class="choice__meta">\(Your child\)/);
  t.match(html, /href="\/interaction\/abc\/patient">Choose a different person/);
  for (const [label, count] of [
    ['Lab results', '12 lab results'],
    ['Vital signs', '48 vital sign readings'],
    ['Other health measurements', '3 measurements'],
    ['Health problems', '4 records'],
    ['Allergies', '2 allergies'],
    ['Medications', '5 records'],
    ['Immunizations', '1 record'],
    ['Visits', '9 records'],
    ['Procedures', 'None on record'],
    ['Test reports and clinical notes', '7 records'],
    ['Care plans and care team', '2 records'],
    ['Medical devices', 'None on record'],
    ['Questionnaire answers', '1 form'],
    ['Insurance', '3 records'],
    ['Other records', 'None on record'],
  ]) {
    t.match(text(html), `${label} ${count}`, `${label} with its count`);
  }
  t.match(text(html), 'Basic information about you');
  for (const label of ['Your care providers', 'Forms and medical reference lists']) {
    const id = tags(html, 'input').find((i) => i.attrs.type === 'checkbox' && labelFor(html, i.attrs.id!) === label)?.attrs.id;
    t.ok(id, `${label}: a checkbox of its own, without a count (not the patient's record)`);
  }
  t.match(text(html), 'This is not information about you.', 'shared data says so');
  t.notMatch(html, /value="offline"/, 'offline access is the duration question, not a checkbox');
  t.match(html, /<h2>How long may HealthTrack Pro keep access\?<\/h2>/);
  for (const label of ['Only while I use the app', '30 days', '1 year', 'Until I turn it off']) t.match(text(html), label);
  t.match(html, /value="30d" checked/, 'duration pre-filled');
  t.match(html, /HealthTrack Pro can see this, and add or change it\./, 'write access is spelled out (Observation.write)');
  t.match(text(html), /not a medical emergency service\. In an emergency, call 911/);
  t.match(text(html), /HIPAA\) no longer covers it/);
  t.match(html, /<button type="submit" class="button button--primary" name="decision" value="allow">Allow Access<\/button>/);
  t.match(html, /<button type="submit" class="button button--secondary" name="decision" value="deny">Deny<\/button>/);
  t.ok(html.indexOf('value="allow"') < html.indexOf('value="deny"'), 'Allow Access comes first');

  // checked state follows the model
  const base: ConsentModel = {
    csrfToken: 'tok',
    action: '/i/1/consent',
    app: { name: 'A' },
    patient: { name: 'P', relationship: 'self' },
    groups: groupsForScopes(['patient/*.rs', 'openid']).map((g) => ({ group: g, checked: g.key === 'labs' || g.key === 'basic' })),
  };
  const consent = renderConsent(base);
  const boxes = tags(consent, 'input').filter((i) => i.attrs.type === 'checkbox');
  t.same(boxes.map((b) => b.attrs.value), [
    'labs',
    'vitals',
    'other-observations',
    'problems',
    'allergies',
    'medications',
    'immunizations',
    'visits',
    'procedures',
    'reports',
    'care-plans',
    'devices',
    'questionnaires',
    'insurance',
    'other-records',
    'basic',
    'providers',
    'reference-data',
  ]);
  t.same(boxes.map((b) => labelFor(consent, b.attrs.id!)).slice(3, 15), [
    'Health problems',
    'Allergies',
    'Medications',
    'Immunizations',
    'Visits',
    'Procedures',
    'Test reports and clinical notes',
    'Care plans and care team',
    'Medical devices',
    'Questionnaire answers',
    'Insurance',
    'Other records',
  ], 'each new group in plain language');
  t.same(boxes.filter((b) => 'checked' in b.attrs).map((b) => b.attrs.value), ['labs', 'basic']);
  t.notMatch(consent, /How long may/, 'no duration question without offline_access');
  t.notMatch(consent, /class="count"/, 'no counts when the model has none');
  const offline = renderConsent({ ...base, groups: groupsForScopes(['offline_access']).map((g) => ({ group: g, checked: false })) });
  t.match(offline, /value="session" checked/, 'unticked offline: only while I use the app');
  t.notMatch(offline, /What A may see/, 'no empty group list');
  const withError = renderConsent({ ...base, error: 'Choose at least one thing to share, or press Deny.' });
  t.match(withError, /role="alert" id="consent-error"/);
  t.match(withError, /aria-describedby="groups-hint consent-error"/);
});

t.test('preview counts', async (t) => {
  const groups = groupsForScopes(['patient/*.rs']);
  const [labs, allergies, medications, providers] = (['labs', 'allergies', 'medications', 'providers'] as const).map((k) => groups.find((g) => g.key === k));
  t.equal(previewCountText(labs!, 12), '12 lab results');
  t.equal(previewCountText(labs!, 1), '1 lab result');
  t.equal(previewCountText(labs!, 0), 'None on record', 'never "No allergies", which reads as a clinical statement');
  t.equal(previewCountText(allergies!, 0), 'None on record');
  t.equal(previewCountText(medications!, 3), '3 records', 'a group of several kinds of entries counts records');
  t.equal(previewCountText(medications!, 1), '1 record');
  t.equal(previewCountText(providers!, 3), undefined, 'care providers are not the patient\'s record: not counted');
  t.equal(previewCountText(labs!, 1234), '1,234 lab results');
  t.equal(previewCountText(allergies!, 1), '1 allergy');
  t.equal(previewCountText(labs!, undefined), undefined);
  const basic = groupsForScopes(['openid'])[0]!;
  t.equal(previewCountText(basic, 1), undefined, 'basic information is not counted');
});

// --- the other pages ---------------------------------------------------------------------------------------------

t.test('sign in', async (t) => {
  const html = pages['sign-in']!;
  t.equal(labelFor(html, 'field-username'), 'Username');
  t.equal(labelFor(html, 'field-password'), 'Password');
  t.match(html, /name="username"/);
  t.match(html, /name="password" type="password" autocomplete="current-password"/);
  t.match(html, /<button type="submit" class="button button--primary">Sign in<\/button>/);
  t.match(html, /<a href="\/portal\/sign-up">Create an account<\/a>/);
  t.match(html, /<a href="\/portal\/forgot-password">Forgot password\?<\/a>/);
  t.match(text(html), 'HealthTrack Pro wants to connect to your health record');
  t.notMatch(html, /role="alert"/, 'no error without one');
  const error = pages['sign-in-error']!;
  t.match(error, /role="alert" id="sign-in-error"/);
  t.match(error, /value="maria"/, 'username kept');
  t.equal(tags(error, 'input').filter((i) => i.attrs['aria-describedby'] === 'sign-in-error' && i.attrs['aria-invalid'] === 'true').length, 2, 'both fields point at the error');
  const timeout = pages['sign-in-timeout']!;
  t.match(timeout, /role="status"><p>You were signed out after 20 minutes without activity\.<\/p>/);
  t.notMatch(text(timeout), /wants to connect/, 'no app line without an app');
});

t.test('sign up: fields, error summary tied to the fields, passwords never re-filled', async (t) => {
  const html = pages['sign-up-errors']!;
  for (const [id, label] of [
    ['field-activationCode', 'Activation code'],
    ['field-birthDate', 'Date of birth'],
    ['field-email', 'Email address'],
    ['field-username', 'Username'],
    ['field-newPassword', 'New password'],
    ['field-confirmPassword', 'Type the new password again'],
  ]) {
    t.equal(labelFor(html, id!), label, `${label}`);
  }
  t.match(html, /<div class="error-summary" role="alert"/);
  t.match(html, /<a href="#field-activationCode">That activation code is not right/);
  t.match(html, /<a href="#field-confirmPassword">The two passwords are not the same/);
  const code = tags(html, 'input').find((i) => i.attrs.id === 'field-activationCode')!;
  t.equal(code.attrs['aria-invalid'], 'true');
  t.equal(code.attrs['aria-describedby'], 'field-activationCode-hint field-activationCode-error');
  t.equal(code.attrs.value, 'AB12-CD34');
  const email = tags(html, 'input').find((i) => i.attrs.id === 'field-email')!;
  t.equal(email.attrs.type, 'email');
  for (const i of tags(html, 'input').filter((i) => i.attrs.type === 'password')) t.notOk('value' in i.attrs, 'no password value');
  t.match(html, /create an account without a code<\/a>/);
  const again = renderSignUp({ csrfToken: 'c', action: '/a', selfSignUpUrl: '/s', signInUrl: '/i', values: { newPassword: 'secret-pass', confirmPassword: 'secret-pass' } });
  t.notMatch(again, /secret-pass/, 'passwords are never echoed');
  t.notMatch(pages['sign-up']!, /role="alert"|aria-invalid/, 'no errors, no alert');
});

t.test('self sign-up, forgot and reset password', async (t) => {
  const self = pages['self-sign-up']!;
  for (const label of ['First name', 'Last name', 'Date of birth', 'Medical record number', 'Email address', 'Username', 'New password']) {
    t.ok(tags(self, 'input').some((i) => labelFor(self, i.attrs.id ?? '') === label), label);
  }
  t.match(text(self), '18 or older');
  const forgot = pages['forgot-password']!;
  t.equal(labelFor(forgot, 'field-login'), 'Username or email address');
  t.notMatch(text(forgot), 'If an account matches');
  const sent = pages['forgot-password-sent']!;
  t.match(text(sent), 'If an account matches, we sent a code');
  t.match(sent, /href="\/portal\/reset-password">Enter the code/);
  const reset = pages['reset-password']!;
  t.equal(labelFor(reset, 'field-code'), 'Code from the email');
  t.equal(labelFor(reset, 'field-username'), 'Username');
  t.equal(labelFor(reset, 'field-newPassword'), 'New password');
  t.match(reset, /<a href="#field-code">That code has expired/);
});

t.test('patient picker', async (t) => {
  const html = pages['patient-picker']!;
  t.match(html, /<h1>Whose record should HealthTrack Pro see\?<\/h1>/);
  const radios = tags(html, 'input').filter((i) => i.attrs.type === 'radio');
  t.same(radios.map((r) => r.attrs.value), ['maria-garcia', 'sofia-garcia', 'mateo-garcia', 'rosa-garcia']);
  t.same(radios.map((r) => labelFor(html, r.attrs.id!)), [
    'Maria Elena Garcia You',
    'Sofia Isabel Garcia Your child',
    'Mateo Luis Garcia Your teen, limited access',
    'Rosa Garcia Someone you are authorized for',
  ]);
  t.same(radios.filter((r) => 'checked' in r.attrs).map((r) => r.attrs.value), ['maria-garcia'], 'first is pre-selected');
  t.match(html, />Continue<\/button>/);
  const chosen = renderPatientPicker({ csrfToken: 'c', action: '/x', appName: 'A', selectedId: 'b', patients: [{ id: 'a', name: 'A', relationship: 'self' }, { id: 'b', name: 'B', relationship: 'child' }] });
  t.same(tags(chosen, 'input').filter((r) => 'checked' in r.attrs).map((r) => r.attrs.value), ['b']);
});

t.test('connected apps', async (t) => {
  const html = pages['connected-apps']!;
  t.match(html, /<h1>Connected apps<\/h1>/);
  t.match(html, /<h2 class="app-identity__name" id="app-0-name">HealthTrack Pro<\/h2>/);
  t.match(html, /Sofia Isabel Garcia \(Your child\)/);
  t.match(text(html), /Connected since [A-Z][a-z]{2} \d+, 2026/);
  t.match(text(html), /Last used Mar 14, 2026, 9:30 AM/, 'in the model time zone');
  t.match(text(html), 'Last used Not used yet');
  t.match(text(html), 'Lab results (and add or change) 12 lab results', 'what it may see, with counts');
  t.match(text(html), 'Medications 5 records');
  t.match(text(html), 'Procedures None on record');
  t.match(text(html), 'Your care providers Forms and medical reference lists', 'shared data: no count');
  t.notMatch(text(html.slice(0, html.indexOf('Change what'))), 'Other health measurements', 'ungranted group is not listed as readable');
  t.match(html, /<form class="form form--inline" method="post" action="\/portal\/apps\/grant-1\/remove">/);
  t.match(html, /Remove access<span class="visually-hidden"> for HealthTrack Pro<\/span>/);
  t.match(html, /<h3>Change what HealthTrack Pro can see<\/h3>/);
  const change = forms(html).find((f) => f.includes('grant-1/change'))!;
  const boxes = tags(change, 'input').filter((i) => i.attrs.type === 'checkbox');
  t.equal(boxes.length, 19, 'every group of the app, offline included');
  t.same(boxes.filter((b) => !('checked' in b.attrs)).map((b) => b.attrs.value), ['other-observations']);
  t.match(change, />Save<span class="visually-hidden"> what HealthTrack Pro can see<\/span><\/button>/);
  t.match(html, /<caption class="visually-hidden" id="app-0-caption">What HealthTrack Pro read, newest first<\/caption>/);
  t.match(html, /<th scope="col">Time<\/th><th scope="col">Whose record<\/th><th scope="col">Kind of data<\/th><th scope="col">Action<\/th>/);
  t.equal((html.match(/<tr><td>/g) ?? []).length, 3);
  t.match(text(html), 'Sleepwell has not read anything yet.');
  t.match(html, /role="status"><p>Access for StepCounter was removed\./);
  t.match(html, /<form class="sign-out" method="post" action="\/portal\/sign-out">/);
  t.match(html, />Sign out<\/button>/);
  t.match(text(html), 'Signed in as Maria Elena Garcia');
  const empty = pages['connected-apps-empty']!;
  t.match(empty, /No apps are connected\./);
  t.match(empty, />Sign out<\/button>/);
});

t.test('mailbox and message pages', async (t) => {
  const mail = pages.mailbox!;
  t.match(mail, /<pre class="message__body">Hello,\n\nYour code is 482913\./);
  t.match(mail, /&lt;b&gt;Not bold&lt;\/b&gt;/);
  t.match(text(mail), 'To maria@example.com');
  t.match(pages['mailbox-empty']!, /No messages yet\./);
  const expired = pages['message-expired']!;
  t.match(expired, /<h1>Your session expired<\/h1>/);
  t.match(expired, /<a class="button button--primary" href="\/portal\/sign-in">Sign in<\/a>/);
  t.notMatch(expired, /role="alert"/);
  t.match(pages['message-denied']!, /<p>You chose not to share your record\.<\/p>\n  <p>You can close this page\.<\/p>/);
  t.match(pages['message-not-allowed']!, /role="alert"/);
});

t.test('the hospital name can be changed', async (t) => {
  const html = renderMessage({ siteName: 'Lakeside <Clinic>', title: 'Hello', text: 'x' });
  t.match(html, /<p class="site-name">Lakeside &lt;Clinic&gt;<\/p>/);
  t.match(html, /<title>Hello – Lakeside &lt;Clinic&gt;<\/title>/);
});
