// Encryption at rest for the few stored values that are keys themselves: signing keys, cookie secrets, client
// secrets. AES-256-GCM under SECRETS_KEY; each sealed value names the format version and which key sealed it, so
// values written before a key was set (plaintext) still read, a previous key (SECRETS_KEY_PREVIOUS) still opens what it
// sealed, and a missing or wrong key is told apart from a damaged value. Each value is bound to its place (the AAD,
// e.g. "signing_key/<kid>"), so a sealed value copied onto another row does not open there.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { ConfigError } from '../config.js';

const VERSION = 'enc:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A stored secret that cannot be opened with the keys this process has: start-up stops with this message. */
export class SecretsKeyError extends ConfigError {
  constructor(message: string) {
    super([message]);
    this.name = 'SecretsKeyError';
  }
}

/** A short public name for a key (not reversible), so messages can say which key sealed a value. */
export function keyId(key: Buffer): string {
  return createHash('sha256').update('smart-fhir-server secrets key\0').update(key).digest('base64url').slice(0, 8);
}

export interface SecretKeys {
  /** SECRETS_KEY: seals new values, opens its own */
  readonly current?: Buffer | undefined;
  /** SECRETS_KEY_PREVIOUS: only opens values it sealed (key rotation, or turning encryption off) */
  readonly previous?: Buffer | undefined;
}

export class SecretBox {
  readonly #current: { id: string; key: Buffer } | undefined;
  readonly #keys = new Map<string, Buffer>();

  constructor(keys: SecretKeys = {}) {
    for (const key of [keys.previous, keys.current]) if (key) this.#keys.set(keyId(key), key);
    this.#current = keys.current ? { id: keyId(keys.current), key: keys.current } : undefined;
  }

  /** Whether new values are encrypted (SECRETS_KEY is set). */
  get encrypting(): boolean {
    return this.#current !== undefined;
  }

  static isSealed(stored: string): boolean {
    return stored.startsWith(VERSION);
  }

  /** The value as it is to be stored at `place`: sealed under SECRETS_KEY, or as given when no key is set. */
  seal(plaintext: string, place: string): string {
    if (!this.#current) return plaintext;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#current.key, iv);
    cipher.setAAD(Buffer.from(place, 'utf8'));
    const body = Buffer.concat([iv, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${VERSION}${this.#current.id}:${body.toString('base64url')}`;
  }

  /** The plaintext of a value stored at `place`; throws SecretsKeyError when this process cannot open it. */
  open(stored: string, place: string): string {
    if (!SecretBox.isSealed(stored)) return stored;
    const m = /^enc:v1:([A-Za-z0-9_-]{8}):([A-Za-z0-9_-]+)$/.exec(stored);
    if (!m) throw new SecretsKeyError(`the stored value at ${place} is damaged: it starts as an encrypted value but is not one`);
    const [, id, b64] = m as unknown as [string, string, string];
    const key = this.#keys.get(id);
    if (!key) throw new SecretsKeyError(this.#missingKeyMessage(place, id));
    const body = Buffer.from(b64, 'base64url');
    if (body.length < IV_BYTES + TAG_BYTES) throw new SecretsKeyError(`the stored value at ${place} is damaged (too short to be an encrypted value)`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(place, 'utf8'));
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      return Buffer.concat([decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretsKeyError(`the stored value at ${place} does not decrypt with key ${id}: it was altered, or copied from another row`);
    }
  }

  /** True when the stored value is as this process would write it now (so it need not be rewritten). */
  isCurrent(stored: string): boolean {
    if (!this.#current) return !SecretBox.isSealed(stored);
    return stored.startsWith(`${VERSION}${this.#current.id}:`);
  }

  #missingKeyMessage(place: string, id: string): string {
    const fix = 'start with SECRETS_KEY set to the key it was encrypted with (when changing keys, give the old one as SECRETS_KEY_PREVIOUS)';
    if (!this.#keys.size) return `the stored value at ${place} is encrypted (key id ${id}), but SECRETS_KEY is not set: ${fix}`;
    const have = [...this.#keys.keys()].join(', ');
    return `the stored value at ${place} is encrypted with another key (key id ${id}) than the one(s) given (key id ${have}): ${fix}`;
  }
}
