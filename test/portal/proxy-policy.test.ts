import t from 'tap';
import { RESOURCE_DEFS } from '../../src/fhir/definitions.js';
import {
  ageOn,
  birthdayAt,
  PROXY_REASON_TEXT,
  proxyAccess,
  relationshipProblem,
  TEEN_PROXY_TYPES,
  TEEN_RULES,
  TEEN_TYPE_RULES,
  teenRule,
  typeAllowed,
  type ProxyTerms,
} from '../../src/portal/proxy-policy.js';

const NOW = Date.UTC(2026, 10, 25, 12); // 2026-11-25 12:00 UTC
const DAY = 86_400_000;
const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
const rel = (over: Partial<ProxyTerms> = {}): ProxyTerms => ({ relationship: 'parent', startsAt: day('2020-01-01'), endsAt: null, revokedAt: null, ...over });

t.test('the rule table', async (t) => {
  const rows: [label: string, terms: ProxyTerms, birthDate: string | undefined, now: number, expected: object][] = [
    ['parent of a child under 13: full access until the 18th birthday', rel(), '2018-06-22', NOW, { active: true, allowedTypes: 'all', reason: 'child', endsAt: day('2036-06-22') }],
    ['guardian of a child: the same as a parent', rel({ relationship: 'guardian' }), '2018-06-22', NOW, { active: true, allowedTypes: 'all', reason: 'child' }],
    ['parent of a 15-year-old: only the kinds of record a parent may see', rel(), '2011-04-09', NOW, { active: true, allowedTypes: TEEN_PROXY_TYPES, reason: 'teen', endsAt: day('2029-04-09') }],
    ['the day before the 13th birthday: still a child', rel(), '2013-11-26', NOW, { active: true, reason: 'child' }],
    ['on the 13th birthday: a teen', rel(), '2013-11-25', NOW, { active: true, reason: 'teen' }],
    ['the day before the 18th birthday: still a teen, ending tomorrow', rel(), '2008-11-26', NOW, { active: true, reason: 'teen', endsAt: day('2026-11-26') }],
    ['on the 18th birthday the proxy ends by itself', rel(), '2008-11-25', NOW, { active: false, allowedTypes: [], reason: 'turned-18' }],
    ['a parent relation to an adult gives nothing', rel(), '1985-03-14', NOW, { active: false, reason: 'turned-18' }],
    ['a parent relation needs a full birth date', rel(), '2015', NOW, { active: false, reason: 'unknown-birth-date' }],
    ['a relation end before the 18th birthday wins', rel({ endsAt: day('2027-01-01') }), '2018-06-22', NOW, { active: true, endsAt: day('2027-01-01') }],
    ['legal authorization for an adult: full access, with its end date', rel({ relationship: 'legal-authorization', endsAt: day('2027-01-01') }), '1942-06-05', NOW, { active: true, allowedTypes: 'all', reason: 'legal-authorization', endsAt: day('2027-01-01') }],
    ['legal authorization without an end date has no endsAt', rel({ relationship: 'legal-authorization' }), '1942-06-05', NOW, { active: true, reason: 'legal-authorization' }],
    ['legal authorization at its end date: ended', rel({ relationship: 'legal-authorization', endsAt: day('2027-01-01') }), '1942-06-05', day('2027-01-01'), { active: false, reason: 'ended' }],
    ['legal authorization one ms before its end: active', rel({ relationship: 'legal-authorization', endsAt: day('2027-01-01') }), '1942-06-05', day('2027-01-01') - 1, { active: true }],
    ['before the start date: not started', rel({ relationship: 'legal-authorization', startsAt: day('2027-01-01') }), '1942-06-05', NOW, { active: false, reason: 'not-started' }],
    ['revoked: nothing, whatever else holds', rel({ revokedAt: NOW - DAY }), '2018-06-22', NOW, { active: false, allowedTypes: [], reason: 'revoked' }],
    ['revoked legal authorization: nothing', rel({ relationship: 'legal-authorization', revokedAt: NOW }), '1942-06-05', NOW, { active: false, reason: 'revoked' }],
  ];
  for (const [label, terms, birthDate, now, expected] of rows) t.match(proxyAccess(terms, birthDate, now), expected, label);
  t.notOk('endsAt' in proxyAccess(rel({ relationship: 'legal-authorization' }), '1942-06-05', NOW));
});

t.test("a parent sees of a teen's record: basic information, allergies, immunizations and insurance coverage", async (t) => {
  t.same([...TEEN_PROXY_TYPES].sort(), ['AllergyIntolerance', 'Coverage', 'Immunization', 'ImmunizationEvaluation', 'ImmunizationRecommendation', 'Patient', 'Person', 'RelatedPerson']);
  for (const type of ['Observation', 'Condition', 'MedicationRequest', 'MedicationStatement', 'Encounter', 'Procedure', 'DiagnosticReport', 'DocumentReference', 'CarePlan', 'QuestionnaireResponse', 'Device', 'ExplanationOfBenefit', 'Claim', 'Communication']) {
    t.notOk(typeAllowed(TEEN_PROXY_TYPES, type), `not ${type}`);
  }
  t.ok(typeAllowed(TEEN_PROXY_TYPES, 'Immunization'));
  t.ok(typeAllowed(TEEN_PROXY_TYPES, 'Coverage'), 'the coverage, though not the claims');
  t.ok(typeAllowed('all', 'Observation'));
  for (const type of ['Practitioner', 'Organization', 'Location', 'Medication', 'Questionnaire']) t.ok(typeAllowed(TEEN_PROXY_TYPES, type), `${type}: nobody's record, the scopes decide`);
  t.notOk(typeAllowed(TEEN_PROXY_TYPES, 'NotAType'), 'an unknown type fails closed');
  t.match(PROXY_REASON_TEXT.teen, /basic information, allergies, immunizations and insurance coverage/, 'the wording names what is reachable');
  t.match(PROXY_REASON_TEXT.teen, /not health problems, medications, results, visits or notes/, 'and what is not');
});

t.test('every patient-compartment type has a teen decision with a reason; types outside it have none', async (t) => {
  const compartment = RESOURCE_DEFS.filter((d) => d.inCompartment);
  t.ok(compartment.length > 60, `${compartment.length} compartment types`);
  for (const d of compartment) {
    const rule = teenRule(d.type);
    if (!rule) {
      t.fail(`${d.type} (consent group ${d.consentGroup}) has no teen decision: add its group to TEEN_RULES or the type to TEEN_TYPE_RULES`);
      continue;
    }
    if (rule.why.length < 30) t.fail(`${d.type}: the reason is too short to explain the decision`);
    if (rule.parentSees !== TEEN_PROXY_TYPES.includes(d.type)) t.fail(`${d.type}: TEEN_PROXY_TYPES disagrees with its rule`);
  }
  t.pass('every compartment type is decided');
  for (const d of RESOURCE_DEFS.filter((x) => !x.inCompartment)) if (teenRule(d.type)) t.fail(`${d.type} is nobody's record but has a teen rule`);
  for (const [key, rule] of Object.entries(TEEN_RULES)) {
    const types = RESOURCE_DEFS.filter((d) => d.consentGroup === key);
    if (rule === 'not-a-record') t.ok(types.every((d) => !d.inCompartment), `${key}: holds no record type`);
  }
  t.same(Object.keys(TEEN_TYPE_RULES), ['Coverage'], 'the one type decided apart from its group');
});

t.test('ages count completed years in UTC days; Feb 29 birthdays come of age on Mar 1', async (t) => {
  t.equal(ageOn('2011-04-09', NOW), 15);
  t.equal(ageOn('2008-11-25', NOW), 18);
  t.equal(ageOn('2008-11-26', NOW), 17);
  t.equal(ageOn('2008', NOW), undefined);
  t.equal(ageOn(undefined, NOW), undefined);
  t.equal(birthdayAt('2008-02-29', 18), day('2026-03-01'));
  t.match(proxyAccess(rel(), '2008-02-29', day('2026-02-28')), { active: true, reason: 'teen' });
  t.match(proxyAccess(rel(), '2008-02-29', day('2026-03-01')), { active: false, reason: 'turned-18' });
});

t.test('which relationship may be recorded depends on the age today', async (t) => {
  t.equal(relationshipProblem('parent', '2011-04-09', NOW), undefined);
  t.equal(relationshipProblem('guardian', '2018-06-22', NOW), undefined);
  t.match(relationshipProblem('parent', '1985-03-14', NOW), /legal-authorization/);
  t.equal(relationshipProblem('legal-authorization', '1942-06-05', NOW), undefined);
  t.match(relationshipProblem('legal-authorization', '2011-04-09', NOW), /parent/);
  t.match(relationshipProblem('parent', '2011', NOW), /date of birth/);
});
