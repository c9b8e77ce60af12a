// The connected-apps page: every app with access to a record the signed-in person controls, what it may read, what
// it did read, and the controls to narrow its access or remove it at once.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppLink } from '../store/app-links.js';
import type { StoredAuditEvent } from '../store/audit-log.js';
import type { AccessiblePatient, PortalAccount } from './account-directory.js';
import { previewCounts, recordReach } from './consent.js';
import { dataKindText, groupsForScopes, parsePermissionForm, scopeGroups, scopesForApproval, type PermissionGroupKey } from './permissions.js';
import { PASSWORD_CHANGED_NOTICE } from './password-changed.js';
import { SESSION_COOKIE, type PortalDeps } from './portal-deps.js';
import { recordNarrowed } from './security-events.js';
import { clientApp, labelFor, personRelationship } from './presenters.js';
import { renderConnectedApps, renderMessage, type AccessLogEntry, type ConnectedAppModel } from './views.js';

type Form = Record<string, string | string[] | undefined>;

const ACTION_TEXT: Readonly<Record<string, string>> = { read: 'Read', vread: 'Read', search: 'Searched', history: 'Read history', everything: 'Read the whole record', create: 'Added', update: 'Changed', delete: 'Deleted' };
/** What the page says after an action that came back to it (?notice=…). */
const NOTICES: Readonly<Record<string, string>> = {
  removed: 'Access was removed. The app can no longer see the record.',
  changed: 'Saved. The app now sees only what is ticked.',
  'password-changed': PASSWORD_CHANGED_NOTICE,
};

export async function appsRoutes(app: FastifyInstance, deps: PortalDeps): Promise<void> {
  const site = { siteName: deps.siteName };
  const html = (reply: FastifyReply, status: number, body: string) => reply.code(status).type('text/html; charset=utf-8').send(body);

  /** The signed-in account, or a redirect to sign in (saying so when the session ran out). */
  const signedIn = async (req: FastifyRequest, reply: FastifyReply): Promise<PortalAccount | undefined> => {
    const s = await deps.sessions.lookup(req.cookies[SESSION_COOKIE]);
    const account = s.state === 'active' ? await deps.directory.findAccount(s.accountId) : undefined;
    if (!account) {
      if (s.state === 'expired') reply.clearCookie(SESSION_COOKIE, { path: '/' });
      void reply.redirect(`/portal/login?next=/portal/apps${s.state === 'expired' ? '&expired=1' : ''}`, 303);
    }
    return account;
  };
  /** A live link to a record this account controls, or undefined. */
  const controlledLink = async (account: PortalAccount, grantId: string): Promise<{ link: AppLink; record: AccessiblePatient } | undefined> => {
    const link = await deps.appLinks.find(grantId);
    if (!link || link.revokedAt !== null) return undefined;
    const record = (await deps.directory.patientsFor(account.accountId)).find((p) => p.id === link.patientId);
    return record && { link, record };
  };

  app.get<{ Querystring: { notice?: string } }>('/portal/apps', async (req, reply) => {
    const account = await signedIn(req, reply);
    if (!account) return reply;
    const records = await deps.directory.patientsFor(account.accountId);
    const byId = new Map(records.map((r) => [r.id, r]));
    const links = (await deps.appLinks.listForPatients([...byId.keys()])).filter((l) => l.revokedAt === null);
    // Counted once per record, over the groups any of its apps may see; only types the record allows this account
    // are counted (a parent must not learn how many confidential entries a teenager's record holds).
    const counts = new Map<string, Map<PermissionGroupKey, number>>();
    for (const [patientId, record] of byId) {
      const granted = groupsForScopes(links.filter((l) => l.patientId === patientId).flatMap((l) => l.scope.split(' ')));
      if (granted.length) counts.set(patientId, await previewCounts(deps.resources, patientId, granted, recordReach(record.allowedTypes)));
    }
    const apps: ConnectedAppModel[] = [];
    for (const link of links) {
      const record = byId.get(link.patientId)!;
      const client = await deps.provider.Client.find(link.clientId);
      const events = await deps.auditLog.listForGrant(link.grantId, 25);
      const person = { name: record.name, relationship: personRelationship(record.relationship) };
      const recordCounts = counts.get(link.patientId);
      apps.push({
        app: clientApp(client, link.clientId),
        patient: person,
        groups: groupsForScopes(link.scope.split(' ')).map((group) => {
          const count = recordCounts?.get(group.key);
          return { group: labelFor(group, person), granted: true, ...(count !== undefined ? { count } : {}) };
        }),
        since: new Date(link.createdAt),
        ...(link.lastUsedAt !== null ? { lastUsed: new Date(link.lastUsedAt) } : {}),
        ...(endOf(link.expiresAt, record.endsAt) !== undefined ? { expires: new Date(endOf(link.expiresAt, record.endsAt)!) } : {}),
        removeAction: `/portal/apps/${encodeURIComponent(link.grantId)}/remove`,
        changeAction: `/portal/apps/${encodeURIComponent(link.grantId)}/change`,
        accessLog: events.map((e) => logEntry(e, record.name)),
      });
    }
    const notice = req.query.notice === undefined ? undefined : NOTICES[req.query.notice];
    return html(
      reply,
      200,
      renderConnectedApps({ ...site, csrfToken: reply.generateCsrf(), apps, signOutAction: '/portal/logout', accountName: account.name, ...(notice ? { notice } : {}) }),
    );
  });

  app.post<{ Params: { grantId: string } }>('/portal/apps/:grantId/remove', { preHandler: app.csrfProtection }, async (req, reply) => {
    const account = await signedIn(req, reply);
    if (!account) return reply;
    const found = await controlledLink(account, req.params.grantId);
    if (!found) return html(reply, 404, renderMessage({ ...site, title: 'Not found', text: 'That app is not connected to a record you manage.', tone: 'error' }));
    await deps.revokeGrant(found.link.grantId, { reason: 'removed-in-portal', actor: account.username });
    await deps.appLinks.revoke(found.link.grantId, deps.clock());
    return reply.redirect('/portal/apps?notice=removed', 303);
  });

  app.post<{ Params: { grantId: string }; Body: Form }>('/portal/apps/:grantId/change', { preHandler: app.csrfProtection }, async (req, reply) => {
    const account = await signedIn(req, reply);
    if (!account) return reply;
    const found = await controlledLink(account, req.params.grantId);
    if (!found) return html(reply, 404, renderMessage({ ...site, title: 'Not found', text: 'That app is not connected to a record you manage.', tone: 'error' }));
    const current = found.link.scope.split(' ').filter(Boolean);
    const { keptGroupKeys } = parsePermissionForm(req.body);
    const { granted, dropped } = scopesForApproval(current, keptGroupKeys, recordReach(found.record.allowedTypes));
    // Nothing left to see: that is removing the app.
    if (!granted.some((s) => scopeGroups(s).length)) {
      await deps.revokeGrant(found.link.grantId, { reason: 'removed-in-portal', actor: account.username });
      await deps.appLinks.revoke(found.link.grantId, deps.clock());
      return reply.redirect('/portal/apps?notice=removed', 303);
    }
    const grant = await deps.provider.Grant.find(found.link.grantId);
    if (!grant) return html(reply, 404, renderMessage({ ...site, title: 'Not found', text: 'That app is no longer connected.', tone: 'error' }));
    const droppedResource = dropped.filter((s) => s.includes('/'));
    const addedResource = granted.filter((s) => s.includes('/') && !current.includes(s));
    if (droppedResource.length) grant.rejectResourceScope(deps.fhirBaseUrl, droppedResource.join(' '));
    if (addedResource.length) grant.addResourceScope(deps.fhirBaseUrl, addedResource.join(' '));
    const droppedOidc = dropped.filter((s) => !s.includes('/'));
    if (droppedOidc.length) grant.rejectOIDCScope(droppedOidc.join(' '));
    await grant.save();
    if (droppedOidc.includes('offline_access')) await deps.provider.RefreshToken.adapter.revokeByGrantId(found.link.grantId);
    await deps.appLinks.updateScope(found.link.grantId, granted.join(' '));
    // Live tokens of the grant are re-read with the narrower scope on every instance; refreshes carry it too.
    await deps.narrowGrant(found.link.grantId, granted.join(' '));
    await recordNarrowed(deps, account, found.link, { granted, dropped });
    return reply.redirect('/portal/apps?notice=changed', 303);
  });
}

/** Access ends at the chosen duration or when the proxy access it came through ends, whichever is first. */
function endOf(linkExpiry: number | null, proxyEnd: number | undefined): number | undefined {
  const ends = [linkExpiry ?? undefined, proxyEnd].filter((x): x is number => x !== undefined);
  return ends.length ? Math.min(...ends) : undefined;
}

function logEntry(e: StoredAuditEvent, patientName: string): AccessLogEntry {
  return { time: new Date(e.at), patientName, dataKind: dataKindText(e.resourceType), action: `${ACTION_TEXT[e.interaction] ?? e.interaction}${e.status >= 400 ? ' (refused)' : ''}` };
}
