// Health endpoints for load balancers and orchestrators, unauthenticated and cheap:
//   /health/live   the process answers (no database): restart it only when this fails;
//   /health/ready  it can serve: the database answers, every migration in the code is applied there, and the
//                  authorization server has its signing keys; 503 with the failing check named otherwise, so a load
//                  balancer takes the instance out of rotation and puts it back once the checks pass again;
//   /healthz       the same as /health/ready (kept for existing probes).
// Their request lines are logged at warn and above only: a probe every few seconds is not news.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { sql } from 'kysely';
import type { Db } from './store/db.js';
import { pendingMigrations } from './store/migrate.js';

export const HEALTH_PATHS = ['/health/live', '/health/ready', '/healthz'] as const;

/** A database that has not answered by then counts as unreachable: a probe must answer before its own timeout. */
const DATABASE_TIMEOUT_MS = 2_000;

export interface HealthDeps {
  readonly db: Db;
  /** How many signing keys the authorization server holds; undefined when it is not part of this app */
  readonly signingKeys?: () => number;
}

type CheckResult = 'ok' | string;

export interface Readiness {
  readonly status: 'ok' | 'unavailable';
  readonly checks: { readonly database: CheckResult; readonly migrations: CheckResult; readonly keys: CheckResult };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export async function readiness(deps: HealthDeps): Promise<Readiness> {
  const [database, migrations] = await Promise.allSettled([
    withTimeout(sql`select 1`.execute(deps.db.kysely), DATABASE_TIMEOUT_MS),
    withTimeout(pendingMigrations(deps.db), DATABASE_TIMEOUT_MS),
  ]);
  const checks = {
    database: database.status === 'fulfilled' ? 'ok' : 'unreachable',
    migrations:
      migrations.status === 'rejected'
        ? 'unknown (the database did not answer)'
        : migrations.value.length
          ? `pending: ${migrations.value.join(', ')}`
          : 'ok',
    keys: deps.signingKeys === undefined || deps.signingKeys() > 0 ? 'ok' : 'no signing keys loaded',
  };
  const ok = Object.values(checks).every((c) => c === 'ok');
  return { status: ok ? 'ok' : 'unavailable', checks };
}

export function registerHealthRoutes(server: FastifyInstance, deps: HealthDeps): void {
  const opts = { logLevel: 'warn' as const };
  server.get('/health/live', opts, async (_req, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));
  const ready = async (_req: unknown, reply: FastifyReply) => {
    const r = await readiness(deps);
    return reply.code(r.status === 'ok' ? 200 : 503).header('cache-control', 'no-store').send(r);
  };
  server.get('/health/ready', opts, ready);
  server.get('/healthz', opts, ready);
}
