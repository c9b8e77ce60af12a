// Outside the FHIR API and the portal, which answer in formats of their own, a request that fails because the database
// is unavailable (PostgreSQL stopped or restarting) gets a 503 with Retry-After that says so, in OAuth's error format
// (RFC 6749's temporarily_unavailable) under /auth. Fastify's default answer was a 500 carrying the driver's message.
import type { FastifyReply, FastifyRequest } from 'fastify';

const MESSAGE = 'The database is unavailable right now. Try again in a few seconds.';

/**
 * The answer for a request that failed because the database is unavailable; the root error handler
 * (request-limits.ts) calls it, and the plugins with handlers of their own answer in their own formats.
 */
export function answerUnavailable(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  req.log.warn('database unavailable: answered 503');
  void reply.status(503).header('Retry-After', '2');
  if ((req.raw.url ?? '').startsWith('/auth/')) return reply.header('Cache-Control', 'no-store').send({ error: 'temporarily_unavailable', error_description: MESSAGE });
  return reply.type('text/plain; charset=utf-8').send(MESSAGE);
}
