// Typed render functions for the developer sandbox pages: a view model in, a whole HTML page out. Templates are in
// consent-ui/templates/sandbox (Eta, `<%= %>` escapes everything), with the portal's stylesheet and the same strict
// Content-Security-Policy (no inline script or style).
import { Eta } from 'eta';
import { escapeHtml } from '../portal/html.js';
import { CONSENT_UI_TEMPLATES_DIR, STYLESHEET_URL, safeHref } from '../portal/views.js';
import { CLIENT_KINDS, type AppForm, type AppFormErrors, type ClientKind, type SandboxApp } from './app-registry.js';
import type { ScopeSection } from './scope-catalog.js';

const eta = new Eta({ views: CONSENT_UI_TEMPLATES_DIR, autoEscape: true, escapeFunction: escapeHtml, cache: true, autoTrim: [false, 'nl'] });

const NAV = [
  { href: '/sandbox', text: 'Home' },
  { href: '/sandbox/apps', text: 'Apps' },
  { href: '/sandbox/launch', text: 'Launch simulator' },
  { href: '/sandbox/token', text: 'Token inspector' },
] as const;

function render(template: string, title: string, current: string, data: Record<string, unknown>): string {
  const page = { title: `${title} – SMART developer sandbox`, stylesheet: STYLESHEET_URL, nav: NAV.map((n) => ({ ...n, current: n.href === current })) };
  return eta.render(`./sandbox/${template}`, { page, ...data });
}

export const KIND_TEXT: Readonly<Record<ClientKind, string>> = {
  public: 'Public (PKCE)',
  secret: 'Confidential (client secret)',
  keys: 'Confidential (private_key_jwt)',
  backend: 'Backend service (client_credentials)',
};

// ---------------------------------------------------------------------------------------------------------------------
// Home

export interface HomeModel {
  readonly addresses: readonly { readonly label: string; readonly value: string }[];
  readonly demoPassword: string;
  readonly accounts: readonly { readonly username: string; readonly name: string; readonly role: string; readonly records: string }[];
  readonly apps: readonly SandboxApp[];
}

export function renderHome(m: HomeModel): string {
  return render('home', 'Home', '/sandbox', { ...m, apps: m.apps.map((a) => ({ clientId: a.clientId, name: a.name, kind: KIND_TEXT[a.kind] })) });
}

// ---------------------------------------------------------------------------------------------------------------------
// Apps

export function renderApps(m: { readonly apps: readonly SandboxApp[]; readonly notice?: string }): string {
  return render('apps', 'Apps', '/sandbox/apps', {
    notice: m.notice,
    apps: m.apps.map((a, index) => ({ index, clientId: a.clientId, name: a.name, kind: KIND_TEXT[a.kind], scope: a.scope, editable: a.editable })),
  });
}

export interface AppFormModel {
  readonly csrfToken: string;
  readonly action: string;
  readonly heading: string;
  readonly submit: string;
  readonly cancel: string;
  readonly values: AppForm;
  readonly errors: AppFormErrors;
  readonly catalog: readonly ScopeSection[];
  /** Editing: the kind of client is fixed once registered */
  readonly kindFixed?: boolean;
}

export function renderAppForm(m: AppFormModel): string {
  const v = m.values;
  const ticked = new Set(v.scopes);
  const text = (name: keyof AppForm, label: string, hint?: string, type = 'text') => ({
    type,
    id: `field-${name}`,
    name,
    label,
    value: String(v[name] ?? ''),
    required: false,
    ...(hint ? { hint } : {}),
    ...(m.errors[name] ? { error: m.errors[name] } : {}),
  });
  const area = (name: keyof AppForm, label: string, hint: string, rows: number) => ({ ...text(name, label, hint), type: 'textarea', rows });
  const fields = [
    text('name', 'App name', 'Patients see it on the consent screen.'),
    text('publisher', 'Publisher', 'The company or person behind the app.'),
    area('description', 'Description', 'One or two sentences: what the app does with the data.', 2),
    text('logoUri', 'Logo URL', 'https (or http://localhost) image URL.', 'url'),
    text('tosUri', 'Terms of use URL', undefined, 'url'),
    text('policyUri', 'Privacy policy URL', undefined, 'url'),
    {
      type: 'kind',
      id: 'field-kind',
      label: 'Kind of client',
      disabled: m.kindFixed === true,
      options: CLIENT_KINDS.map((k) => ({ ...k, checked: k.value === v.kind })),
      ...(m.errors.kind ? { error: m.errors.kind } : {}),
    },
    area('redirectUris', 'Redirect URIs', 'One per line: where the app receives the authorization code. Not used by backend services.', 3),
    text('launchUri', 'Launch URL (initiate_login_uri)', 'Where the launch simulator opens the app with iss and launch, e.g. http://localhost:3000/launch.', 'url'),
    area('jwks', 'JWKS (public keys)', 'For private_key_jwt: a JWK Set with your public key, {"keys":[…]}. Or give a JWKS URL below.', 4),
    text('jwksUri', 'JWKS URL', 'For private_key_jwt: where your public keys are published.', 'url'),
    { type: 'scopes', id: 'field-scopes', label: 'Scopes the app may ask for', sections: m.catalog.map((s) => ({ title: s.title, choices: s.choices.map((c) => ({ ...c, checked: ticked.has(c.scope) })) })) },
    text('scopeText', 'More scopes', 'Space separated, e.g. patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs'),
  ];
  const order: (keyof AppForm)[] = ['name', 'publisher', 'description', 'logoUri', 'tosUri', 'policyUri', 'kind', 'redirectUris', 'launchUri', 'jwks', 'jwksUri', 'scopes', 'scopeText'];
  const errorList = order.flatMap((k) => (m.errors[k] ? [{ href: `#field-${k}`, text: m.errors[k]! }] : []));
  return render('app-form', m.heading, '/sandbox/apps', { csrfToken: m.csrfToken, action: m.action, heading: m.heading, submit: m.submit, cancel: safeHref(m.cancel), fields, errorList });
}

export interface AppPageModel {
  readonly csrfToken: string;
  readonly app: SandboxApp;
  readonly fhirBaseUrl: string;
  readonly smartConfigurationUrl: string;
  readonly tokenEndpoint: string;
  /** Right after registration: the one time the secret is shown */
  readonly secret?: string;
  readonly notice?: string;
}

export function renderAppPage(m: AppPageModel): string {
  const a = m.app;
  const values = [
    { label: 'iss (FHIR base URL)', value: m.fhirBaseUrl, id: 'value-iss' },
    { label: 'client_id', value: a.clientId, id: 'value-client-id' },
    { label: 'scope (what it may ask for)', value: a.scope || '(none registered: it may ask for the defaults only)', id: 'value-scope' },
    ...(a.kind !== 'backend'
      ? [{ label: 'redirect_uri', value: a.redirectUris.join(' ') || '(none)', id: 'value-redirect' }, { label: 'Launch URL', value: a.launchUri ?? '(none: the simulator shows the query to open your app with)' }]
      : [{ label: 'Token endpoint', value: m.tokenEndpoint, hint: 'POST grant_type=client_credentials with your client assertion (or secret) and a system/ scope.' }]),
    { label: 'Kind', value: KIND_TEXT[a.kind] },
    { label: 'Discovery', value: m.smartConfigurationUrl },
  ];
  return render('app', a.name, '/sandbox/apps', { csrfToken: m.csrfToken, app: a, values, secret: m.secret, notice: m.notice });
}

// ---------------------------------------------------------------------------------------------------------------------
// Launch simulator

export type LaunchField = 'client_id' | 'patient' | 'encounter';

export interface LaunchFormModel {
  readonly csrfToken: string;
  readonly query: string;
  readonly clientId?: string;
  readonly apps: readonly { readonly clientId: string; readonly name: string; readonly launchUri?: string; readonly selected: boolean }[];
  readonly patients: readonly { readonly id: string; readonly name: string; readonly facts: string; readonly summary: string; readonly checked: boolean }[];
  readonly users: readonly { readonly accountId: string; readonly username: string; readonly name: string; readonly selected: boolean }[];
  readonly drills: readonly { readonly value: string; readonly label: string; readonly hint: string; readonly checked: boolean }[];
  readonly groups: readonly { readonly key: string; readonly label: string; readonly selected: boolean }[];
  readonly values: { readonly encounter: string; readonly skipConsent: boolean; readonly tokenSeconds: string };
  readonly errors: Partial<Record<LaunchField, string>>;
  readonly lastLaunch?: string;
}

export function renderLaunchForm(m: LaunchFormModel): string {
  const errorList = (['client_id', 'patient', 'encounter'] as const).flatMap((k) => (m.errors[k] ? [{ href: `#field-${k}`, text: m.errors[k]! }] : []));
  return render('launch', 'Launch simulator', '/sandbox/launch', { ...m, errorList });
}

export interface LaunchDetailModel {
  readonly csrfToken: string;
  readonly launch: string;
  readonly appName: string;
  readonly patient: string;
  readonly patientName: string;
  readonly encounter?: string;
  readonly drill: string;
  readonly state: string;
  readonly iss: string;
  readonly query: string;
  readonly launchUrl?: string;
  readonly fhirBase: string;
  readonly grantId?: string;
  readonly notice?: string;
}

export function renderLaunchDetail(m: LaunchDetailModel): string {
  return render('launch-detail', `Launch of ${m.appName}`, '/sandbox/launch', { ...m, launchUrl: m.launchUrl ? safeHref(m.launchUrl) : undefined });
}

// ---------------------------------------------------------------------------------------------------------------------
// Token inspector

export type Verdict = 'granted' | 'unticked' | 'not-allowed' | 'expired' | 'revoked' | 'not-understood';

export interface InspectionView {
  readonly stateText: string;
  readonly reason: string;
  /** `list`: shown one per line as code (scope strings) */
  readonly facts: readonly { readonly label: string; readonly value: string; readonly wide?: boolean; readonly list?: readonly string[] }[];
  readonly scopes: readonly { readonly scope: string; readonly verdict: Verdict; readonly verdictText: string; readonly why: string }[];
}

export function renderTokenInspector(m: { readonly csrfToken: string; readonly token: string; readonly result?: InspectionView; readonly error?: string; readonly lastLaunch?: string }): string {
  return render('token', 'Token inspector', '/sandbox/token', { ...m, errorList: m.error ? [{ href: '#field-token', text: m.error }] : [] });
}

// ---------------------------------------------------------------------------------------------------------------------
// Messages

export interface SandboxMessageModel {
  readonly title: string;
  readonly text: string;
  readonly tone?: 'info' | 'error';
  readonly link?: { readonly href: string; readonly text: string };
}

/** A message or error page in the sandbox's own frame ("No such app", "Too many requests", a stale form). */
export function renderSandboxMessage(m: SandboxMessageModel): string {
  return render('message', m.title, '', { title: m.title, text: m.text, tone: m.tone ?? 'info', link: m.link ? { href: safeHref(m.link.href), text: m.link.text } : undefined });
}
