// Bulk export jobs and their files in the database: the only place a job's state lives, so every instance (and every
// worker process) answers for every job, and a crashed instance's jobs are taken over by a live one.
import { sql } from 'kysely';
import type { Db } from './db.js';
import type { ExportFileTable, ExportJobKind, ExportJobStatus, ExportJobTable } from './schema.js';

export type ExportJobRow = ExportJobTable;
export type ExportFileRow = ExportFileTable;

export interface NewExportJob {
  readonly id: string;
  readonly clientId: string;
  readonly kind: ExportJobKind;
  readonly request: string;
  readonly spec: string;
  readonly transactionTime: number;
  readonly createdAt: number;
}

/** Arbitrary, fixed: the PostgreSQL advisory lock that makes "claim a job if fewer than N run" one step across instances. */
const CLAIM_LOCK = 7_243_001;

export class ExportJobStore {
  constructor(private readonly db: Db) {}

  async create(job: NewExportJob): Promise<void> {
    await this.db.kysely
      .insertInto('export_jobs')
      .values({ id: job.id, client_id: job.clientId, kind: job.kind, request: job.request, spec: job.spec, status: 'queued', transaction_time: job.transactionTime, created_at: job.createdAt, attempts: 0 })
      .execute();
  }

  async get(id: string): Promise<ExportJobRow | undefined> {
    const row = await this.db.kysely.selectFrom('export_jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return row && numeric(row);
  }

  /** Jobs of a client that are waiting or running. */
  async activeCount(clientId: string): Promise<number> {
    const { n } = await this.db.kysely
      .selectFrom('export_jobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('client_id', '=', clientId)
      .where('status', 'in', ['queued', 'running'])
      .executeTakeFirstOrThrow();
    return Number(n);
  }

  /** How many queued jobs were created before this one (for X-Progress). */
  async queuedAhead(job: ExportJobRow): Promise<number> {
    const { n } = await this.db.kysely
      .selectFrom('export_jobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '=', 'queued')
      .where('created_at', '<', job.created_at)
      .executeTakeFirstOrThrow();
    return Number(n);
  }

  /**
   * Takes the oldest job that is queued, or running on an instance that has gone silent since `staleBefore`, provided
   * fewer than `maxRunning` live jobs run across all instances. Atomic: SQLite runs the statement under its write lock;
   * PostgreSQL takes an advisory lock first, so two instances never both see room for one more.
   */
  async claim(owner: string, now: number, staleBefore: number, maxRunning: number): Promise<ExportJobRow | undefined> {
    return this.db.kysely.transaction().execute(async (trx) => {
      if (this.db.dialect === 'postgres') await sql`select pg_advisory_xact_lock(${CLAIM_LOCK})`.execute(trx);
      const claimable = (alias: string) =>
        sql`(${sql.ref(`${alias}.status`)} = 'queued' or (${sql.ref(`${alias}.status`)} = 'running' and ${sql.ref(`${alias}.heartbeat_at`)} < ${staleBefore}))`;
      const result = await sql<ExportJobRow>`
        update export_jobs set status = 'running', owner = ${owner}, heartbeat_at = ${now},
          started_at = coalesce(started_at, ${now}), attempts = attempts + 1, progress = null
        where id = (select j.id from export_jobs j where ${claimable('j')} order by j.created_at, j.id limit 1)
          and ${claimable('export_jobs')}
          and (select count(*) from export_jobs k where k.status = 'running' and k.heartbeat_at >= ${staleBefore}) < ${maxRunning}
        returning *`.execute(trx);
      const row = result.rows[0];
      return row && numeric(row);
    });
  }

  /** Records a sign of life; false when the job is no longer this owner's (cancelled, or taken over). */
  async heartbeat(id: string, owner: string, now: number, progress: string | null): Promise<boolean> {
    const res = await this.db.kysely
      .updateTable('export_jobs')
      .set({ heartbeat_at: now, progress })
      .where('id', '=', id)
      .where('owner', '=', owner)
      .where('status', '=', 'running')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async addFile(jobId: string, attempt: number, file: Omit<ExportFileRow, 'job_id' | 'attempt'>): Promise<void> {
    await this.db.kysely.insertInto('export_files').values({ job_id: jobId, attempt, ...file }).execute();
  }

  /** The files of the attempt that finished the job, in manifest order. */
  async files(jobId: string, attempt: number): Promise<ExportFileRow[]> {
    const rows = await this.db.kysely.selectFrom('export_files').selectAll().where('job_id', '=', jobId).where('attempt', '=', attempt).orderBy('seq').execute();
    return rows.map((r) => ({ ...r, attempt: Number(r.attempt), seq: Number(r.seq), count: Number(r.count), bytes: Number(r.bytes) }));
  }

  /** Ends a running job as done or failed, if it is still this owner's; the manifest exists from this moment only. */
  async finish(id: string, owner: string, outcome: { status: Extract<ExportJobStatus, 'done' | 'failed'>; error?: string; progress: string | null }, now: number, expiresAt: number): Promise<boolean> {
    const res = await this.db.kysely
      .updateTable('export_jobs')
      .set({ status: outcome.status, error: outcome.error ?? null, progress: outcome.progress, finished_at: now, expires_at: expiresAt, heartbeat_at: now })
      .where('id', '=', id)
      .where('owner', '=', owner)
      .where('status', '=', 'running')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /** A job that can never finish (interrupted too often): failed with its reason, whoever owned it. */
  async failStale(id: string, error: string, now: number, expiresAt: number): Promise<void> {
    await this.db.kysely.updateTable('export_jobs').set({ status: 'failed', error, finished_at: now, expires_at: expiresAt, owner: null }).where('id', '=', id).execute();
  }

  /** Hands a running job back to the queue (this instance is shutting down); its next run starts afresh. */
  async release(id: string, owner: string): Promise<void> {
    await this.db.kysely.updateTable('export_jobs').set({ status: 'queued', owner: null, heartbeat_at: null, progress: null }).where('id', '=', id).where('owner', '=', owner).where('status', '=', 'running').execute();
  }

  /** Removes a job and its file rows (cancel, expiry). */
  async delete(id: string): Promise<boolean> {
    return this.db.kysely.transaction().execute(async (trx) => {
      await trx.deleteFrom('export_files').where('job_id', '=', id).execute();
      const res = await trx.deleteFrom('export_jobs').where('id', '=', id).executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    });
  }

  /** Finished jobs whose time is up. */
  async expired(now: number, limit = 100): Promise<string[]> {
    const rows = await this.db.kysely.selectFrom('export_jobs').select('id').where('expires_at', '<=', now).where('status', 'in', ['done', 'failed']).limit(limit).execute();
    return rows.map((r) => r.id);
  }

  /** Which of these job ids still exist (to tell leftover directories from live ones). */
  async existing(ids: readonly string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    const rows = await this.db.kysely.selectFrom('export_jobs').select('id').where('id', 'in', [...ids]).execute();
    return new Set(rows.map((r) => r.id));
  }
}

// bigint columns come back as strings from some drivers' RETURNING; the rest of the code works in numbers.
function numeric(row: ExportJobRow): ExportJobRow {
  const n = (v: number | null) => (v === null || v === undefined ? null : Number(v));
  return {
    ...row,
    transaction_time: Number(row.transaction_time),
    created_at: Number(row.created_at),
    started_at: n(row.started_at),
    finished_at: n(row.finished_at),
    expires_at: n(row.expires_at),
    heartbeat_at: n(row.heartbeat_at),
    attempts: Number(row.attempts),
  };
}
