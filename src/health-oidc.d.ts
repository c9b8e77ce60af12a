// oidc-provider's per-instance private state (see health-keys.ts); its package ships no types for it.
declare module 'oidc-provider/lib/helpers/weak_cache.js' {
  /** The private state oidc-provider keeps for a Provider: `jwks` is the key set it publishes and signs with. */
  export default function instance(provider: unknown): { jwks?: { keys?: readonly unknown[] } } | undefined;
}
