// PostgreSQL only: one connection of its own (outside the pool, which hands connections to whoever asks) that
// LISTENs on the revocation channel, so a revocation recorded by any instance wakes this one's reader at once instead
// of at its next poll. It reconnects by itself when the connection drops (PostgreSQL restarted, the backend was
// terminated) and says so, so the reader can catch up on whatever was written while nobody listened.
import pg from 'pg';
import { REVOCATION_CHANNEL } from './revocations.js';

export interface RevocationListenerEvents {
  /** A revocation was committed somewhere; `seq` is the event's number, or undefined if the payload was not one */
  notified(seq: number | undefined): void;
  /** LISTEN is in force (again): events written before it may have been missed, read the log now */
  listening(): void;
  /** The connection dropped: until `listening` comes again, only polling notices revocations */
  lost(err: unknown): void;
}

export interface RevocationListenerOptions {
  /** First wait before reconnecting; it doubles on each failure up to `maxRetryMs` */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
}

export class RevocationListener {
  #client: pg.Client | undefined;
  #listening = false;
  #stopped = false;
  #retry: NodeJS.Timeout | undefined;
  #delay: number;
  #reconnects = 0;
  #everListened = false;

  constructor(
    private readonly connectionString: string,
    private readonly events: RevocationListenerEvents,
    private readonly opts: RevocationListenerOptions = {},
  ) {
    this.#delay = opts.retryMs ?? 100;
  }

  /** Whether LISTEN is in force now */
  get listening(): boolean {
    return this.#listening;
  }

  /** The server process id of the LISTEN connection (what pg_terminate_backend takes), while connected */
  get backendPid(): number | undefined {
    return this.#listening ? (this.#client as unknown as { processID?: number } | undefined)?.processID : undefined;
  }

  /** How many times the connection was re-established after a drop */
  get reconnects(): number {
    return this.#reconnects;
  }

  /** Connects and listens; never throws: a failure is retried in the background and polling covers the gap. */
  async start(): Promise<void> {
    await this.#connect();
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    // TCP keepalive: a peer that vanished without closing (a host gone, a firewall's dropped state) is noticed
    // within minutes instead of never; the fallback poll keeps revocations flowing meanwhile.
    const client = new pg.Client({ connectionString: this.connectionString, keepAlive: true, keepAliveInitialDelayMillis: 10_000, application_name: 'revocation-listener' });
    this.#client = client;
    let dropped = false;
    const drop = (err: unknown) => {
      if (dropped) return;
      dropped = true;
      const wasListening = this.#listening;
      this.#listening = false;
      if (this.#client === client) this.#client = undefined;
      void client.end().catch(() => undefined);
      if (this.#stopped) return;
      if (wasListening) this.events.lost(err);
      this.#scheduleReconnect();
    };
    client.on('error', drop);
    client.on('end', () => drop(new Error('LISTEN connection ended')));
    client.on('notification', (n) => {
      if (n.channel !== REVOCATION_CHANNEL) return;
      const seq = Number(n.payload);
      this.events.notified(Number.isSafeInteger(seq) && seq > 0 ? seq : undefined);
    });
    try {
      await client.connect();
      await client.query(`listen ${REVOCATION_CHANNEL}`);
    } catch (err) {
      drop(err);
      return;
    }
    if (this.#stopped || dropped) {
      void client.end().catch(() => undefined);
      return;
    }
    if (this.#everListened) this.#reconnects++;
    this.#everListened = true;
    this.#delay = this.opts.retryMs ?? 100;
    this.#listening = true;
    this.events.listening();
  }

  #scheduleReconnect(): void {
    if (this.#stopped || this.#retry) return;
    const delay = this.#delay;
    this.#delay = Math.min(delay * 2, this.opts.maxRetryMs ?? 5_000);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.#connect();
    }, delay);
    this.#retry.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#listening = false;
    if (this.#retry) clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }
}
