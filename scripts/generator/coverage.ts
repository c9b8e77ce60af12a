// Who pays and who else is involved (US Core 6.1): the patient's insurance (Coverage) — Medicare
// from 65, otherwise a commercial plan or Medicaid — and, for a minor, the parent as a
// RelatedPerson who holds the family policy. A child of a seed parent draws the plan from the
// parent's own stream, so Sofia's and Mateo's Coverage name Maria's subscriber number and plan.
import type { CodeableConcept, Coverage, Reference, RelatedPerson } from 'fhir/r4.js';
import type { PayerKey, Practice } from './practice.js';
import type { PatientProfile } from './profile.js';
import { Random } from './random.js';
import { PROFILE, SYSTEM, coding, concept } from './terminology.js';
import { ANCHOR_DAY, addYears, calendar, dayFromParts, exactAge, isoFromDay } from './time.js';

const MBI_SYSTEM = 'http://hl7.org/fhir/sid/us-mbi';

interface Plan {
  readonly payer: PayerKey;
  readonly type: CodeableConcept;
  readonly planValue: string;
  readonly planName: string;
  readonly group?: { readonly value: string; readonly name: string };
  /** Subscriber (policy) number; dependents add a two-digit suffix to it for their member id. */
  readonly subscriberNumber: string;
}

const TYPE = {
  ppo: { coding: [coding(SYSTEM.sourceOfPayment, '512', 'Commercial Managed Care - PPO'), coding(SYSTEM.actCode, 'PPO', 'preferred provider organization policy')], text: 'PPO' },
  hmo: { coding: [coding(SYSTEM.sourceOfPayment, '511', 'Commercial Managed Care - HMO'), coding(SYSTEM.actCode, 'HMO', 'health maintenance organization policy')], text: 'HMO' },
  medicare: { coding: [coding(SYSTEM.sourceOfPayment, '1', 'MEDICARE')], text: 'Medicare' },
  medicaid: { coding: [coding(SYSTEM.sourceOfPayment, '2', 'MEDICAID')], text: 'Medicaid' },
} as const satisfies Record<string, CodeableConcept>;

const EMPLOYERS = ['Riverside School District', 'Summit Logistics', 'Lakeshore Manufacturing', 'Cedar Valley Hospital', 'Northgate Software', 'Harbor City Transit', 'Bluebird Foods', 'Pinecrest Bank'];

function digits(rng: Random, n: number): string {
  let s = String(rng.int(1, 9));
  for (let i = 1; i < n; i++) s += String(rng.int(0, 9));
  return s;
}

/** A fictional Medicare Beneficiary Identifier in the official 11-character layout. */
function mbi(rng: Random): string {
  const letters = 'ACDEFGHJKMNPQRTUVWXY';
  const alnum = `${letters}0123456789`;
  const l = (): string => letters[rng.int(0, letters.length - 1)] ?? 'A';
  const a = (): string => alnum[rng.int(0, alnum.length - 1)] ?? '0';
  const d = (): string => String(rng.int(0, 9));
  return `${rng.int(1, 9)}${l()}${a()}${d()}${l()}${a()}${d()}${l()}${l()}${d()}${d()}`;
}

/** The working-age plan of a household: the same stream gives the same plan for the policyholder and dependents. */
function householdPlan(rng: Random): Plan {
  const payer: PayerKey = rng.chance(0.82) ? 'commercial' : 'medicaid';
  if (payer === 'medicaid') return { payer, type: TYPE.medicaid, planValue: 'MCD-STD', planName: 'Medicaid managed care', subscriberNumber: `MCD${digits(rng, 9)}` };
  const ppo = rng.chance(0.6);
  const employer = rng.pick(EMPLOYERS);
  return {
    payer,
    type: ppo ? TYPE.ppo : TYPE.hmo,
    planValue: ppo ? 'PPO-GOLD' : 'HMO-SILVER',
    planName: ppo ? 'Example Health Plan PPO Gold' : 'Example Health Plan HMO Silver',
    group: { value: `GRP${digits(rng, 6)}`, name: `${employer} employee plan` },
    subscriberNumber: `EHP${digits(rng, 9)}`,
  };
}

export interface CoverageParts {
  readonly id: string;
  readonly subject: Reference;
  readonly practice: Practice;
  /** The parent as RelatedPerson, for a minor covered on the family policy. */
  readonly guardian?: Reference;
}

export function coverageResource(profile: PatientProfile, parts: CoverageParts): Coverage {
  const rng = Random.derive(...profile.seedParts, 'coverage');
  const ageNow = exactAge(profile.birthDay, ANCHOR_DAY);
  const minorWithParent = ageNow < 18 && parts.guardian !== undefined;
  const memberType = concept(SYSTEM.identifierType, 'MB', 'Member Number');
  const common = { resourceType: 'Coverage' as const, id: parts.id, meta: { profile: [PROFILE.coverage] } };

  if (ageNow >= 65) {
    const number = mbi(rng);
    const eligible = addYears(profile.birthDay, 65);
    const c = calendar(eligible);
    return {
      ...common,
      identifier: [{ type: memberType, system: MBI_SYSTEM, value: number }],
      status: 'active',
      type: TYPE.medicare,
      subscriberId: number,
      beneficiary: parts.subject,
      relationship: concept(SYSTEM.subscriberRelationship, 'self', 'Self'),
      period: { start: isoFromDay(dayFromParts(c.year, c.month, 1)) },
      payor: [parts.practice.payers.medicare],
      class: [{ type: concept(SYSTEM.coverageClass, 'plan', 'Plan'), value: 'MEDICARE-AB', name: 'Original Medicare (Part A and Part B)' }],
    };
  }

  // A seed child's plan is the seed parent's own; a bulk child's parent is not a patient, so it is drawn here.
  const planRng = minorWithParent ? Random.derive(...(profile.guardian?.seedParts ?? [...profile.seedParts, 'guardian']), 'coverage') : rng;
  const household = householdPlan(planRng);
  // Medicaid enrolls each child in their own name; an employer plan covers them as the subscriber's dependent.
  const dependent = minorWithParent && household.payer === 'commercial';
  const plan = minorWithParent && !dependent ? { ...household, subscriberNumber: `MCD${digits(rng, 9)}` } : household;
  const suffix = dependent ? String(2 + (((profile.birthDay % 17) + 17) % 17)).padStart(2, '0') : '01';
  const startYear = Math.max(calendar(profile.birthDay).year, calendar(ANCHOR_DAY).year - rng.int(0, 6));
  const start = Math.max(profile.birthDay, dayFromParts(startYear, 1, 1));
  return {
    ...common,
    identifier: [{ type: memberType, system: SYSTEM.memberId, value: `${plan.subscriberNumber}-${suffix}` }],
    status: 'active',
    type: plan.type,
    ...(dependent && parts.guardian ? { policyHolder: parts.guardian, subscriber: parts.guardian } : { subscriber: parts.subject }),
    subscriberId: plan.subscriberNumber,
    beneficiary: parts.subject,
    ...(dependent ? { dependent: suffix } : {}),
    relationship: dependent ? concept(SYSTEM.subscriberRelationship, 'child', 'Child') : concept(SYSTEM.subscriberRelationship, 'self', 'Self'),
    period: { start: isoFromDay(start) },
    payor: [parts.practice.payers[plan.payer]],
    class: [
      ...(plan.group ? [{ type: concept(SYSTEM.coverageClass, 'group', 'Group'), value: plan.group.value, name: plan.group.name }] : []),
      { type: concept(SYSTEM.coverageClass, 'plan', 'Plan'), value: plan.planValue, name: plan.planName },
    ],
  };
}

/** A minor's parent (from Patient.contact) as a RelatedPerson of the child's record. */
export function guardianResource(profile: PatientProfile, id: string, subject: Reference): RelatedPerson | undefined {
  const g = profile.guardian;
  if (!g || exactAge(profile.birthDay, ANCHOR_DAY) >= 18) return undefined;
  const mother = g.relationship === 'mother';
  return {
    resourceType: 'RelatedPerson',
    id,
    meta: { profile: [PROFILE.relatedPerson] },
    active: true,
    patient: subject,
    relationship: [concept(SYSTEM.roleCode, mother ? 'MTH' : 'FTH', mother ? 'mother' : 'father', mother ? 'Mother' : 'Father'), concept(SYSTEM.contactRelationship, 'N', 'Next-of-Kin')],
    name: [{ use: 'official', family: g.name.family, given: [...g.name.given] }],
    telecom: [
      { system: 'phone', value: g.phone, use: 'mobile' },
      ...(g.email !== undefined ? [{ system: 'email' as const, value: g.email, use: 'home' as const }] : []),
    ],
    gender: mother ? 'female' : 'male',
    address: [{ use: 'home', line: [...profile.addressLines], city: profile.city.city, state: profile.city.state, postalCode: profile.city.postalCode, country: 'US' }],
  };
}
