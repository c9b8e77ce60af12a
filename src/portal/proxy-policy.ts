// THE rule for acting on someone else's record. Pure: the relation, the patient's birth date and the moment in.
//  - parent / guardian of a child under 13: full access;
//  - parent / guardian of a teen (13 to 17): basic information, immunizations and allergies only, because
//    adolescents are entitled to confidential care (results, medications stay between teen and clinician);
//  - a minor's proxy ends by itself on the 18th birthday;
//  - between adults only a 'legal-authorization' recorded by an operator (power of attorney, court order) counts,
//    from its start to its optional end, with full access.
// Ages are counted in UTC calendar days.
import type { ProxyRelationship } from '../store/schema.js';

export const TEEN_AGE = 13;
export const ADULT_AGE = 18;

/** What a parent or guardian of a 13 to 17 year old may see. */
export const TEEN_PROXY_TYPES: readonly string[] = Object.freeze(['Patient', 'Immunization', 'AllergyIntolerance']);

export type ProxyReason =
  | 'child'
  | 'teen'
  | 'legal-authorization'
  | 'not-started'
  | 'ended'
  | 'revoked'
  | 'turned-18'
  | 'adult-needs-legal-authorization'
  | 'unknown-birth-date';

export interface ProxyAccess {
  readonly active: boolean;
  /** When access stops by itself (end date or 18th birthday), if it does */
  readonly endsAt?: number;
  /** Resource types reachable; empty when not active */
  readonly allowedTypes: readonly string[] | 'all';
  readonly reason: ProxyReason;
}

/** The fields of a relation the rule looks at. */
export interface ProxyTerms {
  readonly relationship: ProxyRelationship;
  readonly startsAt: number;
  readonly endsAt: number | null;
  readonly revokedAt: number | null;
}

/** Plain-language wording of each reason, for operator tools and the portal. */
export const PROXY_REASON_TEXT: Readonly<Record<ProxyReason, string>> = {
  child: 'Full access: the patient is under 13.',
  teen: 'Limited access (basic information, immunizations, allergies): the patient is 13 to 17.',
  'legal-authorization': 'Full access under a legal authorization.',
  'not-started': 'Not started yet.',
  ended: 'Ended.',
  revoked: 'Revoked.',
  'turned-18': 'Ended: the patient turned 18.',
  'adult-needs-legal-authorization': 'No access: the patient is an adult, which needs a legal authorization.',
  'unknown-birth-date': 'No access: the patient record has no full date of birth.',
};

const FULL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The instant (UTC midnight) of the `years`th birthday; Feb 29 birthdays fall on Mar 1 in other years. */
export function birthdayAt(birthDate: string, years: number): number | undefined {
  const m = FULL_DATE.exec(birthDate);
  if (!m) return undefined;
  return Date.UTC(Number(m[1]) + years, Number(m[2]) - 1, Number(m[3]));
}

/** Completed years at `now`; undefined without a full YYYY-MM-DD birth date. */
export function ageOn(birthDate: string | undefined, now: number): number | undefined {
  const m = birthDate ? FULL_DATE.exec(birthDate) : null;
  if (!m) return undefined;
  const d = new Date(now);
  const y = d.getUTCFullYear() - Number(m[1]);
  const beforeBirthday = d.getUTCMonth() + 1 < Number(m[2]) || (d.getUTCMonth() + 1 === Number(m[2]) && d.getUTCDate() < Number(m[3]));
  return beforeBirthday ? y - 1 : y;
}

const inactive = (reason: ProxyReason): ProxyAccess => ({ active: false, allowedTypes: [], reason });

const earliest = (a: number | null | undefined, b: number | null | undefined): number | undefined => {
  const xs = [a, b].filter((x): x is number => typeof x === 'number');
  return xs.length ? Math.min(...xs) : undefined;
};

export function proxyAccess(relation: ProxyTerms, patientBirthDate: string | undefined, now: number): ProxyAccess {
  if (relation.revokedAt !== null && relation.revokedAt <= now) return inactive('revoked');
  if (now < relation.startsAt) return inactive('not-started');
  if (relation.endsAt !== null && now >= relation.endsAt) return inactive('ended');
  const age = ageOn(patientBirthDate, now);
  if (relation.relationship === 'legal-authorization') {
    return { active: true, allowedTypes: 'all', reason: 'legal-authorization', ...(relation.endsAt !== null ? { endsAt: relation.endsAt } : {}) };
  }
  // Parent or guardian: everything depends on the patient's age, so no birth date means no access.
  if (age === undefined) return inactive('unknown-birth-date');
  if (age >= ADULT_AGE) return inactive('turned-18');
  const endsAt = earliest(relation.endsAt, birthdayAt(patientBirthDate!, ADULT_AGE));
  const end = endsAt === undefined ? {} : { endsAt };
  if (age < TEEN_AGE) return { active: true, allowedTypes: 'all', reason: 'child', ...end };
  return { active: true, allowedTypes: TEEN_PROXY_TYPES, reason: 'teen', ...end };
}

/** Why this relationship cannot be recorded for a patient of this age at `now`, or undefined when it can. */
export function relationshipProblem(relationship: ProxyRelationship, patientBirthDate: string | undefined, now: number): string | undefined {
  const age = ageOn(patientBirthDate, now);
  if (age === undefined) return 'The patient record has no full date of birth, so the kind of proxy access cannot be decided.';
  if (relationship === 'legal-authorization') {
    return age >= ADULT_AGE ? undefined : `The patient is ${age}: use 'parent' or 'guardian' for a minor.`;
  }
  return age < ADULT_AGE ? undefined : `The patient is an adult (${age}): access to an adult's record needs 'legal-authorization'.`;
}

/** Whether `type` is reachable under `allowed`. */
export const typeAllowed = (allowed: readonly string[] | 'all', type: string): boolean => allowed === 'all' || allowed.includes(type);
