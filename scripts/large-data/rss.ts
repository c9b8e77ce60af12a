// Samples the process's resident set size on a timer and on every progress report, and keeps the maximum seen by
// 10% of the work and by its end, with the V8 heap in use likewise: flat memory shows as the two being close however
// large the run.
export interface RssSummary {
  /** Largest RSS sampled before 10% of the work was done, in bytes */
  readonly maxAt10: number;
  /** Largest RSS sampled over the whole run, in bytes */
  readonly max: number;
  /** The same for the V8 heap in use: what the process itself holds, without the allocator's and SQLite's caches */
  readonly heapAt10: number;
  readonly heap: number;
  /** Heap in use right after a full collection at 10% and at the end: what the process holds on to (node --expose-gc only) */
  readonly liveAt10?: number;
  readonly liveAtEnd?: number;
  readonly samples: number;
}

// Present when node runs with --expose-gc.
const collect = (globalThis as { gc?: () => void }).gc;

function liveHeap(): number | undefined {
  if (!collect) return undefined;
  collect();
  return process.memoryUsage().heapUsed;
}

export class RssSampler {
  #max = 0;
  #maxAt10: number | undefined;
  #heap = 0;
  #heapAt10: number | undefined;
  #liveAt10: number | undefined;
  #samples = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(everyMs = 200) {
    this.#timer = setInterval(() => this.current(), everyMs);
    this.#timer.unref();
    this.current();
  }

  /** Samples now; returns the RSS in bytes. */
  current(): number {
    const { rss, heapUsed } = process.memoryUsage();
    this.#samples++;
    if (rss > this.#max) this.#max = rss;
    if (heapUsed > this.#heap) this.#heap = heapUsed;
    return rss;
  }

  /** The fraction of the work done; the first call at 10% or more closes the 10% window. */
  progress(fraction: number): void {
    this.current();
    if (this.#maxAt10 === undefined && fraction >= 0.1) {
      this.#maxAt10 = this.#max;
      this.#heapAt10 = this.#heap;
      this.#liveAt10 = liveHeap();
    }
  }

  stop(): RssSummary {
    clearInterval(this.#timer);
    this.current();
    const liveAtEnd = liveHeap();
    return {
      maxAt10: this.#maxAt10 ?? this.#max,
      max: this.#max,
      heapAt10: this.#heapAt10 ?? this.#heap,
      heap: this.#heap,
      ...(this.#liveAt10 !== undefined && liveAtEnd !== undefined ? { liveAt10: this.#liveAt10, liveAtEnd } : {}),
      samples: this.#samples,
    };
  }
}
