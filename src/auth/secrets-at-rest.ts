// At start-up, before any key is used: every stored signing key, cookie secret and client secret is brought to the
// form this configuration writes (encrypted under SECRETS_KEY, or plaintext when it is unset), so rows from before a
// key was set, or sealed under SECRETS_KEY_PREVIOUS, are rewritten once. A value no configured key opens stops the
// start with a message saying which key it needs (SecretsKeyError is a ConfigError).
import type { Config } from '../config.js';
import type { KeyStore } from '../store/keys.js';
import type { OidcModelStore } from '../store/oidc-models.js';
import { SecretBox } from '../store/secret-box.js';

export function secretBoxFor(config: Pick<Config, 'secretsKey' | 'secretsKeyPrevious'>): SecretBox {
  return new SecretBox({ current: config.secretsKey, previous: config.secretsKeyPrevious });
}

export interface ResealReport {
  /** Signing keys and cookie secrets rewritten */
  readonly keys: number;
  readonly clientSecrets: number;
}

export async function resealSecretsAtRest(stores: { readonly keys: KeyStore; readonly models: OidcModelStore }): Promise<ResealReport> {
  return { keys: await stores.keys.reseal(), clientSecrets: await stores.models.resealClientSecrets() };
}
