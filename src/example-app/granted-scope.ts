// What the token's granted `scope` lets the app read. A SMART app must look at the scope in the token response, not
// at what it asked for: the patient may untick kinds of data on the consent screen ("limited access"), and the
// server then grants narrower scopes, e.g. only `patient/Observation.rs?category=…|vital-signs` when lab results
// were unticked. A search outside the granted filter comes back empty rather than refused, so only the scope can
// tell "no lab results" from "lab results not shared".

const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';

// patient/Observation.rs?category=…   patient/*.read   user/AllergyIntolerance.cruds
const RESOURCE_SCOPE = /^(patient|user)\/(\*|[A-Za-z]+)\.(read|\*|c?r?u?d?s?)(?:\?(.*))?$/;

/** Whether the scope lets the app read or search `type` (and, for Observations, results of the given category). */
export function scopeAllows(grantedScope: string, type: string, interaction: 'read' | 'search', category?: string): boolean {
  return grantedScope.split(/\s+/).some((raw) => {
    const m = RESOURCE_SCOPE.exec(raw);
    if (!m) return false;
    const [, , scopeType, permissions, query] = m;
    if (scopeType !== '*' && scopeType !== type) return false;
    // v1 "read" and "*" include search; v2 names each: r (read by id), s (search).
    if (permissions !== 'read' && permissions !== '*' && !permissions!.includes(interaction === 'read' ? 'r' : 's')) return false;
    if (!query || category === undefined) return true;
    const categories = new URLSearchParams(query).getAll('category');
    // Other filters (e.g. status) narrow but do not exclude the category: the server applies them.
    if (!categories.length) return true;
    return categories.every((value) =>
      value.split(',').some((v) => {
        const bar = v.lastIndexOf('|');
        const system = bar < 0 ? '' : v.slice(0, bar);
        return v.slice(bar + 1) === category && (system === '' || system === OBSERVATION_CATEGORY);
      }),
    );
  });
}
