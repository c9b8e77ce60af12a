// Metrics across WORKERS > 1: a scrape reaches one worker at random, so that worker asks the primary, which collects
// every listening worker's registry (as JSON) and sums them with prom-client's AggregatorRegistry.aggregate
// (counters and histograms summed; gauges by their own aggregator). Only workers that are listening are asked: one
// still starting has no registry yet, and waiting for it would fail the scrape.
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';

/** Worker → primary: a scrape arrived here, send back everyone's metrics. */
export const SCRAPE_REQUEST = 'smart:metrics-scrape';
export const SCRAPE_REPLY = 'smart:metrics-scraped';
/** Primary → worker: send your registry. */
const COLLECT_REQUEST = 'smart:metrics-collect';
const COLLECT_REPLY = 'smart:metrics-collected';
/** A worker that has not answered by then fails the scrape: a partial sum would make counters go backwards. */
const COLLECT_TIMEOUT_MS = 5_000;

type MetricJson = MetricObjectWithValues<MetricValue<string>>[];

export interface ScrapeReply {
  readonly type: typeof SCRAPE_REPLY;
  readonly id: number;
  readonly text?: string;
  readonly error?: string;
}

interface Message {
  readonly type?: unknown;
  readonly id?: unknown;
  readonly metrics?: MetricJson;
  readonly error?: string;
}

/** In a worker: answer the primary's collection requests with this registry. */
export function answerCollections(registry: Registry): void {
  process.on('message', (msg: Message | null) => {
    if (msg?.type !== COLLECT_REQUEST || typeof msg.id !== 'number') return;
    const id = msg.id;
    registry.getMetricsAsJSON().then(
      (metrics) => process.send?.({ type: COLLECT_REPLY, id, metrics }),
      (err: unknown) => process.send?.({ type: COLLECT_REPLY, id, error: err instanceof Error ? err.message : String(err) }),
    );
  });
}

/** In the primary, once, before forking: gathers the workers' metrics when one of them is scraped. */
export function answerMetricsScrapes(): void {
  const listening = new Set<Worker>();
  cluster.on('listening', (worker) => listening.add(worker));
  cluster.on('exit', (worker) => listening.delete(worker));
  const waiting = new Map<number, { got: MetricJson[]; left: number; done(err?: Error): void }>();
  let nextId = 0;

  const collect = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const workers = [...listening].filter((w) => w.isConnected());
      const id = nextId++;
      const got: MetricJson[] = [];
      const timer = setTimeout(() => finish(new Error(`a worker did not send its metrics within ${COLLECT_TIMEOUT_MS} ms`)), COLLECT_TIMEOUT_MS);
      let settled = false;
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        waiting.delete(id);
        clearTimeout(timer);
        if (err) reject(err);
        else AggregatorRegistry.aggregate(got).metrics().then(resolve, reject);
      };
      waiting.set(id, { got, left: workers.length, done: finish });
      if (!workers.length) return finish();
      for (const w of workers) w.send({ type: COLLECT_REQUEST, id });
    });

  cluster.on('message', (worker, msg: Message | null) => {
    if (typeof msg?.id !== 'number') return;
    if (msg.type === COLLECT_REPLY) {
      const w = waiting.get(msg.id);
      if (!w) return;
      if (msg.error !== undefined || !msg.metrics) return w.done(new Error(msg.error ?? 'a worker sent no metrics'));
      w.got.push(msg.metrics);
      if (--w.left === 0) w.done();
      return;
    }
    if (msg.type !== SCRAPE_REQUEST) return;
    const id = msg.id;
    const reply = (r: Omit<ScrapeReply, 'type' | 'id'>) => {
      if (worker.isConnected()) worker.send({ type: SCRAPE_REPLY, id, ...r } satisfies ScrapeReply);
    };
    collect().then(
      (text) => reply({ text }),
      (err: unknown) => reply({ error: err instanceof Error ? err.message : String(err) }),
    );
  });
}
