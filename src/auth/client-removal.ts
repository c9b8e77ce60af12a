// Deleting an OAuth client ends everything it held at once: its grants (with their tokens and the patients'
// connected-app links), its client_credentials tokens (which have no grant) and its registration access tokens.
// Used by AuthServer.deleteClient and after an RFC 7592 DELETE, which oidc-provider handles itself.
import type { KoaContextWithOIDC } from 'oidc-provider';
import type Provider from 'oidc-provider';
import type { ClientRecordStore } from '../store/client-records.js';

export interface ClientRemovalDeps {
  readonly provider: Provider;
  readonly records: ClientRecordStore;
  /** Revokes a grant and every token issued under it, on every instance */
  revokeGrant(grantId: string): Promise<void>;
  /** An access token (by hash) stopped being valid: evict it here and tell the other instances */
  tokenRevoked(tokenHash: string): Promise<void>;
  /** The client is gone: end what outlives its grants elsewhere (the portal's connected-apps rows) */
  readonly onClientDeleted?: (clientId: string, at: number) => Promise<void>;
}

/** Refused: the client comes from the configuration (sandbox demo clients, CLIENTS_FILE), not from registration. */
export class StaticClientError extends Error {
  constructor(readonly clientId: string) {
    super(`client ${clientId} is configured, not registered (a sandbox demo client or one from CLIENTS_FILE): remove it from the configuration and restart instead`);
    this.name = 'StaticClientError';
  }
}

/** Ends every grant and token of a client that is gone (or going). */
export async function endClientAccess(deps: ClientRemovalDeps, clientId: string): Promise<void> {
  for (const grantId of await deps.records.ids('Grant', clientId)) await deps.revokeGrant(grantId);
  for (const hash of await deps.records.deleteAll('ClientCredentials', clientId, { tombstone: true })) await deps.tokenRevoked(hash);
  await deps.records.deleteAll('RegistrationAccessToken', clientId);
  await deps.onClientDeleted?.(clientId, Date.now());
}

/**
 * Deletes a registered client and ends its access; false when no such client exists. The client goes first, so no
 * token can be issued to it while its grants are being revoked.
 */
export async function deleteClient(deps: ClientRemovalDeps, clientId: string): Promise<boolean> {
  const client = await deps.provider.Client.find(clientId);
  if (!client) return false;
  if ((client as { noManage?: boolean }).noManage) throw new StaticClientError(clientId);
  // A Client row's client_id is its own id (adapter.ts), so this is the row oidc-provider's RFC 7592 DELETE removes.
  await deps.records.deleteAll('Client', clientId);
  await endClientAccess(deps, clientId);
  return true;
}

/** Provider middleware: after oidc-provider answers an RFC 7592 DELETE, the client's grants and tokens end too. */
export function afterClientDelete(end: (clientId: string) => Promise<void>) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> => {
    await next();
    const clientId = ctx.oidc?.route === 'client_delete' && ctx.status === 204 ? ctx.oidc.entities.Client?.clientId : undefined;
    if (clientId) await end(clientId);
  };
}
