// SMART scopes ⇄ the permission groups a patient sees on the consent page and the connected-apps page. Pure.
// Scopes are parsed by src/auth/scopes.ts only; which FHIR types make up a group comes from the type definitions
// (each ResourceDef names its `consentGroup`); this module adds the patient-facing wording, decides which group
// each scope falls in, and which scope strings to grant when the patient unticks some groups ("narrowing").
import { parseScope, type Operation, type ResourceScope, type ScopeContext } from '../auth/scopes.js';
import { RESOURCE_DEFS, type ConsentGroupKey } from '../fhir/definitions.js';

/** Observation is one type split by category into three groups; every other consent group is shown as it is. */
export type ObservationGroupKey = 'labs' | 'vitals' | 'other-observations';
export type PermissionGroupKey = Exclude<ConsentGroupKey, 'observations'> | ObservationGroupKey | 'offline';

export const OBSERVATION_CATEGORY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/observation-category';

/** The codes of OBSERVATION_CATEGORY_SYSTEM that are neither laboratory nor vital-signs ("Other health measurements"). */
export const OTHER_OBSERVATION_CATEGORIES = ['social-history', 'imaging', 'procedure', 'survey', 'exam', 'therapy', 'activity'] as const;

/** US Core's own Observation categories (screening assessments, clinical tests, ...), also "Other health measurements". */
export const US_CORE_CATEGORY_SYSTEM = 'http://hl7.org/fhir/us/core/CodeSystem/us-core-category';
export const US_CORE_OBSERVATION_CATEGORIES = [
  'sdoh',
  'functional-status',
  'disability-status',
  'cognitive-status',
  'clinical-test',
  'treatment-intervention-preference',
  'care-experience-preference',
] as const;

export interface PermissionGroupDefinition {
  readonly key: PermissionGroupKey;
  /** Plain-language name, e.g. "Lab results" */
  readonly label: string;
  /** One short plain-language sentence about what is in the group */
  readonly description: string;
  /** Every FHIR type the group covers (from the definitions' consentGroup); empty for offline access */
  readonly types: readonly string[];
  /** The types that are part of a patient's record (the patient compartment): what the preview count adds up */
  readonly recordTypes: readonly string[];
  /** The type an app most often reads for this group (e.g. MedicationRequest); undefined for offline access */
  readonly resourceType?: string;
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

interface Wording {
  readonly label: string;
  readonly description: string;
  readonly resourceType?: string;
  readonly countNoun?: readonly [string, string];
}

// Read on a phone by people who are not clinicians: short labels, one sentence each, everyday words, examples.
// A group of several kinds of entries counts "records": "12 medications" would be wrong when one medicine has a
// prescription and three pharmacy fills.
const RECORDS = ['record', 'records'] as const;
const WORDING = {
  labs: { label: 'Lab results', description: 'Results of blood tests, urine tests and other lab tests.', countNoun: ['lab result', 'lab results'] },
  vitals: { label: 'Vital signs', description: 'Blood pressure, heart rate, temperature, weight and height.', countNoun: ['vital sign reading', 'vital sign readings'] },
  'other-observations': {
    label: 'Other health measurements',
    description: 'Other notes and measurements, such as smoking status, exam findings or screening scores.',
    countNoun: ['measurement', 'measurements'],
  },
  problems: { label: 'Health problems', description: 'Conditions and diagnoses, such as asthma or diabetes, and health problems in your family.', resourceType: 'Condition', countNoun: RECORDS },
  allergies: { label: 'Allergies', description: 'Things that cause an allergic reaction, and what the reaction is.', resourceType: 'AllergyIntolerance', countNoun: ['allergy', 'allergies'] },
  medications: { label: 'Medications', description: 'Medicines prescribed, given or taken, now or in the past.', resourceType: 'MedicationRequest', countNoun: RECORDS },
  immunizations: { label: 'Immunizations', description: 'Vaccines given, such as flu or tetanus shots, and vaccines that are due.', resourceType: 'Immunization', countNoun: RECORDS },
  visits: { label: 'Visits', description: 'Visits to doctors, clinics and hospitals, and appointments.', resourceType: 'Encounter', countNoun: RECORDS },
  procedures: { label: 'Procedures', description: 'Surgeries, treatments and tests done, and the orders and referrals for them.', resourceType: 'Procedure', countNoun: RECORDS },
  reports: {
    label: 'Test reports and clinical notes',
    description: 'Reports on tests and scans, notes and letters from your care team, and other documents.',
    resourceType: 'DiagnosticReport',
    countNoun: RECORDS,
  },
  'care-plans': { label: 'Care plans and care team', description: 'Your care plans and health goals, and who is on your care team.', resourceType: 'CarePlan', countNoun: RECORDS },
  devices: { label: 'Medical devices', description: 'Devices you use or have, such as a pacemaker, a glucose monitor or glasses.', resourceType: 'Device', countNoun: RECORDS },
  questionnaires: { label: 'Questionnaire answers', description: 'Your answers to health questionnaires and forms.', resourceType: 'QuestionnaireResponse', countNoun: ['form', 'forms'] },
  insurance: { label: 'Insurance', description: 'Your health insurance, and the claims and bills sent to it.', resourceType: 'Coverage', countNoun: RECORDS },
  'other-records': {
    label: 'Other records',
    description: 'Everything else in your record, such as messages with your care team, consent forms and where your records came from.',
    resourceType: 'Provenance',
    countNoun: RECORDS,
  },
  basic: { label: 'Basic information about you', description: 'Name, date of birth, gender, contact details, and the people listed as your contacts.', resourceType: 'Patient' },
  // Not a patient's record (Practitioner, Organization, Location, ...: shared by every record), so nothing is
  // counted. Shown like any other group whenever a scope reaches it (by name or through `*`): the app does get it,
  // and a patient may not want an app to learn who treats them. Placed after the record's own groups.
  providers: { label: 'Your care providers', description: 'Names and contact details of doctors, clinics and hospitals. This is not information about you.', resourceType: 'Practitioner' },
  // Questionnaire, ValueSet, CodeSystem, ...: shared reference information. Shown for the same reason (a `*` scope
  // does reach it, and unticking it must narrow the token exactly), last and saying it is not about the patient.
  'reference-data': {
    label: 'Forms and medical reference lists',
    description: 'General information that is not about you, such as blank health forms and lists of medical codes.',
    resourceType: 'Questionnaire',
  },
  offline: { label: 'Keep access when you are not using the app', description: 'The app can keep getting new information from the record after you close it.' },
} as const satisfies Record<PermissionGroupKey, Wording>;

/** Display order: the record's clinical groups first, then basic information, shared data, and offline access. */
const ORDER: readonly PermissionGroupKey[] = [
  'labs',
  'vitals',
  'other-observations',
  'problems',
  'allergies',
  'medications',
  'immunizations',
  'visits',
  'procedures',
  'reports',
  'care-plans',
  'devices',
  'questionnaires',
  'insurance',
  'other-records',
  'basic',
  'providers',
  'reference-data',
  'offline',
];

const OBSERVATION_GROUPS: readonly PermissionGroupKey[] = ['labs', 'vitals', 'other-observations'];
const OBSERVATION_FILTERS: Readonly<Record<ObservationGroupKey, Pick<PermissionGroupDefinition, 'category' | 'excludeCategories'>>> = {
  labs: { category: 'laboratory' },
  vitals: { category: 'vital-signs' },
  'other-observations': { excludeCategories: ['laboratory', 'vital-signs'] },
};

/** The permission group a type belongs to, outside Observation (which depends on the category). */
const TYPE_GROUP = new Map<string, PermissionGroupKey>();
for (const d of RESOURCE_DEFS) if (d.consentGroup !== 'observations') TYPE_GROUP.set(d.type, d.consentGroup);

function definition(key: PermissionGroupKey): PermissionGroupDefinition {
  const w: Wording = WORDING[key];
  const defs = key === 'offline' ? [] : RESOURCE_DEFS.filter((d) => (OBSERVATION_GROUPS.includes(key) ? d.type === 'Observation' : d.consentGroup === key));
  const types = defs.map((d) => d.type);
  return {
    key,
    label: w.label,
    description: w.description,
    types,
    recordTypes: defs.filter((d) => d.inCompartment).map((d) => d.type),
    ...(types.length ? { resourceType: w.resourceType ?? types[0]! } : {}),
    ...(OBSERVATION_GROUPS.includes(key) ? OBSERVATION_FILTERS[key as ObservationGroupKey] : {}),
    ...(w.countNoun ? { countNoun: w.countNoun } : {}),
  };
}

/** Every group, in the order they are shown. */
export const PERMISSION_GROUPS: readonly PermissionGroupDefinition[] = ORDER.map(definition);

export const PERMISSION_GROUP_KEYS: readonly PermissionGroupKey[] = PERMISSION_GROUPS.map((g) => g.key);

const BY_KEY = new Map(PERMISSION_GROUPS.map((g) => [g.key, g]));
export const permissionGroup = (key: string): PermissionGroupDefinition | undefined => BY_KEY.get(key as PermissionGroupKey);
export const isPermissionGroupKey = (key: string): key is PermissionGroupKey => BY_KEY.has(key as PermissionGroupKey);

/** "Medications" for MedicationRequest; the kind of data a type is, in the words of its group (for the access log). */
export function dataKindText(type: string): string {
  if (type === 'Observation') return 'Lab results, vital signs and measurements';
  const key = TYPE_GROUP.get(type);
  if (key === 'basic') return 'Basic information';
  return key ? BY_KEY.get(key)!.label : type;
}

/** Which types a scope may reach for this record: every type, or fewer for a parent's proxy access to a teenager. */
export type TypeFilter = (type: string) => boolean;
const EVERY_TYPE: TypeFilter = () => true;

/** The FHIR groups a `*` type reaches, in display order. */
const FHIR_GROUPS: readonly PermissionGroupDefinition[] = PERMISSION_GROUPS.filter((g) => g.types.length);
const ALL_TYPES: readonly string[] = RESOURCE_DEFS.map((d) => d.type);
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

/** The groups one resource scope reaches through types `reachable` allows (empty for a system/ scope or unknown type). */
function resourceScopeGroups(scope: ResourceScope, reachable: TypeFilter): PermissionGroupKey[] {
  if (!CONSENTABLE_CONTEXTS.has(scope.context)) return [];
  // Through `*`, a group of records is reached through its record types: Medication alone does not make a teenager's
  // "Medications" visible to a parent.
  if (scope.type === '*') return FHIR_GROUPS.filter((g) => (g.recordTypes.length ? g.recordTypes : g.types).some(reachable)).map((g) => g.key);
  if (!reachable(scope.type)) return [];
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
  const group = TYPE_GROUP.get(scope.type);
  return group ? [group] : [];
}

/** The groups a scope string reaches; [] for scopes the patient is not shown (launch, online_access, unknown). */
export const scopeGroups = (raw: string): PermissionGroupKey[] => groupsOfScope(raw, EVERY_TYPE);

/** scopeGroups, leaving out types `reachable` does not allow (a teenager's record seen by a parent). */
function groupsOfScope(raw: string, reachable: TypeFilter): PermissionGroupKey[] {
  const scope = parseScope(raw);
  if (!scope) return [];
  if (scope.kind === 'resource') return resourceScopeGroups(scope, reachable);
  if (scope.kind === 'identity') return ['basic'];
  if (scope.raw === 'offline_access') return ['offline'];
  return [];
}

const accessText = (read: boolean, write: boolean) => (read && write ? 'Can see, add or change' : write ? 'Can add or change' : 'Can see');

/** The permission groups the requested scopes reach, in display order, with read/write access and their scopes. */
export function groupsForScopes(scopes: readonly string[], reachable: TypeFilter = EVERY_TYPE): PermissionGroup[] {
  const found = new Map<PermissionGroupKey, { read: boolean; write: boolean; scopes: string[] }>();
  for (const raw of new Set(scopes)) {
    const scope = parseScope(raw);
    for (const key of groupsOfScope(raw, reachable)) {
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
  // "Other" is not one category: name each other standard and US Core category (observations without one are left
  // out, and not counted in the group either).
  if (kept.includes('other-observations')) {
    const values = [...OTHER_OBSERVATION_CATEGORIES.map(categoryValue), ...US_CORE_OBSERVATION_CATEGORIES.map((c) => `${US_CORE_CATEGORY_SYSTEM}|${c}`)];
    out.push(scopeText(scope, 'Observation', [['category', values.join(',')], ...rest]));
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
 * The scopes to grant when the patient keeps `keptGroupKeys`: a scope whose groups are all kept (and whose types
 * `reachable` all allows) is granted verbatim; a partly kept one is replaced by narrower v2 scopes: one per kept,
 * reachable type for `*` (Observation by category), category filters for Observation. Identity scopes follow "basic",
 * offline_access follows "offline"; launch and online_access pass through; resource scopes no group covers are dropped.
 */
export function scopesForApproval(requested: readonly string[], keptGroupKeys: ReadonlySet<string>, reachable: TypeFilter = EVERY_TYPE): ApprovedScopes {
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
    const groups = resourceScopeGroups(scope, reachable);
    const kept = groups.filter((g) => keptGroupKeys.has(g));
    const wholeType = scope.type === '*' ? ALL_TYPES.every(reachable) : true;
    if (groups.length && kept.length === groups.length && wholeType) {
      grant(raw);
      continue;
    }
    dropped.push(raw);
    if (!kept.length) continue;
    if (scope.type === '*') {
      // One scope per kept type, in display order; the Observation groups together become one or more scopes.
      let observationsDone = false;
      for (const key of kept) {
        if (!OBSERVATION_GROUPS.includes(key)) {
          for (const type of BY_KEY.get(key)!.types) if (reachable(type)) grant(scopeText(scope, type, scope.query));
        } else if (!observationsDone) {
          observationsDone = true;
          for (const s of observationScopes(scope, kept.filter((g) => OBSERVATION_GROUPS.includes(g)))) grant(s);
        }
      }
    } else {
      // A single type is partly kept only when it is Observation and some of its categories were unticked.
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
