import t from 'tap';
import { ACTIVATION_FAILED, RECORD_HAS_ACCOUNT, UnknownPatientError } from '../../src/portal/activation.js';
import { DAY, portalFixture } from './fixtures.js';

const PASSWORD = 'purple-otter-singing-42';
const redeemAs = (code: string, over: Partial<{ birthDate: string; username: string; password: string; email: string | null }> = {}) => ({
  code,
  birthDate: '1985-03-14',
  username: 'maria',
  password: PASSWORD,
  email: 'maria@example.org',
  ...over,
});
const codeError = { ok: false, problems: [{ field: 'code', message: ACTIVATION_FAILED }] };

t.test('a code is 12 base32 characters in three groups, valid 45 days, stored only as a hash', async (t) => {
  const { portal, database, clock } = await portalFixture(t);
  const { code, expiresAt } = await portal.activation.issueActivationCode('maria-garcia');
  t.match(code, /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
  t.equal(expiresAt, clock() + 45 * DAY);
  const rows = await database.db.kysely.selectFrom('activation_codes').selectAll().execute();
  t.equal(rows.length, 1);
  t.match(rows[0]!.code_hash, /^[0-9a-f]{64}$/);
  t.notOk(JSON.stringify(rows).includes(code.replace(/-/g, '')), 'the plain code is not stored');
});

t.test('issuing a code for an unknown patient fails', async (t) => {
  const { portal } = await portalFixture(t);
  await t.rejects(portal.activation.issueActivationCode('nobody'), UnknownPatientError);
});

t.test('a valid code with the right date of birth creates an account linked to the patient', async (t) => {
  const { portal, database } = await portalFixture(t);
  const { code } = await portal.activation.issueActivationCode('maria-garcia');
  const r = await portal.activation.redeem(redeemAs(code));
  t.ok(r.ok);
  if (!r.ok) return;
  t.match(r.account, { username: 'maria', fhirUser: 'Patient/maria-garcia', patientId: 'maria-garcia', role: 'patient', displayName: 'Maria Elena Garcia', email: 'maria@example.org' });
  const row = await database.db.kysely.selectFrom('activation_codes').selectAll().executeTakeFirstOrThrow();
  t.equal(row.used_by_account, r.account.id);
  t.ok((await portal.accounts.authenticate('maria', PASSWORD)).ok, 'the new account can sign in');
});

t.test('codes are forgiving to type: lower case, spaces, no dashes, O for 0 and I/L for 1', async (t) => {
  const { portal } = await portalFixture(t);
  const { code } = await portal.activation.issueActivationCode('maria-garcia');
  const typed = ` ${code.toLowerCase().replace(/-/g, ' ').replace(/0/g, 'o').replace(/1/g, 'l')} `;
  t.ok((await portal.activation.redeem(redeemAs(typed))).ok);
});

t.test('wrong code, wrong date of birth, expired code and reused code all give the same message', async (t) => {
  const { portal, clock } = await portalFixture(t);
  const { code } = await portal.activation.issueActivationCode('maria-garcia');
  const wrongCode = await portal.activation.redeem(redeemAs('ABCD-EFGH-JKMN'));
  const wrongDob = await portal.activation.redeem(redeemAs(code, { birthDate: '1985-03-15' }));
  t.same(wrongCode, codeError, 'wrong code');
  t.same(wrongDob, codeError, 'wrong date of birth');
  t.ok((await portal.activation.redeem(redeemAs(code))).ok, 'the right pair still works after failures');
  const reused = await portal.activation.redeem(redeemAs(code, { username: 'maria-again' }));
  t.same(reused, codeError, 'used code');

  const { code: late } = await portal.activation.issueActivationCode('daniel-kim');
  clock.advance(45 * DAY);
  t.same(await portal.activation.redeem(redeemAs(late, { birthDate: '1999-08-03', username: 'daniel' })), codeError, 'expired exactly at 45 days');
});

t.test('a code is still good one millisecond before 45 days', async (t) => {
  const { portal, clock } = await portalFixture(t);
  const { code } = await portal.activation.issueActivationCode('daniel-kim');
  clock.advance(45 * DAY - 1);
  t.ok((await portal.activation.redeem(redeemAs(code, { birthDate: '1999-08-03', username: 'daniel' }))).ok);
});

t.test('a taken username has its own message and does not use up the code', async (t) => {
  const { portal } = await portalFixture(t);
  const a = await portal.activation.issueActivationCode('maria-garcia');
  t.ok((await portal.activation.redeem(redeemAs(a.code))).ok);
  const b = await portal.activation.issueActivationCode('daniel-kim');
  const taken = await portal.activation.redeem(redeemAs(b.code, { birthDate: '1999-08-03', username: 'MARIA' }));
  t.same(taken, { ok: false, problems: [{ field: 'username', message: 'That username is taken. Choose another.' }] });
  t.ok((await portal.activation.redeem(redeemAs(b.code, { birthDate: '1999-08-03', username: 'daniel' }))).ok, 'same code, other username');
});

t.test('password policy messages come back and the code stays usable', async (t) => {
  const { portal } = await portalFixture(t);
  const { code } = await portal.activation.issueActivationCode('maria-garcia');
  const weak = await portal.activation.redeem(redeemAs(code, { password: 'password123' }));
  t.notOk(weak.ok);
  if (!weak.ok) {
    t.same(weak.problems.map((p) => p.field), ['password']);
    t.match(weak.problems[0]!.message, /common/);
  }
  t.ok((await portal.activation.redeem(redeemAs(code))).ok);
});

t.test('a wrong code is reported before any password problem (nothing is revealed without a valid code)', async (t) => {
  const { portal } = await portalFixture(t);
  t.same(await portal.activation.redeem(redeemAs('ABCD-EFGH-JKMN', { password: 'x', username: '!' })), codeError);
});

t.test('a second code for a record that already has an account is refused with its own message', async (t) => {
  const { portal } = await portalFixture(t);
  const a = await portal.activation.issueActivationCode('maria-garcia');
  const b = await portal.activation.issueActivationCode('maria-garcia');
  t.ok((await portal.activation.redeem(redeemAs(a.code))).ok);
  t.same(await portal.activation.redeem(redeemAs(b.code, { username: 'maria2' })), { ok: false, problems: [{ field: 'code', message: RECORD_HAS_ACCOUNT }] });
});

t.test('two redemptions of one code at the same time create exactly one account', async (t) => {
  const { portal, database } = await portalFixture(t);
  const { code } = await portal.activation.issueActivationCode('maria-garcia');
  const results = await Promise.all([portal.activation.redeem(redeemAs(code, { username: 'maria-a' })), portal.activation.redeem(redeemAs(code, { username: 'maria-b' }))]);
  t.equal(results.filter((r) => r.ok).length, 1);
  const n = await database.db.kysely.selectFrom('accounts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  t.equal(Number(n.n), 1);
});
