// THE rule for acting on someone else's record. Pure: the relation, the patient's birth date and the moment in.
//  - parent / guardian of a child under 13: full access;
//  - parent / guardian of a teen (13 to 17): only the kinds of record TEEN_RULES lets a parent see (basic
//    information, allergies, immunizations, insurance coverage), because adolescents are entitled to confidential
//    care: the rest stays between the teen and their clinicians;
//  - a minor's proxy ends by itself on the 18th birthday;
//  - between adults only a 'legal-authorization' recorded by an operator (power of attorney, court order) counts,
//    from its start to its optional end, with full access.
// Ages are counted in UTC calendar days.
import { RESOURCE_DEFS, resourceDef, type ConsentGroupKey } from '../fhir/definitions.js';
import type { ProxyRelationship } from '../store/schema.js';

export const TEEN_AGE = 13;
export const ADULT_AGE = 18;

/** Whether a parent or guardian of a 13 to 17 year old sees a kind of record, and why. */
export interface TeenRule {
  readonly parentSees: boolean;
  readonly why: string;
}

const CONFIDENTIAL = (why: string): TeenRule => ({ parentSees: false, why });
const SHARED = (why: string): TeenRule => ({ parentSees: true, why });

/**
 * The teen rule for every kind of record, by consent group (the types of a group are in src/fhir/definitions.ts).
 * A new consent group does not compile until it is decided here; a new type joins its group's decision (and the
 * test listing what a parent sees fails until someone agrees). 'not-a-record': the group holds only types outside the
 * patient compartment, which are nobody's record and follow the scopes alone.
 */
export const TEEN_RULES: Readonly<Record<ConsentGroupKey, TeenRule | 'not-a-record'>> = {
  basic: SHARED('Name, birth date, contact details and contacts: the parent needs them to act for the teen, and is usually one of the contacts.'),
  allergies: SHARED('Safety: whoever gives the teen food or medicine has to know what causes a reaction.'),
  immunizations: SHARED('School, camp and sports forms ask the parent for vaccine records and for vaccines that are due.'),
  insurance: CONFIDENTIAL('Claims, explanations of benefit and bills list the care received, so they would reveal confidential visits (the coverage itself is shared, see TEEN_TYPE_RULES).'),
  observations: CONFIDENTIAL('Lab results and measurements include pregnancy and STI tests, drug screens and answers about sexual activity or substance use.'),
  problems: CONFIDENTIAL('Diagnoses include reproductive, sexual and mental health and substance use, which a teen may consent to alone.'),
  medications: CONFIDENTIAL('Prescriptions reveal confidential care (contraception, treatment for STIs, depression or substance use).'),
  visits: CONFIDENTIAL('Which clinic the teen went to, and when, can reveal confidential care by itself.'),
  procedures: CONFIDENTIAL('Procedures and the orders for them (tests, referrals) reveal confidential care.'),
  reports: CONFIDENTIAL('Test reports and clinical notes record what the teen told their clinician in confidence.'),
  'care-plans': CONFIDENTIAL('Care plans, goals and the care team reveal the conditions being treated and who treats them.'),
  devices: CONFIDENTIAL('Devices include contraceptive implants and IUDs.'),
  questionnaires: CONFIDENTIAL('Screening answers (depression, substance use, home and sexual life) are given in confidence.'),
  'other-records': CONFIDENTIAL("Messages with the care team, consents, flags, lists and the record's provenance and access log reveal confidential care."),
  providers: 'not-a-record',
  'reference-data': 'not-a-record',
};

/** Types decided apart from their group. */
export const TEEN_TYPE_RULES: Readonly<Record<string, TeenRule>> = {
  Coverage: SHARED('The insurance plan and member number: usually the parent\'s own policy, needed to book care and to pay.'),
};

/** The teen rule for a type; undefined for types outside the patient compartment (nobody's record) and unknown types. */
export function teenRule(type: string): TeenRule | undefined {
  const def = resourceDef(type);
  if (!def?.inCompartment) return undefined;
  const rule = TEEN_TYPE_RULES[type] ?? TEEN_RULES[def.consentGroup];
  // A compartment type in a group decided as 'not-a-record' gets no access until someone decides it.
  return rule === 'not-a-record' ? undefined : rule;
}

/** What a parent or guardian of a 13 to 17 year old may see: the patient-compartment types TEEN_RULES shares. */
export const TEEN_PROXY_TYPES: readonly string[] = Object.freeze(RESOURCE_DEFS.filter((d) => d.inCompartment && teenRule(d.type)?.parentSees === true).map((d) => d.type));

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
  teen: 'Limited access (basic information, allergies, immunizations and insurance coverage; not health problems, medications, results, visits or notes): the patient is 13 to 17.',
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

/**
 * Whether `type` is reachable under `allowed` (from an active relation). Types outside the patient compartment
 * (Practitioner, Organization, Location, Medication, ...) are nobody's record: the proxy rule has nothing to say about
 * them, the token's scopes decide. Unknown types count as records, so they fail closed.
 */
export const typeAllowed = (allowed: readonly string[] | 'all', type: string): boolean =>
  allowed === 'all' || allowed.includes(type) || resourceDef(type)?.inCompartment === false;
