// Builders for the US Core type table (us-core-types.ts, us-core-directory.ts): one parameter, one type entry,
// and the search combinations, so each table entry reads as data.
import type { ConsentGroupKey, Interaction, ResourceDef, SearchCombination, SearchParamDef } from './definitions.js';

export const SP = 'http://hl7.org/fhir/SearchParameter/';
const USC = 'http://hl7.org/fhir/us/core/SearchParameter/';
const PROFILE = 'http://hl7.org/fhir/us/core/StructureDefinition/';
export const CS = 'http://hl7.org/fhir/';
const ALL: readonly Interaction[] = ['read', 'vread', 'history-instance', 'search-type', 'create', 'update', 'delete'];
const PROVENANCE = ['Provenance:target'];

type Extra = Partial<Pick<SearchParamDef, 'implicitSystem' | 'targets' | 'compartment' | 'indexAs' | 'definition' | 'chains'>>;

/** A parameter of `type`; its definition is the US Core SearchParameter unless `extra.definition` names another. */
export function param(type: string, name: string, kind: SearchParamDef['kind'], description: string, paths: readonly string[], extra: Extra = {}): SearchParamDef {
  return { name, kind, description, definition: `${USC}us-core-${type.toLowerCase()}-${name}`, paths, ...extra };
}

export const patientRef = (type: string, path: string): SearchParamDef =>
  param(type, 'patient', 'reference', `Who the ${type} is about (the patient compartment)`, [path], { targets: ['Patient'], compartment: true });

export const identifier = (type: string): SearchParamDef =>
  param(type, 'identifier', 'token', `A business identifier of the ${type}`, ['identifier'], { definition: `${SP}clinical-identifier` });

export const status = (type: string, path: string, system: string, description: string): SearchParamDef =>
  param(type, 'status', 'token', description, [path], { implicitSystem: system });

export const combos = (shall: readonly string[], should: readonly string[] = []): SearchCombination[] => [
  ...shall.map((c) => ({ names: c.split('+'), expectation: 'SHALL' as const })),
  ...should.map((c) => ({ names: c.split('+'), expectation: 'SHOULD' as const })),
];

interface Entry {
  readonly type: string;
  readonly profiles: readonly string[];
  readonly params: readonly SearchParamDef[];
  readonly patientPaths: readonly string[];
  readonly compartmentFromTargets?: readonly string[];
  readonly dateParam?: string;
  readonly required?: readonly (readonly string[])[];
  readonly codes?: Readonly<Record<string, readonly string[]>>;
  readonly includes?: readonly string[];
  readonly combinations: readonly SearchCombination[];
  readonly consentGroup: ConsentGroupKey;
  /** Types outside the patient compartment carry no Provenance:target revinclude in US Core */
  readonly outsideCompartment?: boolean;
}

export function def(e: Entry): ResourceDef {
  const inCompartment = e.type === 'Patient' || !e.outsideCompartment;
  return {
    type: e.type,
    profile: `http://hl7.org/fhir/StructureDefinition/${e.type}`,
    supportedProfiles: e.profiles.map((p) => (p.startsWith('http') ? p : `${PROFILE}${p}`)),
    interactions: ALL,
    params: e.params,
    patientPaths: e.patientPaths,
    ...(e.compartmentFromTargets ? { compartmentFromTargets: e.compartmentFromTargets } : {}),
    inCompartment,
    sharedWithPatients: !inCompartment,
    ...(e.dateParam ? { dateParam: e.dateParam } : {}),
    required: e.required ?? [],
    ...(e.codes ? { codes: e.codes } : {}),
    includes: e.includes ?? [],
    revincludes: inCompartment ? PROVENANCE : [],
    combinations: e.combinations,
    support: 'us-core',
    consentGroup: e.consentGroup,
  };
}

export const EVENT_STATUS = ['preparation', 'in-progress', 'not-done', 'on-hold', 'stopped', 'completed', 'entered-in-error', 'unknown'];
export const REQUEST_STATUS = ['draft', 'active', 'on-hold', 'revoked', 'completed', 'entered-in-error', 'unknown'];
export const REQUEST_INTENT = ['proposal', 'plan', 'directive', 'order', 'original-order', 'reflex-order', 'filler-order', 'instance-order', 'option'];

export const address = (type: string, prefix = ''): SearchParamDef[] => [
  param(type, `${prefix}address`, 'string', 'Any part of an address', ['address.line', 'address.city', 'address.district', 'address.state', 'address.postalCode', 'address.country', 'address.text'], type === 'Patient' ? { definition: `${SP}individual-address` } : {}),
  param(type, 'address-city', 'string', 'City of an address', ['address.city'], type === 'Patient' ? { definition: `${SP}individual-address-city` } : {}),
  param(type, 'address-state', 'string', 'State of an address', ['address.state'], type === 'Patient' ? { definition: `${SP}individual-address-state` } : {}),
  param(type, 'address-postalcode', 'string', 'Postal code of an address', ['address.postalCode'], type === 'Patient' ? { definition: `${SP}individual-address-postalcode` } : {}),
];

export const humanName = ['name.family', 'name.given', 'name.prefix', 'name.suffix', 'name.text'];
