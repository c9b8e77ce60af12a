// Who is signed in to the portal. A session ends after a period without activity (20 minutes by default) and on
// sign-out; an ended session is told apart from "never signed in" so the page can say why they must sign in again.
import { randomBytes } from 'node:crypto';
import type { PortalSessionStore } from '../store/portal-sessions.js';
import type { Clock } from './clock.js';
import { sha256 } from './codes.js';

export type SessionLookup =
  | { readonly state: 'active'; readonly accountId: string }
  | { readonly state: 'expired' }
  | { readonly state: 'none' };

export interface PortalSessionOptions {
  readonly idleMs: number;
  readonly clock: Clock;
}

// last_seen_at is rewritten at most this often: enough resolution for a 20-minute idle limit, a tenth of the writes.
const TOUCH_EVERY_MS = 15_000;

export class PortalSessions {
  constructor(
    private readonly store: PortalSessionStore,
    private readonly opts: PortalSessionOptions,
  ) {}

  get idleMs(): number {
    return this.opts.idleMs;
  }

  /** Starts a session; returns the cookie value (only its hash is stored). */
  async start(accountId: string): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    await this.store.create(sha256(id), accountId, this.opts.clock());
    return id;
  }

  async lookup(cookie: string | undefined): Promise<SessionLookup> {
    if (!cookie) return { state: 'none' };
    const hash = sha256(cookie);
    const row = await this.store.find(hash);
    if (!row) return { state: 'none' };
    const now = this.opts.clock();
    if (now - row.lastSeenAt > this.opts.idleMs) {
      await this.store.delete(hash);
      return { state: 'expired' };
    }
    if (now - row.lastSeenAt > Math.min(TOUCH_EVERY_MS, this.opts.idleMs / 4)) await this.store.touch(hash, now);
    return { state: 'active', accountId: row.accountId };
  }

  async end(cookie: string | undefined): Promise<void> {
    if (cookie) await this.store.delete(sha256(cookie));
  }

  /** Ends every session of the account, in every browser; returns how many there were. */
  async endAllFor(accountId: string): Promise<number> {
    return this.store.deleteForAccount(accountId);
  }

  /** Housekeeping: rows of sessions nobody came back to. */
  async sweep(): Promise<number> {
    return this.store.deleteIdleSince(this.opts.clock() - this.opts.idleMs);
  }
}
