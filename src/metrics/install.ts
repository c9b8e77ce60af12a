// Wires the metrics into an app: request hooks first (before any hook that takes a request over), the database's
// statement timings and pool, then the parts built later (tokens, consents, revocations, audit queues).
import type { FastifyInstance } from 'fastify';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { grantTypeOf } from '../auth/provider-events.js';
import type { Db } from '../store/db.js';
import { countActiveGrants } from '../store/active-grants.js';
import { registerHttpMetrics } from './http-metrics.js';
import { ServerMetrics } from './metrics.js';
import { observeRevocationLag } from './revocation-lag.js';

/** Creates the app's metrics and registers the request hooks; call right after load shedding's hooks. */
export function createServerMetrics(server: FastifyInstance, db: Db): ServerMetrics {
  const metrics = new ServerMetrics({ activeGrants: () => countActiveGrants(db), pool: db.pool });
  if (db.queryTiming) db.queryTiming.observe = (ms, failed) => metrics.observeQuery(ms, failed);
  registerHttpMetrics(server, metrics);
  return metrics;
}

export interface MeteredParts {
  readonly provider?: Provider | undefined;
  /** The token resolver, whose application of logged revocations is timed (bearer.ts calls revocationApplied) */
  readonly resolver?: object | undefined;
  readonly security?: { observe(fn: (e: { event: string }) => void): void; readonly queued: number };
  readonly audit?: { readonly queued: number } | undefined;
}

export function attachMetrics(metrics: ServerMetrics, parts: MeteredParts): void {
  const { provider, resolver, security, audit } = parts;
  // Every successful token request issues an access token: code exchange, refresh, client credentials.
  provider?.on('grant.success', (ctx: KoaContextWithOIDC) => metrics.tokensIssued.inc({ grant_type: grantTypeOf(ctx) ?? 'other' }));
  if (resolver) observeRevocationLag(resolver, (lagMs) => metrics.revocationLag.observe(lagMs / 1000));
  if (security) {
    security.observe((e) => {
      if (e.event === 'consent.given') metrics.consentDecisions.inc({ decision: 'allow' });
      else if (e.event === 'consent.denied') metrics.consentDecisions.inc({ decision: 'deny' });
    });
    metrics.auditQueues.security = () => security.queued;
  }
  if (audit) metrics.auditQueues.access = () => audit.queued;
}
