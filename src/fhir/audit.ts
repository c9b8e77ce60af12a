// Who read or changed what, for patients ("what each app read and when") and operators. The FHIR API reports each
// authorized request here, and the promise is: a response leaves the server only once its audit event is durable
// (committed; on a SQLite file by the write-behind thread). A SIGKILL can cut off an answer whose event is written,
// never write an answer whose event is not. Requests wait as a group (group commit): a write starts as soon as the
// previous one ends, with every event recorded meanwhile, so under load one commit serves many requests and the
// wait is about one commit, not one per request. An event that cannot be written turns its response into a 503
// (nothing is disclosed unrecorded) and is kept, with that 503 as its status, for the next attempt.

import type { FastifyReply, FastifyRequest, onSendHookHandler } from 'fastify';
import type { AuditEvent } from '../store/audit-log.js';
import type { AuditInteraction } from '../store/schema.js';
import { FHIR_JSON } from './negotiation.js';
import { operationOutcome, unavailable } from './outcome.js';

export type AuditedInteraction = AuditInteraction;
/** One authorized request: app, grant, account, patient, type, interaction, id, status and time */
export type AccessEvent = AuditEvent;

/** Told once the event is durable, or with the error that kept it from being written. */
export type AuditDone = (err?: Error) => void;

export interface AccessRecorder {
  record(event: AccessEvent, done?: AuditDone): void;
}

export interface AuditBufferOptions {
  /** Writes a batch durably (resolves once committed); rejects to have it kept and retried */
  readonly write: (events: readonly AccessEvent[]) => Promise<void>;
  /** After a failed write, the next attempt waits this long (the store is likely down: do not hammer it) */
  readonly retryMs: number;
  /** Events per write at most */
  readonly maxBatch: number;
  /** Past this many waiting events (the database is down), the oldest are dropped and counted */
  readonly maxPending: number;
  /** The status an event takes when its write failed and its response became an error instead */
  readonly failedStatus?: number;
  readonly onError?: (err: unknown, pending: number) => void;
}

interface Entry {
  event: AccessEvent;
  done: AuditDone | undefined;
}

export class AuditBuffer implements AccessRecorder {
  #pending: Entry[] = [];
  #writing: Promise<void> | undefined;
  #scheduled = false;
  #retryAt = 0;
  #dropped = 0;
  #closed = false;
  readonly #timer: NodeJS.Timeout;

  constructor(private readonly opts: AuditBufferOptions) {
    // Retries events kept after a failure even when no new request comes to trigger a write.
    this.#timer = setInterval(() => this.#schedule(), opts.retryMs);
    this.#timer.unref();
  }

  record(event: AccessEvent, done?: AuditDone): void {
    if (this.#closed) return done?.(new Error('the audit trail is closed'));
    this.#pending.push({ event, done });
    if (this.#pending.length > this.opts.maxPending) {
      const gone = this.#pending.splice(0, this.#pending.length - this.opts.maxPending);
      this.#dropped += gone.length;
      for (const e of gone) e.done?.(new Error('the audit trail is not being written'));
    }
    this.#schedule();
  }

  /** Events recorded and not yet written (the metrics' audit queue depth) */
  get queued(): number {
    return this.#pending.length;
  }

  /** Events lost because the store stayed unavailable longer than the buffer could hold */
  get dropped(): number {
    return this.#dropped;
  }

  // Events recorded in one event-loop turn share a write; while one is running, the next batch gathers.
  #schedule(): void {
    if (this.#scheduled || this.#writing || !this.#pending.length) return;
    const wait = this.#retryAt - Date.now();
    this.#scheduled = true;
    const run = () => {
      this.#scheduled = false;
      void this.#writeBatch();
    };
    if (wait > 0) setTimeout(run, wait).unref();
    else setImmediate(run);
  }

  async #writeBatch(): Promise<void> {
    if (this.#writing || !this.#pending.length) return;
    const batch = this.#pending.splice(0, this.opts.maxBatch);
    this.#writing = this.opts.write(batch.map((e) => e.event)).then(
      () => {
        this.#retryAt = 0;
        for (const e of batch) e.done?.();
      },
      (err: unknown) => {
        this.#retryAt = Date.now() + this.opts.retryMs;
        const failure = err instanceof Error ? err : new Error(String(err));
        // The waiting responses become errors, so the kept events say what was actually answered.
        const kept = batch.map((e) => ({ event: e.done && this.opts.failedStatus ? { ...e.event, status: this.opts.failedStatus } : e.event, done: undefined }));
        this.#pending = [...kept, ...this.#pending];
        this.opts.onError?.(err, this.#pending.length);
        for (const e of batch) e.done?.(failure);
      },
    );
    try {
      await this.#writing;
    } finally {
      this.#writing = undefined;
      this.#schedule();
    }
  }

  /** Writes everything recorded so far (one attempt per batch; a failure keeps the events and is reported). */
  async flush(): Promise<void> {
    if (this.#writing) await this.#writing;
    this.#retryAt = 0;
    for (let before = Infinity; this.#pending.length && this.#pending.length < before; ) {
      before = this.#pending.length;
      await this.#writeBatch();
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
    this.#closed = true;
  }
}

const AUDIT_UNAVAILABLE = 'The audit trail could not be written, so the answer was withheld (every access is recorded before it is answered). Try again shortly.';

/**
 * An onSend hook that records the request's event and holds the response until the event is durable. If it cannot be
 * written, a 503 OperationOutcome is sent instead: replaced here rather than thrown, since the route's error handler
 * may already have answered this request (an error answered while the database is down) and would not run again.
 */
export function holdUntilAudited(recorder: AccessRecorder, eventOf: (req: FastifyRequest, reply: FastifyReply) => AccessEvent | undefined): onSendHookHandler {
  return (req, reply, payload, done) => {
    const event = eventOf(req, reply);
    if (!event) return done(null, payload);
    recorder.record(event, (err) => {
      if (!err) return done(null, payload);
      req.log.error({ err }, 'audit event not written: the response is withheld');
      // A streamed body (an export file) is never sent now: release its file.
      if (payload && typeof (payload as { destroy?: unknown }).destroy === 'function') (payload as { destroy: () => void }).destroy();
      for (const h of ['etag', 'last-modified', 'location', 'content-location', 'content-range', 'content-encoding', 'content-length']) reply.removeHeader(h);
      const e = unavailable(AUDIT_UNAVAILABLE);
      void reply.code(e.status).headers(e.headers).header('content-type', FHIR_JSON);
      done(null, JSON.stringify(operationOutcome(e.issues)));
    });
  };
}
