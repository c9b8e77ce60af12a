// Assembles the authorization server: keys, persistence, the provider, revocation propagation, and the token
// resolver the FHIR API uses. Returns what the rest of the app needs; owns its timers.
import type { FastifyInstance } from 'fastify';
import type Provider from 'oidc-provider';
import type { ClientMetadata } from 'oidc-provider';
import type { Config } from '../config.js';
import type { Db } from '../store/db.js';
import { KeyStore } from '../store/keys.js';
import { OidcModelStore } from '../store/oidc-models.js';
import { RevocationLog } from '../store/revocations.js';
import { RevocationListener, type RevocationListenerEvents } from '../store/revocation-listener.js';
import { RevokedTokenStore } from '../store/revoked-tokens.js';
import { SmartContextStore } from '../store/smart-context.js';
import { ClientRecordStore } from '../store/client-records.js';
import { adapterFactory } from './adapter.js';
import { TokenResolver } from './bearer.js';
import { DEMO_CLIENTS, loadClientsFile } from './clients.js';
import { capabilitySecurity, endpointsFor, type Endpoints } from './discovery.js';
import { afterClientDelete, deleteClient, endClientAccess, type ClientRemovalDeps } from './client-removal.js';
import { loadKeys, watchKeys } from './keys.js';
import { replaceSigningKeys } from './provider-keys.js';
import { resealSecretsAtRest, secretBoxFor } from './secrets-at-rest.js';
import { mountProvider } from './mount.js';
import { ACCESS_TOKEN_TTL, STATIC_SCOPES, buildProvider, type AccountDirectory } from './provider.js';
import { resourceScopesSupported } from './scopes-supported.js';
import { tokenStatus, type TokenStatus } from './token-status.js';
import { recordProviderEvents } from './provider-events.js';
import type { SecurityRecorder } from '../audit/security-log.js';
import { unknownEndpointAsOAuthError } from './unknown-endpoint.js';

export interface AuthServer {
  readonly provider: Provider;
  readonly resolver: TokenResolver;
  readonly contexts: SmartContextStore;
  readonly models: OidcModelStore;
  readonly endpoints: Endpoints;
  readonly security: ReturnType<typeof capabilitySecurity>;
  /** Revokes a grant and every token issued under it, on every instance; recorded in the audit trail with its cause */
  revokeGrant(grantId: string, cause?: GrantRevocationCause): Promise<void>;
  /**
   * After a grant was narrowed to `scope`: its refresh tokens carry the narrower scope from now on, and every
   * instance drops its cached access tokens of the grant and re-reads it.
   */
  narrowGrant(grantId: string, scope: string): Promise<void>;
  /**
   * Deletes a registered client and ends its grants, tokens and connected-app links at once; false when unknown.
   * Throws StaticClientError for a configured client (sandbox demo, CLIENTS_FILE).
   */
  deleteClient(clientId: string): Promise<boolean>;
  /** What the server knows about an access token: active, or why not (for 401 explanations and the token inspector) */
  tokenStatus(token: string): Promise<TokenStatus>;
  /** Clients from the configuration (sandbox demo clients, CLIENTS_FILE), as configured */
  readonly staticClients: readonly ClientMetadata[];
  /** Secret for signing the portal's cookies (kept with the signing keys, never in git) */
  readonly cookieSecret: string;
}

/** Why a grant was revoked and who did it, for the audit trail */
export interface GrantRevocationCause {
  readonly reason: string;
  /** The username of the person who asked for it, when a person did */
  readonly actor?: string;
}

export const SCOPES_SUPPORTED = [...STATIC_SCOPES, ...resourceScopesSupported()];

export async function createAuthServer(
  app: FastifyInstance,
  deps: {
    config: Config;
    db: Db;
    accounts: AccountDirectory;
    accessEndsAt?: (grantId: string) => Promise<number | undefined>;
    /** After a client was deleted (here or by RFC 7592 DELETE) and its grants revoked */
    onClientDeleted?: (clientId: string, at: number) => Promise<void>;
    /** Where token, grant and client events are recorded (the audit trail) */
    security?: SecurityRecorder;
  },
): Promise<AuthServer> {
  const { config, db } = deps;
  const secrets = secretBoxFor(config);
  const models = new OidcModelStore(db, secrets);
  const contexts = new SmartContextStore(db);
  const revocations = new RevocationLog(db);
  const revokedTokens = new RevokedTokenStore(db);
  const keyStore = new KeyStore(db, secrets);
  // Before the keys are read: stops the start when a stored secret needs a key this configuration does not have.
  const resealed = await resealSecretsAtRest({ keys: keyStore, models });
  if (resealed.keys + resealed.clientSecrets > 0) app.log.info({ ...resealed, encrypted: secrets.encrypting }, secrets.encrypting ? 'stored secrets encrypted with SECRETS_KEY' : 'stored secrets decrypted (SECRETS_KEY is not set)');
  else if (!secrets.encrypting && !config.sandbox) app.log.warn('SECRETS_KEY is not set: signing keys and client secrets are stored unencrypted in the database');
  const keysReloadMs = config.keysReloadSeconds * 1000;
  const keys = await loadKeys(keyStore, keysReloadMs);
  let resolver: TokenResolver | undefined;
  // Evict here at once, then tell the other instances through the shared log.
  const adapter = adapterFactory(models, async (e) => {
    if (e.grantId) resolver?.evictGrant(e.grantId);
    if (e.tokenHash) resolver?.evictToken(e.tokenHash);
    await revocations.record(e);
  });
  const clients = [...(config.sandbox ? DEMO_CLIENTS : []), ...(config.clientsFile ? loadClientsFile(config.clientsFile) : [])];
  const provider = buildProvider({
    issuer: config.issuer,
    fhirBaseUrl: config.fhirBaseUrl,
    adapter,
    signingKeys: keys.signingKeys,
    cookieKeys: keys.cookieKeys,
    clients,
    accounts: deps.accounts,
    contexts,
    registration: config.sandbox || !config.registrationToken ? { open: true } : { open: false, initialAccessToken: config.registrationToken },
    secureCookies: config.publicUrl.startsWith('https:'),
    allowPrivateFetch: config.sandbox,
    sessionIdleSeconds: config.sessionIdleSeconds,
    errorPage: { sandbox: config.sandbox, siteName: config.siteName },
    sandbox: config.sandbox,
    ...(deps.accessEndsAt ? { accessEndsAt: deps.accessEndsAt } : {}),
  });
  if (deps.security) recordProviderEvents(provider, deps.security, app.log);
  // PostgreSQL: revocations arrive by NOTIFY on a connection of their own; polling slows down while it listens.
  const database = config.database;
  const notify =
    database.kind === 'postgres' && config.revocationNotify
      ? {
          pollMs: config.revocationNotifyPollMs,
          listen: (events: RevocationListenerEvents) =>
            new RevocationListener(database.connectionString, {
              notified: events.notified,
              listening: () => {
                app.log.debug('listening for revocations (LISTEN/NOTIFY)');
                events.listening();
              },
              lost: (err) => {
                app.log.warn({ err }, `revocation LISTEN connection lost: polling every ${config.revocationPollMs} ms until it is back`);
                events.lost(err);
              },
            }),
        }
      : undefined;
  resolver = new TokenResolver(provider, revocations, {
    fhirBaseUrl: config.fhirBaseUrl,
    pollMs: config.revocationPollMs,
    ...(notify ? { notify } : {}),
    maxEntries: 10_000,
    ...(deps.accessEndsAt ? { accessEndsAt: deps.accessEndsAt } : {}),
  });
  await resolver.start();
  const endpoints = endpointsFor(config.issuer);
  // Before mounting: the provider composes its middleware when mounted. `removal` is complete by the first request.
  provider.use(afterClientDelete((clientId) => endClientAccess(removal, clientId)));
  provider.use(unknownEndpointAsOAuthError);
  mountProvider(app, provider, endpoints, SCOPES_SUPPORTED);

  // Housekeeping: expired tokens, sessions and interactions; revocation events older than any cached token. Also
  // once at start, so instances that restart often (deploys) do not let expired rows pile up.
  const housekeeping = () => {
    void models.deleteExpired(3600).catch((err: unknown) => app.log.warn({ err }, 'expired-row cleanup failed'));
    // Tombstones go with the same hour's grace as token rows, so a revoked token never reads "unknown" while an
    // unrevoked one of the same age still reads "expired".
    void revokedTokens.prune(Date.now() - 3600_000).catch((err: unknown) => app.log.warn({ err }, 'revoked-token cleanup failed'));
    void revocations.prune(Date.now() - 2 * ACCESS_TOKEN_TTL * 1000).catch(() => undefined);
  };
  housekeeping();
  const cleanup = setInterval(housekeeping, 10 * 60_000);
  cleanup.unref();
  // A rotation (npm run keys:rotate, another instance) reaches this instance without a restart.
  const keyWatch = watchKeys(keyStore, keysReloadMs, keys, (signingKeys) => {
    replaceSigningKeys(provider, signingKeys);
    app.log.info({ kids: signingKeys.map((k) => k.kid) }, 'signing keys reloaded');
  }, (err) => app.log.warn({ err }, 'signing key reload failed'));
  app.addHook('onClose', async () => {
    keyWatch.stop();
    clearInterval(cleanup);
    await resolver?.stop();
  });

  const revokeGrant = async (grantId: string, cause?: GrantRevocationCause) => {
    await Promise.all([
      provider.AccessToken.adapter.revokeByGrantId(grantId),
      provider.RefreshToken.adapter.revokeByGrantId(grantId),
      provider.AuthorizationCode.adapter.revokeByGrantId(grantId),
    ]);
    const grant = await provider.Grant.find(grantId);
    await grant?.destroy();
    if (grant) {
      await deps.security?.record({
        event: 'grant.revoked',
        clientId: grant.clientId ?? null,
        grantId,
        accountId: grant.accountId ?? null,
        actor: cause?.actor ?? null,
        ...(cause ? { detail: { reason: cause.reason } } : {}),
      });
    }
    await contexts.delete(grantId);
    resolver!.evictGrant(grantId);
    await revocations.record({ grantId });
  };

  const narrowGrant = async (grantId: string, scope: string) => {
    await models.setScopeByGrantId('RefreshToken', grantId, scope);
    resolver!.evictGrant(grantId);
    await revocations.record({ grantId });
  };

  const removal: ClientRemovalDeps = {
    provider,
    records: new ClientRecordStore(db),
    revokeGrant: (grantId) => revokeGrant(grantId, { reason: 'client-deleted' }),
    tokenRevoked: async (tokenHash) => {
      resolver!.evictToken(tokenHash);
      await revocations.record({ tokenHash });
    },
    ...(deps.onClientDeleted ? { onClientDeleted: deps.onClientDeleted } : {}),
  };

  const statusDeps = { provider, resolver, models, revokedTokens };
  return {
    provider,
    resolver,
    contexts,
    models,
    endpoints,
    security: capabilitySecurity(endpoints),
    revokeGrant,
    narrowGrant,
    deleteClient: (clientId: string) => deleteClient(removal, clientId),
    tokenStatus: (token: string) => tokenStatus(statusDeps, token),
    staticClients: clients,
    cookieSecret: keys.cookieKeys[0]!,
  };
}
