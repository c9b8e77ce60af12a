// Mounts oidc-provider (a Koa app) under /auth inside Fastify, plus the Fastify-side pieces SMART needs around it:
// the offline_access/prompt fix, POST to the authorization endpoint, RFC 8414 and SMART discovery.
import type { FastifyInstance } from 'fastify';
import type Provider from 'oidc-provider';
import { smartConfiguration, type Endpoints } from './discovery.js';
import { withProviderContextReleased } from './provider-context.js';
import { LIMITS } from '../limits.js';
import { refusal } from '../request-limits.js';

export const AUTH_PREFIX = '/auth';

/**
 * oidc-provider drops offline_access unless prompt=consent (OIDC Core §11); SMART apps never send it, and our consent
 * page is shown on every authorization anyway, so adding it changes nothing else.
 */
export function withConsentPromptForOfflineAccess(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  const scopes = (params.get('scope') ?? '').split(' ');
  const prompts = new Set((params.get('prompt') ?? '').split(' ').filter(Boolean));
  if (!scopes.includes('offline_access') || prompts.has('none') || prompts.has('consent')) return url;
  prompts.add('consent');
  params.set('prompt', [...prompts].join(' '));
  return `${url.slice(0, q)}?${params.toString()}`;
}

export function mountProvider(app: FastifyInstance, provider: Provider, endpoints: Endpoints, scopesSupported: readonly string[]): void {
  const callback = withProviderContextReleased(provider.callback());
  const authorizePath = `${AUTH_PREFIX}/auth`;

  app.addHook('onRequest', (req, reply, done) => {
    const url = req.raw.url ?? '';
    const inside = url === AUTH_PREFIX || url.startsWith(`${AUTH_PREFIX}/`) || url.startsWith(`${AUTH_PREFIX}?`);
    // POST to the authorization endpoint is answered by our own route below.
    if (!inside || (req.method === 'POST' && url.split('?')[0] === authorizePath)) return done();
    reply.hijack();
    const raw = req.raw as typeof req.raw & { originalUrl?: string };
    const rewritten = req.method === 'GET' && url.startsWith(`${authorizePath}?`) ? withConsentPromptForOfflineAccess(url) : url;
    raw.originalUrl = rewritten;
    raw.url = rewritten.slice(AUTH_PREFIX.length) || '/';
    void callback(raw, reply.raw);
  });

  // SMART authorize-post: the same parameters as a form; the provider itself only takes GET, so hand them over.
  app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    scope.post(authorizePath, async (req, reply) => {
      // Re-encoded: a body sent as text/plain may hold characters a Location header cannot (Node threw: a 500).
      const body = new URLSearchParams(typeof req.body === 'string' ? req.body : '').toString();
      // The form becomes a URL: one over the URL limit would only be refused after the redirect, by a client that
      // may not even read a Location header that long.
      if (authorizePath.length + 1 + body.length > LIMITS.urlBytes) {
        const r = refusal(authorizePath, 414, `The authorization request is ${body.length} bytes long; at most ${LIMITS.urlBytes} fit in the URL it is redirected to`, '');
        return reply.code(r.status).header('content-type', r.contentType).send(r.body);
      }
      return reply.redirect(withConsentPromptForOfflineAccess(`${authorizePath}?${body}`), 303);
    });
  });

  // RFC 8414 metadata for an issuer with a path: /.well-known/oauth-authorization-server/auth
  app.get(`/.well-known/oauth-authorization-server${AUTH_PREFIX}`, (req, reply) => {
    reply.hijack();
    const raw = req.raw as typeof req.raw & { originalUrl?: string };
    raw.originalUrl = `${AUTH_PREFIX}/.well-known/oauth-authorization-server`;
    raw.url = '/.well-known/oauth-authorization-server';
    void callback(raw, reply.raw);
  });

  const smart = JSON.stringify(smartConfiguration(endpoints, scopesSupported));
  app.get('/fhir/.well-known/smart-configuration', async (_req, reply) =>
    reply.header('content-type', 'application/json; charset=utf-8').header('access-control-allow-origin', '*').header('cache-control', 'public, max-age=300').send(smart),
  );
}
