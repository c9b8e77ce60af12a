// GET /metrics: Prometheus text, for a scraper holding METRICS_TOKEN (without it the route does not exist: 404).
// Under WORKERS > 1 a scrape reaches one worker at random; that worker asks the primary, which gathers every
// worker's registry through prom-client's AggregatorRegistry (counters and histograms summed, per-metric
// aggregators otherwise), so one scrape sees the whole server.
import cluster from 'node:cluster';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ServerMetrics } from './metrics.js';
import { SCRAPE_REPLY, SCRAPE_REQUEST, answerCollections, type ScrapeReply } from './cluster-metrics.js';

export const METRICS_PATH = '/metrics';
const WORKER_SCRAPE_TIMEOUT_MS = 8_000;

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Registers GET /metrics behind `Authorization: Bearer <token>`. */
export function registerMetricsEndpoint(server: FastifyInstance, metrics: ServerMetrics, token: string): void {
  const expected = digest(token);
  const scrape = cluster.isWorker ? workerScrape(metrics) : () => metrics.registry.metrics();
  server.get(METRICS_PATH, { logLevel: 'warn' }, async (req, reply) => {
    const given = /^Bearer +(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    // Hashes of equal length, compared in constant time: the comparison says nothing about how much matched.
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      return reply.code(401).header('www-authenticate', 'Bearer realm="metrics"').header('cache-control', 'no-store').type('text/plain; charset=utf-8').send('A valid METRICS_TOKEN is required as a Bearer token.\n');
    }
    try {
      const text = await scrape();
      return reply.header('cache-control', 'no-store').type(metrics.registry.contentType).send(text);
    } catch (err) {
      req.log.warn({ err }, 'metrics scrape failed');
      return reply.code(503).header('retry-after', '5').type('text/plain; charset=utf-8').send('Metrics could not be gathered from every worker; try again.\n');
    }
  });
}

/** In a worker: answer the primary's collection requests from this registry, and scrape through the primary. */
function workerScrape(metrics: ServerMetrics): () => Promise<string> {
  answerCollections(metrics.registry);
  const pending = new Map<number, { resolve(text: string): void; reject(err: Error): void }>();
  let next = 0;
  process.on('message', (msg: unknown) => {
    const m = msg as Partial<ScrapeReply> | null;
    if (m?.type !== SCRAPE_REPLY || typeof m.id !== 'number') return;
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (typeof m.text === 'string') p.resolve(m.text);
    else p.reject(new Error(m.error ?? 'no metrics from the primary'));
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error('the primary process did not answer the metrics scrape in time'));
      }, WORKER_SCRAPE_TIMEOUT_MS);
      pending.set(id, {
        resolve: (t) => (clearTimeout(timer), resolve(t)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      process.send?.({ type: SCRAPE_REQUEST, id });
    });
}
