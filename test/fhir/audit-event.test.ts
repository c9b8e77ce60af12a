// The audit trail as FHIR AuditEvent: read and searched with a token that names system/AuditEvent.rs, refused to every
// other token (system/*.rs, patient/ and user/ scopes), never writable, paged newest first, and listed in /metadata.
import t from 'tap';
import type { AuditEvent, Bundle, CapabilityStatement, OperationOutcome } from 'fhir/r4.js';
import { backendToken } from '../helpers/bulk-client.js';
import { REDIRECT, authorize, fhirGet, oidcConfig, registerClient, startSmartServer, type SmartServer } from '../helpers/smart-server.js';

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';

async function search(server: SmartServer, token: string, query: string): Promise<{ status: number; bundle: Bundle<AuditEvent> }> {
  const r = await fhirGet(server, `/AuditEvent${query ? `?${query}` : ''}`, token);
  return { status: r.status, bundle: r.body as unknown as Bundle<AuditEvent> };
}
const events = (b: Bundle<AuditEvent>) => (b.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource!);
const subtypeCodes = (e: AuditEvent) => (e.subtype ?? []).map((c) => c.code);

/** Audit rows of FHIR accesses are written in batches (every 250 ms): wait until `check` holds. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

t.test('AuditEvent over the audit trail', async (t) => {
  const server = await startSmartServer(t);
  const auditor = await backendToken(server.issuer, 'system/AuditEvent.rs');
  const reader = await backendToken(server.issuer, 'system/*.rs');
  const patientsOnly = await backendToken(server.issuer, 'system/Patient.rs');

  // A few FHIR accesses to find again: reads, a search, and a refused read (403).
  t.equal((await fhirGet(server, '/Patient/maria-garcia', reader)).status, 200);
  t.equal((await fhirGet(server, '/Observation/maria-garcia-laboratory', reader)).status, 200);
  t.equal((await fhirGet(server, '/Observation?patient=daniel-kim', reader)).status, 200);
  t.equal((await fhirGet(server, '/Observation/daniel-kim-laboratory', patientsOnly)).status, 403);
  const mariaRead = await eventually('the read of Patient/maria-garcia in the trail', async () => {
    const { bundle } = await search(server, auditor, 'entity=Patient/maria-garcia&subtype=read');
    return events(bundle).find((e) => e.entity?.some((x) => x.what?.reference === 'Patient/maria-garcia'));
  });

  t.test('a FHIR read maps to an R4 AuditEvent: rest/read, the patient and the resource as entities, the app as agent', async (t) => {
    t.equal(mariaRead.resourceType, 'AuditEvent');
    t.same(mariaRead.type, { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' });
    t.same(subtypeCodes(mariaRead), ['read']);
    t.equal(mariaRead.action, 'R');
    t.equal(mariaRead.outcome, '0');
    t.match(mariaRead.recorded, /^\d{4}-\d{2}-\d{2}T/);
    t.ok(mariaRead.source.observer, 'the server is the observer');
    const app = mariaRead.agent.find((a) => a.who?.identifier?.value === 'demo-backend');
    t.ok(app?.requestor, 'the backend app is the requestor');
    t.ok(mariaRead.entity!.some((e) => e.what?.reference === 'Patient/maria-garcia' && e.role?.code === '1'), 'the patient, in the role Patient');
  });

  t.test('read by id answers the same resource; unknown and malformed ids are 404', async (t) => {
    const r = await fhirGet(server, `/AuditEvent/${mariaRead.id}`, auditor);
    t.equal(r.status, 200);
    t.same(r.body, mariaRead);
    t.match(r.headers.get('content-type'), /application\/fhir\+json/);
    t.equal((await fhirGet(server, '/AuditEvent/999999999', auditor)).status, 404);
    t.equal((await fhirGet(server, '/AuditEvent/not-a-number', auditor)).status, 404);
  });

  t.test('search by patient, entity, agent, type, subtype, action, outcome, date and _id', async (t) => {
    const only = async (query: string, pred: (e: AuditEvent) => boolean, label: string) => {
      const { status, bundle } = await search(server, auditor, `${query}&_count=1000`);
      t.equal(status, 200, `${query}: 200`);
      const found = events(bundle);
      t.ok(found.length > 0, `${label}: some events`);
      t.ok(found.every(pred), `${label}: every event matches`);
      return found;
    };
    await only('patient=maria-garcia', (e) => e.entity!.some((x) => x.what?.reference === 'Patient/maria-garcia'), 'patient');
    await only('patient=Patient/maria-garcia', (e) => e.entity!.some((x) => x.what?.reference === 'Patient/maria-garcia'), 'patient as a reference');
    await only('entity=Observation/maria-garcia-laboratory', (e) => e.entity!.some((x) => x.what?.reference === 'Observation/maria-garcia-laboratory'), 'entity');
    await only('agent=demo-backend', (e) => e.agent.some((a) => a.who?.identifier?.value === 'demo-backend'), 'agent');
    await only('type=rest', (e) => e.type.code === 'rest', 'type');
    const searches = await only('subtype=search-type', (e) => subtypeCodes(e).includes('search-type'), 'subtype search-type');
    t.ok(searches.some((e) => e.entity?.some((x) => x.description === 'Observation search')), 'the Observation search is there');
    await only('action=E', (e) => e.action === 'E', 'action');
    const refused = await only('outcome=4&type=rest', (e) => e.outcome === '4', 'outcome 4');
    t.ok(refused.some((e) => e.outcomeDesc === 'HTTP 403'), 'the refused read, with its status');
    await only(`date=ge${new Date(Date.now() - 3600_000).toISOString()}`, (e) => Date.parse(e.recorded) >= Date.now() - 3600_000, 'date ge');
    t.equal(events((await search(server, auditor, 'date=lt2000-01-01')).bundle).length, 0, 'nothing before 2000');
    const byId = await only(`_id=${mariaRead.id}`, (e) => e.id === mariaRead.id, '_id');
    t.equal(byId.length, 1);
    // Security events: the tokens issued above (DICOM 110114 User Authentication, our own subtype code).
    const issued = await only(`type=${encodeURIComponent(`${DCM}|110114`)}&subtype=token.issued`, (e) => e.type.code === '110114' && subtypeCodes(e).includes('token.issued'), 'security events');
    t.ok(issued.some((e) => e.agent.some((a) => a.who?.identifier?.value === 'demo-backend')), 'a client_credentials token of demo-backend');
    // Everything AND-ed: a FHIR read that is a search is nothing.
    t.equal(events((await search(server, auditor, 'subtype=read&action=E')).bundle).length, 0, 'parameters are AND-ed');
  });

  t.test('unknown parameters are ignored with a warning, or refused under handling=strict', async (t) => {
    const { status, bundle } = await search(server, auditor, 'color=blue&_count=1');
    t.equal(status, 200);
    const outcome = bundle.entry!.find((e) => e.search?.mode === 'outcome')?.resource as unknown as OperationOutcome;
    t.match(outcome.issue[0]!.diagnostics, /color is not supported/);
    const strict = await fetch(`${server.fhirBase}/AuditEvent?color=blue`, { headers: { authorization: `Bearer ${auditor}`, prefer: 'handling=strict' } });
    t.equal(strict.status, 400);
    t.equal((await fhirGet(server, '/AuditEvent?date=yesterday', auditor)).status, 400, 'a malformed date is 400');
  });

  t.test('paging: _count pages newest first through next links, every event once', async (t) => {
    const all = events((await search(server, auditor, '_count=1000')).bundle).map((e) => Number(e.id));
    t.ok(all.length >= 6, `${all.length} events in the trail`);
    t.same(all, [...all].sort((a, b) => b - a), 'newest (highest id) first');
    const seen: number[] = [];
    let url: string | undefined = `${server.fhirBase}/AuditEvent?_count=2`;
    let pages = 0;
    while (url) {
      const res = await fetch(url, { headers: { authorization: `Bearer ${auditor}` } });
      const bundle = (await res.json()) as Bundle<AuditEvent>;
      t.ok(events(bundle).length <= 2, 'at most _count per page');
      seen.push(...events(bundle).map((e) => Number(e.id)));
      url = bundle.link?.find((l) => l.relation === 'next')?.url;
      pages++;
    }
    // Reading the trail is itself audited, so the first pages also hold rows newer than the list above; a cursor
    // keeps each later page where the one before it ended.
    const listed = new Set(all);
    t.same(seen.filter((id) => listed.has(id)), all, 'every event of the list, in the same order');
    t.ok(seen.every((id) => listed.has(id) || id > all[0]!), 'anything else is newer');
    t.same(seen, [...seen].sort((a, b) => b - a), 'newest first across pages');
    t.equal(new Set(seen).size, seen.length, 'no event twice');
    t.ok(pages >= 3, `${pages} pages`);
    const paged = await search(server, auditor, 'type=rest&_count=1');
    t.match(paged.bundle.link!.find((l) => l.relation === 'next')!.url, /type=rest.*_cursor=/, 'next keeps the filters');
  });

  t.test('only a token naming system/AuditEvent.rs reads the trail: system/*.rs, patient/ and user/ scopes get 403', async (t) => {
    for (const [label, token] of [
      ['system/*.rs', reader],
      ['system/Patient.rs', patientsOnly],
    ] as const) {
      for (const path of ['/AuditEvent', `/AuditEvent/${mariaRead.id}`]) {
        const r = await fhirGet(server, path, token);
        t.equal(r.status, 403, `${label}: ${path} is 403`);
        t.match((r.body as unknown as OperationOutcome).issue[0]!.diagnostics, /needs system\/AuditEvent\.rs/, 'the refusal names the scope');
      }
    }
    // A patient's app with every patient scope: its own record's accesses are on the portal, not here.
    const app = await registerClient(server, { client_name: 'Patient app', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', scope: 'openid fhirUser launch/patient patient/*.rs user/*.rs' });
    const config = await oidcConfig(server, app.client_id);
    const { tokens } = await authorize(server, config, { scope: 'launch/patient patient/*.rs' });
    t.equal((await fhirGet(server, '/AuditEvent?patient=maria-garcia', tokens.access_token)).status, 403, 'patient/*.rs: 403');
    t.equal((await fhirGet(server, `/AuditEvent/${mariaRead.id}`, tokens.access_token)).status, 403, 'patient/*.rs read: 403');
    const user = await authorize(server, config, { scope: 'openid fhirUser user/*.rs' });
    t.equal((await fhirGet(server, '/AuditEvent', user.tokens.access_token)).status, 403, 'user/*.rs: 403');
    t.equal((await fhirGet(server, '/AuditEvent')).status, 401, 'no token: 401');
  });

  t.test('a client allowed only system/*.rs is not granted system/AuditEvent.rs when it asks', async (t) => {
    const c = await registerClient(server, { client_name: 'Wildcard backend', grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_basic', scope: 'system/*.rs' });
    const res = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'system/AuditEvent.rs system/Patient.rs' }),
    });
    const body = (await res.json()) as { scope?: string; access_token?: string };
    t.equal(res.status, 200);
    t.equal(body.scope, 'system/Patient.rs', 'the AuditEvent scope is dropped');
    t.equal((await fhirGet(server, '/AuditEvent', body.access_token)).status, 403);
  });

  t.test('AuditEvent is read-only: create, update, delete and history are 405, and nothing lands in the resources table', async (t) => {
    const body = JSON.stringify({ resourceType: 'AuditEvent', type: { code: 'rest' }, recorded: '2026-01-01T00:00:00Z', agent: [{ requestor: true }], source: { observer: { display: 'x' } } });
    const headers = { authorization: `Bearer ${auditor}`, 'content-type': 'application/fhir+json' };
    for (const [method, path] of [
      ['POST', '/AuditEvent'],
      ['PUT', `/AuditEvent/${mariaRead.id}`],
      ['DELETE', `/AuditEvent/${mariaRead.id}`],
      ['GET', `/AuditEvent/${mariaRead.id}/_history`],
    ] as const) {
      const withBody = method === 'POST' || method === 'PUT';
      const res = await fetch(`${server.fhirBase}${path}`, { method, headers: withBody ? headers : { authorization: headers.authorization }, ...(withBody ? { body } : {}) });
      t.equal(res.status, 405, `${method} ${path}: 405`);
      t.match(((await res.json()) as OperationOutcome).issue[0]!.diagnostics, /read-only/);
    }
    // The system/*.rs token's generic create path never sees the type either.
    const asWriter = await fetch(`${server.fhirBase}/AuditEvent`, { method: 'POST', headers: { ...headers, authorization: `Bearer ${reader}` }, body });
    t.equal(asWriter.status, 405);
    const stored = await server.database.db.kysely.selectFrom('resources').select((eb) => eb.fn.countAll<number>().as('n')).where('type', '=', 'AuditEvent').executeTakeFirstOrThrow();
    t.equal(Number(stored.n), 0, 'no AuditEvent resource stored');
    t.equal((await fhirGet(server, `/AuditEvent/${mariaRead.id}`, auditor)).status, 200, 'the event is still there');
  });

  t.test('the CapabilityStatement lists AuditEvent with read and search only, and its search parameters', async (t) => {
    const cs = (await fhirGet(server, '/metadata')).body as unknown as CapabilityStatement;
    const audit = cs.rest![0]!.resource!.find((r) => r.type === 'AuditEvent')!;
    t.same(audit.interaction!.map((i) => i.code), ['read', 'search-type']);
    t.equal(audit.updateCreate, false);
    t.equal(audit.readHistory, false);
    for (const p of ['date', 'patient', 'entity', 'agent', 'altid', 'type', 'subtype', 'action', 'outcome', '_id']) t.ok(audit.searchParam!.some((s) => s.name === p), `searchParam ${p}`);
  });

  t.test('reading the trail is audited too', async (t) => {
    await eventually('an AuditEvent search in the trail', async () => {
      const { bundle } = await search(server, auditor, 'entity=AuditEvent/' + mariaRead.id);
      return events(bundle).length ? true : undefined;
    });
    t.pass('the read of AuditEvent/<id> is itself an AuditEvent');
  });
});
