// fhir-resources/README.md, written from the same records as the bundles so the documented
// counts, ages and medications can never drift from the data.
import type { Condition, Coverage, Encounter, Goal, Group, GroupCharacteristic, Immunization, MedicationStatement, Observation, Procedure } from 'fhir/r4.js';
import type { SeedPatientRecord } from './index.js';
import type { PracticeResource } from './practice.js';
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

/** The shared practice bundle; 00 sorts it before the patients. */
export const SHARED_BUNDLE_FILE = '00-practice.json';

/** The cohort Groups; 99 sorts them after the patients they list. */
export const GROUPS_BUNDLE_FILE = '99-groups.json';

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
  lines.push(...clinicalLines(r));
  lines.push('');
  return lines.join('\n');
}

function codeText(c: { code?: { text?: string; coding?: { display?: string }[] } }): string {
  return c.code?.coding?.[0]?.display ?? c.code?.text ?? '?';
}

/** The rest of the US Core record, summarised from the resources themselves. */
function clinicalLines(r: SeedPatientRecord): string[] {
  const of = <T>(type: string): T[] => r.resources.filter((x) => x.resourceType === type) as T[];
  const conditions = of<Condition>('Condition');
  const category = (c: Condition): string | undefined => c.category?.[0]?.coding?.[0]?.code;
  const status = (c: Condition): string => c.clinicalStatus?.coding?.[0]?.code ?? '?';
  const problems = conditions.filter((c) => category(c) === 'problem-list-item').map((c) => `${codeText(c)} (${c.code?.coding?.find((x) => x.system?.endsWith('icd-10-cm'))?.code ?? ''}, ${status(c)})`);
  const diagnoses = countBy(conditions.filter((c) => category(c) === 'encounter-diagnosis'), (c) => c.code?.text ?? codeText(c));
  const encounters = countBy(of<Encounter>('Encounter'), (e) => e.type?.[0]?.text ?? '?');
  const procedures = of<Procedure>('Procedure').map((p) => `${p.code?.text ?? codeText(p)} ${(p.performedDateTime ?? '').slice(0, 10)}`);
  const goals = of<Goal>('Goal').map((g) => `${g.description.text ?? '?'} (${g.achievementStatus?.coding?.[0]?.code ?? g.lifecycleStatus})`);
  const coverage = of<Coverage>('Coverage').map((c) => `${c.type?.text ?? '?'} via ${c.payor[0]?.display ?? '?'}${c.relationship?.coding?.[0]?.code === 'child' ? `, as a dependent of ${c.subscriber?.display ?? 'a parent'}` : ''}`);
  const list = (m: Map<string, number>): string => [...m].map(([k, n]) => `${n} × ${k.toLowerCase()}`).join(', ');
  const lines = [
    `- Problem list: ${problems.length > 0 ? problems.join('; ') : 'none'}`,
    `- Encounters: ${of<Encounter>('Encounter').length}${encounters.size > 0 ? ` (${list(encounters)})` : ''}`,
  ];
  if (diagnoses.size > 0) lines.push(`- Sick-visit diagnoses: ${list(diagnoses)}`);
  if (procedures.length > 0) lines.push(`- Procedures: ${procedures.join('; ')}`);
  if (goals.length > 0) lines.push(`- Goals: ${goals.join('; ')}`);
  lines.push(`- Coverage: ${coverage.join('; ') || 'none'}`);
  return lines;
}

/** The shared practice bundle, described from its resources. */
function practiceSection(shared: readonly PracticeResource[]): string[] {
  const count = countBy(shared, (x) => x.resourceType);
  const names = (type: string): string[] => shared.filter((x) => x.resourceType === type).map((x) => ('name' in x && typeof x.name === 'string' ? x.name : '?'));
  const lee = shared.find((x) => x.resourceType === 'Practitioner' && x.id === 'dr-lee');
  return [
    '## Shared practice (`seed/00-practice.json`)',
    '',
    `Every record points at one fictional practice, generated once and written first so that references resolve: ${[...count].map(([type, n]) => `${n} ${type}`).join(', ')}.`,
    '',
    `- Organizations: ${names('Organization').join('; ')}.`,
    `- One clinic Location per city the generator knows (${count.get('Location') ?? 0}), each with a family physician and a pediatrician`,
    '  (Practitioner with a fictional NPI, 10 digits, valid Luhn check digit, starting with 9 so it can never be a real one,',
    '  plus their PractitionerRole). Adults see the family physician of their city, children the pediatrician.',
    lee ? '- `Practitioner/dr-lee` (Dr. Jordan Lee, family physician in San Antonio) is the demo clinician account\'s `fhirUser`; she is Maria Garcia\'s doctor.' : '- (no dr-lee)',
    `- Medications: ${shared.filter((x) => x.resourceType === 'Medication').map((m) => ('code' in m ? m.code?.text : undefined) ?? '?').join('; ')} — prescriptions of these drugs use`,
    '  `medicationReference` (so `_include=MedicationRequest:medication` has something to include); all others code the drug inline.',
    '',
    'Why a separate bundle rather than PUTs of the practice in every patient file: loading twelve files would write each',
    'shared resource twelve times (twelve versions in its history), and a bulk NDJSON run would repeat it per patient.',
    'Written once, it has one version and one source; a single patient file loaded alone still imports (references',
    'to the practice are then left dangling until `00-practice.json` is loaded too).',
    '',
  ];
}

/** What a characteristic says, in words: "Age on … 65 years and more", "Active problem …: High blood pressure". */
function characteristicText(c: GroupCharacteristic): string {
  const range = c.valueRange;
  const value = range
    ? range.high
      ? `${range.low?.value ?? 0} to ${range.high.value} ${range.high.unit}`
      : `${range.low?.value} ${range.low?.unit} and more`
    : (c.valueCodeableConcept?.text ?? c.valueCodeableConcept?.coding?.[0]?.display ?? String(c.valueBoolean));
  return `${c.code.text ?? c.code.coding?.[0]?.display}: ${value}`;
}

/** The cohort Groups, with their members, described from the resources. */
function groupsSection(groups: readonly Group[]): string[] {
  const lines = [
    `## Patient groups (\`seed/${GROUPS_BUNDLE_FILE}\`)`,
    '',
    'Actual Groups (`type` person, `actual` true) listing seed patients as `member.entity`, for Group-level bulk export',
    '(`Group/<id>/$export`) and `Group?member=Patient/<id>`. Membership is worked out from the generated records (age',
    'from `Patient.birthDate` at the anchor date; an active problem-list Condition), so it matches what a search finds.',
    '',
    '| id | Name | Characteristic | Members |',
    '|----|------|----------------|---------|',
  ];
  for (const g of groups) {
    const members = (g.member ?? []).map((m) => `\`${m.entity.reference?.replace(/^Patient\//, '')}\``);
    const criterion = g.characteristic?.map(characteristicText).join('; ') ?? 'everyone in the data set';
    lines.push(`| \`${g.id}\` | ${g.name} | ${criterion} | ${g.quantity}: ${members.join(', ')} |`);
  }
  lines.push('');
  return lines;
}

export function seedReadme(records: readonly SeedPatientRecord[], shared: readonly PracticeResource[], seed: number, groups: readonly Group[]): string {
  const out: string[] = [];
  out.push('# FHIR seed resources', '');
  out.push(
    'Synthetic patients for development and demos. **Generated — do not edit by hand**: change',
    '`scripts/generator/` and run `npm run generate`. The output is deterministic (seed ' + String(seed) + ', all dates',
    `computed from the anchor date ${ANCHOR_DATE}), so regenerating without code changes gives byte-identical files.`,
    'Ages below are stated at the anchor date. All people, addresses, phone numbers (555-01xx) and e-mail addresses',
    '(example.com) are fictional.',
    '',
    'Each `seed/NN-<patient-id>.json` is a FHIR R4 `transaction` Bundle for one patient; `seed/00-practice.json`',
    `holds the practice they all refer to and \`seed/${GROUPS_BUNDLE_FILE}\` a few patient Groups (see below). Every entry`,
    'is `PUT <Type>/<id>`, so loading a file twice is harmless; patients, Groups (and `Practitioner/dr-lee`) have',
    'readable ids, all other resources deterministic UUIDs, and references are relative (`Type/<id>`). Resources',
    'claim US Core 6.1.0 profiles in `meta.profile` (MedicationStatement, which US Core does not profile, claims the',
    'base R4 definition; the Groups, which US Core does not profile either, claim none).',
    '',
    'Besides Patient, Observation, AllergyIntolerance, MedicationStatement and Immunization, each record has the rest',
    'of US Core: an Encounter per visit (its Observations point at it), the problem list and one diagnosis per sick visit',
    '(Condition), a MedicationRequest per medication course (reason: a Condition), lab DiagnosticReports per panel,',
    'visit notes (DocumentReference), procedures, goals, a care plan, care team, coverage and a Provenance.',
    '',
  );
  out.push('## Patients', '');
  out.push('| # | id | Name | Sex | Birth date | Age | Role | Obs | Allergy | Meds | Imm | Enc | Cond | Rx | Proc | Rpt | Doc |');
  out.push('|---|----|------|-----|-----------|-----|------|----:|--------:|-----:|----:|----:|-----:|---:|-----:|----:|----:|');
  records.forEach((r, i) => {
    const counts = countBy(r.resources, (x) => x.resourceType);
    const n = (type: string): number => counts.get(type) ?? 0;
    const age = ageInYears(r.profile.birthDay, ANCHOR_DAY);
    out.push(
      `| ${i + 1} | \`${r.profile.id}\` | ${fullName(r)} | ${r.profile.sex} | ${isoFromDay(r.profile.birthDay)} | ${age} | ${r.spec.role} | ${n('Observation')} | ${n('AllergyIntolerance')} | ${n('MedicationStatement')} | ${n('Immunization')} | ${n('Encounter')} | ${n('Condition')} | ${n('MedicationRequest')} | ${n('Procedure')} | ${n('DiagnosticReport')} | ${n('DocumentReference')} |`,
    );
  });
  out.push(
    '',
    'Meds = MedicationStatement, Rx = MedicationRequest (one per course), Rpt = DiagnosticReport (lab panels and ECG reports),',
    'Doc = DocumentReference (visit notes). The smaller types per patient:',
    '',
  );
  const OTHER = ['CarePlan', 'CareTeam', 'Goal', 'Coverage', 'RelatedPerson', 'ServiceRequest', 'Device', 'Specimen', 'QuestionnaireResponse', 'MedicationDispense', 'Provenance'] as const;
  out.push(`| id | ${OTHER.join(' | ')} |`, `|----|${OTHER.map(() => '---:').join('|')}|`);
  for (const r of records) {
    const counts = countBy(r.resources, (x) => x.resourceType);
    out.push(`| \`${r.profile.id}\` | ${OTHER.map((t) => counts.get(t) ?? 0).join(' | ')} |`);
  }
  const totals = countBy(records.flatMap((r) => r.resources), (x) => x.resourceType);
  out.push('', `Totals over the patient files: ${[...totals].sort(([a], [b]) => a.localeCompare(b)).map(([type, n]) => `${n} ${type}`).join(', ')}.`, '');
  out.push(...practiceSection(shared));
  out.push(...groupsSection(groups));

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
    '- Each child\'s record also holds the parent as a RelatedPerson (`v3-RoleCode|MTH`), who is the policyholder and',
    '  subscriber of the child\'s Coverage: the same plan and subscriber number as the parent\'s own Coverage.',
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
    'One `<Type>.ndjson` per resource type; the shared practice resources are written once, at the start of their files.',
    'See `npm run generate -- --help`.',
    '',
  );
  return out.join('\n');
}
