// Reference rewriting for imported Bundles: fullUrls (urn:uuid:…, absolute URLs) become Type/id, and conditional
// references to resources that are not in the file become logical references (identifier), so the data stays valid.

type Json = unknown;
type JsonObject = Record<string, Json>;

export interface RewriteStats {
  conditional: number;
}

/** Rewrites every `reference` in the resource in place (nested elements and contained resources included). */
export function rewriteReferences(value: Json, map: ReadonlyMap<string, string>, stats: RewriteStats): void {
  if (Array.isArray(value)) {
    for (const v of value) rewriteReferences(v, map, stats);
    return;
  }
  if (!value || typeof value !== 'object') return;
  const obj = value as JsonObject;
  if (typeof obj.reference === 'string') {
    const target = map.get(obj.reference);
    if (target) obj.reference = target;
    else if (/^[A-Z][A-Za-z]+\?/.test(obj.reference)) toLogical(obj, stats);
  }
  for (const [k, v] of Object.entries(obj)) if (k !== 'reference' && v && typeof v === 'object') rewriteReferences(v, map, stats);
}

// `Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999` → { type, identifier: { system, value } }
function toLogical(ref: JsonObject, stats: RewriteStats): void {
  const text = ref.reference as string;
  const q = text.indexOf('?');
  const type = text.slice(0, q);
  const params = new URLSearchParams(text.slice(q + 1));
  const ident = params.get('identifier');
  delete ref.reference;
  stats.conditional++;
  if (ident) {
    const bar = ident.indexOf('|');
    const system = bar >= 0 ? ident.slice(0, bar) : '';
    const value = bar >= 0 ? ident.slice(bar + 1) : ident;
    ref.identifier = { ...(system ? { system } : {}), value };
  }
  ref.type = type;
  if (!ref.identifier && !ref.display) ref.display = `${type} (${text.slice(q + 1)})`;
}
