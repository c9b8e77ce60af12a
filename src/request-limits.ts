// The limits of src/limits.ts applied where a request enters the server (Node's HTTP parser, Fastify's router, a
// first hook), and the answer each refusal gets in the words of the part of the site it was meant for: an
// OperationOutcome under /fhir, an OAuth error under /auth, the HTML message page under the portal and sandbox, JSON
// elsewhere. Limits that need a request understood first (body size and depth, _count, includes) live with the
// parsers that understand it.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { errors } from 'oidc-provider';
import { FHIR_JSON } from './fhir/negotiation.js';
import { operationOutcome, type IssueCode } from './fhir/outcome.js';
import { LIMITS } from './limits.js';
import { answerUnavailable } from './database-unavailable.js';
import { isDatabaseUnavailable } from './store/db.js';
import { renderMessage } from './portal/views.js';

export type Area = 'fhir' | 'auth' | 'page' | 'other';

/** Which part of the server a path belongs to, and so in which words it refuses. */
export function areaOf(url: string): Area {
  // A request line may carry an absolute URI (RFC 9112 §3.2.2); its path decides.
  const path = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?]*/i, '').split('?')[0]!;
  if (path === '/fhir' || path.startsWith('/fhir/')) return 'fhir';
  if (path === '/auth' || path.startsWith('/auth/') || path.startsWith('/.well-known/oauth-authorization-server')) return 'auth';
  if (/^\/(portal|interaction|sandbox|dev)(\/|$)/.test(path)) return 'page';
  return 'other';
}

export interface Refusal {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

const FHIR_CODES: Readonly<Record<number, IssueCode>> = { 404: 'not-found', 405: 'not-supported', 408: 'timeout', 413: 'too-long', 414: 'too-long', 431: 'too-long' };

/** The error body for a request to `url` refused with `status` because of `message` (a sentence for the client). */
export function refusal(url: string, status: number, message: string, siteName: string): Refusal {
  switch (areaOf(url)) {
    case 'fhir':
      return { status, contentType: FHIR_JSON, body: JSON.stringify(operationOutcome([{ severity: 'error', code: FHIR_CODES[status] ?? 'invalid', diagnostics: message }])) };
    case 'auth': {
      const e = new errors.InvalidRequest(message, status);
      return { status, contentType: 'application/json; charset=utf-8', body: JSON.stringify({ error: e.error, error_description: e.error_description }) };
    }
    case 'page':
      return { status, contentType: 'text/html; charset=utf-8', body: renderMessage({ siteName, title: status === 404 ? 'Page not found' : 'Cannot continue', text: message, tone: 'error' }) };
    default:
      return { status, contentType: 'application/json; charset=utf-8', body: JSON.stringify({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', message }) };
  }
}

/** Why a request line and headers are refused before any route sees them, or undefined. */
export function requestProblem(method: string, url: string, rawHeaders: readonly string[]): { status: number; message: string } | undefined {
  // As on the wire: "METHOD URL HTTP/1.1\r\n", then "Name: value\r\n" each, then "\r\n" (strings hold the bytes as latin1)
  let head = method.length + url.length + 13;
  for (let i = 0; i < rawHeaders.length; i += 2) head += rawHeaders[i]!.length + (rawHeaders[i + 1]?.length ?? 0) + 4;
  if (head > LIMITS.headerBytes) return { status: 431, message: `The request line and headers are ${head} bytes; at most ${LIMITS.headerBytes} are accepted` };
  if (url.length > LIMITS.urlBytes) {
    return { status: 414, message: `The URL is ${url.length} bytes long; at most ${LIMITS.urlBytes} are accepted (a long FHIR search can be sent as POST [type]/_search with a form body)` };
  }
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  let params = 0;
  for (const part of url.slice(q + 1).split('&')) if (part) params++;
  if (params > LIMITS.parameters) return { status: 400, message: `The query string has ${params} parameters; at most ${LIMITS.parameters} are accepted` };
  return undefined;
}

type ClientError = Error & { code?: string; rawPacket?: Buffer; bytesParsed?: number };
/** What Node keeps on a socket about the request on it (not typed by @types/node) */
type HttpSocket = Socket & { _httpMessage?: { headersSent?: boolean; req?: { url?: string } } };

/**
 * Node's HTTP parser refused the bytes (bad framing, headers over the limit) or a request did not arrive in time.
 * The URL, when known, says whose error page to answer with: from the request on the socket (a timeout) or from the
 * request line in the bytes that failed (a parse error).
 */
function clientErrorHandler(siteName: string, timeoutSeconds: number) {
  return (error: Error, socket: Socket) => {
    const err = error as ClientError;
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const s = socket as HttpSocket;
    const [status, message]: [number, string] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, `The request did not arrive in full within ${timeoutSeconds} seconds`]
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, `The request line and headers are over ${LIMITS.parserHeaderBytes} bytes`]
          : [400, `The request is not valid HTTP/1.1 (${err.code ?? 'parse error'})`];
    const inFlight = s._httpMessage?.req?.url;
    // A timeout on a connection with no request on it (idle between keep-alive requests): nobody to answer.
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' && inFlight === undefined) return void socket.destroy();
    const url = inFlight ?? requestPathIn(err.rawPacket, err.bytesParsed) ?? '/';
    if (socket.writable && !s._httpMessage?.headersSent) {
      const r = refusal(url, status, message, siteName);
      socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${r.contentType}\r\nContent-Length: ${Buffer.byteLength(r.body)}\r\nConnection: close\r\n\r\n${r.body}`);
      // The client may go on sending; give the answer a moment to leave, then let go of the connection.
      setTimeout(() => socket.destroy(), 1000).unref();
    } else socket.destroy();
  };
}

/**
 * The path of the request line in the bytes a parse error came with: where the parser stopped (the bytes before it may
 * end an earlier message, e.g. the rest of a body answered before it had all arrived), else at their start.
 */
function requestPathIn(packet: Buffer | undefined, parsed: number | undefined): string | undefined {
  if (!packet) return undefined;
  const from = Math.max(0, Math.min(packet.length, parsed ?? 0) - 32);
  const near = / (\/\S*) HTTP\/1\.[01]\r?\n/.exec(packet.subarray(from, from + 8192).toString('latin1'));
  return near?.[1] ?? /^[^ \r\n]{1,20} (\S+)/.exec(packet.subarray(0, 8192).toString('latin1'))?.[1];
}

/** Fastify options that set the HTTP-level limits; spread into the options of Fastify(). */
export function limitOptions(opts: { siteName: string; requestTimeoutSeconds: number }): FastifyServerOptions & { http: { maxHeaderSize: number; headersTimeout: number; connectionsCheckingInterval: number } } {
  const timeoutMs = opts.requestTimeoutSeconds * 1000;
  return {
    // Every body but FHIR JSON (whose parser sets its own, larger limit)
    bodyLimit: LIMITS.formBodyBytes,
    requestTimeout: timeoutMs,
    http: {
      maxHeaderSize: LIMITS.parserHeaderBytes,
      headersTimeout: timeoutMs,
      // How often Node looks for requests over their time; by default every 30 s, which would double a short timeout.
      connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.floor(timeoutMs / 4))),
    },
    routerOptions: { maxParamLength: LIMITS.pathSegmentChars },
    clientErrorHandler: clientErrorHandler(opts.siteName, opts.requestTimeoutSeconds),
    // A path segment over maxParamLength, or percent-encoding that decodes to nothing valid: before any route.
    frameworkErrors: ((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      const message = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? `A path segment is over ${LIMITS.pathSegmentChars} characters` : err.code === 'FST_ERR_BAD_URL' ? 'The path is not valid percent-encoded UTF-8' : err.message;
      const r = refusal(req.url, status, message, opts.siteName);
      void reply.code(r.status).header('content-type', r.contentType).send(r.body);
    }) as FastifyServerOptions['frameworkErrors'],
  };
}

/**
 * The header and URL limits, checked first on every request (before the authorization server takes over /auth), and a
 * not-found answer in the area's words for every path no part of the server claims.
 */
export function registerRequestLimits(server: FastifyInstance, siteName: string): void {
  server.addHook('onRequest', (req, reply, done) => {
    const problem = requestProblem(req.raw.method ?? '', req.raw.url ?? '', req.raw.rawHeaders);
    if (!problem) return done();
    const r = refusal(req.raw.url ?? '', problem.status, problem.message, siteName);
    void reply.code(r.status).header('content-type', r.contentType).send(r.body);
  });
  // Errors of routes outside the plugins that have their own handler (/healthz, discovery, POST /auth/auth) and of
  // bodies sent to addresses nothing serves: in the area's words too. A fault of ours is logged, never shown.
  // The root has one error handler (a second would silently replace it): it also turns a database outage into a 503.
  server.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    if (isDatabaseUnavailable(err)) return answerUnavailable(req, reply);
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    const r = refusal(req.url, status, status >= 500 ? 'The server could not complete the request. The error has been logged.' : err.message, siteName);
    void reply.code(r.status).header('content-type', r.contentType).send(r.body);
  });
  server.setNotFoundHandler((req, reply) => {
    const r = refusal(req.url, 404, `There is nothing at ${req.method} ${req.url.split('?')[0]}`, siteName);
    void reply.code(r.status).header('content-type', r.contentType).send(r.body);
  });
}
