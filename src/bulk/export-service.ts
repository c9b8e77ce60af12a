// Bulk Data export as domain functions: kick-off, status (progress or manifest), cancel and file lookup. Routes
// (fhir/bulk-routes.ts) only translate HTTP; the runner (export-runner.ts) does the writing.
import { randomUUID } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { AccessGrant } from '../auth/access.js';
import { accessPolicy } from '../fhir/access-filter.js';
import { resourceDef } from '../fhir/definitions.js';
import { FhirError, forbidden, notFound } from '../fhir/outcome.js';
import { parseReference } from '../fhir/references.js';
import type { FhirService } from '../fhir/service.js';
import type { ExportJobRow, ExportJobStore } from '../store/export-jobs.js';
import type { ExportJobKind } from '../store/schema.js';
import type { ExportParams } from './export-params.js';
import { assertBackendToken, planExport } from './export-plan.js';
import type { ExportRunner } from './export-runner.js';
import type { ExportProgress, ExportSpec } from './export-spec.js';

export interface BulkExportOptions {
  readonly jobs: ExportJobStore;
  readonly runner: ExportRunner;
  readonly fhir: FhirService;
  readonly fhirBaseUrl: string;
  /** Jobs one client may have waiting or running at once */
  readonly maxJobsPerClient: number;
}

export interface KickOff {
  readonly grant: AccessGrant;
  readonly kind: ExportJobKind;
  readonly groupId?: string;
  /** The kick-off URL as the client sent it, absolute */
  readonly request: string;
  readonly params: ExportParams;
  readonly lenient: boolean;
}

/** The manifest of a finished export (Bulk Data IG 2.0, "Response - Complete Status"). */
export interface ExportManifest {
  readonly transactionTime: string;
  readonly request: string;
  readonly requiresAccessToken: true;
  readonly output: readonly { readonly type: string; readonly url: string; readonly count: number }[];
  readonly deleted: readonly never[];
  readonly error: readonly { readonly type: string; readonly url: string; readonly count: number }[];
}

export type ExportStatus =
  | { readonly state: 'in-progress'; readonly progress: string; readonly retryAfter: number }
  | { readonly state: 'done'; readonly manifest: ExportManifest; readonly expiresAt: number }
  | { readonly state: 'failed'; readonly error: string };

export interface ExportFileRef {
  readonly path: string;
  readonly type: string;
  readonly bytes: number;
}

export const STATUS_PATH = '$export-status';
export const FILE_PATH = '$export-file';

export class BulkExportService {
  constructor(private readonly opts: BulkExportOptions) {}

  statusUrl(id: string): string {
    return `${this.opts.fhirBaseUrl}/${STATUS_PATH}/${id}`;
  }

  async kickOff(k: KickOff): Promise<{ readonly id: string; readonly warnings: readonly string[] }> {
    assertBackendToken(k.grant);
    const transactionTime = Date.now();
    const groupMembers = k.kind === 'group' ? await this.#groupMembers(k.grant, k.groupId ?? '') : undefined;
    const spec = planExport({ kind: k.kind, grant: k.grant, params: k.params, lenient: k.lenient, fhirBaseUrl: this.opts.fhirBaseUrl, ...(groupMembers ? { groupMembers: groupMembers.ids } : {}) });
    const full: ExportSpec = groupMembers?.notes.length ? { ...spec, warnings: [...spec.warnings, ...groupMembers.notes] } : spec;
    const active = await this.opts.jobs.activeCount(k.grant.clientId);
    if (active >= this.opts.maxJobsPerClient) {
      throw new FhirError(429, [{ severity: 'error', code: 'throttled', diagnostics: `This client already has ${active} exports waiting or running (the limit is ${this.opts.maxJobsPerClient}); wait for one to finish, or cancel one with DELETE on its status URL` }], { 'Retry-After': '60' });
    }
    const id = randomUUID();
    await this.opts.jobs.create({ id, clientId: k.grant.clientId, kind: k.kind, request: k.request, spec: JSON.stringify(full), transactionTime, createdAt: transactionTime });
    this.opts.runner.nudge();
    return { id, warnings: full.warnings };
  }

  async status(grant: AccessGrant, id: string): Promise<ExportStatus> {
    const job = await this.#ownJob(grant, id);
    if (job.status === 'failed') return { state: 'failed', error: job.error ?? 'The export failed' };
    if (job.status === 'done') return { state: 'done', manifest: await this.#manifest(job), expiresAt: job.expires_at ?? Date.now() };
    if (job.status === 'queued') {
      const ahead = await this.opts.jobs.queuedAhead(job);
      return { state: 'in-progress', progress: ahead ? `queued behind ${ahead} other export${ahead === 1 ? '' : 's'}` : 'queued, starting shortly', retryAfter: 2 };
    }
    const p = job.progress ? (JSON.parse(job.progress) as ExportProgress) : undefined;
    const where = p?.type ? `; now ${p.type} (type ${p.typeIndex} of ${p.typeCount})` : '';
    return { state: 'in-progress', progress: `running: ${p?.written ?? 0} resources written${where}`, retryAfter: 1 };
  }

  /** Cancels a waiting or running export, or deletes a finished one, with its files. */
  async cancel(grant: AccessGrant, id: string): Promise<void> {
    await this.#ownJob(grant, id);
    // The row goes first: an instance running the job sees its heartbeat refused and stops writing at once.
    await this.opts.jobs.delete(id);
    try {
      // The export thread may still be adding a file while this runs; retried, and otherwise left to the clean-up.
      await rm(this.opts.runner.jobDir(id), { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    } catch {
      // The runner removes its own directory once it sees the job gone, and the periodic sweep removes leftovers.
    }
  }

  /** A file of a finished export, if this token may have it: same client, and the type still within its scopes. */
  async file(grant: AccessGrant, id: string, name: string): Promise<ExportFileRef> {
    const job = await this.#ownJob(grant, id);
    if (job.status !== 'done') throw notFound(`Export ${id} has no files yet; poll its status URL until it answers 200`);
    const file = (await this.opts.jobs.files(id, job.attempts)).find((f) => f.name === name);
    if (!file) throw notFound(`Export ${id} has no file "${name}"; the manifest lists its files`);
    if (file.kind === 'output') {
      const def = resourceDef(file.type);
      try {
        accessPolicy({ grant, type: file.type, def, interaction: 'search-type', userPatients: undefined, fhirBaseUrl: this.opts.fhirBaseUrl });
      } catch (err) {
        if (err instanceof FhirError && err.status === 403) throw forbidden(`This token may no longer read ${file.type}, so it cannot download ${name}: ${err.issues[0]!.diagnostics}`);
        throw err;
      }
    }
    const path = join(this.opts.runner.attemptDir(id, job.attempts), name);
    try {
      const s = await stat(path);
      return { path, type: file.type, bytes: s.size };
    } catch {
      throw new FhirError(410, [{ severity: 'error', code: 'deleted', diagnostics: `The file ${name} of export ${id} is no longer on this server's disk; start the export again` }]);
    }
  }

  async #ownJob(grant: AccessGrant, id: string): Promise<ExportJobRow> {
    assertBackendToken(grant);
    const job = /^[0-9a-f-]{36}$/.test(id) ? await this.opts.jobs.get(id) : undefined;
    if (!job || (job.expires_at !== null && job.expires_at <= Date.now())) throw notFound(`No export ${id} here: it never existed, was cancelled, or has expired (finished exports are kept for a limited time)`);
    if (job.client_id !== grant.clientId) throw forbidden(`Export ${id} was started by another client; only that client may see its status and files`);
    return job;
  }

  async #manifest(job: ExportJobRow): Promise<ExportManifest> {
    const files = await this.opts.jobs.files(job.id, job.attempts);
    const entry = (f: (typeof files)[number]) => ({ type: f.type, url: `${this.opts.fhirBaseUrl}/${FILE_PATH}/${job.id}/${f.name}`, count: f.count });
    return {
      transactionTime: new Date(job.transaction_time).toISOString(),
      request: job.request,
      requiresAccessToken: true,
      output: files.filter((f) => f.kind === 'output').map(entry),
      deleted: [],
      error: files.filter((f) => f.kind === 'error').map(entry),
    };
  }

  /** The Group's active Patient members, read under the token's policy for Group (so its scopes must cover Group). */
  async #groupMembers(grant: AccessGrant, groupId: string): Promise<{ ids: string[]; notes: string[] }> {
    let policy;
    try {
      policy = accessPolicy({ grant, type: 'Group', def: resourceDef('Group'), interaction: 'read', userPatients: undefined, fhirBaseUrl: this.opts.fhirBaseUrl });
    } catch (err) {
      if (err instanceof FhirError && err.status === 403) throw forbidden(`A Group export reads the Group's members, so the token needs system/Group.rs (or system/*.rs): ${err.issues[0]!.diagnostics}`);
      throw err;
    }
    const row = await this.opts.fhir.read('Group', groupId, policy);
    const group = JSON.parse(row.json!) as { member?: { entity?: { reference?: string }; inactive?: boolean }[] };
    const ids: string[] = [];
    const notes: string[] = [];
    for (const m of group.member ?? []) {
      if (m.inactive) continue;
      const ref = m.entity?.reference ? parseReference(m.entity.reference, this.opts.fhirBaseUrl) : undefined;
      if (ref?.kind === 'local' && ref.type === 'Patient') ids.push(ref.id);
      else notes.push(`Group/${groupId} member ${m.entity?.reference ?? '(no reference)'} is not a Patient of this server, so it has no record to export`);
    }
    return { ids: [...new Set(ids)], notes };
  }
}
