// No new tokens from a grant whose access has ended (a proxy relation revoked or past its end date, a chosen duration
// run out). The FHIR API refuses such tokens anyway; refusing the code exchange and the refresh too tells the app at
// once, with a reason, instead of handing it tokens that cannot be used. The sweep that deletes these grants runs
// only once a minute, so until then this check is what stops the refresh token.
import { errors } from 'oidc-provider';

/** When a grant's access ends by itself (ms since epoch), if something ends it. */
export type AccessEndsAt = (grantId: string) => Promise<number | undefined>;

/** Throws invalid_grant when the grant `source` (an authorization code or refresh token) was issued under has ended. */
export async function refuseEndedGrant(accessEndsAt: AccessEndsAt, source: { readonly grantId?: unknown }): Promise<void> {
  if (typeof source.grantId !== 'string') return;
  const endsAt = await accessEndsAt(source.grantId);
  if (endsAt === undefined || endsAt > Date.now()) return;
  const err = new errors.InvalidGrant('access ended');
  err.error_description = `the patient's access through this authorization ended at ${new Date(endsAt).toISOString()}: the app must be authorized again`;
  throw err;
}
