// The export steps aside while the API is busy: the runner turns the event loop's use into a pause factor, and the
// engine offers every page to the throttle with the time it took.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { runExport } from '../../src/bulk/export-engine.js';
import { paceFor } from '../../src/bulk/export-runner.js';
import { FhirService } from '../../src/fhir/service.js';
import { ResourceStore } from '../../src/store/resources.js';
import { createTestDatabase } from '../helpers/database.js';

t.test('the pause factor is 0 while the event loop is at most half busy and rises to 9 when it is saturated', async (t) => {
  t.equal(paceFor(0), 0);
  t.equal(paceFor(0.5), 0);
  t.equal(paceFor(0.7), 4.5);
  t.equal(paceFor(0.9), 9);
  t.equal(paceFor(1), 9);
  const steps = [0.55, 0.6, 0.65, 0.8, 0.85].map(paceFor);
  t.same([...steps].sort((a, b) => a - b), steps, 'never less pause for a busier loop');
});

t.test('the engine hands every page to the throttle, with its duration, and waits for it', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const fhir = new FhirService(new ResourceStore(database.db), 'http://localhost/fhir');
  for (let i = 0; i < 25; i++) await fhir.update('Patient', `p${i}`, { resourceType: 'Patient', id: `p${i}` });
  const dir = mkdtempSync(join(tmpdir(), 'pacing-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pages: number[] = [];
  let waited = 0;
  const throttle = async (ms: number) => {
    pages.push(ms);
    await new Promise((r) => setTimeout(r, 5));
    waited++;
  };
  const files: string[] = [];
  await runExport(
    database.db.kysely,
    { spec: { types: [{ type: 'Patient', clauses: [] }], warnings: [] }, transactionTime: Date.now() + 1000, dir, maxPerFile: 100, pageSize: 10, yieldBetweenPages: false },
    { file: (f) => files.push(f.name), progress: () => undefined },
    new AbortController().signal,
    throttle,
  );
  t.equal(pages.length, 3, 'three pages of 10, 10 and 5');
  t.ok(pages.every((ms) => ms >= 0), 'each with its duration');
  t.equal(waited, 3, 'and the engine waited for each pause');
  t.equal(readFileSync(join(dir, files[0]!), 'utf8').trim().split('\n').length, 25, 'all 25 written');
});
