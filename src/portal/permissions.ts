// SMART scopes ⇄ the permission groups a patient sees on the consent page and the connected-apps page. Pure.
// Scopes are parsed by src/auth/scopes.ts only; this module decides which plain-language group each one falls in,
// and which scope strings to grant when the patient unticks some groups ("narrowing").
import { parseScope, type Operation, type ResourceScope, type ScopeContext } from '../auth/scopes.js';

export type PermissionGroupKey = 'labs' | 'vitals' | 'other-observations' | 'allergies' | 'medications' | 'immunizations' | 'basic' | 'offline';

export const OBSERVATION_CATEGORY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/observation-category';

/** The codes of OBSERVATION_CATEGORY_SYSTEM that are neither laboratory nor vital-signs ("Other health measurements"). */
export const OTHER_OBSERVATION_CATEGORIES = ['social-history', 'imaging', 'procedure', 'survey', 'exam', 'therapy', 'activity'] as const;

export interface PermissionGroupDefinition {
  readonly key: PermissionGroupKey;
  /** Plain-language name, e.g. "Lab results" */
  readonly label: string;
  /** One short plain-language sentence about what is in the group */
  readonly description: string;
  /** The FHIR resource type the group covers (to count preview items); undefined for offline access */
  readonly resourceType?: 'Observation' | 'AllergyIntolerance' | 'MedicationStatement' | 'Immunization' | 'Patient';
  /** Observation category code (in OBSERVATION_CATEGORY_SYSTEM) the group is limited to */
  readonly category?: string;
  /** Observation category codes the group leaves out ("Other health measurements": everything but labs and vitals) */
  readonly excludeCategories?: readonly string[];
  /** Words for a preview count: [one, many], e.g. ['lab result', 'lab results']; undefined when nothing is counted */
  readonly countNoun?: readonly [string, string];
}

export interface PermissionGroup extends PermissionGroupDefinition {
  /** The requested scopes let the app read (or search) this data */
  readonly read: boolean;
  /** The requested scopes let the app add, change or delete this data ("and add or change") */
  readonly write: boolean;
  /** Plain-language access words: "Can see", "Can see, add or change", "Can add or change" */
  readonly accessText: string;
  /** The requested scope strings that fall (partly) in this group */
  readonly scopes: readonly string[];
}

/** Every group, in the order they are shown. */
export const PERMISSION_GROUPS: readonly PermissionGroupDefinition[] = [
  { key: 'labs', label: 'Lab results', description: 'Results of blood tests, urine tests and other lab tests.', resourceType: 'Observation', category: 'laboratory', countNoun: ['lab result', 'lab results'] },
  { key: 'vitals', label: 'Vital signs', description: 'Blood pressure, heart rate, temperature, weight and height.', resourceType: 'Observation', category: 'vital-signs', countNoun: ['vital sign reading', 'vital sign readings'] },
  {
    key: 'other-observations',
    label: 'Other health measurements',
    description: 'Other notes and measurements, such as smoking status or answers to health questionnaires.',
    resourceType: 'Observation',
    excludeCategories: ['laboratory', 'vital-signs'],
    countNoun: ['measurement', 'measurements'],
  },
  { key: 'allergies', label: 'Allergies', description: 'Things that cause an allergic reaction, and what the reaction is.', resourceType: 'AllergyIntolerance', countNoun: ['allergy', 'allergies'] },
  { key: 'medications', label: 'Medications', description: 'Medicines taken now or in the past.', resourceType: 'MedicationStatement', countNoun: ['medication', 'medications'] },
  { key: 'immunizations', label: 'Immunizations', description: 'Vaccines given, such as flu or tetanus shots.', resourceType: 'Immunization', countNoun: ['immunization', 'immunizations'] },
  { key: 'basic', label: 'Basic information about you', description: 'Name, date of birth, gender and contact details.', resourceType: 'Patient' },
  { key: 'offline', label: 'Keep access when you are not using the app', description: 'The app can keep getting new information from the record after you close it.' },
];

export const PERMISSION_GROUP_KEYS: readonly PermissionGroupKey[] = PERMISSION_GROUPS.map((g) => g.key);

const BY_KEY = new Map(PERMISSION_GROUPS.map((g) => [g.key, g]));
export const permissionGroup = (key: string): PermissionGroupDefinition | undefined => BY_KEY.get(key as PermissionGroupKey);
export const isPermissionGroupKey = (key: string): key is PermissionGroupKey => BY_KEY.has(key as PermissionGroupKey);

const OBSERVATION_GROUPS: readonly PermissionGroupKey[] = ['labs', 'vitals', 'other-observations'];
const TYPE_GROUP: Readonly<Record<string, PermissionGroupKey>> = { AllergyIntolerance: 'allergies', MedicationStatement: 'medications', Immunization: 'immunizations', Patient: 'basic' };
/** The FHIR groups a `*` type reaches, in display order. */
const FHIR_GROUPS: readonly PermissionGroupKey[] = PERMISSION_GROUPS.filter((g) => g.resourceType).map((g) => g.key);
// Scope contexts a patient can consent to; system/ scopes belong to backend services, never to this screen.
const CONSENTABLE_CONTEXTS: ReadonlySet<ScopeContext> = new Set(['patient', 'user']);
const WRITE_OPERATIONS: readonly Operation[] = ['c', 'u', 'd'];
const CRUDS: readonly Operation[] = ['c', 'r', 'u', 'd', 's'];

/** The group an Observation category search value (`system|code`, `|code` or `code`) falls in. */
function categoryGroup(value: string): PermissionGroupKey {
  const bar = value.lastIndexOf('|');
  const system = bar < 0 ? undefined : value.slice(0, bar);
  const code = bar < 0 ? value : value.slice(bar + 1);
  if (system !== undefined && system !== '' && system !== OBSERVATION_CATEGORY_SYSTEM) return 'other-observations';
  if (code === 'laboratory') return 'labs';
  if (code === 'vital-signs') return 'vitals';
  return 'other-observations';
}

/** The groups one resource scope reaches (empty when none: a type no group covers, or a system/ scope). */
function resourceScopeGroups(scope: ResourceScope): PermissionGroupKey[] {
  if (!CONSENTABLE_CONTEXTS.has(scope.context)) return [];
  if (scope.type === '*') return [...FHIR_GROUPS];
  if (scope.type === 'Observation') {
    // Several category parameters AND together; values inside one parameter (comma-separated) OR together.
    const categories = scope.query.filter(([k]) => k === 'category');
    if (!categories.length) return [...OBSERVATION_GROUPS];
    let reached: Set<PermissionGroupKey> | undefined;
    for (const [, value] of categories) {
      const groups = new Set(value.split(',').map(categoryGroup));
      reached = reached ? new Set([...reached].filter((g) => groups.has(g))) : groups;
    }
    return OBSERVATION_GROUPS.filter((g) => reached!.has(g));
  }
  const group = TYPE_GROUP[scope.type];
  return group ? [group] : [];
}

/** The groups a scope string reaches; [] for scopes the patient is not shown (launch, online_access, unknown). */
export function scopeGroups(raw: string): PermissionGroupKey[] {
  const scope = parseScope(raw);
  if (!scope) return [];
  if (scope.kind === 'resource') return resourceScopeGroups(scope);
  if (scope.kind === 'identity') return ['basic'];
  if (scope.raw === 'offline_access') return ['offline'];
  return [];
}

const accessText = (read: boolean, write: boolean) => (read && write ? 'Can see, add or change' : write ? 'Can add or change' : 'Can see');

/** The permission groups the requested scopes reach, in display order, with read/write access and their scopes. */
export function groupsForScopes(scopes: readonly string[]): PermissionGroup[] {
  const found = new Map<PermissionGroupKey, { read: boolean; write: boolean; scopes: string[] }>();
  for (const raw of new Set(scopes)) {
    const scope = parseScope(raw);
    for (const key of scopeGroups(raw)) {
      const entry = found.get(key) ?? { read: false, write: false, scopes: [] };
      if (scope?.kind === 'resource') {
        if (scope.operations.has('r') || scope.operations.has('s')) entry.read = true;
        if (WRITE_OPERATIONS.some((op) => scope.operations.has(op))) entry.write = true;
      } else entry.read = true;
      entry.scopes.push(raw);
      found.set(key, entry);
    }
  }
  return PERMISSION_GROUPS.filter((g) => found.has(g.key)).map((g) => {
    const { read, write, scopes: raw } = found.get(g.key)!;
    return { ...g, read, write, accessText: accessText(read, write), scopes: raw };
  });
}

/** SMART v2 permission letters, in cruds order (v1 read → rs, write → cud, * → cruds). */
const v2Permissions = (scope: ResourceScope) => CRUDS.filter((op) => scope.operations.has(op)).join('');

function scopeText(scope: ResourceScope, type: string, query: readonly (readonly [string, string])[]): string {
  const base = `${scope.context}/${type}.${v2Permissions(scope)}`;
  // URLSearchParams would percent-encode '|' and ':'; SMART writes granular filters unencoded.
  return query.length ? `${base}?${query.map(([k, v]) => `${k}=${v}`).join('&')}` : base;
}

const categoryValue = (code: string) => `${OBSERVATION_CATEGORY_SYSTEM}|${code}`;

/** Granular Observation scopes for the kept Observation groups, keeping the scope's other (non-category) filters. */
function observationScopes(scope: ResourceScope, kept: readonly PermissionGroupKey[]): string[] {
  const rest = scope.query.filter(([k]) => k !== 'category');
  if (rest.length !== scope.query.length) {
    // Already filtered by category: keep only the values that fall in kept groups, so the result is never wider.
    const query: [string, string][] = [];
    for (const [k, v] of scope.query) {
      if (k !== 'category') query.push([k, v]);
      else {
        const values = v.split(',').filter((c) => kept.includes(categoryGroup(c)));
        if (!values.length) return [];
        query.push([k, values.join(',')]);
      }
    }
    return [scopeText(scope, 'Observation', query)];
  }
  const out: string[] = [];
  if (OBSERVATION_GROUPS.every((g) => kept.includes(g))) return [scopeText(scope, 'Observation', rest)];
  if (kept.includes('labs')) out.push(scopeText(scope, 'Observation', [['category', categoryValue('laboratory')], ...rest]));
  if (kept.includes('vitals')) out.push(scopeText(scope, 'Observation', [['category', categoryValue('vital-signs')], ...rest]));
  // "Other" is not one category: name each other standard category (observations without one are left out).
  if (kept.includes('other-observations')) {
    out.push(scopeText(scope, 'Observation', [['category', OTHER_OBSERVATION_CATEGORIES.map(categoryValue).join(',')], ...rest]));
  }
  return out;
}

export interface ApprovedScopes {
  /** Scope strings to grant, in request order (narrowed scopes replace the one they came from) */
  readonly granted: string[];
  /** Requested scopes not granted as requested (fully unticked, narrowed, or not consentable) */
  readonly dropped: string[];
}

/**
 * The scopes to grant when the patient keeps `keptGroupKeys`: a scope whose groups are all kept is granted verbatim;
 * a partly kept one is replaced by narrower v2 scopes for the kept groups; identity scopes follow "basic", offline_access
 * follows "offline"; launch and online_access pass through; resource scopes no group covers are dropped.
 */
export function scopesForApproval(requested: readonly string[], keptGroupKeys: ReadonlySet<string>): ApprovedScopes {
  const granted: string[] = [];
  const dropped: string[] = [];
  const grant = (s: string) => {
    if (!granted.includes(s)) granted.push(s);
  };
  for (const raw of new Set(requested)) {
    const scope = parseScope(raw);
    if (!scope) {
      // Not a SMART scope: anything shaped like a resource scope is refused, other tokens pass (the provider vetted them).
      if (/^(patient|user|system)\//.test(raw)) dropped.push(raw);
      else grant(raw);
      continue;
    }
    if (scope.kind !== 'resource') {
      const groups = scopeGroups(raw);
      if (groups.every((g) => keptGroupKeys.has(g))) grant(raw);
      else dropped.push(raw);
      continue;
    }
    const groups = resourceScopeGroups(scope);
    const kept = groups.filter((g) => keptGroupKeys.has(g));
    if (groups.length && kept.length === groups.length) {
      grant(raw);
      continue;
    }
    dropped.push(raw);
    if (!kept.length) continue;
    if (scope.type === '*') {
      // One scope per kept type, in display order; the Observation groups together become one or more scopes.
      let observationsDone = false;
      for (const key of kept) {
        if (!OBSERVATION_GROUPS.includes(key)) grant(scopeText(scope, BY_KEY.get(key)!.resourceType!, scope.query));
        else if (!observationsDone) {
          observationsDone = true;
          for (const s of observationScopes(scope, kept.filter((g) => OBSERVATION_GROUPS.includes(g)))) grant(s);
        }
      }
    } else {
      for (const s of observationScopes(scope, kept)) grant(s);
    }
  }
  return { granted, dropped };
}

export type AccessDuration = 'session' | '30d' | '1y' | 'forever';
export const ACCESS_DURATIONS: readonly { readonly value: AccessDuration; readonly label: string }[] = [
  { value: 'session', label: 'Only while I use the app' },
  { value: '30d', label: '30 days' },
  { value: '1y', label: '1 year' },
  { value: 'forever', label: 'Until I turn it off' },
];
const DURATION_VALUES = new Set<string>(ACCESS_DURATIONS.map((d) => d.value));

/** How long a duration lasts in seconds; undefined for 'forever', 0 for 'session' (no offline access). */
export function accessDurationSeconds(d: AccessDuration): number | undefined {
  return { session: 0, '30d': 30 * 86400, '1y': 365 * 86400, forever: undefined }[d];
}

type FormValue = string | readonly string[] | undefined;

/**
 * Reads the consent form (or the connected-apps "Change what it can see" form): ticked `group` checkboxes, and the
 * `duration` radio group, which stands for the "offline" group (anything but 'session' keeps it).
 * Unknown keys are ignored; without a duration field an explicit `group=offline` checkbox counts.
 */
export function parsePermissionForm(body: Readonly<Record<string, FormValue>>): { keptGroupKeys: Set<PermissionGroupKey>; duration: AccessDuration } {
  const list = (v: FormValue): readonly string[] => (v === undefined ? [] : typeof v === 'string' ? [v] : v);
  const kept = new Set(list(body.group).filter(isPermissionGroupKey));
  const rawDuration = list(body.duration)[0];
  let duration: AccessDuration;
  if (rawDuration !== undefined) {
    duration = DURATION_VALUES.has(rawDuration) ? (rawDuration as AccessDuration) : 'session';
    if (duration === 'session') kept.delete('offline');
    else kept.add('offline');
  } else duration = kept.has('offline') ? 'forever' : 'session';
  return { keptGroupKeys: kept, duration };
}
