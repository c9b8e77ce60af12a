import t from 'tap';
import { R4_PATIENT_COMPARTMENT, R4_RESOURCE_TYPES } from '../../src/fhir/r4-catalog.js';

const params = (type: string): Record<string, readonly string[]> =>
  Object.fromEntries((R4_PATIENT_COMPARTMENT[type] ?? []).map((p) => [p.param, p.paths]));

t.test('the resource types are the 146 concrete R4 4.0.1 types, sorted and without the abstract bases', async (t) => {
  // 148 codes in the 4.0.1 ResourceType code system, less Resource and DomainResource.
  t.equal(R4_RESOURCE_TYPES.length, 146);
  t.equal(new Set(R4_RESOURCE_TYPES).size, R4_RESOURCE_TYPES.length, 'no duplicates');
  t.same([...R4_RESOURCE_TYPES].sort(), R4_RESOURCE_TYPES, 'sorted');
  for (const type of ['Claim', 'ExplanationOfBenefit', 'ImagingStudy', 'Provenance', 'Bundle', 'Parameters', 'Patient', 'VisionPrescription']) {
    t.ok(R4_RESOURCE_TYPES.includes(type), `includes ${type}`);
  }
  for (const type of ['Resource', 'DomainResource', 'SubscriptionStatus', 'MedicationUsage', 'BodySite']) {
    t.notOk(R4_RESOURCE_TYPES.includes(type), `excludes ${type} (abstract, or not R4)`);
  }
});

t.test('the patient compartment has the published R4 parameters and the element paths they search', async (t) => {
  t.equal(Object.keys(R4_PATIENT_COMPARTMENT).length, 66);
  // Medplum's copy lists Encounter by `subject`; the published definition uses `patient`.
  t.same(R4_PATIENT_COMPARTMENT['Encounter'], [{ param: 'patient', paths: ['subject'] }]);
  t.same(params('Condition'), { patient: ['subject'], asserter: ['asserter'] });
  t.same(R4_PATIENT_COMPARTMENT['Coverage']?.map((p) => p.param), ['policy-holder', 'subscriber', 'beneficiary', 'payor']);
  t.same(params('Coverage')['policy-holder'], ['policyHolder'], 'search parameter code mapped to its element name');
  t.same(params('Observation'), { subject: ['subject'], performer: ['performer'] });
  t.same(params('AuditEvent'), { patient: ['agent.who', 'entity.what'] }, 'every branch of a union expression');
  t.same(params('CarePlan')['performer'], ['activity.detail.performer'], 'nested paths kept');
  t.same(params('Patient'), { link: ['link.other'] });
  t.same(params('Person'), { patient: ['link.target'] });
  t.same(params('Claim'), { patient: ['patient'], payee: ['payee.party'] });
  for (const type of ['Practitioner', 'Organization', 'Location', 'Medication', 'Bundle', 'Task']) {
    t.notOk(type in R4_PATIENT_COMPARTMENT, `${type} is not in the compartment`);
  }
});

t.test('every compartment entry names a resource type and well-formed element paths', async (t) => {
  const types = new Set(R4_RESOURCE_TYPES);
  for (const [type, entries] of Object.entries(R4_PATIENT_COMPARTMENT)) {
    t.ok(types.has(type), `${type} is a resource type`);
    t.ok(entries.length > 0, `${type} has parameters`);
    for (const { param, paths } of entries) {
      t.notOk(param.startsWith('{'), `${type}.${param} is a search parameter`);
      t.ok(paths.length > 0, `${type}.${param} reaches an element`);
      for (const path of paths) {
        t.match(path, /^[a-z][A-Za-z]*(\.[a-z][A-Za-z]*)*$/, `${type}.${param}: '${path}' is a dot path without the type name or FHIRPath functions`);
      }
    }
  }
});
