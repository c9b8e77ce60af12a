// npm run import -- FILE...: loads FHIR Bundles and NDJSON into the configured database (DATABASE_URL).
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../src/config.js';
import { importFiles } from '../src/fhir/import/importer.js';
import { FhirService } from '../src/fhir/service.js';
import { openDb } from '../src/store/db.js';
import { migrateToLatest } from '../src/store/migrate.js';
import { ResourceStore } from '../src/store/resources.js';

const USAGE = `usage: npm run import -- [--batch-size N] FILE...
  FILE  a FHIR Bundle (transaction, batch, collection, searchset) or resource as .json, or NDJSON (.ndjson)
  Writes to DATABASE_URL (default sqlite:./data/smart.db). Exit code 0: all imported; 1: some resources failed; 2: usage.`;

let parsed;
try {
  parsed = parseArgs({ allowPositionals: true, options: { 'batch-size': { type: 'string' }, help: { type: 'boolean' } } });
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (parsed.values.help) {
  console.log(USAGE);
  process.exit(0);
}
const files = parsed.positionals;
const batchSize = parsed.values['batch-size'] === undefined ? 1000 : Number(parsed.values['batch-size']);
if (!files.length || !Number.isInteger(batchSize) || batchSize < 1) {
  console.error(USAGE);
  process.exit(2);
}

try {
  const config = loadConfig();
  const db = openDb(config.database);
  await migrateToLatest(db);
  const service = new FhirService(new ResourceStore(db), config.fhirBaseUrl);
  const report = await importFiles(service, files, {
    batchSize,
    onProgress: (p) => process.stderr.write(`  ${p.done} resources, ${Math.round(p.rate)}/s\n`),
  });
  await db.close();
  const total = Object.values(report.imported).reduce((a, b) => a + b, 0);
  console.log(`Imported ${total} resources from ${report.files} file(s) in ${report.seconds.toFixed(1)} s (${report.resourcesPerSecond}/s)`);
  for (const [type, n] of Object.entries(report.imported).sort()) console.log(`  ${type.padEnd(24)} ${n}`);
  const skipped = Object.entries(report.skipped).sort((a, b) => b[1] - a[1]);
  if (skipped.length) {
    console.log('Skipped (types not served here):');
    for (const [type, n] of skipped) console.log(`  ${type.padEnd(24)} ${n}`);
  }
  if (report.conditionalReferences) console.log(`Conditional references to resources not in the files, kept as logical references: ${report.conditionalReferences}`);
  if (report.errors.length) {
    console.log(`Errors (${report.errors.length}):`);
    for (const e of report.errors.slice(0, 20)) console.log(`  ${e.location}${e.resource ? ` ${e.resource}` : ''}: ${e.message}`);
    if (report.errors.length > 20) console.log(`  ... and ${report.errors.length - 20} more`);
  }
  process.exit(report.errors.length ? 1 : 0);
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(2);
}
