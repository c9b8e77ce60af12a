import t from 'tap';
import { LAST_USED_GRANULARITY_MS } from '../../src/store/app-links.js';
import type { AuditEvent } from '../../src/store/audit-log.js';
import { OutboxMailer } from '../../src/portal/mailer.js';
import { portalFixture, T0 } from './fixtures.js';

const event = (i: number, over: Partial<AuditEvent> = {}): AuditEvent => ({
  at: T0 + i,
  clientId: 'app',
  grantId: i % 2 ? 'g-odd' : 'g-even',
  accountId: 'maria',
  patientId: i % 3 ? 'maria-garcia' : 'sofia-garcia',
  resourceType: 'Observation',
  interaction: 'search',
  resourceId: null,
  status: 200,
  ...over,
});

t.test('audit log: a batch of 1,200 events is written, then read newest first by patient and by grant', async (t) => {
  const { portal } = await portalFixture(t, { patients: false });
  await portal.auditLog.record(Array.from({ length: 1200 }, (_, i) => event(i)));
  await portal.auditLog.record([]);
  const sofia = await portal.auditLog.listForPatients(['sofia-garcia'], 5);
  t.same(sofia.map((e) => e.at - T0), [1197, 1194, 1191, 1188, 1185]);
  t.match(sofia[0], { clientId: 'app', grantId: 'g-odd', patientId: 'sofia-garcia', interaction: 'search', status: 200, resourceId: null });
  t.equal((await portal.auditLog.listForPatients(['sofia-garcia', 'maria-garcia'], 2000)).length, 1200);
  t.same((await portal.auditLog.listForGrant('g-even', 3)).map((e) => e.at - T0), [1198, 1196, 1194]);
  t.same(await portal.auditLog.listForPatients([], 10), []);
});

for (const file of [false, true]) {
t.test(`audit log: batches of every size come out whole: each event once, with every field as recorded (${file ? 'database file, write-behind thread' : 'private database'})`, async (t) => {
  const { portal } = await portalFixture(t, { patients: false, file });
  // 637 = 500 + 100 + 20 + 3x5 + 2x1: every fixed statement size is used; 1, 4 and 26 cover the small ones.
  let next = 0;
  for (const size of [637, 1, 4, 26]) {
    await portal.auditLog.record(Array.from({ length: size }, () => event(next++, { resourceId: `obs-${next}`, status: 200 + (next % 5) })));
  }
  const all = await portal.auditLog.listForPatients(['sofia-garcia', 'maria-garcia'], 5000);
  t.equal(all.length, next);
  t.same(all.map((e) => e.at - T0).reverse(), Array.from({ length: next }, (_, i) => i));
  for (const e of all) {
    const i = e.at - T0;
    t.match(e, { resourceId: `obs-${i + 1}`, status: 200 + ((i + 1) % 5), grantId: i % 2 ? 'g-odd' : 'g-even', patientId: i % 3 ? 'maria-garcia' : 'sofia-garcia' });
  }
});
}

t.test('app links: save, list for account and patients, scope update, revoke', async (t) => {
  const { portal } = await portalFixture(t, { patients: false });
  const base = { accountId: 'maria', clientId: 'app', proxyRelationId: null, scope: 'patient/*.rs', expiresAt: null };
  await portal.appLinks.save({ ...base, grantId: 'g1', patientId: 'maria-garcia', createdAt: T0 });
  await portal.appLinks.save({ ...base, grantId: 'g2', patientId: 'sofia-garcia', createdAt: T0 + 1, proxyRelationId: 'r1', expiresAt: T0 + 1000 });
  t.same((await portal.appLinks.listForAccount('maria')).map((l) => l.grantId), ['g2', 'g1']);
  t.same((await portal.appLinks.listForPatients(['sofia-garcia'])).map((l) => l.grantId), ['g2']);
  t.same((await portal.appLinks.findByProxyRelation('r1')).map((l) => l.grantId), ['g2']);
  t.ok(await portal.appLinks.updateScope('g1', 'patient/Immunization.rs'));
  t.equal((await portal.appLinks.find('g1'))?.scope, 'patient/Immunization.rs');
  t.ok(await portal.appLinks.revoke('g1', T0 + 5));
  t.notOk(await portal.appLinks.revoke('g1', T0 + 6), 'revoking twice changes nothing');
  t.same((await portal.appLinks.listForAccount('maria')).map((l) => l.grantId), ['g2']);
  t.same((await portal.appLinks.listForAccount('maria', { includeRevoked: true })).map((l) => l.grantId), ['g2', 'g1']);
  t.equal((await portal.appLinks.find('g1'))?.revokedAt, T0 + 5);
  t.same((await portal.appLinks.listLiveThroughProxies()).map((l) => l.grantId), ['g2']);
});

t.test('app links: markUsed writes at most once a minute per grant', async (t) => {
  const { portal, database } = await portalFixture(t, { patients: false });
  await portal.appLinks.save({ grantId: 'g1', accountId: 'maria', clientId: 'app', patientId: 'maria-garcia', proxyRelationId: null, scope: 's', createdAt: T0, expiresAt: null });
  await portal.appLinks.markUsed('g1', T0 + 10);
  t.equal((await portal.appLinks.find('g1'))?.lastUsedAt, T0 + 10);
  await portal.appLinks.markUsed('g1', T0 + 20);
  t.equal((await portal.appLinks.find('g1'))?.lastUsedAt, T0 + 10, 'within the minute: no write');
  // Another instance (its own store, no memory of ours) still skips a fresh row.
  const { AppLinkStore } = await import('../../src/store/app-links.js');
  await new AppLinkStore(database.db.kysely).markUsed('g1', T0 + 30);
  t.equal((await portal.appLinks.find('g1'))?.lastUsedAt, T0 + 10);
  await portal.appLinks.markUsed('g1', T0 + 10 + LAST_USED_GRANULARITY_MS);
  t.equal((await portal.appLinks.find('g1'))?.lastUsedAt, T0 + 10 + LAST_USED_GRANULARITY_MS);
  await portal.appLinks.markUsed('unknown-grant', T0);
});

t.test('a re-consent saves over the link of the same grant and keeps its last use', async (t) => {
  const { portal } = await portalFixture(t, { patients: false });
  const link = { grantId: 'g1', accountId: 'maria', clientId: 'app', patientId: 'maria-garcia', proxyRelationId: null, scope: 'a', createdAt: T0, expiresAt: null };
  await portal.appLinks.save(link);
  await portal.appLinks.markUsed('g1', T0 + 1);
  await portal.appLinks.save({ ...link, scope: 'b', expiresAt: T0 + 99 });
  t.match(await portal.appLinks.find('g1'), { scope: 'b', expiresAt: T0 + 99, lastUsedAt: T0 + 1 });
});

t.test('outbox mailer: messages are kept newest first for the sandbox mailbox', async (t) => {
  const { database, clock } = await portalFixture(t, { patients: false });
  const mailer = new OutboxMailer(database.db.kysely, undefined, clock);
  await mailer.send({ to: 'a@example.org', subject: 'one', text: 'first' });
  clock.advance(1);
  await mailer.send({ to: 'b@example.org', subject: 'two', text: 'second\nline' });
  const list = await mailer.list(10);
  t.match(list, [{ to: 'b@example.org', subject: 'two', body: 'second\nline', createdAt: T0 + 1 }, { to: 'a@example.org', subject: 'one' }]);
  t.equal((await mailer.list(1)).length, 1);
});
