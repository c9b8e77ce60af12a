import t from 'tap';
import { ageOn, birthdayAt, proxyAccess, relationshipProblem, TEEN_PROXY_TYPES, typeAllowed, type ProxyTerms } from '../../src/portal/proxy-policy.js';

const NOW = Date.UTC(2026, 10, 25, 12); // 2026-11-25 12:00 UTC
const DAY = 86_400_000;
const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
const rel = (over: Partial<ProxyTerms> = {}): ProxyTerms => ({ relationship: 'parent', startsAt: day('2020-01-01'), endsAt: null, revokedAt: null, ...over });

t.test('the rule table', async (t) => {
  const rows: [label: string, terms: ProxyTerms, birthDate: string | undefined, now: number, expected: object][] = [
    ['parent of a child under 13: full access until the 18th birthday', rel(), '2018-06-22', NOW, { active: true, allowedTypes: 'all', reason: 'child', endsAt: day('2036-06-22') }],
    ['guardian of a child: the same as a parent', rel({ relationship: 'guardian' }), '2018-06-22', NOW, { active: true, allowedTypes: 'all', reason: 'child' }],
    ['parent of a 15-year-old: basic info, immunizations, allergies only', rel(), '2011-04-09', NOW, { active: true, allowedTypes: TEEN_PROXY_TYPES, reason: 'teen', endsAt: day('2029-04-09') }],
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

t.test('teen access lists exactly Patient, Immunization and AllergyIntolerance', async (t) => {
  t.same([...TEEN_PROXY_TYPES].sort(), ['AllergyIntolerance', 'Immunization', 'Patient']);
  t.notOk(typeAllowed(TEEN_PROXY_TYPES, 'Observation'));
  t.notOk(typeAllowed(TEEN_PROXY_TYPES, 'MedicationStatement'));
  t.ok(typeAllowed(TEEN_PROXY_TYPES, 'Immunization'));
  t.ok(typeAllowed('all', 'Observation'));
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
