// Kick-off parameters of $export as the Bulk Data IG 2.0 names them, from a query string (GET) or a Parameters body
// (POST). Repeats are kept: a repeated _type or _typeFilter adds to the list.
import { badRequest } from '../fhir/outcome.js';

export interface ExportParams {
  readonly outputFormat?: string;
  readonly since?: string;
  readonly types: readonly string[];
  readonly typeFilters: readonly string[];
  readonly elements: readonly string[];
  /** Patient references (patient parameter) */
  readonly patients: readonly string[];
  readonly includeAssociatedData: readonly string[];
  /** Parameters this server does not know, by name */
  readonly unknown: readonly string[];
}

const splitList = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);
// A _typeFilter query may itself hold commas (OR-ed values); split only where the next query begins ("Type?").
const splitQueries = (v: string) => v.split(/,(?=[A-Z][A-Za-z]+\?)/).map((s) => s.trim()).filter(Boolean);

class Collector {
  outputFormat: string | undefined;
  since: string | undefined;
  readonly types: string[] = [];
  readonly typeFilters: string[] = [];
  readonly elements: string[] = [];
  readonly patients: string[] = [];
  readonly includeAssociatedData: string[] = [];
  readonly unknown: string[] = [];

  add(name: string, value: string): void {
    switch (name) {
      case '_outputFormat':
        this.outputFormat = once(name, this.outputFormat, value);
        break;
      case '_since':
        this.since = once(name, this.since, value);
        break;
      case '_type':
        this.types.push(...splitList(value));
        break;
      case '_typeFilter':
        this.typeFilters.push(...splitQueries(value));
        break;
      case '_elements':
        this.elements.push(...splitList(value));
        break;
      case 'patient':
        this.patients.push(...splitList(value));
        break;
      case 'includeAssociatedData':
        this.includeAssociatedData.push(...splitList(value));
        break;
      default:
        this.unknown.push(name);
    }
  }

  params(): ExportParams {
    return {
      ...(this.outputFormat !== undefined ? { outputFormat: this.outputFormat } : {}),
      ...(this.since !== undefined ? { since: this.since } : {}),
      types: [...new Set(this.types)],
      typeFilters: this.typeFilters,
      elements: [...new Set(this.elements)],
      patients: [...new Set(this.patients)],
      includeAssociatedData: this.includeAssociatedData,
      unknown: [...new Set(this.unknown)],
    };
  }
}

function once(name: string, current: string | undefined, value: string): string {
  if (current !== undefined && current !== value) throw badRequest(`${name} was given twice with different values; give it once`, [name]);
  return value;
}

/** Parameters of a GET kick-off (the query string), `_format` and `_pretty` aside. */
export function paramsFromQuery(pairs: readonly (readonly [string, string])[]): ExportParams {
  const c = new Collector();
  for (const [k, v] of pairs) if (k !== '_format' && k !== '_pretty') c.add(k, v);
  return c.params();
}

/** Parameters of a POST kick-off: a FHIR Parameters resource (valueString, valueInstant, valueReference, ...). */
export function paramsFromBody(body: unknown, queryPairs: readonly (readonly [string, string])[]): ExportParams {
  const c = new Collector();
  for (const [k, v] of queryPairs) if (k !== '_format' && k !== '_pretty') c.add(k, v);
  if (body === undefined || body === null) return c.params();
  const params = body as { resourceType?: unknown; parameter?: unknown };
  if (params.resourceType !== 'Parameters') throw badRequest('A POST $export takes a Parameters resource as its body (or no body)');
  if (params.parameter !== undefined && !Array.isArray(params.parameter)) throw badRequest('Parameters.parameter must be a list');
  for (const p of (params.parameter ?? []) as Record<string, unknown>[]) {
    if (!p || typeof p !== 'object' || typeof p.name !== 'string') throw badRequest('Each parameter of $export needs a name');
    const valueKey = Object.keys(p).find((k) => k.startsWith('value'));
    const value = valueKey ? p[valueKey] : undefined;
    if (valueKey === 'valueReference') {
      const ref = (value as { reference?: unknown } | undefined)?.reference;
      if (typeof ref !== 'string') throw badRequest(`Parameter ${p.name}: valueReference needs a reference such as Patient/123`, [p.name]);
      c.add(p.name, ref);
    } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      c.add(p.name, String(value));
    } else {
      throw badRequest(`Parameter ${p.name} needs a value (valueString, valueInstant, valueReference, ...)`, [p.name]);
    }
  }
  return c.params();
}
