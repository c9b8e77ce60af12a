import t from 'tap';
import { parseScope } from '../../src/auth/scopes.js';
import {
  OBSERVATION_CATEGORY_SYSTEM,
  PERMISSION_GROUPS,
  groupsForScopes,
  parsePermissionForm,
  scopeGroups,
  scopesForApproval,
  type PermissionGroupKey,
} from '../../src/portal/permissions.js';

const CAT = OBSERVATION_CATEGORY_SYSTEM;
const LAB = `patient/Observation.rs?category=${CAT}|laboratory`;
const VITAL = `patient/Observation.rs?category=${CAT}|vital-signs`;
const ALL_FHIR: PermissionGroupKey[] = ['labs', 'vitals', 'other-observations', 'allergies', 'medications', 'immunizations', 'basic'];
const keys = (scopes: string[]) => groupsForScopes(scopes).map((g) => g.key);
const approve = (requested: string[], kept: PermissionGroupKey[]) => scopesForApproval(requested, new Set(kept));

t.test('every group has a key, label, description; FHIR groups name their type', async (t) => {
  t.same(
    PERMISSION_GROUPS.map((g) => g.label),
    ['Lab results', 'Vital signs', 'Other health measurements', 'Allergies', 'Medications', 'Immunizations', 'Basic information about you', 'Keep access when you are not using the app'],
  );
  for (const g of PERMISSION_GROUPS) t.ok(g.description.length > 10, `${g.key} has a description`);
  const labs = PERMISSION_GROUPS.find((g) => g.key === 'labs')!;
  t.equal(labs.resourceType, 'Observation');
  t.equal(labs.category, 'laboratory');
  t.same(PERMISSION_GROUPS.find((g) => g.key === 'other-observations')!.excludeCategories, ['laboratory', 'vital-signs']);
  t.equal(PERMISSION_GROUPS.find((g) => g.key === 'medications')!.resourceType, 'MedicationStatement');
  t.equal(PERMISSION_GROUPS.find((g) => g.key === 'offline')!.resourceType, undefined);
});

t.test('groupsForScopes: wildcards, Observation and granular scopes', async (t) => {
  t.same(keys(['patient/*.rs']), ALL_FHIR, 'patient/*.rs reaches every FHIR group');
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

t.test('groupsForScopes: identity, offline, hidden and unknown scopes', async (t) => {
  t.same(keys(['openid']), ['basic']);
  t.same(keys(['fhirUser', 'profile']), ['basic']);
  t.same(keys(['offline_access']), ['offline']);
  t.same(keys(['online_access', 'launch', 'launch/patient', 'launch/encounter']), [], 'not shown');
  t.same(keys(['patient/Condition.rs', 'system/Observation.rs', 'nonsense', 'patient/Observation.xx']), [], 'types without a group, system scopes and junk reach nothing');
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
  t.same(approve(['patient/*.rs'], ['allergies', 'medications']), { granted: ['patient/AllergyIntolerance.rs', 'patient/MedicationStatement.rs'], dropped: ['patient/*.rs'] });
  t.same(approve(['patient/*.read'], ['labs', 'vitals', 'other-observations', 'immunizations', 'basic']).granted, ['patient/Observation.rs', 'patient/Immunization.rs', 'patient/Patient.rs'], 'v1 wildcard narrowed in v2 form');
  t.same(approve(['patient/*.read'], ['labs', 'allergies']).granted, [LAB, 'patient/AllergyIntolerance.rs']);
  t.same(approve(['user/*.*'], ['vitals']).granted, [`user/Observation.cruds?category=${CAT}|vital-signs`]);
  t.same(approve(['patient/*.rs'], []).granted, []);
});

t.test('scopesForApproval: identity, offline, launch and unknown scopes', async (t) => {
  const requested = ['openid', 'fhirUser', 'profile', 'offline_access', 'online_access', 'launch', 'launch/patient', 'patient/Patient.rs'];
  t.same(approve(requested, ['basic']), { granted: ['openid', 'fhirUser', 'profile', 'online_access', 'launch', 'launch/patient', 'patient/Patient.rs'], dropped: ['offline_access'] });
  t.same(approve(requested, ['offline']), { granted: ['offline_access', 'online_access', 'launch', 'launch/patient'], dropped: ['openid', 'fhirUser', 'profile', 'patient/Patient.rs'] });
  t.same(approve(['patient/Condition.rs', 'system/Observation.rs', 'patient/Observation.bogus', 'email'], ALL_FHIR), {
    granted: ['email'],
    dropped: ['patient/Condition.rs', 'system/Observation.rs', 'patient/Observation.bogus'],
  }, 'resource scopes without a group are dropped; other tokens pass');
  t.same(approve(['openid', 'openid'], ['basic']).granted, ['openid'], 'duplicates once');
});

t.test('round trips: the granted scopes reach exactly the kept groups the request reached', async (t) => {
  const requests: string[][] = [
    ['openid', 'fhirUser', 'offline_access', 'launch/patient', 'patient/*.read'],
    ['patient/*.rs'],
    ['user/*.cruds', 'offline_access'],
    ['patient/Observation.rs', 'patient/AllergyIntolerance.rs', 'patient/MedicationStatement.read', 'patient/Immunization.rs', 'patient/Patient.read'],
    [LAB, VITAL, 'patient/Immunization.rs'],
  ];
  const groupKeys = PERMISSION_GROUPS.map((g) => g.key);
  for (const requested of requests) {
    const reached = keys(requested);
    // every subset of the groups (2^8 = 256)
    for (let mask = 0; mask < 1 << groupKeys.length; mask++) {
      const kept = groupKeys.filter((_, i) => mask & (1 << i));
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
    t.pass(`${requested.join(' ')}: 256 choices round-trip`);
  }
});

t.test('parsePermissionForm reads group checkboxes and the duration radio', async (t) => {
  t.same(parsePermissionForm({ group: ['labs', 'vitals', 'nonsense'], duration: '30d' }), { keptGroupKeys: new Set(['labs', 'vitals', 'offline']), duration: '30d' });
  t.same(parsePermissionForm({ group: 'labs', duration: 'session' }), { keptGroupKeys: new Set(['labs']), duration: 'session' });
  t.same(parsePermissionForm({ group: ['labs', 'offline'], duration: 'session' }).keptGroupKeys, new Set(['labs']), 'session wins over a forged checkbox');
  t.same(parsePermissionForm({ duration: 'weird' }), { keptGroupKeys: new Set(), duration: 'session' });
  t.same(parsePermissionForm({ group: ['offline'] }), { keptGroupKeys: new Set(['offline']), duration: 'forever' }, 'connected-apps form: checkbox');
  t.same(parsePermissionForm({}), { keptGroupKeys: new Set(), duration: 'session' });
});
