// Content negotiation for the FHIR API: what we can send (JSON only) and what we accept in request bodies.
import { notAcceptable, unsupportedMediaType } from './outcome.js';

// charset given explicitly so Fastify leaves the header as written instead of re-serialising it.
export const FHIR_JSON = 'application/fhir+json; fhirVersion=4.0; charset=utf-8';

const JSON_FORMATS = new Set(['json', 'application/json', 'application/fhir+json', 'application/json+fhir', 'text/json']);
const ACCEPTABLE = new Set(['*/*', 'application/*', 'application/json', 'application/fhir+json', 'application/json+fhir', 'text/json']);

/** Throws 406 unless the client will take JSON, judged by `_format` first and then the Accept header. */
export function checkAcceptable(format: string | undefined, accept: string | undefined): void {
  if (format !== undefined) {
    const base = format.split(';')[0]!.trim().toLowerCase();
    if (!JSON_FORMATS.has(base)) throw notAcceptable(`_format=${format} is not supported; this server speaks JSON only (_format=json)`);
    return;
  }
  if (!accept) return;
  const ranges = accept.split(',').map((part) => {
    const [type, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    return { type: type ?? '', q: q ? Number(q.slice(2)) : 1 };
  });
  if (!ranges.some((r) => r.q > 0 && ACCEPTABLE.has(r.type))) {
    throw notAcceptable(`Accept "${accept}" names no format this server can send; it sends application/fhir+json`);
  }
}

/** Throws 415 when a JSON body declares a FHIR version other than R4. */
export function checkFhirVersionParam(contentType: string): void {
  const m = /fhirversion\s*=\s*"?([\d.]+)"?/i.exec(contentType);
  if (m && !m[1]!.startsWith('4.0')) throw unsupportedMediaType(`fhirVersion=${m[1]} is not supported; this server speaks FHIR R4 (4.0)`);
}
