// Stored rows → Bundle JSON. Resource bodies are spliced in as stored text, never parsed and re-serialised.
import { randomUUID } from 'node:crypto';
import type { StoredResource } from '../store/resources.js';
import { operationOutcome, type Issue } from './outcome.js';

export interface BundleLink {
  readonly relation: 'self' | 'next' | 'previous';
  readonly url: string;
}

export interface SearchsetInput {
  readonly fhirBaseUrl: string;
  readonly matches: readonly StoredResource[];
  readonly included: readonly StoredResource[];
  readonly total?: number;
  readonly links: readonly BundleLink[];
  readonly warnings: readonly Issue[];
}

function head(type: 'searchset' | 'history', total: number | undefined, links: readonly BundleLink[]): string {
  const meta = JSON.stringify({ lastUpdated: new Date().toISOString() });
  const totalPart = total === undefined ? '' : `,"total":${total}`;
  return `{"resourceType":"Bundle","id":"${randomUUID()}","meta":${meta},"type":"${type}"${totalPart},"link":${JSON.stringify(links)}`;
}

export function searchsetJson(input: SearchsetInput): string {
  const entries: string[] = [];
  for (const r of input.matches) entries.push(entryJson(input.fhirBaseUrl, r, 'match'));
  for (const r of input.included) entries.push(entryJson(input.fhirBaseUrl, r, 'include'));
  if (input.warnings.length) {
    entries.push(`{"resource":${JSON.stringify(operationOutcome(input.warnings))},"search":{"mode":"outcome"}}`);
  }
  return `${head('searchset', input.total, input.links)}${entries.length ? `,"entry":[${entries.join(',')}]` : ''}}`;
}

function entryJson(base: string, r: StoredResource, mode: 'match' | 'include'): string {
  return `{"fullUrl":${JSON.stringify(`${base}/${r.type}/${r.id}`)},"resource":${r.json},"search":{"mode":"${mode}"}}`;
}

export function historyJson(fhirBaseUrl: string, versions: readonly StoredResource[], total: number, links: readonly BundleLink[]): string {
  const entries = versions.map((v) => {
    const url = `${v.type}/${v.id}`;
    const fullUrl = JSON.stringify(`${fhirBaseUrl}/${url}`);
    const when = JSON.stringify(new Date(v.lastUpdated).toISOString());
    const etag = JSON.stringify(`W/"${v.versionId}"`);
    if (v.deleted || v.json === null) {
      return `{"fullUrl":${fullUrl},"request":{"method":"DELETE","url":"${url}"},"response":{"status":"204","etag":${etag},"lastModified":${when}}}`;
    }
    const method = v.versionId === 1 ? 'POST' : 'PUT';
    const reqUrl = method === 'POST' ? v.type : url;
    const status = method === 'POST' ? '201' : '200';
    return `{"fullUrl":${fullUrl},"resource":${v.json},"request":{"method":"${method}","url":"${reqUrl}"},"response":{"status":"${status}","etag":${etag},"lastModified":${when}}}`;
  });
  return `${head('history', total, links)}${entries.length ? `,"entry":[${entries.join(',')}]` : ''}}`;
}
