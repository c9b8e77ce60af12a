// Typed render functions for the patient portal and the "link an app" pages. Pure: a view model in, a full HTML page
// out. Templates live in consent-ui/templates (Eta, `<%= %>` escapes); the one stylesheet in consent-ui/static.
// Pages use no inline style or script, so they work under
//   default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'
// Every form posts a hidden `_csrf` field; app-supplied URLs are shown only when https: (or http: on localhost).
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import { escapeHtml } from './html.js';
import { MIN_PASSWORD_LENGTH } from './password-policy.js';
import { ACCESS_DURATIONS, type AccessDuration, type PermissionGroup, type PermissionGroupDefinition, type PermissionGroupKey } from './permissions.js';

/** Folder of the static files (portal.css), to be served at STYLESHEET_URL's folder. */
export const CONSENT_UI_STATIC_DIR = fileURLToPath(new URL('../../consent-ui/static/', import.meta.url));
export const CONSENT_UI_TEMPLATES_DIR = fileURLToPath(new URL('../../consent-ui/templates/', import.meta.url));
export const STYLESHEET_URL = '/portal/static/portal.css';
export const DEFAULT_SITE_NAME = 'Riverside Health';

// ---------------------------------------------------------------------------------------------------------------------
// View models

export interface BaseModel {
  /** Hospital name in the header and page titles; default "Riverside Health" */
  readonly siteName?: string;
  /** IANA time zone for dates and times; default the server's */
  readonly timeZone?: string;
}

export interface FormModel extends BaseModel {
  /** Value of the hidden `_csrf` field of every form on the page */
  readonly csrfToken: string;
  /** Where the page's main form posts (a path on this server) */
  readonly action: string;
}

/** An app as its registration describes it: every string here is untrusted. */
export interface AppInfo {
  readonly name: string;
  readonly publisher?: string;
  readonly description?: string;
  /** Shown only when https: (or http://localhost / 127.0.0.1) */
  readonly logoUrl?: string;
  readonly termsUrl?: string;
  readonly privacyUrl?: string;
}

/** How the signed-in person relates to a patient record. */
export type Relationship = 'self' | 'child' | 'teen' | 'other';

export interface PersonRef {
  readonly name: string;
  readonly relationship: Relationship;
}

export type FieldValues<F extends string> = Partial<Record<F, string>>;
export type FieldErrors<F extends string> = Partial<Record<F, string>>;

export interface SignInModel extends FormModel {
  /** The app that sent the person here, if any: "<name> wants to connect to your health record" */
  readonly appName?: string;
  readonly signUpUrl: string;
  readonly forgotPasswordUrl: string;
  /** Username typed before (never the password) */
  readonly username?: string;
  /** One generic message, e.g. "The username or password is not right." */
  readonly error?: string;
  /** e.g. "You were signed out after 20 minutes without activity." */
  readonly notice?: string;
}

/** Form field names: the `name` attributes the routes read. */
export type SignUpField = 'activationCode' | 'birthDate' | 'email' | 'username' | 'newPassword' | 'confirmPassword';
export interface SignUpModel extends FormModel {
  readonly values?: FieldValues<SignUpField>;
  readonly errors?: FieldErrors<SignUpField>;
  /** Link to the sign-up for adults without an activation code */
  readonly selfSignUpUrl: string;
  readonly signInUrl: string;
  /** Password rules hint; default "Use at least 12 characters." */
  readonly passwordHint?: string;
}

export type SelfSignUpField = 'givenName' | 'familyName' | 'birthDate' | 'identifier' | 'email' | 'username' | 'newPassword' | 'confirmPassword';
export interface SelfSignUpModel extends FormModel {
  readonly values?: FieldValues<SelfSignUpField>;
  readonly errors?: FieldErrors<SelfSignUpField>;
  /** Label of the identifier field; default "Medical record number" */
  readonly identifierLabel?: string;
  readonly identifierHint?: string;
  readonly signUpUrl: string;
  readonly signInUrl: string;
  readonly passwordHint?: string;
}

export type ForgotPasswordField = 'login';
export interface ForgotPasswordModel extends FormModel {
  /** true after the form was sent: show "If an account matches, we sent a code" */
  readonly sent?: boolean;
  readonly values?: FieldValues<ForgotPasswordField>;
  readonly errors?: FieldErrors<ForgotPasswordField>;
  readonly resetPasswordUrl: string;
  readonly signInUrl: string;
}

export type ResetPasswordField = 'code' | 'username' | 'newPassword';
export interface ResetPasswordModel extends FormModel {
  readonly values?: FieldValues<ResetPasswordField>;
  readonly errors?: FieldErrors<ResetPasswordField>;
  /** Whole-form problem, e.g. "That code has expired." */
  readonly error?: string;
  readonly forgotPasswordUrl: string;
  readonly signInUrl: string;
  readonly passwordHint?: string;
}

export interface PatientChoiceModel extends PersonRef {
  /** Value posted as `patient` */
  readonly id: string;
}
export interface PatientPickerModel extends FormModel {
  readonly appName: string;
  readonly patients: readonly PatientChoiceModel[];
  /** Pre-selected id; default the first */
  readonly selectedId?: string;
  readonly error?: string;
}

export interface ConsentGroupModel {
  /** From groupsForScopes(requested scopes) */
  readonly group: PermissionGroup;
  /** Pre-fill of the checkbox */
  readonly checked: boolean;
  /** Preview: how many items of this kind the record holds ("12 lab results"); omitted when undefined */
  readonly count?: number;
}
export interface ConsentModel extends FormModel {
  readonly app: AppInfo;
  /** Whose record the app will see */
  readonly patient: PersonRef;
  /** Link to choose another record (the patient picker), when the person has several */
  readonly changePatientUrl?: string;
  /** Every group the app asked for; the 'offline' group becomes the "How long" radio group, not a checkbox */
  readonly groups: readonly ConsentGroupModel[];
  /** Pre-fill of the "How long" radio group; default 'session' */
  readonly duration?: AccessDuration;
  readonly error?: string;
}

export interface AccessLogEntry {
  readonly time: Date | string;
  /** Whose record was read */
  readonly patientName: string;
  /** Kind of data, in plain language, e.g. "Lab results" */
  readonly dataKind: string;
  /** e.g. "Read", "Searched", "Added" */
  readonly action: string;
}
export interface ConnectedAppModel {
  readonly app: AppInfo;
  readonly patient: PersonRef;
  /** Every group the app has or had; `granted` ones are what it may read now (and are ticked in the change form) */
  readonly groups: readonly { readonly group: PermissionGroupDefinition | PermissionGroup; readonly granted: boolean; readonly count?: number }[];
  readonly since: Date | string;
  readonly lastUsed?: Date | string;
  /** When access ends, if it does */
  readonly expires?: Date | string;
  /** POST target of the "Remove access" button */
  readonly removeAction: string;
  /** POST target of the "Change what it can see" form (fields: `group`) */
  readonly changeAction: string;
  /** Recent reads, newest first */
  readonly accessLog: readonly AccessLogEntry[];
}
export interface ConnectedAppsModel extends BaseModel {
  readonly csrfToken: string;
  readonly apps: readonly ConnectedAppModel[];
  readonly signOutAction: string;
  /** Name of the signed-in person, shown in the header */
  readonly accountName?: string;
  /** e.g. "Access for Acme Health was removed." */
  readonly notice?: string;
}

export interface MailMessage {
  readonly to: string;
  readonly subject: string;
  readonly time: Date | string;
  readonly text: string;
}
export interface MailboxModel extends BaseModel {
  readonly messages: readonly MailMessage[];
}

export interface MessageModel extends BaseModel {
  readonly title: string;
  /** One or more paragraphs */
  readonly text: string | readonly string[];
  readonly link?: { readonly href: string; readonly text: string };
  /** 'error' shows the text as an alert */
  readonly tone?: 'info' | 'error';
}

// ---------------------------------------------------------------------------------------------------------------------
// Helpers (exported for tests and routes)

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1']);

/** The URL, normalised, when it is https: or http: on localhost/127.0.0.1; otherwise undefined (never javascript:, data:, …). */
export function safeAppUrl(value: string | undefined | null): string | undefined {
  if (!value) return undefined;
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return undefined;
  }
  if (url.protocol === 'https:' && url.hostname) return url.href;
  if (url.protocol === 'http:' && LOCAL_HOSTS.has(url.hostname)) return url.href;
  return undefined;
}

/** A link target from the routes: a path on this server ('/…', not '//…'), or else a safe app URL; '#' otherwise. */
export function safeHref(value: string): string {
  if (/^\/(?![/\\])/.test(value)) return value;
  return safeAppUrl(value) ?? '#';
}

const RELATIONSHIP_TEXT: Readonly<Record<Relationship, string>> = {
  self: 'You',
  child: 'Your child',
  teen: 'Your teen, limited access',
  other: 'Someone you are authorized for',
};
export const relationshipText = (r: Relationship): string => RELATIONSHIP_TEXT[r];

/**
 * "12 lab results", "1 allergy", "None on record"; undefined when the group has nothing to count. Not "No allergies":
 * next to a label that reads as a clinical statement (no known allergies), which an empty record is not.
 */
export function previewCountText(group: PermissionGroupDefinition, count: number | undefined): string | undefined {
  if (count === undefined || !group.countNoun) return undefined;
  const [one, many] = group.countNoun;
  if (count === 0) return 'None on record';
  return `${count.toLocaleString('en-US')} ${count === 1 ? one : many}`;
}

function toDate(value: Date | string): Date | undefined {
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

interface TimeView {
  readonly iso: string;
  readonly text: string;
}
function timeView(value: Date | string | undefined, timeZone: string | undefined, withTime = true): TimeView | undefined {
  if (value === undefined) return undefined;
  const d = toDate(value);
  if (!d) return { iso: '', text: String(value) };
  const format = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', ...(withTime ? { timeStyle: 'short' } : {}), ...(timeZone ? { timeZone } : {}) });
  return { iso: d.toISOString(), text: format.format(d) };
}

// ---------------------------------------------------------------------------------------------------------------------
// Template engine

const eta = new Eta({ views: CONSENT_UI_TEMPLATES_DIR, autoEscape: true, escapeFunction: escapeHtml, cache: true, autoTrim: [false, 'nl'] });

interface FieldView {
  readonly id: string;
  readonly name: string;
  readonly label: string;
  readonly type: string;
  readonly value?: string;
  readonly autocomplete?: string;
  readonly inputmode?: string;
  readonly hint?: string;
  readonly error?: string;
  /** Extra aria-describedby ids (e.g. a form-level error) */
  readonly describedBy?: string;
  readonly required: boolean;
}
interface ErrorLink {
  readonly href: string;
  readonly text: string;
}

interface FieldSpec<F extends string> {
  readonly name: F;
  readonly label: string;
  readonly type?: string;
  readonly autocomplete?: string;
  readonly inputmode?: string;
  readonly hint?: string;
  /** Never re-filled after a failed submit */
  readonly secret?: boolean;
  readonly required?: boolean;
}

function fields<F extends string>(specs: readonly FieldSpec<F>[], values: FieldValues<F> | undefined, errors: FieldErrors<F> | undefined): { fields: FieldView[]; errorList: ErrorLink[] } {
  const list: FieldView[] = specs.map((s) => ({
    id: `field-${s.name}`,
    name: s.name,
    label: s.label,
    type: s.type ?? 'text',
    ...(s.secret ? {} : { value: values?.[s.name] }),
    ...(s.autocomplete ? { autocomplete: s.autocomplete } : {}),
    ...(s.inputmode ? { inputmode: s.inputmode } : {}),
    ...(s.hint ? { hint: s.hint } : {}),
    ...(errors?.[s.name] ? { error: errors[s.name] } : {}),
    required: s.required ?? true,
  }));
  return { fields: list, errorList: list.filter((f) => f.error).map((f) => ({ href: `#${f.id}`, text: f.error! })) };
}

interface PageView {
  readonly title: string;
  readonly siteName: string;
  readonly stylesheet: string;
  readonly signOut?: { readonly action: string; readonly csrfToken: string; readonly accountName?: string };
}

function render(template: string, model: BaseModel, title: string, data: Record<string, unknown>, signOut?: PageView['signOut']): string {
  const siteName = model.siteName ?? DEFAULT_SITE_NAME;
  const page: PageView = { title: `${title} – ${siteName}`, siteName, stylesheet: STYLESHEET_URL, ...(signOut ? { signOut } : {}) };
  return eta.render(`./${template}`, { page, ...data });
}

function appView(app: AppInfo) {
  return {
    name: app.name,
    publisher: app.publisher,
    description: app.description,
    logoUrl: safeAppUrl(app.logoUrl),
    termsUrl: safeAppUrl(app.termsUrl),
    privacyUrl: safeAppUrl(app.privacyUrl),
  };
}

const personView = (p: PersonRef) => ({ name: p.name, relationship: relationshipText(p.relationship) });
const DEFAULT_PASSWORD_HINT = `Use at least ${MIN_PASSWORD_LENGTH} characters. A few unrelated words are easy to remember and hard to guess.`;

// ---------------------------------------------------------------------------------------------------------------------
// Pages

/** Sign in: fields `username`, `password`. */
export function renderSignIn(model: SignInModel): string {
  const errorId = 'sign-in-error';
  const describedBy = model.error ? errorId : undefined;
  const specs: FieldSpec<'username' | 'password'>[] = [
    { name: 'username', label: 'Username', autocomplete: 'username' },
    { name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', secret: true },
  ];
  const f = fields(specs, { username: model.username }, undefined).fields.map((x) => ({ ...x, ...(describedBy ? { describedBy, invalid: true } : {}) }));
  return render('sign-in', model, 'Sign in', {
    csrfToken: model.csrfToken,
    action: model.action,
    appName: model.appName,
    fields: f,
    error: model.error,
    errorId,
    notice: model.notice,
    signUpUrl: safeHref(model.signUpUrl),
    forgotPasswordUrl: safeHref(model.forgotPasswordUrl),
  });
}

/** Create an account with an activation code: fields activationCode, birthDate, email, username, newPassword, confirmPassword. */
export function renderSignUp(model: SignUpModel): string {
  const f = fields<SignUpField>(
    [
      { name: 'activationCode', label: 'Activation code', autocomplete: 'off', hint: 'You can find it on your after-visit summary or in the letter we sent you. For example, AB12-CD34-EF56.' },
      { name: 'birthDate', label: 'Date of birth', type: 'date', autocomplete: 'bday' },
      { name: 'email', label: 'Email address', type: 'email', autocomplete: 'email', hint: 'We send a code here if you forget your password.' },
      ...newCredentialFields(model.passwordHint),
    ],
    model.values,
    model.errors,
  );
  return render('sign-up', model, 'Create an account', { csrfToken: model.csrfToken, action: model.action, ...f, selfSignUpUrl: safeHref(model.selfSignUpUrl), signInUrl: safeHref(model.signInUrl) });
}

/** The username and new-password fields both sign-up pages end with. */
function newCredentialFields(passwordHint: string | undefined): FieldSpec<'username' | 'newPassword' | 'confirmPassword'>[] {
  return [
    { name: 'username', label: 'Username', autocomplete: 'username' },
    { name: 'newPassword', label: 'New password', type: 'password', autocomplete: 'new-password', hint: passwordHint ?? DEFAULT_PASSWORD_HINT, secret: true },
    { name: 'confirmPassword', label: 'Type the new password again', type: 'password', autocomplete: 'new-password', secret: true },
  ];
}

/** Create an account without a code (adults 18+): givenName, familyName, birthDate, identifier, email, username, newPassword, confirmPassword. */
export function renderSelfSignUp(model: SelfSignUpModel): string {
  const f = fields<SelfSignUpField>(
    [
      { name: 'givenName', label: 'First name', autocomplete: 'given-name' },
      { name: 'familyName', label: 'Last name', autocomplete: 'family-name' },
      { name: 'birthDate', label: 'Date of birth', type: 'date', autocomplete: 'bday' },
      { name: 'identifier', label: model.identifierLabel ?? 'Medical record number', autocomplete: 'off', hint: model.identifierHint ?? 'It is printed on your hospital wristband, bills and after-visit summaries.' },
      { name: 'email', label: 'Email address', type: 'email', autocomplete: 'email' },
      ...newCredentialFields(model.passwordHint),
    ],
    model.values,
    model.errors,
  );
  return render('self-sign-up', model, 'Create an account without a code', { csrfToken: model.csrfToken, action: model.action, ...f, signUpUrl: safeHref(model.signUpUrl), signInUrl: safeHref(model.signInUrl) });
}

/** Forgot password: field `login` (username or email). */
export function renderForgotPassword(model: ForgotPasswordModel): string {
  const f = fields<ForgotPasswordField>([{ name: 'login', label: 'Username or email address', autocomplete: 'username' }], model.values, model.errors);
  return render('forgot-password', model, model.sent ? 'Check your email' : 'Forgot your password?', {
    csrfToken: model.csrfToken,
    action: model.action,
    sent: model.sent === true,
    ...f,
    resetPasswordUrl: safeHref(model.resetPasswordUrl),
    signInUrl: safeHref(model.signInUrl),
  });
}

/** Reset password: fields code, username, newPassword. */
export function renderResetPassword(model: ResetPasswordModel): string {
  const f = fields<ResetPasswordField>(
    [
      { name: 'code', label: 'Code from the email', autocomplete: 'one-time-code', inputmode: 'numeric' },
      { name: 'username', label: 'Username', autocomplete: 'username' },
      { name: 'newPassword', label: 'New password', type: 'password', autocomplete: 'new-password', hint: model.passwordHint ?? DEFAULT_PASSWORD_HINT, secret: true },
    ],
    model.values,
    model.errors,
  );
  const errorList = model.error ? [{ href: '#field-code', text: model.error }, ...f.errorList] : f.errorList;
  return render('reset-password', model, 'Choose a new password', {
    csrfToken: model.csrfToken,
    action: model.action,
    fields: f.fields,
    errorList,
    forgotPasswordUrl: safeHref(model.forgotPasswordUrl),
    signInUrl: safeHref(model.signInUrl),
  });
}

/** Whose record should the app see: radio `patient` (value: the patient id). */
export function renderPatientPicker(model: PatientPickerModel): string {
  const selected = model.patients.some((p) => p.id === model.selectedId) ? model.selectedId : model.patients[0]?.id;
  return render('patient-picker', model, `Whose record should ${model.appName} see?`, {
    csrfToken: model.csrfToken,
    action: model.action,
    appName: model.appName,
    error: model.error,
    patients: model.patients.map((p, i) => ({ id: p.id, inputId: `patient-${i}`, name: p.name, relationship: relationshipText(p.relationship), checked: p.id === selected })),
  });
}

/** The consent page: checkboxes `group` (permission group keys), radio `duration`, submit `decision` = allow | deny. */
export function renderConsent(model: ConsentModel): string {
  const app = appView(model.app);
  const offline = model.groups.find((g) => g.group.key === 'offline');
  const groups = model.groups
    .filter((g) => g.group.key !== 'offline')
    .map((g) => ({
      key: g.group.key,
      id: `group-${g.group.key}`,
      label: g.group.label,
      description: g.group.description,
      checked: g.checked,
      count: previewCountText(g.group, g.count),
      write: g.group.write,
      read: g.group.read,
    }));
  const duration = model.duration ?? (offline?.checked ? 'forever' : 'session');
  return render('consent', model, `Allow ${model.app.name} to see health information?`, {
    csrfToken: model.csrfToken,
    action: model.action,
    app,
    patient: personView(model.patient),
    changePatientUrl: model.changePatientUrl === undefined ? undefined : safeHref(model.changePatientUrl),
    groups,
    durations: offline ? ACCESS_DURATIONS.map((d, i) => ({ ...d, id: `duration-${i}`, checked: d.value === duration })) : [],
    error: model.error,
  });
}

/** Connected apps (/portal/apps): per app a "Remove access" form and a "Change what it can see" form (checkboxes `group`). */
export function renderConnectedApps(model: ConnectedAppsModel): string {
  const tz = model.timeZone;
  const apps = model.apps.map((a, i) => ({
    id: `app-${i}`,
    app: appView(a.app),
    patient: personView(a.patient),
    granted: a.groups.filter((g) => g.granted).map((g) => ({ label: g.group.label, write: 'write' in g.group && g.group.write, count: previewCountText(g.group, g.count) })),
    choices: a.groups.map((g) => ({ key: g.group.key as PermissionGroupKey, id: `app-${i}-group-${g.group.key}`, label: g.group.label, checked: g.granted })),
    since: timeView(a.since, tz, false),
    lastUsed: timeView(a.lastUsed, tz),
    expires: timeView(a.expires, tz, false),
    removeAction: a.removeAction,
    changeAction: a.changeAction,
    accessLog: a.accessLog.map((e) => ({ time: timeView(e.time, tz)!, patientName: e.patientName, dataKind: e.dataKind, action: e.action })),
  }));
  return render('connected-apps', model, 'Connected apps', { csrfToken: model.csrfToken, apps, notice: model.notice }, {
    action: model.signOutAction,
    csrfToken: model.csrfToken,
    ...(model.accountName ? { accountName: model.accountName } : {}),
  });
}

/** The sandbox mailbox (/dev/mailbox). */
export function renderMailbox(model: MailboxModel): string {
  const messages = model.messages.map((m) => ({ to: m.to, subject: m.subject, time: timeView(m.time, model.timeZone)!, text: m.text }));
  return render('mailbox', model, 'Sandbox mailbox', { messages });
}

/** A message or error page ("Your session expired", "Access denied", "Not allowed"). */
export function renderMessage(model: MessageModel): string {
  const paragraphs = typeof model.text === 'string' ? [model.text] : [...model.text];
  return render('message', model, model.title, {
    title: model.title,
    paragraphs,
    tone: model.tone ?? 'info',
    link: model.link ? { href: safeHref(model.link.href), text: model.link.text } : undefined,
  });
}
