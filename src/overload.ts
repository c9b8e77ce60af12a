// Load shedding: when more work arrives than the process can do, new requests are answered at once with 503 and
// Retry-After instead of queuing behind the backlog until everyone times out. Requests already being handled finish;
// /health/*, /healthz and /metrics are always answered, so a liveness probe does not restart a busy process. Two
// signals, each sampled every OVERLOAD_SAMPLE_MS, so shedding starts and stops by itself within a sample or two:
//   - event-loop lag (@fastify/under-pressure): the mean delay of a timer, for work that holds the loop;
//   - a standing queue: the median time of the requests that finished in the sample. A backlog that waits outside the
//     loop (for the PostgreSQL pool, for SQLite's connection) never shows as lag, but makes every request slow.
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors } from 'oidc-provider';
import { operationOutcome } from './fhir/outcome.js';

export interface OverloadOptions {
  /** Shed while the event loop's mean delay over a sample exceeds this (ms); 0 = never */
  readonly maxEventLoopDelayMs: number;
  /** Shed while the median time of the requests finished in a sample exceeds this (ms); 0 = never */
  readonly maxQueueMs: number;
}

/** How often both signals are measured (ms): also how soon shedding starts and stops. */
export const OVERLOAD_SAMPLE_MS = 500;
/** Seconds a shed client is asked to wait: a few samples, long enough for a backlog to clear. */
export const OVERLOAD_RETRY_AFTER_SECONDS = 2;
/** Fewer finished requests in a sample than this say nothing about a queue (a few slow exports are no backlog). */
const MIN_REQUESTS_PER_SAMPLE = 10;
/** Request times kept per sample for the median; enough for a stable one, bounded under any load. */
const MAX_SAMPLES = 1024;

// Probes and scrapes: a busy process must still say it is alive and show why it is busy.
const EXEMPT = new Set(['/healthz', '/health/live', '/health/ready', '/metrics']);
const MESSAGE = 'The server is overloaded right now. Try again in a few seconds.';

/** Median request time over each sample; `overloaded` holds for the next sample. */
class QueueWatch {
  #times: number[] = [];
  overloaded = false;
  median = 0;

  constructor(private readonly maxMs: number) {}

  record(ms: number): void {
    if (this.#times.length < MAX_SAMPLES) this.#times.push(ms);
  }

  sample(): void {
    const times = this.#times;
    this.#times = [];
    // While shedding, only requests admitted before finish; once they have drained, requests are let in again.
    if (times.length < MIN_REQUESTS_PER_SAMPLE) {
      this.overloaded = false;
      return;
    }
    times.sort((a, b) => a - b);
    this.median = times[times.length >> 1]!;
    this.overloaded = this.median > this.maxMs;
  }
}

/** Registers the shedding hooks; must come before other onRequest hooks (mount.ts hands /auth to the provider in one). */
export async function registerOverloadShedding(app: FastifyInstance, opts: OverloadOptions): Promise<void> {
  if (opts.maxEventLoopDelayMs <= 0 && opts.maxQueueMs <= 0) return;
  const fhirBody = JSON.stringify(operationOutcome([{ severity: 'error', code: 'throttled', diagnostics: MESSAGE }]));
  const unavailable = new errors.TemporarilyUnavailable(MESSAGE);
  const oauthBody = JSON.stringify({ error: unavailable.error, error_description: unavailable.error_description });
  const htmlBody = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Please try again</title><p>${MESSAGE}</p></html>`;
  const shedReplies = new WeakSet<FastifyReply>();
  let shedCount = 0;
  let lastWarning = 0;

  /** The 503 for this request in its area's shape, or undefined when it is exempt (then it is let in). */
  const shed = (req: FastifyRequest, reply: FastifyReply, why: Record<string, number>): string | undefined => {
    const path = (req.raw.url ?? '').split('?', 1)[0]!;
    if (EXEMPT.has(path)) return undefined;
    shedReplies.add(reply);
    shedCount++;
    const now = Date.now();
    if (now - lastWarning >= 10_000) {
      req.log.warn({ ...why, shedSinceLastWarning: shedCount }, 'overloaded: answering new requests 503');
      lastWarning = now;
      shedCount = 0;
    }
    // A browser app must be able to read the refusal and its Retry-After.
    const origin = req.headers.origin;
    if (origin && origin !== 'null') reply.header('access-control-allow-origin', origin).header('access-control-expose-headers', 'Retry-After').header('vary', 'Origin');
    reply.code(503).header('retry-after', String(OVERLOAD_RETRY_AFTER_SECONDS)).header('cache-control', 'no-store');
    if (path === '/fhir' || path.startsWith('/fhir/')) return (reply.type('application/fhir+json; charset=utf-8'), fhirBody);
    const wantsHtml = /\btext\/html\b/.test(req.headers.accept ?? '');
    if (!wantsHtml && (path === '/auth' || path.startsWith('/auth/'))) return (reply.type('application/json; charset=utf-8'), oauthBody);
    if (wantsHtml) return (reply.type('text/html; charset=utf-8'), htmlBody);
    return (reply.type('text/plain; charset=utf-8'), MESSAGE);
  };

  if (opts.maxEventLoopDelayMs > 0) {
    await app.register(underPressure, {
      maxEventLoopDelay: opts.maxEventLoopDelayMs,
      sampleInterval: OVERLOAD_SAMPLE_MS,
      // The plugin sends any value its handler returns (see its README) and ends the onRequest chain; undefined lets
      // the request in. Its types say void.
      pressureHandler: ((req: FastifyRequest, reply: FastifyReply, _type: string, lag: number | undefined) => shed(req, reply, { eventLoopDelayMs: lag ?? 0 })) as unknown as (
        req: FastifyRequest,
        reply: FastifyReply,
        type: string,
        value: number | undefined,
      ) => void,
    });
  }

  if (opts.maxQueueMs > 0) {
    const watch = new QueueWatch(opts.maxQueueMs);
    const timer = setInterval(() => watch.sample(), OVERLOAD_SAMPLE_MS);
    timer.unref();
    app.addHook('onClose', async () => clearInterval(timer));
    app.addHook('onRequest', (req, reply, done) => {
      if (!watch.overloaded) return done();
      const body = shed(req, reply, { medianRequestMs: watch.median });
      if (body === undefined) return done();
      void reply.send(body);
    });
    // Hijacked replies (/auth, answered by oidc-provider) have no onResponse: the API and the pages are measured.
    app.addHook('onResponse', (_req, reply, done) => {
      if (!shedReplies.has(reply)) watch.record(reply.elapsedTime);
      done();
    });
  }
}
