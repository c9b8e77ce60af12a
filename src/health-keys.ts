// The signing keys a running oidc-provider holds, for the readiness check: read from the provider's own state (the
// key set it publishes at /auth/jwks and signs with), so a key reload that left it without keys shows as not ready.
import type Provider from 'oidc-provider';
import instance from 'oidc-provider/lib/helpers/weak_cache.js';

export function signingKeyCount(provider: Provider): number {
  return instance(provider)?.jwks?.keys?.length ?? 0;
}
