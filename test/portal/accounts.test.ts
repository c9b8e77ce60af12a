import t from 'tap';
import type { Test } from 'tap';
import { hashPassword } from '../../src/portal/passwords.js';
import { MINUTE, portalFixture } from './fixtures.js';

const PASSWORD = 'purple-otter-singing-42';

async function withMaria(t: Test) {
  const f = await portalFixture(t, { patients: false });
  const r = await f.portal.accounts.create({ username: 'Maria', password: PASSWORD, email: 'Maria@Example.org', displayName: 'Maria Elena Garcia', fhirUser: 'Patient/maria-garcia', patientId: 'maria-garcia', role: 'patient' });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return { ...f, account: r.account };
}

t.test('usernames and e-mails are stored lower-case and sign-in ignores case and surrounding spaces', async (t) => {
  const { portal, account } = await withMaria(t);
  t.equal(account.username, 'maria');
  t.equal(account.email, 'maria@example.org');
  const r = await portal.accounts.authenticate('  MARIA ', PASSWORD);
  t.ok(r.ok);
  if (r.ok) t.equal(r.account.id, account.id);
});

t.test('a wrong password gives the generic invalid result', async (t) => {
  const { portal } = await withMaria(t);
  t.same(await portal.accounts.authenticate('maria', 'wrong-password-1'), { ok: false, reason: 'invalid' });
});

t.test('five failures in a row lock the account; during the lock even the right password fails as locked', async (t) => {
  const { portal } = await withMaria(t);
  const reasons: string[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await portal.accounts.authenticate('maria', `wrong-password-${i}`);
    reasons.push(r.ok ? 'ok' : r.reason);
  }
  t.same(reasons, ['invalid', 'invalid', 'invalid', 'invalid', 'locked']);
  t.same(await portal.accounts.authenticate('maria', PASSWORD), { ok: false, reason: 'locked' });
});

t.test('the lock lifts after 15 minutes, with a fresh count of failures', async (t) => {
  const { portal, clock } = await withMaria(t);
  for (let i = 0; i < 5; i++) await portal.accounts.authenticate('maria', 'wrong-password-x');
  clock.advance(15 * MINUTE - 1);
  t.same(await portal.accounts.authenticate('maria', PASSWORD), { ok: false, reason: 'locked' }, 'one ms before the end');
  clock.advance(1);
  t.equal((await portal.accounts.authenticate('maria', PASSWORD)).ok, true, 'right password works at 15 minutes');
  t.same(await portal.accounts.failures('maria'), { count: 0, lockedUntil: null });
});

t.test('after an expired lock, a wrong password counts as the first failure again', async (t) => {
  const { portal, clock } = await withMaria(t);
  for (let i = 0; i < 5; i++) await portal.accounts.authenticate('maria', 'wrong-password-x');
  clock.advance(15 * MINUTE);
  t.same(await portal.accounts.authenticate('maria', 'wrong-password-x'), { ok: false, reason: 'invalid' });
  t.same(await portal.accounts.failures('maria'), { count: 1, lockedUntil: null });
});

t.test('a success resets the failure count, so only failures in a row lock', async (t) => {
  const { portal } = await withMaria(t);
  for (let i = 0; i < 4; i++) await portal.accounts.authenticate('maria', 'wrong-password-x');
  t.ok((await portal.accounts.authenticate('maria', PASSWORD)).ok);
  for (let i = 0; i < 4; i++) t.same(await portal.accounts.authenticate('maria', 'wrong-password-x'), { ok: false, reason: 'invalid' });
  t.ok((await portal.accounts.authenticate('maria', PASSWORD)).ok);
});

t.test('unknown usernames behave exactly like accounts: invalid four times, then locked for 15 minutes', async (t) => {
  const { portal, clock } = await withMaria(t);
  const known: string[] = [];
  const unknown: string[] = [];
  for (let i = 0; i < 6; i++) {
    const k = await portal.accounts.authenticate('maria', 'wrong-password-x');
    const u = await portal.accounts.authenticate('nobody-here', 'wrong-password-x');
    known.push(k.ok ? 'ok' : k.reason);
    unknown.push(u.ok ? 'ok' : u.reason);
  }
  t.same(unknown, known);
  t.same(unknown, ['invalid', 'invalid', 'invalid', 'invalid', 'locked', 'locked']);
  clock.advance(15 * MINUTE);
  t.same(await portal.accounts.authenticate('nobody-here', 'x'), { ok: false, reason: 'invalid' }, 'unlocked like an account');
});

t.test('an unknown username costs a real password hash at production parameters (timing does not reveal existence)', async (t) => {
  const f = await portalFixture(t, { patients: false });
  const { AccountService } = await import('../../src/portal/account-service.js');
  // Production scrypt parameters: the hash dominates, as it does in the server.
  const svc = new AccountService(f.database.db.kysely, { now: f.clock, maxFailures: 100 });
  await svc.create({ username: 'maria', password: PASSWORD, displayName: 'Maria', fhirUser: 'Patient/maria-garcia', role: 'patient' });
  await svc.authenticate('nobody-here', 'x'); // the dummy hash is computed once, lazily
  // Fastest of interleaved single attempts: other processes' load only ever adds time, so minimums compare fairly.
  const once = async (u: string) => {
    const s = performance.now();
    await svc.authenticate(u, 'wrong-password-y');
    return performance.now() - s;
  };
  let known = Infinity;
  let unknown = Infinity;
  for (let i = 0; i < 4; i++) {
    known = Math.min(known, await once('maria'));
    unknown = Math.min(unknown, await once(`someone-else-${i}`));
  }
  t.ok(unknown > known * 0.5 && unknown < known * 2, `fastest attempt: known ${known.toFixed(1)} ms, unknown ${unknown.toFixed(1)} ms`);
});

t.test('lock duration and threshold are configurable', async (t) => {
  const f = await portalFixture(t, { patients: false });
  const { AccountService } = await import('../../src/portal/account-service.js');
  const svc = new AccountService(f.database.db.kysely, { now: f.clock, maxFailures: 2, lockMs: MINUTE, hashParams: { ln: 10, r: 8, p: 1 } });
  await svc.create({ username: 'daniel', password: PASSWORD, displayName: 'Daniel Kim', fhirUser: 'Patient/daniel-kim', patientId: 'daniel-kim', role: 'patient' });
  t.same(await svc.authenticate('daniel', 'nope-nope-nope'), { ok: false, reason: 'invalid' });
  t.same(await svc.authenticate('daniel', 'nope-nope-nope'), { ok: false, reason: 'locked' });
  f.clock.advance(MINUTE);
  t.ok((await svc.authenticate('daniel', PASSWORD)).ok);
});

t.test('a hash with old parameters is upgraded at the next successful sign-in', async (t) => {
  const { portal, account } = await withMaria(t);
  const old = await hashPassword(PASSWORD, { ln: 9, r: 8, p: 1 });
  await portal.accounts.store.setPassword(account.id, old, 1);
  t.ok((await portal.accounts.authenticate('maria', PASSWORD)).ok);
  const after = await portal.accounts.findById(account.id);
  t.match(after?.passwordHash, /^scrypt\$ln=10,/);
  t.ok((await portal.accounts.authenticate('maria', PASSWORD)).ok);
});

t.test('create checks username, password and e-mail, and refuses a taken username', async (t) => {
  const { portal } = await withMaria(t);
  const bad = await portal.accounts.create({ username: 'x', password: 'short', email: 'not-an-email', displayName: 'X', fhirUser: 'Patient/x', role: 'patient' });
  t.notOk(bad.ok);
  if (!bad.ok) t.same(bad.problems.map((p) => p.field), ['username', 'password', 'email']);
  const taken = await portal.accounts.create({ username: 'MARIA', password: PASSWORD, displayName: 'Other', fhirUser: 'Patient/y', role: 'patient' });
  t.same(taken, { ok: false, problems: [{ field: 'username', message: 'That username is taken. Choose another.' }] });
});

t.test('two accounts cannot claim the same patient record', async (t) => {
  const { portal } = await withMaria(t);
  const r = await portal.accounts.create({ username: 'maria2', password: PASSWORD, displayName: 'M', fhirUser: 'Patient/maria-garcia', patientId: 'maria-garcia', role: 'patient' });
  t.notOk(r.ok);
});

t.test('two sign-ups racing for one username: one account, the other is told the name is taken', async (t) => {
  const f = await portalFixture(t, { patients: false });
  const mk = (fhirUser: string) => f.portal.accounts.create({ username: 'sam', password: PASSWORD, displayName: 'Sam', fhirUser, role: 'patient' });
  const results = await Promise.all([mk('Patient/a'), mk('Patient/b')]);
  t.equal(results.filter((r) => r.ok).length, 1);
  t.match(results.find((r) => !r.ok), { problems: [{ field: 'username', message: 'That username is taken. Choose another.' }] });
});
