// The server's Prometheus metrics: one registry per app (tests run several apps in one process, and a registry
// rejects a second metric of the same name), prom-client's default process metrics (event-loop lag, memory, GC,
// handles) and ours. Every label value comes from a fixed set or a route pattern, never from a URL or an id, so the
// number of series stays bounded whatever clients send. Gauges that read state (active grants, the pool, the audit
// queues) are computed when scraped, so they cost nothing between scrapes.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Seconds; from a cached read (~0.1 ms) to a request that hit the 30 s timeouts. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Seconds; revocations reach other instances within the poll interval (250 ms by default) or a notification. */
const LAG_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type StatusClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx';

export interface PoolState {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
}

/** What the scrape-time gauges read; each is optional (no pool on SQLite, no grants without the auth server). */
export interface MetricSources {
  readonly activeGrants?: () => Promise<number>;
  readonly pool?: PoolState | undefined;
}

/** Audit events waiting to be written, per queue; set once the queues exist (after the app's parts are built). */
export interface AuditQueues {
  access?: () => number;
  security?: () => number;
}

export class ServerMetrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status_class'>;
  readonly fhirInteractions: Counter<'type' | 'interaction'>;
  readonly tokensIssued: Counter<'grant_type'>;
  readonly consentDecisions: Counter<'decision'>;
  readonly revocationLag: Histogram;
  readonly queryDuration: Histogram<'outcome'>;
  readonly auditQueues: AuditQueues = {};
  // One child per label combination, looked up by a string key: prom-client hashes the label object on every call.
  readonly #httpChildren = new Map<string, { observe(v: number): void }>();

  constructor(sources: MetricSources = {}) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.httpDuration = new Histogram({
      name: 'smart_http_request_duration_seconds',
      help: 'HTTP requests by route pattern (unmatched: no route), method and status class; _count is the request count',
      labelNames: ['method', 'route', 'status_class'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.fhirInteractions = new Counter({
      name: 'smart_fhir_interactions_total',
      help: 'FHIR REST interactions answered, by resource type (- for system level) and interaction',
      labelNames: ['type', 'interaction'],
      registers,
    });
    this.tokensIssued = new Counter({
      name: 'smart_oauth_tokens_issued_total',
      help: 'Access tokens issued by the token endpoint, by grant type',
      labelNames: ['grant_type'],
      registers,
    });
    this.consentDecisions = new Counter({
      name: 'smart_consent_decisions_total',
      help: 'Answers on the consent page (and the sandbox simulator): allow or deny',
      labelNames: ['decision'],
      registers,
    });
    this.revocationLag = new Histogram({
      name: 'smart_revocation_lag_seconds',
      help: "Time from a revocation's entry in the shared log to this process applying it to its token cache",
      buckets: LAG_BUCKETS,
      registers,
    });
    this.queryDuration = new Histogram({
      name: 'smart_db_query_duration_seconds',
      help: 'Database statements run through the query builder (and prepared statements on PostgreSQL), by outcome',
      labelNames: ['outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    // Series that exist from the start, so a rate() over the first increments is right.
    for (const grant_type of ['authorization_code', 'refresh_token', 'client_credentials']) this.tokensIssued.inc({ grant_type }, 0);
    for (const decision of ['allow', 'deny']) this.consentDecisions.inc({ decision }, 0);
    const activeGrants = sources.activeGrants;
    if (activeGrants) {
      new Gauge({
        name: 'smart_oauth_active_grants',
        help: 'Grants (a patient or system authorization of an app) not revoked or expired, read from the database when scraped',
        registers,
        // Every worker reads the same table: aggregated across workers it is one number, not their sum.
        aggregator: 'max',
        async collect() {
          this.set(await activeGrants());
        },
      });
    }
    const pool = sources.pool;
    if (pool) {
      new Gauge({
        name: 'smart_db_pool_connections',
        help: 'PostgreSQL pool connections of this process: total open and idle',
        labelNames: ['state'],
        registers,
        collect() {
          this.set({ state: 'total' }, pool.totalCount);
          this.set({ state: 'idle' }, pool.idleCount);
        },
      });
      new Gauge({
        name: 'smart_db_pool_waiting_requests',
        help: 'Queries waiting for a PostgreSQL pool connection',
        registers,
        collect() {
          this.set(pool.waitingCount);
        },
      });
    }
    const queues = this.auditQueues;
    new Gauge({
      name: 'smart_audit_queue_depth',
      help: 'Audit events recorded but not yet written: FHIR accesses (access) and security events (security)',
      labelNames: ['queue'],
      registers,
      collect() {
        if (queues.access) this.set({ queue: 'access' }, queues.access());
        if (queues.security) this.set({ queue: 'security' }, queues.security());
      },
    });
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route} ${status}`;
    let child = this.#httpChildren.get(key);
    if (!child) {
      child = this.httpDuration.labels({ method, route, status_class: statusClass(status) });
      this.#httpChildren.set(key, child);
    }
    child.observe(seconds);
  }

  observeQuery(ms: number, failed: boolean): void {
    this.queryDuration.observe({ outcome: failed ? 'error' : 'ok' }, ms / 1000);
  }
}

function statusClass(status: number): StatusClass {
  return status >= 500 ? '5xx' : status >= 400 ? '4xx' : status >= 300 ? '3xx' : status >= 200 ? '2xx' : '1xx';
}
