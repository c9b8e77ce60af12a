// Portal pages outside an app's authorization: sign in and out, sign-up (with an activation code, or for adults by
// matching their record), forgotten passwords, and the sandbox mailbox.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { afterPasswordReset } from './password-changed.js';
import { SESSION_COOKIE, type PortalDeps } from './portal-deps.js';
import { recordReset, recordResetRequest, recordSignIn, recordSignOut, recordSignUp } from './security-events.js';
import { idleNotice, signInFailureDelay } from './presenters.js';
import {
  renderForgotPassword,
  renderMailbox,
  renderResetPassword,
  renderSelfSignUp,
  renderSignIn,
  renderSignUp,
  type FieldErrors,
  type SelfSignUpField,
  type SignUpField,
} from './views.js';
import { sessionCookieOptions } from './web-security.js';

type Form = Record<string, string | string[] | undefined>;
const field = (body: Form, name: string): string => {
  const v = body[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
};

/** Only our own pages are valid targets after sign-in (no open redirect). */
const safeNext = (next: unknown): string => (typeof next === 'string' && /^\/portal\/[\w/-]*$/.test(next) ? next : '/portal/apps');

export async function accountRoutes(app: FastifyInstance, deps: PortalDeps): Promise<void> {
  const site = { siteName: deps.siteName };
  const html = (reply: FastifyReply, status: number, body: string) => reply.code(status).type('text/html; charset=utf-8').send(body);
  const limited = { config: { rateLimit: { max: deps.signInRateLimit, timeWindow: 60_000 } } };
  const links = { signUpUrl: '/portal/signup', forgotPasswordUrl: '/portal/forgot', signInUrl: '/portal/login', selfSignUpUrl: '/portal/signup/self', resetPasswordUrl: '/portal/reset' };
  // A new session id at every sign-in; the one this browser carried (if any) ends, so no id outlives a sign-in.
  const startSession = async (req: FastifyRequest, reply: FastifyReply, accountId: string, to: string) => {
    await deps.sessions.end(req.cookies[SESSION_COOKIE]);
    reply.setCookie(SESSION_COOKIE, await deps.sessions.start(accountId), sessionCookieOptions(deps.secureCookies));
    return reply.redirect(to, 303);
  };

  app.get('/portal', async (_req, reply) => reply.redirect('/portal/apps', 303));

  app.get<{ Querystring: { next?: string; expired?: string; out?: string } }>('/portal/login', async (req, reply) => {
    const notice = req.query.expired ? idleNotice(deps.sessions.idleMs) : req.query.out ? 'You are signed out.' : undefined;
    const action = `/portal/login?next=${encodeURIComponent(safeNext(req.query.next))}`;
    return html(reply, 200, renderSignIn({ ...site, csrfToken: reply.generateCsrf(), action, ...links, ...(notice ? { notice } : {}) }));
  });

  app.post<{ Querystring: { next?: string }; Body: Form }>('/portal/login', { preHandler: app.csrfProtection, ...limited }, async (req, reply) => {
    const username = field(req.body, 'username');
    const result = await deps.directory.authenticate(username, field(req.body, 'password'));
    await recordSignIn(deps, req, 'portal', username, result);
    if (!result.ok) {
      await signInFailureDelay();
      const error = result.reason === 'locked' ? 'Too many attempts. Wait 15 minutes, then try again.' : 'The username or password is not right.';
      const action = `/portal/login?next=${encodeURIComponent(safeNext(req.query.next))}`;
      return html(reply, 401, renderSignIn({ ...site, csrfToken: reply.generateCsrf(), action, ...links, error, username }));
    }
    return startSession(req, reply, result.account.id, safeNext(req.query.next));
  });

  app.post('/portal/logout', { preHandler: app.csrfProtection }, async (req, reply) => {
    const session = await deps.sessions.lookup(req.cookies[SESSION_COOKIE]);
    await deps.sessions.end(req.cookies[SESSION_COOKIE]);
    if (session.state === 'active') await recordSignOut(deps, req, await deps.accounts.findById(session.accountId));
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.redirect('/portal/login?out=1', 303);
  });

  // Sign-up with the activation code the clinic gave.
  const signUpPage = (reply: FastifyReply, status: number, body: Form, errors: FieldErrors<SignUpField> = {}) =>
    html(
      reply,
      status,
      renderSignUp({
        ...site,
        csrfToken: reply.generateCsrf(),
        action: '/portal/signup',
        ...links,
        values: { activationCode: field(body, 'activationCode'), birthDate: field(body, 'birthDate'), email: field(body, 'email'), username: field(body, 'username') },
        errors,
      }),
    );
  app.get('/portal/signup', async (_req, reply) => signUpPage(reply, 200, {}));
  app.post<{ Body: Form }>('/portal/signup', { preHandler: app.csrfProtection, ...limited }, async (req, reply) => {
    const b = req.body;
    if (field(b, 'newPassword') !== field(b, 'confirmPassword')) return signUpPage(reply, 400, b, { confirmPassword: 'The two passwords are not the same.' });
    const result = await deps.activation.redeem({
      code: field(b, 'activationCode'),
      birthDate: field(b, 'birthDate'),
      username: field(b, 'username'),
      password: field(b, 'newPassword'),
      email: field(b, 'email') || null,
    });
    await recordSignUp(deps, req, 'activation-code', result);
    if (!result.ok) {
      const errors: FieldErrors<SignUpField> = {};
      for (const p of result.problems) errors[p.field === 'code' ? 'activationCode' : p.field === 'password' ? 'newPassword' : (p.field as SignUpField)] = p.message;
      return signUpPage(reply, 400, b, errors);
    }
    return startSession(req, reply, result.account.id, '/portal/apps');
  });

  // Adults without a code: their details must match exactly one record.
  const selfPage = (reply: FastifyReply, status: number, body: Form, errors: FieldErrors<SelfSignUpField> = {}) =>
    html(
      reply,
      status,
      renderSelfSignUp({
        ...site,
        csrfToken: reply.generateCsrf(),
        action: '/portal/signup/self',
        ...links,
        values: {
          givenName: field(body, 'givenName'),
          familyName: field(body, 'familyName'),
          birthDate: field(body, 'birthDate'),
          identifier: field(body, 'identifier'),
          email: field(body, 'email'),
          username: field(body, 'username'),
        },
        errors,
      }),
    );
  app.get('/portal/signup/self', async (_req, reply) => selfPage(reply, 200, {}));
  app.post<{ Body: Form }>('/portal/signup/self', { preHandler: app.csrfProtection, ...limited }, async (req, reply) => {
    const b = req.body;
    if (field(b, 'newPassword') !== field(b, 'confirmPassword')) return selfPage(reply, 400, b, { confirmPassword: 'The two passwords are not the same.' });
    const result = await deps.selfSignup.signUp({
      givenName: field(b, 'givenName'),
      familyName: field(b, 'familyName'),
      birthDate: field(b, 'birthDate'),
      identifier: field(b, 'identifier'),
      username: field(b, 'username'),
      password: field(b, 'newPassword'),
      email: field(b, 'email') || null,
    });
    await recordSignUp(deps, req, 'self', result);
    if (!result.ok) {
      const errors: FieldErrors<SelfSignUpField> = {};
      for (const p of result.problems) errors[p.field === 'identity' ? 'identifier' : p.field === 'password' ? 'newPassword' : (p.field as SelfSignUpField)] = p.message;
      return selfPage(reply, 400, b, errors);
    }
    return startSession(req, reply, result.account.id, '/portal/apps');
  });

  app.get('/portal/forgot', async (_req, reply) =>
    html(reply, 200, renderForgotPassword({ ...site, csrfToken: reply.generateCsrf(), action: '/portal/forgot', ...links })),
  );
  app.post<{ Body: Form }>('/portal/forgot', { preHandler: app.csrfProtection, ...limited }, async (req, reply) => {
    // The same answer whether or not an account matched.
    await deps.resets.requestReset(field(req.body, 'login'));
    await recordResetRequest(deps, req, field(req.body, 'login'));
    return html(reply, 200, renderForgotPassword({ ...site, csrfToken: reply.generateCsrf(), action: '/portal/forgot', ...links, sent: true }));
  });

  const resetPage = (reply: FastifyReply, status: number, body: Form, extra: { error?: string; errors?: Record<string, string> } = {}) =>
    html(
      reply,
      status,
      renderResetPassword({ ...site, csrfToken: reply.generateCsrf(), action: '/portal/reset', ...links, values: { code: field(body, 'code'), username: field(body, 'username') }, ...extra }),
    );
  app.get('/portal/reset', async (_req, reply) => resetPage(reply, 200, {}));
  app.post<{ Body: Form }>('/portal/reset', { preHandler: app.csrfProtection, ...limited }, async (req, reply) => {
    const b = req.body;
    const result = await deps.resets.resetPassword({ username: field(b, 'username'), code: field(b, 'code'), newPassword: field(b, 'newPassword') });
    await recordReset(deps, req, field(b, 'username'), result);
    if (!result.ok) {
      const codeProblem = result.problems.find((p) => p.field === 'code');
      const errors: Record<string, string> = {};
      for (const p of result.problems) if (p.field === 'password') errors.newPassword = p.message;
      return resetPage(reply, 400, b, { ...(codeProblem ? { error: codeProblem.message } : {}), errors });
    }
    await afterPasswordReset(deps, result.account);
    return startSession(req, reply, result.account.id, '/portal/apps?notice=password-changed');
  });

  const outbox = deps.outbox;
  if (outbox) {
    app.get('/dev/mailbox', async (_req, reply) => {
      const messages = await outbox.list(100);
      return html(reply, 200, renderMailbox({ ...site, messages: messages.map((m) => ({ to: m.to, subject: m.subject, time: new Date(m.createdAt), text: m.body })) }));
    });
  }
}
