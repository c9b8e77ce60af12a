import t from 'tap';
import { parseScope } from '../../src/auth/scopes.js';
import { RESOURCE_DEFS } from '../../src/fhir/definitions.js';
import { TEEN_PROXY_TYPES, typeAllowed } from '../../src/portal/proxy-policy.js';
import {
  OBSERVATION_CATEGORY_SYSTEM,
  PERMISSION_GROUPS,
  PERMISSION_GROUP_KEYS,
  dataKindText,
  groupsForScopes,
  parsePermissionForm,
  scopeGroups,
  scopesForApproval,
  type PermissionGroupKey,
} from '../../src/portal/permissions.js';

const CAT = OBSERVATION_CATEGORY_SYSTEM;
const LAB = `patient/Observation.rs?category=${CAT}|laboratory`;
const VITAL = `patient/Observation.rs?category=${CAT}|vital-signs`;
const ALL_FHIR: PermissionGroupKey[] = [
  'labs',
  'vitals',
  'other-observations',
  'problems',
  'allergies',
  'medications',
  'immunizations',
  'visits',
  'procedures',
  'reports',
  'care-plans',
  'devices',
  'questionnaires',
  'insurance',
  'other-records',
  'basic',
  'providers',
  'reference-data',
];
const keys = (scopes: string[]) => groupsForScopes(scopes).map((g) => g.key);
const approve = (requested: string[], kept: PermissionGroupKey[], reachable?: (type: string) => boolean) => scopesForApproval(requested, new Set(kept), reachable);
const group = (key: PermissionGroupKey) => PERMISSION_GROUPS.find((g) => g.key === key)!;
const allBut = (...unticked: PermissionGroupKey[]) => PERMISSION_GROUP_KEYS.filter((k) => !unticked.includes(k));
/** The resource types a list of granted scopes names (never `*`). */
const typesOf = (scopes: readonly string[]) => scopes.flatMap((s) => {
  const p = parseScope(s);
  return p?.kind === 'resource' ? [p.type] : [];
});

t.test('every group has a plain-language label and description, in display order', async (t) => {
  t.same(
    PERMISSION_GROUPS.map((g) => g.label),
    [
      'Lab results',
      'Vital signs',
      'Other health measurements',
      'Health problems',
      'Allergies',
      'Medications',
      'Immunizations',
      'Visits',
      'Procedures',
      'Test reports and clinical notes',
      'Care plans and care team',
      'Medical devices',
      'Questionnaire answers',
      'Insurance',
      'Other records',
      'Basic information about you',
      'Your care providers',
      'Forms and medical reference lists',
      'Keep access when you are not using the app',
    ],
  );
  for (const g of PERMISSION_GROUPS) {
    if (g.key !== 'offline') t.ok(g.label.length <= 35, `${g.key}: the checkbox label fits a phone line`);
    t.ok(g.description.length > 10 && g.description.length <= 130, `${g.key}: one short sentence`);
    t.match(g.description, /^[A-Z].*\.$/, `${g.key}: a sentence`);
    t.notMatch(`${g.label} ${g.description}`, /\b[A-Z][a-z]+[A-Z][A-Za-z]+\b/, `${g.key}: no FHIR type names in what the patient reads`);
  }
});

t.test("each group's types come from the definitions' consentGroup; Observation's three groups split it by category", async (t) => {
  for (const def of RESOURCE_DEFS) {
    const holders = PERMISSION_GROUPS.filter((g) => g.types.includes(def.type)).map((g) => g.key);
    if (def.type === 'Observation') t.same(holders, ['labs', 'vitals', 'other-observations'], 'Observation is in the three category groups');
    else t.same(holders, [def.consentGroup], `${def.type} is in exactly its consent group`);
  }
  t.equal(group('labs').category, 'laboratory');
  t.same(group('other-observations').excludeCategories, ['laboratory', 'vital-signs']);
  t.same(group('medications').recordTypes, ['MedicationDispense', 'MedicationRequest', 'MedicationStatement', 'MedicationAdministration'], 'what Medications counts');
  t.ok(group('medications').types.includes('Medication'), 'Medication itself is in the group, but not counted: it is nobody\'s record');
  t.same([...group('problems').types].sort(), ['AdverseEvent', 'ClinicalImpression', 'Condition', 'DetectedIssue', 'FamilyMemberHistory']);
  t.same(group('providers').recordTypes, [], 'care providers are shared, not part of a record');
  t.same(group('reference-data').recordTypes, []);
  t.equal(group('providers').countNoun, undefined, 'and not counted');
  t.equal(group('medications').resourceType, 'MedicationRequest', 'the main type an app reads');
  t.same(group('offline').types, []);
  t.equal(group('offline').resourceType, undefined);
  for (const g of PERMISSION_GROUPS) if (g.resourceType) t.ok(g.types.includes(g.resourceType), `${g.key}: its main type is one of its types`);
});

t.test('groupsForScopes: wildcards, Observation and granular scopes', async (t) => {
  t.same(keys(['patient/*.rs']), ALL_FHIR, 'patient/*.rs reaches every group that has a type');
  t.same(keys(['patient/*.read']), ALL_FHIR, 'v1 wildcard too');
  t.same(keys(['user/*.cruds']), ALL_FHIR, 'user/ context too');
  t.same(keys(['patient/Observation.rs']), ['labs', 'vitals', 'other-observations']);
  t.same(keys(['patient/Observation.read']), ['labs', 'vitals', 'other-observations']);
  t.same(keys([LAB]), ['labs']);
  t.same(keys([`patient/Observation.rs?category=laboratory`]), ['labs'], 'a bare code works');
  t.same(keys([VITAL]), ['vitals']);
  t.same(keys([`patient/Observation.rs?category=${CAT}|survey`]), ['other-observations']);
  t.same(keys([`patient/Observation.rs?category=http://example.org/cats|laboratory`]), ['other-observations'], 'another system is not the lab category');
  t.same(keys([`patient/Observation.rs?category=${CAT}|laboratory,${CAT}|vital-signs`]), ['labs', 'vitals'], 'comma values OR');
  t.same(keys([`patient/Observation.rs?code=http://loinc.org|1234-5`]), ['labs', 'vitals', 'other-observations'], 'a non-category filter does not narrow the groups');
  t.same(keys(['patient/AllergyIntolerance.rs', 'patient/MedicationStatement.rs', 'patient/Immunization.rs', 'patient/Patient.rs']), ['allergies', 'medications', 'immunizations', 'basic']);
});

t.test('groupsForScopes: one type of a group shows the whole group, under its plain-language name', async (t) => {
  t.same(keys(['patient/Condition.rs']), ['problems']);
  t.same(keys(['patient/FamilyMemberHistory.rs']), ['problems']);
  t.same(keys(['patient/MedicationRequest.rs']), ['medications']);
  t.same(keys(['patient/MedicationDispense.rs', 'patient/MedicationStatement.rs']), ['medications'], 'two types of one group: one group');
  t.same(keys(['patient/Encounter.rs', 'patient/Appointment.rs']), ['visits']);
  t.same(keys(['patient/ServiceRequest.rs']), ['procedures']);
  t.same(keys(['patient/DocumentReference.rs', 'patient/ImagingStudy.rs']), ['reports']);
  t.same(keys(['patient/CareTeam.rs', 'patient/Goal.rs']), ['care-plans']);
  t.same(keys(['patient/ExplanationOfBenefit.rs', 'patient/Coverage.rs']), ['insurance']);
  t.same(keys(['patient/QuestionnaireResponse.rs']), ['questionnaires']);
  t.same(keys(['patient/Communication.rs']), ['other-records']);
  t.same(keys(['patient/Practitioner.rs', 'patient/Organization.rs']), ['providers'], 'doctors and clinics');
  t.same(keys(['patient/Medication.rs']), ['medications'], 'Medication: with the medications it describes');
  t.same(keys(['patient/Questionnaire.rs', 'patient/ValueSet.rs']), ['reference-data']);
  const [meds] = groupsForScopes(['patient/MedicationRequest.rs', 'patient/MedicationStatement.rs']);
  t.same(meds!.scopes, ['patient/MedicationRequest.rs', 'patient/MedicationStatement.rs'], 'the group lists the scopes in it');
});

t.test('groupsForScopes: identity, offline, hidden and unknown scopes', async (t) => {
  t.same(keys(['openid']), ['basic']);
  t.same(keys(['fhirUser', 'profile']), ['basic']);
  t.same(keys(['offline_access']), ['offline']);
  t.same(keys(['online_access', 'launch', 'launch/patient', 'launch/encounter']), [], 'not shown');
  t.same(keys(['patient/Unknown.rs', 'system/Observation.rs', 'nonsense', 'patient/Observation.xx']), [], 'unknown types, system scopes and junk reach nothing');
  t.same(keys(['offline_access', 'openid', LAB, 'patient/Immunization.rs']), ['labs', 'immunizations', 'basic', 'offline'], 'always in display order');
  t.same(scopeGroups('patient/Immunization.rs'), ['immunizations']);
});

t.test('groupsForScopes: read and write access', async (t) => {
  const [labs] = groupsForScopes(['patient/Observation.rs']);
  t.equal(labs!.read, true);
  t.equal(labs!.write, false);
  t.equal(labs!.accessText, 'Can see');
  const rw = groupsForScopes(['patient/Observation.cruds']);
  t.ok(rw.every((g) => g.read && g.write && g.accessText === 'Can see, add or change'));
  const v1 = groupsForScopes(['patient/AllergyIntolerance.write'])[0]!;
  t.equal(v1.read, false);
  t.equal(v1.write, true);
  t.equal(v1.accessText, 'Can add or change');
  const both = groupsForScopes(['patient/AllergyIntolerance.read', 'patient/AllergyIntolerance.write'])[0]!;
  t.ok(both.read && both.write);
  t.same(both.scopes, ['patient/AllergyIntolerance.read', 'patient/AllergyIntolerance.write']);
  t.same(groupsForScopes(['patient/*.*']).map((g) => g.write), ALL_FHIR.map(() => true));
  const basic = groupsForScopes(['openid', 'fhirUser'])[0]!;
  t.ok(basic.read && !basic.write);
});

t.test('scopesForApproval: everything kept grants the request verbatim', async (t) => {
  const requested = ['launch/patient', 'openid', 'fhirUser', 'offline_access', 'patient/*.read', LAB];
  const all = new Set<string>(PERMISSION_GROUPS.map((g) => g.key));
  t.same(scopesForApproval(requested, all), { granted: requested, dropped: [] });
});

t.test('scopesForApproval: Observation narrowed to categories', async (t) => {
  t.same(approve(['patient/Observation.rs'], ['labs', 'vitals']), { granted: [LAB, VITAL], dropped: ['patient/Observation.rs'] }, 'Other unticked: only the lab and vital scopes');
  t.same(approve(['patient/Observation.rs'], ['vitals']).granted, [VITAL]);
  t.same(approve(['patient/Observation.read'], ['labs']).granted, [LAB], 'v1 becomes v2 rs');
  t.same(approve(['patient/Observation.write'], ['labs']).granted, [`patient/Observation.cud?category=${CAT}|laboratory`], 'permissions kept');
  t.same(approve(['user/Observation.cruds'], ['labs']).granted, [`user/Observation.cruds?category=${CAT}|laboratory`], 'context kept');
  const other = approve(['patient/Observation.rs'], ['other-observations']).granted;
  t.equal(other.length, 1);
  t.same(keys(other), ['other-observations'], 'Other alone: a filter on the other standard categories');
  t.notOk(other[0]!.includes('laboratory') || other[0]!.includes('vital-signs'));
  t.same(approve(['patient/Observation.rs'], []), { granted: [], dropped: ['patient/Observation.rs'] });
  t.same(approve(['patient/Observation.rs?code=http://loinc.org|1234-5'], ['labs']).granted, [`patient/Observation.rs?category=${CAT}|laboratory&code=http://loinc.org|1234-5`], 'other filters kept');
});

t.test('scopesForApproval: granular scopes are never widened', async (t) => {
  t.same(approve([LAB], ['labs']).granted, [LAB]);
  t.same(approve([LAB], ['vitals', 'other-observations']), { granted: [], dropped: [LAB] });
  const both = `patient/Observation.rs?category=${CAT}|laboratory,${CAT}|survey`;
  t.same(approve([both], ['other-observations']).granted, [`patient/Observation.rs?category=${CAT}|survey`], 'only the survey value remains');
  t.same(approve([both], ['labs', 'vitals']).granted, [LAB]);
});

t.test('scopesForApproval: wildcard type becomes one scope per kept type', async (t) => {
  t.same(approve(['patient/*.rs'], ['allergies', 'immunizations']), {
    granted: ['patient/AllergyIntolerance.rs', 'patient/Immunization.rs', 'patient/ImmunizationEvaluation.rs', 'patient/ImmunizationRecommendation.rs'],
    dropped: ['patient/*.rs'],
  });
  t.same(approve(['patient/*.read'], ['labs', 'vitals', 'other-observations', 'allergies']).granted, ['patient/Observation.rs', 'patient/AllergyIntolerance.rs'], 'v1 wildcard narrowed in v2 form');
  t.same(approve(['patient/*.read'], ['labs', 'allergies']).granted, [LAB, 'patient/AllergyIntolerance.rs']);
  t.same(approve(['user/*.*'], ['vitals']).granted, [`user/Observation.cruds?category=${CAT}|vital-signs`]);
  t.same(approve(['patient/*.rs'], ['medications']).granted, [
    'patient/Medication.rs',
    'patient/MedicationDispense.rs',
    'patient/MedicationRequest.rs',
    'patient/MedicationStatement.rs',
    'patient/MedicationAdministration.rs',
    'patient/MedicationKnowledge.rs',
    'patient/Substance.rs',
  ], 'Medications alone: every type of the group, Medication too');
  t.same(approve(['patient/*.rs'], []).granted, []);
});

t.test('scopesForApproval: unticking Medications from patient/*.rs leaves one scope per other type, no medication type', async (t) => {
  const { granted, dropped } = approve(['launch/patient', 'patient/*.rs'], allBut('medications'));
  t.same(dropped, ['patient/*.rs']);
  t.equal(granted[0], 'launch/patient');
  const types = typesOf(granted);
  for (const type of ['MedicationRequest', 'MedicationStatement', 'MedicationDispense', 'Medication', 'MedicationAdministration']) t.notOk(types.includes(type), `no ${type}`);
  const expected = RESOURCE_DEFS.filter((d) => d.consentGroup !== 'medications').map((d) => d.type);
  t.same([...types].sort(), [...expected].sort(), 'every other served type, each once');
  t.ok(granted.includes('patient/Condition.rs') && granted.includes('patient/Observation.rs') && granted.includes('patient/Practitioner.rs'));
  t.ok(granted.slice(1).every((s) => /^patient\/[A-Za-z]+\.rs$/.test(s)), 'plain per-type v2 scopes');
  t.same(keys(granted), ALL_FHIR.filter((k) => k !== 'medications'), 'and they reach every group but Medications');
});

t.test('scopesForApproval: unticking Health problems drops Condition and the other problem types', async (t) => {
  const types = typesOf(approve(['patient/*.rs'], allBut('problems')).granted);
  for (const type of ['Condition', 'FamilyMemberHistory', 'AdverseEvent', 'ClinicalImpression', 'DetectedIssue']) t.notOk(types.includes(type), `no ${type}`);
  t.ok(types.includes('MedicationRequest'));
  t.same(approve(['patient/Condition.rs', 'patient/MedicationRequest.rs'], allBut('problems')), { granted: ['patient/MedicationRequest.rs'], dropped: ['patient/Condition.rs'] }, 'a named type goes with its group');
  t.same(approve(['patient/Condition.rs'], ['problems']).granted, ['patient/Condition.rs'], 'kept: granted as asked');
  const noReports = typesOf(approve(['user/*.rs'], allBut('reports', 'visits')).granted);
  for (const type of ['DiagnosticReport', 'DocumentReference', 'Composition', 'ImagingStudy', 'Encounter', 'Appointment']) t.notOk(noReports.includes(type), `no ${type}`);
  const noShared = approve(['patient/*.rs'], allBut('providers', 'reference-data')).granted;
  t.notOk(typesOf(noShared).some((type) => !RESOURCE_DEFS.find((d) => d.type === type)!.inCompartment && !['Medication', 'MedicationKnowledge', 'Substance', 'PaymentNotice'].includes(type)), 'care providers and reference lists can be unticked too');
});

t.test('scopesForApproval: types the record does not allow are never granted, even in a kept group', async (t) => {
  const teen = (type: string) => typeAllowed(TEEN_PROXY_TYPES, type);
  const all = allBut();
  const { granted } = approve(['patient/*.rs'], all, teen);
  const records = typesOf(granted).filter((type) => RESOURCE_DEFS.find((d) => d.type === type)!.inCompartment);
  t.same([...records].sort(), [...TEEN_PROXY_TYPES].sort(), "patient/*.rs on a teenager's record: only the record types a parent may see");
  t.ok(typesOf(granted).includes('Practitioner'), 'shared types follow the scopes');
  t.same(keys(granted), ['allergies', 'immunizations', 'insurance', 'basic', 'providers', 'reference-data'], 'and reach only the groups shown for that record');
  t.notOk(typesOf(granted).includes('Medication'), 'not even Medication: the group is not shown');
  t.same(approve(['patient/ExplanationOfBenefit.rs', 'patient/Coverage.rs'], all, teen), { granted: ['patient/Coverage.rs'], dropped: ['patient/ExplanationOfBenefit.rs'] }, 'insurance: the coverage, not the claims');
  t.same(groupsForScopes(['patient/Condition.rs', 'patient/Immunization.rs'], teen).map((g) => g.key), ['immunizations'], 'groups only through allowed types');
  t.same(groupsForScopes(['patient/*.rs'], teen).map((g) => g.key), ['allergies', 'immunizations', 'insurance', 'basic', 'providers', 'reference-data']);
});

t.test('scopesForApproval: identity, offline, launch and unknown scopes', async (t) => {
  const requested = ['openid', 'fhirUser', 'profile', 'offline_access', 'online_access', 'launch', 'launch/patient', 'patient/Patient.rs'];
  t.same(approve(requested, ['basic']), { granted: ['openid', 'fhirUser', 'profile', 'online_access', 'launch', 'launch/patient', 'patient/Patient.rs'], dropped: ['offline_access'] });
  t.same(approve(requested, ['offline']), { granted: ['offline_access', 'online_access', 'launch', 'launch/patient'], dropped: ['openid', 'fhirUser', 'profile', 'patient/Patient.rs'] });
  t.same(approve(['patient/Unknown.rs', 'system/Observation.rs', 'patient/Observation.bogus', 'email'], ALL_FHIR), {
    granted: ['email'],
    dropped: ['patient/Unknown.rs', 'system/Observation.rs', 'patient/Observation.bogus'],
  }, 'resource scopes without a group are dropped; other tokens pass');
  t.same(approve(['openid', 'openid'], ['basic']).granted, ['openid'], 'duplicates once');
});

/** Deterministic choices of kept groups: each alone, all but each, and pseudo-random subsets. */
function keptChoices(): PermissionGroupKey[][] {
  const out: PermissionGroupKey[][] = [[], [...PERMISSION_GROUP_KEYS]];
  for (const k of PERMISSION_GROUP_KEYS) out.push([k], allBut(k));
  let seed = 20261125;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 300; i++) out.push(PERMISSION_GROUP_KEYS.filter(() => random() < 0.5));
  return out;
}

t.test('round trips: the granted scopes reach exactly the kept groups the request reached', async (t) => {
  const requests: string[][] = [
    ['openid', 'fhirUser', 'offline_access', 'launch/patient', 'patient/*.read'],
    ['patient/*.rs'],
    ['user/*.cruds', 'offline_access'],
    ['patient/Observation.rs', 'patient/AllergyIntolerance.rs', 'patient/MedicationStatement.read', 'patient/Immunization.rs', 'patient/Patient.read'],
    [LAB, VITAL, 'patient/Immunization.rs'],
    ['patient/Condition.rs', 'patient/MedicationRequest.rs', 'patient/Encounter.rs', 'patient/Practitioner.rs', 'patient/Questionnaire.rs'],
  ];
  const choices = keptChoices();
  for (const requested of requests) {
    const reached = keys(requested);
    for (const kept of choices) {
      const { granted, dropped } = approve(requested, kept);
      const expected = reached.filter((k) => kept.includes(k));
      if (JSON.stringify(keys(granted)) !== JSON.stringify(expected)) {
        t.fail(`${requested.join(' ')} keeping ${kept.join(',')}: got ${granted.join(' ')}`);
        return;
      }
      for (const s of granted) {
        if (!parseScope(s) && s !== 'email') t.fail(`${s} does not parse`);
        if (!requested.includes(s)) {
          const scope = parseScope(s);
          if (scope?.kind !== 'resource' || scope.version !== 2) t.fail(`${s} is a new scope but not v2`);
        }
      }
      for (const s of requested) if (!granted.includes(s) && !dropped.includes(s)) t.fail(`${s} neither granted nor dropped`);
      // Approving again what was granted keeps it verbatim
      const again = approve(granted, kept);
      if (JSON.stringify(again.granted) !== JSON.stringify(granted)) t.fail(`not idempotent: ${granted.join(' ')} → ${again.granted.join(' ')}`);
    }
    t.pass(`${requested.join(' ')}: ${choices.length} choices round-trip`);
  }
});

t.test('dataKindText names a type by its group, for the access log', async (t) => {
  t.equal(dataKindText('MedicationRequest'), 'Medications');
  t.equal(dataKindText('Condition'), 'Health problems');
  t.equal(dataKindText('Observation'), 'Lab results, vital signs and measurements');
  t.equal(dataKindText('Patient'), 'Basic information');
  t.equal(dataKindText('Practitioner'), 'Your care providers');
  t.equal(dataKindText('NotAType'), 'NotAType');
});

t.test('parsePermissionForm reads group checkboxes and the duration radio', async (t) => {
  t.same(parsePermissionForm({ group: ['labs', 'vitals', 'nonsense'], duration: '30d' }), { keptGroupKeys: new Set(['labs', 'vitals', 'offline']), duration: '30d' });
  t.same(parsePermissionForm({ group: 'labs', duration: 'session' }), { keptGroupKeys: new Set(['labs']), duration: 'session' });
  t.same(parsePermissionForm({ group: ['labs', 'offline'], duration: 'session' }).keptGroupKeys, new Set(['labs']), 'session wins over a forged checkbox');
  t.same(parsePermissionForm({ duration: 'weird' }), { keptGroupKeys: new Set(), duration: 'session' });
  t.same(parsePermissionForm({ group: ['offline'] }), { keptGroupKeys: new Set(['offline']), duration: 'forever' }, 'connected-apps form: checkbox');
  t.same(parsePermissionForm({}), { keptGroupKeys: new Set(), duration: 'session' });
});

t.test("unticking lab results keeps US Core's own observation categories (sdoh, functional-status, ...) in 'Other health measurements'", async (t) => {
  const { granted } = approve(['patient/Observation.rs'], ['vitals', 'other-observations']);
  t.equal(granted.length, 2);
  const other = parseScope(granted[1]!);
  const values = other?.kind === 'resource' ? other.query.find(([k]) => k === 'category')![1].split(',') : [];
  t.ok(values.includes('http://hl7.org/fhir/us/core/CodeSystem/us-core-category|sdoh'), 'sdoh screening answers stay');
  t.ok(values.includes('http://hl7.org/fhir/us/core/CodeSystem/us-core-category|functional-status'));
  t.ok(values.includes('http://terminology.hl7.org/CodeSystem/observation-category|survey'));
  t.notOk(values.some((v) => v.endsWith('|laboratory')), 'no lab results');
  t.same(groupsForScopes(granted).map((g) => g.key), ['vitals', 'other-observations'], 'the narrowed scopes fall in exactly the kept groups');
});
