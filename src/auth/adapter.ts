// oidc-provider's Adapter contract on our store. Bearer-like ids are stored as sha256 hashes: the opaque token value
// is the row key, so a database dump must not be a bag of live tokens.
import { createHash } from 'node:crypto';
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { OidcModelStore } from '../store/oidc-models.js';
import { RETIRED, isSpent, retireSiblings } from './refresh-rotation.js';

const HASHED = new Set([
  'AccessToken',
  'RefreshToken',
  'AuthorizationCode',
  'ClientCredentials',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'InitialAccessToken',
  'RegistrationAccessToken',
  'Session',
  'Interaction',
  'PushedAuthorizationRequest',
]);
// oidc-provider puts a token's own value in its payload (`jti`); for these, found only by that value, it is left out
// of the stored row and given back on find, or the row keyed by a hash would still hold the live token. (Session and
// Interaction rows are also found by uid and keep it; DeviceCode is found by user code.)
export const VALUE_NOT_STORED = new Set([
  'AccessToken',
  'RefreshToken',
  'AuthorizationCode',
  'ClientCredentials',
  'InitialAccessToken',
  'RegistrationAccessToken',
  'BackchannelAuthenticationRequest',
  'PushedAuthorizationRequest',
]);
// Rows are kept a little past their expiry so the library, not the adapter, reports "expired" precisely.
const GRACE_SECONDS = 60;

export const tokenHash = (value: string) => createHash('sha256').update(value).digest('base64url');

export type AdapterFactory = new (model: string) => Adapter;

/** Told when a grant or a token stops being valid, so cached access decisions can be dropped everywhere. */
export type RevocationListener = (e: { grantId?: string; tokenHash?: string }) => Promise<void>;

// Tokens whose removal means "revoked" for the FHIR API (and leaves a tombstone saying so).
const ACCESS_MODELS = new Set(['AccessToken', 'ClientCredentials']);

/**
 * An interaction keeps who signed in inside it (its session once resumed, its result just after the sign-in form):
 * stored in account_id too, so ending an account's sign-ins can find the ones in progress.
 */
function signedInAccount(model: string, payload: AdapterPayload): string | undefined {
  if (model !== 'Interaction') return undefined;
  const p = payload as { session?: { accountId?: unknown }; result?: { login?: { accountId?: unknown } } };
  const id = p.result?.login?.accountId ?? p.session?.accountId;
  return typeof id === 'string' ? id : undefined;
}

export function adapterFactory(store: OidcModelStore, onRevoke?: RevocationListener): AdapterFactory {
  return class KyselyAdapter implements Adapter {
    readonly #model: string;
    constructor(model: string) {
      this.#model = model;
    }
    #key(id: string): string {
      return HASHED.has(this.#model) ? tokenHash(id) : id;
    }
    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      const { jti, ...rest } = payload;
      await store.upsert({
        model: this.#model,
        id: this.#key(id),
        payload: (VALUE_NOT_STORED.has(this.#model) && jti === id ? rest : payload) as Record<string, unknown>,
        grantId: payload.grantId ?? null,
        uid: payload.uid ?? null,
        userCode: payload.userCode ? tokenHash(payload.userCode) : null,
        accountId: payload.accountId ?? signedInAccount(this.#model, payload) ?? null,
        clientId: payload.clientId ?? (this.#model === 'Client' ? id : null),
        // The payload's own exp when it has one: "now + expiresIn" could land a second after it (a second boundary
        // between the two clocks), and a revoked token's tombstone then told an expiry one second late.
        expiresAt: typeof payload.exp === 'number' ? payload.exp : typeof expiresIn === 'number' && expiresIn > 0 ? Math.floor(Date.now() / 1000) + expiresIn : null,
      });
    }
    async #find(column: 'id' | 'uid' | 'user_code', value: string): Promise<AdapterPayload | undefined> {
      const row = await store.find(this.#model, column, value, GRACE_SECONDS);
      if (!row) return undefined;
      if (this.#model === 'RefreshToken') {
        // A consumed refresh token whose successor was never used may not have reached the client: not spent yet.
        const { [RETIRED]: _retired, ...payload } = row.payload;
        return row.consumedAt === null || !(await isSpent(store, row.payload)) ? (payload as AdapterPayload) : { ...(payload as AdapterPayload), consumed: row.consumedAt };
      }
      const payload = row.payload as AdapterPayload;
      return row.consumedAt === null ? payload : { ...payload, consumed: row.consumedAt };
    }
    async find(id: string) {
      const payload = await this.#find('id', this.#key(id));
      return payload && VALUE_NOT_STORED.has(this.#model) ? { ...payload, jti: id } : payload;
    }
    findByUid(uid: string) {
      return this.#find('uid', uid);
    }
    findByUserCode(userCode: string) {
      return this.#find('user_code', tokenHash(userCode));
    }
    async consume(id: string): Promise<void> {
      const key = this.#key(id);
      if (this.#model === 'RefreshToken') {
        // Redeemed again while no successor has been used (see refresh-rotation.ts): allowed; then the first
        // successor to be used retires the others.
        const row = await store.find(this.#model, 'id', key, GRACE_SECONDS);
        if (!row) throw new errors.InvalidGrant('RefreshToken was already used');
        if (!(await store.consume(this.#model, key)) && (await isSpent(store, row.payload))) throw new errors.InvalidGrant('RefreshToken was already used');
        await retireSiblings(store, key, row.payload);
        return;
      }
      // Atomic: of two parallel redemptions of one code, exactly one wins.
      if (!(await store.consume(this.#model, key))) throw new errors.InvalidGrant(`${this.#model} was already used`);
    }
    async destroy(id: string): Promise<void> {
      await store.destroy(this.#model, this.#key(id), { tombstone: ACCESS_MODELS.has(this.#model) });
      if (this.#model === 'Grant') await onRevoke?.({ grantId: id });
      else if (ACCESS_MODELS.has(this.#model)) await onRevoke?.({ tokenHash: this.#key(id) });
    }
    async revokeByGrantId(grantId: string): Promise<void> {
      await store.revokeByGrantId(this.#model, grantId, { tombstone: ACCESS_MODELS.has(this.#model) });
      if (ACCESS_MODELS.has(this.#model)) await onRevoke?.({ grantId });
    }
  };
}
