// Ending every sign-in an account has at the authorization server, in every browser: its oidc-provider sessions and
// the authorizations in progress (an interaction remembers who signed in for an hour). Done as sign-out would do it in
// each browser: grants whose tokens only last as long as the sign-in (online_access, persistsLogout false) end too;
// grants made to last (offline_access) are the patient's connected apps and stay.
import type { OidcModelStore } from '../store/oidc-models.js';

interface SessionPayload {
  readonly uid?: string;
  readonly authorizations?: Readonly<Record<string, { readonly grantId?: string; readonly persistsLogout?: boolean }>>;
}

interface TokenPayload {
  readonly grantId?: string;
  readonly sessionUid?: string;
  readonly expiresWithSession?: boolean;
}

export interface SignInEndingDeps {
  readonly models: OidcModelStore;
  /** Revokes a grant and all its tokens on every instance */
  readonly revokeGrant: (grantId: string) => Promise<void>;
}

/** Ends the account's sign-ins; returns the grants that ended with them. */
export async function endSignIns(deps: SignInEndingDeps, accountId: string): Promise<string[]> {
  const sessions = (await deps.models.payloadsForAccount('Session', accountId)) as SessionPayload[];
  const ended = new Set<string>();
  for (const session of sessions) {
    for (const { grantId, persistsLogout } of Object.values(session.authorizations ?? {})) {
      if (grantId && !persistsLogout) ended.add(grantId);
    }
  }
  // A session names only the latest grant per app; earlier session-bound grants are found by their tokens.
  const uids = new Set(sessions.map((s) => s.uid).filter((u): u is string => typeof u === 'string'));
  for (const model of ['RefreshToken', 'AccessToken']) {
    for (const token of (await deps.models.payloadsForAccount(model, accountId)) as TokenPayload[]) {
      if (token.expiresWithSession && token.grantId && token.sessionUid && uids.has(token.sessionUid)) ended.add(token.grantId);
    }
  }
  // Sessions first: an interaction that outlives them is refused by oidc-provider ("session not found") anyway.
  await deps.models.deleteForAccount('Session', accountId);
  await deps.models.deleteForAccount('Interaction', accountId);
  for (const grantId of ended) await deps.revokeGrant(grantId);
  return [...ended];
}
