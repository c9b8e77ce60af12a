// The server's logger settings: pino JSON lines that never carry a credential. Fastify logs every request's URL, and
// several URLs carry one: the OAuth `state` and a SMART `launch` id in /auth/auth, an interaction id (also the value
// of the interaction cookie) in /interaction/… and the provider's resume path, a launch id (also a cookie value) in
// the simulator's pages, and whatever an app puts in a query string (access_token=, id_token_hint=, code=). Those
// values are replaced before the line is written. Headers and bodies are never logged; the redact paths are there
// so that a later `log.info({ headers })` or `log.info({ body })` cannot undo that.
import type { FastifyServerOptions } from 'fastify';

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

/** Fastify `logger` options for LOG_LEVEL: JSON lines on stdout, credentials removed. */
export function loggerOptions(level: string): FastifyServerOptions['logger'] {
  return {
    level,
    redact: { paths: [...new Set(REDACT_PATHS)], censor: REDACTED },
    serializers: { req: (req) => serializeRequest(req as unknown as LoggedRequest) as { [key: string]: unknown } },
  };
}
