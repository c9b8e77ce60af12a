// Writes every portal page, rendered with sample data, to data/views/*.html (and the stylesheet next to them) so the
// pages can be opened in a browser without running the server.  Usage: npx tsx scripts/render-views.ts [outDir]
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { groupsForScopes, PERMISSION_GROUPS } from '../src/portal/permissions.js';
import {
  CONSENT_UI_STATIC_DIR,
  STYLESHEET_URL,
  renderConnectedApps,
  renderConsent,
  renderForgotPassword,
  renderMailbox,
  renderMessage,
  renderPatientPicker,
  renderResetPassword,
  renderSelfSignUp,
  renderSignIn,
  renderSignUp,
} from '../src/portal/views.js';

const csrfToken = 'sample-csrf-token';
const requested = ['launch/patient', 'openid', 'fhirUser', 'offline_access', 'patient/*.read', 'patient/Observation.write'];
const counts: Record<string, number> = {
  labs: 12,
  vitals: 48,
  'other-observations': 3,
  problems: 4,
  allergies: 2,
  medications: 5,
  immunizations: 1,
  visits: 9,
  procedures: 0,
  reports: 7,
  'care-plans': 2,
  devices: 0,
  questionnaires: 1,
  insurance: 3,
  'other-records': 0,
};
const now = Date.parse('2026-03-14T15:30:00Z');
const ago = (hours: number) => new Date(now - hours * 3600_000);

/** Every page with sample data: file name → HTML. */
export function samplePages(): Record<string, string> {
  const groups = groupsForScopes(requested);
  return {
    'sign-in': renderSignIn({ csrfToken, action: '/interaction/abc/login', appName: 'HealthTrack Pro', signUpUrl: '/portal/sign-up', forgotPasswordUrl: '/portal/forgot-password' }),
    'sign-in-error': renderSignIn({
      csrfToken,
      action: '/interaction/abc/login',
      appName: 'HealthTrack Pro',
      signUpUrl: '/portal/sign-up',
      forgotPasswordUrl: '/portal/forgot-password',
      username: 'maria',
      error: 'The username or password is not right.',
    }),
    'sign-in-timeout': renderSignIn({
      csrfToken,
      action: '/portal/sign-in',
      signUpUrl: '/portal/sign-up',
      forgotPasswordUrl: '/portal/forgot-password',
      notice: 'You were signed out after 20 minutes without activity.',
    }),
    'sign-up': renderSignUp({ csrfToken, action: '/portal/sign-up', selfSignUpUrl: '/portal/sign-up/self', signInUrl: '/portal/sign-in' }),
    'sign-up-errors': renderSignUp({
      csrfToken,
      action: '/portal/sign-up',
      selfSignUpUrl: '/portal/sign-up/self',
      signInUrl: '/portal/sign-in',
      values: { activationCode: 'AB12-CD34', birthDate: '1985-03-27', email: 'maria@example', username: 'maria' },
      errors: { activationCode: 'That activation code is not right. Check it and try again.', email: 'Enter an email address like name@example.com.', confirmPassword: 'The two passwords are not the same.' },
    }),
    'self-sign-up': renderSelfSignUp({ csrfToken, action: '/portal/sign-up/self', signUpUrl: '/portal/sign-up', signInUrl: '/portal/sign-in' }),
    'forgot-password': renderForgotPassword({ csrfToken, action: '/portal/forgot-password', resetPasswordUrl: '/portal/reset-password', signInUrl: '/portal/sign-in' }),
    'forgot-password-sent': renderForgotPassword({ csrfToken, action: '/portal/forgot-password', sent: true, values: { login: 'maria' }, resetPasswordUrl: '/portal/reset-password', signInUrl: '/portal/sign-in' }),
    'reset-password': renderResetPassword({
      csrfToken,
      action: '/portal/reset-password',
      forgotPasswordUrl: '/portal/forgot-password',
      signInUrl: '/portal/sign-in',
      values: { username: 'maria' },
      error: 'That code has expired. Ask for a new one.',
    }),
    'patient-picker': renderPatientPicker({
      csrfToken,
      action: '/interaction/abc/patient',
      appName: 'HealthTrack Pro',
      patients: [
        { id: 'maria-garcia', name: 'Maria Elena Garcia', relationship: 'self' },
        { id: 'sofia-garcia', name: 'Sofia Isabel Garcia', relationship: 'child' },
        { id: 'mateo-garcia', name: 'Mateo Luis Garcia', relationship: 'teen' },
        { id: 'rosa-garcia', name: 'Rosa Garcia', relationship: 'other' },
      ],
    }),
    consent: renderConsent({
      csrfToken,
      action: '/interaction/abc/consent',
      app: {
        name: 'HealthTrack Pro',
        publisher: 'HealthTrack Inc.',
        description: 'Keeps your lab results, medicines and vaccines in one place and reminds you when a check-up is due.',
        logoUrl: 'https://healthtrack.example/logo.svg',
        termsUrl: 'https://healthtrack.example/terms',
        privacyUrl: 'https://healthtrack.example/privacy',
      },
      patient: { name: 'Sofia Isabel Garcia', relationship: 'child' },
      changePatientUrl: '/interaction/abc/patient',
      groups: groups.map((g) => ({ group: g, checked: true, ...(counts[g.key] !== undefined ? { count: counts[g.key] } : {}) })),
      duration: '30d',
    }),
    'consent-injection': renderConsent({
      csrfToken,
      action: '/interaction/abc/consent',
      app: {
        name: '<img src=x onerror=alert(1)>Evil "App"',
        publisher: '</p><script>alert(2)</script>',
        description: '<a href="javascript:alert(3)">click</a>',
        logoUrl: 'javascript:alert(4)',
        termsUrl: 'http://evil.example/terms',
        privacyUrl: 'data:text/html,<script>alert(5)</script>',
      },
      patient: { name: 'Maria Elena Garcia', relationship: 'self' },
      groups: groupsForScopes(['patient/Observation.rs', 'openid']).map((g) => ({ group: g, checked: g.key !== 'other-observations', count: 0 })),
      error: 'Choose at least one thing to share, or press Deny.',
    }),
    'connected-apps': renderConnectedApps({
      csrfToken,
      signOutAction: '/portal/sign-out',
      accountName: 'Maria Elena Garcia',
      notice: 'Access for StepCounter was removed.',
      timeZone: 'America/New_York',
      apps: [
        {
          app: { name: 'HealthTrack Pro', publisher: 'HealthTrack Inc.', logoUrl: 'https://healthtrack.example/logo.png' },
          patient: { name: 'Sofia Isabel Garcia', relationship: 'child' },
          groups: groups.map((g) => ({ group: g, granted: g.key !== 'other-observations', ...(counts[g.key] !== undefined ? { count: counts[g.key] } : {}) })),
          since: ago(24 * 40),
          lastUsed: ago(2),
          expires: new Date(now + 3600_000 * 24 * 300),
          removeAction: '/portal/apps/grant-1/remove',
          changeAction: '/portal/apps/grant-1/change',
          accessLog: [
            { time: ago(2), patientName: 'Sofia Isabel Garcia', dataKind: 'Lab results', action: 'Searched' },
            { time: ago(2.1), patientName: 'Sofia Isabel Garcia', dataKind: 'Basic information', action: 'Read' },
            { time: ago(50), patientName: 'Sofia Isabel Garcia', dataKind: 'Immunizations', action: 'Searched' },
          ],
        },
        {
          app: { name: 'Sleepwell', publisher: 'Sleepwell Labs' },
          patient: { name: 'Maria Elena Garcia', relationship: 'self' },
          groups: PERMISSION_GROUPS.filter((g) => g.key === 'vitals' || g.key === 'basic').map((g) => ({ group: g, granted: true })),
          since: ago(3),
          removeAction: '/portal/apps/grant-2/remove',
          changeAction: '/portal/apps/grant-2/change',
          accessLog: [],
        },
      ],
    }),
    'connected-apps-empty': renderConnectedApps({ csrfToken, signOutAction: '/portal/sign-out', apps: [] }),
    mailbox: renderMailbox({
      timeZone: 'America/New_York',
      messages: [
        { to: 'maria@example.com', subject: 'Your Riverside Health password code', time: ago(0.2), text: 'Hello,\n\nYour code is 482913. It works for 15 minutes.\n\nIf you did not ask for it, you can ignore this email.' },
        { to: 'daniel@example.com', subject: 'Welcome to Riverside Health', time: ago(30), text: 'Your account is ready.\n<b>Not bold</b>' },
      ],
    }),
    'mailbox-empty': renderMailbox({ messages: [] }),
    'message-expired': renderMessage({ title: 'Your session expired', text: 'For your safety, you were signed out. Go back to the app and connect again.', link: { href: '/portal/sign-in', text: 'Sign in' } }),
    'message-denied': renderMessage({ title: 'Access denied', text: ['You chose not to share your record.', 'You can close this page.'] }),
    'message-not-allowed': renderMessage({ title: 'Not allowed', tone: 'error', text: 'You cannot share that record from this account.' }),
  };
}

function main(): void {
  const out = resolve(process.argv[2] ?? 'data/views');
  mkdirSync(out, { recursive: true });
  // The pages link the stylesheet at /portal/static/portal.css; opened from disk they use the copy next to them.
  copyFileSync(join(CONSENT_UI_STATIC_DIR, 'portal.css'), join(out, 'portal.css'));
  const pages = samplePages();
  for (const [name, html] of Object.entries(pages)) writeFileSync(join(out, `${name}.html`), html.replace(`href="${STYLESHEET_URL}"`, 'href="portal.css"'));
  console.log(`Wrote ${Object.keys(pages).length} pages to ${out}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
