import t from 'tap';
import { startTestApp } from '../helpers/app.js';
import { observation } from './fixtures.js';

t.test('errors are OperationOutcomes with the right status, never a 500 for bad input', async (t) => {
  const { server } = await startTestApp(t);
  const obs = observation({ id: 'e1', patient: 'p1', category: 'laboratory', code: '718-7', effective: '2024-01-01' });
  await server.inject({ method: 'PUT', url: '/fhir/Observation/e1', headers: { 'content-type': 'application/fhir+json' }, payload: obs });
  await server.inject({ method: 'PUT', url: '/fhir/Observation/gone', headers: { 'content-type': 'application/fhir+json' }, payload: { ...obs, id: 'gone' } });
  await server.inject({ method: 'DELETE', url: '/fhir/Observation/gone' });
  const call = async (method: string, url: string, payload?: string | object, headers: Record<string, string> = {}) => {
    const res = await server.inject({ method: method as 'GET', url, ...(payload !== undefined ? { payload } : {}), headers: { ...(payload !== undefined ? { 'content-type': 'application/fhir+json' } : {}), ...headers } });
    let body: { resourceType?: string; issue?: { expression?: string[]; diagnostics?: string }[] } = {};
    try {
      body = JSON.parse(res.body);
    } catch {
      // an empty body is checked by the caller
    }
    return { status: res.statusCode, body, raw: res.body };
  };
  const expectOutcome = async (status: number, what: string, r: Promise<Awaited<ReturnType<typeof call>>>, expression?: string) => {
    const res = await r;
    t.equal(res.status, status, what);
    t.equal(res.body.resourceType, 'OperationOutcome', `${what}: OperationOutcome`);
    if (expression) t.same(res.body.issue?.[0]?.expression, [expression], `${what}: names ${expression}`);
    t.notMatch(res.raw, /at .*\.(ts|js):\d+/, `${what}: no stack trace`);
  };
  await expectOutcome(404, 'unknown type', call('GET', '/fhir/Foo/1'));
  await expectOutcome(404, 'unknown id', call('GET', '/fhir/Observation/nope'));
  await expectOutcome(410, 'deleted', call('GET', '/fhir/Observation/gone'));
  await expectOutcome(400, 'bad date', call('GET', '/fhir/Observation?date=2020-13-01'), 'date');
  await expectOutcome(400, 'bad _count', call('GET', '/fhir/Observation?_count=-1'), '_count');
  await expectOutcome(400, 'empty token', call('GET', '/fhir/Observation?code=|'), 'code');
  await expectOutcome(400, 'bad reference', call('GET', '/fhir/Observation?patient=a%20b'), 'patient');
  await expectOutcome(400, 'body not JSON', call('POST', '/fhir/Observation', '{nope'));
  await expectOutcome(400, 'wrong resourceType', call('POST', '/fhir/Observation', { resourceType: 'Patient' }), 'resourceType');
  await expectOutcome(400, 'id mismatch', call('PUT', '/fhir/Observation/e1', { ...obs, id: 'other' }), 'Observation.id');
  await expectOutcome(422, 'missing status', call('POST', '/fhir/Observation', { ...obs, status: undefined }), 'Observation.status');
  await expectOutcome(422, 'bad reference in body', call('POST', '/fhir/Observation', { ...obs, subject: { reference: 'not a ref' } }), 'Observation.subject.reference');
  await expectOutcome(422, 'bad date in body', call('POST', '/fhir/Observation', { ...obs, effectiveDateTime: '2024-02-30' }), 'Observation.effectiveDateTime');
  await expectOutcome(422, 'bad code in body', call('POST', '/fhir/Observation', { ...obs, code: { coding: [{ system: 'http://loinc.org', code: ' 718-7' }] } }), 'Observation.code.coding[0].code');
  const count = JSON.parse((await server.inject({ url: '/fhir/Observation' })).body) as { total: number };
  t.equal(count.total, 1, 'nothing invalid was written');
  await expectOutcome(415, 'text/plain body', call('POST', '/fhir/Observation', 'x', { 'content-type': 'text/plain' }));
  await expectOutcome(415, 'XML body', call('POST', '/fhir/Observation', '<Observation/>', { 'content-type': 'application/fhir+xml' }));
  await expectOutcome(415, 'a FHIR version we do not speak', call('POST', '/fhir/Observation', obs, { 'content-type': 'application/fhir+json; fhirVersion=3.0' }));
  await expectOutcome(406, '_format=xml', call('GET', '/fhir/Observation/e1?_format=xml'));
  await expectOutcome(406, 'Accept XML', call('GET', '/fhir/Observation/e1', undefined, { accept: 'application/fhir+xml' }));
  await expectOutcome(405, 'PATCH', call('PATCH', '/fhir/Observation/e1', {}));
  t.equal((await call('GET', '/fhir/Observation/e1?_format=json')).status, 200);
  t.equal((await call('GET', '/fhir/Observation/e1', undefined, { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' })).status, 200, 'a browser Accept header');
  const weird = ['/fhir/Observation?_count=99999999999999999999', '/fhir/Observation?date=ge', '/fhir/Observation?patient=', '/fhir/Observation?code=%zz', '/fhir/Patient?name=%F0%9F%92%A9', `/fhir/Patient?name=${'x'.repeat(5000)}`, '/fhir/Observation?_sort=', '/fhir/Observation?_cursor=garbage', '/fhir/Observation/..%2F..%2Fetc', '/fhir/Observation?date=ge2020-01-01T25:00:00Z'];
  for (const url of weird) {
    const res = await call('GET', url);
    t.ok(res.status < 500, `${url.slice(0, 60)} → ${res.status}`);
    if (res.status >= 400) t.equal(res.body.resourceType, 'OperationOutcome');
  }
  const bodies = ['[]', '{"resourceType":"Observation","status":[["final"]]}', '{"resourceType":"Observation","status":"final","code":{},"subject":null}', '"str"', 'null'];
  for (const b of bodies) {
    const res = await call('POST', '/fhir/Observation', b);
    t.ok(res.status >= 400 && res.status < 500, `body ${b.slice(0, 40)} → ${res.status}`);
  }
});
