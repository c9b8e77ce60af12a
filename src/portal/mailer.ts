// Outgoing mail. The sandbox has no mail server: OutboxMailer keeps messages in the database for /dev/mailbox.
// Logs name the recipient and subject only; codes and links live in the body and stay out of log files.
import type { Kysely } from 'kysely';
import { MailOutboxStore, type OutboxMessage } from '../store/mail-outbox.js';
import type { Database } from '../store/schema.js';
import { systemClock, type Clock } from './clock.js';

export interface MailMessage {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
}

export interface Mailer {
  send(msg: MailMessage): Promise<void>;
}

/** The part of a pino / fastify logger used here. */
export interface InfoLogger {
  info(obj: Record<string, unknown>, msg: string): void;
}

export class OutboxMailer implements Mailer {
  readonly #outbox: MailOutboxStore;

  constructor(
    k: Kysely<Database>,
    private readonly log?: InfoLogger,
    private readonly now: Clock = systemClock,
  ) {
    this.#outbox = new MailOutboxStore(k);
  }

  async send(msg: MailMessage): Promise<void> {
    await this.#outbox.add({ to: msg.to, subject: msg.subject, body: msg.text, createdAt: this.now() });
    this.log?.info({ to: msg.to, subject: msg.subject }, 'mail written to the sandbox outbox');
  }

  /** Newest first, for the sandbox mailbox page. */
  list(limit = 50): Promise<OutboxMessage[]> {
    return this.#outbox.list(limit);
  }
}
