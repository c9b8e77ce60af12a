// The FHIR R4 API as an encapsulated Fastify plugin (mounted at /fhir): body parsers, content negotiation, the
// interaction routes and the OperationOutcome error handler. Routes only translate HTTP to FhirService calls.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { StoredResource } from '../store/resources.js';
import { historyJson, searchsetJson, type BundleLink } from './bundle.js';
import { FhirError, badRequest, internalError, notSupported, operationOutcome, unavailable, unsupportedMediaType, type Issue } from './outcome.js';
import { isDatabaseUnavailable } from '../store/db.js';
import { FHIR_JSON, checkAcceptable, checkFhirVersionParam } from './negotiation.js';
import { encodeCursor, type QueryPairs } from './search-parse.js';
import type { FhirService } from './service.js';
import type { CapabilityStatement } from 'fhir/r4.js';
import { CORS_HEADERS, answerPreflights } from './cors.js';
import type { AccessGrant } from '../auth/access.js';
import { UNRESTRICTED, accessPolicy, refuseSearchOutsideFilters, type AccessPolicy } from './access-filter.js';
import { resourceDef, type Interaction } from './definitions.js';
import { holdUntilAudited, type AccessRecorder, type AuditedInteraction } from './audit.js';
import { then, type MaybePromise } from '../maybe-promise.js';
import { patientEverything } from './everything.js';
import { docrefSearch } from './docref.js';
import { bulkRoutes } from './bulk-routes.js';
import { auditEventRoutes, type AuditTrailReader } from './audit-event-routes.js';
import { LIMITS } from '../limits.js';
import { jsonNestsDeeperThan } from './json-depth.js';
import type { BulkExportService } from '../bulk/export-service.js';

/** How the API learns who is calling. Absent only for an explicitly open server (tests of the facade alone). */
export interface FhirAuth {
  resolve(token: string): Promise<AccessGrant | undefined>;
  /** The same answer without waiting, when it is at hand (a token seen before); undefined means ask `resolve` */
  resolveCached(token: string): AccessGrant | undefined;
  /** Patients whose records of `type` a user/ scope reaches for this user; undefined means every patient (e.g. a clinician) */
  userPatients(grant: AccessGrant, type: string): Promise<readonly string[] | undefined>;
  /**
   * Why a token was refused (unknown, expired, revoked, ...), in one sentence; asked only after a refusal. Absent:
   * the 401 stays terse, as RFC 6750 expects of a production server (the sandbox sets it).
   */
  explainRefusal?(token: string): Promise<{ readonly state: string; readonly reason: string }>;
}

export interface FhirPluginOptions {
  readonly service: FhirService;
  readonly capabilityStatement: () => CapabilityStatement;
  readonly auth?: FhirAuth;
  /** Receives one event per authorized request (the audit trail patients and operators read) */
  readonly audit?: AccessRecorder;
  /** Bulk Data export ($export, status and files); needs `auth` */
  readonly bulk?: BulkExportService;
  /** The audit trail, served read-only as AuditEvent to system/AuditEvent.rs tokens; needs `auth` */
  readonly auditTrail?: { readonly reader: AuditTrailReader; readonly observer: string };
}

declare module 'fastify' {
  interface FastifyRequest {
    accessGrant?: AccessGrant;
    /** The record a request touched, when the handler learned it (e.g. the owner of a resource read by id) */
    auditPatient?: string | null;
  }
}

const PUBLIC_PATHS = new Set(['/fhir/metadata']);

type Params = { type: string; id: string; vid: string };

export async function fhirPlugin(app: FastifyInstance, opts: FhirPluginOptions): Promise<void> {
  const { service } = opts;
  const base = service.fhirBaseUrl;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/fhir+json', 'application/json', 'application/json+fhir'], { parseAs: 'string', bodyLimit: LIMITS.fhirJsonBodyBytes }, (req, body, done) => {
    try {
      checkFhirVersionParam(req.headers['content-type'] ?? '');
      if (jsonNestsDeeperThan(body as string, LIMITS.fhirJsonDepth)) throw badRequest(`The request body nests objects and arrays more than ${LIMITS.fhirJsonDepth} deep`);
      done(null, JSON.parse(body as string));
    } catch (err) {
      done(err instanceof FhirError ? err : badRequest(`The request body is not valid JSON: ${(err as Error).message}`));
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    const pairs = [...new URLSearchParams(body as string)];
    done(pairs.length > LIMITS.parameters ? badRequest(`The form has ${pairs.length} parameters; at most ${LIMITS.parameters} are accepted`) : null, pairs);
  });
  app.addContentTypeParser('*', (req, _payload, done) => {
    done(unsupportedMediaType(`Content-Type "${req.headers['content-type'] ?? ''}" is not supported; send application/fhir+json${req.url.endsWith('/_search') ? ' or, for _search, application/x-www-form-urlencoded' : ''}`));
  });

  answerPreflights(app);

  // A callback hook, and the cached token answered without a promise: this runs on every request.
  app.addHook('onRequest', (req, reply, done) => {
    reply.headers(CORS_HEADERS);
    if (req.method === 'OPTIONS') return done();
    const format = (req.query as Record<string, string | string[] | undefined>)._format;
    if (!req.routeOptions.config.ndjson) checkAcceptable(Array.isArray(format) ? format[0] : format, req.headers.accept);
    const auth = opts.auth;
    if (!auth || PUBLIC_PATHS.has(req.url.split('?')[0]!)) return done();
    const header = req.headers.authorization;
    const realm = `Bearer realm="${base}"`;
    if (!header) throw new FhirError(401, [{ severity: 'error', code: 'login', diagnostics: 'An access token is required (Authorization: Bearer ...)' }], { 'WWW-Authenticate': realm });
    const m = /^Bearer\s+([\x21-\x7E]+)$/i.exec(header);
    if (!m) return done(invalidToken(realm));
    const cached = auth.resolveCached(m[1]!);
    if (cached) {
      req.accessGrant = cached;
      return done();
    }
    auth.resolve(m[1]!).then((grant) => {
      if (!grant) return refuse(auth, m[1]!, realm, done);
      req.accessGrant = grant;
      done();
    }, done);
  });

  // Each audited route carries its own onSend hook (cheaper than looking the interaction up per request), which holds
  // the response until the request's audit event is durable (see audit.ts).
  const audit = opts.audit;
  const audited = (interaction: AuditedInteraction) => {
    if (!audit) return {};
    const onSend = holdUntilAudited(audit, (req, reply) => {
      const grant = req.accessGrant;
      if (!grant) return undefined;
      const params = req.params as Partial<Params>;
      return {
        at: Date.now(),
        clientId: grant.clientId,
        grantId: grant.grantId ?? null,
        accountId: grant.accountId ?? null,
        patientId: req.auditPatient ?? grant.patient ?? null,
        resourceType: params.type ?? '',
        interaction,
        resourceId: params.id ?? null,
        status: reply.statusCode,
      };
    });
    return { onSend };
  };

  const policies = new WeakMap<AccessGrant, Map<string, AccessPolicy>>();
  /** The constraints for this request; runs before any type routing, so an uncovered type is 403, never 404. */
  const policy = (req: FastifyRequest, type: string, interaction: Interaction): MaybePromise<AccessPolicy> => {
    const grant = req.accessGrant;
    const auth = opts.auth;
    if (!auth || !grant) return UNRESTRICTED;
    const input = { grant, type, def: resourceDef(type), interaction, fhirBaseUrl: base };
    // Only user/ scopes depend on whose records the user may see (which can change while the token lives); other
    // tokens' policies depend on the grant alone, which is immutable, so each is worked out once per cached grant.
    if (grant.scopes.some((s) => s.context === 'user')) return auth.userPatients(grant, type).then((userPatients) => accessPolicy({ ...input, userPatients }));
    // Only types we serve: the type comes from the URL, and any string would otherwise add an entry.
    if (!input.def) return accessPolicy({ ...input, userPatients: undefined });
    let known = policies.get(grant);
    if (!known) policies.set(grant, (known = new Map()));
    const key = `${type} ${interaction}`;
    let p = known.get(key);
    if (!p) known.set(key, (p = accessPolicy({ ...input, userPatients: undefined })));
    return p;
  };

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    let fhirErr: FhirError;
    if (err instanceof FhirError) fhirErr = err;
    else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      const code: Issue['code'] = err.statusCode === 415 ? 'not-supported' : err.statusCode === 413 ? 'too-long' : 'invalid';
      fhirErr = new FhirError(err.statusCode, [{ severity: 'error', code, diagnostics: err.message }]);
    } else if (isDatabaseUnavailable(err)) {
      req.log.warn({ err: { message: err.message, code: err.code } }, 'database unavailable: FHIR request answered 503');
      fhirErr = unavailable('The database is unavailable right now. Try again in a few seconds.', 2);
    } else {
      req.log.error({ err }, 'unhandled error in FHIR request');
      fhirErr = internalError();
    }
    void reply.status(fhirErr.status).headers(fhirErr.headers).header('content-type', FHIR_JSON).send(JSON.stringify(operationOutcome(fhirErr.issues)));
  });

  app.setNotFoundHandler((req, reply) => {
    const e = /^\/fhir\/[A-Z][A-Za-z]+(\/[^/]+)?$/.test(req.url.split('?')[0]!)
      ? notSupported(405, `${req.method} is not supported on ${req.url.split('?')[0]}`)
      : notSupported(404, `No FHIR endpoint at ${req.method} ${req.url.split('?')[0]}`);
    void reply.status(e.status).header('content-type', FHIR_JSON).send(JSON.stringify(operationOutcome(e.issues)));
  });

  const send = (reply: FastifyReply, status: number, body: string) => reply.status(status).header('content-type', FHIR_JSON).send(body);
  const versionHeaders = (reply: FastifyReply, r: StoredResource) =>
    reply.header('ETag', `W/"${r.versionId}"`).header('Last-Modified', new Date(r.lastUpdated).toUTCString());

  app.get('/metadata', async (_req, reply) => send(reply, 200, JSON.stringify(opts.capabilityStatement())));

  // Not an async function: on SQLite a read with a cached token completes without a promise (see MaybePromise).
  app.get<{ Params: Params }>('/:type/:id', audited('read'), (req, reply) => {
    const { type, id } = req.params;
    const found = then(policy(req, type, 'read'), (access) => service.read(type, id, access));
    const sent = then(found, (r) => {
      req.auditPatient = r.patientId;
      versionHeaders(reply, r);
      if (req.headers['if-none-match'] === `W/"${r.versionId}"`) void reply.status(304).send();
      else void send(reply, 200, r.json!);
    });
    // Answered later (a promise): settle with the reply, which Fastify waits on until the response has ended.
    // Settling with nothing while the audit hook still holds the response made Fastify send a second, empty reply
    // (and the held one then crashed the process writing its headers).
    return sent instanceof Promise ? sent.then(() => reply) : sent;
  });

  app.get<{ Params: Params }>('/:type/:id/_history/:vid', audited('vread'), async (req, reply) => {
    const r = await service.vread(req.params.type, req.params.id, req.params.vid, await policy(req, req.params.type, 'vread'));
    versionHeaders(reply, r);
    return send(reply, 200, r.json!);
  });

  app.get<{ Params: Params; Querystring: Record<string, string> }>('/:type/:id/_history', audited('history'), async (req, reply) => {
    const { type, id } = req.params;
    const count = clampCount(req.query._count);
    const cursor = req.query._cursor;
    if (cursor !== undefined && !(/^\d+$/.test(cursor) && Number.isSafeInteger(Number(cursor)))) throw badRequest('The history cursor is not valid; follow the Bundle links', ['_cursor']);
    const access = await policy(req, type, 'history-instance');
    const h = await service.history(type, id, count, cursor === undefined ? undefined : Number(cursor), access);
    const self = `${base}/${type}/${id}/_history?_count=${count}${cursor ? `&_cursor=${cursor}` : ''}`;
    const links: BundleLink[] = [{ relation: 'self', url: self }];
    if (h.nextBefore !== undefined) links.push({ relation: 'next', url: `${base}/${type}/${id}/_history?_count=${count}&_cursor=${h.nextBefore}` });
    return send(reply, 200, historyJson(base, h.versions, h.total, links));
  });

  app.get<{ Params: Params }>('/:type/_history', async (req) => {
    throw notSupported(404, `history-type (GET ${req.params.type}/_history) is not supported; use ${req.params.type}/[id]/_history`);
  });

  const search = async (req: FastifyRequest<{ Params: Params }>, reply: FastifyReply, pairs: QueryPairs) => {
    const { type } = req.params;
    const strict = /handling\s*=\s*strict/i.test(String(req.headers.prefer ?? ''));
    const access = await policy(req, type, 'search-type');
    // A related type the token does not cover is left out of the Bundle (its policy throws a 403 for a direct request).
    const relatedPolicy = async (t: string, interaction: Interaction) => {
      try {
        return await policy(req, t, interaction);
      } catch {
        return undefined;
      }
    };
    const result = await service.search(type, pairs, { strict, policy: access, relatedPolicy });
    // Checked on the clauses the search was parsed into, so allowed searches are parsed once; a refused one has run
    // a query that matched nothing (its filters contradict the token's).
    if (access.filters) refuseSearchOutsideFilters(access, result.request.clauses, req.accessGrant!, service.definition(type));
    const { request, page } = result;
    const url = (extra: [string, string][]) => {
      const q = new URLSearchParams([...request.canonical, ...extra].map(([k, v]) => [k, v] as [string, string])).toString();
      return `${base}/${type}${q ? `?${q}` : ''}`;
    };
    const links: BundleLink[] = [{ relation: 'self', url: url(request.cursor ? [['_cursor', encodeCursor(request.cursor)]] : []) }];
    if (!request.summaryCount) {
      if (page.next) links.push({ relation: 'next', url: url([['_cursor', encodeCursor(page.next)]]) });
      if (page.previous) links.push({ relation: 'previous', url: url([['_cursor', encodeCursor(page.previous)]]) });
    }
    return send(
      reply,
      200,
      searchsetJson({
        fhirBaseUrl: base,
        matches: page.rows,
        included: result.included,
        ...(page.total !== undefined ? { total: page.total } : {}),
        links,
        warnings: request.warnings,
      }),
    );
  };

  app.get<{ Params: Params }>('/:type', audited('search'), async (req, reply) => search(req, reply, queryPairs(req.url)));

  app.post<{ Params: Params; Body: QueryPairs | undefined }>('/:type/_search', audited('search'), async (req, reply) => {
    // Only the form parser gives pairs: a JSON array is not a form (its entries threw in the parser: a 500).
    if (req.body !== undefined && !isFormPairs(req.body)) {
      throw unsupportedMediaType('POST _search takes a form body (application/x-www-form-urlencoded)');
    }
    // Parameters may come in the URL, the body, or both (FHIR R4 §3.1.1.3).
    return search(req, reply, [...queryPairs(req.url), ...(req.body ?? [])]);
  });

  // Patient/[id]/$everything: recorded as a search of Patient (the audit has no interaction of its own for it yet).
  const everything = async (req: FastifyRequest<{ Params: Params }>, reply: FastifyReply, pairs: QueryPairs) => {
    const { type, id } = req.params;
    if (type !== 'Patient') throw notSupported(404, `$everything is defined on Patient only, not on ${type}`);
    const patientPolicy = await policy(req, 'Patient', 'read');
    const related = async (t: string, interaction: Interaction) => {
      try {
        return await policy(req, t, interaction);
      } catch (err) {
        // Left out, as in a search's includes; anything but a refusal is a real failure.
        if (err instanceof FhirError && err.status === 403) return undefined;
        throw err;
      }
    };
    const strict = /handling\s*=\s*strict/i.test(String(req.headers.prefer ?? ''));
    const result = await patientEverything(service, { patientId: id, pairs, strict, patientPolicy, related });
    req.auditPatient = id;
    const { matches, included, links, warnings } = result;
    return send(reply, 200, searchsetJson({ fhirBaseUrl: base, matches, included, ...(result.total !== undefined ? { total: result.total } : {}), links, warnings }));
  };
  app.get<{ Params: Params }>('/:type/:id/$everything', audited('everything'), async (req, reply) => everything(req, reply, queryPairs(req.url)));
  app.post<{ Params: Params; Body: unknown }>('/:type/:id/$everything', audited('everything'), async (req, reply) =>
    everything(req, reply, [...queryPairs(req.url), ...parametersPairs(req.body)]),
  );

  // DocumentReference/$docref (US Core): answered as the equivalent DocumentReference search, under its scopes.
  const docref = async (req: FastifyRequest<{ Params: Params }>, reply: FastifyReply, pairs: QueryPairs) => {
    if (req.params.type !== 'DocumentReference') throw notSupported(404, `$docref is defined on DocumentReference only, not on ${req.params.type}`);
    return search(req, reply, docrefSearch(pairs));
  };
  app.get<{ Params: Params }>('/:type/$docref', audited('search'), async (req, reply) => docref(req, reply, queryPairs(req.url)));
  app.post<{ Params: Params; Body: unknown }>('/:type/$docref', audited('search'), async (req, reply) => docref(req, reply, [...queryPairs(req.url), ...parametersPairs(req.body)]));

  if (opts.bulk && opts.auth) bulkRoutes(app, { bulk: opts.bulk, fhirBaseUrl: base, ...(audit ? { audit } : {}) });
  if (opts.auditTrail && opts.auth) auditEventRoutes(app, { trail: opts.auditTrail.reader, observer: opts.auditTrail.observer, fhirBaseUrl: base, ...(audit ? { audit } : {}) });

  app.post<{ Params: Params; Body: unknown }>('/:type', audited('create'), async (req, reply) => {
    const access = await policy(req, req.params.type, 'create');
    const r = await service.create(req.params.type, requireBody(req.body), access);
    return written(req, reply, r, 201);
  });

  app.put<{ Params: Params; Body: unknown }>('/:type/:id', audited('update'), async (req, reply) => {
    const ifMatch = req.headers['if-match'];
    const access = await policy(req, req.params.type, 'update');
    const { resource, created } = await service.update(req.params.type, req.params.id, requireBody(req.body), ifMatch, access);
    return written(req, reply, resource, created ? 201 : 200);
  });

  app.delete<{ Params: Params }>('/:type/:id', audited('delete'), async (req, reply) => {
    await service.delete(req.params.type, req.params.id, await policy(req, req.params.type, 'delete'));
    return reply.status(204).send();
  });

  function written(req: FastifyRequest, reply: FastifyReply, r: StoredResource, status: number) {
    versionHeaders(reply, r).header('Location', `${base}/${r.type}/${r.id}/_history/${r.versionId}`);
    const prefer = String(req.headers.prefer ?? '');
    if (/return\s*=\s*minimal/i.test(prefer)) return reply.status(status).send();
    if (/return\s*=\s*OperationOutcome/i.test(prefer)) {
      const verb = status === 201 ? 'Created' : 'Updated';
      return send(reply, status, JSON.stringify(operationOutcome([{ severity: 'information', code: 'informational', diagnostics: `${verb} ${r.type}/${r.id} version ${r.versionId}` }])));
    }
    return send(reply, status, r.json!);
  }
}

const TERSE_REFUSAL = 'The access token is invalid, expired or revoked';

function invalidToken(realm: string, reason = TERSE_REFUSAL): FhirError {
  // RFC 6750 §3: error_description is a quoted string of printable ASCII without '"' and '\'.
  const description = reason.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '?');
  return new FhirError(401, [{ severity: 'error', code: 'login', diagnostics: reason }], {
    'WWW-Authenticate': `${realm}, error="invalid_token", error_description="${description}"`,
  });
}

/** The 401 for a refused token: explained when the server explains refusals (sandbox), terse otherwise. */
function refuse(auth: FhirAuth, token: string, realm: string, done: (err?: Error) => void): void {
  if (!auth.explainRefusal) return done(invalidToken(realm));
  auth.explainRefusal(token).then(
    // 'active' here means the token became valid between the two looks (or a race with a revocation): say nothing new.
    (status) => done(invalidToken(realm, status.state === 'active' ? TERSE_REFUSAL : status.reason)),
    () => done(invalidToken(realm)),
  );
}

function requireBody(body: unknown): unknown {
  if (body === undefined) throw badRequest('The request has no body; send the resource as application/fhir+json');
  return body;
}

function isFormPairs(body: unknown): body is QueryPairs {
  return Array.isArray(body) && body.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string');
}

/** A POST body of $everything: none, or a Parameters resource whose parameters are the query parameters. */
function parametersPairs(body: unknown): [string, string][] {
  if (body === undefined || body === null) return [];
  const params = body as { resourceType?: unknown; parameter?: unknown };
  if (params.resourceType !== 'Parameters') throw badRequest('POST of an operation ($everything, $docref) takes no body or a Parameters resource');
  const list = Array.isArray(params.parameter) ? (params.parameter as Record<string, unknown>[]) : [];
  if (list.length > LIMITS.parameters) throw badRequest(`The Parameters resource has ${list.length} parameters; at most ${LIMITS.parameters} are accepted`);
  return list.map((p) => {
    const value = p && typeof p === 'object' ? Object.entries(p).find(([k]) => k.startsWith('value'))?.[1] : undefined;
    if (typeof p?.name !== 'string' || (typeof value !== 'string' && typeof value !== 'number')) {
      throw badRequest('Each parameter of an operation needs a name and a value[x] (valueCode, valueInstant, valueInteger, ...)');
    }
    return [p.name, String(value)];
  });
}

function clampCount(v: string | undefined): number {
  if (v === undefined) return 50;
  if (!/^\d+$/.test(v)) throw badRequest(`_count must be a whole number, not "${v}"`, ['_count']);
  return Math.max(1, Math.min(Number(v), LIMITS.maxCount));
}

/** Query string → ordered name/value pairs, keeping repeats (a repeated parameter means AND). */
export function queryPairs(url: string): [string, string][] {
  const q = url.indexOf('?');
  return q < 0 ? [] : [...new URLSearchParams(url.slice(q + 1))];
}
