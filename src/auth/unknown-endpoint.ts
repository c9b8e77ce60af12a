// oidc-provider answers an address under /auth it has no endpoint for (or a method an endpoint does not take) with
// Koa's plain-text "Not Found"; an OAuth client expects the server's JSON error, so such answers become one.
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

export async function unknownEndpointAsOAuthError(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
  await next();
  if ((ctx.status !== 404 && ctx.status !== 405) || ctx.body != null) return;
  const path = (ctx.originalUrl || ctx.url).split('?')[0];
  const e = new errors.InvalidRequest(`there is no OAuth endpoint at ${ctx.method} ${path}`, ctx.status);
  ctx.status = e.status;
  ctx.set('cache-control', 'no-store');
  ctx.body = { error: e.error, error_description: e.error_description };
}
