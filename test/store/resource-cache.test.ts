// The read cache of current resources (SQLite): hits are served from memory, and a read never returns what a write
// replaced, whether the write went through the same store, another store on the same connection, or another
// connection to the same file (another worker process). On PostgreSQL there is no cache and the same reads hold.
import t, { type Test } from 'tap';
import type { Observation } from 'fhir/r4.js';
import { computeIndex } from '../../src/fhir/index-rows.js';
import { FhirService } from '../../src/fhir/service.js';
import { openDb } from '../../src/store/db.js';
import { ResourceStore } from '../../src/store/resources.js';
import { createTestDatabase, usingPostgres } from '../helpers/database.js';

const BASE = 'http://example.test/fhir';
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

const observation = (value: number): Observation => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
  subject: { reference: 'Patient/p1' },
  effectiveDateTime: '2026-01-02T03:04:05Z',
  valueQuantity: { value, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
});

/** The HTTP status a read fails with, or 200 */
const readStatus = async (fhir: FhirService, id: string) => {
  try {
    await fhir.read('Observation', id);
    return 200;
  } catch (err) {
    return (err as { status?: number }).status;
  }
};

/** Two stores on one SQLite file through connections of their own, as two worker processes have. */
async function twoConnections(t: Test): Promise<{ mine: FhirService; theirs: FhirService }> {
  const database = await createTestDatabase({ file: true });
  t.teardown(() => database.close());
  const other = openDb(database.target);
  t.teardown(() => other.close());
  return { mine: new FhirService(new ResourceStore(database.db), BASE), theirs: new FhirService(new ResourceStore(other), BASE) };
}

const valueOf = (json: string | null) => (JSON.parse(json ?? '{}') as Observation).valueQuantity?.value;

t.test('a resource read again is served from memory, the same bytes as the first read', { skip: usingPostgres && 'no read cache on PostgreSQL' }, async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const fhir = new FhirService(new ResourceStore(database.db), BASE);
  const created = await fhir.create('Observation', observation(61));
  const first = await fhir.read('Observation', created.id);
  const before = fhir.store.cacheStats()!;
  const second = await fhir.read('Observation', created.id);
  const after = fhir.store.cacheStats()!;
  t.equal(after.hits, before.hits + 1, 'the second read was a hit');
  t.equal(second.json, first.json);
  t.equal(second.versionId, first.versionId);
  t.ok(after.entries >= 1 && after.bytes > 0);
});

t.test('an update and then a delete through the store are seen by the very next read', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const fhir = new FhirService(new ResourceStore(database.db), BASE);
  const { id } = await fhir.create('Observation', observation(61));
  await fhir.read('Observation', id);
  await fhir.read('Observation', id);
  await fhir.update('Observation', id, { ...observation(99), id });
  const updated = await fhir.read('Observation', id);
  t.equal(updated.versionId, 2);
  t.equal(valueOf(updated.json), 99);
  await fhir.delete('Observation', id);
  t.equal(await readStatus(fhir, id), 410, 'the deletion, not the cached version');
});

t.test('a write through a second store on the same connection is seen by the first store', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const a = new FhirService(new ResourceStore(database.db), BASE);
  const b = new FhirService(new ResourceStore(database.db), BASE);
  const { id } = await a.create('Observation', observation(61));
  await a.read('Observation', id);
  await b.update('Observation', id, { ...observation(72), id });
  t.equal(valueOf((await a.read('Observation', id)).json), 72);
});

t.test('an import of a changed resource is seen by the next read', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const fhir = new FhirService(new ResourceStore(database.db), BASE);
  const { id } = await fhir.create('Observation', observation(61));
  await fhir.read('Observation', id);
  const resource = { ...observation(88), id };
  const index = computeIndex(fhir.definition('Observation'), resource as never, id, BASE);
  await fhir.store.writeBatch([{ type: 'Observation', id, resource: resource as never, index }]);
  t.equal(valueOf((await fhir.read('Observation', id)).json), 88);
});

t.test('writes through another connection to the same database are seen from the next turn on', async (t) => {
  const { mine, theirs } = await twoConnections(t);
  const kept = await mine.create('Observation', observation(50));
  const changed = await mine.create('Observation', observation(61));
  const removed = await mine.create('Observation', observation(70));
  for (const r of [kept, changed, removed]) await mine.read('Observation', r.id);
  await nextTurn();

  await theirs.update('Observation', changed.id, { ...observation(120), id: changed.id });
  await theirs.delete('Observation', removed.id);
  await nextTurn();
  const before = mine.store.cacheStats();
  t.equal(valueOf((await mine.read('Observation', changed.id)).json), 120, 'the other connection’s update');
  t.equal(await readStatus(mine, removed.id), 410, 'the other connection’s delete');
  t.equal(valueOf((await mine.read('Observation', kept.id)).json), 50);
  if (before) {
    const after = mine.store.cacheStats()!;
    t.equal(after.invalidated, before.invalidated + 2, 'exactly the two changed resources were evicted');
    t.ok(after.hits > before.hits, 'the unchanged one is still served from memory');
  }
});

t.test('more changes by another connection than one catch-up evicts one by one empty the whole cache', async (t) => {
  const { mine, theirs } = await twoConnections(t);
  const { id } = await mine.create('Observation', observation(61));
  await mine.read('Observation', id);
  await nextTurn();
  const def = theirs.definition('Observation');
  const many = Array.from({ length: 5100 }, (_, i) => {
    const rid = i === 0 ? id : `bulk-${i}`;
    const resource = { ...observation(i === 0 ? 42 : i), id: rid };
    return { type: 'Observation', id: rid, resource: resource as never, index: computeIndex(def, resource as never, rid, BASE) };
  });
  await theirs.store.writeBatch(many);
  await nextTurn();
  t.equal(valueOf((await mine.read('Observation', id)).json), 42);
  t.equal((await mine.read('Observation', 'bulk-5099')).versionId, 1);
});

t.test('the cache keeps to its memory budget, dropping first the entries not read again since they came in', { skip: usingPostgres && 'no read cache on PostgreSQL' }, async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const sizing = new FhirService(new ResourceStore(database.db, { cacheBytes: 1 }), BASE);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await sizing.create('Observation', observation(60 + i))).id);
  t.equal(sizing.store.cacheStats()!.maxBytes, 1);
  const one = (await sizing.read('Observation', ids[0]!)).json!.length + 200;
  t.equal(sizing.store.cacheStats()!.entries, 0, 'an entry larger than the whole budget is not kept');

  const small = await createTestDatabase();
  t.teardown(() => small.close());
  const fhir = new FhirService(new ResourceStore(small.db, { cacheBytes: one * 3 + 10 }), BASE);
  const sids: string[] = [];
  for (let i = 0; i < 5; i++) sids.push((await fhir.create('Observation', observation(60 + i))).id);
  for (const id of sids.slice(0, 3)) await fhir.read('Observation', id);
  await fhir.read('Observation', sids[0]!); // most recently used now
  await fhir.read('Observation', sids[3]!); // evicts sids[1]: sids[0] was read again, so it gets another round
  const stats = fhir.store.cacheStats()!;
  t.equal(stats.entries, 3);
  t.ok(stats.bytes <= stats.maxBytes, `${stats.bytes} bytes within ${stats.maxBytes}`);
  const hits = stats.hits;
  await fhir.read('Observation', sids[0]!);
  t.equal(fhir.store.cacheStats()!.hits, hits + 1, 'the recently read one stayed');
  await fhir.read('Observation', sids[1]!);
  t.equal(fhir.store.cacheStats()!.hits, hits + 1, 'the least recently read one was dropped');
});

t.test('a cache of 0 bytes turns it off, and PostgreSQL has none', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const store = new ResourceStore(database.db, { cacheBytes: 0 });
  t.equal(store.cacheStats(), undefined);
  t.equal(new ResourceStore(database.db).cacheStats(), undefined, 'the first store on a Db decides for all of them');
  const other = await createTestDatabase();
  t.teardown(() => other.close());
  t.equal(new ResourceStore(other.db).cacheStats() === undefined, usingPostgres, 'by default there is one on SQLite, none on PostgreSQL');
});

t.test('a resource carrying a large inline attachment is read from the database, not kept in the cache in place of many small ones', { skip: usingPostgres && 'no read cache on PostgreSQL' }, async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  // A 4 MB cache keeps entries up to 16 KB; a 40 KB PDF note is larger.
  const fhir = new FhirService(new ResourceStore(database.db, { cacheBytes: 4 * 1024 * 1024 }), BASE);
  const note = await fhir.create('DocumentReference', {
    resourceType: 'DocumentReference',
    status: 'current',
    subject: { reference: 'Patient/p1' },
    content: [{ attachment: { contentType: 'application/pdf', data: Buffer.alloc(30_000, 7).toString('base64') } }],
  });
  const small = await fhir.create('Observation', observation(70));
  for (let i = 0; i < 2; i++) {
    await fhir.read('DocumentReference', note.id);
    await fhir.read('Observation', small.id);
  }
  const stats = fhir.store.cacheStats()!;
  t.equal(stats.entries, 1, 'only the small resource is cached');
  t.equal(stats.hits, 1, 'its second read was a hit');
  t.ok(stats.bytes < 16 * 1024);
  const again = await fhir.read('DocumentReference', note.id);
  t.equal(JSON.parse(again.json!).content[0].attachment.data.length, 40_000, 'the large one is still served whole, as stored');
});
