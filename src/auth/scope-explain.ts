// Why a scope token is not understood, in a sentence a developer can act on. The grammar itself lives in scopes.ts
// (parseScope decides what is valid); this module only diagnoses the tokens parseScope refuses, for registration
// refusals and the sandbox's token inspector.
import { parseScope } from './scopes.js';

const STATIC_HINT = 'openid, fhirUser, profile, launch, launch/patient, launch/encounter, offline_access, online_access';
const CONTEXTS = ['patient', 'user', 'system'] as const;
const V1_PERMISSIONS = ['read', 'write', '*'];
// RFC 6749 §3.3 scope-token characters (the space separates tokens).
const SCOPE_CHARS = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

// Near misses of the non-resource scopes, compared without case, dashes or underscores.
const NEAR_MISSES: Readonly<Record<string, string>> = {
  openid: 'openid',
  fhiruser: 'fhirUser',
  profile: 'profile',
  launch: 'launch',
  'launch/patient': 'launch/patient',
  'launch/encounter': 'launch/encounter',
  offlineaccess: 'offline_access',
  onlineaccess: 'online_access',
  offline: 'offline_access',
  online: 'online_access',
};

const quote = (s: string) => `'${s}'`;

/** undefined when `raw` is a scope this server understands; otherwise one plain sentence saying what is wrong and how to write it. */
export function explainScope(raw: string): string | undefined {
  if (parseScope(raw) !== undefined) return undefined;
  const q = quote(raw);
  if (raw === '') return 'an empty scope: separate scopes with single spaces';
  if (!SCOPE_CHARS.test(raw)) {
    return `${q} contains characters a scope cannot hold (spaces, double quotes, backslashes or non-ASCII letters) - write scopes in plain ASCII, separated by single spaces`;
  }
  const near = NEAR_MISSES[raw.toLowerCase().replace(/[-_]/g, '')] ?? NEAR_MISSES[raw.toLowerCase()];
  if (near) return near.toLowerCase() === raw.toLowerCase() ? `${q} is not a scope - scopes are case-sensitive: write ${near}` : `${q} is not a scope - did you mean ${near}?`;

  const slash = raw.indexOf('/');
  if (slash < 0) return `${q} is not a scope this server knows - use one of ${STATIC_HINT}, or a resource scope such as patient/Observation.rs`;
  const context = raw.slice(0, slash);
  const rest = raw.slice(slash + 1);
  if (!(CONTEXTS as readonly string[]).includes(context)) {
    if ((CONTEXTS as readonly string[]).includes(context.toLowerCase())) return `${q}: write the context in lower case, ${context.toLowerCase()}/${rest}`;
    if (context.toLowerCase() === 'launch') return `${q} is not a launch scope - use launch, launch/patient or launch/encounter`;
    return `${q}: ${quote(context)} is not a scope context - resource scopes start with patient/, user/ or system/ (e.g. patient/Observation.rs)`;
  }

  const query = rest.indexOf('?');
  const head = query < 0 ? rest : rest.slice(0, query);
  const filter = query < 0 ? undefined : rest.slice(query + 1);
  const dot = head.lastIndexOf('.');
  if (dot < 0) return `${q} has no permission - add one after a dot, e.g. ${context}/${head || 'Observation'}.rs (SMART v2) or ${context}/${head || 'Observation'}.read (v1)`;
  const type = head.slice(0, dot);
  const permission = head.slice(dot + 1);
  if (type !== '*' && !/^[A-Z][A-Za-z]{1,63}$/.test(type)) {
    const fixed = type.charAt(0).toUpperCase() + type.slice(1);
    return /^[a-z][A-Za-z]{1,63}$/.test(type)
      ? `${q}: ${quote(type)} is not a FHIR resource type - types start with a capital letter: ${context}/${fixed}.${permission}`
      : `${q}: ${quote(type)} is not a FHIR resource type - name one type (e.g. Observation) or * for every type`;
  }
  const v1 = V1_PERMISSIONS.includes(permission);
  const v2 = permission !== '' && /^c?r?u?d?s?$/.test(permission);
  if (!v1 && !v2) {
    if (permission === '') return `${q} has no permission after the dot - use SMART v2 letters c r u d s in that order (e.g. .rs) or v1 read/write/*`;
    const letters = [...permission];
    if (letters.every((l) => 'cruds'.includes(l))) {
      if (new Set(letters).size < letters.length) return `${q}: ${quote(permission)} repeats a letter - give each of c r u d s at most once, in that order (e.g. .rs)`;
      return `${q}: SMART v2 permission letters go in the order c r u d s - write .${[...'cruds'].filter((l) => letters.includes(l)).join('')}`;
    }
    return `${q}: ${quote(permission)} is not a permission - use SMART v2 letters c r u d s in that order (e.g. .rs) or v1 read/write/*`;
  }
  // The permission is fine, so the filter is what parseScope refused.
  if (v1) {
    const letters = permission === 'write' ? 'cud' : permission === 'read' ? 'rs' : 'cruds';
    return `${q}: granular filters (?...) need SMART v2 permissions - write ${context}/${type}.${letters}?${filter ?? ''}`;
  }
  return `${q}: the filter after ? must be name=value pairs joined by &, e.g. ${context}/${type}.${permission}?category=laboratory`;
}
