// The portal's security events, one function per kind of moment (sign-in, sign-out, sign-up, password reset, consent,
// a connected app narrowed), so each route records with one line and every event carries the same particulars. What
// a person typed is kept only when it names an account that exists: a mistyped "username" is often a password.
import type { FastifyRequest } from 'fastify';
import { networkOf, type SecurityRecorder } from '../audit/security-log.js';
import type { Account, AccountStore } from '../store/accounts.js';

export interface PortalSecurityDeps {
  readonly security: SecurityRecorder;
  readonly accounts: { readonly store: AccountStore };
}

/** Where the sign-in happened: the portal's own page, or the sign-in step of an app's authorization. */
export type SignInChannel = 'portal' | 'authorization' | 'sandbox-simulator';

const network = (req: FastifyRequest): Record<string, string> => {
  const n = networkOf(req.ip);
  return n ? { network: n } : {};
};

/** The account a typed username names, if any; nothing else of what was typed is kept. */
async function named(deps: PortalSecurityDeps, typed: string): Promise<Account | undefined> {
  const key = typed.trim();
  return key ? deps.accounts.store.findByUsername(key) : undefined;
}

export async function recordSignIn(
  deps: PortalSecurityDeps,
  req: FastifyRequest,
  via: SignInChannel,
  typedUsername: string,
  result: { readonly ok: true; readonly account: Account } | { readonly ok: false; readonly reason: 'invalid' | 'locked' },
  clientId?: string,
): Promise<void> {
  if (result.ok) {
    await deps.security.record({ event: 'user.login', actor: result.account.username, accountId: result.account.id, clientId: clientId ?? null, detail: { via, ...network(req) } });
    return;
  }
  const account = await named(deps, typedUsername);
  await deps.security.record({
    event: 'user.login',
    outcome: 'failure',
    actor: account?.username ?? null,
    accountId: account?.id ?? null,
    clientId: clientId ?? null,
    detail: { via, reason: result.reason === 'locked' ? 'locked' : account ? 'wrong-password' : 'unknown-user', ...network(req) },
  });
}

/** An account signed in without typing a password: the sandbox simulator's "sign in automatically as". */
export async function recordAutomaticSignIn(deps: PortalSecurityDeps, req: FastifyRequest, account: { readonly accountId: string; readonly username: string }, clientId: string): Promise<void> {
  await deps.security.record({ event: 'user.login', actor: account.username, accountId: account.accountId, clientId, detail: { via: 'sandbox-simulator', ...network(req) } });
}

export async function recordSignOut(deps: PortalSecurityDeps, req: FastifyRequest, account: Account | undefined): Promise<void> {
  if (!account) return;
  await deps.security.record({ event: 'user.logout', actor: account.username, accountId: account.id, detail: network(req) });
}

export async function recordSignUp(
  deps: PortalSecurityDeps,
  req: FastifyRequest,
  method: 'activation-code' | 'self',
  result: { readonly ok: true; readonly account: Account } | { readonly ok: false; readonly problems: readonly { readonly field: string }[] },
): Promise<void> {
  if (result.ok) {
    const a = result.account;
    await deps.security.record({ event: 'account.signup', actor: a.username, accountId: a.id, patientId: a.patientId, detail: { method, ...network(req) } });
    return;
  }
  const fields = [...new Set(result.problems.map((p) => p.field))].join(' ');
  await deps.security.record({ event: 'account.signup', outcome: 'failure', detail: { method, problems: fields, ...network(req) } });
}

export async function recordResetRequest(deps: PortalSecurityDeps, req: FastifyRequest, typed: string): Promise<void> {
  const account = await named(deps, typed);
  await deps.security.record({
    event: 'account.password-reset-request',
    actor: account?.username ?? null,
    accountId: account?.id ?? null,
    detail: { ...(account ? {} : { by: typed.includes('@') ? 'e-mail address' : 'unknown username' }), ...network(req) },
  });
}

export async function recordReset(
  deps: PortalSecurityDeps,
  req: FastifyRequest,
  typedUsername: string,
  result: { readonly ok: true; readonly account: Account } | { readonly ok: false; readonly problems: readonly { readonly field: string }[] },
): Promise<void> {
  const account = result.ok ? result.account : await named(deps, typedUsername);
  await deps.security.record({
    event: 'account.password-reset',
    ...(result.ok ? {} : { outcome: 'failure' as const }),
    actor: account?.username ?? null,
    accountId: account?.id ?? null,
    detail: { ...(result.ok ? {} : { problems: [...new Set(result.problems.map((p) => p.field))].join(' ') }), ...network(req) },
  });
}

export interface ConsentMoment {
  readonly account: { readonly accountId: string; readonly username: string } | undefined;
  readonly clientId: string;
  readonly patientId?: string | undefined;
  readonly grantId?: string | undefined;
  /** The scopes the app asked for and, when allowed, those granted */
  readonly requested: readonly string[];
  readonly granted?: readonly string[];
  readonly duration?: string;
  readonly preset?: boolean;
}

export async function recordConsent(deps: PortalSecurityDeps, decision: 'given' | 'denied', m: ConsentMoment): Promise<void> {
  await deps.security.record({
    event: decision === 'given' ? 'consent.given' : 'consent.denied',
    actor: m.account?.username ?? null,
    accountId: m.account?.accountId ?? null,
    clientId: m.clientId,
    patientId: m.patientId ?? null,
    grantId: m.grantId ?? null,
    detail: {
      requested: m.requested.join(' '),
      ...(m.granted ? { granted: m.granted.join(' ') } : {}),
      ...(m.duration ? { duration: m.duration } : {}),
      ...(m.preset ? { decidedBy: 'sandbox-simulator' } : {}),
    },
  });
}

export async function recordNarrowed(
  deps: PortalSecurityDeps,
  account: { readonly accountId: string; readonly username: string },
  link: { readonly grantId: string; readonly clientId: string; readonly patientId: string },
  scope: { readonly granted: readonly string[]; readonly dropped: readonly string[] },
): Promise<void> {
  await deps.security.record({
    event: 'grant.narrowed',
    actor: account.username,
    accountId: account.accountId,
    clientId: link.clientId,
    patientId: link.patientId,
    grantId: link.grantId,
    detail: { granted: scope.granted.join(' '), dropped: scope.dropped.join(' ') },
  });
}
