// Signing keys (RS256 for ID tokens, as SMART clients expect; ES256 besides) and cookie secrets: generated on first
// start into the database, never into git. Rotation adds a new key in front and keeps the old one published until
// every token it signed has expired.
import { randomBytes, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { KeyStore } from '../store/keys.js';

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

/** Loads the keys, creating any that are missing (first start). */
export async function loadKeys(store: KeyStore): Promise<KeyMaterial> {
  await store.deleteRetired(Date.now());
  let rows = await store.all();
  for (const alg of [...SIGNING_ALGS, COOKIE]) {
    if (!rows.some((r) => r.alg === alg)) await store.add(await newKey(alg));
  }
  rows = await store.all();
  // Active keys (not retiring) first, so new signatures use them; retiring ones stay published for verification.
  const ordered = [...rows].sort((a, b) => Number(a.retireAfter !== null) - Number(b.retireAfter !== null) || b.createdAt - a.createdAt);
  return {
    signingKeys: ordered.filter((r) => r.alg !== COOKIE).map((r) => JSON.parse(r.privateJwk) as JWK),
    cookieKeys: ordered.filter((r) => r.alg === COOKIE).map((r) => (JSON.parse(r.privateJwk) as { k: string }).k),
  };
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
