// First start: an empty database gets the synthetic patients from fhir-resources/seed.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { importFiles } from './import/importer.js';
import type { FhirService } from './service.js';

export async function seedIfEmpty(fhir: FhirService, dir: string, log: (msg: string) => void): Promise<number> {
  if (!(await fhir.store.isEmpty())) return 0;
  if (!existsSync(dir)) {
    log(`seed directory ${dir} does not exist; starting with an empty database`);
    return 0;
  }
  const files = readdirSync(dir).filter((f) => f.endsWith('.json') || f.endsWith('.ndjson')).sort().map((f) => join(dir, f));
  const report = await importFiles(fhir, files);
  for (const e of report.errors) log(`seed: ${e.location}${e.resource ? ` ${e.resource}` : ''}: ${e.message}`);
  return Object.values(report.imported).reduce((a, b) => a + b, 0);
}
