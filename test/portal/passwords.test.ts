import t from 'tap';
import { DEFAULT_PARAMS, hashPassword, needsRehash, verifyPassword } from '../../src/portal/passwords.js';
import { MAX_PASSWORD_LENGTH, passwordProblems } from '../../src/portal/password-policy.js';

const CHEAP = { ln: 10, r: 8, p: 1 };

t.test('a hash names scrypt, its parameters and a random salt, and verifies only the same password', async (t) => {
  const h = await hashPassword('correct horse battery');
  t.match(h, /^scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  t.ok(await verifyPassword('correct horse battery', h));
  t.notOk(await verifyPassword('correct horse batterY', h));
  t.notOk(await verifyPassword('', h));
  t.not(await hashPassword('correct horse battery'), h, 'a fresh salt every time');
});

t.test('default parameters are N=2^15, r=8, p=1', async (t) => {
  t.same(DEFAULT_PARAMS, { ln: 15, r: 8, p: 1 });
});

t.test('hashes made with other parameters still verify, and needsRehash flags them', async (t) => {
  const old = await hashPassword('correct horse battery', CHEAP);
  t.ok(await verifyPassword('correct horse battery', old));
  t.ok(needsRehash(old));
  t.notOk(needsRehash(old, CHEAP));
  t.notOk(needsRehash(await hashPassword('x', DEFAULT_PARAMS)));
});

t.test('a malformed or hostile stored hash never verifies and never throws', async (t) => {
  for (const bad of ['', 'plain', 'scrypt$ln=15,r=8,p=1$abc', 'scrypt$ln=40,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'bcrypt$2b$10$xyz']) {
    t.notOk(await verifyPassword('anything', bad), bad);
    t.ok(needsRehash(bad), `${bad} needs a rehash`);
  }
});

t.test('composed and decomposed forms of the same accented password verify alike', async (t) => {
  const h = await hashPassword('contraseña segura', CHEAP);
  t.ok(await verifyPassword('contrasen\u0303a segura', h));
});

t.test('policy: a long, uncommon password without the username passes', async (t) => {
  t.same(passwordProblems('purple-otter-singing-42', { username: 'maria' }), []);
});

t.test('policy: too short says how long it must be and how long it is', async (t) => {
  const p = passwordProblems('short1', { username: 'maria' });
  t.equal(p.length, 1);
  t.match(p[0], /at least 10 characters \(this one has 6\)/);
});

t.test('policy: length counts characters, not UTF-16 units', async (t) => {
  t.match(passwordProblems('🙂🙂🙂🙂🙂🙂🙂🙂🙂')[0], /this one has 9/);
  t.same(passwordProblems('🙂🙂🙂🙂🙂🙂🙂🙂🙂x'), []);
});

t.test('policy: over 256 characters is refused', async (t) => {
  t.same(passwordProblems('a-b'.repeat(100)).length, 1);
  t.match(passwordProblems('a-b'.repeat(100))[0], `at most ${MAX_PASSWORD_LENGTH}`);
  t.same(passwordProblems('x'.repeat(MAX_PASSWORD_LENGTH - 3) + 'y-z'), []);
});

t.test('policy: a password containing the username, in any case, is refused', async (t) => {
  t.same(passwordProblems('MariaRocks2026!', { username: 'maria' }), ['Do not use your username in your password.']);
});

t.test('policy: common passwords are refused whatever their case', async (t) => {
  for (const p of ['password123', 'Password123', 'QWERTYUIOP', '1234567890', 'iloveyou123']) {
    const problems = passwordProblems(p, { username: 'daniel' });
    t.equal(problems.length, 1, p);
    t.match(problems[0], /most common/);
  }
});

t.test('policy: every broken rule has its own message', async (t) => {
  const p = passwordProblems('maria', { username: 'maria' });
  t.equal(p.length, 2);
  t.match(p[0], /at least 10/);
  t.match(p[1], /username/);
});
