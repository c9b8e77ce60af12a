// Outside the FHIR API and the portal, which answer in formats of their own, a request that fails because the database
// is unavailable (PostgreSQL stopped or restarting) gets a 503 with Retry-After that says so, in OAuth's error format
// (RFC 6749's temporarily_unavailable) under /auth. Fastify's default answer was a 500 carrying the driver's message.
// Every other error goes on to Fastify's own handler unchanged.
import type { FastifyError, FastifyInstance } from 'fastify';
import { isDatabaseUnavailable } from './store/db.js';

const MESSAGE = 'The database is unavailable right now. Try again in a few seconds.';

/** Registers the handler on the root instance: before the plugins, which inherit it unless they set their own. */
export function answerDatabaseUnavailable(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (!isDatabaseUnavailable(err)) return reply.send(err);
    req.log.warn({ err: { message: err.message, code: err.code } }, 'database unavailable: answered 503');
    void reply.status(503).header('Retry-After', '2');
    if ((req.raw.url ?? '').startsWith('/auth/')) return reply.header('Cache-Control', 'no-store').send({ error: 'temporarily_unavailable', error_description: MESSAGE });
    return reply.type('text/plain; charset=utf-8').send(MESSAGE);
  });
}
