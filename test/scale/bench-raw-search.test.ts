// The bench holds the store's patient+category search to "the same rows fetched by raw prepared statements"
// (scripts/bench/inprocess.ts). That ratio means something only while the raw statements fetch exactly the store's
// page and total: if the store's query changed (another order, another filter), the bench would compare two
// different searches. This checks it on generated records, on SQLite (a file: the raw statements open their own
// connection) and on PostgreSQL when DATABASE_URL names one.
import t from 'tap';
import { BENCH_BASE, records } from '../../scripts/bench/dataset.js';
import { openRawSearch } from '../../scripts/bench/inprocess.js';
import { resourceDef } from '../../src/fhir/definitions.js';
import { importResources } from '../../src/fhir/import/importer.js';
import { parseSearch } from '../../src/fhir/search-parse.js';
import { FhirService } from '../../src/fhir/service.js';
import { ResourceStore } from '../../src/store/resources.js';
import { createTestDatabase } from '../helpers/database.js';

const PAGE = 20;

t.test("the bench's raw search statements fetch the store's page and total for patient+category", async (t) => {
  const database = await createTestDatabase({ file: true });
  t.teardown(() => database.close());
  const store = new ResourceStore(database.db);
  const report = await importResources(new FhirService(store, BENCH_BASE), records({ seed: 7, patients: 3, observationsPerPatient: 120 }));
  t.equal(report.errors.length, 0, 'the generated records import');
  const patients = (await database.db.kysely.selectFrom('resources').select('id').where('type', '=', 'Patient').execute()).map((r) => r.id);
  t.equal(patients.length, 3);

  const def = resourceDef('Observation')!;
  for (const category of ['laboratory', 'vital-signs']) {
    const raw = openRawSearch(database.target, category, PAGE);
    try {
      for (const patient of patients) {
        const req = parseSearch(def, [['patient', patient], ['category', category], ['_count', String(PAGE)]], { fhirBaseUrl: BENCH_BASE, strict: false });
        const page = await store.search({ type: 'Observation', clauses: req.clauses, sort: req.sort, count: req.count, total: true });
        t.ok(page.total! > PAGE, `${patient} has more than a page of ${category} results (${page.total})`);
        const rows = await raw.page(patient);
        t.equal(rows.length, PAGE + 1, 'the raw page reads one row more than asked, as the store does');
        t.same(
          rows.slice(0, PAGE).map((r) => r[2]),
          page.rows.map((r) => r.id),
          `${category} for ${patient}: the same ids in the same order`,
        );
        t.same(
          rows.slice(0, PAGE).map((r) => String(r[6])),
          page.rows.map((r) => r.json),
          'the same stored JSON',
        );
        t.equal(await raw.total(patient), page.total, `${category} for ${patient}: the same total`);
      }
    } finally {
      await raw.close();
    }
  }
});
