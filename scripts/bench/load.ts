// One autocannon measurement: warm-up, then a timed run; returns req/s and latency percentiles.
import autocannon from 'autocannon';

export interface LoadResult {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly bytesPerSec: number;
}

export interface LoadOptions {
  readonly origin: string;
  readonly paths: () => string;
  readonly connections: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
}

async function run(o: LoadOptions, seconds: number): Promise<LoadResult> {
  const result = await autocannon({
    url: o.origin,
    connections: o.connections,
    duration: seconds,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: o.paths() }) }],
  });
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    bytesPerSec: Math.round(result.throughput.average),
  };
}

export async function load(o: LoadOptions): Promise<LoadResult> {
  if (o.warmupSeconds > 0) await run(o, o.warmupSeconds);
  return run(o, o.seconds);
}
