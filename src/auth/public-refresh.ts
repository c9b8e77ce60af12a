// A public client may refresh with just grant_type and refresh_token (RFC 6749 §6 asks client identification only of
// clients that authenticate; SMART's own JavaScript client sends nothing else by default). oidc-provider wants every
// token request to name its client, so for exactly that request the client of the refresh token — when it is a public
// client — is named for it. Everything else passes through untouched.
import { Readable } from 'node:stream';
import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

const MAX_BODY = 56 * 1024; // oidc-provider's own limit for token request bodies

export function namePublicClientOnRefresh(provider: Provider) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> => {
    const req = ctx.req;
    if (ctx.method !== 'POST' || ctx.path !== '/token' || !ctx.is('application/x-www-form-urlencoded') || req.headers.authorization) return next();
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY) {
        // Answered here: an error thrown before the endpoint's own error handler would reach Koa's plain-text one.
        const e = new errors.InvalidRequest(`the request body is over ${MAX_BODY} bytes`);
        ctx.status = e.status;
        ctx.body = { error: e.error, error_description: e.error_description };
        // The rest of the body is left unread, and Node does not drain a body once it was read from: without closing,
        // the connection would wait for it until the request timeout.
        ctx.set('connection', 'close');
        return;
      }
      chunks.push(chunk);
    }
    let body = Buffer.concat(chunks);
    const form = new URLSearchParams(body.toString('utf8'));
    if (form.get('grant_type') === 'refresh_token' && !form.has('client_id') && !form.has('client_assertion')) {
      const token = form.get('refresh_token');
      const refresh = token ? await provider.RefreshToken.find(token) : undefined;
      const client = refresh?.clientId ? await provider.Client.find(refresh.clientId) : undefined;
      if (client && client.clientAuthMethod === 'none') {
        form.set('client_id', client.clientId);
        body = Buffer.from(form.toString(), 'utf8');
      }
    }
    // The body was read here, so oidc-provider gets a request that replays it (same headers, socket and method).
    const replay = Object.assign(Readable.from([body]), {
      headers: { ...req.headers, 'content-length': String(body.length) },
      method: req.method,
      url: req.url,
      // Set by mount.ts: oidc-provider derives its mount path (/auth), and so its endpoint URLs, from it.
      originalUrl: (req as typeof req & { originalUrl?: string }).originalUrl,
      httpVersion: req.httpVersion,
      socket: req.socket,
      connection: req.socket,
    });
    ctx.req = replay as unknown as typeof ctx.req;
    ctx.request.req = ctx.req;
    return next();
  };
}
