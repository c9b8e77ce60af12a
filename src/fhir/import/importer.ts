// Loads resources (Bundles of any kind, NDJSON) into the store through the same validation and indexing as the
// API, in batches, keeping ids. Other resource types are counted and skipped; a bad resource is reported and the
// import goes on.
import type { Resource } from 'fhir/r4.js';
import { resourceDef } from '../definitions.js';
import { computeIndex } from '../index-rows.js';
import { FhirError } from '../outcome.js';
import type { FhirService } from '../service.js';
import { validateResource } from '../validate.js';
import { readSource, SourceError, type ImportItem } from './sources.js';
import type { WriteInput } from '../../store/resources.js';

export interface ImportError {
  readonly location: string;
  readonly resource?: string;
  readonly message: string;
}

export interface ImportProgress {
  readonly done: number;
  readonly rate: number;
}

export interface ImportReport {
  readonly files: number;
  readonly imported: Record<string, number>;
  readonly skipped: Record<string, number>;
  readonly errors: ImportError[];
  readonly conditionalReferences: number;
  readonly seconds: number;
  readonly resourcesPerSecond: number;
}

export interface ImportOptions {
  readonly batchSize?: number;
  readonly onProgress?: (p: ImportProgress) => void;
  /** How often onProgress is called, in ms */
  readonly progressEveryMs?: number;
}

interface Counters {
  imported: Record<string, number>;
  skipped: Record<string, number>;
  errors: ImportError[];
  stats: { conditional: number };
  files: number;
}

const newCounters = (): Counters => ({ imported: {}, skipped: {}, errors: [], stats: { conditional: 0 }, files: 0 });

async function run(service: FhirService, items: AsyncIterable<ImportItem>, c: Counters, opts: ImportOptions): Promise<void> {
  const batchSize = opts.batchSize ?? 1000;
  const started = performance.now();
  let done = 0;
  let lastProgress = started;
  let batch: Omit<WriteInput, 'mode' | 'ifMatch'>[] = [];
  const flush = async () => {
    if (!batch.length) return;
    const current = batch;
    batch = [];
    try {
      await service.store.writeBatch(current);
      for (const w of current) c.imported[w.type] = (c.imported[w.type] ?? 0) + 1;
    } catch (err) {
      // One failing statement rolls the batch back; write its resources one by one to find the culprit.
      for (const w of current) {
        try {
          await service.store.writeBatch([w]);
          c.imported[w.type] = (c.imported[w.type] ?? 0) + 1;
        } catch (inner) {
          c.errors.push({ location: 'batch', resource: `${w.type}/${w.id}`, message: (inner as Error).message || String(err) });
        }
      }
    }
    done += current.length;
    const now = performance.now();
    if (opts.onProgress && now - lastProgress >= (opts.progressEveryMs ?? 1000)) {
      lastProgress = now;
      opts.onProgress({ done, rate: done / ((now - started) / 1000) });
    }
  };
  for await (const item of items) {
    const r = item.resource as Partial<Resource> | undefined;
    if (!r || typeof r !== 'object' || typeof r.resourceType !== 'string') {
      c.errors.push({ location: item.location, message: 'not a FHIR resource (no resourceType)' });
      continue;
    }
    const def = resourceDef(r.resourceType);
    if (!def) {
      c.skipped[r.resourceType] = (c.skipped[r.resourceType] ?? 0) + 1;
      continue;
    }
    const id = typeof r.id === 'string' ? r.id : undefined;
    if (!id) {
      c.errors.push({ location: item.location, resource: r.resourceType, message: 'the resource has no id' });
      continue;
    }
    try {
      const resource = validateResource(def, r);
      batch.push({ type: def.type, id, resource, index: computeIndex(def, resource, id, service.fhirBaseUrl) });
    } catch (err) {
      const message = err instanceof FhirError ? err.issues.map((i) => `${i.expression?.[0] ? `${i.expression[0]}: ` : ''}${i.diagnostics}`).join('; ') : (err as Error).message;
      c.errors.push({ location: item.location, resource: `${r.resourceType}/${id}`, message });
      continue;
    }
    if (batch.length >= batchSize) await flush();
  }
  await flush();
}

function report(c: Counters, started: number): ImportReport {
  const seconds = (performance.now() - started) / 1000;
  const total = Object.values(c.imported).reduce((a, b) => a + b, 0);
  return {
    files: c.files,
    imported: c.imported,
    skipped: c.skipped,
    errors: c.errors,
    conditionalReferences: c.stats.conditional,
    seconds: Number(seconds.toFixed(3)),
    resourcesPerSecond: seconds > 0 ? Math.round(total / seconds) : total,
  };
}

/** Imports resources from any source (generators, tests). */
export async function importResources(service: FhirService, source: AsyncIterable<ImportItem>, opts: ImportOptions = {}): Promise<ImportReport> {
  const c = newCounters();
  const started = performance.now();
  await run(service, source, c, opts);
  return report(c, started);
}

/** Imports Bundle (.json) and NDJSON (.ndjson) files; a file that cannot be read is reported and the next one goes on. */
export async function importFiles(service: FhirService, paths: readonly string[], opts: ImportOptions = {}): Promise<ImportReport> {
  const c = newCounters();
  const started = performance.now();
  for (const path of paths) {
    c.files++;
    try {
      await run(service, readSource(path, c.stats), c, opts);
    } catch (err) {
      if (!(err instanceof SourceError) && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      c.errors.push({ location: path, message: err instanceof SourceError ? err.message : 'no such file' });
    }
  }
  return report(c, started);
}
