// Search parameters (query string or form body, repeats kept) → a typed SearchRequest the store can run.
// Every malformed value is a 400 naming its parameter; unknown parameters become warnings (or 400 when strict).
import type { Clause, Cursor, DateCondition, DatePrefix, ReferenceCondition, SortKey, TokenCondition } from '../store/resource-query.js';
import { COMMON_PARAMS, RESULT_PARAMS, resourceDef, searchParam, type ResourceDef, type SearchParamDef } from './definitions.js';
import { parseFhirDateRange } from './fhir-date.js';
import { normalizeString } from './index-rows.js';
import { badSearchParam, type Issue } from './outcome.js';
import { ID_PATTERN, parseReference } from './references.js';
import { LIMITS } from '../limits.js';

export type QueryPairs = readonly (readonly [string, string])[];

export interface IncludeSpec {
  readonly value: string;
  /** The reference parameter whose targets are included */
  readonly param: SearchParamDef;
  /** `Type:param:Target`: only targets of this type */
  readonly targetType?: string;
}

/** `param.chained=value` (or `param:Type.chained=value`): the search's `param` points at a `targetType` matching `pairs`. */
export interface ChainSpec {
  readonly param: string;
  readonly targetType: string;
  readonly pairs: QueryPairs;
}

/** `_revinclude=Source:param`: resources of `sourceType` whose `param` points at a matched resource. */
export interface RevIncludeSpec {
  readonly value: string;
  readonly sourceType: string;
  readonly param: string;
}

export interface SearchRequest {
  readonly clauses: readonly Clause[];
  readonly sort: SortKey;
  readonly count: number;
  readonly cursor?: Cursor;
  /**
   * 'first-page' (the default): exact on the first page, none on later ones; 'accurate': exact on every page;
   * 'estimate': an upper bound on every page (store's 'upper-bound'); 'none': never. See TotalMode.
   */
  readonly total: TotalMode;
  readonly summaryCount: boolean;
  readonly includes: readonly IncludeSpec[];
  readonly revincludes: readonly RevIncludeSpec[];
  /** Chained parameters, resolved to reference clauses by the caller (they need a query of their own) */
  readonly chains: readonly ChainSpec[];
  readonly warnings: readonly Issue[];
  /** The parameters understood, in order, to rebuild self/next/previous links */
  readonly canonical: QueryPairs;
}

/** `_total` as asked for, or 'first-page' when it was not. */
export type TotalMode = 'none' | 'estimate' | 'accurate' | 'first-page';

/**
 * What the store is asked to count for a parsed search. `_summary=count` is always exact; without `_total` the first
 * page is counted (apps show "N results" once) and later pages are not, since counting every match costs more than
 * the page itself and the links carry no count.
 */
export function storeTotal(request: Pick<SearchRequest, 'summaryCount' | 'total' | 'cursor'>): boolean | 'upper-bound' {
  if (request.summaryCount) return true;
  switch (request.total) {
    case 'none':
      return false;
    case 'estimate':
      return 'upper-bound';
    case 'accurate':
      return true;
    case 'first-page':
      return request.cursor === undefined;
  }
}

export const DEFAULT_COUNT = 50;
export const MAX_COUNT = LIMITS.maxCount;
const PREFIXES: readonly DatePrefix[] = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'];

export interface ParseOptions {
  readonly fhirBaseUrl: string;
  readonly strict: boolean;
  readonly now?: number;
}

export function parseSearch(def: ResourceDef, pairs: QueryPairs, opts: ParseOptions): SearchRequest {
  const clauses: Clause[] = [];
  const warnings: Issue[] = [];
  const canonical: [string, string][] = [];
  let sort: SortKey = 'rid';
  let count = DEFAULT_COUNT;
  let cursor: Cursor | undefined;
  // Counting costs as much as the page itself; by default count once, on the first page.
  let total: TotalMode = 'first-page';
  let summaryCount = false;
  const includes: IncludeSpec[] = [];
  const revincludes: RevIncludeSpec[] = [];
  const chains: ChainSpec[] = [];

  const unsupported = (name: string, why: string) => {
    if (opts.strict) throw badSearchParam(name, `${why} (rejected because of Prefer: handling=strict)`);
    warnings.push({ severity: 'warning', code: 'not-supported', diagnostics: `${why}; the parameter was ignored`, expression: [name] });
  };

  for (const [rawName, value] of pairs) {
    const [name, modifier, ...extra] = rawName.split(':') as [string, string | undefined, ...string[]];
    if (extra.length) {
      unsupported(rawName, `Parameter "${rawName}" is not supported`);
      continue;
    }
    if ((RESULT_PARAMS as readonly string[]).includes(name)) {
      switch (name) {
        case '_count': {
          if (!/^\d+$/.test(value)) throw badSearchParam('_count', `_count must be a whole number, not "${value}"`);
          count = Math.min(Number(value), MAX_COUNT);
          canonical.push(['_count', String(count)]);
          break;
        }
        case '_sort':
          sort = parseSort(def, value);
          canonical.push(['_sort', value]);
          break;
        case '_total':
          // Not a value FHIR defines: malformed, so 400 as for _count, whatever the Prefer handling.
          if (value === 'none' || value === 'estimate' || value === 'accurate') total = value;
          else throw badSearchParam('_total', `_total must be none, estimate or accurate, not "${value}"`);
          canonical.push(['_total', value]);
          break;
        case '_summary':
          if (value === 'count') {
            summaryCount = true;
            canonical.push(['_summary', 'count']);
          } else if (value !== 'false') unsupported('_summary', `_summary=${value} is not supported (only count and false are)`);
          break;
        case '_include': {
          const inc = parseInclude(def, value);
          if (inc) {
            includes.push(inc);
            canonical.push(['_include', value]);
          } else unsupported('_include', `_include=${value} is not supported; supported: ${def.includes.join(', ') || 'none'}`);
          break;
        }
        case '_revinclude': {
          const [sourceType, param, extra] = value.split(':');
          if (def.revincludes.includes(value) && sourceType && param && extra === undefined) {
            revincludes.push({ value, sourceType, param });
            canonical.push(['_revinclude', value]);
          } else unsupported('_revinclude', `_revinclude=${value} is not supported; supported: ${def.revincludes.join(', ') || 'none'}`);
          break;
        }
        case '_cursor':
          cursor = decodeCursor(value);
          break;
        default: // _format and _pretty are handled by content negotiation
          break;
      }
      continue;
    }

    if (name === '_id') {
      if (modifier) throw badSearchParam(rawName, `Modifier :${modifier} is not supported on _id`);
      const ids = orValues('_id', value);
      for (const id of ids) if (!ID_PATTERN.test(id)) throw badSearchParam('_id', `"${id}" is not a valid resource id`);
      clauses.push({ kind: 'id', ids });
      canonical.push([rawName, value]);
      continue;
    }
    if (name === '_lastUpdated') {
      if (modifier) throw badSearchParam(rawName, `Modifier :${modifier} is not supported on _lastUpdated`);
      clauses.push({ kind: 'lastUpdated', values: orValues(rawName, value).map((v) => parseDateValue('_lastUpdated', v, opts.now)) });
      canonical.push([rawName, value]);
      continue;
    }

    const chainAt = (modifier ?? name).indexOf('.');
    if (chainAt >= 0) {
      const chain = parseChain(def, name, modifier, rawName, value, opts, unsupported);
      if (chain) {
        chains.push(chain);
        canonical.push([rawName, value]);
      }
      continue;
    }
    const param = searchParam(def, name);
    if (!param) {
      const known = [...COMMON_PARAMS.map((p) => p.name), ...def.params.map((p) => p.name)].join(', ');
      unsupported(rawName, `Unknown search parameter "${name}" for ${def.type}. Supported: ${known}`);
      continue;
    }
    const clause = parseParam(param, modifier, value, opts, unsupported, rawName);
    if (clause) {
      clauses.push(clause);
      canonical.push([rawName, value]);
    }
  }
  // Each include is a query of its own per page.
  if (includes.length + revincludes.length > LIMITS.includes) {
    throw badSearchParam('_include', `The search asks for ${includes.length + revincludes.length} _include and _revinclude values; at most ${LIMITS.includes} are accepted`);
  }
  return { clauses, sort, count, ...(cursor ? { cursor } : {}), total, summaryCount, includes, revincludes, chains, warnings, canonical };
}

function parseParam(
  param: SearchParamDef,
  modifier: string | undefined,
  value: string,
  opts: ParseOptions,
  unsupported: (name: string, why: string) => void,
  rawName: string,
): Clause | undefined {
  if (modifier === 'missing') {
    if (value !== 'true' && value !== 'false') throw badSearchParam(rawName, `:missing takes true or false, not "${value}"`);
    if (param.compartment) return { kind: 'noCompartment', missing: value === 'true' };
    return { kind: 'missing', param: param.indexAs ?? param.name, index: param.kind, missing: value === 'true' };
  }
  if (value === '') throw badSearchParam(rawName, `Search parameter "${rawName}" has an empty value`);
  const values = orValues(rawName, value);
  const key = param.indexAs ?? param.name;
  switch (param.kind) {
    case 'token': {
      if (modifier && modifier !== 'not') {
        unsupported(rawName, `Modifier :${modifier} is not supported on token parameter "${param.name}"`);
        return undefined;
      }
      return { kind: 'token', param: key, values: values.map((v) => parseToken(rawName, v)), ...(modifier === 'not' ? { not: true } : {}) };
    }
    case 'string': {
      if (modifier && modifier !== 'contains') {
        unsupported(rawName, `Modifier :${modifier} is not supported on string parameter "${param.name}"`);
        return undefined;
      }
      const normalized = values.map(normalizeString).filter((v) => v !== '');
      if (!normalized.length) throw badSearchParam(rawName, `Search parameter "${rawName}" has no searchable text`);
      return { kind: 'string', param: key, values: normalized, match: modifier === 'contains' ? 'contains' : 'prefix' };
    }
    case 'date':
      if (modifier) {
        unsupported(rawName, `Modifier :${modifier} is not supported on date parameter "${param.name}"`);
        return undefined;
      }
      return { kind: 'date', param: key, values: values.map((v) => parseDateValue(rawName, v, opts.now)) };
    case 'reference': {
      let typeModifier: string | undefined;
      if (modifier) {
        if (param.targets?.includes(modifier)) typeModifier = modifier;
        else {
          unsupported(rawName, `Modifier :${modifier} is not supported on reference parameter "${param.name}"`);
          return undefined;
        }
      }
      const refs = values.map((v) => parseReferenceValue(rawName, v, param, typeModifier, opts.fhirBaseUrl));
      if (param.compartment) return { kind: 'compartment', patientIds: refs.map((r) => r.id) };
      return { kind: 'reference', param: key, values: refs };
    }
  }
}

/** splitOr, refusing more values than a search may OR together (each is a condition in the query). */
function orValues(name: string, value: string): string[] {
  const values = splitOr(value);
  if (values.length > LIMITS.orValues) throw badSearchParam(name, `"${name}" has ${values.length} comma-separated values; at most ${LIMITS.orValues} are accepted`);
  return values;
}

/** Comma separates OR values; a backslash escapes a comma, pipe, dollar or backslash (FHIR R4 §3.1.1.5.7). */
export function splitOr(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && i + 1 < value.length) {
      cur += c + value[++i];
    } else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function unescape(v: string): string {
  return v.replace(/\\([\\,|$])/g, '$1');
}

function parseToken(name: string, raw: string): TokenCondition {
  const bar = findUnescaped(raw, '|');
  if (bar < 0) {
    const code = unescape(raw);
    if (!code) throw badSearchParam(name, `Search parameter "${name}" has an empty token`);
    return { code };
  }
  const system = unescape(raw.slice(0, bar));
  const code = unescape(raw.slice(bar + 1));
  if (!system && !code) throw badSearchParam(name, `"${raw}" is not a token: give code, system|code, |code or system|`);
  if (system && !/^\S+$/.test(system)) throw badSearchParam(name, `"${system}" is not a valid code system URI`);
  return code ? { system, code } : { system };
}

function findUnescaped(s: string, ch: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === ch) return i;
  }
  return -1;
}

export function parseDateValue(name: string, raw: string, now = Date.now()): DateCondition {
  const maybePrefix = raw.slice(0, 2);
  const prefix: DatePrefix = (PREFIXES as readonly string[]).includes(maybePrefix) ? (maybePrefix as DatePrefix) : 'eq';
  // A '+' in a time zone arrives as a space when the client forgot to percent-encode it.
  const text = (prefix === maybePrefix && /^[a-z]{2}/.test(raw) ? raw.slice(2) : raw).replace(' ', '+');
  const range = parseFhirDateRange(text);
  if (!range) {
    throw badSearchParam(
      name,
      `"${raw}" is not a valid date for "${name}": use an optional prefix (${PREFIXES.join(', ')}) and YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss][Z|±hh:mm]`,
    );
  }
  if (prefix === 'ap') {
    // "Approximately": widen by 10% of the distance from now (FHIR leaves the amount to the server).
    const gap = Math.abs(now - range.lo) * 0.1;
    return { prefix, lo: Math.round(range.lo - gap), hi: Math.round(range.hi + gap) };
  }
  return { prefix, ...range };
}

function parseReferenceValue(
  name: string,
  raw: string,
  param: SearchParamDef,
  typeModifier: string | undefined,
  fhirBaseUrl: string,
): ReferenceCondition {
  const v = unescape(raw);
  if (ID_PATTERN.test(v)) {
    const type = typeModifier ?? (param.targets?.length === 1 ? param.targets[0] : undefined);
    return type ? { type, id: v } : { id: v };
  }
  const ref = parseReference(v, fhirBaseUrl);
  if (ref?.kind === 'local') {
    if (param.targets && !param.targets.includes(ref.type)) {
      throw badSearchParam(name, `"${raw}" refers to a ${ref.type}, but "${param.name}" refers to ${param.targets.join(' or ')}`);
    }
    if (typeModifier && typeModifier !== ref.type) throw badSearchParam(name, `"${raw}" is not a ${typeModifier}`);
    return { type: ref.type, id: ref.id };
  }
  if (ref?.kind === 'external' && !param.compartment) return { type: '', id: ref.url };
  throw badSearchParam(name, `"${raw}" is not a reference: use an id, Type/id or an absolute URL on this server (${fhirBaseUrl})`);
}

function parseSort(def: ResourceDef, value: string): SortKey {
  const desc = value.startsWith('-');
  const key = desc ? value.slice(1) : value;
  if (key === '_lastUpdated') return desc ? '-_lastUpdated' : '_lastUpdated';
  if (def.dateParam && (key === 'date' || key === def.dateParam)) return desc ? '-date' : 'date';
  if (key === '_id' && !desc) return 'rid';
  const dates = def.dateParam ? `date, -date, ${def.dateParam !== 'date' ? `${def.dateParam}, -${def.dateParam}, ` : ''}` : '';
  throw badSearchParam('_sort', `_sort=${value} is not supported on ${def.type}; use ${dates}_lastUpdated or -_lastUpdated`);
}

// One level of chaining, on the reference parameters whose definition lists the chained names (US Core's
// PractitionerRole?practitioner.name). The chained value is parsed here, so a bad one is a 400 like any other.
function parseChain(
  def: ResourceDef,
  name: string,
  modifier: string | undefined,
  rawName: string,
  value: string,
  opts: ParseOptions,
  unsupported: (name: string, why: string) => void,
): ChainSpec | undefined {
  const [base, typeModifier, chained] = modifier === undefined ? [name.slice(0, name.indexOf('.')), undefined, name.slice(name.indexOf('.') + 1)] : [name, modifier.slice(0, modifier.indexOf('.')), modifier.slice(modifier.indexOf('.') + 1)];
  const param = searchParam(def, base);
  if (param?.kind !== 'reference' || !param.chains?.includes(chained)) {
    unsupported(rawName, `Chained parameter "${rawName}" is not supported on ${def.type}${param?.chains?.length ? `; supported: ${param.chains.map((c) => `${base}.${c}`).join(', ')}` : ''}`);
    return undefined;
  }
  const targetType = typeModifier ?? (param.targets?.length === 1 ? param.targets[0] : undefined);
  const targetDef = targetType ? resourceDef(targetType) : undefined;
  if (!targetDef || (param.targets && !param.targets.includes(targetDef.type))) throw badSearchParam(rawName, `"${rawName}" needs the target type, e.g. ${base}:${param.targets?.[0] ?? 'Practitioner'}.${chained}`);
  const pairs: QueryPairs = [[chained, value]];
  // Validates the value (400 naming the parameter); the clauses are built again when the chain runs.
  parseSearch(targetDef, pairs, { ...opts, strict: true });
  return { param: param.indexAs ?? param.name, targetType: targetDef.type, pairs };
}

// `Type:param` or `Type:param:Target`, where the type is the one searched and param one of its reference parameters.
function parseInclude(def: ResourceDef, value: string): IncludeSpec | undefined {
  const [type, name, target, extra] = value.split(':');
  if (type !== def.type || !name || extra !== undefined) return undefined;
  if (!def.includes.includes(value) && !def.includes.includes(`${type}:${name}`)) return undefined;
  const param = searchParam(def, name);
  if (param?.kind !== 'reference') return undefined;
  if (target !== undefined && param.targets && !param.targets.includes(target)) return undefined;
  return target === undefined ? { value, param } : { value, param, targetType: target };
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.direction === 'after' ? 'a' : 'b'}.${c.key}.${c.rid}`).toString('base64url');
}

function decodeCursor(value: string): Cursor {
  const m = /^([ab])\.(-?\d+)\.(\d+)$/.exec(Buffer.from(value, 'base64url').toString());
  const key = Number(m?.[2]);
  const rid = Number(m?.[3]);
  // Beyond 2^53 the numbers are not the ones written (and PostgreSQL's bigint refuses them): not a cursor of ours.
  if (!m || !Number.isSafeInteger(key) || !Number.isSafeInteger(rid)) throw badSearchParam('_cursor', 'The paging cursor is not valid; follow the next/previous links of a search Bundle');
  return { direction: m[1] === 'a' ? 'after' : 'before', key, rid };
}
