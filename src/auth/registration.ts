// Dynamic client registration (RFC 7591) and its updates (RFC 7592) that explain themselves: the metadata a developer
// sends is checked here, before oidc-provider's own schema, so a refusal names every field that is wrong and how to
// fix it; a client_credentials-only backend service gets `response_types: []` inferred. The same error_description
// splits back into per-field problems for the sandbox's registration form.
import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { explainScope } from './scope-explain.js';
import { parseScope, type ResourceScope } from './scopes.js';

/** One problem with a registration, next to the metadata field it is about ('request' when it is about no one field). */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

/** What oidc-provider is configured to accept; kept beside the checks so a refusal can list the choices. */
export const SUPPORTED_AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const;
export const SUPPORTED_GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;

// The routes on which metadata was just sent by a developer; elsewhere (stored or static clients being loaded) the
// metadata was accepted before and only needs the scope mapping.
const WRITE_ROUTES = new Set(['registration', 'client_update']);
const LOOPBACKS = new Set(['localhost', '127.0.0.1', '[::1]']);
// Hosts whose http: links and images the consent page shows (src/portal/views.ts safeAppUrl).
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1']);
const FORBIDDEN_SCHEMES = new Set(['javascript:', 'vbscript:', 'data:', 'blob:', 'file:', 'about:']);
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];
const EXAMPLE_REDIRECT = 'http://localhost:3000/callback';

/**
 * A registration access token for RFC 7592 calls the server makes on a developer's behalf (the sandbox's edit page
 * calls PUT /auth/reg/:client_id through app.inject with it). It expires, so minting one per edit leaves nothing behind.
 */
export async function mintRegistrationAccessToken(provider: Provider, clientId: string, expiresInSeconds = 600): Promise<string> {
  // The library's typings give this model no constructor arguments; at run time it takes the token's properties.
  const Model = provider.RegistrationAccessToken as unknown as new (properties: { clientId: string; expiresIn: number }) => { save(): Promise<string | undefined> };
  const value = await new Model({ clientId, expiresIn: expiresInSeconds }).save();
  if (!value) throw new Error('the registration access token was not saved');
  return value;
}

/** The metadata the developer sent in this request, when this request registers or updates a client. */
export function sentMetadata(ctx: KoaContextWithOIDC | undefined): Readonly<Record<string, unknown>> | undefined {
  const oidc = ctx?.oidc;
  if (!oidc || !WRITE_ROUTES.has(oidc.route)) return undefined;
  return (oidc.body ?? {}) as Record<string, unknown>;
}

/**
 * Runs inside oidc-provider's extraClientMetadata.validator (before its schema, which it may change): on a
 * registration or update, refuses with every problem at once and infers the backend-service shape; always moves the
 * SMART scopes out of `scope` (which oidc-provider limits to its static scopes) into `smart_scope`, the allow-list.
 */
export function prepareClientMetadata(metadata: Record<string, unknown>, sent: Readonly<Record<string, unknown>> | undefined, staticScopes: readonly string[]): void {
  if (sent) {
    // `scope` as sent is the allow-list (smart_scope is derived below); a body holding only smart_scope, as read
    // before responses showed the whole list in `scope`, still means that list.
    if (metadata.scope === undefined && typeof sent.smart_scope === 'string') metadata.scope = sent.smart_scope;
    delete metadata.smart_scope;
    inferBackendService(metadata, sent);
    const problems = registrationProblems(metadata);
    if (problems.length) throw new errors.InvalidClientMetadata(describe(problems));
  }
  moveLoopbackLaunchUri(metadata);
  if (typeof metadata.scope !== 'string') return;
  const all = metadata.scope.split(' ').filter(Boolean);
  if (metadata.smart_scope === undefined) metadata.smart_scope = all.join(' ');
  const statics = all.filter((s) => staticScopes.includes(s));
  if (statics.length) metadata.scope = statics.join(' ');
  else delete metadata.scope;
}

// The routes whose response is the client's metadata (RFC 7591 §3.2.1, RFC 7592 §2.1, §2.2).
const METADATA_ROUTES = new Set(['registration', 'client', 'client_update']);

/**
 * Provider middleware: a developer reads back `scope` as registered (every scope, SMART ones too), not our split
 * into oidc-provider's static `scope` and `smart_scope`; so a read, edited and PUT back, keeps the allow-list.
 */
export async function presentRegisteredScope(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
  await next();
  const body = ctx.body as Record<string, unknown> | undefined;
  if (!ctx.oidc || !METADATA_ROUTES.has(ctx.oidc.route) || typeof body !== 'object' || body === null || Array.isArray(body)) return;
  if (typeof body.smart_scope === 'string') body.scope = body.smart_scope;
  delete body.smart_scope;
  if (typeof body.launch_uri === 'string' && body.initiate_login_uri === undefined) body.initiate_login_uri = body.launch_uri;
  delete body.launch_uri;
}

const isLoopbackHttp = (u: URL) => u.protocol === 'http:' && (LOCAL_HOSTS.has(u.hostname) || u.hostname === '[::1]');

/**
 * oidc-provider accepts only https in initiate_login_uri, but a developer's app runs on http://localhost: such a
 * launch URL is kept in our own `launch_uri` property (read wherever a launch URL is needed, shown back as
 * initiate_login_uri), so local apps can be launched like deployed ones.
 */
function moveLoopbackLaunchUri(metadata: Record<string, unknown>): void {
  const v = metadata.initiate_login_uri;
  const u = typeof v === 'string' ? URL.parse(v) : null;
  if (!u || !isLoopbackHttp(u)) return;
  metadata.launch_uri = v;
  delete metadata.initiate_login_uri;
}

/** The app's launch URL (initiate_login_uri, or its loopback http stand-in), if it registered one. */
export function launchUriOf(metadata: Readonly<Record<string, unknown>>): string | undefined {
  const v = metadata.initiate_login_uri ?? metadata.launch_uri;
  return typeof v === 'string' ? v : undefined;
}

/**
 * A backend service sends grant_types [client_credentials] and nothing about redirects: it has none. (Any grant_types
 * without authorization_code, so that a wrong grant type is reported alone rather than with redirect problems.)
 */
function inferBackendService(metadata: Record<string, unknown>, sent: Readonly<Record<string, unknown>>): void {
  const grants = sent.grant_types;
  if (!Array.isArray(grants) || !grants.length || grants.includes('authorization_code')) return;
  if (sent.response_types === undefined) metadata.response_types = [];
  if (sent.redirect_uris === undefined) metadata.redirect_uris = [];
}

/** Every problem of client metadata (defaults applied), in field order with redirect_uris first. */
export function registrationProblems(md: Readonly<Record<string, unknown>>): FieldError[] {
  const problems: FieldError[] = [];
  const add = (field: string, message: string) => problems.push({ field, message });

  const grants = checkGrantTypes(md.grant_types, add);
  const responseTypes = checkResponseTypes(md.response_types, grants, add);
  const backendOnly = grants.length > 0 && grants.every((g) => g === 'client_credentials');

  checkRedirectUris(md, responseTypes.includes('code'), add);
  if (md.application_type !== undefined && md.application_type !== 'web' && md.application_type !== 'native') {
    add('application_type', `${shown(md.application_type)} is not an application type - use web (the default) or native (apps on a phone or desktop with a custom URL scheme or a loopback redirect)`);
  }
  checkClientAuth(md, grants, add);
  checkLinks(md, add);
  checkScopes(md.scope, grants, backendOnly, add);

  return problems.sort((a, b) => Number(b.field === 'redirect_uris') - Number(a.field === 'redirect_uris'));
}

type Add = (field: string, message: string) => void;

function checkGrantTypes(value: unknown, add: Add): string[] {
  if (!Array.isArray(value)) {
    add('grant_types', 'must be a list (JSON array) - [authorization_code, refresh_token] for an app with users, [client_credentials] for a backend service');
    return [];
  }
  if (!value.length) add('grant_types', 'is empty - use [authorization_code, refresh_token] for an app with users or [client_credentials] for a backend service');
  for (const g of value) {
    if ((SUPPORTED_GRANT_TYPES as readonly unknown[]).includes(g)) continue;
    if (g === 'implicit') add('grant_types', "'implicit' is not supported - SMART apps use the authorization code flow with PKCE: use authorization_code");
    else add('grant_types', `${shown(g)} is not supported here - use authorization_code (apps with a user, plus refresh_token for offline_access) or client_credentials (backend services)`);
  }
  return value.filter((g): g is string => typeof g === 'string');
}

function checkResponseTypes(value: unknown, grants: readonly string[], add: Add): string[] {
  if (!Array.isArray(value)) {
    add('response_types', 'must be a list (JSON array) - [code] for an app with users, [] for a backend service');
    return [];
  }
  for (const r of value) {
    if (r !== 'code') add('response_types', `${shown(r)} is not supported - SMART uses the authorization code flow: send [code] (or [] for a client_credentials backend service)`);
  }
  const code = value.includes('code');
  if (code && grants.length && !grants.includes('authorization_code')) {
    add('response_types', 'a client that does not use authorization_code receives no authorization code - send response_types [] (or leave it out) for a client_credentials backend service, or add authorization_code to grant_types');
  }
  if (!code && grants.includes('authorization_code')) {
    add('response_types', 'authorization_code needs response_types [code] - send [code] or leave response_types out');
  }
  return value.filter((r): r is string => typeof r === 'string');
}

function checkRedirectUris(md: Readonly<Record<string, unknown>>, codeFlow: boolean, add: Add): void {
  const uris = md.redirect_uris;
  if (uris === undefined || (Array.isArray(uris) && uris.length === 0)) {
    if (codeFlow) {
      add('redirect_uris', `at least one redirect URI is required for the authorization code flow - add the URL your app receives the code at, such as ${EXAMPLE_REDIRECT} (a backend service registers grant_types [client_credentials] instead)`);
    }
    return;
  }
  if (!Array.isArray(uris)) {
    add('redirect_uris', `must be a list (JSON array) of URLs, even for one - e.g. [${EXAMPLE_REDIRECT}]`);
    return;
  }
  const native = md.application_type === 'native';
  for (const uri of uris) {
    if (typeof uri !== 'string' || !uri) {
      add('redirect_uris', `every entry must be a URL string, e.g. ${EXAMPLE_REDIRECT}`);
      continue;
    }
    const u = URL.parse(uri);
    if (!u) {
      add('redirect_uris', `${shown(uri)} is not an absolute URL - write it with scheme and host, e.g. ${EXAMPLE_REDIRECT}`);
      continue;
    }
    if (uri.includes('#')) add('redirect_uris', `${shown(uri)} contains a fragment (#...) - remove it: the code comes back in the query string`);
    const web = u.protocol === 'http:' || u.protocol === 'https:';
    if (!native) {
      if (!web) {
        add('redirect_uris', `${shown(uri)} is not an http(s) URL - a web app's redirect URI starts with https:// (or http:// for local testing), and an app with a custom URL scheme registers application_type native`);
      }
    } else if (u.protocol === 'http:' && !LOOPBACKS.has(u.hostname)) {
      add('redirect_uris', `${shown(uri)}: a native app may use http only on a loopback address - use http://127.0.0.1:PORT/path, or a custom scheme such as com.example.app:/callback`);
    } else if (u.protocol === 'https:' && LOOPBACKS.has(u.hostname)) {
      add('redirect_uris', `${shown(uri)}: a native app's https redirect must be on a real host it owns - for a loopback redirect use http://127.0.0.1:PORT/path`);
    } else if (FORBIDDEN_SCHEMES.has(u.protocol)) {
      add('redirect_uris', `${shown(uri)} uses the ${u.protocol} scheme, which cannot receive a code - use a custom scheme such as com.example.app:/callback`);
    }
  }
}

function checkClientAuth(md: Readonly<Record<string, unknown>>, grants: readonly string[], add: Add): void {
  const method = md.token_endpoint_auth_method;
  const choices = 'use none (public app, PKCE only), client_secret_basic or client_secret_post (confidential app with a secret), or private_key_jwt (signed JWT, with jwks or jwks_uri)';
  if (!(SUPPORTED_AUTH_METHODS as readonly unknown[]).includes(method)) {
    if (method === 'client_secret_jwt') add('token_endpoint_auth_method', `'client_secret_jwt' is not supported here (no shared-secret JWTs) - use private_key_jwt with your public key, or client_secret_basic`);
    else add('token_endpoint_auth_method', `${shown(method)} is not supported - ${choices}`);
  }
  if (method === 'none' && grants.includes('client_credentials')) {
    add('token_endpoint_auth_method', 'a backend service (client_credentials) must authenticate - use private_key_jwt with jwks or jwks_uri (SMART Backend Services) or client_secret_basic (none is only for apps with a user and PKCE)');
  }
  const hasJwks = md.jwks !== undefined;
  const hasJwksUri = md.jwks_uri !== undefined;
  if (method === 'private_key_jwt' && !hasJwks && !hasJwksUri) {
    add('jwks', 'private_key_jwt needs your public keys - add jwks_uri (the URL your JWK Set is served at) or jwks (the JWK Set itself, {keys: [...]})');
  }
  if (hasJwks && hasJwksUri) add('jwks', 'send either jwks or jwks_uri, not both - jwks_uri if you rotate keys, jwks to register them here');
  if (hasJwks) checkJwks(md.jwks, add);
  if (hasJwksUri) {
    const u = typeof md.jwks_uri === 'string' ? URL.parse(md.jwks_uri) : null;
    if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:')) {
      add('jwks_uri', `${shown(md.jwks_uri)} is not an http(s) URL - give the address your JWK Set is served at, e.g. https://app.example/.well-known/jwks.json`);
    }
  }
}

function checkJwks(jwks: unknown, add: Add): void {
  const keys = typeof jwks === 'object' && jwks !== null && !Array.isArray(jwks) ? (jwks as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(keys) || !keys.length) {
    add('jwks', 'must be a JWK Set: an object {keys: [...]} holding at least one public key');
    return;
  }
  keys.forEach((k: unknown, i) => {
    if (typeof k !== 'object' || k === null || typeof (k as { kty?: unknown }).kty !== 'string') {
      add('jwks', `key ${i + 1} is not a JWK (it needs at least kty) - export the public key as a JWK`);
      return;
    }
    const secret = PRIVATE_JWK_MEMBERS.filter((m) => m in k);
    if (secret.length) add('jwks', `key ${i + 1} holds private key material (${secret.join(', ')}) - register only the public key and keep the private one in your app`);
  });
}

function checkLinks(md: Readonly<Record<string, unknown>>, add: Add): void {
  const shownOnConsent: readonly [string, string][] = [
    ['logo_uri', 'an image, e.g. https://app.example/logo.png'],
    ['tos_uri', 'your terms of service, e.g. https://app.example/terms'],
    ['policy_uri', 'your privacy policy, e.g. https://app.example/privacy'],
  ];
  for (const [field, what] of shownOnConsent) {
    const v = md[field];
    if (v === undefined) continue;
    const u = typeof v === 'string' ? URL.parse(v) : null;
    if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:')) {
      add(field, `${shown(v)} is not a web address - use an absolute https URL of ${what}`);
    } else if (u.protocol === 'http:' && !LOCAL_HOSTS.has(u.hostname)) {
      add(field, `${shown(v)}: patients' consent page shows only https addresses (or http on localhost) - use https://${u.host}${u.pathname}`);
    }
  }
  if (md.client_uri !== undefined) {
    const u = typeof md.client_uri === 'string' ? URL.parse(md.client_uri) : null;
    if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:')) add('client_uri', `${shown(md.client_uri)} is not a web address - use your app's home page, e.g. https://app.example`);
  }
  if (md.initiate_login_uri !== undefined) {
    const u = typeof md.initiate_login_uri === 'string' ? URL.parse(md.initiate_login_uri) : null;
    if (!u || (u.protocol !== 'https:' && !isLoopbackHttp(u))) {
      add('initiate_login_uri', `${shown(md.initiate_login_uri)}: the launch URL must be an https URL, or http on localhost/127.0.0.1 while developing - e.g. https://app.example/launch`);
    }
  }
}

function checkScopes(scope: unknown, grants: readonly string[], backendOnly: boolean, add: Add): void {
  if (scope === undefined) return;
  if (typeof scope !== 'string') {
    add('scope', 'must be one string of scopes separated by spaces, e.g. openid fhirUser launch/patient patient/*.rs');
    return;
  }
  for (const raw of new Set(scope.split(' ').filter(Boolean))) {
    const why = explainScope(raw);
    if (why) {
      add('scope', why);
      continue;
    }
    const s = parseScope(raw) as ResourceScope;
    if (s.kind !== 'resource') continue;
    if (s.context === 'system' && !grants.includes('client_credentials')) {
      add('scope', `${shown(raw)} is for backend services - an app without client_credentials acts for a signed-in user: use ${raw.replace(/^system\//, 'patient/')} or ${raw.replace(/^system\//, 'user/')}, or register a backend service with grant_types [client_credentials]`);
    } else if (s.context !== 'system' && backendOnly) {
      add('scope', `${shown(raw)} needs a signed-in user - a backend service (client_credentials only) gets system/ scopes: use ${raw.replace(/^(patient|user)\//, 'system/')}`);
    }
  }
}

/** A value from the request, quoted for a message: at most 100 characters, only those error_description allows. */
function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  const clipped = text.length > 100 ? `${text.slice(0, 97)}...` : text;
  // RFC 6749 §5.2 error_description characters, minus the space, so a value can never look like a field separator.
  return `'${clipped.replace(/[^\x21\x23-\x5B\x5D-\x7E]/g, '?')}'`;
}

const SEPARATOR = '; ';

function describe(problems: readonly FieldError[]): string {
  return problems.map((p) => `${p.field}: ${p.message}`).join(SEPARATOR);
}

// Client metadata names (RFC 7591, OpenID Connect registration, ours): a refusal from oidc-provider's own schema
// starts with one ("jwks must be a JWK Set"), and ours are "name: message".
const METADATA_FIELDS = new Set([
  'application_type', 'client_id', 'client_name', 'client_secret', 'client_uri', 'contacts', 'default_max_age', 'description',
  'grant_types', 'id_token_signed_response_alg', 'initiate_login_uri', 'jwks', 'jwks_uri', 'logo_uri', 'policy_uri',
  'post_logout_redirect_uris', 'publisher', 'redirect_uris', 'require_auth_time', 'response_modes', 'response_types', 'scope',
  'sector_identifier_uri', 'smart_scope', 'software_id', 'software_version', 'subject_type', 'token_endpoint_auth_method',
  'token_endpoint_auth_signing_alg', 'tos_uri',
]);

/**
 * A registration refusal's error_description as per-field problems, in order: `field` is the client metadata name
 * (redirect_uris, scope, jwks, ...), or 'request' when the problem is not about one field.
 */
export function registrationFieldErrors(errorDescription: string): FieldError[] {
  const problems: FieldError[] = [];
  // A new problem starts at "; <metadata name>: " (values in messages are quoted without spaces, so never look alike).
  const parts: string[] = [];
  let start = 0;
  for (const m of errorDescription.matchAll(/; ([a-z][a-z0-9_]*): /g)) {
    if (!METADATA_FIELDS.has(m[1]!)) continue;
    parts.push(errorDescription.slice(start, m.index));
    start = m.index + 2;
  }
  parts.push(errorDescription.slice(start));
  for (const part of parts) {
    if (!part.trim()) continue;
    const named = /^([a-z][a-z0-9_]*)(: )?/.exec(part);
    const field = named && METADATA_FIELDS.has(named[1]!) ? named[1]! : undefined;
    if (field && named![2]) problems.push({ field, message: part.slice(named![0].length) });
    else problems.push({ field: field ?? 'request', message: part });
  }
  return problems;
}
