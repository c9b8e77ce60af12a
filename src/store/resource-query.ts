// The store's query model: what a FHIR search means once parsed, with no HTTP or FHIR syntax left in it.
// The FHIR layer builds these; store/search-sql.ts turns them into SQL. Access rules (patient compartment,
// granular scopes) are the same clauses, AND-ed in by the caller.

export type DatePrefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';

/** A search value as a closed range [lo, hi] in ms since epoch, with the prefix that compares it to stored ranges. */
export interface DateCondition {
  readonly prefix: DatePrefix;
  readonly lo: number;
  readonly hi: number;
}

export interface TokenCondition {
  /** undefined: any system; '': only codings without a system */
  readonly system?: string;
  /** undefined: any code in the system (`system|`) */
  readonly code?: string;
}

export interface ReferenceCondition {
  readonly type?: string;
  readonly id: string;
}

/** One AND-ed clause; the values inside a clause are OR-ed. */
export type Clause =
  | { readonly kind: 'id'; readonly ids: readonly string[] }
  | { readonly kind: 'compartment'; readonly patientIds: readonly string[] }
  /** `patient:missing=true|false`: whether the resource is in no patient's compartment */
  | { readonly kind: 'noCompartment'; readonly missing: boolean }
  | { readonly kind: 'token'; readonly param: string; readonly values: readonly TokenCondition[]; readonly not?: boolean }
  | { readonly kind: 'string'; readonly param: string; readonly values: readonly string[]; readonly match: 'prefix' | 'contains' }
  | { readonly kind: 'date'; readonly param: string; readonly values: readonly DateCondition[] }
  | { readonly kind: 'lastUpdated'; readonly values: readonly DateCondition[] }
  | { readonly kind: 'reference'; readonly param: string; readonly values: readonly ReferenceCondition[] }
  | { readonly kind: 'missing'; readonly param: string; readonly index: IndexKind; readonly missing: boolean }
  /** OR of AND-lists: how several scopes granting the same type combine; an empty list matches nothing */
  | { readonly kind: 'any'; readonly of: readonly (readonly Clause[])[] };

export type IndexKind = 'token' | 'string' | 'date' | 'reference';

export type SortKey = 'rid' | 'date' | '-date' | '_lastUpdated' | '-_lastUpdated';

/** Keyset position: the sort value and rid of the row a page starts after (or ends before). */
export interface Cursor {
  readonly direction: 'after' | 'before';
  readonly key: number;
  readonly rid: number;
}

export interface ResourceQuery {
  readonly type: string;
  readonly clauses: readonly Clause[];
  readonly sort: SortKey;
  readonly count: number;
  readonly cursor?: Cursor;
  /**
   * true: the exact number of matches; 'upper-bound': a number never below it, counted on the resources table's
   * indexes alone (the type, patient, _id and _lastUpdated criteria; other criteria and deletions not applied);
   * false: no total. A first page that holds every match gives its exact size either way, at no cost.
   */
  readonly total: boolean | 'upper-bound';
}

/** Whether a page's total is the number of matches or only a bound on it. */
export type TotalKind = 'exact' | 'upper-bound';

/** Current resources in one patient's compartment, for the types given, each AND-ed with its own clauses. */
export interface CompartmentQuery {
  readonly patientId: string;
  readonly types: readonly { readonly type: string; readonly clauses: readonly Clause[] }[];
  /** Only resources last updated at or after this instant (ms since epoch) */
  readonly since?: number;
  /** Continue after this row of the previous page */
  readonly after?: { readonly type: string; readonly rid: number };
  /** Rows wanted; `more` says whether another follows (also with 0) */
  readonly count: number;
  readonly total: boolean;
}

/** What a write needs besides the resource: the rows search reads. Computed by the FHIR layer. */
export interface IndexData {
  readonly patientId: string | null;
  readonly sortDate: number;
  readonly tokens: readonly { readonly param: string; readonly system: string; readonly code: string }[];
  readonly strings: readonly { readonly param: string; readonly value: string }[];
  readonly dates: readonly { readonly param: string; readonly lo: number; readonly hi: number }[];
  readonly references: readonly { readonly param: string; readonly targetType: string; readonly targetId: string }[];
}
