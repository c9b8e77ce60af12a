import t from 'tap';
import { BAD_BIRTH_DATE, NO_MATCH, UNDER_18 } from '../../src/portal/self-signup.js';
import { portalFixture } from './fixtures.js';

const PASSWORD = 'purple-otter-singing-42';
const daniel = { givenName: 'Daniel', familyName: 'Kim', birthDate: '1999-08-03', identifier: '1000004', username: 'daniel', password: PASSWORD, email: 'daniel@example.org' };
const noMatch = { ok: false, problems: [{ field: 'identity', message: NO_MATCH }] };

t.test('an adult whose name, birth date and MRN match one record gets an account for it', async (t) => {
  const { portal } = await portalFixture(t);
  const r = await portal.signup.signUp(daniel);
  t.ok(r.ok);
  if (r.ok) t.match(r.account, { username: 'daniel', patientId: 'daniel-kim', fhirUser: 'Patient/daniel-kim', role: 'patient', displayName: 'Daniel Kim' });
});

t.test('names match regardless of case, accents and extra spaces; a full given name list matches too', async (t) => {
  const { portal, putPatient } = await portalFixture(t);
  await putPatient({ resourceType: 'Patient', id: 'jose-nunez', birthDate: '1970-01-02', name: [{ use: 'official', family: 'Núñez', given: ['José', 'María'] }], identifier: [{ system: 'http://hospital.example.org/mrn', value: 'A-77' }] });
  const m1 = await portal.signup.matchPatient({ givenName: 'jose', familyName: '  NUNEZ ', birthDate: '1970-01-02', identifier: 'A-77' });
  t.ok(m1.ok && m1.patient.id === 'jose-nunez');
  const m2 = await portal.signup.matchPatient({ givenName: 'José  María', familyName: 'Núñez', birthDate: '1970-01-02', identifier: ' A-77 ' });
  t.ok(m2.ok);
  const m3 = await portal.signup.matchPatient({ givenName: 'Jos', familyName: 'Núñez', birthDate: '1970-01-02', identifier: 'A-77' });
  t.notOk(m3.ok, 'a prefix of the given name is not a match');
});

t.test('any detail wrong gives the contact-support message', async (t) => {
  const { portal } = await portalFixture(t);
  for (const [label, over] of [
    ['given name', { givenName: 'David' }],
    ['family name', { familyName: 'Ki' }],
    ['birth date', { birthDate: '1999-08-04' }],
    ['identifier', { identifier: '1000005' }],
    ['empty identifier', { identifier: '' }],
  ] as const) {
    t.same(await portal.signup.signUp({ ...daniel, ...over }), noMatch, label);
  }
});

t.test('two records matching the same details give the contact-support message', async (t) => {
  const { portal, putPatient } = await portalFixture(t);
  await putPatient({ resourceType: 'Patient', id: 'daniel-kim-duplicate', birthDate: '1999-08-03', name: [{ use: 'official', family: 'Kim', given: ['Daniel'] }], identifier: [{ value: '1000004' }] });
  t.same(await portal.signup.signUp(daniel), noMatch);
});

t.test('under 18 gets its own message, before any matching', async (t) => {
  const { portal } = await portalFixture(t);
  const mateo = { givenName: 'Mateo', familyName: 'Garcia', birthDate: '2011-04-09', identifier: '1000003', username: 'mateo', password: PASSWORD };
  t.same(await portal.signup.signUp(mateo), { ok: false, problems: [{ field: 'identity', message: UNDER_18 }] });
  const almost = await portal.signup.matchPatient({ givenName: 'X', familyName: 'Y', birthDate: '2008-11-26', identifier: '1' });
  t.same(almost.ok ? 'ok' : almost.reason, 'minor', 'one day before the 18th birthday');
  const adult = await portal.signup.matchPatient({ givenName: 'X', familyName: 'Y', birthDate: '2008-11-25', identifier: '1' });
  t.same(adult.ok ? 'ok' : adult.reason, 'no-match', 'on the 18th birthday: adult, then matched (no such record)');
});

t.test('a malformed birth date is asked for again', async (t) => {
  const { portal } = await portalFixture(t);
  for (const birthDate of ['03/08/1999', '1999-13-40', '', '2030-01-01']) {
    const r = await portal.signup.signUp({ ...daniel, birthDate });
    t.same(r, { ok: false, problems: [{ field: 'birthDate', message: BAD_BIRTH_DATE }] }, birthDate || 'empty');
  }
});

t.test('a record that already has an account gives the same contact-support message', async (t) => {
  const { portal } = await portalFixture(t);
  t.ok((await portal.signup.signUp(daniel)).ok);
  t.same(await portal.signup.signUp({ ...daniel, username: 'daniel2' }), noMatch);
});

t.test('credential problems are reported with their fields; a taken username has its own message', async (t) => {
  const { portal } = await portalFixture(t);
  const weak = await portal.signup.signUp({ ...daniel, password: 'danielkim12' });
  t.same(weak.ok ? [] : weak.problems.map((p) => p.field), ['password']);
  await portal.accounts.create({ username: 'daniel', password: PASSWORD, displayName: 'Other', fhirUser: 'Practitioner/x', role: 'clinician' });
  t.same(await portal.signup.signUp(daniel), { ok: false, problems: [{ field: 'username', message: 'That username is taken. Choose another.' }] });
});
