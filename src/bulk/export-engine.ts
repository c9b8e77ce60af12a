// Writes one export's NDJSON files: type after type, page after page, from the store's export query to disk. It holds
// one page in memory whatever the export's size. The same code runs in the export thread (export-worker.ts, its own
// database connection) and, for an in-memory database no thread can open, on the server's own event loop.
import type { Kysely } from 'kysely';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Database } from '../store/schema.js';
import { exportPage, type ExportRow } from '../store/export-query.js';
import { NdjsonFiles } from './ndjson-files.js';
import { SUBSETTED, type ExportFile, type ExportProgress, type ExportSpec } from './export-spec.js';

export interface EngineInput {
  readonly spec: ExportSpec;
  readonly transactionTime: number;
  /** The attempt's own directory, existing and empty */
  readonly dir: string;
  readonly maxPerFile: number;
  readonly pageSize: number;
  /** Give the event loop a turn between pages (when running on the server's own thread) */
  readonly yieldBetweenPages: boolean;
}

export interface EngineEvents {
  file(file: ExportFile): void;
  progress(progress: ExportProgress): void;
}

export class ExportStopped extends Error {}

/**
 * `throttle` is called after each page with the time the page took and may wait before the next one: the export
 * thread uses it to step aside while the API is busy (see ExportRunner's pacing).
 */
export async function runExport(kysely: Kysely<Database>, input: EngineInput, events: EngineEvents, signal: AbortSignal, throttle?: (pageMs: number) => Promise<void>): Promise<void> {
  const { spec } = input;
  let seq = 0;
  const nextSeq = () => ++seq;
  let written = 0;
  const problems: string[] = [...spec.warnings];
  const patients: readonly (string | undefined)[] = Array.isArray(spec.patients) ? spec.patients : [undefined];
  const open: NdjsonFiles[] = [];
  try {
    for (const [i, t] of spec.types.entries()) {
      events.progress({ written, type: t.type, typeIndex: i + 1, typeCount: spec.types.length });
      const files = new NdjsonFiles(input.dir, t.type, 'output', input.maxPerFile, nextSeq, events.file);
      open.push(files);
      for (const patient of patients) {
        let after: ExportRow | undefined;
        for (;;) {
          if (signal.aborted) throw new ExportStopped('the export was stopped');
          const pageStart = performance.now();
          const rows = await exportPage(kysely, {
            type: t.type,
            clauses: t.clauses,
            ...(patient !== undefined ? { patient } : {}),
            anyPatient: spec.patients === 'any',
            ...(spec.since !== undefined ? { since: spec.since } : {}),
            until: input.transactionTime,
            ...(after ? { after: { lastUpdated: after.lastUpdated, rid: after.rid } } : {}),
            count: input.pageSize,
          });
          if (rows.length) {
            await files.append(t.elements ? rows.flatMap((r) => subset(r, t.type, t.elements!, problems)) : rows.map((r) => r.content));
            written += rows.length;
            events.progress({ written, type: t.type, typeIndex: i + 1, typeCount: spec.types.length });
          }
          if (throttle) await throttle(performance.now() - pageStart);
          if (rows.length < input.pageSize) break;
          after = rows[rows.length - 1];
          if (input.yieldBetweenPages) await nextTurn();
        }
      }
      await files.close();
      open.pop();
    }
    if (problems.length) {
      const errors = new NdjsonFiles(input.dir, 'OperationOutcome', 'error', input.maxPerFile, nextSeq, events.file);
      open.push(errors);
      await errors.append(problems.map((p) => JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'warning', code: 'processing', diagnostics: p }] })));
      await errors.close();
      open.pop();
    }
    events.progress({ written, typeCount: spec.types.length });
  } finally {
    for (const f of open) await f.abandon();
  }
}

/**
 * `_elements`: the named top-level elements plus what every resource must keep (resourceType, id, meta), tagged
 * SUBSETTED as FHIR asks of a partial resource. A stored resource that does not parse goes to the error file.
 */
function subset(row: ExportRow, type: string, elements: readonly string[], problems: string[]): string[] {
  let resource: Record<string, unknown>;
  try {
    resource = JSON.parse(row.content) as Record<string, unknown>;
  } catch (err) {
    problems.push(`${type}/${row.id} could not be read for export (${(err as Error).message}); it is missing from the output`);
    return [];
  }
  const out: Record<string, unknown> = { resourceType: resource.resourceType, id: resource.id };
  const keep = new Set(elements);
  // A choice element is asked for by its base name (value) and stored typed (valueQuantity).
  for (const [key, value] of Object.entries(resource)) {
    if (keep.has(key) || elements.some((n) => key.startsWith(n) && /^[A-Z]/.test(key.slice(n.length)))) out[key] = value;
  }
  const meta = (resource.meta ?? {}) as { tag?: unknown[] };
  out.meta = { ...meta, tag: [...(Array.isArray(meta.tag) ? meta.tag : []), SUBSETTED] };
  return [JSON.stringify(out)];
}
