// The Patient resource (US Core patient): MRN, name, contact details, OMB race/ethnicity and
// birth sex extensions, preferred language, and for minors a parent as contact — the link the
// proxy-access feature uses to connect a parent's login to a child's record.
import type { Extension, Patient, PatientContact } from 'fhir/r4.js';
import { ETHNICITY, LANGUAGE, RACE } from './demographics.js';
import type { GuardianContact, PatientProfile } from './profile.js';
import { PROFILE, SYSTEM, concept } from './terminology.js';
import { ANCHOR_DAY, ageInYears, isoFromDay } from './time.js';

function ombExtension(url: string, code: string, display: string): Extension {
  return {
    url,
    extension: [
      { url: 'ombCategory', valueCoding: { system: SYSTEM.ombRaceEthnicity, code, display } },
      { url: 'text', valueString: display },
    ],
  };
}

const MARITAL_DISPLAY = { M: 'Married', S: 'Never Married', D: 'Divorced', W: 'Widowed' } as const;

function guardianContact(g: GuardianContact, profile: PatientProfile): PatientContact {
  return {
    relationship: [
      concept(SYSTEM.contactRelationship, 'N', 'Next-of-Kin'),
      concept(SYSTEM.roleCode, 'PRN', 'parent', g.relationship === 'mother' ? 'Mother' : 'Father'),
    ],
    name: { use: 'official', family: g.name.family, given: [...g.name.given] },
    telecom: [
      { system: 'phone', value: g.phone, use: 'mobile' },
      ...(g.email !== undefined ? [{ system: 'email' as const, value: g.email, use: 'home' as const }] : []),
    ],
    address: { use: 'home', line: [...profile.addressLines], city: profile.city.city, state: profile.city.state, postalCode: profile.city.postalCode, country: 'US' },
  };
}

export function patientResource(profile: PatientProfile): Patient {
  const race = RACE[profile.race];
  const ethnicity = ETHNICITY[profile.ethnicity];
  const minor = ageInYears(profile.birthDay, ANCHOR_DAY) < 18;
  const language = LANGUAGE[profile.language];
  return {
    resourceType: 'Patient',
    id: profile.id,
    meta: { profile: [PROFILE.patient] },
    extension: [
      ombExtension(PROFILE.raceExtension, race.code, race.display),
      ombExtension(PROFILE.ethnicityExtension, ethnicity.code, ethnicity.display),
      { url: PROFILE.birthSexExtension, valueCode: profile.sex === 'female' ? 'F' : 'M' },
    ],
    identifier: [
      {
        use: 'usual',
        type: concept(SYSTEM.identifierType, 'MR', 'Medical Record Number', 'MRN'),
        system: SYSTEM.mrn,
        value: profile.mrn,
      },
    ],
    active: true,
    name: [{ use: 'official', family: profile.name.family, given: [...profile.name.given] }],
    telecom: [
      { system: 'phone', value: profile.phone, use: minor ? 'home' : 'mobile' },
      { system: 'email', value: `${profile.emailLocalPart}@example.com`, use: 'home' },
    ],
    gender: profile.sex,
    birthDate: isoFromDay(profile.birthDay),
    address: [
      {
        use: 'home',
        line: [...profile.addressLines],
        city: profile.city.city,
        state: profile.city.state,
        postalCode: profile.city.postalCode,
        country: 'US',
      },
    ],
    ...(profile.maritalStatus !== undefined
      ? { maritalStatus: concept(SYSTEM.maritalStatus, profile.maritalStatus, MARITAL_DISPLAY[profile.maritalStatus]) }
      : {}),
    ...(profile.guardian !== undefined ? { contact: [guardianContact(profile.guardian, profile)] } : {}),
    communication: [{ language: concept(SYSTEM.language, profile.language, language.display, language.display), preferred: true }],
  };
}
