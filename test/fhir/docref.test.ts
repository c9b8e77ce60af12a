// DocumentReference/$docref (US Core 6.1.0, SHALL): the patient's stored documents, filtered by type and by the
// time of service, newest first; the same answer by GET and by POST with Parameters; bad input is a 400 naming it.
import t from 'tap';
import { startTestApp } from '../helpers/app.js';

const LOINC = 'http://loinc.org';
const doc = (id: string, patient: string, type: string, start: string, end: string, date: string) => ({
  resourceType: 'DocumentReference',
  id,
  status: 'current',
  subject: { reference: `Patient/${patient}` },
  type: { coding: [{ system: LOINC, code: type }] },
  date,
  content: [{ attachment: { contentType: 'text/plain', data: Buffer.from(`note ${id}`).toString('base64') } }],
  context: { period: { start, end } },
});

t.test('DocumentReference/$docref', async (t) => {
  const app = await startTestApp(t);
  for (const d of [
    doc('ccd-old', 'p1', '34133-9', '2022-01-10T09:00:00Z', '2022-01-10T10:00:00Z', '2022-01-10T10:05:00Z'),
    doc('ccd-new', 'p1', '34133-9', '2024-03-02T09:00:00Z', '2024-03-02T10:00:00Z', '2024-03-02T10:05:00Z'),
    doc('note-1', 'p1', '11506-3', '2023-06-15T14:00:00Z', '2023-06-15T14:30:00Z', '2023-06-15T15:00:00Z'),
    doc('other', 'p2', '34133-9', '2024-03-02T09:00:00Z', '2024-03-02T10:00:00Z', '2024-03-02T10:05:00Z'),
  ]) await app.fhir.update('DocumentReference', d.id, d);
  const get = async (query: string) => {
    const res = await app.server.inject({ url: `/fhir/DocumentReference/$docref${query}` });
    const body = JSON.parse(res.body) as { resourceType: string; type?: string; entry?: { resource: { id: string } }[]; issue?: { expression?: string[] }[] };
    return { status: res.statusCode, body, ids: (body.entry ?? []).map((e) => e.resource.id) };
  };

  const all = await get('?patient=p1');
  t.equal(all.status, 200);
  t.equal(all.body.type, 'searchset');
  t.same(all.ids, ['ccd-new', 'note-1', 'ccd-old'], "every document of the patient, newest first, none of another patient's");
  t.same((await get(`?patient=p1&type=${encodeURIComponent(`${LOINC}|34133-9`)}`)).ids, ['ccd-new', 'ccd-old'], 'type narrows to CCDs');
  t.same((await get('?patient=p1&start=2023-01-01')).ids, ['ccd-new', 'note-1'], 'from start on');
  t.same((await get('?patient=p1&end=2023-12-31')).ids, ['note-1', 'ccd-old'], 'up to end');
  t.same((await get('?patient=p1&start=2023-01-01&end=2023-12-31&on-demand=true')).ids, ['note-1'], 'both ends; on-demand asks for nothing new');
  t.same((await get('?patient=p2')).ids, ['other']);

  const post = await app.server.inject({
    method: 'POST',
    url: '/fhir/DocumentReference/$docref',
    headers: { 'content-type': 'application/fhir+json' },
    payload: JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'patient', valueId: 'p1' }, { name: 'start', valueDate: '2023-01-01' }] }),
  });
  t.same(JSON.parse(post.body).entry.map((e: { resource: { id: string } }) => e.resource.id), ['ccd-new', 'note-1'], 'POST with Parameters');

  const missing = await get('');
  t.equal(missing.status, 400, 'patient is required');
  t.same(missing.body.issue?.[0]?.expression, ['patient']);
  t.same((await get('?patient=p1&start=last-week')).body.issue?.[0]?.expression, ['start'], 'a bad date names start');
  t.same((await get('?patient=p1&color=red')).body.issue?.[0]?.expression, ['color'], 'an unknown parameter is refused');
  t.equal((await app.server.inject({ url: '/fhir/Observation/$docref?patient=p1' })).statusCode, 404, 'only on DocumentReference');

  const cs = JSON.parse((await app.server.inject({ url: '/fhir/metadata' })).body) as { rest: { resource: { type: string; operation?: { name: string }[] }[] }[] };
  t.same(cs.rest[0]!.resource.find((r) => r.type === 'DocumentReference')!.operation?.map((o) => o.name), ['docref'], 'advertised');
});
