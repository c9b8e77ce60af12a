// Bulk Data Access 2.0 over HTTP: kick-off ($export at system, Patient and Group level), the status URL (progress,
// manifest, cancel) and the files. Mounted inside the FHIR plugin, so the bearer check, CORS and the OperationOutcome
// error handler are the API's own. Everything else is in bulk/export-service.ts.
import { createReadStream } from 'node:fs';
import { createGzip } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessGrant } from '../auth/access.js';
import { paramsFromBody, paramsFromQuery } from '../bulk/export-params.js';
import { FILE_PATH, STATUS_PATH, type BulkExportService } from '../bulk/export-service.js';
import type { ExportJobKind } from '../store/schema.js';
import { holdUntilAudited, type AccessRecorder } from './audit.js';
import { FHIR_JSON } from './negotiation.js';
import { FhirError, badRequest, operationOutcome, type Issue } from './outcome.js';
import { queryPairs } from './plugin.js';

export interface BulkRouteOptions {
  readonly bulk: BulkExportService;
  readonly fhirBaseUrl: string;
  readonly audit?: AccessRecorder;
}

export const NDJSON = 'application/fhir+ndjson';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route answers NDJSON, not FHIR JSON: the API's Accept check does not apply */
    ndjson?: boolean;
  }
}

export function bulkRoutes(app: FastifyInstance, opts: BulkRouteOptions): void {
  const { bulk } = opts;
  const grantOf = (req: FastifyRequest): AccessGrant => {
    // The plugin's hook has authenticated every request that reaches a route; without auth there is no bulk export.
    if (!req.accessGrant) throw new FhirError(401, [{ severity: 'error', code: 'login', diagnostics: 'An access token is required' }]);
    return req.accessGrant;
  };
  // The response waits until its audit event is durable (see audit.ts).
  const audited = (type: (req: FastifyRequest) => string, id: (req: FastifyRequest) => string | null) =>
    opts.audit
      ? {
          onSend: holdUntilAudited(opts.audit, (req, reply) => {
            const g = req.accessGrant;
            if (!g) return undefined;
            return { at: Date.now(), clientId: g.clientId, grantId: g.grantId ?? null, accountId: g.accountId ?? null, patientId: null, resourceType: type(req), interaction: 'export', resourceId: id(req), status: reply.statusCode };
          }),
        }
      : {};

  const kickOff = async (req: FastifyRequest, reply: FastifyReply, kind: ExportJobKind, body: unknown | undefined) => {
    const prefer = String(req.headers.prefer ?? '');
    if (!/respond-async/i.test(prefer)) throw badRequest('$export runs asynchronously: send the header Prefer: respond-async (Bulk Data Access IG)');
    const query = queryPairs(req.url);
    const params = req.method === 'POST' ? paramsFromBody(body, query) : paramsFromQuery(query);
    const { id, warnings } = await bulk.kickOff({
      grant: grantOf(req),
      kind,
      ...(kind === 'group' ? { groupId: (req.params as { id: string }).id } : {}),
      request: `${opts.fhirBaseUrl}${req.url.replace(/^\/fhir/, '')}`,
      params,
      lenient: /handling\s*=\s*lenient/i.test(prefer),
    });
    const issues: Issue[] = [
      { severity: 'information', code: 'informational', diagnostics: `Export ${id} accepted; poll ${bulk.statusUrl(id)} for its progress and, when it answers 200, the manifest of its files` },
      ...warnings.map((w): Issue => ({ severity: 'warning', code: 'not-supported', diagnostics: w })),
    ];
    return reply.status(202).header('Content-Location', bulk.statusUrl(id)).header('content-type', FHIR_JSON).send(JSON.stringify(operationOutcome(issues)));
  };
  const kickOffType = (req: FastifyRequest) => (req.url.startsWith('/fhir/Group/') ? 'Group' : req.url.startsWith('/fhir/Patient/') ? 'Patient' : '');
  const kickOffId = (req: FastifyRequest) => (req.params as { id?: string }).id ?? null;
  for (const [path, kind] of [
    ['/$export', 'system'],
    ['/Patient/$export', 'patient'],
    ['/Group/:id/$export', 'group'],
  ] as const) {
    app.get(path, audited(kickOffType, kickOffId), async (req, reply) => kickOff(req, reply, kind, undefined));
    app.post<{ Body: unknown }>(path, audited(kickOffType, kickOffId), async (req, reply) => kickOff(req, reply, kind, req.body));
  }

  app.get<{ Params: { id: string } }>(`/${STATUS_PATH}/:id`, async (req, reply) => {
    const status = await bulk.status(grantOf(req), req.params.id);
    if (status.state === 'in-progress') return reply.status(202).header('X-Progress', status.progress).header('Retry-After', String(status.retryAfter)).send();
    if (status.state === 'failed') {
      return reply.status(500).header('content-type', FHIR_JSON).send(JSON.stringify(operationOutcome([{ severity: 'error', code: 'exception', diagnostics: `The export failed: ${status.error}` }])));
    }
    return reply.status(200).header('content-type', 'application/json; charset=utf-8').header('Expires', new Date(status.expiresAt).toUTCString()).send(JSON.stringify(status.manifest));
  });

  app.delete<{ Params: { id: string } }>(`/${STATUS_PATH}/:id`, async (req, reply) => {
    await bulk.cancel(grantOf(req), req.params.id);
    return reply
      .status(202)
      .header('content-type', FHIR_JSON)
      .send(JSON.stringify(operationOutcome([{ severity: 'information', code: 'informational', diagnostics: `Export ${req.params.id} was cancelled and its files removed` }])));
  });

  app.get<{ Params: { id: string; name: string } }>(
    `/${FILE_PATH}/:id/:name`,
    { config: { ndjson: true }, ...audited((req) => (req.params as { name: string }).name.replace(/-\d+\.ndjson$/, ''), (req) => (req.params as { id: string }).id) },
    async (req, reply) => {
      const file = await bulk.file(grantOf(req), req.params.id, req.params.name);
      reply.header('content-type', NDJSON).header('Vary', 'Accept-Encoding').header('Accept-Ranges', 'bytes').header('Cache-Control', 'private, no-store');
      if (/\bgzip\b/i.test(String(req.headers['accept-encoding'] ?? '')) && req.headers.range === undefined) {
        // Compressed on the way out, a chunk at a time: never the whole file in memory.
        return reply.header('Content-Encoding', 'gzip').send(createReadStream(file.path).pipe(createGzip({ level: 6 })));
      }
      const range = byteRange(req.headers.range, file.bytes);
      if (range === 'invalid') return reply.status(416).header('Content-Range', `bytes */${file.bytes}`).send();
      if (range) {
        return reply
          .status(206)
          .header('Content-Range', `bytes ${range.start}-${range.end}/${file.bytes}`)
          .header('Content-Length', String(range.end - range.start + 1))
          .send(createReadStream(file.path, { start: range.start, end: range.end }));
      }
      return reply.header('Content-Length', String(file.bytes)).send(createReadStream(file.path));
    },
  );
}

/** One `bytes=a-b` range (a download resumed after a dropped connection); undefined: the whole file. */
function byteRange(header: string | undefined, size: number): { start: number; end: number } | 'invalid' | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'invalid';
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size) return 'invalid';
  return { start, end };
}
