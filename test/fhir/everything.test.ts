// Patient/[id]/$everything: the patient's compartment plus the shared resources it points at, paged with opaque
// cursors, narrowed by _type and _since, and never wider than the token: types it lacks are left out, granular
// filters apply, and another patient's record is 404.
import t from 'tap';
import type { SmartServer } from '../helpers/smart-server.js';
import { LAB, REDIRECT, authorize, fhirGet, oidcConfig, registerClient, startSmartServer } from '../helpers/smart-server.js';
import { backendToken } from '../helpers/bulk-client.js';

interface Entry {
  fullUrl: string;
  resource: { resourceType: string; id: string };
  search: { mode: string };
}
interface Bundle {
  resourceType: string;
  type: string;
  total?: number;
  link: { relation: string; url: string }[];
  entry?: Entry[];
}

const A = 'daniel-kim';
const B = 'maria-garcia';

const key = (e: Entry) => `${e.resource.resourceType}/${e.resource.id}`;
const matchKeys = (b: Bundle) => (b.entry ?? []).filter((e) => e.search.mode === 'match').map(key);
const includeKeys = (b: Bundle) => (b.entry ?? []).filter((e) => e.search.mode === 'include').map(key);
const next = (b: Bundle) => b.link.find((l) => l.relation === 'next')?.url;

/** Daniel's record gains a visit, a problem, a prescription and a procedure; Maria gets a problem of her own. */
async function seedRecords(server: SmartServer): Promise<void> {
  const put = (type: string, id: string, body: Record<string, unknown>) => server.fhir.update(type, id, { resourceType: type, id, ...body });
  await put('Practitioner', 'dr-ev', { name: [{ family: 'Okafor', given: ['Ada'] }] });
  await put('Practitioner', 'dr-maria', { name: [{ family: 'Lind', given: ['Eva'] }] });
  await put('Medication', 'med-ev', { code: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '197361' }] } });
  // Referenced by nothing: must not ride along.
  await put('Organization', 'org-unreferenced', { name: 'Nobody points here' });
  const subject = { reference: `Patient/${A}` };
  await put('Encounter', 'ev-encounter', {
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject,
    participant: [{ individual: { reference: 'Practitioner/dr-ev' } }],
  });
  await put('Condition', 'ev-condition', { subject, code: { text: 'Seasonal allergic rhinitis' } });
  await put('MedicationRequest', 'ev-prescription', {
    status: 'active',
    intent: 'order',
    subject,
    medicationReference: { reference: 'Medication/med-ev' },
    requester: { reference: 'Practitioner/dr-ev' },
  });
  await put('Procedure', 'ev-procedure', { status: 'completed', subject, performer: [{ actor: { reference: 'Practitioner/dr-ev' } }] });
  await put('Condition', 'maria-condition', { subject: { reference: `Patient/${B}` }, asserter: { reference: 'Practitioner/dr-maria' } });
}

const A_RECORD = [
  `Patient/${A}`,
  `Observation/${A}-laboratory`,
  `Observation/${A}-vital-signs`,
  `AllergyIntolerance/${A}-allergy`,
  'Encounter/ev-encounter',
  'Condition/ev-condition',
  'MedicationRequest/ev-prescription',
  'Procedure/ev-procedure',
];
const A_REFERENCED = ['Medication/med-ev', 'Practitioner/dr-ev'];

t.test('Patient/$everything', async (t) => {
  const server = await startSmartServer(t);
  await seedRecords(server);
  const client = await registerClient(server, {
    client_name: 'Everything',
    redirect_uris: [REDIRECT],
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    scope: 'openid fhirUser launch/patient patient/*.rs',
  });
  const config = await oidcConfig(server, client.client_id);
  const daniel = { username: 'daniel', password: 'smart-demo' };
  const { tokens } = await authorize(server, config, { scope: 'launch/patient patient/*.rs' }, daniel);
  const token = tokens.access_token;
  const everything = async (query = '', tok = token, patient = A) => {
    const res = await fhirGet(server, `/Patient/${patient}/$everything${query}`, tok);
    return { status: res.status, bundle: res.body as unknown as Bundle, outcome: res.body as { issue?: { diagnostics: string; expression?: string[] }[] } };
  };

  t.test("returns the patient first, then exactly the patient's compartment and the shared resources it points at", async (t) => {
    const { status, bundle } = await everything();
    t.equal(status, 200);
    t.equal(bundle.type, 'searchset');
    t.equal(key(bundle.entry![0]!), `Patient/${A}`, 'the Patient leads');
    t.same(matchKeys(bundle).sort(), [...A_RECORD].sort(), "Daniel's record, nothing of Maria's");
    t.same(includeKeys(bundle).sort(), A_REFERENCED, 'the referenced Practitioner and Medication, not the unreferenced Organization nor Maria\'s doctor');
    t.equal(bundle.total, A_RECORD.length);
    t.notOk(next(bundle), 'one page holds it all');
  });

  for (const count of [1, 2, 3]) {
    t.test(`paging with _count=${count} walks the whole record exactly once, each page carrying what it references`, async (t) => {
      const seen: string[] = [];
      const pageIncludes: string[][] = [];
      let url: string | undefined = `${server.fhirBase}/Patient/${A}/$everything?_count=${count}`;
      let pages = 0;
      while (url && pages < 20) {
        const res = await fhirGet(server, url.slice(server.fhirBase.length), token);
        t.equal(res.status, 200);
        const bundle = res.body as unknown as Bundle;
        const matches = matchKeys(bundle);
        t.ok(matches.length <= count, `page ${pages + 1} holds at most ${count} matches`);
        seen.push(...matches);
        pageIncludes.push(includeKeys(bundle));
        // Every Practitioner/Medication on a page is pointed at by a match on that page.
        const referencing = new Set(matches.flatMap((m) => (['Encounter/ev-encounter', 'Procedure/ev-procedure'].includes(m) ? ['Practitioner/dr-ev'] : m === 'MedicationRequest/ev-prescription' ? A_REFERENCED : [])));
        t.same(includeKeys(bundle).sort(), [...referencing].sort(), `page ${pages + 1} includes exactly what its matches reference`);
        url = next(bundle);
        pages++;
      }
      t.equal(seen[0], `Patient/${A}`);
      t.same([...seen].sort(), [...A_RECORD].sort(), 'every resource once, none repeated');
      t.equal(new Set(seen).size, seen.length, 'no repeats');
      t.equal(pages, Math.ceil(A_RECORD.length / count));
      t.same([...new Set(pageIncludes.flat())].sort(), A_REFERENCED);
    });
  }

  t.test('writes between pages neither repeat what was seen nor hide what is added ahead', async (t) => {
    const first = await everything('?_count=2');
    const seen = matchKeys(first.bundle);
    t.same(seen, [`Patient/${A}`, `AllergyIntolerance/${A}-allergy`], 'types walk in a stable order');
    // Rewrite what page 1 showed and add a resource the walk has not reached yet.
    await server.fhir.update('AllergyIntolerance', `${A}-allergy`, { resourceType: 'AllergyIntolerance', id: `${A}-allergy`, patient: { reference: `Patient/${A}` }, criticality: 'low' });
    await server.fhir.update('Condition', 'ev-late', { resourceType: 'Condition', id: 'ev-late', subject: { reference: `Patient/${A}` } });
    t.teardown(() => server.fhir.delete('Condition', 'ev-late'));
    let url = next(first.bundle);
    while (url) {
      const res = await fhirGet(server, url.slice(server.fhirBase.length), token);
      seen.push(...matchKeys(res.body as unknown as Bundle));
      url = next(res.body as unknown as Bundle);
    }
    t.same([...seen].sort(), [...A_RECORD, 'Condition/ev-late'].sort());
  });

  t.test('_type limits the answer to the types named', async (t) => {
    const { status, bundle } = await everything('?_type=Condition,Observation');
    t.equal(status, 200);
    t.same(matchKeys(bundle).sort(), ['Condition/ev-condition', `Observation/${A}-laboratory`, `Observation/${A}-vital-signs`]);
    t.same(includeKeys(bundle), [], 'nothing else rides along');
    const withPatient = await everything('?_type=Patient&_type=MedicationRequest,Medication');
    t.same(matchKeys(withPatient.bundle), [`Patient/${A}`, 'MedicationRequest/ev-prescription']);
    t.same(includeKeys(withPatient.bundle), ['Medication/med-ev'], 'a shared type named in _type comes with what references it');
  });

  t.test('an unknown _type is a 400 OperationOutcome naming _type', async (t) => {
    const { status, outcome } = await everything('?_type=Condition,Prescription');
    t.equal(status, 400);
    t.same(outcome.issue![0]!.expression, ['_type']);
    t.match(outcome.issue![0]!.diagnostics, /Prescription/);
  });

  t.test('_since leaves out what was last updated before it', async (t) => {
    await new Promise((r) => setTimeout(r, 5));
    const since = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    await server.fhir.update('Condition', 'ev-condition', { resourceType: 'Condition', id: 'ev-condition', subject: { reference: `Patient/${A}` }, code: { text: 'Hay fever' } });
    const { status, bundle } = await everything(`?_since=${encodeURIComponent(since)}`);
    t.equal(status, 200);
    t.same(matchKeys(bundle), ['Condition/ev-condition'], 'only the resource changed after _since');
    t.equal(bundle.total, 1);
    const before = await everything('?_since=2000-01-01T00:00:00Z');
    t.equal(matchKeys(before.bundle).length, A_RECORD.length, 'an early _since leaves everything in (control)');
    const bad = await everything('?_since=yesterday');
    t.equal(bad.status, 400);
  });

  t.test('an edited cursor, or one from another patient, is a 400', async (t) => {
    const first = await everything('?_count=2');
    const url = new URL(next(first.bundle)!);
    const cursor = url.searchParams.get('_cursor')!;
    const i = Math.floor(cursor.length / 2);
    url.searchParams.set('_cursor', `${cursor.slice(0, i)}${cursor[i] === 'A' ? 'B' : 'A'}${cursor.slice(i + 1)}`);
    const edited = await fhirGet(server, url.toString().slice(server.fhirBase.length), token);
    t.equal(edited.status, 400);
    t.same((edited.body as { issue: { expression: string[] }[] }).issue[0]!.expression, ['_cursor']);
    const garbage = await everything('?_cursor=not-a-cursor');
    t.equal(garbage.status, 400);
    const untouched = await fhirGet(server, next(first.bundle)!.slice(server.fhirBase.length), token);
    t.equal(untouched.status, 200, 'the same link unedited works (control)');

    const system = await backendToken(server.issuer);
    const elsewhere = await everything(`?_count=2&_cursor=${cursor}`, system, B);
    t.equal(elsewhere.status, 400, "Daniel's cursor does not page through Maria's record");
  });

  t.test('a granular Observation scope gets the Patient and the lab results only', async (t) => {
    const scope = `launch/patient patient/Patient.rs patient/Observation.rs?category=${LAB}`;
    const granted = await authorize(server, config, { scope }, daniel);
    t.equal(granted.tokens.scope, scope);
    const { status, bundle } = await everything('', granted.tokens.access_token);
    t.equal(status, 200);
    t.same(matchKeys(bundle), [`Patient/${A}`, `Observation/${A}-laboratory`], 'no vital signs, no types the token lacks');
    t.same(includeKeys(bundle), [], 'no Practitioner or Medication without a scope for them');
    t.equal(bundle.total, 2);
  });

  t.test("a patient token for Daniel asking for Maria's $everything gets 404, and a token without Patient gets 403", async (t) => {
    const other = await everything('', token, B);
    t.equal(other.status, 404);
    t.notMatch(JSON.stringify(other.bundle), /maria-condition|dr-maria/);
    const noPatient = await authorize(server, config, { scope: 'launch/patient patient/Observation.rs' }, daniel);
    const refused = await everything('', noPatient.tokens.access_token);
    t.equal(refused.status, 403);
    t.match(refused.outcome.issue![0]!.diagnostics, /Reading Patient needs patient\/Patient\.rs/);
  });

  t.test("a system token sees Maria's record, not Daniel's, and POST with a Parameters body works like GET", async (t) => {
    const system = await backendToken(server.issuer);
    const maria = await everything('', system, B);
    t.equal(maria.status, 200);
    t.ok(matchKeys(maria.bundle).includes('Condition/maria-condition'));
    t.notOk(matchKeys(maria.bundle).some((k) => k.includes(A) || k.startsWith('Encounter/ev-')));
    t.same(includeKeys(maria.bundle), ['Practitioner/dr-maria']);
    const res = await fetch(`${server.fhirBase}/Patient/${A}/$everything`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: '_type', valueCode: 'Procedure' }] }),
    });
    t.equal(res.status, 200);
    const bundle = (await res.json()) as Bundle;
    t.same(matchKeys(bundle), ['Procedure/ev-procedure']);
    t.same(includeKeys(bundle), [], 'Practitioner not in _type');
  });

  t.test('start and end are answered with a warning that they are not supported', async (t) => {
    const { status, bundle } = await everything('?start=2020-01-01&_type=Condition');
    t.equal(status, 200);
    const outcome = bundle.entry!.find((e) => e.search.mode === 'outcome');
    t.match(JSON.stringify(outcome), /start \(a care date range\) is not supported/);
  });

  t.test('the capability statement advertises $everything on Patient', async (t) => {
    const res = await fhirGet(server, '/metadata');
    const rest = (res.body as { rest: { resource: { type: string; operation?: { name: string; definition: string }[] }[] }[] }).rest[0]!;
    t.same(
      rest.resource.find((r) => r.type === 'Patient')!.operation!.filter((o) => o.name === 'everything'),
      [{ name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' }],
    );
  });

  t.test("$everything is recorded in the patient's access history", async (t) => {
    await everything('?_type=Condition');
    await new Promise((r) => setTimeout(r, 600)); // the audit buffer flushes every 250 ms
    const events = await server.portal!.auditLog.listForPatients([A], 50);
    t.ok(events.some((e) => e.clientId === client.client_id && e.resourceType === 'Patient' && e.resourceId === A && e.interaction === 'everything' && e.status === 200));
  });
});

