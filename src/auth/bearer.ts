// Bearer access tokens → AccessGrant, through oidc-provider's own token store, with an in-process cache so the hot
// path has no database round trip and no signature check. A cache entry never outlives a revocation: revocations
// on this instance evict at once, and every instance reads the shared revocation log: woken by PostgreSQL's NOTIFY
// where it can listen, and by polling (the only way on SQLite, the fallback on PostgreSQL).
import type Provider from 'oidc-provider';
import type { RevocationListenerEvents } from '../store/revocation-listener.js';
import type { RevocationLog } from '../store/revocations.js';
import { revocationApplied } from '../metrics/revocation-lag.js';
import { accessGrantFrom, type AccessGrant } from './access.js';
import { tokenHash } from './adapter.js';
import { parseScopes, scopeCovers } from './scopes.js';

/**
 * What a token may do now: the scopes its grant still holds that the token was issued with, or that narrow one of
 * them (a patient who later unticks "Lab results" leaves a category-filtered Observation scope in the grant). A
 * grant narrowed after issue therefore narrows its live tokens as soon as their cache entries are evicted.
 */
export function effectiveScope(tokenScope: string, grantScope: string | undefined): string {
  const issued = parseScopes(tokenScope).scopes;
  const current = parseScopes(grantScope ?? '').scopes;
  return current.filter((g) => issued.some((t) => scopeCovers(t, g))).map((s) => s.raw).join(' ');
}

/** The fields of a stored AccessToken or ClientCredentials (oidc-provider's payload) that decide access. */
export interface TokenRecord {
  readonly clientId?: string;
  readonly accountId?: string;
  readonly grantId?: string;
  readonly scope?: string;
  readonly aud?: string | readonly string[];
  /** seconds since epoch */
  readonly exp?: number;
  readonly iat?: number;
  readonly extra?: Readonly<Record<string, unknown>>;
}

export type TokenVerdict =
  | { readonly state: 'active'; readonly grant: AccessGrant; readonly scope: string; readonly accessEndsAt?: number }
  | { readonly state: 'expired'; readonly expiresAt: number }
  | { readonly state: 'wrong-audience'; readonly audiences: readonly string[] }
  /** The token's grant no longer exists (revoked, or removed without its tokens) */
  | { readonly state: 'grant-gone' }
  | { readonly state: 'access-ended'; readonly accessEndsAt: number };

export interface TokenResolverOptions {
  readonly fhirBaseUrl: string;
  /** How often to read the shared revocation log; 0 disables polling and listening (single instance, or benchmarks) */
  readonly pollMs: number;
  /** PostgreSQL: a connection that hears every revocation as it commits; polling slows to `pollMs` of this meanwhile */
  readonly notify?: { readonly pollMs: number; readonly listen: (events: RevocationListenerEvents) => RevocationListenerHandle };
  readonly maxEntries: number;
  /** When a grant's access ends by itself (a duration the patient chose, a proxy end date); cached tokens expire then */
  readonly accessEndsAt?: (grantId: string) => Promise<number | undefined>;
}

/** What the resolver needs of a RevocationListener */
export interface RevocationListenerHandle {
  readonly listening: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

// A seq number read past before its row was committed (seqs are taken at insert, rows appear at commit, and two
// writers may commit out of order) is asked for again until it shows up or this long has passed; a rolled-back
// insert leaves a number that never shows up.
const GAP_WAIT_MS = 60_000;
const MAX_GAPS = 1_000;

export class TokenResolver {
  // Keyed by the token itself: hashing it on every request cost more than the rest of the lookup. Revocations name
  // tokens by hash (that is all the database keeps), hence the second map.
  readonly #cache = new Map<string, AccessGrant>();
  readonly #tokenByHash = new Map<string, string>();
  readonly #byGrant = new Map<string, Set<string>>();
  #seq = 0;
  /** seq numbers skipped by a read → until when to keep asking for them */
  readonly #gaps = new Map<number, number>();
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #listener: RevocationListenerHandle | undefined;
  #reads = 0;

  constructor(
    private readonly provider: Provider,
    private readonly revocations: RevocationLog,
    private readonly opts: TokenResolverOptions,
  ) {}

  /** The audience a token must carry to be accepted here */
  get fhirBaseUrl(): string {
    return this.opts.fhirBaseUrl;
  }

  /** How many times the revocation log was read since start (what propagation costs the database) */
  get revocationReads(): number {
    return this.#reads;
  }

  /** Whether NOTIFY wakes this instance now (PostgreSQL with LISTEN in force) */
  get notified(): boolean {
    return this.#listener?.listening ?? false;
  }

  async start(): Promise<void> {
    this.#seq = await this.revocations.latestSeq();
    if (this.opts.pollMs <= 0) return;
    if (this.opts.notify) {
      this.#listener = this.opts.notify.listen({
        notified: (seq) => {
          // Our own writes come back too, and are already applied; anything newer, or a number skipped earlier, is not.
          if (seq === undefined || seq > this.#seq || this.#gaps.has(seq)) void this.poll();
        },
        // (Again) listening: whatever was recorded while nobody listened is read now, from the last seq seen.
        listening: () => this.#readNow(),
        // Until LISTEN is back, polling at the full rate is the only way revocations arrive.
        lost: () => this.#readNow(),
      });
      await this.#listener.start();
    }
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#listener?.stop();
  }

  /** Read at once, then poll at whichever interval now applies. */
  #readNow(): void {
    void this.poll().finally(() => this.#schedule());
  }

  #schedule(): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    const ms = this.#listener?.listening && this.opts.notify ? this.opts.notify.pollMs : this.opts.pollMs;
    this.#timer = setTimeout(() => void this.poll().finally(() => this.#schedule()), ms);
    this.#timer.unref();
  }

  /**
   * Applies revocations recorded since the last read (by any instance). A call while a read runs is not dropped: it
   * waits for that read and then reads again, so a notification that arrives mid-read is never lost.
   */
  async poll(): Promise<void> {
    if (this.#polling) {
      this.#again = true;
      return this.#polling;
    }
    this.#polling = (async () => {
      try {
        do {
          this.#again = false;
          await this.#read();
        } while (this.#again && !this.#stopped);
      } finally {
        this.#polling = undefined;
      }
    })();
    return this.#polling;
  }

  async #read(): Promise<void> {
    const now = Date.now();
    for (const [seq, until] of this.#gaps) if (until < now) this.#gaps.delete(seq);
    let events;
    try {
      this.#reads++;
      events = await this.revocations.since(this.#seq, [...this.#gaps.keys()]);
    } catch {
      // A failed read is retried on the next tick or notification; the cache keeps its entries until then.
      return;
    }
    for (const e of events) {
      if (e.grantId) this.evictGrant(e.grantId);
      if (e.tokenHash) this.evictToken(e.tokenHash);
      revocationApplied(this, e.at);
      if (e.seq <= this.#seq) {
        this.#gaps.delete(e.seq);
        continue;
      }
      for (let missing = this.#seq + 1; missing < e.seq && this.#gaps.size < MAX_GAPS; missing++) this.#gaps.set(missing, now + GAP_WAIT_MS);
      this.#seq = e.seq;
    }
  }

  /** The grant of a token seen before and still valid, from memory alone; undefined means `resolve` must look. */
  resolveCached(token: string): AccessGrant | undefined {
    const hit = this.#cache.get(token);
    if (!hit) return undefined;
    if (hit.expiresAt > Date.now()) return hit;
    this.evictToken(hit.tokenHash);
    return undefined;
  }

  async resolve(token: string): Promise<AccessGrant | undefined> {
    const hit = this.resolveCached(token);
    if (hit) return hit;
    const hash = tokenHash(token);
    const grant = await this.#load(token, hash);
    if (grant) this.#remember(token, hash, grant);
    return grant;
  }

  async #load(token: string, hash: string): Promise<AccessGrant | undefined> {
    const at = (await this.provider.AccessToken.find(token)) ?? (await this.provider.ClientCredentials.find(token));
    if (!at) return undefined;
    const verdict = await this.assess(at as TokenRecord, hash);
    return verdict.state === 'active' ? verdict.grant : undefined;
  }

  /**
   * Whether a stored token grants access now, and if not the first reason it does not, in the order the API checks:
   * expiry, audience, grant, the grant's end. Also used by the token inspector (token-status.ts) on rows the
   * provider no longer hands out, so that both always agree.
   */
  async assess(at: TokenRecord, hash: string): Promise<TokenVerdict> {
    // As oidc-provider's isExpired: exp in whole seconds, expired from that second on.
    if (at.exp === undefined || at.exp <= Math.floor(Date.now() / 1000)) return { state: 'expired', expiresAt: (at.exp ?? 0) * 1000 };
    const aud = at.aud;
    const audiences = Array.isArray(aud) ? aud : aud ? [aud] : [];
    if (!audiences.includes(this.opts.fhirBaseUrl)) return { state: 'wrong-audience', audiences };
    const grantId = at.grantId;
    // The grant is the patient's authorization; a token outlives it only if we forget to look.
    const grant = grantId ? await this.provider.Grant.find(grantId) : undefined;
    if (grantId && !grant) return { state: 'grant-gone' };
    const endsAt = grantId && this.opts.accessEndsAt ? await this.opts.accessEndsAt(grantId) : undefined;
    // The clock read after the lookup: an access that ended "now" (e.g. a proxy revoked this millisecond) has ended.
    if (endsAt !== undefined && endsAt <= Date.now()) return { state: 'access-ended', accessEndsAt: endsAt };
    const extra = at.extra ?? {};
    const scope = grant ? effectiveScope(at.scope ?? '', grant.getResourceScope(this.opts.fhirBaseUrl)) : (at.scope ?? '');
    const accessGrant = accessGrantFrom({
      clientId: at.clientId ?? '',
      accountId: at.accountId,
      grantId,
      scope,
      patient: extra.patient,
      fhirUser: extra.fhirUser,
      // A cached token stops working when the grant's access ends, not only when the token expires: at that
      // millisecond (exp is in seconds; a fraction keeps the end exact rather than up to a second early).
      exp: Math.min(at.exp, endsAt === undefined ? Infinity : endsAt / 1000),
      tokenHash: hash,
      fhirBaseUrl: this.opts.fhirBaseUrl,
    });
    return { state: 'active', grant: accessGrant, scope, ...(endsAt !== undefined ? { accessEndsAt: endsAt } : {}) };
  }

  #remember(token: string, hash: string, grant: AccessGrant): void {
    if (this.#cache.size >= this.opts.maxEntries) {
      const oldest = this.#cache.values().next().value;
      if (oldest !== undefined) this.evictToken(oldest.tokenHash);
    }
    this.#cache.set(token, grant);
    this.#tokenByHash.set(hash, token);
    if (grant.grantId) {
      const set = this.#byGrant.get(grant.grantId) ?? new Set();
      set.add(hash);
      this.#byGrant.set(grant.grantId, set);
    }
  }

  evictToken(hash: string): void {
    const token = this.#tokenByHash.get(hash);
    if (token === undefined) return;
    const g = this.#cache.get(token);
    this.#cache.delete(token);
    this.#tokenByHash.delete(hash);
    if (g?.grantId) this.#byGrant.get(g.grantId)?.delete(hash);
  }

  evictGrant(grantId: string): void {
    for (const hash of this.#byGrant.get(grantId) ?? []) {
      const token = this.#tokenByHash.get(hash);
      if (token !== undefined) this.#cache.delete(token);
      this.#tokenByHash.delete(hash);
    }
    this.#byGrant.delete(grantId);
  }
}
