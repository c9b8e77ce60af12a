// Bulk Data export 2.0 as a backend service uses it: kick-off, status, manifest, download, cancel and expiry, and the
// kick-off parameters (_type, _since, _typeFilter, _elements, _outputFormat, POST Parameters). Runs on SQLite and,
// with DATABASE_URL, on PostgreSQL.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { backendToken, download, exportAll, kickOff, poll, type Manifest } from '../helpers/bulk-client.js';
import { startSmartServer, type SmartServer } from '../helpers/smart-server.js';

const LAB = 'http://terminology.hl7.org/CodeSystem/observation-category|laboratory';
const VITALS = 'http://terminology.hl7.org/CodeSystem/observation-category|vital-signs';
const PATIENTS = ['daniel-kim', 'maria-garcia', 'mateo-garcia', 'sofia-garcia'];

const ids = (lines: readonly Record<string, unknown>[]) => lines.map((l) => `${l.resourceType as string}/${l.id as string}`).sort();

async function addDirectory(server: SmartServer): Promise<void> {
  await server.fhir.update('Organization', 'riverside', { resourceType: 'Organization', id: 'riverside', name: 'Riverside Health' });
}

async function outcomeOf(res: Response): Promise<string> {
  const body = (await res.json()) as { resourceType: string; issue: { diagnostics: string }[] };
  return body.issue.map((i) => i.diagnostics).join(' | ');
}

t.test('bulk export', async (t) => {
  const server = await startSmartServer(t, { env: { SANDBOX: 'true', EXPORT_FILE_RESOURCES: '3' } });
  await addDirectory(server);
  const token = await backendToken(server.issuer);

  t.test('Patient/$export writes every resource in a patient compartment, and the manifest says where', async (t) => {
    const url = `${server.fhirBase}/Patient/$export`;
    const { manifest, byType } = await exportAll(url, token);
    t.equal(manifest.request, url, 'request is the kick-off URL');
    t.equal(manifest.requiresAccessToken, true);
    t.match(manifest.transactionTime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    t.same(manifest.error, []);
    t.same([...byType.keys()].sort(), ['AllergyIntolerance', 'Observation', 'Patient']);
    t.same(ids(byType.get('Patient')!), PATIENTS.map((p) => `Patient/${p}`));
    t.equal(byType.get('Observation')!.length, 8);
    t.equal(byType.get('AllergyIntolerance')!.length, 4);
    t.notOk(byType.has('Organization'), 'shared directory entries are not part of a patient-level export');
  });

  t.test('files are split at EXPORT_FILE_RESOURCES and each manifest count matches its file', async (t) => {
    const res = await kickOff(`${server.fhirBase}/Patient/$export?_type=Observation`, token);
    const { manifest } = await poll(res.headers.get('content-location')!, token, { maxWaitMs: 100 });
    t.same(manifest!.output.map((o) => [o.url.split('/').pop(), o.count]), [
      ['Observation-1.ndjson', 3],
      ['Observation-2.ndjson', 3],
      ['Observation-3.ndjson', 2],
    ]);
    const all: Record<string, unknown>[] = [];
    for (const o of manifest!.output) {
      const file = await download(o.url, token);
      t.equal(file.status, 200);
      t.equal(file.headers.get('content-type'), 'application/fhir+ndjson');
      t.equal(file.lines.length, o.count, `${o.url} holds ${o.count} lines`);
      t.ok(file.text.endsWith('\n') && !file.text.includes('\n\n'), 'one resource per line');
      all.push(...file.lines);
    }
    t.equal(new Set(ids(all)).size, 8, 'no resource twice, none missing');
  });

  t.test('system-level $export includes types outside the compartment', async (t) => {
    const { byType } = await exportAll(`${server.fhirBase}/$export?_type=Organization,Patient`, token);
    t.same(ids(byType.get('Organization')!), ['Organization/riverside']);
    t.equal(byType.get('Patient')!.length, 4);
  });

  t.test('the status URL answers 200 with Content-Type application/json and an Expires header', async (t) => {
    const res = await kickOff(`${server.fhirBase}/Patient/$export?_type=Patient`, token);
    t.equal(res.status, 202);
    const location = res.headers.get('content-location')!;
    t.match(location, new RegExp(`^${server.fhirBase.replace(/[.]/g, '\\.')}/\\$export-status/[0-9a-f-]{36}$`));
    await poll(location, token, { maxWaitMs: 100 });
    const status = await fetch(location, { headers: { authorization: `Bearer ${token}` } });
    t.equal(status.status, 200);
    t.match(status.headers.get('content-type'), /^application\/json/);
    t.ok(Date.parse(status.headers.get('expires')!) > Date.now() + 3_600_000, 'kept for a day by default');
  });

  t.test('_since returns only what changed after it: the next export picks up exactly the change', async (t) => {
    const first = await exportAll(`${server.fhirBase}/Patient/$export?_type=Observation,Patient`, token);
    await new Promise((r) => setTimeout(r, 5));
    const changed = await server.fhir.read('Observation', 'daniel-kim-laboratory');
    const body = { ...(JSON.parse(changed.json!) as Record<string, unknown>), status: 'amended' };
    await server.fhir.update('Observation', 'daniel-kim-laboratory', body);
    const { manifest, byType } = await exportAll(`${server.fhirBase}/Patient/$export?_since=${encodeURIComponent(first.manifest.transactionTime)}`, token);
    t.same([...byType.keys()], ['Observation']);
    t.same(ids(byType.get('Observation')!), ['Observation/daniel-kim-laboratory']);
    t.equal(byType.get('Observation')![0]!.status, 'amended');
    t.ok(Date.parse(manifest.transactionTime) >= Date.parse(first.manifest.transactionTime));
  });

  t.test('_typeFilter narrows a type with the search syntax; several filters for one type are OR-ed', async (t) => {
    const labs = await exportAll(`${server.fhirBase}/Patient/$export?_type=Observation&_typeFilter=${encodeURIComponent(`Observation?category=${LAB}`)}`, token);
    t.same(ids(labs.byType.get('Observation')!), PATIENTS.map((p) => `Observation/${p}-laboratory`));
    const both = await exportAll(
      `${server.fhirBase}/Patient/$export?_type=Observation,Patient&_typeFilter=${encodeURIComponent(`Observation?category=${LAB}&patient=Patient/daniel-kim`)}&_typeFilter=${encodeURIComponent(`Observation?category=${VITALS}&patient=Patient/sofia-garcia`)}`,
      token,
    );
    t.same(ids(both.byType.get('Observation')!), ['Observation/daniel-kim-laboratory', 'Observation/sofia-garcia-vital-signs']);
    t.equal(both.byType.get('Patient')!.length, 4, 'types without a filter are whole');
  });

  t.test('_elements keeps the named elements, the mandatory ones and meta, tagged SUBSETTED', async (t) => {
    const { byType } = await exportAll(`${server.fhirBase}/Patient/$export?_type=Observation,Patient&_elements=Observation.effective,gender`, token);
    const obs = byType.get('Observation')![0]!;
    // effective[x] asked for by its base name; status and code are mandatory (1..1) in R4.
    t.same(Object.keys(obs).sort(), ['code', 'effectiveDateTime', 'id', 'meta', 'resourceType', 'status']);
    t.ok((obs.meta as { tag: { code: string }[] }).tag.some((tag) => tag.code === 'SUBSETTED'));
    const patient = byType.get('Patient')![0]!;
    t.ok('gender' in patient && !('name' in patient), 'an element without a type applies to every type');
  });

  t.test('a POST kick-off takes a Parameters resource', async (t) => {
    const res = await kickOff(`${server.fhirBase}/Patient/$export`, token, {
      method: 'POST',
      body: {
        resourceType: 'Parameters',
        parameter: [
          { name: '_outputFormat', valueString: 'application/fhir+ndjson' },
          { name: '_type', valueString: 'AllergyIntolerance' },
          { name: 'patient', valueReference: { reference: 'Patient/maria-garcia' } },
          { name: 'patient', valueReference: { reference: 'Patient/mateo-garcia' } },
        ],
      },
    });
    t.equal(res.status, 202, await res.clone().text());
    const { manifest } = await poll(res.headers.get('content-location')!, token, { maxWaitMs: 100 });
    const { lines } = await download(manifest!.output[0]!.url, token);
    t.same(ids(lines), ['AllergyIntolerance/maria-garcia-allergy', 'AllergyIntolerance/mateo-garcia-allergy']);
  });

  t.test('_outputFormat accepts application/fhir+ndjson and its aliases, and refuses anything else', async (t) => {
    for (const f of ['application/fhir+ndjson', 'application/ndjson', 'ndjson']) {
      const res = await kickOff(`${server.fhirBase}/$export?_type=Patient&_outputFormat=${encodeURIComponent(f)}`, token);
      t.equal(res.status, 202, f);
    }
    const bad = await kickOff(`${server.fhirBase}/$export?_outputFormat=text/csv`, token);
    t.equal(bad.status, 400);
    t.match(await outcomeOf(bad), /_outputFormat "text\/csv" is not supported/);
  });

  t.test('kick-off errors are 4xx OperationOutcomes that say what is wrong', async (t) => {
    const cases: [string, Record<string, string>, number, RegExp][] = [
      ['/Patient/$export', { prefer: '' }, 400, /Prefer: respond-async/],
      ['/Patient/$export?_since=yesterday', {}, 400, /_since "yesterday" is not a FHIR instant/],
      ['/Patient/$export?_type=Spaceship', {}, 400, /"Spaceship", which is not a resource type served here/],
      ['/Patient/$export?_type=Organization', {}, 400, /not in the patient compartment/],
      ['/Patient/$export?_typeFilter=Observation%3Fcolour%3Dred', {}, 400, /_typeFilter "Observation\?colour=red" is not a search this server can run/],
      ['/Patient/$export?_typeFilter=Observation%3F_count%3D5', {}, 400, /uses _count, which shapes a search result/],
      ['/Patient/$export?_type=Patient&_typeFilter=Observation%3Fstatus%3Dfinal', {}, 400, /for Observation, which this export does not include/],
      ['/Patient/$export?_elements=Observation..code', {}, 400, /_elements "Observation..code" is not an element name/],
      ['/Patient/$export?includeAssociatedData=LatestProvenanceResources', {}, 400, /includeAssociatedData is not supported/],
      ['/Patient/$export?colour=red', {}, 400, /no parameter "colour"/],
      ['/$export?patient=Patient/daniel-kim', {}, 400, /patient applies to Patient\/\$export and Group/],
      ['/Group/no-such-group/$export', {}, 404, /Group\/no-such-group is not known/],
    ];
    for (const [path, headers, status, message] of cases) {
      const res = await kickOff(`${server.fhirBase}${path}`, token, { ...(headers.prefer !== undefined ? { prefer: headers.prefer } : {}) });
      t.equal(res.status, status, path);
      t.match(res.headers.get('content-type'), /application\/fhir\+json/);
      t.match(await outcomeOf(res), message, path);
    }
  });

  t.test('Prefer: handling=lenient leaves out what it cannot honour and says so in the error file', async (t) => {
    const res = await kickOff(`${server.fhirBase}/Patient/$export?_type=Patient,Spaceship&colour=red`, token, { prefer: 'respond-async, handling=lenient' });
    t.equal(res.status, 202);
    t.match(await outcomeOf(res), /Spaceship/);
    const { manifest } = await poll(res.headers.get('content-location')!, token, { maxWaitMs: 100 });
    t.same([...new Set(manifest!.output.map((o) => o.type))], ['Patient']);
    t.equal(manifest!.error.length, 1);
    t.equal(manifest!.error[0]!.type, 'OperationOutcome');
    const { lines } = await download(manifest!.error[0]!.url, token);
    const text = JSON.stringify(lines);
    t.match(text, /Spaceship/);
    t.match(text, /colour/);
    t.equal(lines.length, manifest!.error[0]!.count);
  });

  t.test('files are sent gzip-compressed to a client that accepts it, and a byte range resumes a download', async (t) => {
    const { manifest } = await exportAll(`${server.fhirBase}/Patient/$export?_type=Patient`, token);
    const url = manifest.output[0]!.url;
    const plain = await download(url, token);
    const raw = await fetch(url, { headers: { authorization: `Bearer ${token}`, 'accept-encoding': 'gzip' } });
    t.equal(raw.headers.get('content-encoding'), 'gzip');
    t.equal(await raw.text(), plain.text, 'the same bytes once decoded');
    const part = await fetch(url, { headers: { authorization: `Bearer ${token}`, range: 'bytes=10-19' } });
    t.equal(part.status, 206);
    t.equal(part.headers.get('content-range'), `bytes 10-19/${Buffer.byteLength(plain.text)}`);
    t.equal(await part.text(), Buffer.from(plain.text).subarray(10, 20).toString());
    const beyond = await fetch(url, { headers: { authorization: `Bearer ${token}`, range: 'bytes=999999-' } });
    t.equal(beyond.status, 416);
  });

  t.test('DELETE cancels an export and removes its files', async (t) => {
    const { manifest } = await exportAll(`${server.fhirBase}/Patient/$export?_type=Patient`, token);
    const jobId = manifest.output[0]!.url.split('/').at(-2)!;
    const statusUrl = `${server.fhirBase}/$export-status/${jobId}`;
    const dir = join(server.config.export.dir, jobId);
    t.ok(existsSync(dir));
    const del = await fetch(statusUrl, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    t.equal(del.status, 202);
    t.notOk(existsSync(dir), 'files removed');
    const status = await fetch(statusUrl, { headers: { authorization: `Bearer ${token}` } });
    t.equal(status.status, 404);
    t.equal((await download(manifest.output[0]!.url, token)).status, 404);
    const again = await fetch(statusUrl, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    t.equal(again.status, 404);
  });

  t.test('a file or status URL needs a token', async (t) => {
    const { manifest } = await exportAll(`${server.fhirBase}/Patient/$export?_type=Patient`, token);
    const res = await fetch(manifest.output[0]!.url);
    t.equal(res.status, 401);
    const jobId = manifest.output[0]!.url.split('/').at(-2)!;
    t.equal((await fetch(`${server.fhirBase}/$export-status/${jobId}`)).status, 401);
  });

  t.test('kick-offs and downloads are in the audit trail', async (t) => {
    const { manifest } = await exportAll(`${server.fhirBase}/Patient/$export?_type=AllergyIntolerance`, token);
    await new Promise((r) => setTimeout(r, 600));
    const rows = await server.database.db.kysely.selectFrom('audit_events').selectAll().where('interaction', '=', 'export').where('client_id', '=', 'demo-backend').execute();
    const jobId = manifest.output[0]!.url.split('/').at(-2)!;
    t.ok(rows.some((r) => r.resource_type === 'Patient' && r.status === 202), 'the kick-off');
    t.ok(rows.some((r) => r.resource_type === 'AllergyIntolerance' && r.resource_id === jobId && r.status === 200), 'the download, by type and job');
  });
});

t.test('finished exports expire: status and files are gone, and the clean-up removes the files', async (t) => {
  const server = await startSmartServer(t, { env: { SANDBOX: 'true', EXPORT_RETENTION_SECONDS: '1' } });
  const token = await backendToken(server.issuer);
  const { manifest } = await exportAll(`${server.fhirBase}/Patient/$export?_type=Patient`, token);
  const jobId = manifest.output[0]!.url.split('/').at(-2)!;
  t.ok(existsSync(join(server.config.export.dir, jobId)));
  await new Promise((r) => setTimeout(r, 1_200));
  t.equal((await fetch(`${server.fhirBase}/$export-status/${jobId}`, { headers: { authorization: `Bearer ${token}` } })).status, 404);
  t.equal((await download(manifest.output[0]!.url, token)).status, 404);
  await server.exports!.sweep();
  t.notOk(existsSync(join(server.config.export.dir, jobId)), 'files removed');
  t.same(readdirSync(server.config.export.dir), []);
  const row = await server.database.db.kysely.selectFrom('export_jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
  t.equal(row, undefined, 'the job row is gone');
});

t.test('jobs wait their turn: 202 with X-Progress and Retry-After while queued, and a client over its limit gets 429', async (t) => {
  const server = await startSmartServer(t, { env: { SANDBOX: 'true', EXPORT_MAX_JOBS_PER_CLIENT: '2' } });
  const token = await backendToken(server.issuer);
  // No instance runs exports: every job stays queued.
  await server.exports!.stop();
  const first = await kickOff(`${server.fhirBase}/Patient/$export`, token);
  const second = await kickOff(`${server.fhirBase}/Patient/$export`, token);
  t.equal(first.status, 202);
  t.equal(second.status, 202);
  const status = await fetch(first.headers.get('content-location')!, { headers: { authorization: `Bearer ${token}` } });
  t.equal(status.status, 202);
  t.match(status.headers.get('x-progress'), /queued/);
  t.match(status.headers.get('retry-after'), /^\d+$/);
  const behind = await fetch(second.headers.get('content-location')!, { headers: { authorization: `Bearer ${token}` } });
  t.match(behind.headers.get('x-progress'), /queued behind 1 other export/);
  const third = await kickOff(`${server.fhirBase}/Patient/$export`, token);
  t.equal(third.status, 429);
  t.match(third.headers.get('retry-after'), /^\d+$/);
  t.match(await outcomeOf(third), /already has 2 exports waiting or running/);
  // Cancelling one makes room again.
  t.equal((await fetch(first.headers.get('content-location')!, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status, 202);
  t.equal((await kickOff(`${server.fhirBase}/Patient/$export`, token)).status, 202);
});

export type { Manifest };
