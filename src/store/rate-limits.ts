// Shared counters behind the rate limits and the sign-in lockout. Each hit is one statement (an upsert that returns
// the new count), so two processes or instances counting the same key at once never lose a hit and never need a
// transaction. Works the same on SQLite (one file shared by WORKERS) and PostgreSQL (shared by instances).
import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface Count {
  readonly hits: number;
  /** When the window ends and counting starts again (ms since epoch) */
  readonly resetAt: number;
}

export interface HitOptions {
  /** Length of the window in ms */
  readonly windowMs: number;
  /** The count stops here: further hits change nothing (neither count nor window) until the window ends */
  readonly cap: number;
  /**
   * Each counted hit starts the window again (a failure counter: it lapses after `windowMs` without a failure, and
   * the hit that reaches `cap` holds it for `windowMs`). Otherwise the window runs from the first hit (fixed).
   */
  readonly sliding?: boolean;
}

// Keys come from requests (client_id, username): a long one is stored as its hash, so no one can fill rows with it.
const MAX_KEY_CHARS = 200;
const storedKey = (key: string): string => (key.length <= MAX_KEY_CHARS ? key : `sha256:${createHash('sha256').update(key).digest('base64url')}`);

/** How often (ms of the caller's clock) one process deletes rows whose window has ended. */
const PRUNE_EVERY_MS = 60_000;

export class RateLimitStore {
  #lastPrune = 0;

  constructor(private readonly k: Kysely<Database>) {}

  /** Counts one hit of `key` in `bucket` at `now` and returns the count after it. */
  async hit(bucket: string, key: string, o: HitOptions, now: number): Promise<Count> {
    const k = storedKey(key);
    const resetAt = now + o.windowMs;
    // Every SET expression sees the row as it was before this statement (both dialects), so the CASEs read the old
    // count and window. An ended window starts again at 1; a full one stays as it is.
    const { rows } = await sql<{ hits: number | string; reset_at: number | string }>`
      insert into rate_limits (bucket, limit_key, hits, reset_at) values (${bucket}, ${k}, 1, ${resetAt})
      on conflict (bucket, limit_key) do update set
        hits = case when rate_limits.reset_at <= ${now} then 1
                    when rate_limits.hits >= ${o.cap} then rate_limits.hits
                    else rate_limits.hits + 1 end,
        reset_at = case when rate_limits.reset_at <= ${now} then excluded.reset_at
                        when rate_limits.hits >= ${o.cap} then rate_limits.reset_at
                        when ${o.sliding ? 1 : 0} = 1 then excluded.reset_at
                        else rate_limits.reset_at end
      returning hits, reset_at`.execute(this.k);
    const row = rows[0]!;
    if (now - this.#lastPrune >= PRUNE_EVERY_MS) {
      this.#lastPrune = now;
      await this.prune(now);
    }
    return { hits: Number(row.hits), resetAt: Number(row.reset_at) };
  }

  /** The live count of `key`, without counting; undefined when none (or its window has ended). */
  async read(bucket: string, key: string, now: number): Promise<Count | undefined> {
    const row = await this.k
      .selectFrom('rate_limits')
      .select(['hits', 'reset_at'])
      .where('bucket', '=', bucket)
      .where('limit_key', '=', storedKey(key))
      .where('reset_at', '>', now)
      .executeTakeFirst();
    return row && { hits: Number(row.hits), resetAt: Number(row.reset_at) };
  }

  async clear(bucket: string, key: string): Promise<void> {
    await this.k.deleteFrom('rate_limits').where('bucket', '=', bucket).where('limit_key', '=', storedKey(key)).execute();
  }

  /** Deletes counters whose window ended before `now`. */
  async prune(now: number): Promise<number> {
    const r = await this.k.deleteFrom('rate_limits').where('reset_at', '<', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
