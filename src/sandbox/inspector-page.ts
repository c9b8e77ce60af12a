// The token inspector page: paste an access token (or take the simulator's last launch) and see what the server's
// own records say of it and of each scope the app asked for. Sandbox only; the token itself is the key, so it never
// shows anything about a token the visitor does not hold.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clientApp } from '../portal/presenters.js';
import { ownsLaunch } from './launch-owner.js';
import { LAST_LAUNCH_COOKIE, formRateLimit, type SandboxPageDeps } from './sandbox-deps.js';
import { judgeScopes, type ClientFacts } from './token-inspector.js';
import { renderTokenInspector, type InspectionView } from './views.js';

type Form = Record<string, string | string[] | undefined>;
const one = (v: string | string[] | undefined) => (Array.isArray(v) ? (v[0] ?? '') : (v ?? '')).trim();

const STATE_TEXT: Readonly<Record<string, string>> = {
  active: 'active',
  expired: 'expired',
  revoked: 'revoked',
  unknown: 'unknown',
  'access-ended': 'no longer valid: access ended',
  'wrong-audience': 'for another audience',
};

const VERDICT_TEXT = {
  granted: 'Granted',
  unticked: 'Unticked by the patient',
  'not-allowed': 'Not allowed for this client',
  expired: 'Expired',
  revoked: 'Revoked',
  'not-understood': 'Not understood',
} as const;

const time = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString().replace('.000Z', 'Z'));

export async function inspectorPage(app: FastifyInstance, deps: SandboxPageDeps): Promise<void> {
  const html = (reply: FastifyReply, status: number, body: string) => reply.code(status).type('text/html; charset=utf-8').send(body);

  const inspect = async (token: string): Promise<InspectionView> => {
    const status = await deps.tokenStatus(token);
    const client = status.clientId ? await deps.provider.Client.find(status.clientId) : undefined;
    const md = (client?.metadata() ?? {}) as Record<string, unknown>;
    const facts: ClientFacts | undefined = client
      ? { name: clientApp(client, status.clientId!).name, grantTypes: (md.grant_types as string[] | undefined) ?? [], ...(typeof md.smart_scope === 'string' ? { allowList: md.smart_scope } : {}) }
      : undefined;
    const context = status.grantId ? await deps.contexts.get(status.grantId) : undefined;
    const rows: InspectionView['facts'][number][] = [];
    const add = (label: string, value: string | undefined, wide = false) => {
      if (value) rows.push({ label, value, ...(wide ? { wide } : {}) });
    };
    add('Client', status.clientId ? `${facts?.name ?? status.clientId} (${status.clientId})` : undefined);
    add('Kind', status.kind === 'client_credentials' ? 'Backend service token (client_credentials)' : status.kind ? 'Access token from an authorization' : undefined);
    add('Patient in context', status.patient ? `Patient/${status.patient}` : undefined);
    add('Encounter in context', status.encounter ? `Encounter/${status.encounter}` : undefined);
    add('fhirUser', status.fhirUser, true);
    add('Signed in as', status.accountId);
    add('Issued', time(status.issuedAt));
    add('Expires', time(status.expiresAt));
    add('Revoked', time(status.revokedAt));
    add('Access ends', time(status.accessEndsAt));
    const scopes = (label: string, text: string | undefined) => {
      if (text !== undefined) rows.push({ label, value: text || '(none)', wide: true, list: text.split(' ').filter(Boolean) });
    };
    scopes('Scopes in force', status.state === 'active' ? status.scope : undefined);
    scopes('Scopes as issued', status.issuedScope);
    const judged = status.state === 'unknown' ? [] : judgeScopes(status, context?.requestedScope, facts);
    return {
      stateText: STATE_TEXT[status.state] ?? status.state,
      reason: status.reason,
      facts: rows,
      scopes: judged.map((j) => ({ scope: j.scope, verdict: j.verdict, verdictText: VERDICT_TEXT[j.verdict], why: j.why })),
    };
  };

  /** The last access token of a simulator launch, only for the browser that made the launch. */
  const ownTokenOf = async (req: FastifyRequest, launchId: string): Promise<string | undefined> => {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(launchId)) return undefined;
    const launch = await deps.contexts.findLaunch(launchId);
    return launch && ownsLaunch(req, launch) ? deps.contexts.launchToken(launchId) : undefined;
  };

  app.get('/sandbox/token', async (req, reply) => {
    // The simulator remembers this browser's last launch: offer its token without copying it by hand.
    const last = req.cookies[LAST_LAUNCH_COOKIE];
    const lastLaunch = last && (await ownTokenOf(req, last)) ? last : undefined;
    return html(reply, 200, renderTokenInspector({ csrfToken: reply.generateCsrf(), token: '', ...(lastLaunch ? { lastLaunch } : {}) }));
  });

  app.post<{ Body: Form }>('/sandbox/token', { preHandler: app.csrfProtection, config: formRateLimit }, async (req, reply) => {
    const launch = one(req.body?.launch);
    let token = one(req.body?.token).replace(/^Bearer\s+/i, '');
    if (!token && launch) token = (await ownTokenOf(req, launch)) ?? '';
    const csrfToken = reply.generateCsrf();
    if (!token) {
      const error = launch ? 'That launch has no access token yet (the app has not exchanged its code), or it was made in another browser.' : 'Paste an access token to inspect.';
      return html(reply, 400, renderTokenInspector({ csrfToken, token: '', error }));
    }
    if (token.length > 4096 || !/^[\x21-\x7E]+$/.test(token)) return html(reply, 400, renderTokenInspector({ csrfToken, token: '', error: 'That is not an access token: tokens are printable characters without spaces.' }));
    return html(reply, 200, renderTokenInspector({ csrfToken, token, result: await inspect(token) }));
  });
}
