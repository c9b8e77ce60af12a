// After a password reset: whoever else was signed in to the account is out, in every browser (portal sessions,
// sign-ins at the authorization server, authorizations in progress), and the account is told by e-mail.
//
// Connected apps keep their access. A reset is about the password: most are simply forgotten ones, and a patient's
// apps (a phone's health records, a care app) were each allowed on their own consent screen and would all break if a
// reset cut them off. So the reset page and the e-mail say plainly that apps stay connected and link to Connected
// apps, where each can be removed at once. Only grants that lasted "while signed in" (online_access) end, exactly as
// they do on sign-out.
import type { Account } from '../store/accounts.js';
import type { PortalDeps } from './portal-deps.js';

export type PasswordChangedDeps = Pick<PortalDeps, 'sessions' | 'endSignIns' | 'appLinks' | 'mailer' | 'siteName' | 'publicUrl' | 'clock'>;

/** What the page shows after the reset (the connected-apps page, signed in afresh). */
export const PASSWORD_CHANGED_NOTICE =
  'Your password was changed, and every other sign-in to your account has ended. Connected apps keep their access: a new password does not disconnect them. If you do not recognise an app below, remove its access.';

/** Ends every other sign-in of the account and mails it; call before starting the resetting browser's new session. */
export async function afterPasswordReset(deps: PasswordChangedDeps, account: Account): Promise<void> {
  await deps.sessions.endAllFor(account.id);
  const ended = await deps.endSignIns(account.id);
  const now = deps.clock();
  for (const grantId of ended) await deps.appLinks.revoke(grantId, now);
  if (!account.email) return;
  await deps.mailer.send({
    to: account.email,
    subject: 'Your password was changed',
    text: [
      `Hello ${account.displayName},`,
      '',
      `The password of your ${deps.siteName} patient portal account ${account.username} was just changed with a reset code.`,
      'Every sign-in to the account has ended: other browsers and devices must sign in again with the new password.',
      '',
      'Apps connected to your health records keep their access: a new password does not disconnect them.',
      `See them, and remove any you do not recognise: ${deps.publicUrl}/portal/apps`,
      '',
      `If you did not change your password, reset it again at ${deps.publicUrl}/portal/forgot and check your connected apps.`,
    ].join('\n'),
  });
}
