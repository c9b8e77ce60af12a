import t from 'tap';
import { DEMO_PASSWORD, seedDemoAccounts } from '../../src/portal/demo-seed.js';
import { TEEN_PROXY_TYPES } from '../../src/portal/proxy-policy.js';
import { portalFixture } from './fixtures.js';

const seed = (f: Awaited<ReturnType<typeof portalFixture>>) => seedDemoAccounts({ k: f.database.db.kysely, accounts: f.portal.accounts, patients: f.portal.patients, now: f.clock });

t.test('the demo seed creates the demo accounts and relations, all signing in with smart-demo', async (t) => {
  const f = await portalFixture(t);
  const report = await seed(f);
  t.same(report.accountsCreated, ['maria', 'daniel', 'mateo', 'linda', 'dr-lee']);
  t.same(report.relationsCreated, ['demo-maria-sofia', 'demo-maria-mateo', 'demo-linda-harold']);
  t.same(report.skipped, []);
  for (const u of report.accountsCreated) t.ok((await f.portal.accounts.authenticate(u, DEMO_PASSWORD)).ok, `${u} signs in`);
  t.match(await f.portal.directory.findAccount('maria'), { fhirUser: 'Patient/maria-garcia', email: 'maria@example.org', role: 'patient' });
  t.match(await f.portal.directory.findAccount('dr-lee'), { fhirUser: 'Practitioner/dr-lee', role: 'clinician' });
  t.same(
    (await f.portal.directory.patientsFor('maria')).map((p) => [p.id, p.relationship, p.allowedTypes]),
    [['maria-garcia', 'self', 'all'], ['sofia-garcia', 'child', 'all'], ['mateo-garcia', 'teen', TEEN_PROXY_TYPES]],
  );
  t.same((await f.portal.directory.patientsFor('linda')).map((p) => [p.id, p.relationship]), [['linda-kowalski', 'self'], ['harold-jensen', 'adult-proxy']]);
  t.same(await f.portal.directory.userPatients('mateo'), ['mateo-garcia']);
  t.equal(await f.portal.directory.userPatients('dr-lee'), undefined);
});

t.test('running the seed again adds nothing and keeps a changed password', async (t) => {
  const f = await portalFixture(t);
  await seed(f);
  const maria = (await f.portal.accounts.findById('maria'))!;
  await f.portal.accounts.store.setPassword('maria', await f.portal.accounts.hash('my-own-new-passphrase'), f.clock());
  const again = await seed(f);
  t.same(again, { accountsCreated: [], relationsCreated: [], skipped: [] });
  t.ok((await f.portal.accounts.authenticate('maria', 'my-own-new-passphrase')).ok);
  t.notOk((await f.portal.accounts.authenticate('maria', DEMO_PASSWORD)).ok);
  const counts = await Promise.all((['accounts', 'proxy_relations'] as const).map(async (table) => Number((await f.database.db.kysely.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)));
  t.same(counts, [5, 3]);
  t.equal(maria.id, 'maria', 'demo account ids equal usernames, as before');
});

t.test('a demo relation an operator revoked stays revoked after a restart', async (t) => {
  const f = await portalFixture(t);
  await seed(f);
  await f.portal.proxies.revoke('demo-maria-sofia');
  await seed(f);
  t.same((await f.portal.directory.patientsFor('maria')).map((p) => p.id), ['maria-garcia', 'mateo-garcia']);
});

t.test('two starts seeding at the same time do not duplicate anything', async (t) => {
  const f = await portalFixture(t);
  await Promise.all([seed(f), seed(f)]);
  const n = Number((await f.database.db.kysely.selectFrom('accounts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  t.equal(n, 5);
});

t.test('without seed patients only the clinician is created, and a later start adds the rest', async (t) => {
  const f = await portalFixture(t, { patients: false });
  const first = await seed(f);
  t.same(first.accountsCreated, ['dr-lee']);
  t.ok(first.skipped.includes('maria'));
  const { seedPatients } = await import('./fixtures.js');
  for (const p of seedPatients()) await f.putPatient(p);
  const second = await seed(f);
  t.same(second.accountsCreated, ['maria', 'daniel', 'mateo', 'linda']);
  t.equal(second.relationsCreated.length, 3);
});
