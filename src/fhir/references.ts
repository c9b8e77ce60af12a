// Reference text → what it points at. Shared by indexing, search parsing and validation so all three agree.

export type ParsedReference =
  | { readonly kind: 'local'; readonly type: string; readonly id: string }
  | { readonly kind: 'external'; readonly url: string }
  | { readonly kind: 'contained'; readonly id: string }
  | { readonly kind: 'urn'; readonly urn: string };

const TYPE = '[A-Z][A-Za-z]+';
const ID = '[A-Za-z0-9\\-.]{1,64}';
const RELATIVE = new RegExp(`^(${TYPE})/(${ID})(?:/_history/(${ID}))?$`);

export function parseReference(ref: string, fhirBaseUrl: string): ParsedReference | undefined {
  if (ref.startsWith('#')) return /^#[A-Za-z0-9\-.]{1,64}$/.test(ref) ? { kind: 'contained', id: ref.slice(1) } : undefined;
  if (/^urn:(uuid|oid):\S+$/.test(ref)) return { kind: 'urn', urn: ref };
  const rel = RELATIVE.exec(ref);
  if (rel) return { kind: 'local', type: rel[1]!, id: rel[2]! };
  if (/^https?:\/\/\S+$/.test(ref)) {
    const base = `${fhirBaseUrl}/`;
    if (ref.startsWith(base)) {
      const local = RELATIVE.exec(ref.slice(base.length));
      if (local) return { kind: 'local', type: local[1]!, id: local[2]! };
    }
    return { kind: 'external', url: ref };
  }
  return undefined;
}

export const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;
