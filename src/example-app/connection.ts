// Keeping a session's access token usable: refresh it shortly before it expires, and once more when the FHIR server
// answers 401 anyway (revoked, or expired sooner than announced). When that fails the connection has ended: the patient
// removed the app, access ran out, or there was never a refresh token ("only while I use the app").
import { TokenRejected } from './fhir-record.js';
import { oauthErrorOf, type SmartOAuth } from './smart-oauth.js';
import type { SmartSession } from './sessions.js';

/** The grant behind the session is gone; the user has to connect again. */
export class ConnectionEnded extends Error {}

export interface FreshnessOptions {
  /** Refresh when the access token expires within this many seconds */
  readonly refreshMarginSeconds: number;
  readonly now?: () => number;
}

async function refreshSession(session: SmartSession, oauth: SmartOAuth): Promise<void> {
  // Concurrent page loads share one refresh: a rotated refresh token works once, and oidc-provider treats its reuse
  // as a stolen token and ends the whole grant.
  session.refreshing ??= oauth.refresh(session.tokens).finally(() => {
    session.refreshing = undefined;
  });
  try {
    session.tokens = await session.refreshing;
  } catch (err) {
    const oauthError = oauthErrorOf(err);
    // invalid_grant: revoked, expired or already used. Any OAuth error answer means this refresh token is done.
    if (oauthError) throw new ConnectionEnded(`refresh refused: ${oauthError.error}${oauthError.description ? ` (${oauthError.description})` : ''}`);
    throw err;
  }
}

/** Runs `work` with a usable access token; throws ConnectionEnded when there is none to be had. */
export async function withAccessToken<T>(session: SmartSession, oauth: SmartOAuth, opts: FreshnessOptions, work: (accessToken: string) => Promise<T>): Promise<T> {
  const now = (opts.now ?? Date.now)();
  const expiresAt = session.tokens.expires_at ? new Date(session.tokens.expires_at).getTime() : Number.POSITIVE_INFINITY;
  let refreshed = false;
  if (expiresAt - now < opts.refreshMarginSeconds * 1000) {
    if (session.tokens.refresh_token) {
      await refreshSession(session, oauth);
      refreshed = true;
    } else if (expiresAt - now < 2000) {
      // Too close to expiry to finish the page's requests with it, and nothing to renew it with.
      throw new ConnectionEnded('the access token expired and there is no refresh token');
    }
  }
  try {
    return await work(session.tokens.access_token);
  } catch (err) {
    if (!(err instanceof TokenRejected)) throw err;
    if (refreshed || !session.tokens.refresh_token) throw new ConnectionEnded('the FHIR server refused the access token');
  }
  await refreshSession(session, oauth);
  try {
    return await work(session.tokens.access_token);
  } catch (err) {
    if (err instanceof TokenRejected) throw new ConnectionEnded('the FHIR server refused the refreshed access token');
    throw err;
  }
}
