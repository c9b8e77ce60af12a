// Rate limits on the OAuth endpoints oidc-provider answers (mounted under /auth by mount.ts, outside Fastify's
// routing): the token endpoint with introspection and revocation, per address and per client, and dynamic client
// registration per address. Counted in the database, so they hold across WORKERS and instances. Registered before
// mount.ts's hook, which hands /auth requests to the provider.
//
// A refusal is 429 with Retry-After and oidc-provider's error body. RFC 6749 has no error code for "too many
// requests" (slow_down belongs to the device flow's polling, RFC 8628), so the code is `invalid_request`, the one every
// client library understands, and the description says it is a rate limit and when to come back.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors } from 'oidc-provider';
import { addressKey, retryAfterSeconds, type RateRule, type RequestLimiter } from '../rate-limit/limiter.js';
import { AUTH_PREFIX } from './mount.js';
import { claimedClientId } from './request-client.js';

export interface AuthEndpointLimits {
  /** Token, introspection and revocation requests per address per window; 0 = no limit */
  readonly tokenPerAddress: number;
  /** The same requests per client_id they name, from any address; 0 = no limit */
  readonly tokenPerClient: number;
  /** Registration requests (RFC 7591 and 7592) per address per window; 0 = no limit */
  readonly registrationPerAddress: number;
  readonly windowMs: number;
}

type Endpoint = 'token' | 'registration';

const TOKEN = `${AUTH_PREFIX}/token`;
const REGISTRATION = `${AUTH_PREFIX}/reg`;

function endpointOf(url: string): Endpoint | undefined {
  const path = url.split('?', 1)[0]!;
  if (path === TOKEN || path.startsWith(`${TOKEN}/`)) return 'token';
  if (path === REGISTRATION || path.startsWith(`${REGISTRATION}/`)) return 'registration';
  return undefined;
}

export function limitAuthEndpoints(app: FastifyInstance, limiter: RequestLimiter, limits: AuthEndpointLimits): void {
  const rule = (bucket: string, max: number): RateRule | undefined => (max > 0 ? { bucket, max, windowMs: limits.windowMs } : undefined);
  const perAddress: Record<Endpoint, RateRule | undefined> = {
    token: rule('token-address', limits.tokenPerAddress),
    registration: rule('registration-address', limits.registrationPerAddress),
  };
  const perClient = rule('token-client', limits.tokenPerClient);
  const perMinute = (r: RateRule) => (r.windowMs === 60_000 ? `${r.max} per minute` : `${r.max} per ${r.windowMs / 1000} s`);

  const check = async (req: FastifyRequest, reply: FastifyReply, endpoint: Endpoint): Promise<boolean> => {
    const byAddress = perAddress[endpoint];
    if (byAddress) {
      const v = await limiter.take(byAddress, addressKey(req.ip));
      if (!v.allowed) return tooMany(req, reply, v.retryAfterMs, `too many requests from this address (at most ${perMinute(byAddress)})`), false;
    }
    if (endpoint === 'token' && perClient) {
      // A request that names no client (a public client's bare refresh) is counted by address only.
      const clientId = await claimedClientId(req.raw);
      if (clientId !== undefined) {
        const v = await limiter.take(perClient, clientId);
        if (!v.allowed) return tooMany(req, reply, v.retryAfterMs, `too many requests for this client_id (at most ${perMinute(perClient)})`), false;
      }
    }
    return true;
  };

  app.addHook('onRequest', (req, reply, done) => {
    const endpoint = req.method === 'OPTIONS' ? undefined : endpointOf(req.raw.url ?? '');
    if (!endpoint || (!perAddress[endpoint] && !(endpoint === 'token' && perClient))) return done();
    check(req, reply, endpoint).then(
      (pass) => pass && done(),
      (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
    );
  });
}

function tooMany(req: FastifyRequest, reply: FastifyReply, retryAfterMs: number, why: string): void {
  const seconds = retryAfterSeconds(retryAfterMs);
  const e = new errors.InvalidRequest(`rate limit exceeded: ${why}; retry after ${seconds} seconds`, 429);
  // A browser app must be able to read the refusal and its Retry-After; the body tells nothing about any client.
  const origin = req.headers.origin;
  if (origin && origin !== 'null') reply.header('access-control-allow-origin', origin).header('access-control-expose-headers', 'Retry-After').header('vary', 'Origin');
  void reply
    .code(429)
    .header('retry-after', String(seconds))
    .header('cache-control', 'no-store')
    .type('application/json; charset=utf-8')
    .send(JSON.stringify({ error: e.error, error_description: e.error_description }));
}
