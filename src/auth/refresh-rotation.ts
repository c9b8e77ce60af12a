// Refresh-token rotation that a crash cannot turn into a lost grant. oidc-provider consumes the presented refresh
// token, stores its successor and only then answers. A server killed in between (or an answer lost on the way) left the
// client holding a consumed token, and presenting it again counted as theft: the grant was revoked, and the patient
// had to connect the app again. The crash test found it.
//
// Here a consumed refresh token is spent only once a successor of it has been used (redeemed in turn) or it was
// retired. Until then the client may never have received the successor, so the token redeems again, giving a new
// successor beside the unused one. The first successor used retires its unused siblings. Theft is still caught, only
// possibly one use later: presenting a spent or retired token revokes the grant as before. For example, T1 redeemed
// by a thief gives T2', and the client then presents T2. Whichever of the two is used first retires the other, and
// the other's use revokes the grant.
import type { OidcModelStore } from '../store/oidc-models.js';

const MODEL = 'RefreshToken';
/** Payload key (seconds) on a token retired because a sibling successor was used first; never shown to oidc-provider */
export const RETIRED = 'retiredAt';

type Payload = Record<string, unknown>;

const rotationOf = (p: Payload) => (typeof p.rotations === 'number' ? p.rotations : 0);
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Whether a consumed refresh token is spent: retired, or some successor of it has been redeemed. */
export async function isSpent(store: OidcModelStore, payload: Payload): Promise<boolean> {
  if (payload[RETIRED] !== undefined) return true;
  const grantId = typeof payload.grantId === 'string' ? payload.grantId : undefined;
  if (!grantId) return true;
  const next = rotationOf(payload) + 1;
  const rows = await store.rowsForGrant(MODEL, grantId);
  return rows.some((r) => r.consumedAt !== null && r.payload[RETIRED] === undefined && rotationOf(r.payload) === next);
}

/** Once `id` has been redeemed: its unused siblings (other successors of the same token) are retired. */
export async function retireSiblings(store: OidcModelStore, id: string, payload: Payload): Promise<void> {
  const grantId = typeof payload.grantId === 'string' ? payload.grantId : undefined;
  if (!grantId) return;
  const rotation = rotationOf(payload);
  const live = await store.rowsForGrant(MODEL, grantId, { liveOnly: true });
  const at = nowSeconds();
  for (const r of live) {
    if (r.id === id || rotationOf(r.payload) !== rotation) continue;
    await store.consumeWithPayload(MODEL, r.id, { ...r.payload, [RETIRED]: at });
  }
}
