// Which browser made a simulator launch. The launch id travels in the app's launch URL (its logs, history, Referer),
// so it must not be the key to the launch's page, its Revoke button or its access token: those answer only the
// browser that pressed Launch, known by a random cookie whose hash is stored with the launch.
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { StoredLaunch } from '../store/smart-context.js';

export const SIMULATOR_COOKIE = 'sandbox_simulator';

const hash = (value: string) => createHash('sha256').update(value).digest('base64url');
const cookieOf = (req: FastifyRequest) => {
  const v = req.cookies[SIMULATOR_COOKIE];
  return v && /^[A-Za-z0-9_-]{43}$/.test(v) ? v : undefined;
};

/** The owner hash to store with a new launch; gives this browser its cookie first if it has none. */
export function launchOwner(req: FastifyRequest, reply: FastifyReply, secure: boolean): string {
  let value = cookieOf(req);
  if (!value) {
    value = randomBytes(32).toString('base64url');
    reply.setCookie(SIMULATOR_COOKIE, value, { path: '/sandbox', httpOnly: true, sameSite: 'lax', secure });
  }
  return hash(value);
}

/** True when this browser made the launch. */
export function ownsLaunch(req: FastifyRequest, launch: Pick<StoredLaunch, 'options'>): boolean {
  const value = cookieOf(req);
  return value !== undefined && launch.options?.owner === hash(value);
}
