// Loads resources (Bundles of any kind, NDJSON) into the store through the same validation and indexing as the
// API, in batches, keeping ids. Every R4 type is stored; the few that never are (a Bundle nested as an entry,
// Parameters, OperationOutcome) are counted, and a bad resource, a type that is not R4 or a bad file is reported
// while the import goes on.
import { resourceDef, type ResourceDef } from '../definitions.js';
import type { FhirService } from '../service.js';
import { prepare, type BatchInput } from './prepare.js';
import { withOwnerCompartment } from '../compartment-owner.js';
import { readSource, SourceError, type ImportItem } from './sources.js';

export type { ImportItem } from './sources.js';
export { NOT_STORED_REASON } from './prepare.js';

/** 'us-core': the US Core 6.1.0 search parameters; 'r4': the R4 ones; 'basic': _id, _lastUpdated and, in the patient compartment, patient */
export type SearchSupport = ResourceDef['support'];

export interface ImportError {
  readonly file: string;
  /** Where in the file ("entry 12", "line 7"); empty when the whole file failed */
  readonly location: string;
  /** Type/id when known */
  readonly resource?: string;
  readonly message: string;
}

export interface ImportProgress {
  /** The file being read, for importFiles */
  readonly file?: string;
  /** Resources stored so far */
  readonly done: number;
  /** Resources of types never stored (NOT_STORED_REASON) */
  readonly notStored: number;
  readonly errors: number;
  readonly seconds: number;
  /** Resources imported per second so far */
  readonly rate: number;
}

export interface ImportReport {
  readonly files: number;
  /** Resources stored, by type */
  readonly imported: Record<string, number>;
  /** How each type in `imported` can be searched */
  readonly searchSupport: Record<string, SearchSupport>;
  /** Resources of valid R4 types that are never stored, by type (NOT_STORED_REASON says why); not errors */
  readonly notStored: Record<string, number>;
  /** Resources and files that could not be imported, types that are not R4 among them */
  readonly errors: ImportError[];
  /** Conditional references to resources outside the files, replaced by logical (identifier) references in the stored resources */
  readonly conditionalReferences: number;
  readonly seconds: number;
  readonly resourcesPerSecond: number;
}

export interface ImportOptions {
  /** Resources per store transaction */
  readonly batchSize?: number;
  readonly onProgress?: (p: ImportProgress) => void;
  /** How often onProgress is called, in ms */
  readonly progressEveryMs?: number;
  /** Writes one batch in one transaction; the store's writeBatch unless given (see pgCopyWriter) */
  readonly writer?: BatchWriter;
}

/** Stores a batch of prepared resources, each as an upsert, all or nothing. */
export type BatchWriter = (inputs: readonly BatchInput[]) => Promise<unknown>;

// On SQLite each commit rewrites every index page the batch touched (random uuid keys touch many), so larger batches
// import faster: measured ~25% more resources/s at 5,000 than at 1,000-2,000, little more beyond, while memory held
// by the pending batch and the one-by-one retry of a failed batch grow with it.
export const DEFAULT_BATCH_SIZE = 5000;

/** Imports Bundle and NDJSON files in order; a file that cannot be read is reported and the next one goes on. */
export async function importFiles(service: FhirService, paths: readonly string[], opts: ImportOptions = {}): Promise<ImportReport> {
  const run = new ImportRun(service, opts);
  for (const file of paths) {
    run.files++;
    try {
      await run.consume(readSource(file), file);
    } catch (err) {
      if (!(err instanceof SourceError)) throw err;
      run.errors.push({ file, location: '', message: err.message });
    }
  }
  return run.finish();
}

/** Imports resources from any source (generators, tests); items carry their own file and location for reports. */
export async function importResources(service: FhirService, source: AsyncIterable<ImportItem> | Iterable<ImportItem>, opts: ImportOptions = {}): Promise<ImportReport> {
  const run = new ImportRun(service, opts);
  await run.consume(source);
  return run.finish();
}

interface Pending {
  input: BatchInput;
  readonly file: string;
  readonly location: string;
  readonly conditionalReferences: number;
}

class ImportRun {
  files = 0;
  readonly imported: Record<string, number> = {};
  readonly notStored: Record<string, number> = {};
  readonly errors: ImportError[] = [];
  conditionalReferences = 0;
  readonly #service: FhirService;
  readonly #opts: ImportOptions;
  readonly #batchSize: number;
  readonly #write: BatchWriter;
  readonly #started = performance.now();
  #lastProgress = this.#started;
  #importedTotal = 0;
  #notStoredTotal = 0;
  #batch: Pending[] = [];
  #file: string | undefined;

  constructor(service: FhirService, opts: ImportOptions) {
    this.#service = service;
    this.#opts = opts;
    this.#batchSize = Math.max(1, opts.batchSize ?? DEFAULT_BATCH_SIZE);
    this.#write = opts.writer ?? ((inputs) => service.store.writeBatch(inputs));
  }

  async consume(items: AsyncIterable<ImportItem> | Iterable<ImportItem>, file?: string): Promise<void> {
    this.#file = file;
    try {
      for await (const item of items) {
        this.#take(item, item.file ?? file ?? '');
        if (this.#batch.length >= this.#batchSize) await this.#flush();
        else this.#progress();
      }
    } finally {
      // What was read before a file failed part-way is still imported.
      await this.#flush();
    }
  }

  finish(): ImportReport {
    const seconds = this.#seconds();
    return {
      files: this.files,
      imported: this.imported,
      searchSupport: Object.fromEntries(Object.keys(this.imported).map((type) => [type, resourceDef(type)!.support])),
      notStored: this.notStored,
      errors: this.errors,
      conditionalReferences: this.conditionalReferences,
      seconds: Number(seconds.toFixed(3)),
      resourcesPerSecond: seconds > 0 ? Math.round(this.#importedTotal / seconds) : this.#importedTotal,
    };
  }

  #take(item: ImportItem, file: string): void {
    if (item.problem !== undefined) {
      this.errors.push({ file, location: item.location, message: item.problem });
      return;
    }
    const p = prepare(item.resource, this.#service.fhirBaseUrl);
    if (p.kind === 'write') this.#batch.push({ input: p.input, file, location: item.location, conditionalReferences: item.conditionalReferences ?? 0 });
    else if (p.kind === 'not-stored') {
      this.notStored[p.type] = (this.notStored[p.type] ?? 0) + 1;
      this.#notStoredTotal++;
    } else this.errors.push({ file, location: item.location, ...(p.resource ? { resource: p.resource } : {}), message: p.message });
  }

  async #flush(): Promise<void> {
    const batch = this.#batch;
    if (!batch.length) return;
    this.#batch = [];
    await this.#resolveOwners(batch);
    try {
      await this.#write(batch.map((b) => b.input));
      for (const b of batch) this.#count(b);
    } catch {
      // One failing row rolls the whole transaction back: write the batch one by one to name the culprit.
      for (const b of batch) {
        try {
          await this.#service.store.writeBatch([b.input]);
          this.#count(b);
        } catch (err) {
          this.errors.push({ file: b.file, location: b.location, resource: `${b.input.type}/${b.input.id}`, message: `could not be stored: ${(err as Error).message}` });
        }
      }
    }
    this.#progress();
  }

  // Resources whose compartment is their target's (Provenance): the target is usually earlier in the same Bundle,
  // so the batch is asked first, then what earlier batches stored.
  async #resolveOwners(batch: Pending[]): Promise<void> {
    const waiting = batch.filter((b) => b.input.index.patientId === null && resourceDef(b.input.type)?.compartmentFromTargets);
    if (!waiting.length) return;
    const inBatch = new Map(batch.map((b) => [`${b.input.type}/${b.input.id}`, b.input.index.patientId]));
    const owner = async (type: string, id: string) => inBatch.get(`${type}/${id}`) ?? this.#service.ownerOf(type, id);
    for (const b of waiting) {
      const def = resourceDef(b.input.type)!;
      const resource = b.input.resource as Record<string, unknown>;
      b.input = { ...b.input, index: await withOwnerCompartment(def, resource, b.input.index, this.#service.fhirBaseUrl, owner) };
    }
  }

  #count(stored: Pending): void {
    this.imported[stored.input.type] = (this.imported[stored.input.type] ?? 0) + 1;
    this.#importedTotal++;
    // Counted when stored: those in a resource that failed validation or storage never reach the data.
    this.conditionalReferences += stored.conditionalReferences;
  }

  #progress(): void {
    const { onProgress, progressEveryMs = 1000 } = this.#opts;
    if (!onProgress) return;
    const now = performance.now();
    if (now - this.#lastProgress < progressEveryMs) return;
    this.#lastProgress = now;
    const seconds = this.#seconds();
    onProgress({
      ...(this.#file !== undefined ? { file: this.#file } : {}),
      done: this.#importedTotal,
      notStored: this.#notStoredTotal,
      errors: this.errors.length,
      seconds,
      rate: seconds > 0 ? this.#importedTotal / seconds : 0,
    });
  }

  #seconds(): number {
    return (performance.now() - this.#started) / 1000;
  }
}
