// The sandbox's "Register an app" pages as a domain: a form becomes RFC 7591 metadata and goes through the server's
// own registration endpoint (/auth/reg, and RFC 7592 for edits), so the pages and `curl` meet exactly the same
// rules and messages. Listing reads the provider's clients; deleting ends every grant and token of the app.
import type { FastifyInstance } from 'fastify';
import type Provider from 'oidc-provider';
import type { ClientMetadata } from 'oidc-provider';
import type { OidcModelStore } from '../store/oidc-models.js';
import { launchUriOf, mintRegistrationAccessToken, registrationFieldErrors } from '../auth/registration.js';

export type ClientKind = 'public' | 'secret' | 'keys' | 'backend';

/** The registration form's fields, as posted. */
export interface AppForm {
  readonly name: string;
  readonly description: string;
  readonly publisher: string;
  readonly logoUri: string;
  readonly tosUri: string;
  readonly policyUri: string;
  /** One URI per line (or separated by spaces) */
  readonly redirectUris: string;
  readonly launchUri: string;
  readonly kind: string;
  /** A JWK Set as JSON text */
  readonly jwks: string;
  readonly jwksUri: string;
  /** Ticked scopes */
  readonly scopes: readonly string[];
  /** More scopes, space separated */
  readonly scopeText: string;
}

export type AppFormField = keyof AppForm;
export type AppFormErrors = Partial<Record<AppFormField, string>>;

export interface SandboxApp {
  readonly clientId: string;
  readonly name: string;
  readonly kind: ClientKind;
  /** Registered here (dynamically): can be edited and deleted. Demo and CLIENTS_FILE apps are fixed. */
  readonly editable: boolean;
  readonly redirectUris: readonly string[];
  readonly launchUri?: string;
  /** The scopes the app may ask for */
  readonly scope: string;
  readonly metadata: Readonly<Record<string, unknown>>;
}

export interface Registered {
  readonly app: SandboxApp;
  /** Shown once, on the result page; never stored in a readable form */
  readonly clientSecret?: string;
}

export type RegistrationOutcome = { readonly ok: true; readonly result: Registered } | { readonly ok: false; readonly errors: AppFormErrors };

export const CLIENT_KINDS: readonly { readonly value: ClientKind; readonly label: string; readonly hint: string }[] = [
  { value: 'public', label: 'Public app (browser or phone), PKCE', hint: 'No secret: the app proves itself with PKCE. For single-page and mobile apps.' },
  { value: 'secret', label: 'Confidential app with a client secret', hint: 'A server-side app that authenticates with client_secret_basic.' },
  { value: 'keys', label: 'Confidential app with a key (JWKS or JWKS URL)', hint: 'private_key_jwt: the app signs a JWT with its private key (RS384 or ES384).' },
  { value: 'backend', label: 'Backend service (client_credentials, no user)', hint: 'system/ scopes only. Signs in with a key (JWKS or JWKS URL); leave both empty to get a client secret instead.' },
];

// RFC 7591 metadata names → the form field that holds them, so each refusal lands next to its field.
const FIELD_OF: Readonly<Record<string, AppFormField>> = {
  client_name: 'name',
  description: 'description',
  publisher: 'publisher',
  logo_uri: 'logoUri',
  tos_uri: 'tosUri',
  policy_uri: 'policyUri',
  redirect_uris: 'redirectUris',
  initiate_login_uri: 'launchUri',
  token_endpoint_auth_method: 'kind',
  grant_types: 'kind',
  response_types: 'kind',
  jwks: 'jwks',
  jwks_uri: 'jwksUri',
  scope: 'scopeText',
  smart_scope: 'scopeText',
};

const words = (text: string) => text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);

/** The form as RFC 7591 metadata; problems the form itself can see (JSON that does not parse) come back per field. */
export function metadataFromForm(form: AppForm): { metadata: Record<string, unknown> } | { errors: AppFormErrors } {
  const errors: AppFormErrors = {};
  const kind = CLIENT_KINDS.find((k) => k.value === form.kind)?.value;
  if (!kind) errors.kind = 'Choose what kind of app this is.';
  if (!form.name.trim()) errors.name = 'Give the app a name: patients see it on the consent screen.';
  let jwks: unknown;
  if (form.jwks.trim()) {
    try {
      jwks = JSON.parse(form.jwks);
    } catch {
      errors.jwks = 'The JWKS is not valid JSON. Paste a JWK Set: {"keys":[{...public key...}]}.';
    }
  }
  if (Object.keys(errors).length) return { errors };
  const optional = (key: string, value: string) => (value.trim() ? { [key]: value.trim() } : {});
  const scope = [...new Set([...form.scopes, ...words(form.scopeText)])].join(' ');
  const keys = { ...(jwks !== undefined ? { jwks } : {}), ...optional('jwks_uri', form.jwksUri) };
  const hasKeys = Object.keys(keys).length > 0;
  const byKind: Record<ClientKind, Record<string, unknown>> = {
    public: { token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] },
    secret: { token_endpoint_auth_method: 'client_secret_basic', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] },
    keys: { token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: undefined, grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], ...keys },
    backend: { token_endpoint_auth_method: hasKeys ? 'private_key_jwt' : 'client_secret_basic', grant_types: ['client_credentials'], ...keys },
  };
  const metadata: Record<string, unknown> = {
    client_name: form.name.trim(),
    ...optional('description', form.description),
    ...optional('publisher', form.publisher),
    ...optional('logo_uri', form.logoUri),
    ...optional('tos_uri', form.tosUri),
    ...optional('policy_uri', form.policyUri),
    ...(kind !== 'backend' ? { redirect_uris: words(form.redirectUris), ...optional('initiate_login_uri', form.launchUri) } : {}),
    ...(scope ? { scope } : {}),
    ...byKind[kind!],
  };
  for (const k of Object.keys(metadata)) if (metadata[k] === undefined) delete metadata[k];
  return { metadata };
}

/** The stored metadata back as a form, for the edit page. */
export function formFromApp(app: SandboxApp): AppForm {
  const md = app.metadata;
  const s = (k: string) => (typeof md[k] === 'string' ? (md[k] as string) : '');
  return {
    name: app.name,
    description: s('description'),
    publisher: s('publisher'),
    logoUri: s('logo_uri'),
    tosUri: s('tos_uri'),
    policyUri: s('policy_uri'),
    redirectUris: app.redirectUris.join('\n'),
    launchUri: app.launchUri ?? '',
    kind: app.kind,
    jwks: md.jwks ? JSON.stringify(md.jwks, null, 2) : '',
    jwksUri: s('jwks_uri'),
    scopes: [],
    scopeText: app.scope,
  };
}

function kindOf(md: Readonly<Record<string, unknown>>): ClientKind {
  const grants = (md.grant_types as string[] | undefined) ?? [];
  if (grants.includes('client_credentials') && !grants.includes('authorization_code')) return 'backend';
  const method = md.token_endpoint_auth_method;
  if (method === 'none') return 'public';
  if (method === 'private_key_jwt') return 'keys';
  return 'secret';
}

function appFrom(md: Readonly<Record<string, unknown>>, editable: boolean): SandboxApp {
  const clientId = String(md.client_id);
  // oidc-provider keeps the static scopes in `scope` and SMART ones in our `smart_scope` (see provider.ts).
  const scope = typeof md.smart_scope === 'string' ? md.smart_scope : typeof md.scope === 'string' ? md.scope : '';
  return {
    clientId,
    name: typeof md.client_name === 'string' && md.client_name ? md.client_name : clientId,
    kind: kindOf(md),
    editable,
    redirectUris: (md.redirect_uris as string[] | undefined) ?? [],
    ...(launchUriOf(md) ? { launchUri: launchUriOf(md)! } : {}),
    scope,
    metadata: md,
  };
}

export interface AppRegistryDeps {
  /** The server itself: registrations go through its /auth/reg routes */
  readonly server: FastifyInstance;
  readonly provider: Provider;
  readonly models: OidcModelStore;
  /** Clients from the provider's configuration (demo apps, CLIENTS_FILE): listed, never edited here */
  readonly staticClients: readonly ClientMetadata[];
  /** Ends every grant and token of the client, then removes it */
  readonly deleteClient: (clientId: string) => Promise<boolean>;
}

type RegistrationBody = Record<string, unknown> & { error?: string; error_description?: string; client_id?: string; client_secret?: string };

export class AppRegistry {
  constructor(private readonly deps: AppRegistryDeps) {}

  /** Demo and configured apps first, then the registered ones. */
  async list(): Promise<SandboxApp[]> {
    const fixed: SandboxApp[] = [];
    for (const c of this.deps.staticClients) {
      const client = await this.deps.provider.Client.find(c.client_id);
      if (client) fixed.push(appFrom(client.metadata() as Record<string, unknown>, false));
    }
    const fixedIds = new Set(fixed.map((a) => a.clientId));
    const registered = (await this.deps.models.listClients()).filter((r) => !fixedIds.has(r.clientId)).map((r) => appFrom({ ...r.payload, client_id: r.clientId }, true));
    return [...fixed, ...registered];
  }

  async find(clientId: string): Promise<SandboxApp | undefined> {
    return (await this.list()).find((a) => a.clientId === clientId);
  }

  async register(form: AppForm): Promise<RegistrationOutcome> {
    const built = metadataFromForm(form);
    if ('errors' in built) return { ok: false, errors: built.errors };
    const res = await this.deps.server.inject({ method: 'POST', url: '/auth/reg', payload: built.metadata, headers: { 'content-type': 'application/json' } });
    const body = res.json<RegistrationBody>();
    if (res.statusCode !== 201) return { ok: false, errors: formErrors(body) };
    const app = appFrom(body, true);
    return { ok: true, result: { app, ...(body.client_secret ? { clientSecret: body.client_secret } : {}) } };
  }

  /** RFC 7592 update through the server's own endpoint, with a registration access token minted for this edit. */
  async update(clientId: string, form: AppForm): Promise<RegistrationOutcome> {
    const current = await this.find(clientId);
    if (!current?.editable) return { ok: false, errors: { name: 'This app cannot be edited here (a demo app, or one from CLIENTS_FILE).' } };
    const built = metadataFromForm({ ...form, kind: current.kind });
    if ('errors' in built) return { ok: false, errors: built.errors };
    const rat = await mintRegistrationAccessToken(this.deps.provider, clientId);
    const secret = current.metadata.client_secret;
    const res = await this.deps.server.inject({
      method: 'PUT',
      url: `/auth/reg/${encodeURIComponent(clientId)}`,
      payload: { ...built.metadata, client_id: clientId, ...(typeof secret === 'string' ? { client_secret: secret } : {}) },
      headers: { 'content-type': 'application/json', authorization: `Bearer ${rat}` },
    });
    const body = res.json<RegistrationBody>();
    if (res.statusCode !== 200) return { ok: false, errors: formErrors(body) };
    return { ok: true, result: { app: appFrom(body, true) } };
  }

  async delete(clientId: string): Promise<boolean> {
    const current = await this.find(clientId);
    if (!current?.editable) return false;
    return this.deps.deleteClient(clientId);
  }
}

/** The endpoint's refusal, placed next to the fields it is about (anything unplaced goes to the name field's summary). */
function formErrors(body: RegistrationBody): AppFormErrors {
  const errors: AppFormErrors = {};
  const description = body.error_description ?? body.error ?? 'The registration was refused.';
  for (const e of registrationFieldErrors(description)) {
    const field = FIELD_OF[e.field] ?? 'name';
    errors[field] = errors[field] ? `${errors[field]} ${e.message}` : e.message;
  }
  if (!Object.keys(errors).length) errors.name = description;
  return errors;
}
