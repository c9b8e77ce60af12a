// Malformed requests for the fuzz test, generated deterministically from a seed: random and boundary query strings,
// duplicated and unknown parameters, wrong shapes of every FHIR type, huge and deeply nested JSON, wrong content
// types, wrong methods, odd headers, and raw byte sequences (invalid UTF-8, overlong URLs and headers, broken framing,
// slow bodies) that only a socket can send. Routes come from the server's own route table, so new ones are covered.
import { COMMON_PARAMS, RESULT_PARAMS, RESOURCE_DEFS, resourceDef, type ResourceDef } from '../../src/fhir/definitions.js';
import { LIMITS } from '../../src/limits.js';

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

export interface Route {
  readonly path: string;
  readonly methods: readonly string[];
}

/**
 * Fastify's printRoutes({ commonPrefix: false }) tree → one entry per route. Each line is a node whose text continues
 * its parent's path; the indentation (4 characters a level) says which node is the parent.
 */
export function parseRouteTree(text: string): Route[] {
  const routes: Route[] = [];
  const stack: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^((?:│ {3}| {4})*)(?:├── |└── )(.+?)(?: \(([^)]*)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    const path = (depth ? stack[depth - 1]! : '') + m[2]!;
    stack[depth] = path;
    stack.length = depth + 1;
    if (m[3]) routes.push({ path, methods: m[3].split(',').map((s) => s.trim()) });
  }
  return routes;
}

export type Area = 'fhir' | 'auth' | 'page' | 'other';

/** Which part of the server answers a path, and so what an error from it must look like. */
export function areaOf(path: string): Area {
  const p = path.split('?')[0]!;
  if (p === '/fhir' || p.startsWith('/fhir/')) return 'fhir';
  if (p === '/auth' || p.startsWith('/auth/') || p.startsWith('/.well-known/oauth-authorization-server')) return 'auth';
  if (/^\/(portal|interaction|sandbox|dev)(\/|$)/.test(p)) return 'page';
  return 'other';
}

export interface FuzzRequest {
  /** The generator that made it (counted per kind in the report) */
  readonly kind: string;
  readonly method: string;
  /** Path and query, encoded as sent */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: Buffer;
  /** Malformed beyond doubt: only a 4xx is a right answer */
  readonly must4xx: boolean;
}

export interface RawCase {
  readonly kind: string;
  readonly path: string;
  readonly head: Buffer;
  readonly trickle?: { readonly chunks: readonly Buffer[]; readonly delayMs: number };
  readonly must4xx: boolean;
  /** The server may also just close the connection (framing it cannot answer within HTTP) */
  readonly mayClose: boolean;
  /** The bytes name no path the server could read, so no area is known */
  readonly pathless?: boolean;
}

export interface FuzzContext {
  readonly routes: readonly Route[];
  /** Ids that exist, per type (so reads, updates and $everything reach the handlers' depths) */
  readonly ids: Readonly<Record<string, readonly string[]>>;
  readonly token: string;
  /** Basic credentials of a registered client, for the token endpoint */
  readonly clientBasic: string;
  readonly clientIds: readonly string[];
}

// ---------------------------------------------------------------------------------------------------------------
// Values

const BOUNDARY = [
  '', ' ', '0', '-1', '1', '01', '1.5', '1e309', '-0', 'NaN', 'Infinity', 'null', 'undefined', 'true', 'false',
  '2147483648', '9007199254740993', '99999999999999999999999999', '-99999999999999999999', '0x10',
  '%', '%%', '%ZZ', '%00', '%C3%28', '%FF%FE', '%E2%82', '%ED%A0%80', '\u0000', '\u202e', '\ud800', '\uffff', 'é', '𝔘𝔫𝔦', '中文',
  ',', ',,', '|', '||', '|||', '\\', '\\,', '\\|', '$', '&', '=', '==', '?', '#', ':', '::', '.', '..', '../..', '/', '//',
  '*', '**', '[]', '{}', '<script>alert(1)</script>', "' or 1=1 --", '"; drop table resources; --', '${x}', '{{x}}',
  'eq', 'ne2024', 'ap', 'sa2024-01-01', 'gt', 'lt-1', 'le2024-13-45', 'ge9999-99-99', 'eb0000', '2024', '2024-02-30',
  '2024-01-01T25:61:61Z', '2024-01-01T00:00:00+99:99', '10000-01-01', '-2024', '2024-01-01T00:00:00.123456789Z',
  'Patient/', '/Patient', 'Patient/a/b', 'Patient//x', 'http://', 'http://localhost:8080/fhir/Patient/', 'urn:uuid:', 'Observation/1/_history/x',
  'http://loinc.org|', '|718-7', 'http://loinc.org|718-7|x', 'a'.repeat(64), 'a'.repeat(65),
];

export function junk(rng: Rng): string {
  switch (rng.int(6)) {
    case 0:
    case 1:
    case 2:
      return rng.pick(BOUNDARY);
    case 3: {
      // random code points, surrogates and controls included
      let s = '';
      for (let i = rng.int(20); i > 0; i--) s += String.fromCharCode(rng.int(0x10000));
      return s;
    }
    case 4:
      return rng.pick(['x', ',', '|', 'a,', '%41', '\\']).repeat(rng.pick([100, 1000, 3000]));
    default:
      return Array.from({ length: rng.between(1, 200) }, () => rng.pick(['a', '1', ',', '|', ':', '.'])).join('');
  }
}

const enc = (s: string) => {
  try {
    return encodeURIComponent(s);
  } catch {
    return encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '?')) + '%ED%A0%80';
  }
};

/** Sometimes percent-encoded, sometimes raw where the client can send it raw (no spaces or controls). */
function encodeValue(rng: Rng, v: string): string {
  if (rng.chance(0.15) && /^[\x21-\x7e]*$/.test(v) && !v.includes('#')) return v;
  return enc(v);
}

const MODIFIERS = ['missing', 'not', 'contains', 'exact', 'iterate', 'Patient', 'Practitioner', 'text', 'above', 'below', 'in', 'identifier', 'of-type', '', 'x:y'];
const UNKNOWN_NAMES = ['foo', '_foo', '_elements', '_contained', '_has:Observation:patient:code', '_list', '_text', '_content', '_query', '_filter', '_offset', '_page', 'page', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', ' ', '.', ':', '_'];

function searchValue(rng: Rng, def: ResourceDef | undefined, name: string): string {
  const p = def?.params.find((x) => x.name === name);
  if (rng.chance(0.4) || !p) return junk(rng);
  switch (p.kind) {
    case 'token':
      return rng.pick([`${junk(rng)}|${junk(rng)}`, 'http://loinc.org|718-7', `|${junk(rng)}`, `${junk(rng)}|`, 'final', 'laboratory']);
    case 'date':
      return rng.pick(['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap', '', 'xx']) + rng.pick(['2024', '2024-03', '2024-03-05', '2024-03-05T10:00:00Z', junk(rng)]);
    case 'reference':
      return rng.pick([`Patient/${junk(rng)}`, junk(rng), 'fz-p1', `${rng.pick(RESOURCE_DEFS).type}/x`, 'http://localhost:8080/fhir/Patient/fz-p1', 'http://elsewhere.example/Patient/1']);
    case 'string':
      return rng.pick(['gar', 'García', junk(rng), '']);
  }
}

function searchPair(rng: Rng, def: ResourceDef | undefined): [string, string] {
  const roll = rng.int(10);
  let name: string;
  if (roll < 4 && def?.params.length) name = rng.pick(def.params).name;
  else if (roll < 5) name = rng.pick(COMMON_PARAMS).name;
  else if (roll < 7) name = rng.pick(RESULT_PARAMS);
  else if (roll < 8) name = rng.pick(UNKNOWN_NAMES);
  else if (roll < 9 && def?.params.length) name = `${rng.pick(def.params).name}.${rng.pick(['name', 'family', 'identifier', junk(rng)])}`;
  else name = junk(rng);
  if (rng.chance(0.2)) name = `${name}:${rng.pick(MODIFIERS)}`;
  let value: string;
  if (name.startsWith('_count')) value = rng.pick(['0', '1', '1000', '1001', '99999999999999999999', '-5', '1.5', '', 'abc', '2147483648']);
  else if (name.startsWith('_include') || name.startsWith('_revinclude')) value = def && rng.chance(0.6) ? rng.pick([...def.includes, ...def.revincludes, `${def.type}:${junk(rng)}`]) || junk(rng) : junk(rng);
  else if (name.startsWith('_cursor')) value = rng.pick([Buffer.from(`a.${rng.pick(['99999999999999999999', '-1', '1e5', '9007199254740993'])}.${rng.pick(['1', '99999999999999999999', '18446744073709551616'])}`).toString('base64url'), junk(rng), Buffer.from('b.0.0').toString('base64url')]);
  else if (name.startsWith('_sort')) value = rng.pick(['date', '-date', '_lastUpdated', '-_lastUpdated', '_id', '-_id', junk(rng), 'date,-date']);
  else if (name.startsWith('_total') || name.startsWith('_summary')) value = rng.pick(['none', 'accurate', 'estimate', 'count', 'true', 'false', 'data', 'text', junk(rng)]);
  else if (name.startsWith('_format')) value = rng.pick(['json', 'xml', 'application/fhir+xml', 'text/html', junk(rng)]);
  else value = searchValue(rng, def, name.split(/[:.]/)[0]!);
  // A long OR list now and then
  if (rng.chance(0.05)) value = Array.from({ length: rng.pick([50, LIMITS.orValues, LIMITS.orValues + 1, 500]) }, (_, i) => `${value.slice(0, 8)}${i}`).join(',');
  return [name, value];
}

/** A query string: mostly a few parameters, sometimes duplicates, sometimes more than the limit allows. */
function queryString(rng: Rng, def: ResourceDef | undefined): { q: string; count: number } {
  const n = rng.chance(0.04) ? rng.between(LIMITS.parameters + 1, LIMITS.parameters * 3) : rng.between(0, 6);
  const pairs: [string, string][] = [];
  for (let i = 0; i < n; i++) {
    if (pairs.length && rng.chance(0.15)) pairs.push(rng.pick(pairs)); // duplicated
    else {
      const [k, v] = searchPair(rng, def);
      // Many parameters, each short: the count is what is tested, and the URL stays under its own limit.
      pairs.push(n > 20 ? [k.slice(0, 20), v.slice(0, 20)] : [k, v]);
    }
  }
  const q = pairs.map(([k, v]) => `${encodeValue(rng, k)}${rng.chance(0.03) ? '' : `=${encodeValue(rng, v)}`}`).join(rng.chance(0.03) ? '&&' : '&');
  return { q, count: pairs.length };
}

// ---------------------------------------------------------------------------------------------------------------
// Bodies

/** Nested arrays or objects `depth` deep, optionally around a resource-shaped top. */
export function nestedJson(depth: number, kind: 'array' | 'object' | 'mixed', top?: string): string {
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    const arr = kind === 'array' || (kind === 'mixed' && i % 2 === 0);
    open += arr ? '[' : '{"a":';
    close = (arr ? ']' : '}') + close;
  }
  const inner = `${open}1${close}`;
  return top ? `{"resourceType":"${top}","extension":[{"url":"http://x","valueString":"y","extension":${inner}}]}` : inner;
}

function randomJsonValue(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 3 ? 5 : 8)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, Number.MIN_VALUE]);
    case 3:
    case 4:
      return junk(rng);
    case 5:
      return Array.from({ length: rng.int(4) }, () => randomJsonValue(rng, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(4); i > 0; i--) o[rng.pick(['reference', 'system', 'code', 'value', 'url', 'coding', 'id', 'resourceType', 'extension', '__proto__', junk(rng)])] = randomJsonValue(rng, depth + 1);
      return o;
    }
  }
}

const ELEMENTS = ['id', 'meta', 'text', 'identifier', 'status', 'subject', 'patient', 'code', 'category', 'effectiveDateTime', 'valueQuantity', 'name', 'birthDate', 'gender', 'contained', 'extension', 'modifierExtension', 'encounter', 'period', 'member', 'type', 'clinicalStatus', 'medicationReference', 'target', 'recorded', 'agent', 'content', 'telecom', 'address', 'active', 'intent', 'actual'];

/** A resource of `type` with wrong shapes: elements of the wrong JSON type, bad references, codes, dates and ids. */
export function wrongShape(rng: Rng, type: string, id?: string): unknown {
  switch (rng.int(10)) {
    case 0:
      return rng.pick([null, [], 'Patient', 42, true, {}, [{ resourceType: type }]]);
    case 1:
      return { resourceType: rng.pick([rng.pick(RESOURCE_DEFS).type, 'Bundle', 'Parameters', 'OperationOutcome', 'Foo', '', 5, null]) };
    case 2:
      return { resourceType: type, id: rng.pick([5, '', 'a b', 'x'.repeat(65), '../x', null, id ?? 'zz']) };
    default: {
      const r: Record<string, unknown> = { resourceType: type, ...(id && rng.chance(0.7) ? { id } : {}) };
      for (let i = rng.between(1, 4); i > 0; i--) {
        const el = rng.chance(0.85) ? rng.pick(ELEMENTS) : junk(rng);
        r[el] = rng.pick([
          randomJsonValue(rng),
          { reference: rng.pick([junk(rng), 'Patient/fz-p1', 'Patient/', 5, '#x', 'urn:uuid:1']) },
          [{ reference: junk(rng) }],
          { coding: [{ system: junk(rng), code: rng.pick([junk(rng), 5, null]) }] },
          rng.pick(['2024-13-45', '2024-01-01T99:00:00Z', 'yesterday', '']),
          [{ resourceType: rng.pick(RESOURCE_DEFS).type, id: junk(rng) }],
          [null],
          { versionId: 5, lastUpdated: 'never' },
        ]);
      }
      return r;
    }
  }
}

function bigJson(rng: Rng, type: string): { body: Buffer; overLimit: boolean } {
  const target = rng.pick([200 * 1024, 2 * 1024 * 1024, LIMITS.fhirJsonBodyBytes - 4096, LIMITS.fhirJsonBodyBytes + 1024]);
  const shape = rng.int(3);
  let text: string;
  if (shape === 0) {
    // many elements: every one becomes index rows if the resource is accepted
    const n = Math.floor(target / 40);
    text = JSON.stringify({ resourceType: type, identifier: Array.from({ length: n }, (_, i) => ({ system: 'urn:x', value: `v${i}` })) }).slice(0, target);
    if (target < LIMITS.fhirJsonBodyBytes && rng.chance(0.5)) text = JSON.stringify({ resourceType: type, identifier: Array.from({ length: Math.floor(n / 2) }, (_, i) => ({ system: 'urn:x', value: `v${i}` })) });
  } else if (shape === 1) {
    text = JSON.stringify({ resourceType: type, text: { status: 'generated', div: `<div>${'x'.repeat(target)}</div>` } });
  } else {
    text = `{"resourceType":"${type}","a":"${'\\u0000'.repeat(Math.floor(target / 6))}"}`;
  }
  const body = Buffer.from(text);
  return { body, overLimit: body.length > LIMITS.fhirJsonBodyBytes };
}

const CONTENT_TYPES = [
  'application/fhir+json', 'application/json', 'application/json+fhir', 'application/fhir+json; fhirVersion=3.0', 'application/fhir+json; charset=klingon',
  'application/fhir+xml', 'text/xml', 'text/plain', 'text/html', 'application/octet-stream', 'multipart/form-data; boundary=x', 'multipart/form-data',
  'application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-16', 'application/jwt', 'application/ndjson', '*/*', 'json', ';', '', 'application/', 'a'.repeat(300),
];

function bodyFor(rng: Rng, type: string): { body: Buffer; contentType: string; must4xx: boolean; kind: string } {
  const r = rng.int(14);
  if (r < 6) return { body: Buffer.from(JSON.stringify(wrongShape(rng, type))), contentType: rng.pick(['application/fhir+json', 'application/json']), must4xx: false, kind: 'wrong-shape' };
  if (r < 8) {
    const bad = rng.pick(['{', '{"resourceType":', '{"a":1,}', "{'a':1}", '[1,2', 'nul', '"unterminated', '{"resourceType":"Patient"}{}', '\ufeff{}', '{"a":"\\x"}', '{"a":1e99999}', '', ' ']);
    return { body: Buffer.from(bad), contentType: 'application/fhir+json', must4xx: true, kind: 'invalid-json' };
  }
  if (r < 9) {
    const depth = rng.pick([LIMITS.fhirJsonDepth - 5, LIMITS.fhirJsonDepth + 1, 5000, 200_000]);
    const text = nestedJson(depth, rng.pick(['array', 'object', 'mixed'] as const), rng.chance(0.7) ? type : undefined);
    return { body: Buffer.from(text), contentType: 'application/fhir+json', must4xx: depth > LIMITS.fhirJsonDepth, kind: 'deep-json' };
  }
  if (r < 10 && rng.chance(0.15)) {
    const { body, overLimit } = bigJson(rng, type);
    return { body, contentType: 'application/fhir+json', must4xx: overLimit, kind: 'huge-json' };
  }
  if (r < 12) {
    const ct = rng.pick(CONTENT_TYPES);
    return { body: Buffer.from(rng.chance(0.5) ? JSON.stringify({ resourceType: type }) : junk(rng)), contentType: ct, must4xx: false, kind: 'content-type' };
  }
  if (r < 13) {
    // invalid UTF-8 inside an otherwise fine JSON string
    const bytes = Buffer.concat([Buffer.from(`{"resourceType":"${type}","id":"fz-utf","text":{"status":"generated","div":"<div>`), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xf8, 0x88]), Buffer.from('</div>"}}')]);
    return { body: bytes, contentType: 'application/fhir+json', must4xx: false, kind: 'invalid-utf8-body' };
  }
  const form = Array.from({ length: rng.pick([3, 150, 3000]) }, () => `${enc(junk(rng))}=${enc(junk(rng))}`).join('&');
  return { body: Buffer.from(form), contentType: 'application/x-www-form-urlencoded', must4xx: false, kind: 'form' };
}

// ---------------------------------------------------------------------------------------------------------------
// Requests

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'PURGE', 'FOO', 'HEAD'];

function fillPath(rng: Rng, ctx: FuzzContext, template: string): { path: string; type?: string } {
  let type: string | undefined;
  const path = template
    .split('/')
    .map((seg) => {
      if (seg === ':type') {
        type = rng.chance(0.9) ? rng.pick(RESOURCE_DEFS).type : junk(rng);
        return enc(type);
      }
      if (seg === ':id' || seg === ':vid' || seg.startsWith(':')) {
        const known = type ? ctx.ids[type] : undefined;
        if (seg === ':id' && known?.length && rng.chance(0.6)) return enc(rng.pick(known));
        if (seg === ':vid') return enc(rng.pick(['1', '2', '0', '-1', '99999999999999999999', 'x', junk(rng)]));
        if (template.includes('/auth/reg') && rng.chance(0.5)) return enc(rng.pick(ctx.clientIds));
        return enc(rng.chance(0.1) ? 'x'.repeat(rng.pick([199, 200, 201, 5000])) : junk(rng));
      }
      if (seg === '*') return enc(junk(rng));
      return seg;
    })
    .join('/');
  return type ? { path, type } : { path };
}

function authHeaders(rng: Rng, ctx: FuzzContext, area: Area): Record<string, string> {
  if (area !== 'fhir') return rng.chance(0.1) ? { authorization: rng.pick([ctx.clientBasic, 'Basic !!!', 'Bearer x']) } : {};
  const r = rng.next();
  if (r < 0.8) return { authorization: `Bearer ${ctx.token}` };
  if (r < 0.88) return {};
  return { authorization: rng.pick(['Bearer', 'Bearer ', `Bearer ${'x'.repeat(4000)}`, `bearer ${ctx.token}x`, `Basic ${ctx.token}`, 'Bearer a b', `Bearer ${ctx.token}, Bearer ${ctx.token}`, 'Negotiate x', `Bearer ${junk(rng).replace(/[^\x20-\x7e]/g, '')}`]) };
}

const ODD_HEADERS: readonly (() => [string, string])[] = [
  () => ['accept', 'application/xml'],
  () => ['accept', 'application/fhir+json;q=0'],
  () => ['accept', ';;;,,,q=abc'],
  () => ['accept', 'text/html,*/*;q=0.1'],
  () => ['prefer', 'handling=strict'],
  () => ['prefer', 'return=OperationOutcome, respond-async, handling=lenient'],
  () => ['prefer', 'x'.repeat(2000)],
  () => ['if-match', 'W/"abc"'],
  () => ['if-match', 'W/"99999999999999999999"'],
  () => ['if-none-match', '*'],
  () => ['if-none-match', 'W/"1"'],
  () => ['range', 'bytes=-0'],
  () => ['range', 'bytes=99999999999999999999-'],
  () => ['range', 'bytes=5-1,0-,junk'],
  () => ['accept-encoding', 'gzip;q=x, br, zstd, junk'],
  () => ['origin', 'null'],
  () => ['cookie', `_csrf_secret=s:${'x'.repeat(100)}; portal_session=${'y'.repeat(100)}`],
  () => ['cookie', 'a'.repeat(3000)],
  () => ['x-forwarded-for', '1.2.3.4, ::1, junk'],
  () => ['content-type', 'application/fhir+json; fhirVersion=5.0'],
  () => ['expect', '100-continue'],
];

/** One request, drawn from the generators with these weights (per 100). */
export function nextRequest(rng: Rng, ctx: FuzzContext): FuzzRequest {
  const roll = rng.int(100);
  if (roll < 25) return fhirSearch(rng, ctx);
  if (roll < 45) return fhirWrite(rng, ctx);
  if (roll < 60) return anyRoute(rng, ctx);
  if (roll < 70) return wrongMethod(rng, ctx);
  if (roll < 80) return oauth(rng, ctx);
  if (roll < 90) return pageForm(rng, ctx);
  return bodyAnywhere(rng, ctx);
}

function fhirSearch(rng: Rng, ctx: FuzzContext): FuzzRequest {
  const def = rng.chance(0.95) ? rng.pick(RESOURCE_DEFS) : undefined;
  const type = def?.type ?? junk(rng);
  const { q, count } = queryString(rng, def);
  const headers = { ...authHeaders(rng, ctx, 'fhir'), ...(rng.chance(0.15) ? { prefer: 'handling=strict' } : {}) };
  const tooMany = count > LIMITS.parameters;
  const where = rng.int(10);
  if (where < 6) return { kind: 'search-get', method: 'GET', path: `/fhir/${enc(type)}${q ? `?${q}` : ''}`, headers, must4xx: tooMany };
  if (where < 8) return { kind: 'search-post', method: 'POST', path: `/fhir/${enc(type)}/_search`, headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(q), must4xx: tooMany };
  const op = rng.pick(['$everything', '$docref', '_history', '$export']);
  const id = rng.pick(ctx.ids.Patient ?? ['x']);
  const path = op === '$everything' || op === '_history' ? `/fhir/Patient/${enc(id)}/${op}` : op === '$docref' ? '/fhir/DocumentReference/$docref' : rng.pick(['/fhir/$export', '/fhir/Patient/$export', `/fhir/Group/${enc(rng.pick(ctx.ids.Group ?? ['x']))}/$export`]);
  return { kind: `op-query`, method: 'GET', path: `${path}${q ? `?${q}` : ''}`, headers: { ...headers, ...(op === '$export' && rng.chance(0.7) ? { prefer: 'respond-async' } : {}) }, must4xx: tooMany };
}

function fhirWrite(rng: Rng, ctx: FuzzContext): FuzzRequest {
  const type = rng.pick(RESOURCE_DEFS).type;
  const id = rng.chance(0.5) ? rng.pick(ctx.ids[type] ?? ['fz-new']) : `fz-${rng.int(1000)}`;
  const put = rng.chance(0.5);
  const { body, contentType, must4xx, kind } = rng.chance(0.7)
    ? { body: Buffer.from(JSON.stringify(wrongShape(rng, type, put ? id : undefined))), contentType: 'application/fhir+json', must4xx: false, kind: 'wrong-shape' }
    : bodyFor(rng, type);
  const headers: Record<string, string> = { ...authHeaders(rng, ctx, 'fhir'), 'content-type': contentType };
  if (rng.chance(0.1)) headers['if-match'] = rng.pick(['W/"1"', 'W/"x"', '"1"', '*', junk(rng).replace(/[^\x20-\x7e]/g, '')]);
  if (rng.chance(0.1)) headers.prefer = rng.pick(['return=minimal', 'return=OperationOutcome', 'return=representation']);
  // An operation's Parameters body: wrong shapes of Parameters too
  if (rng.chance(0.15)) {
    const op = rng.pick([`/fhir/Patient/${enc(rng.pick(ctx.ids.Patient ?? ['x']))}/$everything`, '/fhir/DocumentReference/$docref', '/fhir/$export', '/fhir/Patient/$export']);
    const params = rng.chance(0.5) ? wrongShape(rng, 'Parameters') : { resourceType: 'Parameters', parameter: Array.from({ length: rng.pick([1, 3, LIMITS.parameters + 5]) }, () => randomJsonValue(rng)) };
    return { kind: 'op-body', method: 'POST', path: op, headers: { ...headers, 'content-type': 'application/fhir+json', ...(op.includes('$export') ? { prefer: 'respond-async' } : {}) }, body: Buffer.from(JSON.stringify(params)), must4xx: false };
  }
  return { kind: `write-${kind}`, method: put ? 'PUT' : 'POST', path: put ? `/fhir/${type}/${enc(id)}` : `/fhir/${type}`, headers, body, must4xx };
}

function anyRoute(rng: Rng, ctx: FuzzContext): FuzzRequest {
  const route = rng.pick(ctx.routes);
  const method = rng.pick(route.methods.filter((m) => m !== 'HEAD').length ? route.methods.filter((m) => m !== 'HEAD') : route.methods);
  const { path, type } = fillPath(rng, ctx, route.path);
  const { q, count } = queryString(rng, type ? resourceDef(type) : undefined);
  const area = areaOf(path);
  const headers: Record<string, string> = { ...authHeaders(rng, ctx, area) };
  for (let i = rng.int(3); i > 0; i--) {
    const [k, v] = rng.pick(ODD_HEADERS)();
    headers[k] = v;
  }
  let body: Buffer | undefined;
  if (method === 'POST' || method === 'PUT' || method === 'DELETE') {
    const b = bodyFor(rng, type ?? 'Patient');
    body = b.body;
    headers['content-type'] = b.contentType;
  }
  return { kind: `route-${area}`, method, path: `${path}${q ? `?${q}` : ''}`, headers, ...(body ? { body } : {}), must4xx: count > LIMITS.parameters };
}

function wrongMethod(rng: Rng, ctx: FuzzContext): FuzzRequest {
  const route = rng.pick(ctx.routes);
  const others = METHODS.filter((m) => !route.methods.includes(m));
  const method = rng.pick(others.length ? others : METHODS);
  const { path } = fillPath(rng, ctx, route.path);
  const area = areaOf(path);
  const body = method === 'GET' || method === 'HEAD' || rng.chance(0.5) ? undefined : Buffer.from(junk(rng));
  return { kind: 'wrong-method', method, path, headers: { ...authHeaders(rng, ctx, area), ...(body ? { 'content-type': rng.pick(CONTENT_TYPES) || 'text/plain' } : {}) }, ...(body ? { body } : {}), must4xx: false };
}

const OAUTH_PARAMS = ['client_id', 'response_type', 'redirect_uri', 'scope', 'state', 'nonce', 'code_challenge', 'code_challenge_method', 'aud', 'launch', 'prompt', 'max_age', 'request', 'request_uri', 'response_mode', 'claims', 'id_token_hint', 'login_hint', 'ui_locales', 'resource', 'acr_values', 'display'];
const TOKEN_PARAMS = ['grant_type', 'code', 'redirect_uri', 'code_verifier', 'refresh_token', 'scope', 'client_id', 'client_secret', 'client_assertion', 'client_assertion_type', 'token', 'token_type_hint', 'resource', 'audience'];

function oauthValue(rng: Rng, ctx: FuzzContext, name: string): string {
  if (name === 'client_id' && rng.chance(0.5)) return rng.pick(ctx.clientIds);
  if (name === 'grant_type' && rng.chance(0.6)) return rng.pick(['client_credentials', 'authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'password', 'implicit']);
  if (name === 'response_type' && rng.chance(0.6)) return rng.pick(['code', 'token', 'id_token', 'code id_token', 'none']);
  if (name === 'scope' && rng.chance(0.5)) return rng.pick(['openid', 'system/*.rs', 'patient/*.cruds launch/patient', 'system/Observation.rs?category=x|y', 'user/*.*', 'launch', junk(rng)]);
  if (name === 'client_assertion' && rng.chance(0.5)) return `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(junk(rng)).toString('base64url')}.`;
  return junk(rng);
}

function oauthForm(rng: Rng, ctx: FuzzContext, names: readonly string[]): string {
  const n = rng.chance(0.03) ? rng.between(LIMITS.parameters + 1, 1500) : rng.between(0, 8);
  const pairs: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = rng.chance(0.85) ? rng.pick(names) : junk(rng);
    pairs.push(`${enc(name)}=${enc(oauthValue(rng, ctx, name))}`);
    if (rng.chance(0.1)) pairs.push(pairs[pairs.length - 1]!);
  }
  return pairs.join('&');
}

function oauth(rng: Rng, ctx: FuzzContext): FuzzRequest {
  const r = rng.int(8);
  if (r < 3) {
    const q = oauthForm(rng, ctx, OAUTH_PARAMS);
    if (rng.chance(0.8)) return { kind: 'oauth-authorize', method: 'GET', path: `/auth/auth?${q}`, headers: {}, must4xx: false };
    return { kind: 'oauth-authorize-post', method: 'POST', path: '/auth/auth', headers: { 'content-type': rng.pick(['application/x-www-form-urlencoded', 'application/json', 'text/plain']) }, body: Buffer.from(q), must4xx: false };
  }
  const endpoint = rng.pick(['/auth/token', '/auth/token', '/auth/token/introspection', '/auth/token/revocation', '/auth/reg', '/auth/session/end', '/auth/me', '/auth/jwks', '/auth/.well-known/openid-configuration']);
  const headers: Record<string, string> = {};
  if (rng.chance(0.6)) headers.authorization = rng.pick([ctx.clientBasic, 'Basic !!!', `Basic ${Buffer.from(`${junk(rng)}:${junk(rng)}`).toString('base64')}`, 'Bearer x', `Basic ${Buffer.from('demo-backend:wrong').toString('base64')}`]);
  if (endpoint === '/auth/reg') {
    const meta = rng.chance(0.7)
      ? Object.fromEntries(Array.from({ length: rng.between(0, 6) }, () => [rng.pick(['client_name', 'redirect_uris', 'grant_types', 'response_types', 'token_endpoint_auth_method', 'scope', 'jwks', 'jwks_uri', 'logo_uri', 'initiate_login_uri', 'client_id', junk(rng)]), randomJsonValue(rng)]))
      : randomJsonValue(rng);
    const deep = rng.chance(0.1);
    return { kind: 'oauth-reg', method: rng.pick(['POST', 'POST', 'GET', 'PUT', 'DELETE']), path: rng.chance(0.8) ? '/auth/reg' : `/auth/reg/${enc(rng.pick(ctx.clientIds))}`, headers: { ...headers, 'content-type': rng.pick(['application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded']) }, body: Buffer.from(deep ? nestedJson(rng.pick([50, 5000]), 'mixed') : JSON.stringify(meta)), must4xx: false };
  }
  const big = rng.chance(0.03);
  const form = big ? `grant_type=client_credentials&x=${'a'.repeat(LIMITS.oauthBodyBytes + 10)}` : oauthForm(rng, ctx, TOKEN_PARAMS);
  const method = rng.chance(0.85) ? 'POST' : rng.pick(['GET', 'PUT', 'DELETE']);
  // Only the endpoints that read a body must refuse one over the limit (a GET of the JWKS ignores it).
  const readsBody = method === 'POST' && /^\/auth\/token(\/|$)/.test(endpoint);
  return { kind: 'oauth-endpoint', method, path: endpoint, headers: { ...headers, 'content-type': rng.pick(['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded', 'application/json', 'application/x-www-form-urlencoded; charset=klingon', 'multipart/form-data']) }, body: Buffer.from(form), must4xx: big && readsBody };
}

function pageForm(rng: Rng, ctx: FuzzContext): FuzzRequest {
  const posts = ctx.routes.filter((r) => areaOf(r.path) === 'page' && r.methods.includes('POST'));
  const route = rng.pick(posts);
  const { path } = fillPath(rng, ctx, route.path);
  const names = ['username', 'password', '_csrf', 'code', 'birthDate', 'patient', 'client_id', 'encounter', 'scope', 'redirect_uris', 'token', 'duration', 'given', 'family', 'identifier', 'email', 'newPassword', 'groups', 'skipConsent', 'signInAs'];
  const huge = rng.chance(0.04);
  const form = huge ? `username=${'a'.repeat(LIMITS.formBodyBytes + 10)}` : Array.from({ length: rng.pick([0, 2, 5, 20, 300]) }, () => `${enc(rng.chance(0.8) ? rng.pick(names) : junk(rng))}=${enc(junk(rng))}`).join('&');
  const json = path === '/sandbox/launch' && rng.chance(0.6);
  const body = json ? Buffer.from(rng.chance(0.5) ? JSON.stringify(randomJsonValue(rng)) : JSON.stringify({ patient: rng.pick([junk(rng), 'fz-p1', 5]), client_id: rng.pick([...ctx.clientIds, junk(rng)]) })) : Buffer.from(form);
  const headers: Record<string, string> = { 'content-type': json ? 'application/json' : rng.pick(['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=z', 'application/json', 'text/plain']) };
  if (rng.chance(0.3)) headers.cookie = `_csrf_secret=${enc(junk(rng))}; portal_session=${enc(junk(rng))}`;
  return { kind: 'page-form', method: 'POST', path, headers, body, must4xx: huge && !json };
}

function bodyAnywhere(rng: Rng, ctx: FuzzContext): FuzzRequest {
  const route = rng.pick(ctx.routes.filter((r) => r.methods.some((m) => m === 'POST' || m === 'PUT')));
  const method = route.methods.includes('PUT') && rng.chance(0.5) ? 'PUT' : route.methods.includes('POST') ? 'POST' : 'PUT';
  const { path, type } = fillPath(rng, ctx, route.path);
  const area = areaOf(path);
  const b = bodyFor(rng, type ?? 'Patient');
  // Whether a limit applies depends on the route: only FHIR bodies are parsed as FHIR JSON.
  const must4xx = area === 'fhir' && b.must4xx && /json/.test(b.contentType);
  return { kind: `body-${b.kind}`, method, path, headers: { ...authHeaders(rng, ctx, area), 'content-type': b.contentType }, body: b.body, must4xx };
}

// ---------------------------------------------------------------------------------------------------------------
// Raw requests

const CRLF = '\r\n';

/** The raw cases, cycled through with random paths: what fetch and node:http will not send. */
export function nextRawCase(rng: Rng, ctx: FuzzContext, port: number): RawCase {
  const route = rng.pick(ctx.routes);
  const path = fillPath(rng, ctx, route.path).path;
  const host = `Host: 127.0.0.1:${port}${CRLF}`;
  const auth = areaOf(path) === 'fhir' ? `Authorization: Bearer ${ctx.token}${CRLF}` : '';
  const head = (line: string, extra = '') => Buffer.from(`${line}${CRLF}${host}${auth}${extra}Connection: close${CRLF}${CRLF}`, 'latin1');
  const withBytes = (before: string, bytes: number[], after: string) => Buffer.concat([Buffer.from(before, 'latin1'), Buffer.from(bytes), Buffer.from(after, 'latin1')]);
  const r = rng.int(16);
  switch (r) {
    case 0:
      return { kind: 'raw-utf8-path', path, head: withBytes(`GET ${path}/`, [0xff, 0xfe, 0xc3, 0x28], ` HTTP/1.1${CRLF}${host}${auth}Connection: close${CRLF}${CRLF}`), must4xx: false, mayClose: false };
    case 1:
      return { kind: 'raw-utf8-query', path, head: withBytes(`GET ${path}?name=`, [0xed, 0xa0, 0x80, 0xf8, 0x88, 0x80], `&_id=%FF%FE%C3%28 HTTP/1.1${CRLF}${host}${auth}Connection: close${CRLF}${CRLF}`), must4xx: false, mayClose: false };
    case 2: {
      const body = Buffer.concat([Buffer.from('{"resourceType":"Patient","name":[{"family":"'), Buffer.from([0xff, 0xc0, 0x80, 0xed, 0xbf, 0xbf]), Buffer.from('"}]}')]);
      return { kind: 'raw-utf8-body', path: '/fhir/Patient', head: Buffer.concat([Buffer.from(`POST /fhir/Patient HTTP/1.1${CRLF}${host}Authorization: Bearer ${ctx.token}${CRLF}Content-Type: application/fhir+json${CRLF}Content-Length: ${body.length}${CRLF}Connection: close${CRLF}${CRLF}`), body]), must4xx: false, mayClose: false };
    }
    case 3: {
      // over our URL limit, under Node's header limit: 414
      const long = `${path}?${'a'.repeat(LIMITS.urlBytes + 10)}=1`;
      return { kind: 'raw-long-url', path, head: head(`GET ${long} HTTP/1.1`), must4xx: true, mayClose: false };
    }
    case 4: {
      const long = `${path}?q=${'b'.repeat(LIMITS.headerBytes + 100)}`;
      return { kind: 'raw-url-over-header-limit', path, head: head(`GET ${long} HTTP/1.1`), must4xx: true, mayClose: true };
    }
    case 5:
      return { kind: 'raw-long-header', path, head: head(`GET ${path} HTTP/1.1`, `X-Big: ${'c'.repeat(LIMITS.headerBytes + 100)}${CRLF}`), must4xx: true, mayClose: true };
    case 6:
      // Past Node's own parser limit the overflowing bytes may not hold the path: any area's error will do.
      if (rng.chance(0.3)) return { kind: 'raw-header-over-parser-limit', path, head: head(`GET ${path} HTTP/1.1`, `X-Big: ${'e'.repeat(LIMITS.parserHeaderBytes + 100)}${CRLF}`), must4xx: true, mayClose: true, pathless: true };
      return { kind: 'raw-many-headers', path, head: head(`GET ${path} HTTP/1.1`, Array.from({ length: 600 }, (_, i) => `X-H${i}: ${'d'.repeat(30)}${CRLF}`).join('')), must4xx: true, mayClose: true };
    case 7: {
      const line = rng.pick([`GARBAGE${CRLF}${CRLF}`, `GET  HTTP/1.1${CRLF}${host}${CRLF}`, `GET ${path} HTTP/9.9${CRLF}${host}${CRLF}`, `G\x00T ${path} HTTP/1.1${CRLF}${host}${CRLF}`, `GET ${path} HTTP/1.1${CRLF}Bad Header${CRLF}${CRLF}`, `GET ${path} HTTP/1.1${CRLF}${host}X Y: z${CRLF}${CRLF}`, `GET ${path}/\x7f HTTP/1.1${CRLF}${host}${CRLF}`]);
      return { kind: 'raw-bad-request-line', path, head: Buffer.from(line, 'latin1'), must4xx: true, mayClose: true, pathless: !line.includes(path) };
    }
    case 8:
      return { kind: 'raw-bad-length', path, head: head(`POST ${path} HTTP/1.1`, `Content-Type: application/fhir+json${CRLF}Content-Length: ${rng.pick(['-1', 'abc', '1, 2', '99999999999999999999'])}${CRLF}`), must4xx: true, mayClose: true };
    case 9:
      return { kind: 'raw-bad-chunked', path, head: Buffer.from(`POST ${path} HTTP/1.1${CRLF}${host}${auth}Content-Type: application/fhir+json${CRLF}Transfer-Encoding: chunked${CRLF}Connection: close${CRLF}${CRLF}${rng.pick(['zz\r\n{}\r\n0\r\n\r\n', 'ffffffffffffffffff\r\n{}', '2\r\n{}\r\n1;' + 'e'.repeat(20000) + '\r\nx\r\n0\r\n\r\n'])}`, 'latin1'), must4xx: true, mayClose: true };
    case 10:
      return { kind: 'raw-smuggle', path, head: Buffer.from(`POST ${path} HTTP/1.1${CRLF}${host}${auth}Content-Length: 4${CRLF}Transfer-Encoding: chunked${CRLF}Connection: close${CRLF}${CRLF}0\r\n\r\n`, 'latin1'), must4xx: true, mayClose: true };
    case 11:
    case 12: {
      // a slow body that does complete: the server answers it, and everyone else meanwhile
      const body = Buffer.from(JSON.stringify(wrongShape(rng, 'Observation')));
      const chunks: Buffer[] = [];
      for (let i = 0; i < body.length; i += Math.max(1, Math.ceil(body.length / 8))) chunks.push(body.subarray(i, i + Math.ceil(body.length / 8)));
      return { kind: 'raw-slow-body', path: '/fhir/Observation', head: Buffer.from(`POST /fhir/Observation HTTP/1.1${CRLF}${host}Authorization: Bearer ${ctx.token}${CRLF}Content-Type: application/fhir+json${CRLF}Content-Length: ${body.length}${CRLF}Connection: close${CRLF}${CRLF}`), trickle: { chunks, delayMs: 150 }, must4xx: false, mayClose: false };
    }
    case 13:
      return { kind: 'raw-raw-path', path, head: head(`GET ${path}/${rng.pick(['%', '%zz', '..%2f..%2f', '%2e%2e', '\\..\\', '//..//', '%00', '?&&==&', ';jsessionid=1', '%u0041'])} HTTP/1.1`), must4xx: false, mayClose: false };
    case 14:
      return { kind: 'raw-absolute-uri', path, head: head(`GET http://evil.example${path} HTTP/1.1`), must4xx: false, mayClose: false };
    default:
      return { kind: 'raw-http10', path, head: Buffer.from(`GET ${path} HTTP/1.0${CRLF}${CRLF}`, 'latin1'), must4xx: false, mayClose: false };
  }
}

/** A body that starts and never finishes: the server must cut it off (408) at its request timeout. */
export function stalledBody(ctx: FuzzContext, port: number, path: string): RawCase {
  const type = areaOf(path) === 'fhir' && !path.endsWith('/_search') ? 'application/fhir+json' : 'application/x-www-form-urlencoded';
  const head = Buffer.from(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${ctx.token}\r\nContent-Type: ${type}\r\nContent-Length: 1000\r\n\r\n${type.includes('json') ? '{"resourceType":' : 'username=a&password='}`);
  return { kind: 'raw-stalled-body', path, head, must4xx: true, mayClose: false };
}
