// The cross-patient property test's own idea of who may see what, written from FHIR R4 and SMART App Launch 2.2
// and the access rules the README documents, never from the server's code: the patient compartment of each type the
// test uses, the scope grammar (v1 read/write/*, v2 cruds letters, granular ?param=system|code), the proxy rules
// (self; a parent or guardian: all of a child under 13, only the teen types from 13 to 17, nothing from 18; a legal
// authorization: all, between its dates) and what each resource version of the generated world holds.

export const OBS_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
export const CONDITION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/condition-category';
export const LOINC = 'http://loinc.org';

export type Op = 'c' | 'r' | 'u' | 'd' | 's';
export type Context = 'patient' | 'user' | 'system';

/**
 * compartment: someone's record (R4 patient compartment); shared: no one's record, readable by any token whose scopes
 * name it (Practitioner, Medication, ...); private: about one person but outside the compartment (Task) or about many
 * (Group), so only system/ and clinicians' user/ tokens reach it.
 */
export type TypeKind = 'compartment' | 'shared' | 'private';

interface TypeInfo {
  readonly kind: TypeKind;
  /** R4 CompartmentDefinition paths that make a resource part of a patient's record */
  readonly compartmentPaths?: readonly string[];
  /** A parent of a 13 to 17 year old sees it (basic information, allergies, immunizations, coverage) */
  readonly teen?: boolean;
  /** Token parameters a granular scope may filter on, with the element each reads */
  readonly tokenParams?: Readonly<Record<string, string>>;
}

export const TYPES: Readonly<Record<string, TypeInfo>> = {
  Patient: { kind: 'compartment', teen: true },
  Observation: { kind: 'compartment', compartmentPaths: ['subject', 'performer'], tokenParams: { category: 'category', code: 'code', status: 'status' } },
  Condition: { kind: 'compartment', compartmentPaths: ['subject', 'asserter'], tokenParams: { category: 'category', code: 'code' } },
  AllergyIntolerance: { kind: 'compartment', compartmentPaths: ['patient', 'recorder', 'asserter'], teen: true },
  Immunization: { kind: 'compartment', compartmentPaths: ['patient'], teen: true },
  Encounter: { kind: 'compartment', compartmentPaths: ['subject'] },
  MedicationRequest: { kind: 'compartment', compartmentPaths: ['subject'] },
  DiagnosticReport: { kind: 'compartment', compartmentPaths: ['subject'] },
  DocumentReference: { kind: 'compartment', compartmentPaths: ['subject', 'author'] },
  Coverage: { kind: 'compartment', compartmentPaths: ['policyHolder', 'subscriber', 'beneficiary', 'payor'], teen: true },
  Claim: { kind: 'compartment', compartmentPaths: ['patient', 'payee.party'] },
  RelatedPerson: { kind: 'compartment', compartmentPaths: ['patient'], teen: true },
  // R4 puts a Provenance in the compartment of a Patient it targets; the server also files one about a clinical
  // resource under that resource's record (documented in compartment-owner.ts), which the model follows.
  Provenance: { kind: 'compartment', compartmentPaths: ['target'] },
  Practitioner: { kind: 'shared' },
  PractitionerRole: { kind: 'shared' },
  Organization: { kind: 'shared' },
  Location: { kind: 'shared' },
  Medication: { kind: 'shared' },
  Task: { kind: 'private' },
  Group: { kind: 'private' },
};

export const WORLD_TYPES: readonly string[] = Object.keys(TYPES);

// ---------------------------------------------------------------------------------------------------------- scopes

/** One `param=value[,value...]` of a granular scope: any of the values (system|code, or a bare code) matches. */
export interface TokenFilter {
  readonly param: string;
  readonly values: readonly Coding[];
}

export interface ScopeModel {
  readonly raw: string;
  readonly context: Context;
  readonly type: string;
  readonly ops: ReadonlySet<Op>;
  readonly filters: readonly TokenFilter[];
}

const V1_OPS: Readonly<Record<string, readonly Op[]>> = { read: ['r', 's'], write: ['c', 'u', 'd'], '*': ['c', 'r', 'u', 'd', 's'] };

/** SMART 2.2 resource scope → model; undefined for anything else (launch, openid, ...). */
export function parseScopeModel(raw: string): ScopeModel | undefined {
  const m = /^(patient|user|system)\/(\*|[A-Z][A-Za-z]+)\.([a-z*]+)(?:\?(.*))?$/.exec(raw);
  if (!m) return undefined;
  const [, context, type, perms, query] = m as unknown as [string, Context, string, string, string | undefined];
  let ops: Op[];
  if (V1_OPS[perms]) {
    if (query !== undefined) return undefined;
    ops = [...V1_OPS[perms]!];
  } else if (/^c?r?u?d?s?$/.test(perms) && perms.length) ops = [...perms] as Op[];
  else return undefined;
  const filters = [...new URLSearchParams(query ?? '')].map(([param, value]) => ({
    param,
    values: value.split(',').map((v) => {
      const bar = v.indexOf('|');
      return bar < 0 ? { code: v } : { system: v.slice(0, bar), code: v.slice(bar + 1) };
    }),
  }));
  return { raw, context, type, ops: new Set(ops), filters };
}

/** Whether `wide` allows at least everything `narrow` does (same context; type, operations and filters no wider). */
export function scopeCoversModel(wide: ScopeModel, narrow: ScopeModel): boolean {
  if (wide.context !== narrow.context) return false;
  if (wide.type !== '*' && wide.type !== narrow.type) return false;
  if (![...narrow.ops].every((o) => wide.ops.has(o))) return false;
  // Every value the narrow filter allows is one the wide filter allows.
  const within = (v: Coding, f: TokenFilter) => f.values.some((w) => w.code === v.code && (w.system === undefined || w.system === v.system));
  return wide.filters.every((f) => narrow.filters.some((g) => g.param === f.param && g.values.every((v) => within(v, f))));
}

// ------------------------------------------------------------------------------------------------- world contents

export interface Coding {
  readonly system?: string;
  readonly code: string;
}

export interface VersionModel {
  readonly versionId: number;
  readonly deleted: boolean;
  /** The patients whose record this version is part of (several for a Coverage of a child on a parent's policy) */
  readonly compartments: ReadonlySet<string>;
  /** Token values per filterable parameter */
  readonly tokens: Readonly<Record<string, readonly Coding[]>>;
  /** A Patient's birth date in this version (proxy access depends on the record's current one) */
  readonly birthDate?: string;
}

export interface ResourceModel {
  readonly type: string;
  readonly id: string;
  readonly versions: VersionModel[];
}

export const current = (r: ResourceModel): VersionModel => r.versions[r.versions.length - 1]!;

export interface AccountModel {
  readonly id: string;
  readonly username: string;
  readonly role: 'patient' | 'clinician';
  readonly patientId: string | null;
}

export interface RelationModel {
  readonly holderAccountId: string;
  readonly patientId: string;
  readonly relationship: 'parent' | 'guardian' | 'legal-authorization';
  readonly startsAt: number;
  readonly endsAt: number | null;
  readonly revokedAt: number | null;
}

export interface TokenModel {
  readonly label: string;
  readonly accessToken: string;
  readonly clientId: string;
  readonly account?: AccountModel;
  /** The launch context patient the token response named */
  readonly patient?: string;
  readonly scopes: readonly ScopeModel[];
  readonly backend: boolean;
}

const DAY_MS = 86_400_000;

/** Completed years at `now`, in UTC calendar days; undefined without a full YYYY-MM-DD date. */
export function ageAt(birthDate: string | undefined, now: number): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(birthDate ?? '');
  if (!m) return undefined;
  const d = new Date(now);
  const years = d.getUTCFullYear() - Number(m[1]);
  const month = d.getUTCMonth() + 1;
  const before = month < Number(m[2]) || (month === Number(m[2]) && d.getUTCDate() < Number(m[3]));
  return before ? years - 1 : years;
}

/** What a record lets its viewer reach: everything, or only the teen types. */
export type Reach = 'all' | 'teen';

/** The whole generated world as the test believes it to be: every resource version, account and proxy relation. */
export class WorldModel {
  readonly resources = new Map<string, ResourceModel>();
  readonly accounts = new Map<string, AccountModel>();
  readonly relations: RelationModel[] = [];
  /** The world's patients (as generated); their birth dates and whether they exist come from their Patient resource */
  readonly birthDates = new Map<string, string | undefined>();

  key = (type: string, id: string) => `${type}/${id}`;

  get(type: string, id: string): ResourceModel | undefined {
    return this.resources.get(this.key(type, id));
  }

  version(type: string, id: string, versionId: number): VersionModel | undefined {
    return this.get(type, id)?.versions.find((v) => v.versionId === versionId);
  }

  all(type?: string): ResourceModel[] {
    return [...this.resources.values()].filter((r) => type === undefined || r.type === type);
  }

  patients(): string[] {
    return [...this.birthDates.keys()];
  }

  /** A patient's record as it stands: whether its Patient resource exists (not deleted), and its birth date. */
  record(patientId: string): { readonly live: boolean; readonly birthDate?: string } {
    const p = this.get('Patient', patientId);
    const now = p && current(p);
    return now && !now.deleted ? { live: true, ...(now.birthDate ? { birthDate: now.birthDate } : {}) } : { live: false };
  }

  /**
   * Records an account reaches now: its own, and those of active proxy relations (clinicians: handled by callers).
   * 'user': whose records a user/ scope reaches, per request, from the records as they are (a record whose Patient
   * was deleted is no one's to list; the birth date is the current one). 'granted': whether a launch made through a
   * relation stands, from the records as they were when the token was issued: a change to the record (a corrected
   * birth date, a deleted Patient) ends such a token only when the portal's sweep revokes its grant (each minute), so
   * until then the server may answer it either way (see `ending`).
   */
  reach(account: AccountModel, now = Date.now(), purpose: 'user' | 'granted' = 'user'): Map<string, Reach> {
    const out = new Map<string, Reach>();
    if (account.role !== 'patient') return out;
    const recordOf = (id: string) => (purpose === 'user' ? this.record(id) : { live: true, birthDate: this.birthDates.get(id) });
    if (account.patientId && this.birthDates.has(account.patientId) && recordOf(account.patientId).live) out.set(account.patientId, 'all');
    for (const r of this.relations) {
      if (r.holderAccountId !== account.id || out.has(r.patientId)) continue;
      if (r.revokedAt !== null && r.revokedAt <= now) continue;
      if (now < r.startsAt || (r.endsAt !== null && now >= r.endsAt)) continue;
      const record = recordOf(r.patientId);
      if (!record.live) continue;
      if (r.relationship === 'legal-authorization') {
        out.set(r.patientId, 'all');
        continue;
      }
      const age = ageAt(record.birthDate, now);
      if (age === undefined || age >= 18) continue;
      out.set(r.patientId, age < 13 ? 'all' : 'teen');
    }
    return out;
  }

  /** A token launched on a record reached through a proxy relation: the account and the record. */
  #proxied(token: TokenModel): { account: AccountModel; patient: string } | undefined {
    const a = token.account;
    if (token.backend || !a || a.role !== 'patient' || !token.patient || token.patient === a.patientId) return undefined;
    return { account: a, patient: token.patient };
  }

  /** Whether the token is accepted, as issued: one launched through a proxy relation stops with it (ended, revoked, 18). */
  alive(token: TokenModel, now = Date.now()): boolean {
    const p = this.#proxied(token);
    return !p || this.reach(p.account, now, 'granted').has(p.patient);
  }

  /**
   * A live token whose relation a change to the record has since ended (the child's birth date corrected to an
   * adult's, the Patient deleted): refused once the sweep revokes its grant, answered as issued until then. Its
   * answers are held to what it was granted, and a 401 is as good as any other.
   */
  ending(token: TokenModel, now = Date.now()): boolean {
    const p = this.#proxied(token);
    if (!p || !this.alive(token, now)) return false;
    const granted = this.reach(p.account, now, 'granted').get(p.patient);
    const record = this.record(p.patient);
    const relation = this.relations.find((r) => r.holderAccountId === p.account.id && r.patientId === p.patient);
    if (!record.live) return relation?.relationship !== 'legal-authorization';
    if (relation?.relationship === 'legal-authorization') return false;
    const age = ageAt(record.birthDate, now);
    const nowReach = age === undefined || age >= 18 ? undefined : age < 13 ? 'all' : 'teen';
    return nowReach !== granted;
  }

  /** Whether a token may do `op` on this version of a resource of `type`. */
  allows(token: TokenModel, type: string, version: VersionModel, op: Op, now = Date.now()): boolean {
    return this.alive(token, now) && token.scopes.some((s) => this.scopeAllows(token, s, type, version, op, now));
  }

  scopeAllows(token: TokenModel, s: ScopeModel, type: string, version: VersionModel, op: Op, now = Date.now()): boolean {
    const info = TYPES[type];
    if (!info || (s.type !== '*' && s.type !== type) || !s.ops.has(op)) return false;
    if (!this.#contextAllows(token, s.context, type, info, version, op, now)) return false;
    return s.filters.every((f) => {
      const element = info.tokenParams?.[f.param];
      if (!element) return false; // a filter the type cannot be filtered by grants nothing
      return (version.tokens[f.param] ?? []).some((c) => f.values.some((v) => c.code === v.code && (v.system === undefined || c.system === v.system)));
    });
  }

  #contextAllows(token: TokenModel, context: Context, type: string, info: TypeInfo, version: VersionModel, op: Op, now: number): boolean {
    if (context === 'system') return token.backend;
    if (token.backend) return false;
    const clinician = token.account?.role === 'clinician';
    if (context === 'user' && clinician) return true;
    if (info.kind === 'private') return false;
    if (info.kind === 'shared') return op === 'r' || op === 's';
    const teenOk = (reach: Reach | undefined) => reach === 'all' || (reach === 'teen' && info.teen === true);
    if (context === 'patient') {
      if (!token.patient || !version.compartments.has(token.patient)) return false;
      if (clinician) return true;
      return token.account !== undefined && teenOk(this.reach(token.account, now, 'granted').get(token.patient));
    }
    if (!token.account) return false;
    const reach = this.reach(token.account, now);
    return [...version.compartments].some((p) => teenOk(reach.get(p)));
  }

  /** Whether some scope of the token lets it do `op` on `type` at all (else the server answers 403, not 404). */
  typeUsable(token: TokenModel, type: string, op: Op): boolean {
    const info = TYPES[type];
    if (!info || !this.alive(token)) return false;
    return token.scopes.some((s) => {
      if ((s.type !== '*' && s.type !== type) || !s.ops.has(op)) return false;
      if (s.context === 'system') return token.backend;
      if (s.filters.some((f) => !info.tokenParams?.[f.param])) return false;
      if (s.context === 'user' && token.account?.role === 'clinician') return true;
      if (info.kind === 'private') return false;
      if (info.kind === 'shared') return op === 'r' || op === 's';
      return s.context === 'user' || token.patient !== undefined;
    });
  }

  /** Patient ids the token may see anything of (for checking that error messages name no one else). */
  visiblePatients(token: TokenModel, now = Date.now()): Set<string> {
    const out = new Set<string>();
    for (const s of token.scopes) {
      if (s.context === 'system' || (s.context === 'user' && token.account?.role === 'clinician')) return new Set(this.patients());
      if (s.context === 'patient' && token.patient) out.add(token.patient);
      if (s.context === 'user' && token.account) for (const p of this.reach(token.account, now).keys()) out.add(p);
    }
    return out;
  }
}

export const DAY = DAY_MS;

// ------------------------------------------------------------------------------------------ reading a resource

type Json = Record<string, unknown>;

/** Values at a dotted path, arrays walked at every step. */
function valuesAt(value: unknown, path: string): unknown[] {
  let out: unknown[] = [value];
  for (const step of path.split('.')) {
    out = out.flatMap((v) => (v && typeof v === 'object' && !Array.isArray(v) ? [(v as Json)[step]] : [])).flatMap((v) => (Array.isArray(v) ? v : v === undefined ? [] : [v]));
  }
  return out;
}

/** `Type/id` of a relative reference, else undefined. */
export function referenceOf(v: unknown): { type: string; id: string } | undefined {
  const ref = v && typeof v === 'object' ? (v as Json).reference : undefined;
  const m = typeof ref === 'string' ? /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(ref) : null;
  return m ? { type: m[1]!, id: m[2]! } : undefined;
}

/** The version the model expects a write of `resource` to make, given the world as it is now. */
export function versionOf(world: WorldModel, type: string, resource: Json, versionId: number): VersionModel {
  const birthDate = type === 'Patient' && typeof resource.birthDate === 'string' ? { birthDate: resource.birthDate } : {};
  return { versionId, deleted: false, compartments: compartmentsOf(world, type, resource), tokens: tokensOf(type, resource), ...birthDate };
}

export function compartmentsOf(world: WorldModel, type: string, resource: Json): Set<string> {
  const info = TYPES[type];
  if (type === 'Patient') return new Set([String(resource.id)]);
  if (!info || info.kind !== 'compartment') return new Set();
  const patients = new Set<string>();
  for (const path of info.compartmentPaths ?? []) {
    for (const v of valuesAt(resource, path)) {
      const ref = referenceOf(v);
      if (ref?.type === 'Patient') patients.add(ref.id);
    }
  }
  if (type === 'Provenance' && !patients.size) {
    // No Patient among the targets: the record of the first target (as it is now, not deleted) that is in one.
    for (const v of valuesAt(resource, 'target')) {
      const ref = referenceOf(v);
      const target = ref && world.get(ref.type, ref.id);
      const now = target && current(target);
      if (now && !now.deleted && now.compartments.size) return new Set(now.compartments);
    }
  }
  return patients;
}

function codings(value: unknown): Coding[] {
  return valuesAt(value, 'coding').flatMap((c) => {
    const o = c as Json;
    return typeof o.code === 'string' ? [{ ...(typeof o.system === 'string' ? { system: o.system } : {}), code: o.code }] : [];
  });
}

export function tokensOf(type: string, resource: Json): Record<string, Coding[]> {
  const info = TYPES[type];
  const out: Record<string, Coding[]> = {};
  for (const [param, element] of Object.entries(info?.tokenParams ?? {})) {
    const values = valuesAt(resource, element);
    out[param] = values.flatMap((v) => (typeof v === 'string' ? [{ code: v }] : codings(v)));
  }
  return out;
}
