// Load shedding: when the event loop lags behind (more work arrives than the process can do), new requests are
// answered at once with 503 and Retry-After instead of queuing behind the backlog until everyone times out. Requests
// already being handled finish; /healthz is always answered, so a liveness probe does not restart a busy process.
// The lag is the mean delay of a timer over each sample (@fastify/under-pressure), so shedding stops by itself one
// sample after the backlog is gone.
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors } from 'oidc-provider';
import { operationOutcome } from './fhir/outcome.js';

export interface OverloadOptions {
  /** Shed load when the event loop's mean delay over a sample exceeds this (ms); 0 = never */
  readonly maxEventLoopDelayMs: number;
}

/** How often the lag is measured (ms): also how soon shedding starts and stops. */
export const OVERLOAD_SAMPLE_MS = 500;
/** Seconds a shed client is asked to wait: a few samples, long enough for a backlog to clear. */
export const OVERLOAD_RETRY_AFTER_SECONDS = 2;

const EXEMPT = new Set(['/healthz']);
const MESSAGE = 'The server is overloaded right now. Try again in a few seconds.';

/** Registers the shedding hook; must come before other onRequest hooks (mount.ts hands /auth to the provider in one). */
export async function registerOverloadShedding(app: FastifyInstance, opts: OverloadOptions): Promise<void> {
  if (opts.maxEventLoopDelayMs <= 0) return;
  const fhirBody = JSON.stringify(operationOutcome([{ severity: 'error', code: 'throttled', diagnostics: MESSAGE }]));
  const unavailable = new errors.TemporarilyUnavailable(MESSAGE);
  const oauthBody = JSON.stringify({ error: unavailable.error, error_description: unavailable.error_description });
  const htmlBody = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Please try again</title><p>${MESSAGE}</p></html>`;
  let shed = 0;
  let lastWarning = 0;

  // Any value the handler returns is sent as the reply and ends the onRequest chain; undefined lets the request in.
  const shedRequest = (req: FastifyRequest, reply: FastifyReply, _type: string, lag: number | undefined): string | undefined => {
    const path = (req.raw.url ?? '').split('?', 1)[0]!;
    if (EXEMPT.has(path)) return undefined;
    shed++;
    const now = Date.now();
    if (now - lastWarning >= 10_000) {
      req.log.warn({ eventLoopDelayMs: lag, shedSinceLastWarning: shed }, 'overloaded: answering new requests 503');
      lastWarning = now;
      shed = 0;
    }
    const origin = req.headers.origin;
    if (origin && origin !== 'null') reply.header('access-control-allow-origin', origin).header('access-control-expose-headers', 'Retry-After').header('vary', 'Origin');
    reply.code(503).header('retry-after', String(OVERLOAD_RETRY_AFTER_SECONDS)).header('cache-control', 'no-store');
    if (path === '/fhir' || path.startsWith('/fhir/')) return (reply.type('application/fhir+json; charset=utf-8'), fhirBody);
    const wantsHtml = /\btext\/html\b/.test(req.headers.accept ?? '');
    if (!wantsHtml && (path === '/auth' || path.startsWith('/auth/'))) return (reply.type('application/json; charset=utf-8'), oauthBody);
    if (wantsHtml) return (reply.type('text/html; charset=utf-8'), htmlBody);
    return (reply.type('text/plain; charset=utf-8'), MESSAGE);
  };

  await app.register(underPressure, {
    maxEventLoopDelay: opts.maxEventLoopDelayMs,
    sampleInterval: OVERLOAD_SAMPLE_MS,
    // The plugin's types say void, but its code sends any other value it gets back (see its README).
    pressureHandler: shedRequest as unknown as (req: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) => void,
  });
}
