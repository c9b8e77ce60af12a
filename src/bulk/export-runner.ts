// Runs export jobs on this instance: claims queued ones (or ones whose instance went silent) up to the configured
// number running across all instances, runs each on an export thread, keeps its heartbeat, records its files, and
// finishes it. Also removes expired jobs and leftover files. A job taken over after a crash starts afresh in a new
// directory with the same transaction time, so its output is what the first run would have written.
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { DatabaseTarget } from '../config.js';
import type { Db } from '../store/db.js';
import type { ExportJobRow, ExportJobStore } from '../store/export-jobs.js';
import { ExportStopped, runExport, type EngineEvents, type EngineInput } from './export-engine.js';
import type { ExportFile, ExportProgress, ExportSpec } from './export-spec.js';
import { ExportThreads, type Execution } from './export-threads.js';

export interface ExportRunnerOptions {
  readonly db: Db;
  readonly target: DatabaseTarget;
  readonly jobs: ExportJobStore;
  /** Root of the export files; each job gets <dir>/<job id>/<attempt>/ */
  readonly dir: string;
  readonly maxPerFile: number;
  /** Jobs running at once across every instance sharing the database */
  readonly concurrency: number;
  /** How long finished jobs and their files are kept (ms) */
  readonly retentionMs: number;
  /** A running job whose instance has not reported for this long is taken over (ms) */
  readonly staleMs: number;
  readonly log: FastifyBaseLogger;
  readonly pageSize?: number;
}

/** A job interrupted this many times (crashes, not errors) is failed rather than started again. */
export const MAX_ATTEMPTS = 3;
const POLL_MS = 1_000;
/** How often the API's load is looked at to pace the export threads */
const PACE_MS = 200;

/**
 * Nice 19 gives the API the CPU when both want it, but an export still slowed reads by a third on a 2-core machine
 * (memory bandwidth and caches are shared too). So the threads also step aside by duty cycle: idle below half the
 * event loop in use, down to a tenth of their time when the loop is saturated.
 */
export function paceFor(eventLoopUtilization: number): number {
  if (eventLoopUtilization <= 0.5) return 0;
  return Math.round(Math.min(9, ((eventLoopUtilization - 0.5) / 0.4) * 9) * 10) / 10;
}
const SWEEP_MS = 60_000;
/** Niceness of the export thread: the interactive API comes first whenever both want the CPU. */
const EXPORT_NICE = 19;

export class ExportRunner {
  /** This process's name in export_jobs.owner */
  readonly owner = randomUUID();
  readonly #running = new Map<string, Execution>();
  readonly #timers: NodeJS.Timeout[] = [];
  #ticking = false;
  #again = false;
  #stopping = false;
  readonly #threads: ExportThreads;

  constructor(private readonly opts: ExportRunnerOptions) {
    this.#threads = new ExportThreads(opts.target, EXPORT_NICE);
  }

  start(): void {
    // Once, however many addresses the server listens on.
    if (this.#timers.length || this.#stopping) return;
    let last = performance.eventLoopUtilization();
    const pace = () => {
      const now = performance.eventLoopUtilization();
      this.#threads.setPace(this.#running.size ? paceFor(performance.eventLoopUtilization(now, last).utilization) : 0);
      last = now;
    };
    this.#timers.push(setInterval(() => this.nudge(), POLL_MS), setInterval(() => void this.sweep(), SWEEP_MS), setInterval(pace, PACE_MS));
    for (const t of this.#timers) t.unref();
    this.nudge();
    void this.sweep();
  }

  /** Looks for work now (a job was just queued here) instead of at the next poll. */
  nudge(): void {
    if (this.#stopping) return;
    if (this.#ticking) {
      this.#again = true;
      return;
    }
    this.#ticking = true;
    void this.#tick()
      .catch((err: unknown) => this.opts.log.error({ err }, 'could not claim an export job'))
      .finally(() => {
        this.#ticking = false;
        if (this.#again) {
          this.#again = false;
          this.nudge();
        }
      });
  }

  /** Stops this instance's jobs and hands them back to the queue, for another instance (or the next start) to run. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const t of this.#timers) clearInterval(t);
    const running = [...this.#running.values()];
    for (const e of running) e.stop();
    await Promise.allSettled(running.map((e) => e.done));
    // #run's own continuation releases each job; wait for those too.
    while (this.#running.size) await new Promise((r) => setTimeout(r, 10));
    await this.#threads.close();
  }

  jobDir(jobId: string): string {
    return join(this.opts.dir, jobId);
  }

  attemptDir(jobId: string, attempt: number): string {
    return join(this.opts.dir, jobId, String(attempt));
  }

  async #tick(): Promise<void> {
    const { jobs, concurrency, staleMs } = this.opts;
    while (!this.#stopping && this.#running.size < concurrency) {
      const now = Date.now();
      const job = await jobs.claim(this.owner, now, now - staleMs, concurrency);
      if (!job) return;
      if (job.attempts > MAX_ATTEMPTS) {
        await rm(this.jobDir(job.id), { recursive: true, force: true });
        await jobs.failStale(job.id, `The export was interrupted ${job.attempts - 1} times (its server stopped while running it) and was not started again`, now, now + this.opts.retentionMs);
        continue;
      }
      this.#start(job);
    }
  }

  #start(job: ExportJobRow): void {
    const spec = JSON.parse(job.spec) as ExportSpec;
    let progress: ExportProgress = { written: 0, typeCount: spec.types.length };
    let recorded = Promise.resolve();
    const failures: unknown[] = [];
    const dir = this.attemptDir(job.id, job.attempts);
    let lost = false;
    let execution: Execution | undefined;
    const stopRequested = { value: false };
    const events = {
      progress: (p: ExportProgress) => void (progress = p),
      file: (f: ExportFile) => {
        recorded = recorded.then(() => this.opts.jobs.addFile(job.id, job.attempts, f)).catch((err: unknown) => void failures.push(err));
      },
    };
    const placeholder: Execution = { done: Promise.resolve(), stop: () => void (stopRequested.value = true) };
    this.#running.set(job.id, placeholder);
    const heartbeatMs = Math.max(50, Math.min(2_000, Math.floor(this.opts.staleMs / 5)));
    const heartbeat = setInterval(() => {
      void this.opts.jobs.heartbeat(job.id, this.owner, Date.now(), JSON.stringify(progress)).then(
        (mine) => {
          if (!mine && !lost) {
            // Cancelled, or taken over by an instance that thought this one dead: stop writing at once.
            lost = true;
            execution?.stop();
          }
        },
        (err: unknown) => this.opts.log.warn({ err, job: job.id }, 'export heartbeat failed'),
      );
    }, heartbeatMs);
    heartbeat.unref();

    const run = async () => {
      // Whatever an earlier attempt left behind is partial: a new attempt starts with an empty directory.
      await rm(this.jobDir(job.id), { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      const input: EngineInput = { spec, transactionTime: job.transaction_time, dir, maxPerFile: this.opts.maxPerFile, pageSize: this.opts.pageSize ?? 1000, yieldBetweenPages: false };
      execution = this.#execute(job.id, input, events);
      this.#running.set(job.id, execution);
      if (stopRequested.value || this.#stopping) execution.stop();
      await execution.done;
    };
    void run()
      .then(
        () => null,
        (err: unknown) => err,
      )
      .then(async (err) => {
        clearInterval(heartbeat);
        await recorded;
        const now = Date.now();
        const { jobs, log } = this.opts;
        if (lost) {
          await rm(dir, { recursive: true, force: true });
        } else if (this.#stopping && err instanceof ExportStopped) {
          await jobs.release(job.id, this.owner);
          await rm(dir, { recursive: true, force: true });
        } else if (err || failures.length) {
          const reason = err ?? failures[0];
          const mine = await jobs.finish(job.id, this.owner, { status: 'failed', error: reason instanceof Error ? reason.message : String(reason), progress: JSON.stringify(progress) }, now, now + this.opts.retentionMs);
          // A job cancelled (its directory removed under the thread) or taken over is not a failure of this one.
          if (mine) log.error({ err: reason, job: job.id }, 'export failed');
          else log.info({ job: job.id }, 'export stopped: cancelled, or taken over by another instance');
          await rm(dir, { recursive: true, force: true });
        } else if (!(await jobs.finish(job.id, this.owner, { status: 'done', progress: JSON.stringify(progress) }, now, now + this.opts.retentionMs))) {
          await rm(dir, { recursive: true, force: true });
        } else {
          log.info({ job: job.id, resources: progress.written, ms: now - (job.started_at ?? now) }, 'export finished');
        }
      })
      .catch((err: unknown) => this.opts.log.error({ err, job: job.id }, 'could not record the end of an export'))
      .finally(() => {
        this.#running.delete(job.id);
        this.nudge();
      });
  }

  /** On an export thread, unless the database is in memory (only this connection can see it). */
  #execute(jobId: string, input: EngineInput, events: EngineEvents): Execution {
    const { target } = this.opts;
    if (target.kind === 'sqlite' && target.filename === ':memory:') {
      const controller = new AbortController();
      return { done: runExport(this.opts.db.kysely, { ...input, yieldBetweenPages: true }, events, controller.signal), stop: () => controller.abort() };
    }
    return this.#threads.run(jobId, input, events);
  }

  /** Removes expired jobs with their files, and directories no job owns any more (a crash between the two). */
  async sweep(): Promise<void> {
    try {
      const { jobs } = this.opts;
      for (const id of await jobs.expired(Date.now())) {
        await rm(this.jobDir(id), { recursive: true, force: true });
        await jobs.delete(id);
      }
      let entries: string[];
      try {
        entries = await readdir(this.opts.dir);
      } catch {
        return;
      }
      const live = await jobs.existing(entries);
      for (const e of entries) if (!live.has(e)) await rm(join(this.opts.dir, e), { recursive: true, force: true });
    } catch (err) {
      this.opts.log.warn({ err }, 'export clean-up failed; retried later');
    }
  }
}
