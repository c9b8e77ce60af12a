import t from 'tap';
import { startTestApp } from '../helpers/app.js';
import { observation } from './fixtures.js';

const JSON_TYPE = { 'content-type': 'application/fhir+json' };
const OBS = observation({ id: 'x', patient: 'p1', category: 'laboratory', code: '718-7', effective: '2024-01-01' });

t.test('create, read, update, version history and soft delete', async (t) => {
  const { server } = await startTestApp(t);
  const created = await server.inject({ method: 'POST', url: '/fhir/Observation', headers: JSON_TYPE, payload: { ...OBS, id: 'client-chosen' } });
  t.equal(created.statusCode, 201);
  const body = JSON.parse(created.body) as { id: string; meta: { versionId: string; lastUpdated: string } };
  t.not(body.id, 'client-chosen', 'the server assigns the id on create');
  t.equal(created.headers.location, `http://localhost:8080/fhir/Observation/${body.id}/_history/1`);
  t.equal(created.headers.etag, 'W/"1"');
  t.ok(created.headers['last-modified']);
  t.equal(body.meta.versionId, '1');

  const read = await server.inject({ url: `/fhir/Observation/${body.id}` });
  t.equal(read.statusCode, 200);
  t.equal(read.headers['content-type'], 'application/fhir+json; fhirVersion=4.0; charset=utf-8');
  t.equal((await server.inject({ url: `/fhir/Observation/${body.id}`, headers: { 'if-none-match': 'W/"1"' } })).statusCode, 304);

  const put = (id: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    server.inject({ method: 'PUT', url: `/fhir/Observation/${id}`, headers: { ...JSON_TYPE, ...headers }, payload: { ...OBS, id, ...extra } });
  t.equal((await put('mine')).statusCode, 201, 'PUT with a new client id creates');
  const v2 = await put('mine', { status: 'amended' });
  t.equal(v2.statusCode, 200);
  t.equal(v2.headers.etag, 'W/"2"');
  t.equal((await put('mine', { status: 'corrected' }, { 'if-match': 'W/"2"' })).statusCode, 200, 'If-Match on the current version');
  const stale = await put('mine', {}, { 'if-match': 'W/"2"' });
  t.equal(stale.statusCode, 412, 'If-Match on an old version');
  t.equal((await put('nope', {}, { 'if-match': 'W/"1"' })).statusCode, 412, 'If-Match on a missing resource');
  t.equal(JSON.parse((await server.inject({ url: '/fhir/Observation/mine/_history/1' })).body).status, 'final', 'vread of version 1');
  t.equal(JSON.parse((await server.inject({ url: '/fhir/Observation/mine/_history/2' })).body).status, 'amended');
  t.equal((await server.inject({ url: '/fhir/Observation/mine/_history/9' })).statusCode, 404);

  t.equal((await server.inject({ method: 'DELETE', url: '/fhir/Observation/mine' })).statusCode, 204);
  t.equal((await server.inject({ url: '/fhir/Observation/mine' })).statusCode, 410, 'a deleted resource is Gone');
  t.equal((await server.inject({ url: '/fhir/Observation/mine/_history/3' })).statusCode, 200, 'older versions stay readable');
  t.equal((await server.inject({ method: 'DELETE', url: '/fhir/Observation/never' })).statusCode, 404);
  const search = JSON.parse((await server.inject({ url: '/fhir/Observation?_id=mine' })).body) as { total: number };
  t.equal(search.total, 0, 'search does not find deleted resources');
  const history = JSON.parse((await server.inject({ url: '/fhir/Observation/mine/_history?_count=2' })).body) as { type: string; total: number; entry: { request: { method: string } }[]; link: { relation: string; url: string }[] };
  t.equal(history.type, 'history');
  t.equal(history.total, 4);
  t.same(history.entry.map((e) => e.request.method), ['DELETE', 'PUT'], 'newest first');
  const next = history.link.find((l) => l.relation === 'next')!.url.replace('http://localhost:8080', '');
  const older = JSON.parse((await server.inject({ url: next })).body) as { entry: { request: { method: string } }[] };
  t.same(older.entry.map((e) => e.request.method), ['PUT', 'POST']);
  t.equal((await put('mine')).statusCode, 201, 'a deleted resource can be created again');

  const minimal = await server.inject({ method: 'PUT', url: '/fhir/Observation/mine', headers: { ...JSON_TYPE, prefer: 'return=minimal' }, payload: { ...OBS, id: 'mine' } });
  t.equal(minimal.statusCode, 200);
  t.equal(minimal.body, '');
  const oo = await server.inject({ method: 'PUT', url: '/fhir/Observation/mine', headers: { ...JSON_TYPE, prefer: 'return=OperationOutcome' }, payload: { ...OBS, id: 'mine' } });
  t.equal(JSON.parse(oo.body).resourceType, 'OperationOutcome');
});

t.test('concurrent updates: no lost versions, and If-Match lets exactly one writer win', async (t) => {
  const { server } = await startTestApp(t);
  const put = (headers: Record<string, string> = {}, status = 'final') =>
    server.inject({ method: 'PUT', url: '/fhir/Observation/race', headers: { ...JSON_TYPE, ...headers }, payload: { ...OBS, id: 'race', status } });
  const results = await Promise.all(Array.from({ length: 20 }, () => put()));
  t.ok(results.every((r) => r.statusCode === 200 || r.statusCode === 201), 'all 20 writes succeed');
  t.same(results.map((r) => Number(r.headers.etag!.toString().replace(/\D/g, ''))).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1), 'versions 1..20, no gaps or duplicates');
  const contenders = await Promise.all(Array.from({ length: 10 }, () => put({ 'if-match': 'W/"20"' }, 'amended')));
  t.same(contenders.map((r) => r.statusCode).sort(), [200, ...Array(9).fill(412)], 'one 200, nine 412');
});
