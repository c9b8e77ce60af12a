import t from 'tap';
import type { CapabilityStatement } from 'fhir/r4.js';
import { COMMON_PARAMS, RESOURCE_DEFS, US_CORE_TYPE_NAMES, resourceDef, searchParam } from '../../src/fhir/definitions.js';
import { R4_PATIENT_COMPARTMENT, R4_RESOURCE_TYPES } from '../../src/fhir/r4-catalog.js';
import { resourceScopesSupported } from '../../src/auth/scopes-supported.js';
import { startTestApp } from '../helpers/app.js';

// The types the issue names: the whole US Core record a certified EHR serves.
const US_CORE_RECORD = [
  'AllergyIntolerance', 'CarePlan', 'CareTeam', 'Condition', 'Coverage', 'Device', 'DiagnosticReport', 'DocumentReference',
  'Encounter', 'Goal', 'Immunization', 'Location', 'Medication', 'MedicationDispense', 'MedicationRequest',
  'MedicationStatement', 'Observation', 'Organization', 'Patient', 'Practitioner', 'PractitionerRole', 'Procedure',
  'Provenance', 'QuestionnaireResponse', 'RelatedPerson', 'ServiceRequest', 'Specimen',
];

t.test('the definitions table is consistent with FHIR R4 and US Core', async (t) => {
  t.test('every type of the US Core record has US Core search, Group the R4 parameters, and every other storable R4 type basic search', async (t) => {
    t.same([...US_CORE_TYPE_NAMES].sort(), [...US_CORE_RECORD].sort());
    for (const type of R4_RESOURCE_TYPES) {
      const def = resourceDef(type);
      // AuditEvent is the audit trail, served from the audit store (test/fhir/audit-event.test.ts).
      if (['Bundle', 'Parameters', 'OperationOutcome', 'AuditEvent'].includes(type)) t.notOk(def, `${type} is not stored`);
      else t.equal(def?.support, US_CORE_RECORD.includes(type) ? 'us-core' : type === 'Group' ? 'r4' : 'basic', type);
    }
    t.equal(RESOURCE_DEFS.length, R4_RESOURCE_TYPES.length - 4);
  });

  t.test('compartment membership follows the R4 patient CompartmentDefinition (Device added through Device.patient)', async (t) => {
    // Device joins through Device.patient; Group (many patients at once) leaves: see definitions.ts.
    const { Group: _group, ...r4 } = R4_PATIENT_COMPARTMENT;
    const compartment: Record<string, readonly { paths: readonly string[] }[]> = { ...r4, Device: [{ paths: ['patient'] }] };
    for (const def of RESOURCE_DEFS) {
      t.equal(def.inCompartment, def.type in compartment, `${def.type} in the compartment`);
      const r4Paths = new Set((compartment[def.type] ?? []).flatMap((p) => p.paths));
      // Our paths are the R4 ones, in the order that puts the primary subject first.
      for (const path of def.patientPaths) t.ok(r4Paths.has(path), `${def.type}.${path} is a compartment path in R4`);
      if (def.inCompartment && def.type !== 'Patient') t.ok(def.patientPaths.length > 0, `${def.type} says where its patient is`);
      const patient = searchParam(def, 'patient');
      if (def.inCompartment && def.type !== 'Patient') t.ok(patient?.compartment, `${def.type}?patient searches the compartment`);
    }
  });

  t.test('every US Core search combination names parameters the type has, and includes name reference parameters', async (t) => {
    const common = new Set(COMMON_PARAMS.map((p) => p.name));
    for (const def of RESOURCE_DEFS) {
      for (const c of def.combinations) for (const n of c.names) t.ok(common.has(n) || searchParam(def, n), `${def.type}: ${c.names.join('+')} has ${n}`);
      for (const inc of def.includes) {
        const [type, name, target] = inc.split(':');
        t.equal(type, def.type, inc);
        const p = searchParam(def, name!);
        t.equal(p?.kind, 'reference', `${inc} names a reference parameter`);
        if (target) t.ok(!p?.targets || p.targets.includes(target), `${inc}: ${target} is a target of ${name}`);
      }
      const names = def.params.map((p) => p.name);
      t.equal(new Set(names).size, names.length, `${def.type} has no duplicate parameter`);
    }
  });
});

t.test('the CapabilityStatement and the SMART configuration list every type from the same table', async (t) => {
  const app = await startTestApp(t);
  const res = await app.server.inject({ url: '/fhir/metadata' });
  t.equal(res.statusCode, 200);
  const cs = JSON.parse(res.body) as CapabilityStatement;
  t.same(cs.instantiates, ['http://hl7.org/fhir/us/core/CapabilityStatement/us-core-server|6.1.0']);
  const resources = cs.rest![0]!.resource!;
  t.equal(resources.length, RESOURCE_DEFS.length, 'one entry per served type');

  const byType = new Map(resources.map((r) => [r.type, r]));
  const condition = byType.get('Condition')!;
  t.same(condition.interaction!.map((i) => i.code), ['read', 'vread', 'history-instance', 'search-type', 'create', 'update', 'delete']);
  t.ok(condition.supportedProfile!.includes('http://hl7.org/fhir/us/core/StructureDefinition/us-core-condition-problems-health-concerns'));
  t.ok(condition.supportedProfile!.includes('http://hl7.org/fhir/us/core/StructureDefinition/us-core-condition-encounter-diagnosis'));
  for (const p of ['patient', 'category', 'clinical-status', 'code', 'onset-date', 'abatement-date', 'asserted-date', 'recorded-date', 'encounter', '_id', '_lastUpdated']) {
    t.ok(condition.searchParam!.some((s) => s.name === p), `Condition search parameter ${p}`);
  }
  t.same(condition.searchRevInclude, ['Provenance:target']);
  const combos = (condition.extension ?? []).map((e) => e.extension!.filter((x) => x.url === 'required').map((x) => x.valueString).join('+'));
  t.ok(combos.includes('patient+category'), 'search combinations are listed');
  t.ok(byType.get('MedicationRequest')!.searchInclude!.includes('MedicationRequest:medication'));
  t.same(byType.get('Practitioner')!.searchRevInclude, undefined, 'no Provenance revinclude outside the compartment');
  const claim = byType.get('Claim')!;
  t.same(claim.searchParam!.map((p) => p.name).sort(), ['_id', '_lastUpdated', 'patient']);
  t.match(claim.documentation, /Basic search/);

  const scopes = resourceScopesSupported();
  for (const type of US_CORE_RECORD) t.ok(scopes.includes(`patient/${type}.rs`), `scopes_supported has patient/${type}.rs`);
  t.ok(scopes.includes('patient/Observation.rs?category=http://hl7.org/fhir/us/core/CodeSystem/us-core-category|sdoh'));
  t.ok(scopes.includes('patient/Condition.rs?category=http://terminology.hl7.org/CodeSystem/condition-category|problem-list-item'));
});
