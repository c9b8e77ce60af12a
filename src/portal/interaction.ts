// The authorization interaction an app sends a patient through: sign in, choose whose record, then the consent
// screen (Allow Access with what they kept ticked, or Deny). oidc-provider owns the flow; these routes render the
// pages and hand the decisions back to it.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Interaction } from 'oidc-provider';
import { STATIC_SCOPES } from '../auth/provider.js';
import { approve, offeredGroups, prefilledGroups, previewCounts, recordReach } from './consent.js';
import type { AccessiblePatient, PortalAccount } from './account-directory.js';
import { parsePermissionForm } from './permissions.js';
import { SESSION_COOKIE, type PortalDeps } from './portal-deps.js';
import { clientApp, idleNotice, labelFor, personRelationship, signInFailureDelay } from './presenters.js';
import { renderConsent, renderMessage, renderPatientPicker, renderSignIn, type AppInfo } from './views.js';
import { recordAutomaticSignIn, recordConsent, recordSignIn } from './security-events.js';
import { sessionCookieOptions, setFormActionOrigins } from './web-security.js';
import type { LaunchOptions } from '../store/smart-context.js';
import type { AccessDuration, PermissionGroupKey } from './permissions.js';

type Form = Record<string, string | string[] | undefined>;
type Params = { uid: string };

const OIDC_SCOPES = new Set<string>(STATIC_SCOPES);

export async function interactionRoutes(app: FastifyInstance, deps: PortalDeps): Promise<void> {
  const { provider, directory } = deps;
  const site = { siteName: deps.siteName };
  const html = (reply: FastifyReply, status: number, body: string) => reply.code(status).type('text/html; charset=utf-8').send(body);
  const expired = (reply: FastifyReply) =>
    html(reply, 400, renderMessage({ ...site, title: 'This link has expired', text: 'The sign-in took too long or was already finished. Go back to the app and connect again.', tone: 'error' }));

  /** The interaction of this browser, or undefined when the cookie is gone or the interaction expired. */
  const details = async (req: FastifyRequest, reply: FastifyReply): Promise<Interaction | undefined> => {
    try {
      const d = await provider.interactionDetails(req.raw, reply.raw);
      return d.uid === (req.params as Params).uid ? d : undefined;
    } catch {
      return undefined;
    }
  };
  const finish = async (req: FastifyRequest, reply: FastifyReply, result: Record<string, unknown>) => {
    const to = await provider.interactionResult(req.raw, reply.raw, result, { mergeWithLastSubmission: true });
    return reply.redirect(to, 303);
  };
  const appOf = async (d: Interaction): Promise<AppInfo & { redirectOrigins: string[] }> => {
    const client = await provider.Client.find(String(d.params.client_id));
    const redirect = typeof d.params.redirect_uri === 'string' ? d.params.redirect_uri : undefined;
    return { ...clientApp(client, String(d.params.client_id)), redirectOrigins: redirect ? [new URL(redirect).origin] : [] };
  };
  const requested = (d: Interaction) => String(d.params.scope ?? '').split(' ').filter(Boolean);
  const launchOf = async (d: Interaction) => (typeof d.params.launch === 'string' ? deps.contexts.findLaunch(d.params.launch) : undefined);
  const launchPatient = async (d: Interaction) => (await launchOf(d))?.patient;
  /** What the sandbox simulator decided in advance for this launch; nothing outside sandbox mode. */
  const launchOptions = async (d: Interaction): Promise<LaunchOptions | undefined> => (deps.sandbox ? (await launchOf(d))?.options : undefined);
  const selectedPatient = (d: Interaction) => (d.lastSubmission as { patient_select?: { patient?: string } } | undefined)?.patient_select?.patient;

  /** Whose record this authorization is about, and what the signed-in person may share of it. */
  const recordFor = async (d: Interaction, account: PortalAccount): Promise<AccessiblePatient | undefined> => {
    const fromLaunch = await launchPatient(d);
    if (fromLaunch) {
      // An EHR launch names the patient; a clinician reaches every record, a patient only their own and proxied ones.
      if (account.role === 'clinician') {
        const p = await deps.patients.get(fromLaunch);
        return p && { id: p.id, name: p.name, relationship: 'adult-proxy', allowedTypes: 'all' };
      }
      return directory.accessTo(account.accountId, fromLaunch);
    }
    const chosen = selectedPatient(d) ?? account.patientId ?? undefined;
    return chosen ? directory.accessTo(account.accountId, chosen) : undefined;
  };

  const signInPage = (d: Interaction, appName: string, csrfToken: string, extra: { error?: string; notice?: string; username?: string } = {}) =>
    renderSignIn({ ...site, csrfToken, action: `/interaction/${d.uid}/login`, appName, signUpUrl: '/portal/signup', forgotPasswordUrl: '/portal/forgot', ...extra });

  app.get<{ Params: Params }>('/interaction/:uid', async (req, reply) => {
    const d = await details(req, reply);
    if (!d) return expired(reply);
    const app_ = await appOf(d);
    setFormActionOrigins(reply, app_.redirectOrigins);
    const csrfToken = reply.generateCsrf();

    if (d.prompt.name === 'login') {
      // The simulator's "sign in automatically as": the sandbox stands in for the EHR's own signed-in user.
      const signInAs = (await launchOptions(d))?.signInAs;
      const automatic = signInAs ? await directory.findAccount(signInAs) : undefined;
      if (automatic) {
        await recordAutomaticSignIn(deps, req, automatic, String(d.params.client_id));
        return finish(req, reply, { login: { accountId: automatic.accountId } });
      }
      // Already signed in to the portal in this browser: no second sign-in.
      const session = await deps.sessions.lookup(req.cookies[SESSION_COOKIE]);
      if (session.state === 'active' && (await directory.findAccount(session.accountId))) return finish(req, reply, { login: { accountId: session.accountId } });
      return html(reply, 200, signInPage(d, app_.name, csrfToken, session.state === 'expired' ? { notice: idleNotice(deps.sessions.idleMs) } : {}));
    }
    const account = await directory.findAccount(String(d.session?.accountId));
    if (!account) return expired(reply);

    if (d.prompt.name === 'patient_select') {
      const choices = await directory.patientsFor(account.accountId);
      if (!choices.length) {
        return html(reply, 403, renderMessage({ ...site, title: 'No record to share', text: 'There is no health record on this account that an app can be connected to.', tone: 'error' }));
      }
      // One record: nothing to choose.
      if (choices.length === 1) return finish(req, reply, { patient_select: { patient: choices[0]!.id } });
      return html(
        reply,
        200,
        renderPatientPicker({
          ...site,
          csrfToken,
          action: `/interaction/${d.uid}/patient`,
          appName: app_.name,
          patients: choices.map((p) => ({ id: p.id, name: p.name, relationship: personRelationship(p.relationship) })),
        }),
      );
    }

    const record = await recordFor(d, account);
    const wanted = requested(d);
    const offered = offeredGroups(wanted, record?.allowedTypes ?? 'all');
    // The simulator's "skip the consent page": decided as the patient would with the page (exactly what was asked, less
    // what the drill unticks), through the same decision as the form.
    const preset = await launchOptions(d);
    if (preset?.consent === 'deny') return decide(req, reply, d, { decision: 'deny' });
    if (preset?.consent === 'allow') {
      const untick = new Set(preset.untick ?? []);
      const kept = new Set(offered.map((g) => g.key).filter((k) => !untick.has(k)));
      return decide(req, reply, d, { decision: 'allow', keptGroupKeys: kept, duration: 'forever' });
    }
    const counts = record ? await previewCounts(deps.resources, record.id, offered, recordReach(record.allowedTypes)) : new Map();
    const earlier = record ? (await deps.appLinks.listForAccount(account.accountId, { includeRevoked: true })).find((l) => l.clientId === String(d.params.client_id) && l.patientId === record.id) : undefined;
    const ticked = prefilledGroups(offered, earlier?.scope);
    const patients = record && record.relationship !== 'self' ? await directory.patientsFor(account.accountId) : [];
    const person = record ? { name: record.name, relationship: personRelationship(record.relationship) } : { name: account.name, relationship: 'self' as const };
    return html(
      reply,
      200,
      renderConsent({
        ...site,
        csrfToken,
        action: `/interaction/${d.uid}/consent`,
        app: app_,
        patient: person,
        ...(patients.length > 1 && !d.params.launch ? { changePatientUrl: `/interaction/${d.uid}/change-patient` } : {}),
        groups: offered.map((group) => ({ group: labelFor(group, person), checked: ticked.has(group.key), ...(counts.has(group.key) ? { count: counts.get(group.key) } : {}) })),
        duration: earlier?.expiresAt === null && earlier.scope.split(' ').includes('offline_access') ? 'forever' : 'session',
      }),
    );
  });

  app.post<{ Params: Params; Body: Form }>(
    '/interaction/:uid/login',
    { preHandler: app.csrfProtection, config: { rateLimit: { max: deps.signInRateLimit, timeWindow: 60_000 } } },
    async (req, reply) => {
      const d = await details(req, reply);
      if (!d || d.prompt.name !== 'login') return expired(reply);
      const username = String(req.body.username ?? '');
      const result = await directory.authenticate(username, String(req.body.password ?? ''));
      await recordSignIn(deps, req, 'authorization', username, result, String(d.params.client_id));
      if (!result.ok) {
        await signInFailureDelay();
        const app_ = await appOf(d);
        setFormActionOrigins(reply, app_.redirectOrigins);
        const error = result.reason === 'locked' ? 'Too many attempts. Wait 15 minutes, then try again.' : 'The username or password is not right.';
        return html(reply, 401, signInPage(d, app_.name, reply.generateCsrf(), { error, username }));
      }
      // A new portal session id at sign-in; the one this browser carried ends (no id outlives a sign-in).
      await deps.sessions.end(req.cookies[SESSION_COOKIE]);
      const sid = await deps.sessions.start(result.account.id);
      reply.setCookie(SESSION_COOKIE, sid, sessionCookieOptions(deps.secureCookies));
      return finish(req, reply, { login: { accountId: result.account.id } });
    },
  );

  // "Choose another record" on the consent page: back to the picker.
  app.get<{ Params: Params }>('/interaction/:uid/change-patient', async (req, reply) => {
    const d = await details(req, reply);
    if (!d || !d.session?.accountId) return expired(reply);
    return finish(req, reply, { patient_select: {} });
  });

  app.post<{ Params: Params; Body: Form }>('/interaction/:uid/patient', { preHandler: app.csrfProtection }, async (req, reply) => {
    const d = await details(req, reply);
    if (!d || d.prompt.name !== 'patient_select' || !d.session?.accountId) return expired(reply);
    const patient = String(req.body.patient ?? '');
    if (!(await directory.accessTo(String(d.session.accountId), patient))) {
      return html(reply, 403, renderMessage({ ...site, title: 'Not allowed', text: 'You cannot share that record.', tone: 'error' }));
    }
    return finish(req, reply, { patient_select: { patient } });
  });

  app.post<{ Params: Params; Body: Form }>('/interaction/:uid/consent', { preHandler: app.csrfProtection }, async (req, reply) => {
    const d = await details(req, reply);
    if (!d || d.prompt.name !== 'consent') return expired(reply);
    if (req.body.decision !== 'allow') return decide(req, reply, d, { decision: 'deny' });
    return decide(req, reply, d, { decision: 'allow', ...parsePermissionForm(req.body) });
  });

  /** The patient's answer on the consent page (or the simulator's, decided in advance): a grant, or access_denied. */
  async function decide(req: FastifyRequest, reply: FastifyReply, d: Interaction, answer: ConsentAnswer) {
    if (answer.decision !== 'allow') {
      const who = await directory.findAccount(String(d.session?.accountId));
      await recordConsent(deps, 'denied', { account: who, clientId: String(d.params.client_id), patientId: selectedPatient(d) ?? (await launchPatient(d)), requested: requested(d) });
      return finish(req, reply, { error: 'access_denied', error_description: 'The user denied access' });
    }
    const account = await directory.findAccount(String(d.session?.accountId));
    if (!account) return expired(reply);
    const record = await recordFor(d, account);
    const launchId = typeof d.params.launch === 'string' ? d.params.launch : undefined;
    if (!record && (launchId || selectedPatient(d))) {
      return html(reply, 403, renderMessage({ ...site, title: 'Not allowed', text: 'You cannot share that record.', tone: 'error' }));
    }
    const wanted = requested(d);
    const now = deps.clock();
    const { keptGroupKeys, duration } = answer;
    const allowedTypes = record?.allowedTypes ?? 'all';
    const approval = approve(wanted, offeredGroups(wanted, allowedTypes), keptGroupKeys, duration, now, allowedTypes);

    let encounter: string | undefined;
    let options: LaunchOptions | undefined;
    if (launchId) {
      const launch = await deps.contexts.findLaunch(launchId);
      // A launch is single use: the first authorization to complete with it wins.
      if (!launch || !(await deps.contexts.useLaunch(launchId))) return finish(req, reply, { error: 'invalid_request', error_description: 'The launch was already used or has expired' });
      encounter = launch.encounter ?? undefined;
      options = deps.sandbox ? launch.options : undefined;
    }

    const clientId = String(d.params.client_id);
    const grant = new provider.Grant({ accountId: account.accountId, clientId });
    const oidc = approval.scopes.filter((s) => OIDC_SCOPES.has(s));
    if (oidc.length) grant.addOIDCScope(oidc.join(' '));
    // The FHIR resource server is asked for every requested scope (SMART mixes them in one list), so the grant for
    // it holds the whole approved list; tokens for it then carry exactly that.
    if (approval.scopes.length) grant.addResourceScope(deps.fhirBaseUrl, approval.scopes.join(' '));
    const claims = (d.prompt.details as { missingOIDCClaims?: string[] }).missingOIDCClaims;
    if (claims?.length && oidc.includes('openid')) grant.addOIDCClaims(claims);
    const grantId = await grant.save();
    if (launchId) await deps.contexts.setLaunchGrant(launchId, grantId);
    // The request now asks for what the patient kept: narrowed (granular) scopes replace the ones they came from, so
    // the authorization code and its tokens carry exactly the approved scopes.
    d.params.scope = approval.scopes.join(' ');
    await d.save(Math.max(1, (d.exp ?? 0) - Math.floor(Date.now() / 1000)));

    await deps.contexts.save(grantId, {
      ...(record ? { patient: record.id } : {}),
      ...(encounter ? { encounter, fhirContext: [{ reference: `Encounter/${encounter}` }] } : {}),
      fhirUser: account.fhirUser,
      // A standalone app shows its own banner; inside an EHR the EHR already shows the patient.
      needPatientBanner: !launchId,
      smartStyleUrl: deps.smartStyleUrl,
      requestedScope: wanted.join(' '),
      ...(options ? { launchId } : {}),
      ...(options?.accessTokenTtl ? { accessTokenTtl: options.accessTokenTtl } : {}),
    });
    if (record && account.role === 'patient') {
      await deps.appLinks.save({
        grantId,
        accountId: account.accountId,
        clientId,
        patientId: record.id,
        proxyRelationId: record.proxyRelationId ?? null,
        scope: approval.scopes.join(' '),
        createdAt: now,
        expiresAt: approval.expiresAt ?? null,
      });
      await notifyNewLink(deps, account, record, (await appOf(d)).name).catch((err: unknown) => req.log.warn({ err }, 'new-link e-mail failed'));
    }
    await recordConsent(deps, 'given', { account, clientId, patientId: record?.id, grantId, requested: wanted, granted: approval.scopes, duration });
    return finish(req, reply, { consent: { grantId } });
  }
}

type ConsentAnswer = { decision: 'deny' } | { decision: 'allow'; keptGroupKeys: ReadonlySet<PermissionGroupKey>; duration: AccessDuration };

/** "Told at once": a new link mails the account holder, with the way to undo it. */
async function notifyNewLink(deps: PortalDeps, account: PortalAccount, record: AccessiblePatient, appName: string): Promise<void> {
  if (!account.email) return;
  const whose = record.relationship === 'self' ? 'your' : `${record.name}'s`;
  await deps.mailer.send({
    to: account.email,
    subject: `${appName} can now see ${whose} health record`,
    text: [
      `${appName} can now see ${whose} health record at ${deps.siteName}.`,
      '',
      `Not you, or changed your mind? Remove access: ${deps.publicUrl}/portal/apps`,
    ].join('\n'),
  });
}
