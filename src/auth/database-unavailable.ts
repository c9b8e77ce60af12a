// The database unavailable during an OAuth request (PostgreSQL stopped or restarting): a 503 with Retry-After, as
// temporarily_unavailable in OAuth's JSON error format, instead of oidc-provider's 500 server_error or, when one of our
// middlewares failed outside oidc-provider's error handling, Koa's plain-text 500. HTML answers (the authorization
// endpoint's error page) keep their page and only take the status.
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { isDatabaseUnavailable } from '../store/db.js';

type Middleware = (ctx: KoaContextWithOIDC, next: () => Promise<void>) => Promise<void>;

/** Register first, so it wraps every other middleware of the provider. */
export function databaseUnavailableAsOAuthError(provider: Provider): Middleware {
  const down = new WeakSet<object>();
  provider.on('server_error', (ctx: KoaContextWithOIDC, err: unknown) => {
    if (isDatabaseUnavailable(err)) down.add(ctx);
  });
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      down.add(ctx);
    }
    if (!down.has(ctx)) return;
    ctx.status = 503;
    ctx.set('Retry-After', '2');
    ctx.set('Cache-Control', 'no-store');
    if (typeof ctx.body === 'string' && ctx.response.is('html')) return;
    ctx.body = { error: 'temporarily_unavailable', error_description: 'The database is unavailable right now. Try again in a few seconds.' };
  };
}
