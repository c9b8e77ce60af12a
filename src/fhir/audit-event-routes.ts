// GET /fhir/AuditEvent and /fhir/AuditEvent/{id}: the audit trail (every FHIR access and security event) as FHIR
// AuditEvent, read from the audit store, never from the resources table and never written through the API. Mounted
// inside the FHIR plugin, so the bearer check, CORS and the OperationOutcome error handler are the API's own.
//
// Who may read it: a token holding system/AuditEvent.rs (or v1 system/AuditEvent.read) by name. The trail is security
// data about every patient and every account, so no wildcard reaches it (system/*.rs is what population-health and
// bulk-export clients hold), and patient/ and user/ scopes never do: a patient sees their own record's accesses on
// the portal's connected-apps page instead.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessGrant } from '../auth/access.js';
import type { Operation } from '../auth/scopes.js';
import type { AuditQuery, AuditRecord } from '../store/audit-log.js';
import { holdUntilAudited, type AccessRecorder, type AuditedInteraction } from './audit.js';
import { auditEventResource, parseAuditSearch } from './audit-event.js';
import { FHIR_JSON } from './negotiation.js';
import { FhirError, forbidden, notFound, notSupported, operationOutcome, unsupportedMediaType } from './outcome.js';
import { queryPairs } from './plugin.js';

export interface AuditTrailReader {
  find(id: number): Promise<AuditRecord | undefined>;
  search(q: AuditQuery): Promise<AuditRecord[]>;
}

export interface AuditEventRouteOptions {
  readonly trail: AuditTrailReader;
  readonly fhirBaseUrl: string;
  /** How AuditEvent.source names this server */
  readonly observer: string;
  /** Reading the trail is a FHIR access too, and is recorded like any other */
  readonly audit?: AccessRecorder;
}

const TYPE = 'AuditEvent';

/** The scopes that name AuditEvent for this operation: system context, no granular filter. */
function auditScopes(grant: AccessGrant, op: Operation) {
  return grant.scopes.filter((s) => s.context === 'system' && s.type === TYPE && s.operations.has(op));
}

function requireAuditScope(grant: AccessGrant | undefined, op: Operation): void {
  if (!grant) throw new FhirError(401, [{ severity: 'error', code: 'login', diagnostics: 'An access token is required' }]);
  const named = auditScopes(grant, op);
  if (named.some((s) => !s.query.length)) return;
  const verb = op === 'r' ? 'Reading' : 'Searching';
  const held = grant.scopes.map((s) => s.raw).join(' ') || '(no resource scopes)';
  const why = named.length
    ? `${named.map((s) => s.raw).join(', ')} has a filter, which AuditEvent does not support`
    : 'the audit trail is security data, reached only by a scope that names it: system/*.rs, patient/ and user/ scopes do not';
  throw forbidden(`${verb} AuditEvent needs system/AuditEvent.rs (or system/AuditEvent.read); ${why}; this token holds: ${held}`);
}

export function auditEventRoutes(app: FastifyInstance, opts: AuditEventRouteOptions): void {
  const { trail, fhirBaseUrl: base } = opts;
  const ctx = { observer: opts.observer };
  const send = (reply: FastifyReply, status: number, body: unknown) => reply.status(status).header('content-type', FHIR_JSON).send(JSON.stringify(body));
  // Reading the trail is a FHIR access like any other: the response waits until its own event is durable (audit.ts).
  const audited = (interaction: AuditedInteraction) =>
    opts.audit
      ? {
          onSend: holdUntilAudited(opts.audit, (req, reply) => {
            const g = req.accessGrant;
            if (!g) return undefined;
            const id = (req.params as { id?: string }).id ?? null;
            return { at: Date.now(), clientId: g.clientId, grantId: g.grantId ?? null, accountId: g.accountId ?? null, patientId: g.patient ?? null, resourceType: TYPE, interaction, resourceId: id, status: reply.statusCode };
          }),
        }
      : {};

  const search = async (req: FastifyRequest, reply: FastifyReply, pairs: [string, string][]) => {
    requireAuditScope(req.accessGrant, 's');
    const strict = /handling\s*=\s*strict/i.test(String(req.headers.prefer ?? ''));
    const q = parseAuditSearch(pairs, { fhirBaseUrl: base, strict });
    // One row more than the page tells whether there is a next page.
    const rows = await trail.search({ filters: q.filters, limit: q.count + 1, ...(q.beforeId !== undefined ? { beforeId: q.beforeId } : {}) });
    const page = rows.slice(0, q.count);
    const url = (extra: [string, string][]) => `${base}/${TYPE}?${new URLSearchParams([...q.canonical, ['_count', String(q.count)], ...extra]).toString()}`;
    const link = [{ relation: 'self', url: url(q.beforeId !== undefined ? [['_cursor', String(q.beforeId)]] : []) }];
    if (rows.length > q.count) link.push({ relation: 'next', url: url([['_cursor', String(page[page.length - 1]!.id)]]) });
    const entry: unknown[] = page.map((r) => ({ fullUrl: `${base}/${TYPE}/${r.id}`, resource: auditEventResource(r, ctx), search: { mode: 'match' } }));
    if (q.warnings.length) entry.push({ resource: operationOutcome(q.warnings), search: { mode: 'outcome' } });
    return send(reply, 200, { resourceType: 'Bundle', id: randomUUID(), meta: { lastUpdated: new Date().toISOString() }, type: 'searchset', link, ...(entry.length ? { entry } : {}) });
  };

  app.get(`/${TYPE}`, audited('search'), async (req, reply) => search(req, reply, queryPairs(req.url)));
  app.post<{ Body: [string, string][] | undefined }>(`/${TYPE}/_search`, audited('search'), async (req, reply) => {
    if (req.body !== undefined && !Array.isArray(req.body)) throw unsupportedMediaType('POST _search takes a form body (application/x-www-form-urlencoded)');
    return search(req, reply, [...queryPairs(req.url), ...(req.body ?? [])]);
  });

  app.get<{ Params: { id: string } }>(`/${TYPE}/:id`, audited('read'), async (req, reply) => {
    requireAuditScope(req.accessGrant, 'r');
    const { id } = req.params;
    const row = /^\d{1,15}$/.test(id) ? await trail.find(Number(id)) : undefined;
    if (!row) throw notFound(`AuditEvent/${id} is not known`);
    const resource = auditEventResource(row, ctx);
    return send(reply.header('ETag', 'W/"1"').header('Last-Modified', new Date(row.at).toUTCString()), 200, resource);
  });

  // The trail is written by the server alone, once per event: no writes, no versions.
  const readOnly = async () => {
    throw notSupported(405, 'AuditEvent is read-only here: the server records the audit trail itself, and an event never changes');
  };
  app.post(`/${TYPE}`, readOnly);
  app.put(`/${TYPE}/:id`, readOnly);
  app.delete(`/${TYPE}/:id`, readOnly);
  app.patch(`/${TYPE}/:id`, readOnly);
  app.get(`/${TYPE}/:id/_history`, readOnly);
  app.get(`/${TYPE}/:id/_history/:vid`, readOnly);
  app.get(`/${TYPE}/_history`, readOnly);
}
