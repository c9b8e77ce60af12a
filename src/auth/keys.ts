// Signing keys (RS256 for ID tokens, as SMART clients expect; ES256 besides) and cookie secrets: generated on first
// start into the database, never into git. Rotation adds a new key in front and keeps the old one published until
// every token it signed has expired.
import { randomBytes, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { KeyStore, StoredKey } from '../store/keys.js';

const SIGNING_ALGS = ['RS256', 'ES256'] as const;
const COOKIE = 'cookie-secret';

export interface KeyMaterial {
  /** Private JWKs, newest first per algorithm (oidc-provider signs with the first that fits) */
  readonly signingKeys: JWK[];
  readonly cookieKeys: string[];
}

async function newKey(alg: string): Promise<{ kid: string; alg: string; privateJwk: string; createdAt: number; retireAfter: null }> {
  const kid = `${alg.toLowerCase()}-${new Date().toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`;
  if (alg === COOKIE) return { kid, alg, privateJwk: JSON.stringify({ k: randomBytes(32).toString('base64url') }), createdAt: Date.now(), retireAfter: null };
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  const jwk = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateJwk: JSON.stringify(jwk), createdAt: Date.now(), retireAfter: null };
}

/**
 * Loads the keys, creating any that are missing (first start: instances starting at once store exactly one per
 * algorithm). `publishMs`: how long a new key is published before it signs (see orderKeys).
 */
export async function loadKeys(store: KeyStore, publishMs = 0, now = Date.now()): Promise<KeyMaterial> {
  await store.deleteRetired(now);
  let rows = await store.all();
  for (const alg of [...SIGNING_ALGS, COOKIE]) {
    if (!rows.some((r) => r.alg === alg && r.retireAfter === null)) await store.addFirst(await newKey(alg));
  }
  rows = await store.all();
  return orderKeys(rows, publishMs, now);
}

/**
 * Signing order: oidc-provider signs with the first key of an algorithm. Instances behind one address pick up a
 * rotation at different moments (each reloads every KEYS_RELOAD_SECONDS), so a key added less than `publishMs` ago
 * is published (JWKS) but does not sign yet, unless it is its algorithm's only key: by the time any instance signs
 * with it, every instance's JWKS has it, and a client that fetched the JWKS from any of them can verify.
 * Then active keys, newest first; retiring ones stay published for verification.
 */
export function orderKeys(rows: readonly StoredKey[], publishMs: number, now = Date.now()): KeyMaterial {
  const rank = (r: StoredKey) => (r.retireAfter !== null ? 1 : r.createdAt > now - publishMs ? 2 : 0);
  const ordered = [...rows].sort((a, b) => rank(a) - rank(b) || b.createdAt - a.createdAt);
  return {
    signingKeys: ordered.filter((r) => r.alg !== COOKIE).map((r) => JSON.parse(r.privateJwk) as JWK),
    cookieKeys: ordered.filter((r) => r.alg === COOKIE).map((r) => (JSON.parse(r.privateJwk) as { k: string }).k),
  };
}

/**
 * Re-reads the keys every `everyMs` and hands the signing keys to `apply` when their order changed (a rotation by
 * `npm run keys:rotate` or another instance, a new key's publication period ending, a retired key deleted). Bound:
 * every instance publishes a new key within `everyMs` of its rotation and signs with it within 2 × `everyMs`.
 */
export function watchKeys(store: KeyStore, everyMs: number, current: KeyMaterial, apply: (signingKeys: JWK[]) => void, onError: (err: unknown) => void): { stop(): void } {
  const id = (keys: readonly JWK[]) => keys.map((k) => k.kid).join(' ');
  let last = id(current.signingKeys);
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    const now = Date.now();
    void store
      .all()
      .then((rows) => {
        // Retired keys are deleted by loadKeys at start and by housekeeping; here they only leave the JWKS.
        const { signingKeys } = orderKeys(rows.filter((r) => r.retireAfter === null || r.retireAfter >= now), everyMs, now);
        if (!signingKeys.length || id(signingKeys) === last) return;
        apply(signingKeys);
        last = id(signingKeys);
      })
      .catch(onError)
      .finally(() => (running = false));
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** Adds a fresh key per algorithm and marks the current ones to retire after `keepSeconds` (the longest token life). */
export async function rotateKeys(store: KeyStore, keepSeconds: number): Promise<{ added: string[]; retiring: string[] }> {
  const current = (await store.all()).filter((r) => r.retireAfter === null && r.alg !== COOKIE);
  const added: string[] = [];
  for (const alg of SIGNING_ALGS) {
    const k = await newKey(alg);
    await store.add(k);
    added.push(k.kid);
  }
  for (const r of current) await store.retire(r.kid, Date.now() + keepSeconds * 1000);
  return { added, retiring: current.map((r) => r.kid) };
}
