// Who read or changed what, for patients ("what each app read and when") and operators. The FHIR API reports each
// authorized request here; events are buffered and written in batches off the request path, so a read does not
// wait for (or pay for) its own audit insert. A failed flush is retried with the next batch, never dropped silently.

import type { AuditEvent } from '../store/audit-log.js';
import type { AuditInteraction } from '../store/schema.js';

export type AuditedInteraction = AuditInteraction;
/** One authorized request: app, grant, account, patient, type, interaction, id, status and time */
export type AccessEvent = AuditEvent;

export interface AccessRecorder {
  record(event: AccessEvent): void;
}

export interface AuditBufferOptions {
  /** Writes a batch; rejects to have it kept and retried */
  readonly write: (events: readonly AccessEvent[]) => Promise<void>;
  readonly flushMs: number;
  /** Flush early when this many events wait */
  readonly maxBatch: number;
  /** Past this many waiting events (the database is down), the oldest are dropped and counted */
  readonly maxPending: number;
  readonly onError?: (err: unknown, pending: number) => void;
}

export class AuditBuffer implements AccessRecorder {
  #pending: AccessEvent[] = [];
  #flushing: Promise<void> | undefined;
  #dropped = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(private readonly opts: AuditBufferOptions) {
    this.#timer = setInterval(() => void this.flush(), opts.flushMs);
    this.#timer.unref();
  }

  record(event: AccessEvent): void {
    this.#pending.push(event);
    if (this.#pending.length > this.opts.maxPending) {
      this.#dropped += this.#pending.length - this.opts.maxPending;
      this.#pending.splice(0, this.#pending.length - this.opts.maxPending);
    }
    if (this.#pending.length >= this.opts.maxBatch) void this.flush();
  }

  /** Events lost because the store stayed unavailable longer than the buffer could hold */
  get dropped(): number {
    return this.#dropped;
  }

  /** Writes everything recorded so far; concurrent calls share one write. */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    if (!this.#pending.length) return;
    const batch = this.#pending;
    this.#pending = [];
    this.#flushing = this.opts
      .write(batch)
      .catch((err: unknown) => {
        this.#pending = [...batch, ...this.#pending];
        this.opts.onError?.(err, this.#pending.length);
      })
      .finally(() => {
        this.#flushing = undefined;
      });
    await this.#flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}
