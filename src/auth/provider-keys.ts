// Hands a running oidc-provider a new set of signing keys, so a key rotation reaches every instance without a
// restart. oidc-provider reads its keys once, at construction, into private state; its own initialiser, called
// again, is the one way to replace them (it also rebuilds the JWKS document it serves). Pinned by the multi-instance
// test (test/scale/multi-instance.test.ts), which fails if an upgrade changes this.
import type { JWK } from 'jose';
import type Provider from 'oidc-provider';
import initializeKeystore from 'oidc-provider/lib/helpers/initialize_keystore.js';

export function replaceSigningKeys(provider: Provider, signingKeys: readonly JWK[]): void {
  initializeKeystore.call(provider, { keys: signingKeys.map((k) => ({ ...k })) });
}
