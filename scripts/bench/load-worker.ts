// Runs autocannon measurements in its own process (the load generator must not share the event loop with the
// benchmark's bookkeeping), one per message, in order. Requests cycle through a pre-built list, so no JavaScript runs
// per request.
import autocannon from 'autocannon';

interface Job {
  readonly origin: string;
  readonly paths: readonly string[];
  readonly connections: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly headers: Record<string, string>;
  readonly method: 'GET' | 'POST';
  readonly body?: string;
  readonly overallRate?: number;
}

process.on('message', async (job: Job) => {
  const run = (duration: number) =>
    autocannon({
      url: job.origin,
      connections: job.connections,
      duration,
      headers: job.headers,
      ...(job.overallRate ? { overallRate: job.overallRate } : {}),
      requests: job.paths.map((path) => ({ method: job.method, path, ...(job.body ? { body: job.body } : {}) })),
    });
  if (job.warmupSeconds > 0) await run(job.warmupSeconds);
  const r = await run(job.seconds);
  process.send!({
    rps: Math.round(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    maxLatency: r.latency.max,
    bytesPerSec: Math.round(r.throughput.average),
  });
});
