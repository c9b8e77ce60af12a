import t from 'tap';
import type { Test } from 'tap';
import { MAX_CODES_PER_HOUR, RESET_FAILED, RESET_REQUESTED } from '../../src/portal/password-reset.js';
import type { OutboxMailer } from '../../src/portal/mailer.js';
import { MINUTE, portalFixture } from './fixtures.js';

const OLD = 'purple-otter-singing-42';
const NEW = 'green-heron-fishing-17';
const failed = { ok: false, problems: [{ field: 'code', message: RESET_FAILED }] };

async function setup(t: Test) {
  const f = await portalFixture(t, { patients: false });
  const mk = (username: string, email: string | null, patientId: string) =>
    f.portal.accounts.create({ username, password: OLD, email, displayName: username, fhirUser: `Patient/${patientId}`, patientId, role: 'patient' });
  await mk('maria', 'family@example.org', 'maria-garcia');
  await mk('mateo', 'family@example.org', 'mateo-garcia');
  await mk('daniel', null, 'daniel-kim');
  const mailer = f.portal.mailer as OutboxMailer;
  const lastCode = async (to?: string) => {
    const mail = (await mailer.list(50)).find((m) => !to || m.body.includes(`"${to}"`));
    return mail ? /code is: (\d+)/.exec(mail.body)![1]! : undefined;
  };
  return { ...f, mailer, lastCode };
}

t.test('asking for a reset gives the same answer for a known user, an unknown one, and one without e-mail', async (t) => {
  const { portal, mailer } = await setup(t);
  const answers = await Promise.all(['maria', 'nobody', 'daniel', 'nobody@example.org', ''].map((k) => portal.resets.requestReset(k)));
  for (const a of answers) t.same(a, { message: RESET_REQUESTED });
  const mails = await mailer.list(10);
  t.equal(mails.length, 1, 'only maria got mail');
  t.equal(mails[0]!.to, 'family@example.org');
  t.match(mails[0]!.body, /code is: \d{8}\n/);
});

t.test('a request by e-mail sends each account of that address its own code naming the username', async (t) => {
  const { portal, mailer } = await setup(t);
  await portal.resets.requestReset('FAMILY@example.org');
  const mails = await mailer.list(10);
  t.equal(mails.length, 2);
  t.same(mails.map((m) => /account "(\w+)"/.exec(m.body)?.[1]).sort(), ['maria', 'mateo']);
});

t.test('the code sets a new password, works once, and other outstanding codes stop working', async (t) => {
  const { portal, lastCode } = await setup(t);
  await portal.resets.requestReset('maria');
  const first = (await lastCode('maria'))!;
  await portal.resets.requestReset('maria');
  const second = (await lastCode('maria'))!;
  const r = await portal.resets.resetPassword({ username: 'maria', code: second, newPassword: NEW });
  t.ok(r.ok);
  t.ok((await portal.accounts.authenticate('maria', NEW)).ok, 'new password works');
  t.same(await portal.accounts.authenticate('maria', OLD), { ok: false, reason: 'invalid' }, 'old one does not');
  t.same(await portal.resets.resetPassword({ username: 'maria', code: second, newPassword: 'another-long-phrase-1' }), failed, 'used code');
  t.same(await portal.resets.resetPassword({ username: 'maria', code: first, newPassword: 'another-long-phrase-1' }), failed, 'older outstanding code');
});

t.test('a code expires after 15 minutes', async (t) => {
  const { portal, lastCode, clock } = await setup(t);
  await portal.resets.requestReset('maria');
  const code = (await lastCode())!;
  clock.advance(15 * MINUTE);
  t.same(await portal.resets.resetPassword({ username: 'maria', code, newPassword: NEW }), failed);
});

t.test('a code works one millisecond before 15 minutes', async (t) => {
  const { portal, lastCode, clock } = await setup(t);
  await portal.resets.requestReset('maria');
  const code = (await lastCode())!;
  clock.advance(15 * MINUTE - 1);
  t.ok((await portal.resets.resetPassword({ username: 'maria', code, newPassword: NEW })).ok);
});

t.test('a code belongs to its account: with another username it fails the same way as a wrong code', async (t) => {
  const { portal, lastCode } = await setup(t);
  await portal.resets.requestReset('maria');
  const code = (await lastCode())!;
  t.same(await portal.resets.resetPassword({ username: 'mateo', code, newPassword: NEW }), failed);
  t.same(await portal.resets.resetPassword({ username: 'nobody', code, newPassword: NEW }), failed);
  t.same(await portal.resets.resetPassword({ username: 'maria', code: '00000000', newPassword: NEW }), failed);
});

t.test('a weak new password is refused with the policy message and the code stays usable', async (t) => {
  const { portal, lastCode } = await setup(t);
  await portal.resets.requestReset('maria');
  const code = (await lastCode())!;
  const weak = await portal.resets.resetPassword({ username: 'maria', code, newPassword: 'short' });
  t.notOk(weak.ok);
  if (!weak.ok) t.same(weak.problems.map((p) => p.field), ['password']);
  t.ok((await portal.resets.resetPassword({ username: 'maria', code, newPassword: NEW })).ok);
});

t.test('a reset lifts a lockout', async (t) => {
  const { portal, lastCode } = await setup(t);
  for (let i = 0; i < 5; i++) await portal.accounts.authenticate('maria', 'wrong-password-x');
  t.same(await portal.accounts.authenticate('maria', OLD), { ok: false, reason: 'locked' });
  await portal.resets.requestReset('maria');
  t.ok((await portal.resets.resetPassword({ username: 'maria', code: (await lastCode())!, newPassword: NEW })).ok);
  t.ok((await portal.accounts.authenticate('maria', NEW)).ok);
});

t.test(`at most ${MAX_CODES_PER_HOUR} codes an hour are sent to one account, and the answer does not change`, async (t) => {
  const { portal, mailer, clock } = await setup(t);
  for (let i = 0; i < MAX_CODES_PER_HOUR + 2; i++) t.same(await portal.resets.requestReset('maria'), { message: RESET_REQUESTED });
  t.equal((await mailer.list(50)).length, MAX_CODES_PER_HOUR);
  clock.advance(60 * MINUTE);
  await portal.resets.requestReset('maria');
  t.equal((await mailer.list(50)).length, MAX_CODES_PER_HOUR + 1);
});

t.test('codes are stored hashed, and logs carry recipient and subject but never the code', async (t) => {
  const { database, lastCode } = await setup(t);
  const { OutboxMailer } = await import('../../src/portal/mailer.js');
  const { PasswordResetService } = await import('../../src/portal/password-reset.js');
  const { AccountService } = await import('../../src/portal/account-service.js');
  const logs: unknown[] = [];
  const mailer = new OutboxMailer(database.db.kysely, { info: (obj, msg) => logs.push({ obj, msg }) });
  const svc = new PasswordResetService({ k: database.db.kysely, accounts: new AccountService(database.db.kysely), mailer });
  await svc.requestReset('maria');
  const code = (await lastCode())!;
  t.match(logs, [{ obj: { to: 'family@example.org', subject: 'Your password reset code' } }]);
  t.notOk(JSON.stringify(logs).includes(code));
  const rows = await database.db.kysely.selectFrom('password_resets').selectAll().execute();
  t.notOk(JSON.stringify(rows).includes(code));
});
