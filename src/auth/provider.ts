// The declarative oidc-provider configuration for SMART App Launch 2.2: resource indicators as the scope engine,
// PKCE everywhere, aud and launch validation, one grant per authorization, launch context in our table.
import Provider, { errors, interactionPolicy, type ClientMetadata, type Configuration, type KoaContextWithOIDC, type ResourceServer } from 'oidc-provider';
import type { JWK } from 'jose';
import type { SmartContextStore } from '../store/smart-context.js';
import type { AdapterFactory } from './adapter.js';
import { clientBasedCors } from './client-cors.js';
import { parseScopes, scopeCovers, type Scope } from './scopes.js';
import { databaseUnavailableAsOAuthError } from './database-unavailable.js';
import { namePublicClientOnRefresh } from './public-refresh.js';
import { explainAuthorizationRedirects, launchProblem, missingLaunchProblem } from './authorization-errors.js';
import { renderErrorPage, type ErrorPageOptions } from './error-page.js';
import { prepareClientMetadata, presentRegisteredScope, sentMetadata } from './registration.js';
import { CLOCK_TOLERANCE_SECONDS, assertClientAssertion } from './client-assertion.js';
import { denyFraming } from './page-framing.js';
import { refuseEndedGrant, type AccessEndsAt } from './ended-grants.js';

/** Who a signed-in account is, for the ID token; the portal (next issue) supplies the real directory. */
export interface AccountInfo {
  readonly accountId: string;
  /** Relative FHIR reference of the user: Patient/123, RelatedPerson/…, Practitioner/… */
  readonly fhirUser: string;
  readonly name?: string;
}

export interface AccountDirectory {
  findAccount(accountId: string): Promise<AccountInfo | undefined>;
}

export interface ProviderDeps {
  readonly issuer: string;
  readonly fhirBaseUrl: string;
  readonly adapter: AdapterFactory;
  readonly signingKeys: readonly JWK[];
  readonly cookieKeys: readonly string[];
  readonly clients: readonly ClientMetadata[];
  readonly accounts: AccountDirectory;
  readonly contexts: SmartContextStore;
  /** Open dynamic registration (sandbox) or registration behind this initial access token */
  readonly registration: { readonly open: true } | { readonly open: false; readonly initialAccessToken: string };
  readonly secureCookies: boolean;
  /** Sandbox: let jwks_uri point at loopback and private addresses (a developer's laptop); production keeps the SSRF guard */
  readonly allowPrivateFetch: boolean;
  /** A sign-in session ends after this long without use (seconds) */
  readonly sessionIdleSeconds: number;
  /** The error page shown when the app cannot be redirected to (sandbox mode explains more) */
  readonly errorPage: ErrorPageOptions;
  /** Sandbox mode: launch drills may shorten access-token lifetimes */
  readonly sandbox: boolean;
  /** When a grant's access ends by itself (proxy end, chosen duration): no code exchange or refresh after it */
  readonly accessEndsAt?: AccessEndsAt;
}

export const STATIC_SCOPES = ['openid', 'fhirUser', 'profile', 'offline_access', 'online_access', 'launch', 'launch/patient', 'launch/encounter'] as const;
export const ACCESS_TOKEN_TTL = 3600;

/** The SMART scopes a client may be granted: requested ∩ valid ∩ the client's allow-list, with context rules. */
export function allowedScopes(requested: Iterable<string>, client: { smartScope?: string; grantTypes: readonly string[] }, grantType: 'user' | 'backend'): string[] {
  const { scopes } = parseScopes([...requested].join(' '));
  const allowList = client.smartScope ? parseScopes(client.smartScope).scopes : undefined;
  return scopes
    .filter((s: Scope) => {
      // Backend services get system/ scopes only; user-facing flows never do.
      if (s.kind === 'resource') {
        if ((grantType === 'backend') !== (s.context === 'system')) return false;
      } else if (grantType === 'backend') return false;
      return !allowList || allowList.some((a) => scopeCovers(a, s));
    })
    .map((s) => s.raw);
}

function clientInfo(client: { metadata(): Record<string, unknown>; grantTypes?: readonly string[] }) {
  const md = client.metadata();
  return { smartScope: typeof md.smart_scope === 'string' ? md.smart_scope : undefined, grantTypes: (md.grant_types as string[] | undefined) ?? [] };
}

export function buildProvider(deps: ProviderDeps): Provider {
  const fhirBase = deps.fhirBaseUrl;
  const { Prompt, Check, base } = interactionPolicy;
  const policy = base();
  // SMART standalone launch: after login, ask whose record (the portal decides whether there is a choice).
  policy.add(
    new Prompt(
      { name: 'patient_select', requestable: false },
      new Check('patient_required', 'a patient must be selected', (ctx: KoaContextWithOIDC) => {
        const oidc = ctx.oidc;
        if (!oidc.requestParamScopes.has('launch/patient')) return Check.NO_NEED_TO_PROMPT;
        if (oidc.params?.launch) return Check.NO_NEED_TO_PROMPT;
        const result = oidc.result as { patient_select?: { patient?: string } } | undefined;
        return result?.patient_select?.patient ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
      }),
    ),
    1,
  );

  const getResourceServerInfo = async (ctx: KoaContextWithOIDC, resource: string, client: Parameters<NonNullable<NonNullable<NonNullable<Configuration['features']>['resourceIndicators']>['getResourceServerInfo']>>[2]): Promise<ResourceServer> => {
    if (resource.replace(/\/$/, '') !== fhirBase) throw new errors.InvalidTarget(`the only resource served here is ${fhirBase}`);
    const e = ctx.oidc.entities as { AuthorizationCode?: { scope?: string; grantId?: string }; RefreshToken?: { scope?: string; grantId?: string } };
    const params = ctx.oidc.params as { scope?: string; grant_type?: string } | undefined;
    // Called at /authorize, at the code exchange, at refresh and for client_credentials: keep what each carries.
    const candidates = new Set([
      ...(params?.scope ?? '').split(' '),
      ...(e.AuthorizationCode?.scope ?? '').split(' '),
      ...(e.RefreshToken?.scope ?? '').split(' '),
    ].filter(Boolean));
    const backend = params?.grant_type === 'client_credentials';
    const scope = allowedScopes(candidates, clientInfo(client as never), backend ? 'backend' : 'user').join(' ');
    // A sandbox drill can shorten the life of a launch's access tokens (its context says so); everyone else gets the default.
    const grantId = e.AuthorizationCode?.grantId ?? e.RefreshToken?.grantId;
    // Only the sandbox has drills: production token requests do not pay for the lookup.
    const ttl = grantId && deps.sandbox ? (await deps.contexts.get(grantId))?.accessTokenTtl : undefined;
    return { scope, audience: fhirBase, accessTokenTTL: ttl ?? ACCESS_TOKEN_TTL, accessTokenFormat: 'opaque' };
  };

  const configuration: Configuration = {
    adapter: deps.adapter,
    clients: [...deps.clients],
    jwks: { keys: [...deps.signingKeys] as never },
    cookies: {
      keys: [...deps.cookieKeys],
      long: { httpOnly: true, sameSite: 'lax', secure: deps.secureCookies },
      short: { httpOnly: true, sameSite: 'lax', secure: deps.secureCookies },
    },
    scopes: [...STATIC_SCOPES],
    claims: { openid: ['sub'], fhirUser: ['fhirUser'], profile: ['name'] },
    findAccount: async (ctx, sub, token) => {
      // At the token endpoint `token` is the code or refresh token being redeemed, before any new token is made.
      if (token && deps.accessEndsAt && ctx.oidc?.route === 'token') await refuseEndedGrant(deps.accessEndsAt, token);
      const account = await deps.accounts.findAccount(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        claims: () => ({ sub, fhirUser: `${fhirBase}/${account.fhirUser}`, ...(account.name ? { name: account.name } : {}) }),
      };
    },
    extraParams: {
      async aud(_ctx, value) {
        if (value === undefined) throw new errors.InvalidRequest(`aud is required and must be this FHIR server's base URL (${fhirBase})`);
        if (value.replace(/\/$/, '') !== fhirBase) throw new errors.InvalidRequest(`aud '${value}' is not this FHIR server (${fhirBase}) - send aud=${fhirBase}, this server's FHIR base URL`);
      },
      async launch(ctx, value, client) {
        const problem =
          value === undefined
            ? missingLaunchProblem((ctx.oidc.params as { scope?: string } | undefined)?.scope)
            : launchProblem(await deps.contexts.findLaunch(value), client.clientId, Date.now());
        if (problem) throw new errors.InvalidRequest(problem);
      },
    },
    extraClientMetadata: {
      // publisher and description are shown to patients on the consent screen.
      // launch_uri: an http launch URL on loopback, which initiate_login_uri may not hold (registration.ts).
      properties: ['smart_scope', 'logo_uri', 'tos_uri', 'policy_uri', 'publisher', 'description', 'launch_uri'],
      // Runs before schema validation (once per property: the first is enough) and may mutate: registrations and
      // updates are checked field by field, and the SMART scopes move out of `scope` (see registration.ts).
      validator(ctx, key, _value, metadata) {
        if (key === 'smart_scope') prepareClientMetadata(metadata as Record<string, unknown>, sentMetadata(ctx), STATIC_SCOPES);
      },
    },
    features: {
      devInteractions: { enabled: false },
      dPoP: { enabled: false },
      clientCredentials: { enabled: true },
      // A client may introspect or revoke only its own tokens (RFC 7662 §4, RFC 7009 §2.1).
      introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      registration: deps.registration.open ? { enabled: true, initialAccessToken: false } : { enabled: true, initialAccessToken: deps.registration.initialAccessToken },
      // RFC 7592: GET/PUT/DELETE /auth/reg/:client_id with the registration access token, which stays the same.
      registrationManagement: { enabled: true, rotateRegistrationAccessToken: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => fhirBase,
        useGrantedResource: () => true,
        getResourceServerInfo,
      },
    },
    enabledJWA: {
      clientAuthSigningAlgValues: ['RS256', 'RS384', 'ES256', 'ES384', 'PS256'],
      idTokenSigningAlgValues: ['RS256', 'ES256'],
    },
    pkce: { required: () => true },
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
    assertJwtClientAuthClaimsAndHeader: assertClientAssertion,
    // One grant per authorization: the launch context is keyed by grant, and consent is asked every time.
    loadExistingGrant: async (ctx) => {
      const grantId = (ctx.oidc.result as { consent?: { grantId?: string } } | undefined)?.consent?.grantId;
      return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
    },
    issueRefreshToken: async (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') && (code.scopes.has('offline_access') || code.scopes.has('online_access')),
    extraTokenClaims: async (_ctx, token) => {
      const grantId = (token as { grantId?: string }).grantId;
      const c = grantId ? await deps.contexts.get(grantId) : undefined;
      if (!c) return undefined;
      return {
        ...(c.patient ? { patient: c.patient } : {}),
        ...(c.encounter ? { encounter: c.encounter } : {}),
        ...(c.fhirUser ? { fhirUser: `${fhirBase}/${c.fhirUser}` } : {}),
        ...(c.fhirContext ? { fhirContext: c.fhirContext } : {}),
        ...(c.needPatientBanner !== undefined ? { need_patient_banner: c.needPatientBanner } : {}),
        ...(c.smartStyleUrl ? { smart_style_url: c.smartStyleUrl } : {}),
      };
    },
    interactions: { policy, url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    ...(deps.allowPrivateFetch
      ? { fetch: (url: string | URL | Request, options?: RequestInit) => fetch(url, { ...options, dispatcher: undefined } as RequestInit) }
      : {}),
    ttl: {
      // The resource server's TTL (getResourceServerInfo: a sandbox drill may shorten it), else the default.
      AccessToken: (_ctx, token) => (token as { resourceServer?: { accessTokenTTL?: number } }).resourceServer?.accessTokenTTL ?? ACCESS_TOKEN_TTL,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 3600,
      // Every authorization re-saves the session, so this is an idle limit, like the portal's.
      Session: deps.sessionIdleSeconds,
      RefreshToken: 90 * 24 * 3600,
      Grant: 365 * 24 * 3600,
      ClientCredentials: 300,
    },
    clientDefaults: { id_token_signed_response_alg: 'RS256', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] },
    responseTypes: ['code'],
    renderError: renderErrorPage(deps.errorPage),
    clientBasedCORS: clientBasedCors,
  };

  const provider = new Provider(deps.issuer, configuration);
  provider.use(databaseUnavailableAsOAuthError(provider));
  provider.use(namePublicClientOnRefresh(provider));
  provider.use(explainAuthorizationRedirects);
  provider.use(presentRegisteredScope);
  provider.use(denyFraming);

  // SMART token-response members that oidc-provider does not know: added to the finished body for the code
  // exchange and for refresh alike (both expose the grant).
  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body as Record<string, unknown> | undefined;
    if (ctx.oidc?.route !== 'token') return;
    // HTTP/1.0 caches only understand Pragma; SMART asks for both on every token response.
    ctx.set('Pragma', 'no-cache');
    if (ctx.status !== 200 || !body?.access_token) return;
    const grantId = (ctx.oidc.entities as { Grant?: { jti: string } }).Grant?.jti;
    const c = grantId ? await deps.contexts.get(grantId) : undefined;
    if (!c) return;
    // The sandbox simulator's "inspect the last launch" needs the token itself; only simulator launches keep it.
    if (c.launchId && typeof body.access_token === 'string') await deps.contexts.rememberLaunchToken(grantId!, body.access_token);
    for (const [k, v] of Object.entries({
      patient: c.patient,
      encounter: c.encounter,
      fhirContext: c.fhirContext,
      need_patient_banner: c.needPatientBanner,
      smart_style_url: c.smartStyleUrl,
    })) {
      if (v !== undefined && !(k in body)) body[k] = v;
    }
  });
  return provider;
}
