// When an app's access ends by itself: the chosen duration, the proxy's end date, the 18th birthday, and a child's
// 13th birthday for grants reaching types a parent may not see in a teenager's record.
import t from 'tap';
import { linkAccessEndsAt } from '../../src/portal/access-end.js';
import { DAY, portalFixture, T0 } from './fixtures.js';

const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);

t.test('access end of an app link', async (t) => {
  const f = await portalFixture(t);
  const { portal } = f;
  const maria = await portal.accounts.create({ username: 'maria', password: 'purple-otter-singing-42', displayName: 'Maria', fhirUser: 'Patient/maria-garcia', patientId: 'maria-garcia', role: 'patient' });
  if (!maria.ok) throw new Error('account');
  const linkOf = (over: Record<string, unknown>) => ({
    grantId: 'g',
    accountId: maria.account.id,
    clientId: 'app',
    patientId: 'maria-garcia',
    proxyRelationId: null,
    scope: 'launch/patient patient/*.rs',
    createdAt: T0,
    expiresAt: null,
    lastUsedAt: null,
    revokedAt: null,
    ...over,
  });

  t.test('an own-record link without a duration never ends by itself; with one it ends then', async (t) => {
    t.equal(await linkAccessEndsAt(portal, linkOf({}), T0), undefined);
    t.equal(await linkAccessEndsAt(portal, linkOf({ expiresAt: T0 + 30 * DAY }), T0), T0 + 30 * DAY);
  });

  t.test("a legal authorization ends on its end date, or earlier when the patient's chosen duration is shorter", async (t) => {
    const r = await portal.proxies.grant({ holderUsername: 'maria', patientId: 'harold-jensen', relationship: 'legal-authorization', from: T0 - DAY, until: T0 + 10 * DAY });
    t.equal(await linkAccessEndsAt(portal, linkOf({ patientId: 'harold-jensen', proxyRelationId: r.id }), T0), T0 + 10 * DAY);
    t.equal(await linkAccessEndsAt(portal, linkOf({ patientId: 'harold-jensen', proxyRelationId: r.id, expiresAt: T0 + 3 * DAY }), T0), T0 + 3 * DAY);
    t.equal(await linkAccessEndsAt(portal, linkOf({ patientId: 'harold-jensen', proxyRelationId: r.id }), T0 + 11 * DAY), T0 + 11 * DAY, 'after the end: ended now');
  });

  t.test("a child's grant that reaches labs ends on the 13th birthday; one within the teen types runs to 18", async (t) => {
    const r = await portal.proxies.grant({ holderUsername: 'maria', patientId: 'sofia-garcia', relationship: 'parent', from: T0 - DAY });
    // Sofia was born 2018-06-22.
    t.equal(await linkAccessEndsAt(portal, linkOf({ patientId: 'sofia-garcia', proxyRelationId: r.id }), T0), day('2031-06-22'));
    t.equal(await linkAccessEndsAt(portal, linkOf({ patientId: 'sofia-garcia', proxyRelationId: r.id, scope: 'patient/Immunization.rs patient/Patient.rs' }), T0), day('2036-06-22'));
    const shared = 'patient/Immunization.rs patient/Coverage.rs patient/Practitioner.rs patient/Medication.rs';
    t.equal(await linkAccessEndsAt(portal, linkOf({ patientId: 'sofia-garcia', proxyRelationId: r.id, scope: shared }), T0), day('2036-06-22'), 'coverage and shared types (doctors, medicines) stay within what a teen allows');
    t.equal(await linkAccessEndsAt(portal, linkOf({ patientId: 'sofia-garcia', proxyRelationId: r.id, scope: 'patient/Immunization.rs patient/Condition.rs' }), T0), day('2031-06-22'), 'a condition does not');
  });

  t.test('a revoked relation ends access at once', async (t) => {
    const r = await portal.proxies.grant({ holderUsername: 'maria', patientId: 'mateo-garcia', relationship: 'parent', from: T0 - DAY });
    await portal.proxies.revoke(r.id);
    t.equal(await linkAccessEndsAt(portal, linkOf({ patientId: 'mateo-garcia', proxyRelationId: r.id }), T0), T0);
  });
});
