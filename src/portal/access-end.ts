// When an app's access to a record ends by itself: the duration the patient chose, the end of the proxy access it
// was granted through (end date, 18th birthday), or a child's 13th birthday when the grant reaches types a parent
// may no longer see in a teenager's record. One answer for the FHIR API (cached tokens expire then) and the sweep.
import { parseScopes, isResourceScope } from '../auth/scopes.js';
import type { AppLink, AppLinkStore } from '../store/app-links.js';
import type { PatientRecords } from './patient-records.js';
import { TEEN_AGE, TEEN_PROXY_TYPES, birthdayAt, proxyAccess, typeAllowed } from './proxy-policy.js';
import type { ProxyService } from './proxy-service.js';

export interface AccessEndDeps {
  readonly appLinks: AppLinkStore;
  readonly proxies: ProxyService;
  readonly patients: PatientRecords;
}

/** True when the link's scopes reach a record type outside what a parent may see of a teenager's record (shared types such as Practitioner do not count). */
function reachesBeyondTeenTypes(link: AppLink): boolean {
  return parseScopes(link.scope)
    .scopes.filter(isResourceScope)
    .some((s) => s.type === '*' || !typeAllowed(TEEN_PROXY_TYPES, s.type));
}

/** ms when access ends (≤ now: already ended); undefined when nothing ends it (or it is no portal link). */
export async function linkAccessEndsAt(deps: AccessEndDeps, link: AppLink, now: number): Promise<number | undefined> {
  if (link.revokedAt !== null) return link.revokedAt;
  const ends: number[] = [];
  if (link.expiresAt !== null) ends.push(link.expiresAt);
  if (link.proxyRelationId) {
    const relation = await deps.proxies.find(link.proxyRelationId);
    if (!relation) return now;
    const birthDate = (await deps.patients.get(relation.patientId))?.birthDate;
    const access = proxyAccess(relation, birthDate, now);
    if (!access.active) return now;
    if (access.endsAt !== undefined) ends.push(access.endsAt);
    if (access.reason === 'child' && birthDate && reachesBeyondTeenTypes(link)) {
      const thirteen = birthdayAt(birthDate, TEEN_AGE);
      if (thirteen !== undefined) ends.push(thirteen);
    }
  }
  return ends.length ? Math.min(...ends) : undefined;
}

export async function grantAccessEndsAt(deps: AccessEndDeps, grantId: string, now: number): Promise<number | undefined> {
  const link = await deps.appLinks.find(grantId);
  return link ? linkAccessEndsAt(deps, link, now) : undefined;
}
