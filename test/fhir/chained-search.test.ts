// US Core 6.1 PractitionerRole: practitioner.name and practitioner.identifier (SHALL). One level of chaining, on the
// parameters whose definition lists it; the chained value is validated like any other; a chain in a scope filter
// grants nothing (it cannot be applied as a filter).
import t from 'tap';
import { startTestApp } from '../helpers/app.js';
import { DIRECTORY } from './us-core-fixtures.js';

t.test('chained search on PractitionerRole.practitioner', async (t) => {
  const app = await startTestApp(t);
  for (const r of DIRECTORY) await app.fhir.update(r.resourceType, r.id!, r);
  const get = async (url: string, headers: Record<string, string> = {}) => {
    const res = await app.server.inject({ url: `/fhir/${url}`, headers });
    const body = JSON.parse(res.body) as { entry?: { resource: { id: string }; search: { mode: string } }[]; issue?: { expression?: string[]; diagnostics: string }[] };
    return { status: res.statusCode, ids: (body.entry ?? []).filter((e) => e.search.mode === 'match').map((e) => e.resource.id).sort(), body };
  };

  t.same((await get('PractitionerRole?practitioner.name=lee')).ids, ['prr-1'], 'by the practitioner\'s family name (prefix, any case)');
  t.same((await get('PractitionerRole?practitioner.name=chidi')).ids, ['prr-2'], 'by a given name');
  t.same((await get('PractitionerRole?practitioner.name=nobody')).ids, [], 'no practitioner of that name: no roles');
  t.same((await get('PractitionerRole?practitioner.identifier=http://hl7.org/fhir/sid/us-npi|2222222228')).ids, ['prr-2'], 'by NPI, system|value');
  t.same((await get('PractitionerRole?practitioner.identifier=2222222228,1111111112')).ids, ['prr-1', 'prr-2'], 'OR inside the chain');
  t.same((await get('PractitionerRole?practitioner:Practitioner.name=okafor')).ids, ['prr-2'], 'with the type modifier');
  t.same((await get('PractitionerRole?practitioner.name=lee&specialty=207RC0000X')).ids, [], 'AND with another parameter');
  t.same((await get('PractitionerRole?practitioner.name=lee&_include=PractitionerRole:practitioner')).body.entry?.map((e) => e.resource.id), ['prr-1', 'pr-1']);

  const post = await app.server.inject({ method: 'POST', url: '/fhir/PractitionerRole/_search', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'practitioner.name=lee' });
  t.same(JSON.parse(post.body).entry.map((e: { resource: { id: string } }) => e.resource.id), ['prr-1'], 'POST _search too');

  const unknown = await get('PractitionerRole?practitioner.gender=male', { prefer: 'handling=strict' });
  t.equal(unknown.status, 400, 'a chain the definition does not list is refused under strict handling');
  t.match(unknown.body.issue?.[0]?.diagnostics, /practitioner\.name, practitioner\.identifier/);
  const lenient = await get('PractitionerRole?practitioner.gender=male');
  t.same(lenient.ids, ['prr-1', 'prr-2'], '... and ignored with a warning otherwise');
  t.same((await get('PractitionerRole?endpoint.name=x', { prefer: 'handling=strict' })).status, 400, 'a reference parameter without chains');
  const bad = await get('PractitionerRole?practitioner.identifier=|');
  t.equal(bad.status, 400, 'the chained value is validated');
  t.same(bad.body.issue?.[0]?.expression, ['identifier']);
});

t.test('a scope filter with a chained parameter grants nothing', async (t) => {
  const { accessPolicy } = await import('../../src/fhir/access-filter.js');
  const { parseScope } = await import('../../src/auth/scopes.js');
  const { resourceDef } = await import('../../src/fhir/definitions.js');
  const scope = parseScope('system/PractitionerRole.rs?practitioner.name=lee');
  t.equal(scope?.kind, 'resource');
  const grant = { clientId: 'c', scopes: [scope as never], expiresAt: Date.now() + 60_000, tokenHash: 'h' };
  const input = { grant, type: 'PractitionerRole', def: resourceDef('PractitionerRole'), interaction: 'search-type' as const, userPatients: undefined, fhirBaseUrl: 'http://localhost:8080/fhir' };
  t.throws(() => accessPolicy(input), { status: 403, message: /chained parameter/ }, 'refused, naming why');
  const plain = parseScope('system/PractitionerRole.rs?specialty=207Q00000X');
  t.ok(accessPolicy({ ...input, grant: { ...grant, scopes: [plain as never] } }).constraints.length, 'a plain filter still applies');
});
