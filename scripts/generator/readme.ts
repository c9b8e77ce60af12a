// fhir-resources/README.md, written from the same records as the bundles so the documented
// counts, ages and medications can never drift from the data.
import type { Immunization, MedicationStatement, Observation } from 'fhir/r4.js';
import type { SeedPatientRecord } from './index.js';
import { CONDITION_LABEL } from './profile.js';
import { ALLERGENS } from './allergies.js';
import { ANCHOR_DATE, ANCHOR_DAY, ageInYears, isoFromDay } from './time.js';

function fullName(r: SeedPatientRecord): string {
  return `${r.profile.name.given.join(' ')} ${r.profile.name.family}`;
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

/** NN-<patient-id>.json, numbered from 01 in seed order. */
export function seedFileName(index: number, id: string): string {
  return `${String(index + 1).padStart(2, '0')}-${id}.json`;
}

function patientSection(r: SeedPatientRecord, index: number): string {
  const { profile } = r;
  const observations = r.resources.filter((x): x is Observation => x.resourceType === 'Observation');
  const meds = r.resources.filter((x): x is MedicationStatement => x.resourceType === 'MedicationStatement');
  const imms = r.resources.filter((x): x is Immunization => x.resourceType === 'Immunization');
  const categories = countBy(observations, (o) => o.category?.[0]?.coding?.[0]?.code ?? 'other');
  const first = observations[0]?.effectiveDateTime?.slice(0, 10);
  const last = observations[observations.length - 1]?.effectiveDateTime?.slice(0, 10);
  const lines: string[] = [];
  lines.push(`### ${index + 1}. ${fullName(r)} (\`${profile.id}\`)`, '');
  lines.push(`${r.spec.role}.`, '');
  lines.push(`- File: \`seed/${seedFileName(index, profile.id)}\` · MRN ${profile.mrn} · ${profile.city.city}, ${profile.city.state}`);
  const conditions = profile.conditions.map((c) => {
    const treated = c.treatedFromDay !== undefined ? `, treated from ${isoFromDay(c.treatedFromDay)}` : '';
    return `${CONDITION_LABEL[c.key]} (since ${isoFromDay(c.onsetDay)}${treated})`;
  });
  lines.push(`- Conditions shaping the data: ${conditions.length > 0 ? conditions.join('; ') : 'none'}`);
  const smoking = profile.smoking.status === 'former' ? `former smoker (quit ${isoFromDay(profile.smoking.quitDay)})` : profile.smoking.status === 'current' ? 'current smoker' : 'never smoked';
  if (ageInYears(profile.birthDay, ANCHOR_DAY) >= 18) lines.push(`- Tobacco: ${smoking}`);
  const allergies = profile.allergies.map((a) => `${ALLERGENS[a.allergen].text} (${a.clinicalStatus}, ${a.criticality} criticality, ${a.manifestations.join(' + ')})`);
  lines.push(`- Allergies: ${allergies.length > 0 ? allergies.join('; ') : 'none recorded'}`);
  const activeMeds = meds.filter((m) => m.status === 'active').map((m) => m.medicationCodeableConcept?.text ?? '?');
  const pastMeds = meds.filter((m) => m.status !== 'active').map((m) => `${m.medicationCodeableConcept?.text ?? '?'} (${m.status})`);
  lines.push(`- Active medications: ${activeMeds.length > 0 ? activeMeds.join('; ') : 'none'}`);
  if (pastMeds.length > 0) lines.push(`- Past medications: ${pastMeds.join('; ')}`);
  const notDone = imms.filter((i) => i.status === 'not-done').length;
  lines.push(`- Immunizations: ${imms.length}${notDone > 0 ? ` (${notDone} declined, status not-done)` : ''}`);
  const cat = ['vital-signs', 'laboratory', 'social-history'].map((c) => `${categories.get(c) ?? 0} ${c}`).join(', ');
  lines.push(`- Observations: ${observations.length} (${cat})${first && last ? `, ${first} to ${last}` : ''}`);
  lines.push('');
  return lines.join('\n');
}

export function seedReadme(records: readonly SeedPatientRecord[], seed: number): string {
  const out: string[] = [];
  out.push('# FHIR seed resources', '');
  out.push(
    'Synthetic patients for development and demos. **Generated — do not edit by hand**: change',
    '`scripts/generator/` and run `npm run generate`. The output is deterministic (seed ' + String(seed) + ', all dates',
    `computed from the anchor date ${ANCHOR_DATE}), so regenerating without code changes gives byte-identical files.`,
    'Ages below are stated at the anchor date. All people, addresses, phone numbers (555-01xx) and e-mail addresses',
    '(example.com) are fictional.',
    '',
    'Each `seed/NN-<patient-id>.json` is a FHIR R4 `transaction` Bundle for one patient. Every entry is',
    '`PUT <Type>/<id>`, so loading a file twice is harmless; patients have readable ids, all other resources',
    'deterministic UUIDs, and references are relative (`Patient/<id>`). Resources claim US Core profiles in',
    '`meta.profile` (MedicationStatement, which US Core does not profile, claims the base R4 definition).',
    '',
  );
  out.push('## Patients', '');
  out.push('| # | id | Name | Sex | Birth date | Age | Role | Obs | Allergy | Meds | Imm |');
  out.push('|---|----|------|-----|-----------|-----|------|----:|--------:|-----:|----:|');
  records.forEach((r, i) => {
    const counts = countBy(r.resources, (x) => x.resourceType);
    const age = ageInYears(r.profile.birthDay, ANCHOR_DAY);
    out.push(
      `| ${i + 1} | \`${r.profile.id}\` | ${fullName(r)} | ${r.profile.sex} | ${isoFromDay(r.profile.birthDay)} | ${age} | ${r.spec.role} | ${counts.get('Observation') ?? 0} | ${counts.get('AllergyIntolerance') ?? 0} | ${counts.get('MedicationStatement') ?? 0} | ${counts.get('Immunization') ?? 0} |`,
    );
  });
  const totals = countBy(records.flatMap((r) => r.resources), (x) => x.resourceType);
  out.push('', `Totals: ${[...totals].map(([type, n]) => `${n} ${type}`).join(', ')}.`, '');

  out.push('## Family relationships', '');
  const byId = new Map(records.map((r) => [r.profile.id, r]));
  const families = new Map<string, SeedPatientRecord[]>();
  for (const r of records) {
    const parentId = r.spec.parent?.id;
    if (parentId !== undefined) families.set(parentId, [...(families.get(parentId) ?? []), r]);
  }
  for (const [parentId, children] of families) {
    const parent = byId.get(parentId);
    if (!parent) continue;
    const kids = children.map((c) => `${fullName(c)} (\`${c.profile.id}\`, age ${ageInYears(c.profile.birthDay, ANCHOR_DAY)})`).join(' and ');
    out.push(`- ${fullName(parent)} (\`${parent.profile.id}\`, age ${ageInYears(parent.profile.birthDay, ANCHOR_DAY)}) is the ${children[0]?.spec.parent?.relationship ?? 'parent'} of ${kids}.`);
  }
  out.push(
    '- Each child\'s `Patient.contact` names the parent with relationships `http://terminology.hl7.org/CodeSystem/v2-0131|N`',
    '  (next of kin) and `http://terminology.hl7.org/CodeSystem/v3-RoleCode|PRN` (parent), plus the parent\'s phone and',
    '  e-mail, so proxy access can link the parent\'s account to the children\'s records. They share the home address.',
    '- One child is under 13 and one is a teenager (13-17), to exercise the different proxy rules for each.',
    '',
  );

  out.push('## Patient details', '');
  records.forEach((r, i) => out.push(patientSection(r, i)));

  out.push('## Bulk data', '');
  out.push(
    'The same generator writes large NDJSON data sets (not committed):',
    '',
    '```sh',
    'npm run generate -- --patients 10000 --out /tmp/bulk --seed 42',
    'npm run generate -- --patients 1000 --observations-per-patient 1000 --out /tmp/bulk-1m',
    '```',
    '',
    'See `npm run generate -- --help`.',
    '',
  );
  return out.join('\n');
}
