// The authorization server's security events, from oidc-provider's own events: tokens issued, refreshed, refused and
// revoked, grants it revokes itself (a revoked refresh token, a replayed one), clients registered and updated. Grants
// we revoke (server.ts revokeGrant) and clients we delete are recorded where that happens. A listener cannot wait, so
// the request's answer waits instead (a middleware, like the FHIR API's audit hold): it leaves once the events it
// caused are written, or as a 503 if they could not be (logged with the event). Events of a token destroyed at the
// revocation endpoint carry no request and are only logged if their write fails.
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { SecurityEventInput, SecurityRecorder } from '../audit/security-log.js';
import { loggableUrl } from '../logging.js';
import { isDatabaseUnavailable } from '../store/db.js';

interface Log {
  error(obj: object, msg: string): void;
}

type TokenLike = { clientId?: string; grantId?: string; accountId?: string; scope?: string; kind?: string; extra?: { patient?: unknown } };
type ClientLike = { clientId: string; metadata(): Record<string, unknown> };

const MAX_TEXT = 200;
const short = (s: unknown) => (typeof s === 'string' ? s.slice(0, MAX_TEXT) : undefined);

/** The grant type as sent, when it is one we know (the value is the client's, so it is checked before it is kept). */
export function grantTypeOf(ctx: KoaContextWithOIDC): string | undefined {
  const g = (ctx.oidc?.params as { grant_type?: unknown } | undefined)?.grant_type;
  return g === 'authorization_code' || g === 'refresh_token' || g === 'client_credentials' ? g : typeof g === 'string' ? 'other' : undefined;
}

/** Client metadata worth keeping about a registration: how it authenticates and what it may do, never its secret. */
function clientDetail(client: ClientLike): Record<string, string> {
  const md = client.metadata();
  const list = (v: unknown) => (Array.isArray(v) ? v.map(String).join(' ') : undefined);
  const detail: Record<string, string | undefined> = {
    clientName: short(md.client_name),
    authMethod: short(md.token_endpoint_auth_method),
    grantTypes: list(md.grant_types),
    redirectUris: short(list(md.redirect_uris)),
    scope: short(md.smart_scope ?? md.scope),
  };
  return Object.fromEntries(Object.entries(detail).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
}

/** Registers the listeners and the middleware that holds each answer for its events; call before the provider is mounted. */
export function recordProviderEvents(provider: Provider, security: SecurityRecorder, log: Log): void {
  const writes = new WeakMap<KoaContextWithOIDC, Promise<void>[]>();
  const record = (e: SecurityEventInput, ctx?: KoaContextWithOIDC) => {
    const written = security.record(e);
    written.catch((err: unknown) => log.error({ err, event: e }, 'security event could not be written to the audit trail'));
    if (ctx) writes.set(ctx, [...(writes.get(ctx) ?? []), written]);
  };
  // oidc-provider answers an exception with 500 server_error and logs nothing, and Fastify never sees how an /auth
  // request ended (mount.ts hands it over): this is its only error line. A database outage is a 503 (database-unavailable.ts).
  provider.on('server_error', (ctx: KoaContextWithOIDC, err: unknown) => {
    // mount.ts keeps the URL as it came (with /auth) on the raw request
    const url = (ctx.req as { originalUrl?: string }).originalUrl ?? ctx.originalUrl;
    if (!isDatabaseUnavailable(err)) log.error({ err, req: { method: ctx.method, url: loggableUrl(url) } }, 'unhandled error in an OAuth request');
  });
  provider.use(async (ctx, next) => {
    await next();
    const pending = writes.get(ctx as KoaContextWithOIDC);
    if (!pending) return;
    try {
      await Promise.all(pending);
    } catch {
      ctx.status = 503;
      ctx.set('Retry-After', '1');
      ctx.body = { error: 'temporarily_unavailable', error_description: 'the audit trail could not be written, so the answer was withheld; try again shortly' };
    }
  });

  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    const e = ctx.oidc.entities as { AccessToken?: TokenLike; ClientCredentials?: TokenLike; RefreshToken?: TokenLike };
    const token = e.AccessToken ?? e.ClientCredentials;
    const grantType = grantTypeOf(ctx);
    const patient = token?.extra?.patient;
    record({
      event: grantType === 'refresh_token' ? 'token.refreshed' : 'token.issued',
      clientId: ctx.oidc.client?.clientId ?? null,
      grantId: token?.grantId ?? null,
      accountId: token?.accountId ?? null,
      patientId: typeof patient === 'string' ? patient : null,
      detail: { ...(grantType ? { grantType } : {}), scope: short(token?.scope) ?? '', refreshToken: grantType !== 'client_credentials' && Boolean(e.RefreshToken) },
    }, ctx);
  });

  // A refused token request: a wrong client secret or assertion, an invalid, expired or replayed code or refresh token.
  provider.on('grant.error', (ctx: KoaContextWithOIDC, err: { error?: string; error_description?: string }) => {
    const claimed = (ctx.oidc?.params as { client_id?: unknown } | undefined)?.client_id;
    record({
      event: 'token.refused',
      outcome: 'failure',
      clientId: ctx.oidc?.client?.clientId ?? (typeof claimed === 'string' ? claimed.slice(0, MAX_TEXT) : null),
      detail: { ...(grantTypeOf(ctx) ? { grantType: grantTypeOf(ctx)! } : {}), error: short(err.error) ?? 'unknown', ...(err.error_description ? { reason: short(err.error_description)! } : {}) },
    }, ctx);
  });

  // oidc-provider revokes a grant itself when a refresh token is revoked or replayed.
  provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
    const token = (ctx.oidc?.entities as { RefreshToken?: TokenLike; AccessToken?: TokenLike } | undefined)?.RefreshToken;
    record({
      event: 'grant.revoked',
      clientId: ctx.oidc?.client?.clientId ?? null,
      grantId,
      accountId: token?.accountId ?? null,
      detail: { reason: ctx.oidc?.route === 'revocation' ? 'revocation-endpoint' : 'refresh-token-replayed' },
    }, ctx);
  });

  // Tokens are destroyed one by one only at the revocation endpoint and for a replayed refresh token (grants end
  // through the adapter, all tokens at once).
  const revoked = (tokenType: string) => (token: TokenLike) =>
    record({ event: 'token.revoked', clientId: token.clientId ?? null, grantId: token.grantId ?? null, accountId: token.accountId ?? null, detail: { tokenType } });
  provider.on('access_token.destroyed', revoked('access_token'));
  provider.on('refresh_token.destroyed', revoked('refresh_token'));
  provider.on('client_credentials.destroyed', revoked('client_credentials'));

  provider.on('registration_create.success', (ctx: KoaContextWithOIDC, client: ClientLike) => {
    record({ event: 'client.registered', clientId: client.clientId, detail: clientDetail(client) }, ctx);
  });
  provider.on('registration_update.success', (ctx: KoaContextWithOIDC, client: ClientLike) => {
    record({ event: 'client.updated', clientId: client.clientId, detail: clientDetail(client) }, ctx);
  });
}
