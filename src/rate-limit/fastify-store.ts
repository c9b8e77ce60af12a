// @fastify/rate-limit keeps its counts in process memory unless given a store; this one counts in the database
// through RequestLimiter, so the portal's and sandbox's form limits hold across WORKERS and instances. The plugin
// makes one child store per route that opts in, and each route keeps its own count (as with the memory store).
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { RequestLimiter } from './limiter.js';

type Callback = (error: Error | null, result?: { current: number; ttl: number }) => void;

/** What the plugin hands `child`: the route's merged settings, with the route itself under `routeInfo`. */
interface ChildSettings {
  readonly routeInfo?: { readonly method?: string | readonly string[]; readonly url?: string };
}

/** A store class for @fastify/rate-limit's `store` option, counting through `limiter`. */
export function sharedRateLimitStore(limiter: RequestLimiter): FastifyRateLimitStoreCtor {
  class SharedRateLimitStore implements FastifyRateLimitStore {
    readonly #bucket: string;

    constructor(settings: ChildSettings = {}) {
      const r = settings.routeInfo;
      const method = Array.isArray(r?.method) ? r.method.join(',') : (r?.method ?? '');
      this.#bucket = r?.url ? `${method} ${r.url}` : 'global';
    }

    incr(key: string, callback: Callback, timeWindow: number, max: number): void {
      limiter.take({ bucket: this.#bucket, max, windowMs: timeWindow }, key).then(
        (v) => callback(null, { current: v.hits, ttl: v.retryAfterMs }),
        (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
      );
    }

    read(key: string, callback: Callback, timeWindow: number, max: number): void {
      limiter.peek({ bucket: this.#bucket, max, windowMs: timeWindow }, key).then(
        (v) => callback(null, { current: v.hits, ttl: v.retryAfterMs }),
        (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
      );
    }

    child(settings: unknown): FastifyRateLimitStore {
      return new SharedRateLimitStore(settings as ChildSettings);
    }
  }
  return SharedRateLimitStore as unknown as FastifyRateLimitStoreCtor;
}
