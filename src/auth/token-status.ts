// What the server knows about an access token, in words a developer acts on: active, or why not. Tokens are opaque,
// so this reads the server's own records: the token row (kept an hour past expiry), the tombstone a revocation
// leaves, the grant and the patient's access end. It runs only where a token failed or a developer asks (the
// sandbox 401 explanation, the token inspector), never on a successful FHIR request. Whether a token grants access
// is decided by TokenResolver.assess, the same code the FHIR API runs, so both always agree.
import type Provider from 'oidc-provider';
import type { OidcModelStore } from '../store/oidc-models.js';
import type { RevokedToken, RevokedTokenStore } from '../store/revoked-tokens.js';
import { tokenHash } from './adapter.js';
import type { TokenRecord, TokenResolver } from './bearer.js';

export type TokenState = 'active' | 'expired' | 'revoked' | 'unknown' | 'access-ended' | 'wrong-audience';

export interface TokenStatus {
  readonly state: TokenState;
  /** Which kind of access token: from an authorization (code or refresh) or a backend service's client_credentials */
  readonly kind?: 'access_token' | 'client_credentials';
  readonly clientId?: string;
  readonly grantId?: string;
  /** The portal account that authorized it (the username), for user-facing tokens */
  readonly accountId?: string;
  /** The scopes the FHIR API applies now (narrower than issuedScope when the patient later narrowed the grant); active tokens only */
  readonly scope?: string;
  /** The scopes as issued in the token response */
  readonly issuedScope?: string;
  readonly patient?: string;
  readonly encounter?: string;
  /** As issued: the absolute URL of the user's FHIR resource */
  readonly fhirUser?: string;
  /** ms since epoch */
  readonly issuedAt?: number;
  /** ms since epoch: the token's own expiry */
  readonly expiresAt?: number;
  /** ms since epoch */
  readonly revokedAt?: number;
  /** ms since epoch: when the patient's access through this grant ends (or ended), if something ends it */
  readonly accessEndsAt?: number;
  /** One sentence saying what the state means for the developer */
  readonly reason: string;
}

export interface TokenStatusDeps {
  readonly provider: Provider;
  readonly resolver: TokenResolver;
  readonly models: OidcModelStore;
  readonly revokedTokens: RevokedTokenStore;
}

const MODELS = [
  ['AccessToken', 'access_token'],
  ['ClientCredentials', 'client_credentials'],
] as const;

const iso = (ms: number) => new Date(ms).toISOString();

export async function tokenStatus(deps: TokenStatusDeps, token: string): Promise<TokenStatus> {
  const hash = tokenHash(token);
  for (const [model, kind] of MODELS) {
    // Any age: the adapter hides rows a minute past expiry, housekeeping deletes them an hour past it.
    const row = await deps.models.find(model, 'id', hash, Infinity);
    if (row) return fromRecord(deps, row.payload as TokenRecord, kind, hash);
  }
  const tomb = await deps.revokedTokens.find(hash);
  if (tomb) return fromTombstone(deps, tomb);
  return { state: 'unknown', reason: 'This server has no record of the token: it was never issued here, or it expired or was revoked over an hour ago and has been cleaned up.' };
}

async function fromRecord(deps: TokenStatusDeps, at: TokenRecord, kind: 'access_token' | 'client_credentials', hash: string): Promise<TokenStatus> {
  const extra = at.extra ?? {};
  const text = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  const facts = {
    kind,
    ...defined('clientId', at.clientId),
    ...defined('grantId', at.grantId),
    ...defined('accountId', at.accountId),
    ...defined('issuedScope', at.scope),
    ...defined('patient', text(extra.patient)),
    ...defined('encounter', text(extra.encounter)),
    ...defined('fhirUser', text(extra.fhirUser)),
    ...defined('issuedAt', at.iat === undefined ? undefined : at.iat * 1000),
    ...defined('expiresAt', at.exp === undefined ? undefined : at.exp * 1000),
  };
  const verdict = await deps.resolver.assess(at, hash);
  switch (verdict.state) {
    case 'active': {
      const ends = verdict.accessEndsAt === undefined ? '' : `, and the patient's access through it ends at ${iso(verdict.accessEndsAt)}`;
      return { ...facts, state: 'active', scope: verdict.scope, ...defined('accessEndsAt', verdict.accessEndsAt), reason: `The token is active until ${iso((at.exp ?? 0) * 1000)}${ends}.` };
    }
    case 'expired':
      return { ...facts, state: 'expired', reason: `The token expired at ${iso(verdict.expiresAt)}: use the refresh token, or authorize again, for a new one.` };
    case 'wrong-audience':
      return {
        ...facts,
        state: 'wrong-audience',
        reason: `The token was issued for ${verdict.audiences.length ? verdict.audiences.join(', ') : 'no audience'}, not for this FHIR server (${deps.resolver.fhirBaseUrl}): authorize with aud=${deps.resolver.fhirBaseUrl}.`,
      };
    case 'grant-gone':
      return { ...facts, state: 'revoked', reason: 'The authorization this token was issued under no longer exists (revoked, or the app removed): the app must be authorized again.' };
    case 'access-ended':
      return {
        ...facts,
        state: 'access-ended',
        accessEndsAt: verdict.accessEndsAt,
        reason: `The patient's access for this app ended at ${iso(verdict.accessEndsAt)}: the period chosen on the consent page ran out, or the proxy access it was granted through ended.`,
      };
  }
}

async function fromTombstone(deps: TokenStatusDeps, tomb: RevokedToken): Promise<TokenStatus> {
  const facts = {
    // Tokens of an authorization always belong to a grant; client_credentials tokens never do.
    kind: tomb.grantId ? ('access_token' as const) : ('client_credentials' as const),
    ...defined('clientId', tomb.clientId ?? undefined),
    ...defined('grantId', tomb.grantId ?? undefined),
    ...defined('expiresAt', tomb.expiresAt ?? undefined),
    revokedAt: tomb.revokedAt,
  };
  // Revoked after it had expired (within the hour its row is kept): expiry is what stopped it.
  if (tomb.expiresAt !== null && tomb.expiresAt <= tomb.revokedAt) {
    return { ...facts, state: 'expired', reason: `The token expired at ${iso(tomb.expiresAt)} (and was revoked later, at ${iso(tomb.revokedAt)}).` };
  }
  return { ...facts, state: 'revoked', reason: `The token was revoked at ${iso(tomb.revokedAt)}: ${await revocationCause(deps, tomb)}.` };
}

/** Why a token was revoked, from what is left now: its app, its grant. */
async function revocationCause(deps: TokenStatusDeps, tomb: RevokedToken): Promise<string> {
  const client = tomb.clientId ? await deps.provider.Client.find(tomb.clientId).catch(() => undefined) : undefined;
  if (tomb.clientId && !client) return 'the app was removed';
  const grant = tomb.grantId ? await deps.provider.Grant.find(tomb.grantId) : undefined;
  if (tomb.grantId && !grant) return 'the grant was revoked (the patient removed the app\'s access, or the app revoked its refresh token), so the app must be authorized again';
  return 'the token itself was revoked (token revocation endpoint); ask for a new one';
}

function defined<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
