// Which browser origins may call the endpoints where a client identifies itself (token, introspection, revocation):
// oidc-provider asks this for every cross-origin request there. A browser-only SMART app (fhirclient, a SPA) is a
// public client that exchanges its code from its own page, so the origins of its redirect URIs are where it runs.
// A confidential client's secret or key has no business in a browser, so browsers get no CORS for it; its server
// calls us without an Origin and is not affected. `Origin: null` (sandboxed frames, file://) is never trusted.
import type { Configuration } from 'oidc-provider';

type ClientBasedCors = NonNullable<Configuration['clientBasedCORS']>;

export const clientBasedCors: ClientBasedCors = (ctx, origin, client) => {
  if (origin === 'null') return false;
  // userinfo is called with the access token, not as the client: any of the client's own origins will do.
  if (client.clientAuthMethod !== 'none' && ctx.oidc.route !== 'userinfo') return false;
  return (client.redirectUris ?? []).some((uri) => URL.canParse(uri) && new URL(uri).origin === origin);
};
