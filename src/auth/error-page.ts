// The page oidc-provider shows when it cannot send an error back to the app (unknown client_id, a redirect_uri that
// is not registered, ...): in our style, saying what the app's developer has to fix. In sandbox mode it also lists
// the app's registered redirect URIs and links to the registration page; in production it stays terse.
import type { ErrorOut, KoaContextWithOIDC } from 'oidc-provider';
import { renderMessage, type MessageModel } from '../portal/views.js';
import { contentSecurityPolicy } from '../portal/web-security.js';
import { explainAuthorizationError } from './authorization-errors.js';

export interface ErrorPageOptions {
  readonly sandbox: boolean;
  readonly siteName: string;
}

/** The sandbox page where a developer registers an app */
export const SANDBOX_REGISTER_PATH = '/sandbox/apps/new';

/** What the page is built from: the error and what the request said about the app. */
export interface ErrorPageInput {
  /** False for the endpoints other than authorization (token, logout, ...), whose errors say nothing about an app */
  readonly authorization: boolean;
  readonly error: string;
  readonly description?: string;
  readonly clientId?: string;
  /** The app, when client_id names a registered one */
  readonly client?: { readonly name?: string; readonly redirectUris: readonly string[] };
  readonly redirectUri?: string;
}

const BACK = 'If an app sent you here, go back to it and try again later; its developer has to fix this.';

/** The page's content: a title, paragraphs and at most one link. Every string is escaped when rendered. */
export function errorPageModel(input: ErrorPageInput, opts: ErrorPageOptions): MessageModel {
  const base = { siteName: opts.siteName, tone: 'error' as const };
  const { clientId, client, redirectUri } = input;
  const appName = client?.name ? `${client.name} (client_id ${clientId})` : `client_id ${clientId}`;

  if (!input.authorization) {
    const text = input.description ? `${input.error}: ${input.description}` : input.error;
    return { ...base, title: 'Request refused', text: [`The request was refused (${text}).`] };
  }
  if (!clientId) {
    return { ...base, title: 'The app did not say who it is', text: ['The authorization request has no client_id. Send the client_id the app received when it was registered.', BACK] };
  }
  if (input.error === 'invalid_client' && !client) {
    const text = [`No app with client_id ${clientId} is registered here.`];
    if (!opts.sandbox) return { ...base, title: 'Unknown app', text: [...text, BACK] };
    return {
      ...base,
      title: 'Unknown app',
      text: [...text, 'Check the client_id your app sends (it is case-sensitive), or register the app in the sandbox and use the client_id it is given.'],
      link: { href: SANDBOX_REGISTER_PATH, text: 'Register an app' },
    };
  }
  if (input.error === 'invalid_redirect_uri' || (!redirectUri && client && /\bredirect_uri\b/.test(input.description ?? ''))) {
    const sent = redirectUri ? `The redirect_uri this request sent, ${redirectUri}, is not registered for ${appName}.` : `The request has no redirect_uri, and ${appName} has more than one registered: it must say which.`;
    if (!opts.sandbox) return { ...base, title: 'Redirect URI not registered', text: [sent, BACK] };
    const registered = client?.redirectUris ?? [];
    const text = registered.length
      ? [
          sent,
          `Registered redirect URIs: ${registered.join(', ')}.`,
          'Send one of these exactly (scheme, host, port and path must all match), or add this one to the app’s redirect URIs (RFC 7592 PUT /auth/reg/<client_id>, or edit the app in the sandbox).',
        ]
      : [sent, 'This app has no redirect URIs: it is registered as a backend service (client_credentials), which never uses this page. Register an app with redirect URIs for the authorization code flow.'];
    return { ...base, title: 'Redirect URI not registered', text };
  }
  const description = input.description ? `${input.error}: ${input.description}` : input.error;
  return { ...base, title: 'The authorization request could not be handled', text: [`The request from ${appName} was refused (${description}).`, BACK] };
}

/** oidc-provider's renderError, for the authorization endpoint and any other error it renders as HTML. */
export function renderErrorPage(opts: ErrorPageOptions) {
  return async (ctx: KoaContextWithOIDC, out: ErrorOut): Promise<void> => {
    const params = ((ctx.oidc?.params ?? ctx.query) ?? {}) as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
    const client = ctx.oidc?.client;
    const clientId = str(params.client_id) ?? client?.clientId;
    const redirectUri = str(params.redirect_uri);
    const description = explainAuthorizationError(str(out.error_description), params);
    const input: ErrorPageInput = {
      authorization: ctx.oidc?.route === 'authorization' || ctx.oidc?.route === 'resume',
      error: String(out.error),
      ...(description ? { description } : {}),
      ...(clientId ? { clientId } : {}),
      ...(client ? { client: { ...(client.clientName ? { name: client.clientName } : {}), redirectUris: client.redirectUris ?? [] } } : {}),
      ...(redirectUri ? { redirectUri } : {}),
    };
    ctx.type = 'html';
    ctx.set('content-security-policy', contentSecurityPolicy());
    ctx.set('x-frame-options', 'DENY');
    ctx.set('cache-control', 'no-store');
    ctx.body = renderMessage(errorPageModel(input, opts));
  };
}
