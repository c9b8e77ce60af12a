// oidc-provider's keystore initialiser (see provider-keys.ts); its package ships no types for it.
declare module 'oidc-provider/lib/helpers/initialize_keystore.js' {
  /** Called with the Provider as `this`: replaces its signing keystore and the JWKS it publishes. */
  export default function initialize(this: unknown, jwks: { keys: unknown[] }): void;
}
