// Resource → the index rows search reads, driven entirely by definitions.ts.
import type { IndexData } from '../store/resource-query.js';
import { DATE_MIN, DATE_MAX } from '../store/schema.js';
import { type ResourceDef, type SearchParamDef } from './definitions.js';
import { parseFhirDateRange } from './fhir-date.js';
import { parseReference } from './references.js';

type Json = unknown;
type JsonObject = Record<string, Json>;

/** Lower-case, accents removed, white space folded: what string search compares. */
export function normalizeString(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
}

/** A path's steps: split at dots outside parentheses, so `extension(http://a.b/c).valueDateTime` is two steps. */
function stepsOf(path: string): string[] {
  let cached = STEPS.get(path);
  if (!cached) {
    cached = [];
    let depth = 0;
    let cur = '';
    for (const c of path) {
      if (c === '(') depth++;
      else if (c === ')') depth--;
      if (c === '.' && depth === 0) {
        cached.push(cur);
        cur = '';
      } else cur += c;
    }
    cached.push(cur);
    STEPS.set(path, cached);
  }
  return cached;
}
const STEPS = new Map<string, string[]>();

/** All values at a path (see SearchParamDef.paths), walking into arrays at every step. */
export function valuesAt(resource: Json, path: string): Json[] {
  let current: Json[] = [resource];
  for (const step of stepsOf(path)) {
    const open = step.indexOf('(');
    const name = open < 0 ? step : step.slice(0, open);
    const url = open < 0 ? undefined : step.slice(open + 1, -1);
    const next: Json[] = [];
    for (const v of current) {
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        const child = (v as JsonObject)[name];
        const children = Array.isArray(child) ? child : child !== undefined && child !== null ? [child] : [];
        for (const c of children) if (url === undefined || (isObject(c) && c.url === url)) next.push(c);
      }
    }
    current = next;
  }
  return current;
}

function isObject(v: Json): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function tokensOf(value: Json, param: SearchParamDef): { system: string; code: string }[] {
  if (typeof value === 'string') return [{ system: param.implicitSystem ?? '', code: value }];
  if (typeof value === 'boolean') return [{ system: param.implicitSystem ?? '', code: String(value) }];
  if (!isObject(value)) return [];
  const out: { system: string; code: string }[] = [];
  const coding = (c: Json) => {
    if (isObject(c) && typeof c.code === 'string') out.push({ system: typeof c.system === 'string' ? c.system : '', code: c.code });
  };
  if (Array.isArray(value.coding)) value.coding.forEach(coding); // CodeableConcept
  else if (typeof value.code === 'string') coding(value); // Coding
  else if (typeof value.value === 'string') out.push({ system: typeof value.system === 'string' ? value.system : '', code: value.value }); // Identifier, ContactPoint
  return out;
}

function dateRangeOf(value: Json): { lo: number; hi: number } | undefined {
  if (typeof value === 'string') return parseFhirDateRange(value);
  if (isObject(value)) {
    // Period: an open end means "still going" (or "since forever").
    const start = typeof value.start === 'string' ? parseFhirDateRange(value.start) : undefined;
    const end = typeof value.end === 'string' ? parseFhirDateRange(value.end) : undefined;
    if (!start && !end) return undefined;
    return { lo: start?.lo ?? DATE_MIN, hi: end?.hi ?? DATE_MAX };
  }
  return undefined;
}

export function computeIndex(def: ResourceDef, resource: JsonObject, id: string, fhirBaseUrl: string): IndexData {
  const tokens: { param: string; system: string; code: string }[] = [];
  const strings: { param: string; value: string }[] = [];
  const dates: { param: string; lo: number; hi: number }[] = [];
  const references: { param: string; targetType: string; targetId: string }[] = [];
  let sortDate = DATE_MIN;

  for (const param of def.params) {
    if (param.compartment) continue;
    const values = param.paths.flatMap((p) => valuesAt(resource, p));
    const key = param.indexAs ?? param.name;
    switch (param.kind) {
      case 'token':
        for (const v of values) for (const t of tokensOf(v, param)) tokens.push({ param: key, ...t });
        break;
      case 'string':
        for (const v of values) if (typeof v === 'string' && v.trim()) strings.push({ param: key, value: normalizeString(v) });
        break;
      case 'date':
        for (const v of values) {
          const r = dateRangeOf(v);
          if (!r) continue;
          dates.push({ param: key, ...r });
          if (param.name === def.dateParam && (sortDate === DATE_MIN || r.lo < sortDate)) sortDate = r.lo;
        }
        break;
      case 'reference':
        for (const v of values) {
          if (typeof v === 'string') {
            references.push(...canonicalRows(key, v, fhirBaseUrl));
            continue;
          }
          if (!isObject(v) || typeof v.reference !== 'string') continue;
          const ref = parseReference(v.reference, fhirBaseUrl);
          if (ref?.kind === 'local') references.push({ param: key, targetType: ref.type, targetId: ref.id });
          else if (ref?.kind === 'external') references.push({ param: key, targetType: '', targetId: ref.url });
        }
        break;
    }
  }
  return { patientId: compartmentOf(def, resource, id, fhirBaseUrl), sortDate, tokens, strings, dates, references };
}

/**
 * A canonical (QuestionnaireResponse.questionnaire) is a bare URL, indexed like an external reference; also without
 * its `|version`, which a search by the URL alone matches, and as a local reference when it names a resource on this
 * server, since a search parses that URL as one.
 */
function canonicalRows(param: string, canonical: string, fhirBaseUrl: string): { param: string; targetType: string; targetId: string }[] {
  const url = canonical.split('|')[0]!;
  const rows = [{ param, targetType: '', targetId: canonical }];
  if (url !== canonical) rows.push({ param, targetType: '', targetId: url });
  const ref = parseReference(url, fhirBaseUrl);
  if (ref?.kind === 'local') rows.push({ param, targetType: ref.type, targetId: ref.id });
  return rows;
}

/** The id of the patient whose compartment the resource is in, or null. */
export function compartmentOf(def: ResourceDef, resource: JsonObject, id: string, fhirBaseUrl: string): string | null {
  if (def.type === 'Patient') return id;
  for (const path of def.patientPaths) {
    for (const v of valuesAt(resource, path)) {
      if (!isObject(v) || typeof v.reference !== 'string') continue;
      const ref = parseReference(v.reference, fhirBaseUrl);
      if (ref?.kind === 'local' && ref.type === 'Patient') return ref.id;
    }
  }
  return null;
}
