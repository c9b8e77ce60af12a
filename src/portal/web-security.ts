// What every HTML page of ours gets: signed cookies, CSRF tokens on forms, security headers with a strict
// Content-Security-Policy, no caching, and a rate limit that sign-in forms opt into (counted in the database).
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import rateLimit, { type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { addressKey } from '../rate-limit/limiter.js';
import { isDatabaseUnavailable } from '../store/db.js';

export interface WebSecurityOptions {
  readonly cookieSecret: string;
  readonly secureCookies: boolean;
  /** Where form rate limits are counted: the database (rate-limit/fastify-store.ts), shared by every instance */
  readonly rateLimitStore: FastifyRateLimitStoreCtor;
}

/**
 * `form-action` also governs where a form's response may redirect (Chromium enforces it along the redirect chain),
 * so pages of the authorization flow add the app's redirect URI origin: Allow and Deny end there.
 */
export function contentSecurityPolicy(formActionOrigins: readonly string[] = []): string {
  const formAction = ["'self'", ...new Set(formActionOrigins)].join(' ');
  return `default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`;
}

export function setFormActionOrigins(reply: FastifyReply, origins: readonly string[]): void {
  reply.header('content-security-policy', contentSecurityPolicy(origins));
}

export async function registerWebSecurity(app: FastifyInstance, opts: WebSecurityOptions): Promise<void> {
  await app.register(formbody);
  await app.register(cookie, { secret: opts.cookieSecret });
  await app.register(csrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: '_csrf_secret',
    cookieOpts: { path: '/', httpOnly: true, sameSite: 'lax', secure: opts.secureCookies, signed: true },
  });
  await app.register(helmet, {
    // Set per reply below (the authorization pages widen form-action); helmet supplies the other headers.
    contentSecurityPolicy: false,
    hsts: opts.secureCookies,
    crossOriginEmbedderPolicy: false,
  });
  await app.register(rateLimit, {
    global: false,
    store: opts.rateLimitStore,
    keyGenerator: (req) => addressKey(req.ip),
    errorResponseBuilder: (_req, ctx) => Object.assign(new Error(`Too many attempts from this network. Wait ${Math.ceil(ctx.ttl / 1000)} seconds, then try again.`), { statusCode: 429 }),
  });
  app.addHook('onRequest', async (_req, reply) => {
    reply.header('content-security-policy', contentSecurityPolicy()).header('cache-control', 'no-store').header('x-frame-options', 'DENY');
  });
}

/** Cookie flags for the portal session cookie. */
export function sessionCookieOptions(secure: boolean) {
  return { path: '/', httpOnly: true, sameSite: 'lax' as const, secure, signed: false };
}

/** What went wrong on a page request, sorted the way people are told about it. */
export interface PageError {
  readonly status: number;
  /** too-many: rate limit (message says how long to wait); stale-form: CSRF; fault: ours (5xx); refused: any other 4xx */
  readonly kind: 'too-many' | 'stale-form' | 'fault' | 'refused';
  readonly message: string;
}

/**
 * People get a page, not Fastify's JSON: `render` words it for its part of the site (portal, sandbox). Faults of ours
 * are logged under `label`; their messages are never shown.
 */
export function setPageErrorHandler(app: FastifyInstance, label: string, render: (e: PageError) => string): void {
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    // The database unavailable (PostgreSQL restarting) is a 503 to retry, not a fault of the page.
    const down = isDatabaseUnavailable(err);
    const status = down ? 503 : err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (down) void reply.header('Retry-After', '2');
    if (status >= 500) req.log[down ? 'warn' : 'error']({ err }, `${label} page failed`);
    const kind: PageError['kind'] = status === 429 ? 'too-many' : err.code?.startsWith('FST_CSRF') ? 'stale-form' : status >= 500 ? 'fault' : 'refused';
    void reply.code(status).type('text/html; charset=utf-8').send(render({ status, kind, message: err.message }));
  });
}
