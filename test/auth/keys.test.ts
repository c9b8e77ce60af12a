import t from 'tap';
import { loadKeys, rotateKeys } from '../../src/auth/keys.js';
import { openDb } from '../../src/store/db.js';
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

t.test('instances starting at once store exactly one key per algorithm', async (t) => {
  const database = await createTestDatabase({ file: true });
  // Each "instance" with a connection of its own, as separate processes would have.
  const dbs = [database.db, ...Array.from({ length: 3 }, () => openDb(database.target))];
  t.teardown(async () => {
    for (const db of dbs.slice(1)) await db.close();
    await database.close();
  });
  const loaded = await Promise.all(dbs.map((db) => loadKeys(new KeyStore(db))));
  const rows = await database.db.kysely.selectFrom('signing_key').select(['alg']).execute();
  t.same(rows.map((r) => r.alg).sort(), ['ES256', 'RS256', 'cookie-secret'], 'one key per algorithm and one cookie secret');
  t.equal(new Set(loaded.map((k) => k.signingKeys.map((j) => j.kid).join(' '))).size, 1, 'every instance signs with the same keys');
});

t.test('a rotated key is published at once but signs only after the publication period', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const store = new KeyStore(database.db);
  const first = await loadKeys(store, 60_000);
  t.equal(first.signingKeys.length, 2, "a first start's keys sign at once: nothing else could");
  const { added } = await rotateKeys(store, 3600);
  const now = Date.now();
  const during = await loadKeys(store, 60_000, now);
  t.same(during.signingKeys.slice(0, 2).map((k) => k.kid).sort(), first.signingKeys.map((k) => k.kid).sort(), 'during the period the old keys still sign');
  t.same(during.signingKeys.slice(2).map((k) => k.kid).sort(), [...added].sort(), 'while the new ones are published');
  const after = await loadKeys(store, 60_000, now + 60_001);
  t.same(after.signingKeys.slice(0, 2).map((k) => k.kid).sort(), [...added].sort(), 'after it the new keys sign');
});
