// The launch simulator: pick an app, a patient, optionally an encounter, a user to sign in as and a failure drill;
// Launch makes a real launch handle and a page to open the app from, revoke the grant mid-session or inspect its token.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DEMO_ACCOUNT_SPECS } from '../portal/demo-seed.js';
import { PERMISSION_GROUPS } from '../portal/permissions.js';
import type { LaunchOptions, StoredLaunch } from '../store/smart-context.js';
import { LaunchProblem } from './launcher.js';
import { launchOwner, ownsLaunch } from './launch-owner.js';
import { LAST_LAUNCH_COOKIE, formRateLimit, type SandboxPageDeps } from './sandbox-deps.js';
import { renderLaunchDetail, renderLaunchForm, renderSandboxMessage, type LaunchField } from './views.js';

type Form = Record<string, string | string[] | undefined>;
const one = (v: string | string[] | undefined) => (Array.isArray(v) ? (v[0] ?? '') : (v ?? '')).trim();

export const DRILLS = [
  { value: 'none', label: 'None: a normal launch', hint: 'Sign in, consent and read, as a patient would.' },
  { value: 'deny', label: 'The patient denies access', hint: 'The consent step answers Deny: the app receives error=access_denied at its redirect URI.' },
  { value: 'expire', label: 'The access token expires quickly', hint: 'Tokens of this launch live only the seconds set below; the app must refresh or ask the user to connect again.' },
  { value: 'revoke', label: 'The grant is revoked mid-session', hint: 'A normal launch; on the next page, press Revoke access now while the app runs. Its tokens stop working at once.' },
  { value: 'limited', label: 'The patient unticks a kind of data', hint: 'Everything else is allowed: the app gets 403 for the data chosen below and should say it was not shared.' },
  { value: 'wrong-aud', label: 'The aud is wrong', hint: "The app gets an iss that is not this FHIR server's base URL, so its authorization request carries the wrong aud and is refused." },
] as const;
type Drill = (typeof DRILLS)[number]['value'];
const DRILL_TEXT = new Map<string, string>(DRILLS.map((d) => [d.value, d.label]));

const DEFAULT_TOKEN_SECONDS = 20;

interface LaunchFormValues {
  readonly clientId: string;
  readonly patient: string;
  readonly encounter: string;
  readonly signInAs: string;
  readonly skipConsent: boolean;
  readonly drill: Drill;
  readonly tokenSeconds: string;
  readonly untick: string;
}

function valuesFrom(body: Form): LaunchFormValues {
  const drill = one(body.drill);
  return {
    clientId: one(body.client_id),
    patient: one(body.patient),
    encounter: one(body.encounter),
    signInAs: one(body.signInAs),
    skipConsent: one(body.skipConsent) === '1',
    drill: (DRILLS.some((d) => d.value === drill) ? drill : 'none') as Drill,
    tokenSeconds: one(body.tokenSeconds) || String(DEFAULT_TOKEN_SECONDS),
    untick: one(body.untick) || 'labs',
  };
}

export async function launchPages(app: FastifyInstance, deps: SandboxPageDeps): Promise<void> {
  const html = (reply: FastifyReply, status: number, body: string) => reply.code(status).type('text/html; charset=utf-8').send(body);

  const formPage = async (req: FastifyRequest, reply: FastifyReply, status: number, query: string, v: Partial<LaunchFormValues>, errors: Partial<Record<LaunchField, string>> = {}) => {
    const apps = (await deps.registry.list()).filter((a) => a.kind !== 'backend');
    const patients = await deps.patients.search(query);
    const selectedPatient = v.patient && patients.some((p) => p.id === v.patient) ? v.patient : patients[0]?.id;
    const users = [];
    for (const spec of DEMO_ACCOUNT_SPECS) {
      const account = await deps.directory.findAccount(spec.username);
      if (account) users.push({ accountId: account.accountId, username: spec.username, name: account.name, selected: v.signInAs === account.accountId });
    }
    const last = req.cookies[LAST_LAUNCH_COOKIE];
    return html(
      reply,
      status,
      renderLaunchForm({
        csrfToken: reply.generateCsrf(),
        query,
        ...(v.clientId ? { clientId: v.clientId } : {}),
        apps: apps.map((a) => ({ clientId: a.clientId, name: a.name, ...(a.launchUri ? { launchUri: a.launchUri } : {}), selected: a.clientId === v.clientId })),
        patients: patients.map((p) => ({
          id: p.id,
          name: p.name,
          facts: [p.age !== undefined ? `${p.age} years` : undefined, p.sex, p.birthDate ? `born ${p.birthDate}` : undefined, `Patient/${p.id}`].filter(Boolean).join(' · '),
          summary: p.summary,
          checked: p.id === selectedPatient,
        })),
        users,
        drills: DRILLS.map((d) => ({ ...d, checked: d.value === (v.drill ?? 'none') })),
        groups: PERMISSION_GROUPS.filter((g) => g.resourceType).map((g) => ({ key: g.key, label: g.label, selected: g.key === (v.untick ?? 'labs') })),
        values: { encounter: v.encounter ?? '', skipConsent: v.skipConsent ?? false, tokenSeconds: v.tokenSeconds ?? String(DEFAULT_TOKEN_SECONDS) },
        errors,
        ...(last && /^[A-Za-z0-9_-]{1,64}$/.test(last) ? { lastLaunch: last } : {}),
      }),
    );
  };

  app.get<{ Querystring: { q?: string; client_id?: string } }>('/sandbox/launch', async (req, reply) =>
    formPage(req, reply, 200, String(req.query.q ?? '').slice(0, 100), { clientId: String(req.query.client_id ?? '') }),
  );

  app.post<{ Body: Form }>('/sandbox/launches', { preHandler: app.csrfProtection, config: formRateLimit }, async (req, reply) => {
    const v = valuesFrom(req.body ?? {});
    const errors: Partial<Record<LaunchField, string>> = {};
    if (!v.clientId) errors.client_id = 'Choose the app to launch.';
    if (!v.patient) errors.patient = 'Choose a patient.';
    const seconds = Number(v.tokenSeconds);
    if (v.drill === 'expire' && !(Number.isInteger(seconds) && seconds >= 5 && seconds <= 3600)) errors.encounter = 'The token lifetime must be a whole number of seconds from 5 to 3600.';
    let signInAs: string | undefined;
    if (v.signInAs) {
      const allowed = DEMO_ACCOUNT_SPECS.some((s) => s.username === v.signInAs) ? await deps.directory.findAccount(v.signInAs) : undefined;
      if (!allowed) errors.patient = `Automatic sign-in works for the demo accounts only.`;
      else if (v.patient && allowed.role !== 'clinician' && !(await deps.directory.accessTo(allowed.accountId, v.patient))) {
        errors.patient = `${v.signInAs} cannot see Patient/${v.patient}: choose a patient they can share, dr-lee (a clinician), or nobody.`;
      } else signInAs = allowed.accountId;
    }
    if (Object.keys(errors).length) return formPage(req, reply, 400, '', v, errors);

    const options: LaunchOptions = {
      owner: launchOwner(req, reply, deps.secureCookies),
      drill: v.drill,
      ...(signInAs ? { signInAs } : {}),
      // Deny and limited access answer the consent page themselves; so does "skip the consent page".
      ...(v.drill === 'deny' ? { consent: 'deny' } : v.drill === 'limited' ? { consent: 'allow', untick: [v.untick] } : v.skipConsent ? { consent: 'allow' } : {}),
      ...(v.drill === 'expire' ? { accessTokenTtl: seconds } : {}),
    };
    try {
      const created = await deps.launcher.create({ patient: v.patient, clientId: v.clientId, ...(v.encounter ? { encounter: v.encounter } : {}), options, wrongAud: v.drill === 'wrong-aud' });
      reply.setCookie(LAST_LAUNCH_COOKIE, created.launch, { path: '/sandbox', httpOnly: true, sameSite: 'lax', secure: deps.secureCookies });
      return reply.redirect(`/sandbox/launches/${created.launch}`, 303);
    } catch (err) {
      if (!(err instanceof LaunchProblem)) throw err;
      return formPage(req, reply, 400, '', v, { [err.field]: err.message });
    }
  });

  /** A simulator launch this browser made; anyone else (even holding the launch id) gets 404. */
  const launchOr404 = async (req: FastifyRequest, reply: FastifyReply, id: string): Promise<StoredLaunch | undefined> => {
    const launch = /^[A-Za-z0-9_-]{1,64}$/.test(id) ? await deps.launcher.find(id) : undefined;
    if (!launch?.options || !ownsLaunch(req, launch)) {
      void html(reply, 404, renderSandboxMessage({ title: 'No such launch', text: 'This launch is unknown here, or was made in another browser: only the browser that pressed Launch can see it.', tone: 'error', link: { href: '/sandbox/launch', text: 'Launch simulator' } }));
      return undefined;
    }
    return launch;
  };

  app.get<{ Params: { id: string }; Querystring: { revoked?: string } }>('/sandbox/launches/:id', async (req, reply) => {
    const launch = await launchOr404(req, reply, req.params.id);
    if (!launch) return reply;
    const client = launch.clientId ? await deps.provider.Client.find(launch.clientId) : undefined;
    const grant = launch.grantId ? await deps.provider.Grant.find(launch.grantId) : undefined;
    const patientName = await deps.patients.nameOf(launch.patient);
    const state = launch.grantId
      ? grant
        ? 'Authorized: the grant is active.'
        : 'Ended: the grant was revoked.'
      : launch.expiresAt < deps.clock()
        ? 'Expired before the app used it (a launch is valid 5 minutes).'
        : launch.usedAt
          ? 'Used.'
          : 'Waiting for the app to authorize with it.';
    const created = await deps.launcher.urls(launch);
    return html(
      reply,
      200,
      renderLaunchDetail({
        csrfToken: reply.generateCsrf(),
        launch: launch.id,
        appName: client?.clientName ?? launch.clientId ?? 'any app',
        patient: launch.patient,
        patientName: patientName ?? launch.patient,
        ...(launch.encounter ? { encounter: launch.encounter } : {}),
        drill: DRILL_TEXT.get(launch.options?.drill ?? 'none') ?? 'None',
        state,
        iss: created.iss,
        query: created.query,
        ...(created.launchUrl ? { launchUrl: created.launchUrl } : {}),
        fhirBase: deps.fhirBaseUrl,
        ...(grant && launch.grantId ? { grantId: launch.grantId } : {}),
        ...(req.query.revoked ? { notice: 'Access was revoked: every token of this launch is refused from now on.' } : {}),
      }),
    );
  });

  app.post<{ Params: { id: string } }>('/sandbox/launches/:id/revoke', { preHandler: app.csrfProtection, config: formRateLimit }, async (req, reply) => {
    const launch = await launchOr404(req, reply, req.params.id);
    if (!launch) return reply;
    if (launch.grantId) {
      await deps.revokeGrant(launch.grantId);
      await deps.appLinks.revoke(launch.grantId, deps.clock());
    }
    return reply.redirect(`/sandbox/launches/${launch.id}?revoked=1`, 303);
  });
}
