// Request metrics: latency and count by route pattern, method and status class, and FHIR interactions by resource
// type and interaction. Labels come from Fastify's route pattern (/fhir/:type/:id) or a fixed table, never from the
// URL: a URL carries ids, and a label per id would grow the series without bound.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { R4_RESOURCE_TYPES } from '../fhir/r4-catalog.js';
import type { ServerMetrics } from './metrics.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const FHIR_TYPES = new Set(R4_RESOURCE_TYPES);
/** Label of requests no route matched (404s, scanners): one series, whatever the path. */
const UNMATCHED = 'unmatched';

// oidc-provider answers under /auth outside Fastify's router (mount.ts hijacks those requests), so its routes have no
// pattern here: its own route table (helpers/defaults.js `routes`) names them instead.
const AUTH_EXACT = new Set([
  '/auth/auth',
  '/auth/token',
  '/auth/token/introspection',
  '/auth/token/revocation',
  '/auth/jwks',
  '/auth/reg',
  '/auth/me',
  '/auth/session/end',
  '/auth/session/end/confirm',
  '/auth/session/end/success',
  '/auth/.well-known/openid-configuration',
]);
const AUTH_PATTERNS: readonly [RegExp, string][] = [
  [/^\/auth\/auth\/[^/]+$/, '/auth/auth/:uid'],
  [/^\/auth\/reg\/[^/]+$/, '/auth/reg/:clientId'],
];

/** The provider's route for a path under /auth, from a fixed set. */
export function authRoute(path: string): string {
  if (AUTH_EXACT.has(path)) return path;
  for (const [re, route] of AUTH_PATTERNS) if (re.test(path)) return route;
  return '/auth/*';
}

const isHijacked = (path: string) => path === '/auth' || path.startsWith('/auth/') || path === '/.well-known/oauth-authorization-server/auth';

/**
 * The FHIR interaction (R4 RESTful API names) a route pattern and method serve, or undefined outside the FHIR API.
 * Operations are named by their operation ($everything, $export, $docref).
 */
export function fhirInteraction(method: string, route: string): string | undefined {
  if (route !== '/fhir' && !route.startsWith('/fhir/')) return undefined;
  const segs = route.slice('/fhir'.length).split('/').filter(Boolean);
  const last = segs[segs.length - 1] ?? '';
  if (segs.length === 0) return method === 'POST' ? 'batch' : undefined;
  if (last === 'metadata') return 'capabilities';
  if (last.startsWith('$')) return last;
  if (last === '_search') return 'search-type';
  if (segs.includes('_history')) return last === ':vid' ? 'vread' : segs.length === 2 ? 'history-type' : 'history-instance';
  if (segs.length === 1) return method === 'GET' || method === 'HEAD' ? 'search-type' : method === 'POST' ? 'create' : undefined;
  if (segs.length === 2) {
    if (method === 'GET' || method === 'HEAD') return 'read';
    if (method === 'PUT') return 'update';
    if (method === 'PATCH') return 'patch';
    if (method === 'DELETE') return 'delete';
  }
  return undefined;
}

/** The resource type a FHIR request is about: from the route's :type, or the route's own literal type. */
function fhirType(req: FastifyRequest, route: string): string {
  const param = (req.params as { type?: unknown } | undefined)?.type;
  if (typeof param === 'string') return FHIR_TYPES.has(param) ? param : 'unknown';
  const literal = route.split('/')[2];
  return literal && FHIR_TYPES.has(literal) ? literal : '-';
}

/** Registers the hooks; call before other onRequest hooks that may take a request over (mount.ts). */
export function registerHttpMetrics(server: FastifyInstance, metrics: ServerMetrics): void {
  // Requests timed on the socket instead of onResponse: a hijacked reply (oidc-provider's) never reaches onResponse.
  const onSocket = new WeakSet<object>();
  server.addHook('onRequest', (req, reply, done) => {
    const path = (req.raw.url ?? '').split('?', 1)[0]!;
    if (isHijacked(path)) {
      onSocket.add(req.raw);
      const start = performance.now();
      reply.raw.once('finish', () => {
        metrics.observeRequest(methodOf(req), req.routeOptions.url ?? authRoute(path), reply.raw.statusCode, (performance.now() - start) / 1000);
      });
    }
    done();
  });
  server.addHook('onResponse', (req: FastifyRequest, reply: FastifyReply, done) => {
    if (onSocket.has(req.raw)) return done();
    const route = req.routeOptions.url;
    const method = methodOf(req);
    metrics.observeRequest(method, route ?? UNMATCHED, reply.statusCode, reply.elapsedTime / 1000);
    if (route !== undefined) {
      const interaction = fhirInteraction(method, route);
      if (interaction) metrics.fhirInteractions.inc({ type: fhirType(req, route), interaction });
    }
    done();
  });
}

const methodOf = (req: FastifyRequest) => (METHODS.has(req.method) ? req.method : 'OTHER');
