import t from 'tap';
import { startTestApp } from '../helpers/app.js';
import { CAT, LOINC, ids, seed, type SearchBundle } from './fixtures.js';

t.test('search', async (t) => {
  const app = await startTestApp(t);
  await seed(app);
  const get = async (url: string, headers: Record<string, string> = {}) => {
    const res = await app.server.inject({ url, headers });
    return { status: res.statusCode, body: JSON.parse(res.body) as SearchBundle & { issue?: { expression?: string[] }[] } };
  };

  t.test('token: code, system|code, |code, system|, OR, AND and :not', async (t) => {
    t.same(await ids(app, '/fhir/Observation?code=718-7'), ['o1', 'o5']);
    t.same(await ids(app, `/fhir/Observation?code=${encodeURIComponent(`${LOINC}|718-7`)}`), ['o1', 'o5']);
    t.same(await ids(app, '/fhir/Observation?code=http://snomed.info/sct|718-7'), [], 'a different system does not match');
    t.same(await ids(app, '/fhir/Observation?code=|718-7'), [], '|code matches only codings without a system');
    t.same(await ids(app, `/fhir/Observation?category=${encodeURIComponent(`${CAT}|`)}`), ['o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'o7'], 'system| matches any code in the system');
    t.same(await ids(app, '/fhir/Observation?code=718-7,8867-4'), ['o1', 'o3', 'o4', 'o5'], 'comma is OR');
    t.same(await ids(app, '/fhir/Observation?category=laboratory&code=718-7'), ['o1', 'o5'], 'different parameters AND');
    t.same(await ids(app, '/fhir/Observation?code=718-7&code=2345-7'), [], 'a repeated parameter is AND');
    t.same(await ids(app, '/fhir/Observation?category:not=laboratory'), ['o3', 'o4', 'o6']);
    t.same(await ids(app, '/fhir/Observation?status=registered,preliminary,final,amended'), ['o1', 'o2', 'o3', 'o4', 'o5', 'o6']);
    t.same(await ids(app, '/fhir/Observation?status=http://hl7.org/fhir/observation-status|amended'), ['o5'], 'code elements match their implicit system');
    t.same(await ids(app, '/fhir/Patient?gender=http://hl7.org/fhir/administrative-gender|female'), ['p1']);
    t.same(await ids(app, '/fhir/Patient?identifier=MRN-002'), ['p2']);
    t.same(await ids(app, '/fhir/Patient?identifier=http://hospital.example.org/mrn|MRN-001'), ['p1']);
  });

  t.test('date prefixes follow FHIR range semantics', async (t) => {
    const cases: [string, string[]][] = [
      ['2020-06-01', ['o1']], // eq: the day contains 10:00Z
      ['eq2020-06', ['o1', 'o2']], // the month contains both points; o5's period sticks out of June
      ['eq2020', ['o1', 'o2', 'o5']],
      ['ne2020', ['o3', 'o4', 'o6']],
      ['ge2020-06-01', ['o1', 'o2', 'o3', 'o5', 'o6']],
      ['gt2020-06-01', ['o2', 'o3', 'o5', 'o6']], // o1 is inside the day, not above it
      ['le2020-06-01', ['o1', 'o4', 'o5']],
      ['lt2020-06-01', ['o4', 'o5']], // o5 starts in May
      ['sa2020-06-30', ['o3', 'o6']], // starts after: o5 ends 2020-07-01, so it does not start after
      ['eb2020-01-01', ['o4']], // ends before
      ['gt2021-01-14T22:29:59Z', ['o3', 'o6']], // o3 is 2021-01-14T22:30:00Z in UTC
      ['lt2021-01-14T22:30:00%2B00:00', ['o1', 'o2', 'o4', 'o5']],
      ['2021-01-15T08:30:00%2B10:00', ['o3']], // the same instant written in +10:00
      ['ge2030', ['o6']], // open-ended period
    ];
    for (const [value, expected] of cases) t.same(await ids(app, `/fhir/Observation?date=${value}`), expected, `date=${decodeURIComponent(value)}`);
    // ap widens the value by 10% of its distance from now (FHIR leaves the amount to the server): ~8 months here.
    const ap = await ids(app, '/fhir/Observation?date=ap2020-06-01');
    t.ok(ap.includes('o1') && ap.includes('o2') && !ap.includes('o6') && !ap.includes('o7'), `ap is a widened range: ${ap.join(',')}`);
    t.same(await ids(app, `/fhir/Observation?date=ap${new Date().toISOString().slice(0, 10)}`), ['o6'], 'near now, ap is narrow');
    t.same(await ids(app, '/fhir/Patient?birthdate=1975'), ['p2']);
    t.same(await ids(app, '/fhir/Patient?birthdate=ge1979-01-01'), ['p1']);
    t.same(await ids(app, '/fhir/Observation?_lastUpdated=gt2000-01-01'), ['o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'o7']);
    t.same(await ids(app, '/fhir/Observation?_lastUpdated=lt2000-01-01'), []);
  });

  t.test('reference forms are equivalent; wrong types are refused', async (t) => {
    const forms = ['p1', 'Patient/p1', 'http://localhost:8080/fhir/Patient/p1'];
    for (const f of forms) t.same(await ids(app, `/fhir/Observation?patient=${encodeURIComponent(f)}`), ['o1', 'o2', 'o3', 'o4'], `patient=${f}`);
    t.same(await ids(app, '/fhir/Observation?subject=Patient/p2'), ['o5', 'o6', 'o7']);
    t.same(await ids(app, '/fhir/Observation?subject:Patient=p2'), ['o5', 'o6', 'o7']);
    const bad = await get('/fhir/Observation?patient=Group/1');
    t.equal(bad.status, 400);
    t.same(bad.body.issue![0]!.expression, ['patient']);
  });

  t.test('strings: prefix, case and accent insensitive, :contains', async (t) => {
    t.same(await ids(app, '/fhir/Patient?name=nun'), ['p1'], 'accent-insensitive');
    t.same(await ids(app, '/fhir/Patient?family=NÚÑEZ'), ['p1']);
    t.same(await ids(app, '/fhir/Patient?given=mar'), ['p1'], 'any given name');
    t.same(await ids(app, '/fhir/Patient?name=mith'), [], 'prefix, not substring');
    t.same(await ids(app, '/fhir/Patient?name:contains=mith'), ['p2']);
    t.same(await ids(app, '/fhir/Patient?gender=male&name=smith'), ['p2'], 'US Core gender+name');
    t.same(await ids(app, '/fhir/Patient?birthdate=1980-02-03&name=ana'), ['p1'], 'US Core birthdate+name');
  });

  t.test('_id, _count, _total, _summary=count and POST _search', async (t) => {
    t.same(await ids(app, '/fhir/Observation?_id=o1,o3'), ['o1', 'o3']);
    const page = await get('/fhir/Observation?_count=2');
    t.equal(page.body.entry!.length, 2);
    t.equal(page.body.total, 7);
    t.equal((await get('/fhir/Observation?_count=5000')).body.link.find((l) => l.relation === 'self')!.url.includes('_count=1000'), true, '_count is capped at 1000');
    const zero = await get('/fhir/Observation?_count=0');
    t.equal(zero.body.total, 7);
    t.notOk(zero.body.entry);
    t.notOk('total' in (await get('/fhir/Observation?_total=none')).body, '_total=none omits total');
    const count = await get('/fhir/Observation?category=laboratory&_summary=count');
    t.equal(count.body.total, 4);
    t.notOk(count.body.entry);
    const form = await app.server.inject({ method: 'POST', url: '/fhir/Observation/_search?category=laboratory', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'patient=Patient%2Fp1' });
    t.equal(form.statusCode, 200);
    t.same(((JSON.parse(form.body) as SearchBundle).entry ?? []).map((e) => e.resource.id).sort(), ['o1', 'o2'], 'URL and form parameters combine');
  });

  t.test('_sort and _include', async (t) => {
    const order = async (sort: string) => ((await get(`/fhir/Observation?patient=p1&_sort=${sort}`)).body.entry ?? []).map((e) => e.resource.id);
    t.same(await order('date'), ['o4', 'o1', 'o2', 'o3']);
    t.same(await order('-date'), ['o3', 'o2', 'o1', 'o4']);
    t.same(await order('_lastUpdated'), ['o1', 'o2', 'o3', 'o4']);
    t.same(await order('-_lastUpdated'), ['o4', 'o3', 'o2', 'o1']);
    const bad = await get('/fhir/Observation?_sort=code');
    t.equal(bad.status, 400);
    t.same(bad.body.issue![0]!.expression, ['_sort']);
    const inc = await get('/fhir/Observation?code=718-7&_include=Observation:patient');
    const modes = (inc.body.entry ?? []).map((e) => `${e.search.mode}:${e.resource.resourceType}/${e.resource.id}`).sort();
    t.same(modes, ['include:Patient/p1', 'include:Patient/p2', 'match:Observation/o1', 'match:Observation/o5']);
    t.ok(inc.body.entry!.every((e) => e.fullUrl.startsWith('http://localhost:8080/fhir/')), 'absolute fullUrls');
  });

  t.test('paging: next then previous links visit every match exactly once, stable under concurrent inserts', async (t) => {
    let url: string | undefined = '/fhir/Observation?_count=2&_sort=-date';
    const forward: string[] = [];
    let last: SearchBundle | undefined;
    let inserted = false;
    while (url) {
      last = (await get(url)).body;
      forward.push(...(last.entry ?? []).map((e) => e.resource.id));
      if (!inserted) {
        // A write between pages must not shift what the following pages contain.
        await app.fhir.create('Observation', { resourceType: 'Observation', status: 'final', code: { text: 'new' }, subject: { reference: 'Patient/p1' }, effectiveDateTime: '1990-01-01' });
        inserted = true;
      }
      const next: { url: string } | undefined = last.link.find((l) => l.relation === 'next');
      t.ok(!next || next.url.startsWith('http://localhost:8080/fhir/Observation?'), 'absolute next link');
      url = next?.url.replace('http://localhost:8080', '');
    }
    t.equal(new Set(forward).size, forward.length, 'no repeats');
    t.ok(['o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'o7'].every((id) => forward.includes(id)), 'no skips');
    const backward: string[] = [];
    url = last!.link.find((l) => l.relation === 'previous')?.url.replace('http://localhost:8080', '');
    while (url) {
      const b = (await get(url)).body;
      backward.unshift(...(b.entry ?? []).map((e) => e.resource.id));
      url = b.link.find((l) => l.relation === 'previous')?.url.replace('http://localhost:8080', '');
    }
    t.same(backward, forward.slice(0, backward.length), 'walking back returns the same pages');
  });

  t.test('unknown parameters warn, or fail under Prefer: handling=strict; _revinclude=Provenance:target is accepted', async (t) => {
    const lenient = await get('/fhir/Observation?foo=bar');
    t.equal(lenient.status, 200);
    const outcome = lenient.body.entry!.find((e) => e.search.mode === 'outcome');
    t.equal(outcome?.resource.resourceType, 'OperationOutcome');
    const strict = await get('/fhir/Observation?foo=bar', { prefer: 'handling=strict' });
    t.equal(strict.status, 400);
    t.same(strict.body.issue![0]!.expression, ['foo']);
    t.equal((await get('/fhir/Patient?_id=p1&_revinclude=Provenance:target')).status, 200);
  });

  t.test('every search parameter in the CapabilityStatement works', async (t) => {
    const meta = JSON.parse((await app.server.inject({ url: '/fhir/metadata' })).body) as { rest: { resource: { type: string; searchParam: { name: string; type: string }[] }[] }[] };
    const sample: Record<string, string> = { token: 'x', string: 'x', date: 'ge2000', reference: 'x1' };
    for (const r of meta.rest[0]!.resource) {
      for (const p of r.searchParam) {
        const res = await get(`/fhir/${r.type}?${p.name}=${encodeURIComponent(p.name === '_id' ? 'p1' : sample[p.type]!)}`);
        t.equal(res.status, 200, `${r.type}?${p.name}`);
        t.notOk(res.body.entry?.some((e) => e.search.mode === 'outcome'), `${r.type}?${p.name} is not reported as unknown`);
      }
    }
  });
});
