// The export threads of one process: started on first use, kept for the next job, one job per thread at a time.
// A thread that dies fails the job it was running (the runner records why) and is replaced on the next job.
import { Worker } from 'node:worker_threads';
import type { DatabaseTarget } from '../config.js';
import { ExportStopped, type EngineEvents, type EngineInput } from './export-engine.js';
import type { ExportWorkerData, ExportWorkerMessage, ExportWorkerRequest } from './export-worker.js';

export interface Execution {
  readonly done: Promise<void>;
  stop(): void;
}

interface Thread {
  readonly worker: Worker;
  /** The job it runs, with how to end it */
  busy?: { readonly job: string; readonly events: EngineEvents; settle(err?: Error): void };
}

export class ExportThreads {
  readonly #threads = new Set<Thread>();
  #pace = 0;

  constructor(
    private readonly target: DatabaseTarget,
    private readonly nice: number,
  ) {}

  run(job: string, input: EngineInput, events: EngineEvents): Execution {
    const thread = [...this.#threads].find((t) => !t.busy) ?? this.#start();
    const done = new Promise<void>((resolve, reject) => {
      thread.busy = {
        job,
        events,
        settle: (err) => {
          thread.busy = undefined;
          if (err) reject(err);
          else resolve();
        },
      };
    });
    thread.worker.postMessage({ kind: 'run', job, input } satisfies ExportWorkerRequest);
    return { done, stop: () => thread.busy?.job === job && thread.worker.postMessage({ kind: 'stop' } satisfies ExportWorkerRequest) };
  }

  /** How much the threads step aside: after each page, pause `factor` times the page's duration. */
  setPace(factor: number): void {
    if (factor === this.#pace) return;
    this.#pace = factor;
    for (const t of this.#threads) t.worker.postMessage({ kind: 'pace', factor } satisfies ExportWorkerRequest);
  }

  async close(): Promise<void> {
    const threads = [...this.#threads];
    this.#threads.clear();
    await Promise.all(
      threads.map(
        (t) =>
          new Promise<void>((resolve) => {
            t.worker.once('exit', () => resolve());
            // Held until it has gone, or the process could exit first with this promise never settled.
            t.worker.ref();
            t.worker.postMessage({ kind: 'close' } satisfies ExportWorkerRequest);
            // A thread stuck in a query still goes.
            setTimeout(() => void t.worker.terminate(), 5_000).unref();
          }),
      ),
    );
  }

  #start(): Thread {
    const data: ExportWorkerData & { entry: string } = { target: this.target, nice: this.nice, entry: WORKER_ENTRY };
    const worker = new Worker(WORKER_BOOTSTRAP, { eval: true, workerData: data });
    // Idle threads must not keep the process alive.
    worker.unref();
    const thread: Thread = { worker };
    this.#threads.add(thread);
    if (this.#pace) worker.postMessage({ kind: 'pace', factor: this.#pace } satisfies ExportWorkerRequest);
    worker.on('message', (m: ExportWorkerMessage) => {
      const busy = thread.busy;
      if (!busy || busy.job !== m.job) return;
      if (m.kind === 'progress') busy.events.progress(m.progress);
      else if (m.kind === 'file') busy.events.file(m.file);
      else if (m.kind === 'done') busy.settle();
      else if (m.kind === 'stopped') busy.settle(new ExportStopped('the export was stopped'));
      else busy.settle(new Error(m.message));
    });
    const lost = (err: Error) => {
      this.#threads.delete(thread);
      thread.busy?.settle(err);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`the export thread stopped unexpectedly (exit code ${code})`)));
    return thread;
  }
}

// Under tsx the thread must load the TypeScript loader before the worker module; compiled, the module is plain JS.
const WORKER_ENTRY = new URL(import.meta.url.endsWith('.ts') ? './export-worker.ts' : './export-worker.js', import.meta.url).href;
const WORKER_BOOTSTRAP = `
(async () => {
  const { workerData } = require('node:worker_threads');
  if (workerData.entry.endsWith('.ts')) (await import('tsx/esm/api')).register();
  await import(workerData.entry);
})().catch((err) => { throw err; });
`;
