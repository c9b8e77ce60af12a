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
} from './permissions.js';

/** Groups the request reaches that this record allows (a parent's proxy for a teen covers fewer types). */
export function offeredGroups(requested: readonly string[], allowedTypes: 'all' | readonly string[]): PermissionGroup[] {
  return groupsForScopes(requested).filter((g) => !g.resourceType || allowedTypes === 'all' || allowedTypes.includes(g.resourceType));
}

/** Items of each group in the record, for the preview next to each checkbox. */
export async function previewCounts(store: ResourceStore, patientId: string, groups: readonly PermissionGroupDefinition[]): Promise<Map<PermissionGroupKey, number>> {
  const counts = new Map<PermissionGroupKey, number>();
  for (const g of groups) {
    if (!g.resourceType || !g.countNoun) continue;
    const clauses: Clause[] = [{ kind: 'compartment', patientIds: [patientId] }];
    const categories = (codes: readonly string[]) => codes.map((code) => ({ system: OBSERVATION_CATEGORY_SYSTEM, code }));
    if (g.category) clauses.push({ kind: 'token', param: 'category', values: categories([g.category]) });
    if (g.excludeCategories?.length) clauses.push({ kind: 'token', param: 'category', values: categories(g.excludeCategories), not: true });
    const page = await store.search({ type: g.resourceType, clauses, sort: 'rid', count: 0, total: true });
    counts.set(g.key, page.total ?? 0);
  }
  return counts;
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
 * The patient's choice as scopes. Groups not offered (a teen's record) can never be kept, whatever the form says;
 * "only while I use it" drops offline_access, so no refresh token outlives the session.
 */
export function approve(requested: readonly string[], offered: readonly PermissionGroup[], ticked: ReadonlySet<string>, duration: AccessDuration, now: number): Approval {
  const allowed = new Set<string>(offered.map((g) => g.key));
  const kept = new Set([...ticked].filter((k) => allowed.has(k)));
  if (duration === 'session') kept.delete('offline');
  const { granted, dropped } = scopesForApproval(requested, kept);
  const seconds = kept.has('offline') ? accessDurationSeconds(duration) : undefined;
  return { scopes: granted, dropped, expiresAt: seconds ? now + seconds * 1000 : undefined };
}
