// File output. Seed bundles are small and written whole; bulk NDJSON is produced one patient at
// a time and streamed with back-pressure, so memory stays bounded by a single patient's record
// however many patients are requested.
import { once } from 'node:events';
import type { WriteStream } from 'node:fs';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { generatePatientRecord, generateSeedGroups, generateSeedRecords, generateSharedBundle, generateSharedResources } from './index.js';
import type { GeneratedResource } from './record.js';
import { transactionBundle } from './bundle.js';
import { GROUPS_BUNDLE_FILE, SHARED_BUNDLE_FILE, seedFileName, seedReadme } from './readme.js';

/** One NDJSON file per type, shared practice resources first. */
export const BULK_TYPES = [
  'Organization',
  'Location',
  'Practitioner',
  'PractitionerRole',
  'Medication',
  'Patient',
  'Observation',
  'AllergyIntolerance',
  'MedicationStatement',
  'Immunization',
  'RelatedPerson',
  'Coverage',
  'CareTeam',
  'Encounter',
  'Condition',
  'DiagnosticReport',
  'Specimen',
  'Procedure',
  'ServiceRequest',
  'Device',
  'DocumentReference',
  'QuestionnaireResponse',
  'MedicationRequest',
  'MedicationDispense',
  'Goal',
  'CarePlan',
  'Provenance',
] as const satisfies readonly GeneratedResource['resourceType'][];
export type BulkType = (typeof BULK_TYPES)[number];

export interface FileSummary {
  readonly path: string;
  readonly resources: number;
  readonly bytes: number;
}

/** Bundles this generator wrote earlier; removed first so a renamed patient leaves no stale file. */
const GENERATED_BUNDLE = /^\d{2}-[a-z0-9-]+\.json$/;

export async function writeSeedSet(outDir: string, seed: number): Promise<{ files: FileSummary[]; readme: string }> {
  const records = generateSeedRecords(seed);
  const seedDir = join(outDir, 'seed');
  await mkdir(seedDir, { recursive: true });
  for (const name of await readdir(seedDir)) {
    if (GENERATED_BUNDLE.test(name)) await rm(join(seedDir, name));
  }
  const files: FileSummary[] = [];
  // Shared resources first: loading the directory in name order creates them before anything refers to them.
  const sharedPath = join(seedDir, SHARED_BUNDLE_FILE);
  const shared = generateSharedBundle();
  const sharedText = `${JSON.stringify(shared, null, 2)}\n`;
  await writeFile(sharedPath, sharedText);
  files.push({ path: sharedPath, resources: shared.entry?.length ?? 0, bytes: Buffer.byteLength(sharedText) });
  for (const [i, record] of records.entries()) {
    const path = join(seedDir, seedFileName(i, record.profile.id));
    const text = `${JSON.stringify(transactionBundle(record.resources), null, 2)}\n`;
    await writeFile(path, text);
    files.push({ path, resources: record.resources.length, bytes: Buffer.byteLength(text) });
  }
  // The cohort Groups last: 99 sorts them after every patient they list.
  const groups = generateSeedGroups(records);
  const groupsPath = join(seedDir, GROUPS_BUNDLE_FILE);
  const groupsText = `${JSON.stringify(transactionBundle(groups), null, 2)}\n`;
  await writeFile(groupsPath, groupsText);
  files.push({ path: groupsPath, resources: groups.length, bytes: Buffer.byteLength(groupsText) });
  const readme = join(outDir, 'README.md');
  await writeFile(readme, seedReadme(records, generateSharedResources(), seed, groups));
  return { files, readme };
}

export interface BulkOptions {
  readonly outDir: string;
  readonly patients: number;
  readonly seed: number;
  readonly observationsPerPatient?: number;
  /** Called about every 5% with a one-line progress message. */
  readonly onProgress?: (message: string) => void;
}

async function write(stream: WriteStream, chunk: string): Promise<void> {
  // Respect back-pressure: wait for the buffer to drain instead of queueing without bound.
  if (!stream.write(chunk)) await once(stream, 'drain');
}

export async function writeBulk(options: BulkOptions): Promise<FileSummary[]> {
  await mkdir(options.outDir, { recursive: true });
  const streams = new Map<BulkType, WriteStream>();
  const counts = new Map<BulkType, number>();
  for (const type of BULK_TYPES) {
    streams.set(type, createWriteStream(join(options.outDir, `${type}.ndjson`)));
    counts.set(type, 0);
  }
  const started = performance.now();
  const step = Math.max(1, Math.ceil(options.patients / 20));
  let resources = 0;
  try {
    const shared = new Map<BulkType, string[]>();
    for (const resource of generateSharedResources()) {
      const type = resource.resourceType;
      shared.set(type, [...(shared.get(type) ?? []), JSON.stringify(resource)]);
    }
    for (const [type, lines] of shared) {
      const stream = streams.get(type);
      if (!stream) throw new Error(`no output stream for ${type}`);
      await write(stream, `${lines.join('\n')}\n`);
      counts.set(type, (counts.get(type) ?? 0) + lines.length);
    }
    for (let index = 0; index < options.patients; index++) {
      const record: GeneratedResource[] = generatePatientRecord({
        seed: options.seed,
        index,
        ...(options.observationsPerPatient !== undefined ? { observationsPerPatient: options.observationsPerPatient } : {}),
      });
      const lines = new Map<BulkType, string[]>();
      for (const resource of record) {
        const type = resource.resourceType;
        let bucket = lines.get(type);
        if (!bucket) lines.set(type, (bucket = []));
        bucket.push(JSON.stringify(resource));
      }
      for (const [type, bucket] of lines) {
        const stream = streams.get(type);
        if (!stream) throw new Error(`no output stream for ${type}`);
        await write(stream, `${bucket.join('\n')}\n`);
        counts.set(type, (counts.get(type) ?? 0) + bucket.length);
      }
      resources += record.length;
      const done = index + 1;
      if (options.onProgress && (done % step === 0 || done === options.patients)) {
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        options.onProgress(`${done}/${options.patients} patients (${Math.round((done / options.patients) * 100)}%), ${resources} resources, ${seconds}s`);
      }
    }
  } finally {
    for (const stream of streams.values()) stream.end();
  }
  await Promise.all([...streams.values()].map((s) => finished(s)));
  const summary: FileSummary[] = [];
  for (const type of BULK_TYPES) {
    const path = join(options.outDir, `${type}.ndjson`);
    summary.push({ path, resources: counts.get(type) ?? 0, bytes: (await stat(path)).size });
  }
  return summary;
}
