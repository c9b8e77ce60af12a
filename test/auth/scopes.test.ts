import t from 'tap';
import { parseScope, parseScopes, type ResourceScope } from '../../src/auth/scopes.js';

const res = (raw: string) => parseScope(raw) as ResourceScope | undefined;

t.test('v1 scopes map read to r+s, write to c+u+d and * to all five operations', async (t) => {
  t.same([...res('patient/Observation.read')!.operations], ['r', 's']);
  t.same([...res('user/*.write')!.operations], ['c', 'u', 'd']);
  t.same([...res('system/Patient.*')!.operations], ['c', 'r', 'u', 'd', 's']);
  t.equal(res('patient/*.read')!.type, '*');
  t.equal(res('patient/Observation.read')!.version, 1);
});

t.test('v2 scopes accept cruds letters only in order', async (t) => {
  t.same([...res('patient/Observation.rs')!.operations], ['r', 's']);
  t.same([...res('user/Patient.cruds')!.operations], ['c', 'r', 'u', 'd', 's']);
  t.equal(res('patient/Observation.rs')!.version, 2);
  for (const bad of ['patient/Observation.sr', 'patient/Observation.rr', 'patient/Observation.x', 'patient/Observation.', 'patient/Observation.srudc']) {
    t.equal(parseScope(bad), undefined, `${bad} is refused`);
  }
});

t.test('granular v2 scopes carry their search filter', async (t) => {
  const s = res('patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory')!;
  t.same(s.query, [['category', 'http://terminology.hl7.org/CodeSystem/observation-category|laboratory']]);
  t.equal(parseScope('patient/Observation.read?category=laboratory'), undefined, 'a filter on a v1 scope is refused');
  t.equal(parseScope('patient/Observation.rs?'), undefined, 'an empty filter is refused');
});

t.test('launch, identity and access-duration scopes are recognised; anything else is dropped', async (t) => {
  const { scopes, dropped } = parseScopes('openid fhirUser launch launch/patient offline_access online_access profile bogus:scope patient/Foo patient/observation.read openid');
  t.same(scopes.map((s) => s.raw), ['openid', 'fhirUser', 'launch', 'launch/patient', 'offline_access', 'online_access', 'profile']);
  t.same(dropped, ['bogus:scope', 'patient/Foo', 'patient/observation.read']);
});

t.test('scope text outside the RFC 6749 character set is refused', async (t) => {
  t.equal(parseScope('patient/Observation.rs?code="x"'), undefined);
  t.equal(parseScope('patient/Observation.rs?code=a\\b'), undefined);
});
