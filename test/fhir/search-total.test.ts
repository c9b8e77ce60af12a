// `_total=none|estimate|accurate` and the default (exact on the first page, absent after it), on the real app and
// database (in-memory SQLite, or PostgreSQL under DATABASE_URL): totals, the links that keep the mode, and errors.
import t from 'tap';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { observation, type SearchBundle } from './fixtures.js';

type Bundle = SearchBundle & { resourceType: string; issue?: { severity: string; expression?: string[] }[] };

const LABS_P1 = 23; // one of them deleted below: 22 current
const VITALS_P1 = 7;
const LABS_P2 = 5;

async function seed(app: TestApp): Promise<void> {
  for (const id of ['p1', 'p2']) await app.fhir.update('Patient', id, { resourceType: 'Patient', id, gender: 'unknown' });
  const add = async (id: string, patient: string, category: 'laboratory' | 'vital-signs', day: number) =>
    app.fhir.update('Observation', id, observation({ id, patient, category, code: '718-7', effective: `2020-01-${String(day).padStart(2, '0')}` }));
  for (let i = 0; i < LABS_P1; i++) await add(`lab-${i}`, 'p1', 'laboratory', 1 + (i % 28));
  for (let i = 0; i < VITALS_P1; i++) await add(`vital-${i}`, 'p1', 'vital-signs', 1 + i);
  for (let i = 0; i < LABS_P2; i++) await add(`other-${i}`, 'p2', 'laboratory', 1 + i);
  await app.fhir.delete('Observation', 'lab-0');
}

t.test('_total', async (t) => {
  const app = await startTestApp(t);
  await seed(app);
  const get = async (url: string, headers: Record<string, string> = {}) => {
    const res = await app.server.inject({ url, headers });
    return { status: res.statusCode, body: JSON.parse(res.body) as Bundle };
  };
  const link = (b: Bundle, relation: string) => b.link.find((l) => l.relation === relation)?.url;
  const local = (url: string) => url.replace('http://localhost:8080', '');
  /** Every page from the first on, following `next`. */
  const pages = async (url: string): Promise<Bundle[]> => {
    const out: Bundle[] = [];
    for (let next: string | undefined = url; next; ) {
      const { status, body } = await get(next);
      if (status !== 200) throw new Error(`${next}: ${status}`);
      out.push(body);
      next = link(body, 'next') && local(link(body, 'next')!);
      if (out.length > 10) throw new Error('paging does not end');
    }
    return out;
  };
  const matchIds = (bs: Bundle[]) => bs.flatMap((b) => (b.entry ?? []).filter((e) => e.search.mode === 'match').map((e) => e.resource.id));
  const EXACT = LABS_P1 - 1;
  const labs = '/fhir/Observation?patient=p1&category=laboratory&_count=10';

  t.test('without _total: exact on the first page, absent on the later pages, whose links carry no _total', async (t) => {
    const all = await pages(labs);
    t.equal(all.length, 3);
    t.equal(all[0]!.total, EXACT, 'first page: the exact number of matches');
    for (const [i, b] of all.slice(1).entries()) t.notOk('total' in b, `page ${i + 2} has no total`);
    for (const b of all) for (const l of b.link) t.notOk(l.url.includes('_total'), `${l.relation} link names no _total`);
    t.equal(new Set(matchIds(all)).size, EXACT, 'the pages hold every match once');
    t.notOk(matchIds(all).includes('lab-0'), 'the deleted one is not a match');
  });

  t.test('_total=accurate: the exact total on every page, and every link keeps _total=accurate', async (t) => {
    const all = await pages(`${labs}&_total=accurate`);
    t.equal(all.length, 3);
    for (const [i, b] of all.entries()) {
      t.equal(b.total, EXACT, `page ${i + 1}: exact total`);
      for (const l of b.link) t.ok(l.url.includes('_total=accurate'), `page ${i + 1} ${l.relation} link keeps _total=accurate`);
    }
    const back = await get(local(link(all[2]!, 'previous')!));
    t.equal(back.body.total, EXACT, 'a page reached backwards is counted too');
    t.equal(back.body.entry!.length, 10);
  });

  t.test('_total=none: no total on any page (not even a complete first page), links keep _total=none', async (t) => {
    const all = await pages(`${labs}&_total=none`);
    t.equal(all.length, 3);
    for (const [i, b] of all.entries()) {
      t.notOk('total' in b, `page ${i + 1} has no total`);
      for (const l of b.link) t.ok(l.url.includes('_total=none'), `page ${i + 1} ${l.relation} link keeps _total=none`);
    }
    t.notOk('total' in (await get('/fhir/Observation?patient=p2&_total=none')).body, 'a first page holding every match gives none either');
    t.equal(new Set(matchIds(all)).size, EXACT, 'the pages still hold every match');
  });

  t.test('_total=estimate: an upper bound on every page, never below the matches; links keep _total=estimate', async (t) => {
    const all = await pages(`${labs}&_total=estimate`);
    t.equal(all.length, 3);
    for (const [i, b] of all.entries()) {
      t.ok(typeof b.total === 'number' && b.total >= EXACT, `page ${i + 1}: ${b.total} ≥ ${EXACT}`);
      // Only the patient criterion is counted: no more than p1's Observations, the deleted one included.
      t.ok(b.total! <= LABS_P1 + VITALS_P1, `page ${i + 1}: ${b.total} ≤ p1's ${LABS_P1 + VITALS_P1} Observation rows`);
      for (const l of b.link) t.ok(l.url.includes('_total=estimate'), `page ${i + 1} ${l.relation} link keeps _total=estimate`);
    }
    t.equal((await get('/fhir/Observation?patient=p2&category=laboratory&_total=estimate')).body.total, LABS_P2, 'a first page holding every match gives the exact total');
    const other = await get('/fhir/Observation?category=laboratory&_count=5&_total=estimate');
    t.ok(other.body.total! >= EXACT + LABS_P2, `without a patient it bounds the type: ${other.body.total} ≥ ${EXACT + LABS_P2}`);
  });

  t.test('_summary=count is exact whatever _total says', async (t) => {
    for (const mode of ['', '&_total=none', '&_total=estimate', '&_total=accurate']) {
      const { status, body } = await get(`/fhir/Observation?patient=p1&category=laboratory&_summary=count${mode}`);
      t.equal(status, 200);
      t.equal(body.total, EXACT, `_summary=count${mode}: exact`);
      t.notOk(body.entry, 'no entries');
    }
    t.equal((await get('/fhir/Observation?patient=p1&_count=0&_total=accurate')).body.total, LABS_P1 + VITALS_P1 - 1, '_count=0 with _total=accurate counts');
  });

  t.test('a complete first page is its own total: exact in every counting mode', async (t) => {
    for (const mode of ['', '&_total=accurate', '&_total=estimate']) {
      const { body } = await get(`/fhir/Observation?patient=p1&category=laboratory&_count=50${mode}`);
      t.equal(body.total, EXACT, `_count=50${mode}`);
      t.equal(body.entry!.length, EXACT);
      t.notOk(link(body, 'next'), 'no next page');
    }
  });

  t.test('an unknown _total value is 400 naming _total, under every Prefer handling', async (t) => {
    for (const headers of [{}, { prefer: 'handling=lenient' }, { prefer: 'handling=strict' }] as Record<string, string>[]) {
      for (const value of ['exact', 'ACCURATE', '']) {
        const { status, body } = await get(`/fhir/Observation?patient=p1&_total=${value}`, headers);
        t.equal(status, 400, `_total=${value} ${JSON.stringify(headers)}`);
        t.equal(body.resourceType, 'OperationOutcome');
        t.same(body.issue![0]!.expression, ['_total']);
      }
    }
  });

  t.test('POST _search takes _total in the form body like the query', async (t) => {
    const res = await app.server.inject({
      method: 'POST',
      url: '/fhir/Observation/_search',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'patient=p1&category=laboratory&_count=5&_total=none',
    });
    const body = JSON.parse(res.body) as Bundle;
    t.equal(res.statusCode, 200);
    t.notOk('total' in body);
    t.ok(link(body, 'next')!.includes('_total=none'));
  });

  t.test('the CapabilityStatement documents _total and its default', async (t) => {
    const cs = (await app.server.inject({ url: '/fhir/metadata' })).json() as { rest: { searchParam?: { name: string; type: string; documentation?: string }[] }[] };
    const param = cs.rest[0]!.searchParam?.find((p) => p.name === '_total');
    t.ok(param, '_total is a searchParam of rest');
    t.equal(param?.type, 'special');
    t.match(param?.documentation, /first page/);
    t.match(param?.documentation, /upper bound/);
  });
});
