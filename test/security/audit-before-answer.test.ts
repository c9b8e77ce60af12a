// The audit promise (src/fhir/audit.ts): a FHIR answer leaves the server only once its audit event is written, so
// the event is there the moment the client has the answer, on every path of the read (answered at once, or after a
// promise as with user/ scopes and on PostgreSQL). An event that cannot be written withholds the answer: the client
// gets a 503 OperationOutcome, and the event is kept and written later with that 503.
import t from 'tap';
import { sql } from 'kysely';
import { backendToken } from '../helpers/bulk-client.js';
import { authorize, oidcConfig, registerClient, startSmartServer } from '../helpers/smart-server.js';

const APP = { client_name: 'Audit App', redirect_uris: ['http://127.0.0.1:9/callback'], token_endpoint_auth_method: 'none', scope: 'openid fhirUser user/*.rs' };

t.test('audit events are written before the answer', async (t) => {
  const server = await startSmartServer(t);
  const k = server.database.db.kysely;
  const client = await registerClient(server, APP);
  const config = await oidcConfig(server, client.client_id);
  const user = (await authorize(server, config, { scope: 'openid fhirUser user/*.rs' }, { username: 'maria', password: 'smart-demo' })).tokens.access_token;
  const system = await backendToken(server.issuer);
  const events = async (resourceId: string) =>
    k.selectFrom('audit_events').select(['client_id', 'interaction', 'status']).where('resource_id', '=', resourceId).orderBy('id').execute();
  const get = (path: string, token: string) => fetch(`${server.fhirBase}${path}`, { headers: { authorization: `Bearer ${token}` } });

  t.test('a read answered after a promise (user/ scope) is sent once, and its event is already there', async (t) => {
    for (let i = 0; i < 3; i++) {
      const res = await get('/Patient/sofia-garcia', user);
      t.equal(res.status, 200, `read ${i + 1}`);
      t.equal(((await res.json()) as { id: string }).id, 'sofia-garcia');
    }
    t.same(await events('sofia-garcia'), Array(3).fill({ client_id: client.client_id, interaction: 'read', status: 200 }), 'three reads, three events, each in place when its answer arrived');
  });

  t.test('reads, 404s and searches with a backend token have their events when answered', async (t) => {
    t.equal((await get('/Patient/maria-garcia', system)).status, 200);
    t.same(await events('maria-garcia'), [{ client_id: 'demo-backend', interaction: 'read', status: 200 }]);
    t.equal((await get('/Patient/nobody-here', system)).status, 404);
    t.same(await events('nobody-here'), [{ client_id: 'demo-backend', interaction: 'read', status: 404 }]);
    const before = Number((await k.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).where('interaction', '=', 'search').executeTakeFirstOrThrow()).n);
    t.equal((await get('/Observation?patient=maria-garcia', system)).status, 200);
    const after = Number((await k.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).where('interaction', '=', 'search').executeTakeFirstOrThrow()).n);
    t.equal(after, before + 1, 'the search event is in place');
  });

  t.test('an event that cannot be written turns the answer into a 503, and is written later with that status', async (t) => {
    const table = server.database.db.dialect === 'sqlite' ? 'audit.audit_events' : 'audit_events';
    await sql.raw(`alter table ${table} rename to audit_events_away`).execute(k);
    let renamed = true;
    t.teardown(async () => {
      if (renamed) await sql.raw(`alter table ${table.replace('audit_events', 'audit_events_away')} rename to audit_events`).execute(k);
    });
    const res = await get('/Patient/daniel-kim', system);
    t.equal(res.status, 503, 'the answer is withheld');
    t.equal(res.headers.get('retry-after'), '1');
    t.equal(res.headers.get('etag'), null, 'nothing of the withheld answer leaks in its headers');
    const body = (await res.json()) as { resourceType: string; issue: { code: string; diagnostics: string }[] };
    t.equal(body.resourceType, 'OperationOutcome');
    t.match(body.issue[0]!.diagnostics, /audit trail could not be written/);
    await sql.raw(`alter table ${table.replace('audit_events', 'audit_events_away')} rename to audit_events`).execute(k);
    renamed = false;
    for (let i = 0; i < 50 && !(await events('daniel-kim')).length; i++) await new Promise((r) => setTimeout(r, 100));
    t.same(await events('daniel-kim'), [{ client_id: 'demo-backend', interaction: 'read', status: 503 }], 'kept and written once the table is back, with the 503 the client got');
    const again = await get('/Patient/daniel-kim', system);
    t.equal(again.status, 200, 'answers flow again');
    t.equal((await events('daniel-kim')).length, 2);
  });
});
