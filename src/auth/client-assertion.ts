// What a client assertion (private_key_jwt) must also satisfy beyond oidc-provider's own checks (signature, alg
// allow-list, iss, aud, exp, nbf, jti once): it was not minted for later use. The library accepts an `iat` in the
// future when `exp` is present, and any lifetime; SMART Backend Services caps `exp` at five minutes ahead.
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

/** Clock skew allowed between a client and us, for these checks and oidc-provider's (its `clockTolerance`). */
export const CLOCK_TOLERANCE_SECONDS = 15;
/** SMART Backend Services: exp "SHALL be no more than five minutes in the future". */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;

/** Why these claims are refused at `nowSeconds`, or undefined when they are acceptable. */
export function clientAssertionProblem(claims: { readonly iat?: unknown; readonly exp?: unknown }, nowSeconds: number): string | undefined {
  if (typeof claims.iat === 'number' && claims.iat > nowSeconds + CLOCK_TOLERANCE_SECONDS) {
    return 'iat (issued at) of the client_assertion is in the future - sign each assertion when you send it, with your clock set right';
  }
  if (typeof claims.exp === 'number' && claims.exp > nowSeconds + MAX_ASSERTION_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS) {
    return `exp of the client_assertion is more than ${MAX_ASSERTION_LIFETIME_SECONDS / 60} minutes ahead - a client assertion lives at most ${MAX_ASSERTION_LIFETIME_SECONDS} seconds`;
  }
  return undefined;
}

/** oidc-provider's assertJwtClientAuthClaimsAndHeader: called after the signature and standard claims were verified. */
export async function assertClientAssertion(_ctx: KoaContextWithOIDC, claims: Record<string, unknown>): Promise<void> {
  const problem = clientAssertionProblem(claims, Math.floor(Date.now() / 1000));
  if (problem) throw new errors.InvalidClientAuth(problem);
}
