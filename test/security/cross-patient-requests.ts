// Requests of the cross-patient property test and what each answer may contain. A case is generated as abstract
// choices (which token, which type, which resource, which parameters) and resolved against the world as it is when
// it runs (writes change it). Every answer is checked against the model: each resource in it (read, vread, history
// versions, search matches and _include/_revinclude entries on every page, $everything, $docref) must be one the
// token may see; an error must not name a patient the token cannot see; a write the model refuses must be refused and
// leave the database as it was (checked with an all-access system token); and what the model allows must happen.
import fc from 'fast-check';
import { resourceDef } from '../../src/fhir/definitions.js';
import {
  CONDITION_CATEGORY,
  LOINC,
  OBS_CATEGORY,
  TYPES,
  WORLD_TYPES,
  current,
  referenceOf,
  versionOf,
  type Op,
  type ResourceModel,
  type TokenModel,
  type VersionModel,
} from './cross-patient-model.js';
import { observation, type Harness, type World } from './cross-patient-world.js';

type Json = Record<string, unknown>;

export interface RunStats {
  cases: Record<string, number>;
  requests: number;
  /** Resources in answers, each checked against the model */
  resourcesChecked: number;
  /** Answers that carried at least one resource */
  nonEmpty: number;
  pages: number;
  writesLanded: number;
  writesRefused: number;
  statuses: Record<string, number>;
}

export const newStats = (): RunStats => ({ cases: {}, requests: 0, resourcesChecked: 0, nonEmpty: 0, pages: 0, writesLanded: 0, writesRefused: 0, statuses: {} });

export interface CaseContext {
  readonly h: Harness;
  readonly world: World;
  readonly stats: RunStats;
}

// ------------------------------------------------------------------------------------------------ abstract cases

/** A pick among a list known only when the case runs: n modulo its length; `local` prefers this world's items. */
interface Pick {
  readonly n: number;
  readonly local: boolean;
}
const pick: fc.Arbitrary<Pick> = fc.record({ n: fc.nat(), local: fc.constantFrom(true, true, false) });
const pickFixed: fc.Arbitrary<Pick> = fc.record({ n: fc.nat(), local: fc.constantFrom(true, true, true, false) });

export type Mutation = 'flip' | 'shift' | 'garbage' | 'swap-search' | 'truncate';

export type Case =
  | { kind: 'read'; token: number; type: string; aim: number; target: Pick; missing: boolean }
  | { kind: 'vread'; token: number; type: string; aim: number; target: Pick; vid: number }
  | { kind: 'history'; token: number; type: string; aim: number; target: Pick; count: number }
  | { kind: 'search'; token: number; type: string; aim: number; params: readonly ParamChoice[]; count: number | null; post: boolean; total: boolean; summaryCount: boolean }
  | { kind: 'everything'; token: number; patient: Pick; count: number; types: readonly string[] | null; post: boolean }
  | { kind: 'docref'; token: number; patient: Pick }
  | { kind: 'create'; token: number; template: Template; owner: Pick; other: Pick; ifNoneExist: boolean }
  | { kind: 'update'; token: number; type: string; aim: number; target: Pick; fresh: boolean; owner: Pick; other: Pick; variant: number }
  | { kind: 'delete'; token: number; type: string; aim: number; target: Pick }
  | { kind: 'conditional'; token: number; method: 'PUT' | 'DELETE' | 'POST'; type: string; patient: Pick }
  | { kind: 'replay'; from: number; to: number; type: string; aim: number; params: readonly ParamChoice[] }
  | { kind: 'tamper'; token: number; type: string; aim: number; params: readonly ParamChoice[]; mutation: Mutation; n: number; other: Pick }
  | { kind: 'everything-cursor'; token: number; from: number; patient: Pick; other: Pick; mutation: 'swap-patient' | 'flip' | 'other-token' }
  | { kind: 'history-cursor'; token: number; type: string; target: Pick; cursor: number }
  | { kind: 'system-level'; token: number; variant: number; patient: Pick };

export type Template = 'obs-lab' | 'obs-vital' | 'obs-member-other' | 'cond-problem' | 'allergy' | 'coverage' | 'report-other' | 'provenance-any' | 'provenance-mixed' | 'task' | 'patient' | 'practitioner' | 'group' | 'encounter';

interface ParamChoice {
  readonly slot: number;
  readonly value: number;
  readonly target: Pick;
}

const SEARCHABLE = WORLD_TYPES.filter((t) => t !== 'Task');
const count = fc.integer({ min: 1, max: 3 });
const param: fc.Arbitrary<ParamChoice> = fc.record({ slot: fc.nat(), value: fc.nat(), target: pick });

export function caseArb(tokens: number): fc.Arbitrary<Case> {
  const token = fc.integer({ min: 0, max: Math.max(0, tokens - 1) });
  const type = fc.constantFrom(...WORLD_TYPES);
  const compartmentType = fc.constantFrom(...WORLD_TYPES.filter((t) => TYPES[t]!.kind === 'compartment'));
  const params = fc.oneof({ weight: 3, arbitrary: fc.constant([] as ParamChoice[]) }, { weight: 4, arbitrary: fc.array(param, { minLength: 1, maxLength: 1 }) }, { weight: 2, arbitrary: fc.array(param, { minLength: 2, maxLength: 3 }) });
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('read' as const), token, type, aim: fc.nat(), target: pick, missing: fc.integer({ min: 0, max: 9 }).map((n) => n === 0) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('vread' as const), token, type: compartmentType, aim: fc.nat(), target: pick, vid: fc.integer({ min: 1, max: 4 }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('history' as const), token, type: compartmentType, aim: fc.nat(), target: pick, count }) },
    { weight: 10, arbitrary: fc.record({ kind: fc.constant('search' as const), token, type: fc.constantFrom(...SEARCHABLE), aim: fc.nat(), params, count: fc.option(count, { freq: 2 }), post: fc.boolean(), total: fc.boolean(), summaryCount: fc.integer({ min: 0, max: 7 }).map((n) => n === 0) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('everything' as const), token, patient: pickFixed, count: fc.integer({ min: 1, max: 6 }), types: fc.option(fc.subarray([...WORLD_TYPES], { minLength: 1, maxLength: 4 }), { freq: 3 }), post: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('docref' as const), token, patient: pickFixed }) },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('create' as const),
        token,
        template: fc.constantFrom('obs-lab', 'obs-vital', 'obs-member-other', 'cond-problem', 'allergy', 'coverage', 'report-other', 'provenance-any', 'provenance-mixed', 'task', 'patient', 'practitioner', 'group', 'encounter') as fc.Arbitrary<Template>,
        owner: pickFixed,
        other: pickFixed,
        ifNoneExist: fc.boolean(),
      }),
    },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('update' as const), token, type: fc.constantFrom('Observation', 'Condition', 'AllergyIntolerance', 'Coverage', 'Provenance', 'Patient', 'Task', 'Practitioner', 'DiagnosticReport'), aim: fc.nat(), target: pick, fresh: fc.integer({ min: 0, max: 3 }).map((n) => n === 0), owner: pickFixed, other: pickFixed, variant: fc.nat(3) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), token, type: compartmentType, aim: fc.nat(), target: pick }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('conditional' as const), token, method: fc.constantFrom('PUT', 'DELETE', 'POST') as fc.Arbitrary<'PUT' | 'DELETE' | 'POST'>, type: fc.constantFrom('Observation', 'Condition', 'Patient'), patient: pickFixed }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('replay' as const), from: token, to: token, type: fc.constantFrom(...SEARCHABLE), aim: fc.nat(), params }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('tamper' as const), token, type: fc.constantFrom(...SEARCHABLE), aim: fc.nat(), params, mutation: fc.constantFrom('flip', 'shift', 'garbage', 'swap-search', 'truncate') as fc.Arbitrary<Mutation>, n: fc.nat(), other: pickFixed }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('everything-cursor' as const), token, from: token, patient: pickFixed, other: pickFixed, mutation: fc.constantFrom('swap-patient', 'flip', 'other-token') as fc.Arbitrary<'swap-patient' | 'flip' | 'other-token'> }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('history-cursor' as const), token, type: compartmentType, target: pick, cursor: fc.integer({ min: -1, max: 9 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('system-level' as const), token, variant: fc.nat(), patient: pickFixed }) },
  );
}

// ---------------------------------------------------------------------------------------------------------- HTTP

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly json: Json | undefined;
  readonly headers: Headers;
}

/** A violation of the property: thrown, so fast-check reports the case (and shrinks it). */
export class Leak extends Error {}

class Run {
  readonly problems: string[] = [];
  constructor(
    readonly cx: CaseContext,
    readonly label: string,
  ) {}

  get model() {
    return this.cx.h.model;
  }

  fail(msg: string): void {
    this.problems.push(msg);
  }

  async http(token: string | undefined, method: string, url: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
    const full = url.startsWith('http') ? url : `${this.cx.h.server.fhirBase}${url}`;
    if (process.env.CROSS_PATIENT_DEBUG) console.log('>>', method, full.replace(this.cx.h.server.fhirBase, ''), this.label);
    const res = await fetch(full, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/fhir+json' } : {}), ...headers },
      ...(body !== undefined ? { body } : {}),
    });
    const text = await res.text();
    this.cx.stats.requests++;
    this.cx.stats.statuses[res.status] = (this.cx.stats.statuses[res.status] ?? 0) + 1;
    let json: Json | undefined;
    try {
      json = text ? (JSON.parse(text) as Json) : undefined;
    } catch {
      json = undefined;
    }
    if (process.env.CROSS_PATIENT_DEBUG) console.log(res.status, method, full.replace(this.cx.h.server.fhirBase, ''), this.label);
    if (res.status >= 500) this.fail(`${method} ${full} answered ${res.status}: ${text.slice(0, 300)}`);
    return { status: res.status, text, json, headers: res.headers };
  }

  /** Every resource of an answer is one the token may see (by the version it is), for one of `ops`. */
  checkBody(token: TokenModel, a: Answer, ops: (entry: Json | undefined) => readonly Op[], where: string): { matches: string[]; resources: number } {
    const matches: string[] = [];
    let resources = 0;
    const check = (r: Json, entry: Json | undefined) => {
      const type = String(r.resourceType);
      if (type === 'OperationOutcome') return;
      resources++;
      this.cx.stats.resourcesChecked++;
      const id = String(r.id);
      const vid = Number((r.meta as Json | undefined)?.versionId);
      const version = this.model.version(type, id, vid);
      if (!version) return this.fail(`${where}: ${type}/${id} version ${vid} is not in the world the test built`);
      const allowedOps = ops(entry);
      if (!allowedOps.some((op) => this.model.allows(token, type, version, op))) {
        this.fail(`${where}: ${type}/${id}/_history/${vid} (record of ${[...version.compartments].join(', ') || 'no one'}) is outside ${token.label} (for ${allowedOps.join('/')})`);
      }
      if ((entry?.search as Json | undefined)?.mode === 'match') matches.push(`${type}/${id}`);
    };
    if (a.status >= 200 && a.status < 300 && a.json) {
      if (a.json.resourceType === 'Bundle') {
        for (const e of (a.json.entry as Json[] | undefined) ?? []) if (e.resource) check(e.resource as Json, e);
      } else check(a.json, undefined);
    }
    if (resources) this.cx.stats.nonEmpty++;
    return { matches, resources };
  }

  /** An error names no patient the token cannot see, unless the request named them itself. */
  checkErrorText(token: TokenModel, a: Answer, request: string): void {
    if (a.status < 400) return;
    const visible = this.model.visiblePatients(token);
    for (const m of a.text.matchAll(/w\d+-p\d+/g)) {
      const p = m[0];
      if (!visible.has(p) && !request.includes(p)) this.fail(`${a.status} names ${p}, a record ${token.label} cannot see, which the request did not name: ${a.text.slice(0, 400)}`);
    }
  }

  /** Follows `next` links from `url`, checking every page; the match ids of all pages. */
  async pages(token: TokenModel, method: string, url: string, body: string | undefined, ops: (e: Json | undefined) => readonly Op[], opts: { headers?: Record<string, string>; maxPages?: number } = {}): Promise<{ first: Answer; matches: string[]; complete: boolean; total?: number; nexts: string[] }> {
    const first = await this.http(token.accessToken, method, url, body, opts.headers);
    this.checkErrorText(token, first, url + (body ?? ''));
    const matches: string[] = [];
    const nexts: string[] = [];
    let a = first;
    let n = 0;
    const total = typeof first.json?.total === 'number' ? (first.json.total as number) : undefined;
    for (;;) {
      this.cx.stats.pages++;
      matches.push(...this.checkBody(token, a, ops, `${method} ${url} page ${n + 1}`).matches);
      if (a.status !== 200) return { first, matches, complete: false, nexts, ...(total !== undefined ? { total } : {}) };
      const next = ((a.json?.link as Json[] | undefined) ?? []).find((l) => l.relation === 'next')?.url as string | undefined;
      if (!next) return { first, matches, complete: true, nexts, ...(total !== undefined ? { total } : {}) };
      nexts.push(next);
      if (++n >= (opts.maxPages ?? 40)) return { first, matches, complete: false, nexts, ...(total !== undefined ? { total } : {}) };
      a = await this.http(token.accessToken, 'GET', next);
      this.checkErrorText(token, a, url);
    }
  }
}

// --------------------------------------------------------------------------------------------------- resolution

function choose<T>(list: readonly T[], n: number): T | undefined {
  return list.length ? list[n % list.length] : undefined;
}

/**
 * One resource of `type`: mostly this world's; a third of the picks (when a token is given) among those the token
 * may read, so that answers carry resources to check rather than a run of 404s.
 */
function resourcesOf(cx: CaseContext, type: string, p: Pick, token?: TokenModel, opts: { history?: boolean } = {}): ResourceModel | undefined {
  let all = cx.h.model.all(type);
  if (token && p.n % 3 === 0) {
    const visible = all.filter((r) => cx.h.model.allows(token, type, current(r), 'r'));
    if (visible.length) all = visible;
  } else if (opts.history && p.n % 3 === 1) {
    // Resources with a past: moved between records, recategorized, deleted and written again.
    const changed = all.filter((r) => r.versions.length > 1);
    if (changed.length) all = changed;
  }
  const local = all.filter((r) => r.id.startsWith(`${cx.world.prefix}-`));
  return choose(p.local && local.length ? local : all, p.n);
}

/** One patient: mostly this world's, a third of the picks (with a token) among those the token reaches. */
function patientOf(cx: CaseContext, p: Pick, token?: TokenModel): string {
  if (token && p.n % 3 === 0) {
    const visible = [...cx.h.model.visiblePatients(token)];
    if (visible.length) return choose(visible, Math.floor(p.n / 3))!;
  }
  return choose(p.local ? cx.world.patients : cx.h.model.patients(), p.n)!;
}

const ANY_OP: readonly Op[] = ['r', 's'];
const READ: readonly Op[] = ['r'];
const searchOps = (e: Json | undefined): readonly Op[] => ((e?.search as Json | undefined)?.mode === 'match' ? ['s'] : ANY_OP);

/** The search parameters of a type as `name=value` pairs, from the server's own list of what it searches by. */
function searchPairs(cx: CaseContext, type: string, choices: readonly ParamChoice[], token: TokenModel): [string, string][] {
  const def = resourceDef(type);
  if (!def) return [];
  const names = [...def.params.map((p) => p.name), '_id', '_lastUpdated', '_sort', '_include', '_revinclude', ...def.params.flatMap((p) => (p.chains ?? []).map((c) => `${p.name}.${c}`))];
  const out: [string, string][] = [];
  for (const c of choices) {
    const name = names[c.slot % names.length]!;
    const p = def.params.find((x) => x.name === name);
    const patient = patientOf(cx, c.target, token);
    const some = (t: string) => resourcesOf(cx, t, c.target, token)?.id ?? 'none';
    let value: string;
    if (name === '_id') value = c.value % 3 === 0 ? `${some(type)},${some(type)}` : some(type);
    else if (name === '_lastUpdated') value = choose(['ge2000-01-01', 'lt2000-01-01', `le${new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)}`], c.value)!;
    else if (name === '_sort') value = choose(['date', '-date', '_lastUpdated', '-_lastUpdated'], c.value)!;
    else if (name === '_include') value = choose([...def.includes, '*'], c.value) ?? '*';
    else if (name === '_revinclude') value = 'Provenance:target';
    else if (name.includes('.')) value = choose(['Doc', 'doc', 'w'], c.value)!;
    else if (p?.compartment || name === 'subject' || name === 'member' || name === 'beneficiary') value = choose([`Patient/${patient}`, patient, `${cx.h.server.fhirBase}/Patient/${patient}`], c.value)!;
    else if (p?.kind === 'reference') {
      const target = p.targets?.[c.value % p.targets.length] ?? choose(['Observation', 'Practitioner', 'Patient', 'Condition'], c.value)!;
      value = target === 'Patient' ? `Patient/${patient}` : `${target}/${some(target)}`;
    } else if (p?.kind === 'token') {
      if (name === 'category') value = choose(['laboratory', `${OBS_CATEGORY}|vital-signs`, 'problem-list-item', `${CONDITION_CATEGORY}|encounter-diagnosis`, 'LAB', 'zzz', 'social-history'], c.value)!;
      else if (name === 'code') value = choose(['718-7', `${LOINC}|8867-4`, '44054006', 'zzz', `${LOINC}|`], c.value)!;
      else if (name === 'identifier') value = choose([`urn:test:id|${some(type)}`, `urn:test:mrn|${patient}`, some(type)], c.value)!;
      else value = choose(['final', 'active', 'completed', 'current', 'true', 'person', 'zzz'], c.value)!;
      if (c.value % 7 === 6) out.push([`${name}:not`, value]);
    } else if (p?.kind === 'date') value = choose(['ge2000-01-01', 'lt2100', '2024', 'ge2024-05-01T00:00:00Z', 'ne2024'], c.value)!;
    else value = choose(['Fam', 'Doc', 'Pat', 'zz', 'Rel', cx.world.prefix], c.value)!;
    out.push([name, value]);
  }
  return out;
}

// -------------------------------------------------------------------------------------------------- the checks

const tokenOf = (cx: CaseContext, n: number) => cx.world.tokens[n % cx.world.tokens.length]!;

const COMPARTMENT_TYPES = WORLD_TYPES.filter((t) => TYPES[t]!.kind === 'compartment');
const UPDATE_TYPES = ['Observation', 'Condition', 'AllergyIntolerance', 'Coverage', 'Provenance', 'Patient', 'Task', 'Practitioner', 'DiagnosticReport'];

const OP_OF: Readonly<Record<string, Op>> = { read: 'r', vread: 'r', history: 'r', search: 's', replay: 's', tamper: 's', update: 'u', delete: 'd' };

/** Three cases in four ask about a type some scope of the token can be used for (else most answers would be 403s). */
function aimed(cx: CaseContext, c: Case): Case {
  if (!('aim' in c) || c.aim % 4 === 0) return c;
  const token = tokenOf(cx, 'token' in c ? c.token : c.from);
  const fits = c.kind === 'update' ? UPDATE_TYPES : c.kind === 'vread' || c.kind === 'history' || c.kind === 'delete' ? COMPARTMENT_TYPES : c.kind === 'read' ? WORLD_TYPES : SEARCHABLE;
  const usable = fits.filter((t) => cx.h.model.typeUsable(token, t, OP_OF[c.kind]!));
  return usable.length ? { ...c, type: usable[c.aim % usable.length]! } : c;
}

export async function runCase(cx: CaseContext, asked: Case): Promise<void> {
  const c = aimed(cx, asked);
  cx.stats.cases[c.kind] = (cx.stats.cases[c.kind] ?? 0) + 1;
  const run = new Run(cx, c.kind);
  switch (c.kind) {
    case 'read':
      await read(run, c);
      break;
    case 'vread':
      await vread(run, c);
      break;
    case 'history':
      await history(run, c);
      break;
    case 'search':
      await search(run, c);
      break;
    case 'everything':
      await everything(run, c);
      break;
    case 'docref': {
      const token = tokenOf(cx, c.token);
      await run.pages(token, 'GET', `/DocumentReference/$docref?patient=${patientOf(cx, c.patient, token)}`, undefined, () => ANY_OP);
      break;
    }
    case 'create':
      await create(run, c);
      break;
    case 'update':
      await update(run, c);
      break;
    case 'delete':
      await del(run, c);
      break;
    case 'conditional':
      await conditional(run, c);
      break;
    case 'replay':
      await replay(run, c);
      break;
    case 'tamper':
      await tamper(run, c);
      break;
    case 'everything-cursor':
      await everythingCursor(run, c);
      break;
    case 'system-level':
      await systemLevel(run, c);
      break;
    case 'history-cursor': {
      const token = tokenOf(cx, c.token);
      const r = resourcesOf(cx, c.type, c.target, token);
      if (r) await run.pages(token, 'GET', `/${c.type}/${r.id}/_history?_count=1&_cursor=${c.cursor}`, undefined, () => READ);
      break;
    }
  }
  if (run.problems.length) throw new Leak(`${describe(cx, c)}\n  - ${run.problems.join('\n  - ')}`);
}

function describe(cx: CaseContext, c: Case): string {
  const tokens = 'token' in c ? [tokenOf(cx, c.token)] : 'from' in c ? [tokenOf(cx, c.from), tokenOf(cx, c.to)] : [];
  return `${c.kind} ${JSON.stringify(c)} with ${tokens.map((t) => t.label).join(' / ')}`;
}

/** Whether the token reaches the record of a version by context alone (filters aside), as for a deleted row. */
function reachesRecord(run: Run, token: TokenModel, type: string, v: VersionModel, op: Op): boolean {
  return token.scopes.some((s) => run.model.scopeAllows(token, { ...s, filters: [] }, type, v, op));
}

async function read(run: Run, c: Extract<Case, { kind: 'read' }>): Promise<void> {
  const token = tokenOf(run.cx, c.token);
  const r = c.missing ? undefined : resourcesOf(run.cx, c.type, c.target, token);
  const id = r?.id ?? `${run.cx.world.prefix}-nothing`;
  const a = await run.http(token.accessToken, 'GET', `/${c.type}/${id}`);
  run.checkErrorText(token, a, id);
  run.checkBody(token, a, () => READ, `read ${c.type}/${id}`);
  const usable = run.model.typeUsable(token, c.type, 'r');
  const now = r && current(r);
  const allowed = now !== undefined && !now.deleted && run.model.allows(token, c.type, now, 'r');
  if (!run.model.alive(token)) {
    if (a.status !== 401) run.fail(`read ${c.type}/${id}: ${a.status} with a token whose proxy access has ended (401 expected)`);
  } else if (run.model.ending(token)) {
    // Answered as issued or refused, either is right until the sweep revokes it (the body was checked above).
  } else if (!usable) {
    if (a.status !== 403) run.fail(`read ${c.type}/${id}: ${a.status} where 403 was expected (no usable scope for ${c.type})`);
  } else if (allowed && now.compartments.size <= 1) {
    if (a.status !== 200) run.fail(`read ${c.type}/${id}: ${a.status} where the token may read it: ${a.text.slice(0, 300)}`);
  } else if (now?.deleted && reachesRecord(run, token, c.type, now, 'r')) {
    if (a.status !== 410 && a.status !== 404) run.fail(`read of deleted ${c.type}/${id}: ${a.status}`);
  } else if (!allowed && a.status !== 404) {
    // Outside the token's reach is indistinguishable from absent: 404, as for an id that does not exist.
    run.fail(`read ${c.type}/${id} outside the token: ${a.status} where 404 was expected (as for an unknown id): ${a.text.slice(0, 200)}`);
  }
}

async function vread(run: Run, c: Extract<Case, { kind: 'vread' }>): Promise<void> {
  const token = tokenOf(run.cx, c.token);
  const r = resourcesOf(run.cx, c.type, c.target, token, { history: true });
  if (!r) return;
  const a = await run.http(token.accessToken, 'GET', `/${c.type}/${r.id}/_history/${c.vid}`);
  run.checkErrorText(token, a, r.id);
  run.checkBody(token, a, () => READ, `vread ${c.type}/${r.id}/_history/${c.vid}`);
}

async function history(run: Run, c: Extract<Case, { kind: 'history' }>): Promise<void> {
  const token = tokenOf(run.cx, c.token);
  const r = resourcesOf(run.cx, c.type, c.target, token, { history: true });
  if (!r) return;
  await run.pages(token, 'GET', `/${c.type}/${r.id}/_history?_count=${c.count}`, undefined, () => READ);
}

/** What a search of `type` may return at most, and must return when nothing but result parameters narrows it. */
function expectedMatches(run: Run, token: TokenModel, type: string, narrow?: (r: ResourceModel) => boolean): { all: Set<string>; certain: Set<string> } {
  const all = new Set<string>();
  const certain = new Set<string>();
  for (const r of run.model.all(type)) {
    const v = current(r);
    if (v.deleted || (narrow && !narrow(r)) || !run.model.allows(token, type, v, 's')) continue;
    all.add(`${type}/${r.id}`);
    if (v.compartments.size <= 1) certain.add(`${type}/${r.id}`);
  }
  return { all, certain };
}

const RESULT_ONLY = new Set(['_sort', '_include', '_revinclude', '_count', '_total', '_summary']);

async function search(run: Run, c: Extract<Case, { kind: 'search' }>): Promise<void> {
  const token = tokenOf(run.cx, c.token);
  const pairs = searchPairs(run.cx, c.type, c.params, token);
  if (c.count !== null) pairs.push(['_count', String(c.count)]);
  if (c.total) pairs.push(['_total', 'accurate']);
  if (c.summaryCount) pairs.push(['_summary', 'count']);
  const q = new URLSearchParams(pairs).toString();
  const result = c.post
    ? await run.pages(token, 'POST', `/${c.type}/_search`, q, searchOps, { headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    : await run.pages(token, 'GET', `/${c.type}${q ? `?${q}` : ''}`, undefined, searchOps);
  const usable = run.model.typeUsable(token, c.type, 's');
  if (!usable && result.first.status === 200) run.fail(`search ${c.type}?${q}: 200 without a usable scope for ${c.type}`);
  if (result.first.status !== 200) return;
  const { all, certain } = expectedMatches(run, token, c.type);
  // The total counts only what the token may see.
  if (result.total !== undefined && result.total > all.size) run.fail(`search ${c.type}?${q}: total ${result.total} but the token may see only ${all.size} ${c.type}`);
  // Nothing narrows the search but result parameters (or only the patient, or the id): the answer is exactly the
  // resources the token may see, over every page.
  const filters = pairs.filter(([k]) => !RESULT_ONLY.has(k));
  if (!result.complete || c.summaryCount || run.model.ending(token)) return;
  let narrowed: { all: Set<string>; certain: Set<string> } | undefined;
  if (!filters.length) narrowed = { all, certain };
  else if (filters.length === 1 && filters[0]![0] === 'patient') {
    const p = filters[0]![1].replace(/^.*Patient\//, '');
    narrowed = expectedMatches(run, token, c.type, (r) => current(r).compartments.has(p));
  }
  if (!narrowed) return;
  const got = new Set(result.matches);
  const missing = [...narrowed.certain].filter((k) => !got.has(k));
  if (missing.length) run.fail(`search ${c.type}?${q}: the token may see ${missing.join(', ')}, which the answer left out`);
  if (result.total !== undefined && c.total && result.total !== got.size) run.fail(`search ${c.type}?${q}: total ${result.total}, ${got.size} matches`);
}

async function everything(run: Run, c: Extract<Case, { kind: 'everything' }>): Promise<void> {
  const token = tokenOf(run.cx, c.token);
  const patient = patientOf(run.cx, c.patient, token);
  const qs = `_count=${c.count}${c.types ? `&_type=${c.types.join(',')}` : ''}`;
  const url = `/Patient/${patient}/$everything`;
  if (c.post) {
    const body = JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: '_count', valueInteger: c.count }, ...(c.types ? [{ name: '_type', valueString: c.types.join(',') }] : [])] });
    await run.pages(token, 'POST', url, body, () => ANY_OP);
  } else await run.pages(token, 'GET', `${url}?${qs}`, undefined, () => ANY_OP);
}

// ---------------------------------------------------------------------------------------------------------- writes

function templateBody(cx: CaseContext, t: Template, owner: string, other: string, otherPick: Pick): { type: string; body: Json } {
  const shared = cx.world.shared;
  const id = 'placeholder';
  const anyResource = () => {
    const all = cx.h.model.all().filter((r) => TYPES[r.type]!.kind === 'compartment' && r.type !== 'Patient');
    return choose(all, otherPick.n)!;
  };
  switch (t) {
    case 'obs-lab':
      return { type: 'Observation', body: observation(id, owner, 'laboratory') };
    case 'obs-vital':
      return { type: 'Observation', body: observation(id, owner, 'vital-signs', '8867-4') };
    case 'obs-member-other':
      return { type: 'Observation', body: observation(id, owner, 'laboratory', '718-7', { hasMember: [{ reference: `Observation/${other}-lab` }] }) };
    case 'cond-problem':
      return { type: 'Condition', body: { resourceType: 'Condition', category: [{ coding: [{ system: CONDITION_CATEGORY, code: 'problem-list-item' }] }], code: { coding: [{ system: 'http://snomed.info/sct', code: '1' }] }, subject: { reference: `Patient/${owner}` } } };
    case 'allergy':
      return { type: 'AllergyIntolerance', body: { resourceType: 'AllergyIntolerance', patient: { reference: `Patient/${owner}` } } };
    case 'coverage':
      return { type: 'Coverage', body: { resourceType: 'Coverage', status: 'active', beneficiary: { reference: `Patient/${owner}` }, subscriber: { reference: `Patient/${other}` }, payor: [{ reference: `Organization/${shared.organization}` }] } };
    case 'report-other':
      return { type: 'DiagnosticReport', body: { resourceType: 'DiagnosticReport', status: 'final', code: { coding: [{ system: LOINC, code: '58410-2' }] }, subject: { reference: `Patient/${owner}` }, result: [{ reference: `Observation/${other}-lab` }] } };
    case 'provenance-any': {
      // A Provenance about any resource of any record: it joins that record, so it is a write into it.
      const target = anyResource();
      return { type: 'Provenance', body: { resourceType: 'Provenance', target: [{ reference: `${target.type}/${target.id}` }], recorded: '2024-01-01T00:00:00Z', agent: [{ who: { reference: `Practitioner/${shared.practitioners[0]}` } }] } };
    }
    case 'provenance-mixed':
      return { type: 'Provenance', body: { resourceType: 'Provenance', target: [{ reference: `Observation/${other}-lab` }, { reference: `Observation/${owner}-lab` }], recorded: '2024-01-01T00:00:00Z', agent: [{ who: { reference: `Practitioner/${shared.practitioners[0]}` } }] } };
    case 'task':
      return { type: 'Task', body: { resourceType: 'Task', status: 'requested', intent: 'order', for: { reference: `Patient/${owner}` } } };
    case 'patient':
      return { type: 'Patient', body: { resourceType: 'Patient', name: [{ family: 'New' }], link: [{ other: { reference: `Patient/${owner}` }, type: 'seealso' }] } };
    case 'practitioner':
      return { type: 'Practitioner', body: { resourceType: 'Practitioner', name: [{ family: 'Doc' }] } };
    case 'group':
      return { type: 'Group', body: { resourceType: 'Group', type: 'person', actual: true, member: [{ entity: { reference: `Patient/${owner}` } }, { entity: { reference: `Patient/${other}` } }] } };
    case 'encounter':
      return { type: 'Encounter', body: { resourceType: 'Encounter', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject: { reference: `Patient/${owner}` } } };
  }
}

/** The newest version as the all-access reader sees it: 'absent', or its id and content (null once deleted). */
async function latest(run: Run, type: string, id: string): Promise<'absent' | { versionId: number; body: Json | null }> {
  const a = await run.http(run.cx.h.auditor, 'GET', `/${type}/${id}/_history?_count=1`);
  if (a.status === 404) return 'absent';
  if (a.status !== 200) throw new Error(`auditor history ${type}/${id}: ${a.status} ${a.text.slice(0, 200)}`);
  const e = ((a.json!.entry as Json[]) ?? [])[0]!;
  const body = (e.resource as Json | undefined) ?? null;
  const vid = Number(/"(\d+)"/.exec(String((e.response as Json).etag))?.[1]);
  return { versionId: vid, body };
}

/**
 * Brings the model up to what the database holds for one resource; true when a new version landed. `inspect` sees
 * the new version judged against the world as it was before it (a write can end the writer's own access, e.g. a
 * proxied child's birth date made adult).
 */
async function resync(run: Run, type: string, id: string, inspect?: (v: VersionModel) => void): Promise<boolean> {
  const now = await latest(run, type, id);
  const known = run.model.get(type, id);
  if (now === 'absent') {
    if (known) run.fail(`${type}/${id} is in the model but not in the database`);
    return false;
  }
  const last = known && current(known);
  if (last && last.versionId === now.versionId) return false;
  const version: VersionModel = now.body ? versionOf(run.model, type, now.body, now.versionId) : { versionId: now.versionId, deleted: true, compartments: last?.compartments ?? new Set(), tokens: last?.tokens ?? {} };
  inspect?.(version);
  if (known) known.versions.push(version);
  else run.model.resources.set(run.model.key(type, id), { type, id, versions: [version] });
  return true;
}

async function countOf(run: Run, type: string): Promise<number> {
  const a = await run.http(run.cx.h.auditor, 'GET', `/${type}?_summary=count`);
  return Number(a.json?.total);
}

const modelCount = (run: Run, type: string) => run.model.all(type).filter((r) => !current(r).deleted).length;

async function create(run: Run, c: Extract<Case, { kind: 'create' }>): Promise<void> {
  const token = tokenOf(run.cx, c.token);
  const owner = patientOf(run.cx, c.owner, token);
  let other = patientOf(run.cx, c.other);
  if (other === owner) other = run.cx.world.patients.find((p) => p !== owner) ?? other;
  const { type, body } = templateBody(run.cx, c.template, owner, other, c.other);
  delete body.id;
  if (type === 'Observation') delete body.identifier;
  const expected = versionOf(run.model, type, type === 'Patient' ? { ...body, id: '(new)' } : body, 1);
  const allowed = run.model.allows(token, type, expected, 'c');
  const before = await countOf(run, type);
  // Conditional create is not supported (CapabilityStatement: conditionalCreate false): If-None-Exist naming
  // another record's resource must neither answer with it nor change what is written.
  const headers: Record<string, string> = c.ifNoneExist ? { 'if-none-exist': `identifier=urn:test:id|${other}-lab` } : {};
  const text = JSON.stringify(body);
  const a = await run.http(token.accessToken, 'POST', `/${type}`, text, headers);
  run.checkErrorText(token, a, text);
  if (a.status === 201) {
    const id = String(a.json?.id);
    await resync(run, type, id, (made) => {
      if (!run.model.allows(token, type, made, 'c')) run.fail(`create ${type} landed as ${type}/${id} in the record of ${[...made.compartments].join(', ') || 'no one'}, outside ${token.label}`);
    });
    run.cx.stats.writesLanded++;
    run.checkBody(token, a, () => ['c', 'r'], `create ${type}`);
    return;
  }
  run.cx.stats.writesRefused++;
  if (a.status < 400) run.fail(`create ${type}: unexpected ${a.status}`);
  if (allowed && type !== 'Patient' && expected.compartments.size <= 1 && !run.model.ending(token)) run.fail(`create ${type} for ${owner}: ${a.status} though the token may write it: ${a.text.slice(0, 300)}`);
  const after = await countOf(run, type);
  if (after !== before) run.fail(`create ${type} was refused with ${a.status}, yet the ${type} count went from ${before} to ${after}`);
  if (after !== modelCount(run, type)) run.fail(`the database holds ${after} ${type}, the model ${modelCount(run, type)}`);
}

const UPDATE_TEMPLATES: Readonly<Record<string, readonly Template[]>> = {
  Observation: ['obs-lab', 'obs-vital', 'obs-member-other'],
  Condition: ['cond-problem'],
  AllergyIntolerance: ['allergy'],
  Coverage: ['coverage'],
  Provenance: ['provenance-any', 'provenance-mixed'],
  Task: ['task'],
  DiagnosticReport: ['report-other'],
};

async function update(run: Run, c: Extract<Case, { kind: 'update' }>): Promise<void> {
  const token = tokenOf(run.cx, c.token);
  const target = c.fresh ? undefined : resourcesOf(run.cx, c.type, c.target, token);
  const id = target?.id ?? `${run.cx.world.prefix}-new-${c.target.n % 100_000}`;
  const owner = patientOf(run.cx, c.owner, token);
  let other = patientOf(run.cx, c.other);
  if (other === owner) other = run.cx.world.patients.find((p) => p !== owner) ?? other;
  let body: Json;
  if (c.type === 'Patient') body = { resourceType: 'Patient', id, name: [{ family: 'Changed' }], birthDate: '2001-01-01' };
  else if (c.type === 'Practitioner') body = { resourceType: 'Practitioner', id, name: [{ family: 'Changed' }] };
  else {
    const options = UPDATE_TEMPLATES[c.type]!;
    const template = options[c.variant % options.length]!;
    body = { ...templateBody(run.cx, template, owner, other, c.other).body, id };
  }
  const before = target ? current(target) : undefined;
  const next = versionOf(run.model, c.type, body, (before?.versionId ?? 0) + 1);
  const mayReplace = !before || before.deleted || run.model.allows(token, c.type, before, 'u');
  const allowed = mayReplace && run.model.allows(token, c.type, next, 'u');
  const text = JSON.stringify(body);
  const a = await run.http(token.accessToken, 'PUT', `/${c.type}/${id}`, text);
  run.checkErrorText(token, a, text + id);
  let outside: string | undefined;
  const landed = await resync(run, c.type, id, (made) => {
    if (!run.model.allows(token, c.type, made, 'u')) outside = `update ${c.type}/${id} landed in the record of ${[...made.compartments].join(', ') || 'no one'}, outside ${token.label}`;
  });
  if (a.status === 200 || a.status === 201) {
    run.cx.stats.writesLanded++;
    if (!landed) run.fail(`update ${c.type}/${id} answered ${a.status} but no version landed`);
    if (outside) run.fail(outside);
    if (!mayReplace) run.fail(`update ${c.type}/${id} replaced a version in the record of ${[...before!.compartments].join(', ')}, outside ${token.label}`);
    return;
  }
  run.cx.stats.writesRefused++;
  if (landed) run.fail(`update ${c.type}/${id} was refused with ${a.status}, yet a new version landed`);
  const lenient = (before?.compartments.size ?? 0) > 1 || next.compartments.size > 1 || run.model.ending(token);
  if (allowed && !lenient) run.fail(`update ${c.type}/${id}: ${a.status} though the token may write it: ${a.text.slice(0, 300)}`);
}

async function del(run: Run, c: Extract<Case, { kind: 'delete' }>): Promise<void> {
  const token = tokenOf(run.cx, c.token);
  const target = resourcesOf(run.cx, c.type, c.target, token);
  if (!target) return;
  const before = current(target);
  const mayDelete = !before.deleted && run.model.allows(token, c.type, before, 'd');
  const usable = run.model.typeUsable(token, c.type, 'd');
  const a = await run.http(token.accessToken, 'DELETE', `/${c.type}/${target.id}`);
  run.checkErrorText(token, a, target.id);
  const landed = await resync(run, c.type, target.id);
  if (a.status === 204 || a.status === 200) {
    run.cx.stats.writesLanded++;
    if (!before.deleted && !mayDelete) run.fail(`delete ${c.type}/${target.id} (record of ${[...before.compartments].join(', ')}) outside ${token.label} was done`);
    return;
  }
  run.cx.stats.writesRefused++;
  if (landed) run.fail(`delete ${c.type}/${target.id} was refused with ${a.status}, yet a new version landed`);
  if (before.compartments.size <= 1 && mayDelete && !run.model.ending(token)) run.fail(`delete ${c.type}/${target.id}: ${a.status} though the token may delete it`);
  if (!before.deleted && !mayDelete && usable && a.status !== 404 && !(a.status === 401 && run.model.ending(token))) {
    run.fail(`delete ${c.type}/${target.id} outside the token: ${a.status} where 404 was expected`);
  }
}

async function conditional(run: Run, c: Extract<Case, { kind: 'conditional' }>): Promise<void> {
  const token = tokenOf(run.cx, c.token);
  const patient = patientOf(run.cx, c.patient, token);
  const query = c.type === 'Patient' ? `identifier=urn:test:mrn|${patient}` : `patient=${patient}`;
  const victims = c.type === 'Patient' ? [`${patient}`] : run.model.all(c.type).filter((r) => current(r).compartments.has(patient)).map((r) => r.id);
  const beforeCount = await countOf(run, c.type);
  const body = c.type === 'Patient' ? { resourceType: 'Patient', name: [{ family: 'Conditional' }] } : c.type === 'Condition' ? { resourceType: 'Condition', subject: { reference: `Patient/${patient}` } } : observation('x', patient, 'laboratory');
  delete (body as Json).id;
  const a = c.method === 'POST'
    ? await run.http(token.accessToken, 'POST', `/${c.type}?${query}`, JSON.stringify(body), { 'if-none-exist': query })
    : await run.http(token.accessToken, c.method, `/${c.type}?${query}`, c.method === 'PUT' ? JSON.stringify(body) : undefined);
  run.checkErrorText(token, a, query + JSON.stringify(body));
  for (const id of victims) if (await resync(run, c.type, id)) run.fail(`conditional ${c.method} ${c.type}?${query} changed ${c.type}/${id}`);
  if (a.status === 201) {
    // Not supported, If-None-Exist is ignored: a plain create, which must land within the token's reach.
    await resync(run, c.type, String(a.json?.id), (made) => {
      if (!run.model.allows(token, c.type, made, 'c')) run.fail(`conditional create landed outside ${token.label}`);
    });
    run.checkBody(token, a, () => ['c', 'r'], `conditional ${c.method} ${c.type}?${query}`);
    return;
  }
  const after = await countOf(run, c.type);
  if (after !== beforeCount) run.fail(`conditional ${c.method} ${c.type}?${query} answered ${a.status} and the count went ${beforeCount} → ${after}`);
}

// ------------------------------------------------------------------------------------------------------ cursors

function nextLinkOf(a: Answer): string | undefined {
  return ((a.json?.link as Json[] | undefined) ?? []).find((l) => l.relation === 'next')?.url as string | undefined;
}

async function replay(run: Run, c: Extract<Case, { kind: 'replay' }>): Promise<void> {
  const a = tokenOf(run.cx, c.from);
  const b = tokenOf(run.cx, c.to);
  const pairs: [string, string][] = [...searchPairs(run.cx, c.type, c.params, a), ['_count', '1']];
  const first = await run.http(a.accessToken, 'GET', `/${c.type}?${new URLSearchParams(pairs)}`);
  run.checkBody(a, first, searchOps, `search as ${a.label}`);
  const next = nextLinkOf(first);
  if (!next) return;
  // Token A's paging link, followed with token B: B sees only what B may see, on every page it reaches.
  await run.pages(b, 'GET', next, undefined, searchOps);
}

function mutateCursor(cursor: string, m: Mutation, n: number): string {
  const raw = Buffer.from(cursor, 'base64url');
  switch (m) {
    case 'flip': {
      const i = n % Math.max(1, raw.length);
      raw[i] = raw[i]! ^ (1 << (n % 7));
      return raw.toString('base64url');
    }
    case 'shift': {
      const text = raw.toString();
      const parts = text.split('.');
      const i = 1 + (n % 2);
      if (parts[i] !== undefined) parts[i] = String(Number(parts[i]) + ((n % 11) - 5) * (n % 3 === 0 ? 1000 : 1));
      if (n % 5 === 0) parts[0] = parts[0] === 'a' ? 'b' : 'a';
      return Buffer.from(parts.join('.')).toString('base64url');
    }
    case 'garbage':
      return Buffer.from(`a.${n}.${n % 1000}`).toString('base64url') + (n % 2 ? '' : '%00');
    case 'truncate':
      return cursor.slice(0, Math.max(1, cursor.length - 1 - (n % 4)));
    case 'swap-search':
      return cursor;
  }
}

async function tamper(run: Run, c: Extract<Case, { kind: 'tamper' }>): Promise<void> {
  const token = tokenOf(run.cx, c.token);
  const pairs: [string, string][] = [...searchPairs(run.cx, c.type, c.params, token), ['_count', '1']];
  const first = await run.http(token.accessToken, 'GET', `/${c.type}?${new URLSearchParams(pairs)}`);
  run.checkBody(token, first, searchOps, `search ${c.type}`);
  const next = nextLinkOf(first);
  if (!next) return;
  const url = new URL(next);
  const cursor = url.searchParams.get('_cursor') ?? '';
  if (c.mutation === 'swap-search') {
    // The cursor moved into a search of another record (or of another type): only what the token may see.
    const patient = patientOf(run.cx, c.other);
    const type = TYPES[c.type]!.kind === 'compartment' && c.type !== 'Patient' ? c.type : 'Observation';
    await run.pages(token, 'GET', `/${type}?patient=${patient}&_count=1&_cursor=${encodeURIComponent(cursor)}`, undefined, searchOps);
    return;
  }
  url.searchParams.set('_cursor', mutateCursor(cursor, c.mutation, c.n));
  await run.pages(token, 'GET', url.toString(), undefined, searchOps);
}

async function everythingCursor(run: Run, c: Extract<Case, { kind: 'everything-cursor' }>): Promise<void> {
  const token = tokenOf(run.cx, c.from);
  const patient = patientOf(run.cx, c.patient, token);
  const first = await run.http(token.accessToken, 'GET', `/Patient/${patient}/$everything?_count=1`);
  run.checkBody(token, first, () => ANY_OP, `$everything of ${patient}`);
  const next = nextLinkOf(first);
  if (!next) return;
  const url = new URL(next);
  let user = token;
  if (c.mutation === 'swap-patient') {
    // The cursor of one record's $everything on another's: refused (400), never a page of the other record.
    const other = patientOf(run.cx, c.other);
    if (other === patient) return;
    url.pathname = url.pathname.replace(`/Patient/${patient}/`, `/Patient/${other}/`);
  } else if (c.mutation === 'flip') {
    url.searchParams.set('_cursor', mutateCursor(url.searchParams.get('_cursor') ?? '', 'flip', c.other.n));
  } else user = tokenOf(run.cx, c.token);
  const a = await run.pages(user, 'GET', url.toString(), undefined, () => ANY_OP);
  if (c.mutation === 'swap-patient' && a.first.status === 200) run.fail(`$everything cursor of ${patient} was accepted for another patient: ${url}`);
}

// ------------------------------------------------------------------------------------------------ whole system

/**
 * Interactions across every record at once, which the server does not offer (system and type history, system search,
 * type-level $everything, transaction and batch Bundles): whatever they answer holds nothing outside the grant, and a
 * Bundle of writes into another record changes nothing.
 */
async function systemLevel(run: Run, c: Extract<Case, { kind: 'system-level' }>): Promise<void> {
  const token = tokenOf(run.cx, c.token);
  const patient = patientOf(run.cx, c.patient);
  const reads = [
    '/_history',
    '/Observation/_history',
    `/?_type=Observation,Condition&patient=${patient}`,
    '/_search',
    '/Patient/$everything',
    `/Group/${run.cx.world.group.id}/$everything`,
    `/Observation?patient=${patient}&_format=json&_pretty=true`,
  ];
  const variant = c.variant % (reads.length + 2);
  if (variant < reads.length) {
    await run.pages(token, 'GET', reads[variant]!, undefined, () => ANY_OP);
    return;
  }
  const type = 'Observation';
  const before = await countOf(run, type);
  const victims = run.model.all(type).filter((r) => current(r).compartments.has(patient)).map((r) => r.id);
  const victim = victims[0];
  const entry = (request: Json, resource?: Json) => ({ ...(resource ? { resource } : {}), request });
  const bundle = {
    resourceType: 'Bundle',
    type: variant === reads.length ? 'transaction' : 'batch',
    entry: [
      entry({ method: 'POST', url: type }, observation('x', patient, 'laboratory')),
      ...(victim ? [entry({ method: 'PUT', url: `${type}/${victim}` }, observation(victim, patient, 'vital-signs')), entry({ method: 'DELETE', url: `${type}/${victim}` })] : []),
    ],
  };
  const text = JSON.stringify(bundle);
  const a = await run.http(token.accessToken, 'POST', '', text);
  run.checkErrorText(token, a, text);
  run.checkBody(token, a, () => ANY_OP, `${bundle.type} Bundle`);
  if (victim && (await resync(run, type, victim))) run.fail(`a ${bundle.type} Bundle changed ${type}/${victim}`);
  const after = await countOf(run, type);
  if (a.status >= 200 && a.status < 300) run.fail(`a ${bundle.type} Bundle was accepted (${a.status}); this server has no transaction or batch`);
  if (after !== before) run.fail(`a ${bundle.type} Bundle answered ${a.status} and the ${type} count went ${before} → ${after}`);
}
