// Request rate limits counted in the database (src/store/rate-limits.ts), so a limit holds across WORKERS and
// instances: a fixed window per (rule, key) that starts at the first request, `max` requests in it, the rest refused
// until it ends. Used by the OAuth endpoints' hook (auth/endpoint-limits.ts) and, through @fastify/rate-limit's store
// interface (fastify-store.ts), by the portal and sandbox forms.
import { isIPv6 } from 'node:net';
import type { RateLimitStore } from '../store/rate-limits.js';

export interface RateRule {
  /** What is counted, e.g. "token-address"; stored as "req:<bucket>" beside the sign-in failure counters */
  readonly bucket: string;
  /** Requests allowed per window */
  readonly max: number;
  readonly windowMs: number;
}

export interface RateVerdict {
  readonly allowed: boolean;
  /** Requests counted in the window so far (stops growing at max + 1) */
  readonly hits: number;
  /** Until the window ends */
  readonly retryAfterMs: number;
}

export class RequestLimiter {
  constructor(
    private readonly store: RateLimitStore,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Counts one request of `key` under `rule`. */
  async take(rule: RateRule, key: string): Promise<RateVerdict> {
    const now = this.clock();
    // Capped one above max: enough to tell "over", and a flood does not rewrite the row with ever larger numbers.
    const c = await this.store.hit(`req:${rule.bucket}`, key, { windowMs: rule.windowMs, cap: rule.max + 1 }, now);
    return { allowed: c.hits <= rule.max, hits: c.hits, retryAfterMs: Math.max(0, c.resetAt - now) };
  }

  /** The count so far, without counting this request. */
  async peek(rule: RateRule, key: string): Promise<RateVerdict> {
    const now = this.clock();
    const c = await this.store.read(`req:${rule.bucket}`, key, now);
    return { allowed: (c?.hits ?? 0) <= rule.max, hits: c?.hits ?? 0, retryAfterMs: c ? Math.max(0, c.resetAt - now) : 0 };
  }
}

/** Whole seconds for Retry-After, at least 1 (0 would invite an immediate retry that is refused again). */
export const retryAfterSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/**
 * The key for "one address": an IPv4 address as it is; an IPv6 address by its /64 network (one host usually holds a
 * whole /64, so counting single addresses would let it rotate through them); an IPv4-mapped one as IPv4.
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!isIPv6(ip)) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = ip.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = ip.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
