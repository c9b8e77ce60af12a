// The authorization interaction: sign in, choose whose record, approve (possibly less than asked), or deny.
// Minimal pages for now; the patient portal issue replaces the views, not this flow.
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import type { SmartContextStore } from '../store/smart-context.js';
import type { DemoAccountDirectory } from './demo-accounts.js';
import { escapeHtml, page } from './html.js';

export interface InteractionOptions {
  readonly provider: Provider;
  readonly accounts: DemoAccountDirectory;
  readonly contexts: SmartContextStore;
  readonly smartStyleUrl: string;
}

type Form = Record<string, string | string[] | undefined>;
const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

export async function interactionPlugin(app: FastifyInstance, opts: InteractionOptions): Promise<void> {
  const { provider, accounts, contexts } = opts;
  await app.register(formbody);

  app.addHook('onSend', async (_req, reply) => {
    reply.header('cache-control', 'no-store').header('x-frame-options', 'DENY').header('content-security-policy', "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'");
  });

  const details = (req: FastifyRequest, reply: FastifyReply) => provider.interactionDetails(req.raw, reply.raw);
  const finish = async (req: FastifyRequest, reply: FastifyReply, result: Record<string, unknown>) => {
    const to = await provider.interactionResult(req.raw, reply.raw, result, { mergeWithLastSubmission: true });
    return reply.redirect(to, 303);
  };

  app.get<{ Params: { uid: string } }>('/interaction/:uid', async (req, reply) => {
    const d = await details(req, reply);
    const client = await provider.Client.find(String(d.params.client_id));
    const appName = escapeHtml(client?.clientName ?? d.params.client_id);
    const action = `/interaction/${escapeHtml(d.uid)}`;
    reply.type('text/html; charset=utf-8');
    if (d.prompt.name === 'login') {
      return page(`Sign in — ${appName}`, `<h1>Sign in</h1><p><strong>${appName}</strong> wants to connect to your health record.</p>
<form method="post" action="${action}/login"><label for="username">Username</label> <input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form>`);
    }
    const account = await accounts.findAccount(String(d.session?.accountId));
    if (d.prompt.name === 'patient_select') {
      const choices = account?.patients ?? [];
      return page(`Whose record — ${appName}`, `<h1>Whose record should ${appName} see?</h1><form method="post" action="${action}/patient"><fieldset><legend>Choose a person</legend>
${choices.map((p, i) => `<label><input type="radio" name="patient" value="${escapeHtml(p.id)}"${i === 0 ? ' checked' : ''}> ${escapeHtml(p.name)} (${escapeHtml(p.relationship === 'self' ? 'you' : p.relationship)})</label>`).join('\n')}
</fieldset><button type="submit">Continue</button></form>`);
    }
    const requested = requestedScopes(d.prompt.details);
    return page(`Allow access — ${appName}`, `<h1>Allow ${appName} to access your record?</h1><form method="post" action="${action}/consent"><fieldset><legend>Permissions</legend>
${requested.map((s) => `<label><input type="checkbox" name="scope" value="${escapeHtml(s)}" checked> ${escapeHtml(s)}</label>`).join('\n')}
</fieldset><button type="submit" name="decision" value="allow">Allow Access</button> <button type="submit" name="decision" value="deny">Deny</button></form>`);
  });

  app.post<{ Params: { uid: string }; Body: Form }>('/interaction/:uid/login', async (req, reply) => {
    const d = await details(req, reply);
    if (d.prompt.name !== 'login') return reply.code(400).type('text/html; charset=utf-8').send(page('Error', '<p>This step is already done.</p>'));
    const account = await accounts.authenticate(String(req.body.username ?? ''), String(req.body.password ?? ''));
    if (!account) {
      reply.type('text/html; charset=utf-8').code(401);
      return page('Sign in', `<h1>Sign in</h1><p role="alert">The username or password is not right.</p><p><a href="/interaction/${escapeHtml(d.uid)}">Try again</a></p>`);
    }
    return finish(req, reply, { login: { accountId: account.accountId, remember: false } });
  });

  app.post<{ Params: { uid: string }; Body: Form }>('/interaction/:uid/patient', async (req, reply) => {
    const d = await details(req, reply);
    const account = await accounts.findAccount(String(d.session?.accountId));
    const patient = String(req.body.patient ?? '');
    if (d.prompt.name !== 'patient_select' || !account?.patients.some((p) => p.id === patient)) {
      return reply.code(403).type('text/html; charset=utf-8').send(page('Not allowed', '<p>You cannot share that record.</p>'));
    }
    return finish(req, reply, { patient_select: { patient } });
  });

  app.post<{ Params: { uid: string }; Body: Form }>('/interaction/:uid/consent', async (req, reply) => {
    const d = await details(req, reply);
    if (d.prompt.name !== 'consent') return reply.code(400).type('text/html; charset=utf-8').send(page('Error', '<p>This step is already done.</p>'));
    if (req.body.decision !== 'allow') {
      return finish(req, reply, { error: 'access_denied', error_description: 'The user denied access' });
    }
    const accountId = String(d.session?.accountId);
    const account = await accounts.findAccount(accountId);
    const approved = new Set(list(req.body.scope));
    const prompt = d.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    const grant = new provider.Grant({ accountId, clientId: String(d.params.client_id) });
    for (const s of prompt.missingOIDCScope ?? []) approved.has(s) ? grant.addOIDCScope(s) : grant.rejectOIDCScope(s);
    if (prompt.missingOIDCClaims?.length) grant.addOIDCClaims(prompt.missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(prompt.missingResourceScopes ?? {})) {
      const kept = scopes.filter((s) => approved.has(s));
      const dropped = scopes.filter((s) => !approved.has(s));
      if (kept.length) grant.addResourceScope(resource, kept.join(' '));
      if (dropped.length) grant.rejectResourceScope(resource, dropped.join(' '));
    }
    const launchId = typeof d.params.launch === 'string' ? d.params.launch : undefined;
    let patient = (d.lastSubmission as { patient_select?: { patient?: string } } | undefined)?.patient_select?.patient;
    let encounter: string | undefined;
    if (launchId) {
      const launch = await contexts.findLaunch(launchId);
      // A launch is single use: the first authorization to complete with it wins.
      if (!launch || !(await contexts.useLaunch(launchId))) return finish(req, reply, { error: 'invalid_request', error_description: 'The launch was already used or has expired' });
      patient = launch.patient;
      encounter = launch.encounter ?? undefined;
    }
    const grantId = await grant.save();
    await contexts.save(grantId, {
      ...(patient ? { patient } : {}),
      ...(encounter ? { encounter, fhirContext: [{ reference: `Encounter/${encounter}` }] } : {}),
      ...(account ? { fhirUser: account.fhirUser } : {}),
      // A standalone app shows its own banner; inside an EHR the EHR already shows the patient.
      needPatientBanner: !launchId,
      smartStyleUrl: opts.smartStyleUrl,
    });
    return finish(req, reply, { consent: { grantId } });
  });
}

function requestedScopes(details: unknown): string[] {
  const d = details as { missingOIDCScope?: string[]; missingResourceScopes?: Record<string, string[]> };
  return [...new Set([...(d.missingOIDCScope ?? []), ...Object.values(d.missingResourceScopes ?? {}).flat()])];
}
