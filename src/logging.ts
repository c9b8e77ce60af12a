// The server's logger settings: pino JSON lines that never carry a credential. Fastify logs every request's URL, and
// several URLs carry one: the OAuth `state` and a SMART `launch` id in /auth/auth, an interaction id (also the value
// of the interaction cookie) in /interaction/… and the provider's resume path, a launch id (also a cookie value) in
// the simulator's pages, and whatever an app puts in a query string (access_token=, id_token_hint=, code=). Those
// values are replaced before the line is written. Headers and bodies are never logged; the redact paths are there
// so that a later `log.info({ headers })` or `log.info({ body })` cannot undo that.
//
// What is logged at which level, for an operator running it under load: one line per request is noise at `info`, so
// the per-request lines (incoming request, request completed, route not found, a client closing early) are `debug`;
// a 5xx and an unexpected exception are `error`; security events that need a look (failures, revocations, clients
// and keys changing) are `warn`/`info` and routine ones (a token issued, a sign-in) `debug`; start-up and shutdown are
// `info`. JSON lines unless stdout is a terminal and pino-pretty (an optional dev dependency) is installed.
import { createRequire } from 'node:module';
import { LogController, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { SecurityEvent } from './store/audit-log.js';

export const REDACTED = '[redacted]';

// Query parameters whose value is a credential or opens one, wherever they appear.
const SECRET_PARAMS = new Set(['state', 'launch', 'code_verifier', 'nonce', 'request', 'authorization', 'xsrf', 'key', 'session_state']);
// Any name mentioning one of these: access_token, refresh_token, id_token_hint, client_secret, client_assertion,
// password, newPassword, _csrf, … (no FHIR search parameter does).
const SECRET_NAME = /token|secret|passw|assertion|_hint|csrf|cookie/i;
// `code` is an authorization, activation or reset code everywhere but in FHIR searches, where it is a clinical code.
const FHIR_PATH = /^\/fhir(\/|$|\?)/;

// Path segments that are credentials: the interaction id (oidc-provider's interaction cookie holds the same value),
// the provider's resume path, and the simulator's launch pages (the launch cookie holds the launch id).
const SECRET_SEGMENTS: readonly RegExp[] = [/^(\/interaction\/)[^/?]+/, /^(\/auth\/auth\/)[^/?]+/, /^(\/sandbox\/launches\/)[^/?]+/];

const secretParam = (name: string, fhir: boolean) => SECRET_PARAMS.has(name) || SECRET_NAME.test(name) || (name === 'code' && !fhir);

/** The URL as it may be logged: credential values in the path and query replaced by [redacted]. */
export function loggableUrl(url: string): string {
  const q = url.indexOf('?');
  let path = q < 0 ? url : url.slice(0, q);
  for (const re of SECRET_SEGMENTS) path = path.replace(re, `$1${REDACTED}`);
  if (q < 0) return path;
  const fhir = FHIR_PATH.test(path);
  // Split by hand rather than URLSearchParams: the rest of the query is logged exactly as it came.
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const raw = eq < 0 ? pair : pair.slice(0, eq);
      let name = raw;
      try {
        name = decodeURIComponent(raw.replace(/\+/g, ' '));
      } catch {
        // a malformed escape: judge the name as written
      }
      return eq >= 0 && secretParam(name, fhir) ? `${raw}=${REDACTED}` : pair;
    })
    .join('&');
  return `${path}?${query}`;
}

interface LoggedRequest {
  readonly method: string;
  readonly url: string;
  readonly host?: string;
  readonly ip?: string;
  readonly socket?: { readonly remotePort?: number };
}

// Fastify's own request serializer, with the URL made loggable. Anything else logged as `req` is left to the
// redact paths.
const serializeRequest = (req: LoggedRequest) =>
  typeof req.url !== 'string'
    ? req
    : { method: req.method, url: loggableUrl(req.url), host: req.host, remoteAddress: req.ip, remotePort: req.socket?.remotePort };

// Places a credential would sit if an object holding it were ever logged.
const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers["proxy-authorization"]',
  'headers.cookie',
  'headers["set-cookie"]',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["set-cookie"]',
  ...['password', 'newPassword', 'confirmPassword', 'client_secret', 'client_assertion', 'access_token', 'refresh_token', 'id_token', 'registration_access_token', '_csrf'].flatMap((k) => [k, `*.${k}`, `body.${k}`, `req.body.${k}`]),
];

/** LOG_FORMAT: `auto` is pretty on a terminal when pino-pretty is installed, JSON lines otherwise. */
export type LogFormat = 'auto' | 'json' | 'pretty';

/** Whether pino-pretty can be loaded: it is a dev dependency, absent from a production install. */
export function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

const usePretty = (format: LogFormat) => format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true && prettyAvailable());

/** Fastify `logger` options for LOG_LEVEL and LOG_FORMAT: JSON lines (or pretty ones) on stdout, credentials removed. */
export function loggerOptions(level: string, format: LogFormat = 'json'): FastifyServerOptions['logger'] {
  return {
    level,
    redact: { paths: [...new Set(REDACT_PATHS)], censor: REDACTED },
    serializers: { req: (req) => serializeRequest(req as unknown as LoggedRequest) as { [key: string]: unknown } },
    // Redaction happens before the line reaches the transport's thread.
    ...(usePretty(format) ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true } } } : {}),
  };
}

/**
 * Fastify's internal log lines at an operator's levels: per-request lines at `debug`; a response of 500 or more at
 * `error`, except 503 (load shedding, a database outage and shutdown answer it, and each warns once in its own words:
 * one line per refused request would flood the log exactly when it matters).
 */
export class OperatorLogController extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (!this.isLogDisabled(request)) request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    if (error) reply.log.error({ res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else if (reply.statusCode >= 500 && reply.statusCode !== 503) reply.log.error({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
    else reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }

  override defaultErrorLog(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    if (reply.statusCode >= 500) reply.log.error({ req: request, res: reply, err: error }, error?.message);
    else reply.log.debug({ res: reply, err: error }, error?.message);
  }

  override routeNotFound(request: FastifyRequest): void {
    if (!this.isLogDisabled(request)) request.log.debug({ req: request }, 'route not found');
  }

  override streamError(error: Error & { code?: string }, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    // A client that goes away mid-download is its own business; a stream failing on our side is not.
    if (error.code === 'ERR_STREAM_PREMATURE_CLOSE') reply.log.debug({ res: reply }, 'stream closed prematurely');
    else reply.log.warn({ err: error }, 'response terminated with an error with headers already sent');
  }

  override serviceUnavailable(logger: FastifyRequest['log']): void {
    // Every request refused while the server closes; the shutdown itself is logged at info.
    logger.debug({ res: { statusCode: 503 } }, 'request refused: the server is closing');
  }
}

/** Security events an operator should see at `info` although they succeeded: access ended, clients or keys changed. */
const NOTABLE = new Set(['grant.revoked', 'token.revoked', 'proxy.revoked', 'proxy.expired', 'consent.denied', 'client.registered', 'client.updated', 'client.deleted', 'keys.rotated']);

interface LevelLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/**
 * One log line per security event: failures (a wrong password, a locked account, a refused token request) at `warn`,
 * access ended and clients or keys changed at `info`, routine successes (tokens issued, sign-ins, consents) at `debug`
 * (at load they are as many as requests). The event holds nothing secret (see audit/security-log.ts).
 */
export function logSecurityEvent(log: LevelLogger, e: SecurityEvent): void {
  const { at: _at, ...fields } = e;
  if (e.outcome === 'failure') log.warn({ security: fields }, `security event: ${e.event} failed`);
  else if (NOTABLE.has(e.event)) log.info({ security: fields }, `security event: ${e.event}`);
  else log.debug({ security: fields }, `security event: ${e.event}`);
}
