// Reference rewriting for imported data. Bundle-internal references (urn:uuid:…, absolute fullUrls, conditional
// references that match an entry) become Type/id; conditional references to resources outside the file (Synthea
// ships its Practitioners and Organizations in separate bundles) have nothing to resolve to, so they become logical
// references (identifier) instead of dangling searches, and the data stays valid.

type JsonObject = Record<string, unknown>;

// Stands for "any system" in identifier keys; not a URI, so it cannot collide with a real identifier system.
const ANY_SYSTEM = '\u0001any';

/** Where the references of one Bundle point: its fullUrls, and its entries' identifiers for conditional references. */
export class ReferenceTargets {
  readonly #byUrl = new Map<string, string>();
  // null marks an identifier two entries share: a conditional reference to it is ambiguous and stays unresolved.
  readonly #byIdentifier = new Map<string, string | null>();

  add(fullUrl: string | undefined, resource: JsonObject, type: string, id: string): void {
    const target = `${type}/${id}`;
    if (fullUrl) this.#byUrl.set(fullUrl, target);
    const identifiers = Array.isArray(resource.identifier) ? resource.identifier : resource.identifier ? [resource.identifier] : [];
    for (const ident of identifiers as { system?: unknown; value?: unknown }[]) {
      if (typeof ident?.value !== 'string') continue;
      this.#index(identifierKey(type, typeof ident.system === 'string' ? ident.system : '', ident.value), target);
      this.#index(identifierKey(type, ANY_SYSTEM, ident.value), target);
    }
  }

  #index(key: string, target: string): void {
    this.#byIdentifier.set(key, this.#byIdentifier.has(key) && this.#byIdentifier.get(key) !== target ? null : target);
  }

  resolve(reference: string): string | undefined {
    const direct = this.#byUrl.get(reference);
    if (direct) return direct;
    const cond = parseConditional(reference);
    if (!cond?.identifier) return undefined;
    const { system, value } = cond.identifier;
    return this.#byIdentifier.get(identifierKey(cond.type, cond.anySystem ? ANY_SYSTEM : system ?? '', value)) ?? undefined;
  }
}

const NO_TARGETS = new ReferenceTargets();

/**
 * Rewrites every `reference` in place, at any depth (contained resources included). Returns how many conditional
 * references were turned into logical ones.
 */
export function rewriteReferences(value: unknown, targets: ReferenceTargets = NO_TARGETS): number {
  if (Array.isArray(value)) {
    let n = 0;
    for (const v of value) n += rewriteReferences(v, targets);
    return n;
  }
  if (!value || typeof value !== 'object') return 0;
  const obj = value as JsonObject;
  let n = 0;
  if (typeof obj.reference === 'string') {
    const target = targets.resolve(obj.reference);
    if (target) obj.reference = target;
    else if (toLogical(obj)) n++;
  }
  for (const k in obj) {
    const v = obj[k];
    if (k !== 'reference' && v && typeof v === 'object') n += rewriteReferences(v, targets);
  }
  return n;
}

interface Conditional {
  readonly type: string;
  readonly query: string;
  readonly identifier?: { readonly system?: string; readonly value: string };
  /** `identifier=value` matches the value in any system; `identifier=|value` only without a system */
  readonly anySystem?: boolean;
}

function parseConditional(reference: string): Conditional | undefined {
  const m = /^([A-Z][A-Za-z]+)\?(.*)$/s.exec(reference);
  if (!m) return undefined;
  const [, type, query] = m as unknown as [string, string, string];
  const ident = new URLSearchParams(query).get('identifier');
  if (ident === null) return { type, query };
  const bar = ident.indexOf('|');
  if (bar < 0) return { type, query, identifier: { value: ident }, anySystem: true };
  return { type, query, identifier: { ...(bar > 0 ? { system: ident.slice(0, bar) } : {}), value: ident.slice(bar + 1) } };
}

// `Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999` → { identifier: { system, value }, type, display? }
function toLogical(ref: JsonObject): boolean {
  const cond = parseConditional(ref.reference as string);
  if (!cond) return false;
  delete ref.reference;
  if (cond.identifier && ref.identifier === undefined) ref.identifier = cond.identifier;
  ref.type = cond.type;
  // Without an identifier nothing machine-readable is left; keep the search as text so a reader can see the intent.
  if (!cond.identifier && typeof ref.display !== 'string') ref.display = `${cond.type}?${cond.query}`;
  return true;
}

function identifierKey(type: string, system: string, value: string): string {
  return `${type}\u0000${system}\u0000${value}`;
}
