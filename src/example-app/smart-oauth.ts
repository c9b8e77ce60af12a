// The SMART side of OAuth, on @fastify/oauth2: discovery from the FHIR server, the authorization request (PKCE S256,
// state, `aud`, `launch`), the code exchange and the refresh. Everything SMART adds to plain OAuth is commented.
import fastifyOauth2, { type OAuth2Namespace, type Token } from '@fastify/oauth2';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Client } from 'fhir-kit-client';
import type { TokenSet } from './sessions.js';

export interface SmartEndpoints {
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly revocationEndpoint?: string;
}

/**
 * SMART discovery: a FHIR server publishes its OAuth endpoints at `<FHIR base>/.well-known/smart-configuration`. An
 * app never guesses them from the FHIR URL and never takes them from the launch request.
 */
export async function discoverSmart(fhirBaseUrl: string): Promise<SmartEndpoints> {
  const doc = (await new Client({ baseUrl: fhirBaseUrl }).request('.well-known/smart-configuration')) as Record<string, unknown>;
  const { authorization_endpoint: authorize, token_endpoint: token, revocation_endpoint: revocation, code_challenge_methods_supported: pkce } = doc;
  if (typeof authorize !== 'string' || typeof token !== 'string') throw new Error(`${fhirBaseUrl}/.well-known/smart-configuration names no authorization_endpoint and token_endpoint`);
  // PKCE is what protects a public client's code; a server that cannot check S256 is not one to send patients to.
  if (!Array.isArray(pkce) || !pkce.includes('S256')) throw new Error(`${fhirBaseUrl} does not support PKCE with S256 (code_challenge_methods_supported)`);
  return { authorizationEndpoint: authorize, tokenEndpoint: token, ...(typeof revocation === 'string' ? { revocationEndpoint: revocation } : {}) };
}

/**
 * The data this app shows, plus offline_access for a refresh token; `launch` or `launch/patient` is added per flow.
 * Medication is read only through a prescription's `_include` (it is a drug, not part of anyone's record).
 */
export const DATA_SCOPES = [
  'offline_access',
  'patient/Patient.rs',
  'patient/Condition.rs',
  'patient/Observation.rs',
  'patient/MedicationRequest.rs',
  'patient/Medication.rs',
  'patient/MedicationStatement.rs',
  'patient/AllergyIntolerance.rs',
  'patient/Immunization.rs',
] as const;

export interface SmartOAuthOptions {
  readonly endpoints: SmartEndpoints;
  readonly clientId: string;
  /** Only for a confidential client; a public one (the default) proves itself with PKCE alone */
  readonly clientSecret?: string;
  readonly redirectUri: string;
  readonly secureCookies: boolean;
}

export interface AuthorizeRequest {
  /** The FHIR server the token is for: sent as `aud` */
  readonly aud: string;
  /** EHR launch: the opaque `launch` value the EHR passed to /launch */
  readonly launch?: string;
}

export interface SmartOAuth {
  /** Sets the state and PKCE cookies on `reply` and returns the authorization URL to send the browser to */
  authorizeUrl(req: FastifyRequest, reply: FastifyReply, request: AuthorizeRequest): Promise<string>;
  /** Checks state, sends the code with the PKCE verifier, clears the flow cookies; throws on any failure */
  exchangeCode(req: FastifyRequest, reply: FastifyReply): Promise<TokenSet>;
  refresh(tokens: TokenSet): Promise<TokenSet>;
  /** After an error response there is nothing to exchange, but the state and verifier must not linger */
  clearFlowCookies(reply: FastifyReply): void;
}

const STATE_COOKIE = 'smart-state';
const VERIFIER_COOKIE = 'smart-pkce-verifier';

function hostAndPath(url: string): { host: string; path: string } {
  const u = new URL(url);
  return { host: u.origin, path: u.pathname };
}

export async function registerSmartOAuth(app: FastifyInstance, opts: SmartOAuthOptions): Promise<SmartOAuth> {
  const authorize = hostAndPath(opts.endpoints.authorizationEndpoint);
  const token = hostAndPath(opts.endpoints.tokenEndpoint);
  await app.register(fastifyOauth2, {
    name: 'smart',
    scope: [...DATA_SCOPES],
    credentials: {
      // A public client sends its client_id in the body and no secret; a confidential one uses HTTP Basic.
      client: { id: opts.clientId, secret: opts.clientSecret ?? '' },
      auth: {
        authorizeHost: authorize.host,
        authorizePath: authorize.path,
        tokenHost: token.host,
        tokenPath: token.path,
        ...(opts.endpoints.revocationEndpoint ? { revokePath: new URL(opts.endpoints.revocationEndpoint).pathname } : {}),
      },
      options: { authorizationMethod: opts.clientSecret ? 'header' : 'body' },
    },
    callbackUri: opts.redirectUri,
    // PKCE (RFC 7636): the verifier stays in an HttpOnly cookie, only its S256 hash travels in the authorization
    // request, so a code caught on its way back (browser history, a malicious app on the phone) cannot be redeemed.
    pkce: 'S256',
    redirectStateCookieName: STATE_COOKIE,
    verifierCookieName: VERIFIER_COOKIE,
    cookie: { path: '/', secure: opts.secureCookies, sameSite: 'lax' },
  });
  // The plugin decorates the instance as `smart` and, typed, as `oauth2Smart`.
  const oauth: OAuth2Namespace = app.oauth2Smart!;

  return {
    async authorizeUrl(req, reply, request) {
      // The generated URL carries response_type, client_id, redirect_uri, scope, state and the PKCE challenge.
      const url = new URL(await oauth.generateAuthorizationUri(req, reply));
      // EHR launch asks for `launch` (the EHR decides the patient); standalone asks for `launch/patient` (the
      // patient, or their proxy, picks whose record after signing in).
      url.searchParams.set('scope', `${url.searchParams.get('scope') ?? ''} ${request.launch ? 'launch' : 'launch/patient'}`.trim());
      // `aud` names the FHIR server the token is for, so a token obtained here can never be replayed against another
      // server, and a server that is not `aud` refuses to issue it (SMART requires it on every authorization request).
      url.searchParams.set('aud', request.aud);
      if (request.launch) url.searchParams.set('launch', request.launch);
      return url.toString();
    },
    async exchangeCode(req, reply) {
      return (await oauth.getAccessTokenFromAuthorizationCodeFlow(req, reply)).token as unknown as TokenSet;
    },
    async refresh(tokens) {
      const next = (await oauth.getNewAccessTokenUsingRefreshToken(tokens as unknown as Token, {})).token as unknown as TokenSet;
      // Refresh tokens rotate here; keep the old one only if the server chose not to send a new one.
      return { ...next, refresh_token: next.refresh_token ?? tokens.refresh_token };
    },
    clearFlowCookies(reply) {
      reply.clearCookie(STATE_COOKIE, { path: '/' });
      reply.clearCookie(VERIFIER_COOKIE, { path: '/' });
    },
  };
}

/** The `error` and `error_description` of an OAuth error response the library threw, if that is what it was. */
export function oauthErrorOf(err: unknown): { error: string; description?: string } | undefined {
  let payload = (err as { data?: { payload?: unknown } } | null)?.data?.payload;
  if (Buffer.isBuffer(payload)) {
    try {
      payload = JSON.parse(payload.toString('utf8'));
    } catch {
      return undefined;
    }
  }
  const body = payload as { error?: unknown; error_description?: unknown } | undefined;
  if (!body || typeof body.error !== 'string') return undefined;
  return { error: body.error, ...(typeof body.error_description === 'string' ? { description: body.error_description } : {}) };
}
