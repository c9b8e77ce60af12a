// Files → resources to import. A Bundle is read whole (its references are resolved across its entries); NDJSON is
// streamed line by line, so a file of a million resources stays in bounded memory.
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import { ID_PATTERN } from '../references.js';
import { ReferenceTargets, rewriteReferences } from './references.js';

export interface ImportItem {
  /** The parsed resource; undefined when `problem` says why there is none */
  readonly resource: unknown;
  /** Where in the file: "entry 12", "line 7", "line 7 entry 3" */
  readonly location: string;
  readonly file?: string;
  /** This location could not be read as a resource (malformed line) */
  readonly problem?: string;
  /** Conditional references in the resource that were replaced by logical references */
  readonly conditionalReferences?: number;
}

/** The file as a whole cannot be imported (missing, not JSON or NDJSON); the import goes on with the next file. */
export class SourceError extends Error {}

const NDJSON_EXTENSIONS = new Set(['.ndjson', '.jsonl']);
// This many unparsable lines before the first good one: the file is not NDJSON, so say that once, not per line.
const NOT_NDJSON_AFTER = 10;

export async function* readSource(file: string): AsyncGenerator<ImportItem> {
  const info = await stat(file).catch((err: NodeJS.ErrnoException) => {
    throw new SourceError(err.code === 'ENOENT' ? 'no such file' : `cannot read the file (${err.code ?? err.message})`);
  });
  if (!info.isFile()) throw new SourceError('not a file');
  if (NDJSON_EXTENSIONS.has(extname(file).toLowerCase())) {
    yield* readNdjson(file);
    return;
  }
  const text = stripBom(
    await readFile(file, 'utf8').catch((err: Error) => {
      // A Bundle past V8's string limit (~512 MB) cannot be read whole; that is a file problem, not a crash.
      throw new SourceError(`cannot read the file as one JSON document (${err.message}); split it or use NDJSON`);
    }),
  );
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    // NDJSON saved as .json: read it as such rather than rejecting it.
    if (looksLikeNdjson(text)) {
      yield* readNdjson(file);
      return;
    }
    throw new SourceError(`neither JSON nor NDJSON (${(err as Error).message})`);
  }
  if (!isObject(parsed) || typeof parsed.resourceType !== 'string') throw new SourceError('not a FHIR resource or Bundle (no resourceType)');
  yield* resourcesOf(parsed, '', file);
}

async function* readNdjson(file: string): AsyncGenerator<ImportItem> {
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  let parsedAny = false;
  const early: ImportItem[] = [];
  for await (const raw of lines) {
    n++;
    const line = n === 1 ? stripBom(raw) : raw;
    if (!line.trim()) continue;
    let resource: unknown;
    try {
      resource = JSON.parse(line);
    } catch (err) {
      const item: ImportItem = { resource: undefined, location: `line ${n}`, file, problem: `not JSON (${(err as Error).message})` };
      if (parsedAny) yield item;
      else if (early.push(item) >= NOT_NDJSON_AFTER) throw notNdjson(early);
      continue;
    }
    if (!parsedAny) {
      parsedAny = true;
      yield* early;
    }
    yield* resourcesOf(resource, `line ${n}`, file);
  }
  if (!parsedAny && early.length) throw notNdjson(early);
}

// A Bundle yields its entries (one NDJSON line may hold a whole Bundle); anything else is one resource.
function* resourcesOf(value: unknown, location: string, file: string): Generator<ImportItem> {
  if (isObject(value) && value.resourceType === 'Bundle') {
    yield* resolveBundle(value, location, file);
    return;
  }
  const conditionalReferences = rewriteReferences(value);
  yield { resource: value, location: location || 'resource', file, conditionalReferences };
}

interface BundleEntry {
  fullUrl?: unknown;
  resource?: unknown;
  request?: { method?: unknown; url?: unknown };
}

const PUT_URL = /^[A-Z][A-Za-z]+\/([A-Za-z0-9\-.]{1,64})$/;
const URL_TAIL = /\/[A-Z][A-Za-z]+\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

/** Assigns ids to a Bundle's entries and rewrites the references between them. */
export function resolveBundle(bundle: Record<string, unknown>, location: string, file: string): ImportItem[] {
  const entries: unknown[] = Array.isArray(bundle.entry) ? bundle.entry : [];
  const targets = new ReferenceTargets();
  const items: ImportItem[] = [];
  entries.forEach((raw, index) => {
    const at = `${location ? `${location} ` : ''}entry ${index}`;
    const entry = (isObject(raw) ? raw : {}) as BundleEntry;
    const resource = entry.resource;
    // Entries without a resource (DELETE, GET) carry nothing to store.
    if (resource === undefined) return;
    if (!isObject(resource) || typeof resource.resourceType !== 'string') {
      items.push({ resource: undefined, location: at, file, problem: 'the entry resource is not a FHIR resource (no resourceType)' });
      return;
    }
    const fullUrl = typeof entry.fullUrl === 'string' ? entry.fullUrl : undefined;
    resource.id = entryId(resource, entry, fullUrl);
    targets.add(fullUrl, resource, resource.resourceType, resource.id as string);
    items.push({ resource, location: at, file });
  });
  // References are rewritten once every entry has its id, since an entry may point at one further down.
  return items.map((item) => (item.resource ? { ...item, conditionalReferences: rewriteReferences(item.resource, targets) } : item));
}

// Ids are kept: the resource's own, else the PUT target, else the fullUrl's uuid or trailing id (Synthea writes
// urn:uuid fullUrls and POST entries), else a new one.
function entryId(resource: Record<string, unknown>, entry: BundleEntry, fullUrl: string | undefined): string {
  if (typeof resource.id === 'string' && ID_PATTERN.test(resource.id)) return resource.id;
  const put = entry.request?.method === 'PUT' && typeof entry.request.url === 'string' ? PUT_URL.exec(entry.request.url)?.[1] : undefined;
  if (put) return put;
  const fromUrl = fullUrl?.startsWith('urn:uuid:') ? fullUrl.slice('urn:uuid:'.length) : fullUrl && URL_TAIL.exec(fullUrl)?.[1];
  return fromUrl && ID_PATTERN.test(fromUrl) ? fromUrl : randomUUID();
}

function looksLikeNdjson(text: string): boolean {
  const nl = text.indexOf('\n');
  if (nl < 0) return false;
  try {
    return isObject(JSON.parse(text.slice(0, nl)));
  } catch {
    return false;
  }
}

function notNdjson(early: readonly ImportItem[]): SourceError {
  return new SourceError(`neither JSON nor NDJSON: no line parses (${early[0]!.location}: ${early[0]!.problem})`);
}

const stripBom = (s: string) => (s.charCodeAt(0) === 0xfeff ? s.slice(1) : s);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
