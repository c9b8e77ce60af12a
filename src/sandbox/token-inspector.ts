// The token inspector's judgement: for an access token, what the server knows of it (TokenStatus, the same facts
// the FHIR API's 401 explanation uses) and, for every scope the app ASKED for, what became of it: granted, unticked
// by the patient, not allowed for this client, expired with the chosen duration, or not understood (and why).
import { STATIC_SCOPES, allowedScopes } from '../auth/provider.js';
import { explainScope } from '../auth/scope-explain.js';
import { parseScope, parseScopes, scopeCovers } from '../auth/scopes.js';
import type { TokenStatus } from '../auth/token-status.js';
import { permissionGroup, scopeGroups } from '../portal/permissions.js';

export type ScopeVerdict = 'granted' | 'unticked' | 'not-allowed' | 'expired' | 'revoked' | 'not-understood';

export interface ScopeJudgement {
  readonly scope: string;
  readonly verdict: ScopeVerdict;
  /** One sentence: why, and what to do */
  readonly why: string;
}

export interface ClientFacts {
  /** The client's registered allow-list (smart_scope), undefined when it registered none (then anything valid may be asked) */
  readonly allowList?: string;
  readonly grantTypes: readonly string[];
  readonly name: string;
}

const STATIC = new Set<string>(STATIC_SCOPES);
const when = (ms: number | undefined) => (ms === undefined ? 'earlier' : new Date(ms).toISOString().replace('.000Z', 'Z'));

/**
 * One verdict per requested scope. `requested` is the scope string of the authorization request (kept with the launch
 * context); without it (backend tokens) the token's own scopes are judged.
 */
export function judgeScopes(status: TokenStatus, requested: string | undefined, client: ClientFacts | undefined): ScopeJudgement[] {
  const asked = [...new Set((requested ?? status.issuedScope ?? '').split(' ').filter(Boolean))];
  const issued = parseScopes(status.issuedScope).scopes;
  // The scopes in force now: narrowed when the patient later unticked data; for a dead token, what it held when issued.
  const effective = parseScopes(status.state === 'active' ? status.scope : status.issuedScope).scopes;
  const backend = status.kind === 'client_credentials';
  return asked.map((raw): ScopeJudgement => {
    const problem = explainScope(raw);
    if (problem) return { scope: raw, verdict: 'not-understood', why: problem };
    const parsed = parseScope(raw)!;
    if (client && !STATIC.has(raw) && allowedScopes([raw], { ...(client.allowList !== undefined ? { smartScope: client.allowList } : {}), grantTypes: client.grantTypes }, backend ? 'backend' : 'user').length === 0) {
      if (parsed.kind === 'resource' && (parsed.context === 'system') !== backend) {
        return { scope: raw, verdict: 'not-allowed', why: backend ? 'A backend service (client_credentials) gets system/ scopes only.' : 'system/ scopes are for backend services (client_credentials) only; an app with a user asks for patient/ or user/ scopes.' };
      }
      return { scope: raw, verdict: 'not-allowed', why: `${client.name} is not registered for it. It may ask for: ${client.allowList || '(nothing registered)'}. Add the scope to the app's registration.` };
    }
    const kept = effective.filter((e) => e.raw === raw || scopeCovers(parsed, e)).map((e) => e.raw);
    const wasIssued = issued.some((e) => e.raw === raw || scopeCovers(parsed, e));
    if (kept.length) {
      const partly = !kept.includes(raw);
      if (status.state === 'expired') return { scope: raw, verdict: 'expired', why: `Granted, but the token expired at ${when(status.expiresAt)}. Use the refresh token, or launch again.` };
      if (status.state === 'access-ended') return { scope: raw, verdict: 'expired', why: `Granted until ${when(status.accessEndsAt)}: the access the patient chose has ended. The app must ask again.` };
      if (status.state === 'revoked') return { scope: raw, verdict: 'revoked', why: `Granted, but access was revoked at ${when(status.revokedAt)}.` };
      if (status.state !== 'active') return { scope: raw, verdict: 'expired', why: status.reason };
      return partly
        ? { scope: raw, verdict: 'unticked', why: partlyKept(raw, kept) }
        : { scope: raw, verdict: 'granted', why: 'The token holds it.' };
    }
    if (raw === 'offline_access' || raw === 'online_access') return { scope: raw, verdict: 'unticked', why: 'The patient chose access only while they use the app: no refresh token.' };
    if (wasIssued) return { scope: raw, verdict: 'unticked', why: 'Granted at first; the patient later took it away (Change what it can see).' };
    if (parsed.kind !== 'resource') return { scope: raw, verdict: 'unticked', why: 'Not granted in this authorization.' };
    return { scope: raw, verdict: 'unticked', why: 'The patient unticked this kind of data on the consent page.' };
  });
}

/** "Only in part: the patient unticked Lab results; the token keeps Vital signs and Other health measurements." */
function partlyKept(raw: string, kept: readonly string[]): string {
  const label = (k: string) => permissionGroup(k)?.label ?? k;
  const keptGroups = new Set(kept.flatMap(scopeGroups));
  const unticked = scopeGroups(raw).filter((g) => !keptGroups.has(g));
  const list = (keys: Iterable<string>) => [...keys].map(label).join(', ');
  return `Only in part: the patient unticked ${list(unticked) || 'some of the data'}; the token keeps ${list(keptGroups) || kept.join(' ')} (as ${kept.length} narrower scope${kept.length === 1 ? '' : 's'}).`;
}
