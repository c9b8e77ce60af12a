import t from 'tap';
import { loadKeys, rotateKeys } from '../../src/auth/keys.js';
import { KeyStore } from '../../src/store/keys.js';
import { createTestDatabase } from '../helpers/database.js';

t.test('signing keys are created once, on first start, and rotation keeps the old ones published', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const store = new KeyStore(database.db);
  const first = await loadKeys(store);
  t.same(first.signingKeys.map((k) => k.alg).sort(), ['ES256', 'RS256']);
  t.ok(first.signingKeys.every((k) => typeof k.d === 'string' && k.kid), 'private keys with ids');
  t.equal(first.cookieKeys.length, 1);
  const again = await loadKeys(store);
  t.same(again.signingKeys.map((k) => k.kid), first.signingKeys.map((k) => k.kid), 'a second start reuses the keys');

  const { added, retiring } = await rotateKeys(store, 3600);
  t.equal(added.length, 2);
  t.same([...retiring].sort(), first.signingKeys.map((k) => k.kid!).sort());
  const rotated = await loadKeys(store);
  t.equal(rotated.signingKeys.length, 4, 'old keys stay published for verification');
  t.same(rotated.signingKeys.slice(0, 2).map((k) => k.kid).sort(), [...added].sort(), 'new keys come first, so they sign');
  t.same(rotated.cookieKeys, first.cookieKeys, 'cookie secrets are not rotated with signing keys');

  await rotateKeys(store, -1);
  const expired = await loadKeys(store);
  t.equal(expired.signingKeys.length, 4, 'the newest pair plus the first pair, still inside its hour');
  t.notOk(expired.signingKeys.some((k) => added.includes(k.kid!)), 'the keys retired by the second rotation are gone');
});
