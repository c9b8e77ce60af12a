// The fictional practice behind every record: one provider organization with a clinic (Location) in
// each city patients live in, a family physician and a pediatrician per clinic (Practitioner and
// PractitionerRole), the lab's and pharmacy's organizations, the payers named by Coverage, and the
// Medication resources some prescriptions point at. It does not depend on the data-set seed, so the
// seed bundles and bulk NDJSON of any seed reference the same shared resources, written once
// (fhir-resources/seed/00-practice.json, or the NDJSON files of a bulk run).
import type { Address, CodeableConcept, ContactPoint, Identifier, Location, Medication, Organization, Practitioner, PractitionerRole, Reference } from 'fhir/r4.js';
import type { City, Sex } from './demographics.js';
import { CITIES, fictionalPhone, pickAncestry, pickPersonName } from './demographics.js';
import type { PatientProfile } from './profile.js';
import { Random } from './random.js';
import type { DrugKey } from './regimen.js';
import { SEED_PATIENTS } from './seed-patients.js';
import { DRUGS } from './regimen.js';
import { PROFILE, SYSTEM, concept } from './terminology.js';
import { exactAge } from './time.js';

export type PracticeResource = Organization | Location | Practitioner | PractitionerRole | Medication;

export interface Clinician {
  readonly reference: Reference;
  /** "Jordan Lee, MD": how notes and reports sign. */
  readonly signature: string;
  readonly specialty: 'family-medicine' | 'pediatrics';
}

export interface Clinic {
  readonly city: City;
  readonly location: Reference;
  readonly familyPhysician: Clinician;
  readonly pediatrician: Clinician;
}

export type PayerKey = 'commercial' | 'medicare' | 'medicaid';

export interface Practice {
  readonly organization: Reference;
  readonly pharmacy: Reference;
  readonly payers: Readonly<Record<PayerKey, Reference>>;
  readonly clinics: ReadonlyMap<string, Clinic>;
  /** Drugs prescribed by reference to a Medication resource rather than an inline code. */
  readonly medications: ReadonlyMap<DrugKey, Reference>;
  /** Every shared resource, organizations first, in a fixed order. */
  readonly resources: readonly PracticeResource[];
}

const ORGANIZATION_NAME = 'Example Family Health';

/** The Medication resources: a chronic drug from each of two seed stories (Maria's levothyroxine, Marcus's metformin). */
const MEDICATION_DRUGS: readonly { drug: DrugKey; ingredient: { rxnorm: string; display: string }; strength: { value: number; unit: string } }[] = [
  { drug: 'levothyroxine-125mcg', ingredient: { rxnorm: '10582', display: 'levothyroxine' }, strength: { value: 125, unit: 'ug' } },
  { drug: 'metformin-1000', ingredient: { rxnorm: '6809', display: 'metformin' }, strength: { value: 1000, unit: 'mg' } },
];

/**
 * A fictional NPI: ten digits whose last is the Luhn check digit over the "80840" prefix, as US
 * Core checks. The first digit is 9, which the NPI registry never issues (it issues 1 and 2).
 */
export function fictionalNpi(rng: Random): string {
  let body = '9';
  for (let i = 0; i < 8; i++) body += String(rng.int(0, 9));
  return body + npiCheckDigit(body);
}

export function npiCheckDigit(first9: string): string {
  const digits = `80840${first9}`;
  let sum = 0;
  // Luhn: double every second digit counting leftwards from the one next to the (missing) check digit.
  for (let i = digits.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = Number(digits[i]);
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

function npiIdentifier(value: string): Identifier {
  return { system: SYSTEM.npi, value };
}

function cityAddress(city: City, lines: readonly string[]): Address {
  return { use: 'work', line: [...lines], city: city.city, state: city.state, postalCode: city.postalCode, country: 'US' };
}

function workPhone(value: string): ContactPoint {
  return { system: 'phone', value, use: 'work' };
}

function organization(id: string, name: string, type: CodeableConcept, extra: Pick<Organization, 'identifier' | 'telecom' | 'address'>): Organization {
  return {
    resourceType: 'Organization',
    id,
    meta: { profile: [PROFILE.organization] },
    ...(extra.identifier ? { identifier: extra.identifier } : {}),
    active: true,
    type: [type],
    name,
    ...(extra.telecom ? { telecom: extra.telecom } : {}),
    ...(extra.address ? { address: extra.address } : {}),
  };
}

const ORG_TYPE = {
  provider: concept(SYSTEM.organizationType, 'prov', 'Healthcare Provider'),
  payer: concept(SYSTEM.organizationType, 'pay', 'Payer'),
};

const CLINIC_STREETS = ['Medical Center Drive', 'Health Park Way', 'Wellness Boulevard', 'Clinic Road', 'Commons Parkway'];

interface Doctor {
  readonly practitioner: Practitioner;
  readonly role: PractitionerRole;
  readonly clinician: Clinician;
}

function doctor(
  rng: Random,
  options: { id: string; name: { given: string[]; family: string }; sex: Sex; specialty: Clinician['specialty'] },
  city: City,
  location: Location,
  organizationRef: Reference,
): Doctor {
  const { id, name, sex, specialty } = options;
  const display = `${name.given.join(' ')} ${name.family}, MD`;
  const phone = location.telecom?.[0]?.value ?? fictionalPhone(rng, city.areaCode);
  const practitioner: Practitioner = {
    resourceType: 'Practitioner',
    id,
    meta: { profile: [PROFILE.practitioner] },
    identifier: [npiIdentifier(fictionalNpi(rng))],
    active: true,
    name: [{ use: 'official', family: name.family, given: [...name.given], prefix: ['Dr.'], suffix: ['MD'] }],
    telecom: [workPhone(phone)],
    ...(location.address ? { address: [location.address] } : {}),
    gender: sex,
  };
  const reference: Reference = { reference: `Practitioner/${id}`, display };
  const role: PractitionerRole = {
    resourceType: 'PractitionerRole',
    id: rng.uuid(),
    meta: { profile: [PROFILE.practitionerRole] },
    active: true,
    practitioner: reference,
    organization: organizationRef,
    code: [concept(SYSTEM.practitionerRole, 'doctor', 'Doctor')],
    specialty: [
      specialty === 'pediatrics' ? concept(SYSTEM.nucc, '208000000X', 'Pediatrics', 'Pediatrics') : concept(SYSTEM.nucc, '207Q00000X', 'Family Medicine', 'Family medicine'),
    ],
    location: [{ reference: `Location/${location.id}`, display: location.name ?? city.city }],
    telecom: [workPhone(phone)],
  };
  return { practitioner, role, clinician: { reference, signature: display, specialty } };
}

// A clinician sharing a seed patient's surname would read as family; those names are re-drawn.
const SEED_SURNAMES: ReadonlySet<string> = new Set(SEED_PATIENTS.map((p) => p.family));

function randomDoctorName(rng: Random): { name: { given: string[]; family: string }; sex: Sex } {
  const sex: Sex = rng.chance(0.5) ? 'female' : 'male';
  for (;;) {
    const picked = pickPersonName(rng, pickAncestry(rng).names, sex);
    if (!SEED_SURNAMES.has(picked.family)) return { name: { given: picked.given.slice(0, 1), family: picked.family }, sex };
  }
}

function medicationResource(id: string, entry: (typeof MEDICATION_DRUGS)[number]): Medication {
  const drug = DRUGS[entry.drug];
  return {
    resourceType: 'Medication',
    id,
    meta: { profile: [PROFILE.medication] },
    code: concept(SYSTEM.rxnorm, drug.rxnorm, drug.display, drug.text),
    status: 'active',
    form: concept(SYSTEM.snomed, '385055001', 'Tablet', 'Tablet'),
    ingredient: [
      {
        itemCodeableConcept: concept(SYSTEM.rxnorm, entry.ingredient.rxnorm, entry.ingredient.display),
        isActive: true,
        strength: {
          numerator: { value: entry.strength.value, unit: entry.strength.unit, system: SYSTEM.ucum, code: entry.strength.unit },
          denominator: { value: 1, unit: 'tablet', system: SYSTEM.ucum, code: '{tbl}' },
        },
      },
    ],
  };
}

function buildPractice(): Practice {
  const rng = Random.derive('practice', 'v1');
  const resources: PracticeResource[] = [];
  const headquarters = CITIES.find((c) => c.city === 'Columbus') ?? CITIES[0];
  if (!headquarters) throw new Error('no cities');

  const orgId = rng.uuid();
  const main = organization(orgId, ORGANIZATION_NAME, ORG_TYPE.provider, {
    identifier: [npiIdentifier(fictionalNpi(rng))],
    telecom: [workPhone(`${headquarters.areaCode}-555-0100`), { system: 'url', value: 'https://health.example.org', use: 'work' }],
    address: [cityAddress(headquarters, ['100 Example Plaza'])],
  });
  const organizationRef: Reference = { reference: `Organization/${orgId}`, display: ORGANIZATION_NAME };

  const pharmacyId = rng.uuid();
  const pharmacy = organization(pharmacyId, 'Example Community Pharmacy', ORG_TYPE.provider, {
    identifier: [npiIdentifier(fictionalNpi(rng))],
    telecom: [workPhone(`${headquarters.areaCode}-555-0101`)],
    address: [cityAddress(headquarters, ['120 Example Plaza'])],
  });
  const payerNames: Record<PayerKey, string> = {
    commercial: 'Example Health Plan',
    medicare: 'Medicare (Centers for Medicare & Medicaid Services)',
    medicaid: 'Example State Medicaid Program',
  };
  const payerResources = (Object.keys(payerNames) as PayerKey[]).map((key) =>
    organization(rng.uuid(), payerNames[key], ORG_TYPE.payer, key === 'medicare' ? {} : { telecom: [workPhone(`${headquarters.areaCode}-555-01${key === 'commercial' ? '02' : '03'}`)] }),
  );
  const payers = Object.fromEntries(
    (Object.keys(payerNames) as PayerKey[]).map((key, i) => [key, { reference: `Organization/${payerResources[i]?.id}`, display: payerNames[key] }]),
  ) as Record<PayerKey, Reference>;
  resources.push(main, pharmacy, ...payerResources);

  const clinics = new Map<string, Clinic>();
  const people: PracticeResource[] = [];
  for (const city of CITIES) {
    const locationId = rng.uuid();
    const location: Location = {
      resourceType: 'Location',
      id: locationId,
      meta: { profile: [PROFILE.location] },
      status: 'active',
      name: `${ORGANIZATION_NAME} – ${city.city}`,
      mode: 'instance',
      telecom: [workPhone(fictionalPhone(rng, city.areaCode))],
      address: cityAddress(city, [`${rng.int(100, 4999)} ${rng.pick(CLINIC_STREETS)}`, `Suite ${rng.int(1, 4)}00`]),
      managingOrganization: organizationRef,
    };
    resources.push(location);
    // The demo clinician account (Practitioner/dr-lee, "Dr. Jordan Lee") is the family physician in San Antonio.
    const fp = city.city === 'San Antonio' ? { id: 'dr-lee', name: { given: ['Jordan'], family: 'Lee' }, sex: 'female' as const } : { id: rng.uuid(), ...randomDoctorName(rng) };
    const family = doctor(rng, { ...fp, specialty: 'family-medicine' }, city, location, organizationRef);
    const peds = doctor(rng, { id: rng.uuid(), ...randomDoctorName(rng), specialty: 'pediatrics' }, city, location, organizationRef);
    people.push(family.practitioner, peds.practitioner, family.role, peds.role);
    clinics.set(city.city, {
      city,
      location: { reference: `Location/${locationId}`, display: location.name ?? city.city },
      familyPhysician: family.clinician,
      pediatrician: peds.clinician,
    });
  }
  resources.push(...people.filter((r) => r.resourceType === 'Practitioner'), ...people.filter((r) => r.resourceType === 'PractitionerRole'));

  const medications = new Map<DrugKey, Reference>();
  for (const entry of MEDICATION_DRUGS) {
    const med = medicationResource(rng.uuid(), entry);
    resources.push(med);
    medications.set(entry.drug, { reference: `Medication/${med.id}`, display: DRUGS[entry.drug].text });
  }
  return { organization: organizationRef, pharmacy: { reference: `Organization/${pharmacyId}`, display: 'Example Community Pharmacy' }, payers, clinics, medications, resources };
}

let cached: Practice | undefined;

/** The shared practice (built once per process; it is a constant). */
export function practice(): Practice {
  cached ??= buildPractice();
  return cached;
}

export function clinicFor(profile: PatientProfile): Clinic {
  const clinic = practice().clinics.get(profile.city.city);
  if (!clinic) throw new Error(`no clinic in ${profile.city.city}`);
  return clinic;
}

/** Who sees the patient on a day: the pediatrician until 18, then the family physician. */
export function clinicianFor(profile: PatientProfile, day: number): Clinician {
  const clinic = clinicFor(profile);
  return exactAge(profile.birthDay, day) < 18 ? clinic.pediatrician : clinic.familyPhysician;
}
