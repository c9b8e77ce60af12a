// Files → resources to import. Bundles are read whole (their references are resolved across entries); NDJSON is
// streamed line by line so a file of a million resources stays in bounded memory.
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { ID_PATTERN } from '../references.js';
import { rewriteReferences, type RewriteStats } from './references.js';

export interface ImportItem {
  readonly resource: unknown;
  /** Where it came from, for error reports: "file.json entry 12", "file.ndjson line 7" */
  readonly location: string;
}

export class SourceError extends Error {}

interface BundleEntry {
  fullUrl?: string;
  resource?: Record<string, unknown>;
  request?: { method?: string; url?: string };
}

/** Assigns ids to a Bundle's entries and rewrites references between them; returns the entries' resources. */
export function resolveBundle(bundle: Record<string, unknown>, file: string, stats: RewriteStats): ImportItem[] {
  const entries = Array.isArray(bundle.entry) ? (bundle.entry as BundleEntry[]) : [];
  const map = new Map<string, string>();
  const prepared: { resource: Record<string, unknown>; index: number }[] = [];
  entries.forEach((entry, index) => {
    const resource = entry?.resource;
    if (!resource || typeof resource !== 'object' || typeof resource.resourceType !== 'string') return;
    const type = resource.resourceType;
    const put = entry.request?.method === 'PUT' && typeof entry.request.url === 'string' ? /^[A-Z][A-Za-z]+\/([A-Za-z0-9\-.]{1,64})$/.exec(entry.request.url)?.[1] : undefined;
    const fromUrn = entry.fullUrl?.startsWith('urn:uuid:') ? entry.fullUrl.slice('urn:uuid:'.length) : undefined;
    // Ids are kept: the resource's own, else the PUT target, else the urn's uuid (Synthea), else a new one.
    const id = typeof resource.id === 'string' && ID_PATTERN.test(resource.id) ? resource.id : put ?? (fromUrn && ID_PATTERN.test(fromUrn) ? fromUrn : randomUUID());
    resource.id = id;
    if (entry.fullUrl) map.set(entry.fullUrl, `${type}/${id}`);
    prepared.push({ resource, index });
  });
  for (const p of prepared) rewriteReferences(p.resource, map, stats);
  return prepared.map((p) => ({ resource: p.resource, location: `${file} entry ${p.index}` }));
}

export async function* readSource(file: string, stats: RewriteStats): AsyncGenerator<ImportItem> {
  if (file.endsWith('.ndjson') || file.endsWith('.jsonl')) {
    const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    let n = 0;
    for await (const line of lines) {
      n++;
      if (!line.trim()) continue;
      let resource: unknown;
      try {
        resource = JSON.parse(line);
      } catch (err) {
        yield { resource: undefined, location: `${file} line ${n}: not JSON (${(err as Error).message})` };
        continue;
      }
      if (resource && typeof resource === 'object') rewriteReferences(resource, new Map(), stats);
      yield { resource, location: `${file} line ${n}` };
    }
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new SourceError(`not a readable JSON file (${(err as Error).message})`);
  }
  if (!parsed || typeof parsed !== 'object') throw new SourceError("not a FHIR resource or Bundle");
  const obj = parsed as Record<string, unknown>;
  if (obj.resourceType === 'Bundle') {
    yield* resolveBundle(obj, file, stats);
  } else {
    rewriteReferences(obj, new Map(), stats);
    yield { resource: obj, location: file };
  }
}
