import t from 'tap';
import type { Test } from 'tap';
import { ProxyError } from '../../src/portal/proxy-service.js';
import { TEEN_PROXY_TYPES } from '../../src/portal/proxy-policy.js';
import { DAY, portalFixture, T0 } from './fixtures.js';

const PASSWORD = 'purple-otter-singing-42';
const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);

async function setup(t: Test) {
  const f = await portalFixture(t);
  const mk = async (username: string, patientId: string | null, role: 'patient' | 'clinician' = 'patient') => {
    const r = await f.portal.accounts.create({ username, password: PASSWORD, displayName: username, fhirUser: patientId ? `Patient/${patientId}` : 'Practitioner/dr-lee', patientId, role });
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    return r.account;
  };
  const accounts = { maria: await mk('maria', 'maria-garcia'), linda: await mk('linda', 'linda-kowalski'), lee: await mk('dr-lee', null, 'clinician') };
  return { ...f, accounts };
}

const link = (grantId: string, accountId: string, patientId: string, proxyRelationId: string | null) => ({
  grantId,
  accountId,
  clientId: 'growth-chart',
  patientId,
  proxyRelationId,
  scope: 'launch/patient patient/*.rs',
  createdAt: T0,
  expiresAt: null,
});

t.test('grant records a parent relation for a minor and list shows what it allows today', async (t) => {
  const { portal } = await setup(t);
  const r = await portal.proxies.grant({ holderUsername: 'Maria', patientId: 'sofia-garcia', relationship: 'parent', from: day('2026-01-01') });
  t.match(r, { patientId: 'sofia-garcia', relationship: 'parent', startsAt: day('2026-01-01'), endsAt: null, revokedAt: null });
  const list = await portal.proxies.listForHolder('maria');
  t.equal(list.length, 1);
  t.match(list[0], { patientName: 'Sofia Isabel Garcia', access: { active: true, reason: 'child', allowedTypes: 'all' } });
});

t.test('grant refuses what the rule does not allow, with a message saying why', async (t) => {
  const { portal } = await setup(t);
  const refuse = async (label: string, input: Parameters<typeof portal.proxies.grant>[0], pattern: RegExp) => {
    await t.rejects(portal.proxies.grant(input), ProxyError, label);
    await portal.proxies.grant(input).catch((e: Error) => t.match(e.message, pattern, label));
  };
  await refuse('parent of an adult', { holderUsername: 'linda', patientId: 'harold-jensen', relationship: 'parent', from: T0 }, /legal-authorization/);
  await refuse('legal authorization for a minor', { holderUsername: 'maria', patientId: 'mateo-garcia', relationship: 'legal-authorization', from: T0 }, /parent/);
  await refuse('unknown holder', { holderUsername: 'nobody', patientId: 'sofia-garcia', relationship: 'parent', from: T0 }, /no account "nobody"/);
  await refuse('unknown patient', { holderUsername: 'maria', patientId: 'nobody', relationship: 'parent', from: T0 }, /no Patient\/nobody/);
  await refuse('own record', { holderUsername: 'maria', patientId: 'maria-garcia', relationship: 'legal-authorization', from: T0 }, /own account/);
  await refuse('end before start', { holderUsername: 'linda', patientId: 'harold-jensen', relationship: 'legal-authorization', from: T0, until: T0 - 1 }, /after the start/);
  await refuse('bad relationship', { holderUsername: 'maria', patientId: 'sofia-garcia', relationship: 'aunt' as never, from: T0 }, /one of/);
  await portal.proxies.grant({ holderUsername: 'maria', patientId: 'sofia-garcia', relationship: 'parent', from: T0 });
  await refuse('a second live relation to the same record', { holderUsername: 'maria', patientId: 'sofia-garcia', relationship: 'guardian', from: T0 }, /already has/);
});

t.test('patientsFor: own record first, then active proxies with relationship and allowed types', async (t) => {
  const { portal, accounts, clock } = await setup(t);
  const sofia = await portal.proxies.grant({ holderUsername: 'maria', patientId: 'sofia-garcia', relationship: 'parent', from: day('2026-01-01') });
  clock.advance(1); // relations list in the order they were recorded
  const mateo = await portal.proxies.grant({ holderUsername: 'maria', patientId: 'mateo-garcia', relationship: 'parent', from: day('2026-01-01') });
  const list = await portal.directory.patientsFor(accounts.maria.id);
  t.same(list, [
    { id: 'maria-garcia', name: 'Maria Elena Garcia', relationship: 'self', allowedTypes: 'all' },
    { id: 'sofia-garcia', name: 'Sofia Isabel Garcia', relationship: 'child', allowedTypes: 'all', proxyRelationId: sofia.id, endsAt: day('2036-06-22') },
    { id: 'mateo-garcia', name: 'Mateo Luis Garcia', relationship: 'teen', allowedTypes: TEEN_PROXY_TYPES, proxyRelationId: mateo.id, endsAt: day('2029-04-09') },
  ]);
  t.same(await portal.directory.userPatients(accounts.maria.id), ['maria-garcia', 'sofia-garcia', 'mateo-garcia']);
  t.match(await portal.directory.accessTo(accounts.maria.id, 'mateo-garcia'), { relationship: 'teen', allowedTypes: TEEN_PROXY_TYPES });
  t.equal(await portal.directory.accessTo(accounts.maria.id, 'daniel-kim'), undefined);
  // On Mateo's 18th birthday his record drops out of his mother's list.
  const later = await portal.directory.patientsFor(accounts.maria.id, day('2029-04-09'));
  t.same(later.map((p) => p.id), ['maria-garcia', 'sofia-garcia']);
});

t.test('an adult proxy under legal authorization is listed as adult-proxy with full access, until its end date', async (t) => {
  const { portal, accounts } = await setup(t);
  const r = await portal.proxies.grant({ holderUsername: 'linda', patientId: 'harold-jensen', relationship: 'legal-authorization', from: day('2026-01-01'), until: day('2027-01-01'), note: 'POA' });
  t.match(await portal.directory.patientsFor(accounts.linda.id), [{ relationship: 'self' }, { id: 'harold-jensen', relationship: 'adult-proxy', allowedTypes: 'all', proxyRelationId: r.id, endsAt: day('2027-01-01') }]);
  t.same((await portal.directory.patientsFor(accounts.linda.id, day('2027-01-01'))).map((p) => p.id), ['linda-kowalski']);
});

t.test('a revoked relation gives no access', async (t) => {
  const { portal, accounts } = await setup(t);
  const r = await portal.proxies.grant({ holderUsername: 'maria', patientId: 'sofia-garcia', relationship: 'parent', from: T0 - DAY });
  t.same(await portal.proxies.revoke(r.id), { revoked: true, grantIds: [] });
  t.same(await portal.proxies.revoke(r.id), { revoked: false, grantIds: [] }, 'revoking twice changes nothing');
  t.same(await portal.directory.userPatients(accounts.maria.id), ['maria-garcia']);
  t.match((await portal.proxies.listForHolder('maria'))[0], { access: { active: false, reason: 'revoked' } });
});

t.test('revoke returns the live app grants made through the relation', async (t) => {
  const { portal, accounts } = await setup(t);
  const r = await portal.proxies.grant({ holderUsername: 'maria', patientId: 'sofia-garcia', relationship: 'parent', from: T0 - DAY });
  await portal.appLinks.save(link('g1', accounts.maria.id, 'sofia-garcia', r.id));
  await portal.appLinks.save(link('g2', accounts.maria.id, 'sofia-garcia', r.id));
  await portal.appLinks.revoke('g2', T0);
  t.same((await portal.proxies.revoke(r.id)).grantIds, ['g1']);
});

t.test('expireDue revokes the grants of ended, revoked and aged-out relations, once, and leaves the rest', async (t) => {
  const { portal, accounts, clock } = await setup(t);
  const sofia = await portal.proxies.grant({ holderUsername: 'maria', patientId: 'sofia-garcia', relationship: 'parent', from: T0 - DAY });
  const mateo = await portal.proxies.grant({ holderUsername: 'maria', patientId: 'mateo-garcia', relationship: 'parent', from: T0 - DAY });
  const harold = await portal.proxies.grant({ holderUsername: 'linda', patientId: 'harold-jensen', relationship: 'legal-authorization', from: T0 - DAY, until: T0 + 30 * DAY });
  await portal.appLinks.save(link('sofia-app', accounts.maria.id, 'sofia-garcia', sofia.id));
  await portal.appLinks.save(link('mateo-app', accounts.maria.id, 'mateo-garcia', mateo.id));
  await portal.appLinks.save(link('harold-app', accounts.linda.id, 'harold-jensen', harold.id));
  await portal.appLinks.save(link('own-app', accounts.maria.id, 'maria-garcia', null));

  const revoked: string[] = [];
  const revokeGrant = async (g: string) => {
    revoked.push(g);
  };
  t.same(await portal.proxies.expireDue(clock(), revokeGrant), { ended: [], revokedGrants: [], failed: [] }, 'nothing due today');

  await portal.proxies.revoke(sofia.id);
  const r1 = await portal.proxies.expireDue(clock(), revokeGrant);
  t.same(r1, { ended: [{ relationId: sofia.id, reason: 'revoked' }], revokedGrants: ['sofia-app'], failed: [] }, 'revoked relation');
  t.same(await portal.proxies.expireDue(clock(), revokeGrant), { ended: [], revokedGrants: [], failed: [] }, 'handled once');

  const r2 = await portal.proxies.expireDue(T0 + 30 * DAY, revokeGrant);
  t.same(r2.revokedGrants, ['harold-app'], 'legal authorization reached its end date');
  t.same(r2.ended, [{ relationId: harold.id, reason: 'ended' }]);

  const r3 = await portal.proxies.expireDue(day('2029-04-09'), revokeGrant);
  t.same(r3.revokedGrants, ['mateo-app'], 'Mateo turned 18');
  t.same(r3.ended, [{ relationId: mateo.id, reason: 'turned-18' }]);

  t.same(revoked, ['sofia-app', 'harold-app', 'mateo-app']);
  t.equal((await portal.appLinks.find('own-app'))?.revokedAt, null, 'links to the own record are never touched');
  t.equal((await portal.appLinks.find('mateo-app'))?.revokedAt, day('2029-04-09'));
});

t.test('expireDue keeps a grant whose revocation failed and retries it next time', async (t) => {
  const { portal, accounts } = await setup(t);
  const sofia = await portal.proxies.grant({ holderUsername: 'maria', patientId: 'sofia-garcia', relationship: 'parent', from: T0 - DAY });
  await portal.appLinks.save(link('sofia-app', accounts.maria.id, 'sofia-garcia', sofia.id));
  await portal.proxies.revoke(sofia.id);
  const r1 = await portal.proxies.expireDue(T0, async () => {
    throw new Error('authorization server unavailable');
  });
  t.same(r1.failed, [{ grantId: 'sofia-app', error: 'authorization server unavailable' }]);
  t.same(r1.revokedGrants, []);
  const r2 = await portal.proxies.expireDue(T0, async () => {});
  t.same(r2.revokedGrants, ['sofia-app']);
});

t.test('the directory: findAccount for the ID token, clinicians reach every patient, unknown accounts none', async (t) => {
  const { portal, accounts } = await setup(t);
  t.same(await portal.directory.findAccount(accounts.maria.id), {
    accountId: accounts.maria.id,
    fhirUser: 'Patient/maria-garcia',
    name: 'maria',
    username: 'maria',
    role: 'patient',
    patientId: 'maria-garcia',
    email: null,
  });
  t.equal(await portal.directory.findAccount('nobody'), undefined);
  t.equal(await portal.directory.userPatients(accounts.lee.id), undefined);
  t.same(await portal.directory.patientsFor(accounts.lee.id), []);
  t.same(await portal.directory.userPatients('nobody'), []);
  t.same(await portal.directory.userPatients(undefined), []);
  const auth = await portal.directory.authenticate('maria', PASSWORD);
  t.ok(auth.ok);
});
