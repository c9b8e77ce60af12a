// The sandbox's outgoing mail, kept in the database so /dev/mailbox can show it from any instance.
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface OutboxMessage {
  readonly id: number;
  readonly to: string;
  readonly subject: string;
  readonly body: string;
  readonly createdAt: number;
}

export class MailOutboxStore {
  constructor(private readonly k: Kysely<Database>) {}

  async add(m: { to: string; subject: string; body: string; createdAt: number }): Promise<void> {
    await this.k.insertInto('mail_outbox').values({ to_address: m.to, subject: m.subject, body: m.body, created_at: m.createdAt }).execute();
  }

  /** Newest first. */
  async list(limit: number): Promise<OutboxMessage[]> {
    const rows = await this.k.selectFrom('mail_outbox').selectAll().orderBy('id', 'desc').limit(limit).execute();
    return rows.map((r) => ({ id: Number(r.id), to: r.to_address, subject: r.subject, body: r.body, createdAt: Number(r.created_at) }));
  }
}
