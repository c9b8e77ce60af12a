// AllergyIntolerance (US Core). Substances are coded as SNOMED CT substances or RxNorm
// ingredients, the code systems US Core's allergy value set is built from. Food allergies start
// in early childhood, environmental ones in school years, drug allergies at any age.
import type { AllergyIntolerance, CodeableConcept, Reference } from 'fhir/r4.js';
import type { AllergenKey, AllergyPlan, ManifestationKey } from './profile.js';
import type { Random } from './random.js';
import { PROFILE, SYSTEM, concept } from './terminology.js';
import { ANCHOR_DAY, addYears, calendar, formatDateTime, isoFromDay, toWeekday } from './time.js';
import type { TimeZoneKey } from './time.js';

interface Allergen {
  readonly system: string;
  readonly code: string;
  readonly display: string;
  readonly text: string;
  readonly category: 'food' | 'medication' | 'environment';
  readonly type: 'allergy' | 'intolerance';
  readonly criticality: AllergyPlan['criticality'];
  readonly reactions: readonly (readonly ManifestationKey[])[];
}

export const ALLERGENS: Record<AllergenKey, Allergen> = {
  peanut: { system: SYSTEM.snomed, code: '762952008', display: 'Peanut', text: 'Peanut', category: 'food', type: 'allergy', criticality: 'high', reactions: [['hives', 'angioedema'], ['anaphylaxis'], ['hives', 'vomiting']] },
  'tree-nut': { system: SYSTEM.snomed, code: '442571000124108', display: 'Tree nut', text: 'Tree nuts', category: 'food', type: 'allergy', criticality: 'high', reactions: [['hives', 'itching'], ['angioedema']] },
  shellfish: { system: SYSTEM.snomed, code: '735029006', display: 'Shellfish', text: 'Shellfish', category: 'food', type: 'allergy', criticality: 'high', reactions: [['hives'], ['hives', 'vomiting'], ['angioedema']] },
  egg: { system: SYSTEM.snomed, code: '102263004', display: 'Eggs (edible)', text: 'Egg', category: 'food', type: 'allergy', criticality: 'low', reactions: [['hives'], ['rash', 'vomiting']] },
  penicillin: { system: SYSTEM.rxnorm, code: '7980', display: 'penicillin G', text: 'Penicillin', category: 'medication', type: 'allergy', criticality: 'low', reactions: [['hives'], ['rash'], ['hives', 'itching']] },
  sulfamethoxazole: { system: SYSTEM.rxnorm, code: '10180', display: 'sulfamethoxazole', text: 'Sulfa (sulfamethoxazole)', category: 'medication', type: 'allergy', criticality: 'low', reactions: [['rash'], ['rash', 'itching']] },
  codeine: { system: SYSTEM.rxnorm, code: '2670', display: 'codeine', text: 'Codeine', category: 'medication', type: 'intolerance', criticality: 'low', reactions: [['nausea', 'vomiting'], ['nausea']] },
  latex: { system: SYSTEM.snomed, code: '111088007', display: 'Latex', text: 'Latex', category: 'environment', type: 'allergy', criticality: 'low', reactions: [['contact-dermatitis'], ['hives', 'itching']] },
  'dust-mite': { system: SYSTEM.snomed, code: '260147004', display: 'House dust mite', text: 'Dust mites', category: 'environment', type: 'allergy', criticality: 'low', reactions: [['sneezing', 'rhinoconjunctivitis'], ['wheezing', 'cough']] },
  'grass-pollen': { system: SYSTEM.snomed, code: '256277009', display: 'Grass pollen', text: 'Grass pollen', category: 'environment', type: 'allergy', criticality: 'low', reactions: [['sneezing', 'rhinoconjunctivitis'], ['rhinoconjunctivitis', 'itching']] },
  'tree-pollen': { system: SYSTEM.snomed, code: '782576004', display: 'Tree pollen', text: 'Tree pollen', category: 'environment', type: 'allergy', criticality: 'low', reactions: [['sneezing', 'rhinoconjunctivitis']] },
  'animal-dander': { system: SYSTEM.snomed, code: '264287008', display: 'Animal dander', text: 'Cat and dog dander', category: 'environment', type: 'allergy', criticality: 'low', reactions: [['sneezing', 'rhinoconjunctivitis'], ['hives', 'wheezing']] },
  'bee-venom': { system: SYSTEM.snomed, code: '288328004', display: 'Bee venom', text: 'Bee stings', category: 'environment', type: 'allergy', criticality: 'high', reactions: [['hives', 'angioedema'], ['anaphylaxis']] },
};

const MANIFESTATION: Record<ManifestationKey, { code: string; display: string; text: string }> = {
  hives: { code: '247472004', display: 'Wheal', text: 'Hives' },
  anaphylaxis: { code: '39579001', display: 'Anaphylaxis', text: 'Anaphylaxis' },
  rash: { code: '271807003', display: 'Eruption of skin', text: 'Rash' },
  wheezing: { code: '56018004', display: 'Wheezing', text: 'Wheezing' },
  angioedema: { code: '402387002', display: 'Allergic angioedema', text: 'Swelling of lips and face' },
  vomiting: { code: '422400008', display: 'Vomiting', text: 'Vomiting' },
  nausea: { code: '422587007', display: 'Nausea', text: 'Nausea' },
  sneezing: { code: '76067001', display: 'Sneezing', text: 'Sneezing' },
  rhinoconjunctivitis: { code: '878820003', display: 'Rhinoconjunctivitis', text: 'Runny nose and itchy eyes' },
  itching: { code: '418290006', display: 'Itching', text: 'Itching' },
  'contact-dermatitis': { code: '40275004', display: 'Contact dermatitis', text: 'Contact dermatitis' },
  cough: { code: '49727002', display: 'Cough', text: 'Cough' },
};

export function severityFor(manifestations: readonly ManifestationKey[]): AllergyPlan['severity'] {
  if (manifestations.includes('anaphylaxis')) return 'severe';
  if (manifestations.includes('angioedema') || manifestations.includes('wheezing') || manifestations.includes('vomiting')) return 'moderate';
  return 'mild';
}

/** Onset age band (years) typical for each kind of allergy. */
function onsetAgeRange(allergen: Allergen): [number, number] {
  if (allergen.category === 'food') return [0.7, 4];
  if (allergen.category === 'environment') return [3, 20];
  return [2, 60];
}

/** A plausible plan for one allergy: onset, when it was charted, its status and reaction. */
export function planAllergy(rng: Random, key: AllergenKey, birthDay: number): AllergyPlan {
  const allergen = ALLERGENS[key];
  const [minAge, maxAge] = onsetAgeRange(allergen);
  const ageNow = (ANCHOR_DAY - birthDay) / 365.25;
  const onsetAge = rng.float(Math.min(minAge, ageNow * 0.5), Math.min(maxAge, Math.max(minAge, ageNow - 0.2)));
  const onsetDay = Math.min(ANCHOR_DAY - 30, Math.round(birthDay + onsetAge * 365.25));
  const recordedDay = Math.min(ANCHOR_DAY - 7, onsetDay + rng.int(0, 400));
  const manifestations = rng.pick(allergen.reactions);
  const outgrown = key === 'egg' && ageNow > 7 && rng.chance(0.6);
  const drug = allergen.category === 'medication';
  const verificationStatus = drug ? (rng.chance(0.5) ? 'confirmed' : 'unconfirmed') : rng.chance(0.85) ? 'confirmed' : 'unconfirmed';
  return {
    allergen: key,
    onsetDay,
    ...(drug && onsetAge > 10 && rng.chance(0.3) ? { onsetYearOnly: true } : {}),
    recordedDay,
    clinicalStatus: outgrown ? 'resolved' : allergen.category === 'environment' && rng.chance(0.08) ? 'inactive' : 'active',
    verificationStatus,
    criticality: drug && verificationStatus === 'unconfirmed' ? 'unable-to-assess' : allergen.criticality,
    severity: severityFor(manifestations),
    manifestations,
  };
}

/** Most people have one to three charted allergies; which kinds depends on age. */
export function planRandomAllergies(rng: Random, birthDay: number, atopic: boolean): AllergyPlan[] {
  const ageNow = (ANCHOR_DAY - birthDay) / 365.25;
  const count = ageNow < 1 ? 0 : rng.weighted([[0, 28], [1, 42], [2, 20], [3, 10]]);
  const weights: (readonly [AllergenKey, number])[] = [
    ['penicillin', ageNow > 2 ? 10 : 0],
    ['sulfamethoxazole', ageNow > 12 ? 4 : 0],
    ['codeine', ageNow > 18 ? 2.5 : 0],
    ['peanut', 2.5],
    ['tree-nut', 1.2],
    ['shellfish', ageNow > 5 ? 3 : 0.5],
    ['egg', ageNow < 12 ? 2.5 : 0.3],
    ['latex', ageNow > 18 ? 1.5 : 0.3],
    ['dust-mite', ageNow > 3 ? (atopic ? 8 : 4) : 0],
    ['grass-pollen', ageNow > 3 ? (atopic ? 8 : 4) : 0],
    ['tree-pollen', ageNow > 3 ? 3 : 0],
    ['animal-dander', ageNow > 3 ? 3 : 0],
    ['bee-venom', 1],
  ];
  const chosen: AllergyPlan[] = [];
  for (let i = 0; i < count; i++) {
    const remaining = weights.filter(([key, w]) => w > 0 && !chosen.some((c) => c.allergen === key));
    if (remaining.length === 0) break;
    chosen.push(planAllergy(rng, rng.weighted(remaining), birthDay));
  }
  return chosen.sort((a, b) => a.onsetDay - b.onsetDay);
}

function manifestationConcept(key: ManifestationKey): CodeableConcept {
  const m = MANIFESTATION[key];
  return concept(SYSTEM.snomed, m.code, m.display, m.text);
}

export function allergyResource(plan: AllergyPlan, id: string, patient: Reference, zone: TimeZoneKey, recordedMinute: number): AllergyIntolerance {
  const allergen = ALLERGENS[plan.allergen];
  const clinicalDisplay = { active: 'Active', inactive: 'Inactive', resolved: 'Resolved' }[plan.clinicalStatus];
  const verificationDisplay = { confirmed: 'Confirmed', unconfirmed: 'Unconfirmed' }[plan.verificationStatus];
  const resource: AllergyIntolerance = {
    resourceType: 'AllergyIntolerance',
    id,
    meta: { profile: [PROFILE.allergy] },
    clinicalStatus: concept(SYSTEM.allergyClinical, plan.clinicalStatus, clinicalDisplay),
    verificationStatus: concept(SYSTEM.allergyVerification, plan.verificationStatus, verificationDisplay),
    type: allergen.type,
    category: [allergen.category],
    criticality: plan.criticality,
    code: concept(allergen.system, allergen.code, allergen.display, allergen.text),
    patient,
    onsetDateTime: plan.onsetYearOnly ? String(calendar(plan.onsetDay).year) : isoFromDay(plan.onsetDay),
    recordedDate: formatDateTime(toWeekday(plan.recordedDay), recordedMinute, zone),
    reaction: [
      {
        manifestation: plan.manifestations.map(manifestationConcept),
        severity: plan.severity,
      },
    ],
  };
  if (plan.clinicalStatus === 'resolved') {
    // Outgrown: the last reaction was years ago.
    resource.lastOccurrence = isoFromDay(Math.max(plan.onsetDay, Math.min(ANCHOR_DAY - 60, addYears(plan.onsetDay, 2))));
  }
  return resource;
}
