// First start: an empty database gets the data set in the seed directory (synthetic patients by default).
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { importFiles } from './import/importer.js';
import type { FhirService } from './service.js';

const ERRORS_LOGGED = 20;

/** Imports every *.json / *.ndjson in `dir` (by name) when the store holds no resources; returns how many were imported. */
export async function seedIfEmpty(fhir: FhirService, dir: string, log: (msg: string) => void): Promise<number> {
  if (!(await fhir.store.isEmpty())) return 0;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    log(`seed directory ${dir} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); starting with an empty database`);
    return 0;
  }
  const files = names.filter((f) => /\.(json|ndjson)$/i.test(f)).sort().map((f) => join(dir, f));
  const report = await importFiles(fhir, files);
  for (const e of report.errors.slice(0, ERRORS_LOGGED)) log(`seed: ${[e.file, e.location, e.resource].filter(Boolean).join(' ')}: ${e.message}`);
  if (report.errors.length > ERRORS_LOGGED) log(`seed: ${report.errors.length - ERRORS_LOGGED} more errors`);
  return Object.values(report.imported).reduce((a, b) => a + b, 0);
}
