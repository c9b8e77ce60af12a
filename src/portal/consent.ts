// The consent decision, apart from HTTP: which permission groups to show for a request and a record, how many items
// each covers ("12 lab results"), what to pre-tick from an earlier approval, and the scopes a patient's choice grants.
import type { Clause } from '../store/resource-query.js';
import type { ResourceStore } from '../store/resources.js';
import {
  OBSERVATION_CATEGORY_SYSTEM,
  accessDurationSeconds,
  groupsForScopes,
  scopeGroups,
  scopesForApproval,
  type AccessDuration,
  type PermissionGroup,
  type PermissionGroupDefinition,
  type PermissionGroupKey,
  type TypeFilter,
} from './permissions.js';
import { typeAllowed } from './proxy-policy.js';

/** The types a record lets an app reach (a parent's proxy for a teen allows fewer; shared types always pass). */
export const recordReach = (allowedTypes: 'all' | readonly string[]): TypeFilter => (type) => typeAllowed(allowedTypes, type);

/** Groups the request reaches through types this record allows (a parent's proxy for a teen covers fewer types). */
export function offeredGroups(requested: readonly string[], allowedTypes: 'all' | readonly string[]): PermissionGroup[] {
  return groupsForScopes(requested, recordReach(allowedTypes));
}

/**
 * Items of each group in the record, for the preview next to each checkbox: every record type of the group that
 * `reachable` allows, added up (Medications = MedicationRequest + MedicationStatement + MedicationDispense + ...).
 * One grouped count over the record's types, plus a count-only search per Observation category group; shared types
 * (Practitioner, Medication, ...) are not counted.
 */
export async function previewCounts(
  store: ResourceStore,
  patientId: string,
  groups: readonly PermissionGroupDefinition[],
  reachable: TypeFilter = () => true,
): Promise<Map<PermissionGroupKey, number>> {
  const categories = (codes: readonly string[]) => codes.map((code) => ({ system: OBSERVATION_CATEGORY_SYSTEM, code }));
  const byCategory = async (g: PermissionGroupDefinition, type: string) => {
    const clauses: Clause[] = [{ kind: 'compartment', patientIds: [patientId] }];
    if (g.category) clauses.push({ kind: 'token', param: 'category', values: categories([g.category]) });
    if (g.excludeCategories?.length) {
      // What the narrowed scope for the group reaches: observations with some other category (see permissions.ts).
      clauses.push({ kind: 'token', param: 'category', values: categories(g.excludeCategories), not: true });
      clauses.push({ kind: 'missing', param: 'category', index: 'token', missing: false });
    }
    return (await store.search({ type, clauses, sort: 'rid', count: 0, total: true })).total ?? 0;
  };
  const counted = groups.filter((g) => g.countNoun && g.recordTypes.some(reachable));
  const split = (g: PermissionGroupDefinition) => g.category !== undefined || g.excludeCategories !== undefined;
  const wholeTypes = [...new Set(counted.filter((g) => !split(g)).flatMap((g) => g.recordTypes.filter(reachable)))];
  const [perType, totals] = await Promise.all([
    store.countByType(patientId, wholeTypes),
    Promise.all(counted.map(async (g) => (split(g) ? (await Promise.all(g.recordTypes.filter(reachable).map((type) => byCategory(g, type)))).reduce((a, b) => a + b, 0) : undefined))),
  ]);
  return new Map(counted.map((g, i) => [g.key, totals[i] ?? g.recordTypes.filter(reachable).reduce((sum, type) => sum + (perType.get(type) ?? 0), 0)]));
}

/** Pre-fill: the groups an earlier approval of the same app for the same record granted; all when there was none. */
export function prefilledGroups(offered: readonly PermissionGroup[], earlierScope: string | undefined): Set<PermissionGroupKey> {
  if (earlierScope === undefined) return new Set(offered.map((g) => g.key));
  const granted = new Set(earlierScope.split(' ').filter(Boolean).flatMap(scopeGroups));
  return new Set(offered.map((g) => g.key).filter((k) => granted.has(k)));
}

export interface Approval {
  /** Every scope string the authorization now carries (OIDC, launch and resource scopes) */
  readonly scopes: readonly string[];
  /** Scopes asked for and not granted as asked */
  readonly dropped: readonly string[];
  /** When access ends by the patient's choice; undefined: until they turn it off */
  readonly expiresAt: number | undefined;
}

/**
 * The patient's choice as scopes. Groups not offered (a teen's record) can never be kept, whatever the form says,
 * and types the record does not allow are never granted, even inside a kept group (a teen's insurance coverage is
 * shared with the parent, the claims are not); "only while I use it" drops offline_access, so no refresh token
 * outlives the session.
 */
export function approve(
  requested: readonly string[],
  offered: readonly PermissionGroup[],
  ticked: ReadonlySet<string>,
  duration: AccessDuration,
  now: number,
  allowedTypes: 'all' | readonly string[],
): Approval {
  const allowed = new Set<string>(offered.map((g) => g.key));
  const kept = new Set([...ticked].filter((k) => allowed.has(k)));
  if (duration === 'session') kept.delete('offline');
  const { granted, dropped } = scopesForApproval(requested, kept, recordReach(allowedTypes));
  const seconds = kept.has('offline') ? accessDurationSeconds(duration) : undefined;
  return { scopes: granted, dropped, expiresAt: seconds ? now + seconds * 1000 : undefined };
}
