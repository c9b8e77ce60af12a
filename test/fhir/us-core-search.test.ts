// Every search parameter of every US Core 6.1.0 type, against hand-written records of two patients: each parameter
// has searches that must return exactly the expected ids and searches that must return none (the other patient, a
// wrong category, code, status or system, a date outside the range). Then the result parameters per type: _sort,
// _count paging, _summary=count, _include, _revinclude=Provenance:target, and POST _search.
import t from 'tap';
import { US_CORE_DEFS } from '../../src/fhir/us-core-types.js';
import { FHIR_BASE, startTestApp } from '../helpers/app.js';
import type { SearchBundle } from './fixtures.js';
import {
  ACT,
  AI_CLINICAL,
  AI_VER,
  CAREPLAN_CAT,
  COND_CAT,
  COND_CLINICAL,
  CPT,
  CVX,
  DISCHARGE,
  DOC_CAT,
  DR_CAT,
  HRSN,
  IDS,
  LOINC,
  MRN,
  MS_CAT,
  NPI,
  NUCC,
  OBS_CAT,
  PHQ9,
  RXNORM,
  SNOMED,
  SOPT,
  RECORDS_OF_A,
  US_CAT,
  seedUsCore,
} from './us-core-fixtures.js';

const FHIR = 'http://hl7.org/fhir/';
const enc = encodeURIComponent;

/** A search and the ids it must return, exactly; [] for a negative case. */
type Row = readonly [query: string, ids: readonly string[]];

interface Case {
  readonly type: string;
  readonly param: string;
  readonly rows: readonly Row[];
}

const cases: Case[] = [];
const add = (type: string, param: string, ...rows: Row[]) => cases.push({ type, param, rows });
const none = (...queries: string[]): Row[] => queries.map((q) => [q, []]);

/** Token: the bare code, system|code, and a wrong system with the same code (none); plus rows of its own. */
function tok(type: string, param: string, scope: string, system: string, code: string, ids: readonly string[], ...rows: Row[]) {
  add(type, param, [`${scope}${param}=${enc(code)}`, ids], [`${scope}${param}=${enc(`${system}|${code}`)}`, ids], [`${scope}${param}=${enc(`http://example.org/wrong|${code}`)}`, []], ...rows);
}

/** Reference: id, Type/id and the absolute URL on this server; plus rows of its own. */
function rf(type: string, param: string, scope: string, target: string, ids: readonly string[], ...rows: Row[]) {
  const id = target.split('/')[1]!;
  add(type, param, [`${scope}${param}=${id}`, ids], [`${scope}${param}=${target}`, ids], [`${scope}${param}=${enc(`${FHIR_BASE}/${target}`)}`, ids], ...rows);
}

const PA = 'patient=pa&';
const PB = 'patient=pb&';

// --- Patient ---------------------------------------------------------------------------------------------------
tok('Patient', 'identifier', '', MRN, 'A-1001', ['pa'], ...none('identifier=A-1002', `identifier=${enc('http://other.example.org/mrn|A-1001')}`));
add('Patient', 'name', ['name=shaw', ['pa']], ['name=ms', ['pa']], ['name=BEN', ['pb']], ...none('name=ortizz', 'name=haw'));
add('Patient', 'family', ['family=ortiz', ['pb']], ...none('family=ben', 'family=amy'));
add('Patient', 'given', ['given=valerie', ['pa']], ...none('given=shaw'));
add('Patient', 'birthdate', ['birthdate=1987-02-20', ['pa']], ['birthdate=1987', ['pa']], ['birthdate=lt1960', ['pb']], ['birthdate=ge1950-05-01&birthdate=le1950-05-01', ['pb']], ...none('birthdate=1988', 'birthdate=1987-02-21'));
tok('Patient', 'gender', '', `${FHIR}administrative-gender`, 'male', ['pb'], ['gender=male,female', ['pa', 'pb']], ...none('gender=other'));
add('Patient', 'death-date', ['death-date=2024-01', ['pb']], ['death-date=gt2023', ['pb']], ['death-date:missing=true', ['pa']], ...none('death-date=2023', 'death-date=lt2024-01-15'));
add('Patient', 'address', ['address=mounds', ['pa']], ['address=10 elm', ['pb']], ['address=02118', ['pb']], ...none('address=denver', 'address=meadow'));
add('Patient', 'address-city', ['address-city=boston', ['pb']], ...none('address-city=meadow', 'address-city=springfield'));
add('Patient', 'address-state', ['address-state=OK', ['pa']], ...none('address-state=TX'));
add('Patient', 'address-postalcode', ['address-postalcode=740', ['pa']], ...none('address-postalcode=99999'));
tok('Patient', 'telecom', '', 'phone', '555-555-0101', ['pa'], [`telecom=${enc('email|ben@example.org')}`, ['pb']], ...none('telecom=555-555-0102', `telecom=${enc('email|555-555-0101')}`));

// --- Observation: the categories beyond labs and vitals --------------------------------------------------------
rf('Observation', 'patient', '', 'Patient/pa', ['obs-a-func', 'obs-a-hgb', 'obs-a-sdoh', 'obs-a-smoke'], ['patient=pb', ['obs-b-sdoh', 'obs-b-smoke']], ...none('patient=nobody'));
rf('Observation', 'subject', '', 'Group/g-1', ['obs-group'], ['subject=Patient/pb', ['obs-b-sdoh', 'obs-b-smoke']], ['subject:Group=g-1', ['obs-group']], ...none('subject=Group/g-2', 'subject:Device=g-1'));
tok(
  'Observation',
  'category',
  PA,
  US_CAT,
  'sdoh',
  ['obs-a-sdoh'],
  [`${PA}category=survey`, ['obs-a-sdoh']],
  [`${PA}category=${enc(`${OBS_CAT}|social-history`)}`, ['obs-a-smoke']],
  [`${PA}category=${enc(`${US_CAT}|functional-status`)}`, ['obs-a-func']],
  [`${PA}category=social-history,functional-status`, ['obs-a-func', 'obs-a-smoke']],
  [`${PB}category=survey&category=sdoh`, ['obs-b-sdoh']],
  [`${PA}category=${enc(`${US_CAT}|`)}`, ['obs-a-func', 'obs-a-sdoh']],
  ...none(`${PA}category=${enc(`${OBS_CAT}|sdoh`)}`, `${PB}category=functional-status`, `${PA}category=social-history&category=sdoh`),
);
tok('Observation', 'code', PA, LOINC, '72166-2', ['obs-a-smoke'], ['code=72166-2', ['obs-a-smoke', 'obs-b-smoke']], ...none(`${PB}code=88122-7`));
add(
  'Observation',
  'date',
  [`${PA}date=2023-03-10`, ['obs-a-hgb', 'obs-a-sdoh', 'obs-a-smoke']],
  [`${PA}date=2023-06`, ['obs-a-func']],
  [`${PA}category=sdoh&date=ge2023-03-10T09:06:00Z`, ['obs-a-sdoh']],
  [`${PA}date=lt2023-03-10T09:06:00Z`, ['obs-a-smoke']],
  [`${PA}date=sa2023-03-31`, ['obs-a-func']],
  ...none(`${PA}date=2023-04`, `${PB}date=2023-03-10`, `${PA}date=eb2023-03-01`),
);
tok('Observation', 'status', PA, `${FHIR}observation-status`, 'preliminary', ['obs-a-func'], ['status=amended', ['obs-b-sdoh']], ...none(`${PB}status=preliminary`));
rf('Observation', 'encounter', PA, 'Encounter/enc-a1', ['obs-a-hgb', 'obs-a-sdoh'], ...none(`${PB}encounter=enc-a1`));
tok('Observation', 'identifier', PA, IDS, 'obs-a-smoke', ['obs-a-smoke'], ...none(`${PB}identifier=obs-a-smoke`));

// --- AllergyIntolerance ----------------------------------------------------------------------------------------
rf('AllergyIntolerance', 'patient', '', 'Patient/pa', ['al-a1'], ...none('patient=nobody'));
tok('AllergyIntolerance', 'clinical-status', PA, AI_CLINICAL, 'active', ['al-a1'], ...none(`${PB}clinical-status=active`));
tok('AllergyIntolerance', 'verification-status', PB, AI_VER, 'unconfirmed', ['al-b1'], ...none(`${PA}verification-status=unconfirmed`));
tok('AllergyIntolerance', 'category', PA, `${FHIR}allergy-intolerance-category`, 'medication', ['al-a1'], ...none(`${PB}category=medication`));
tok('AllergyIntolerance', 'criticality', PA, `${FHIR}allergy-intolerance-criticality`, 'high', ['al-a1'], ...none(`${PB}criticality=high`));
tok('AllergyIntolerance', 'code', PA, RXNORM, '7980', ['al-a1'], ['code=256349002', ['al-b1']], ...none(`${PA}code=256349002`));
add('AllergyIntolerance', 'date', ['date=2010-05-02', ['al-a1']], ['date=gt2015', ['al-b1']], ...none('date=2011'));
add('AllergyIntolerance', 'onset', ['onset=2004', ['al-a1']], ['onset=2019-07-04', ['al-b1']], ...none('onset=2005', 'onset=2004-08-01'));
tok('AllergyIntolerance', 'identifier', '', IDS, 'al-b1', ['al-b1'], ...none(`${PA}identifier=al-b1`));

// --- Immunization ----------------------------------------------------------------------------------------------
rf('Immunization', 'patient', '', 'Patient/pa', ['imm-a1'], ...none('patient=nobody'));
add('Immunization', 'date', [`${PA}date=2022-10`, ['imm-a1']], ['date=lt2022', ['imm-b1']], ...none(`${PA}date=2021`));
tok('Immunization', 'status', PA, `${FHIR}event-status`, 'completed', ['imm-a1'], ['status=not-done', ['imm-b1']], ...none(`${PB}status=completed`));
tok('Immunization', 'vaccine-code', PA, CVX, '140', ['imm-a1'], ...none(`${PB}vaccine-code=140`));
add('Immunization', 'lot-number', ['lot-number=flu-2022', ['imm-a1']], ...none('lot-number=AX7'));
tok('Immunization', 'identifier', PA, IDS, 'imm-a1', ['imm-a1'], ...none(`${PB}identifier=imm-a1`));

// --- MedicationStatement ---------------------------------------------------------------------------------------
rf('MedicationStatement', 'patient', '', 'Patient/pa', ['ms-a1'], ...none('patient=nobody'));
rf('MedicationStatement', 'subject', '', 'Patient/pb', ['ms-b1'], ...none('subject=Patient/nobody'));
tok('MedicationStatement', 'status', '', `${FHIR}CodeSystem/medication-statement-status`, 'active', ['ms-a1'], ...none(`${PB}status=active`));
add('MedicationStatement', 'effective', ['effective=ge2030', ['ms-a1']], ['effective=2021-05', ['ms-b1']], ...none('effective=2020'));
tok('MedicationStatement', 'code', '', RXNORM, '197361', ['ms-a1'], ...none(`${PB}code=197361`));
rf('MedicationStatement', 'medication', '', 'Medication/med-2', ['ms-b1'], ...none(`${PA}medication=med-2`));
tok('MedicationStatement', 'category', '', MS_CAT, 'community', ['ms-a1'], ...none(`${PB}category=community`));
tok('MedicationStatement', 'identifier', '', IDS, 'ms-b1', ['ms-b1'], ...none(`${PA}identifier=ms-b1`));

// --- CarePlan --------------------------------------------------------------------------------------------------
rf('CarePlan', 'patient', '', 'Patient/pa', ['cp-a1', 'cp-a2'], ...none('patient=nobody'));
tok('CarePlan', 'category', PA, CAREPLAN_CAT, 'assess-plan', ['cp-a1', 'cp-a2'], ...none(`${PA}category=careteam`));
tok('CarePlan', 'status', PA, `${FHIR}request-status`, 'active', ['cp-a1'], [`${PA}status=active,completed`, ['cp-a1', 'cp-a2']], ...none(`${PA}status=revoked`, `${PB}status=active`));
add(
  'CarePlan',
  'date',
  [`${PA}date=2023`, ['cp-a1']],
  [`${PA}date=ge2023-06-01`, ['cp-a1']],
  [`${PA}date=gt2022`, ['cp-a1']],
  [`${PA}date=lt2021`, ['cp-a2']],
  [`${PA}date=le2020-06-30`, ['cp-a2']],
  [`${PA}date=sa2020-12-31`, ['cp-a1']],
  [`${PA}date=eb2021-01-01`, ['cp-a2']],
  [`${PB}date=ge2030`, ['cp-b1']],
  [`${PA}category=assess-plan&status=active&date=ge2023-01-01`, ['cp-a1']],
  ...none(`${PA}date=2023-06`, `${PA}date=2019`, `${PA}date=le2020-01-01`),
);
tok('CarePlan', 'identifier', PA, IDS, 'cp-a2', ['cp-a2'], ...none(`${PB}identifier=cp-a2`));

// --- CareTeam --------------------------------------------------------------------------------------------------
rf('CareTeam', 'patient', '', 'Patient/pa', ['ct-a1', 'ct-a2'], ...none('patient=nobody'));
tok('CareTeam', 'status', PA, `${FHIR}care-team-status`, 'active', ['ct-a1'], [`${PA}status=active,inactive`, ['ct-a1', 'ct-a2']], ...none(`${PB}status=active`));
tok('CareTeam', 'role', PA, SNOMED, '446050000', ['ct-a1'], ['role=17561000', ['ct-a2', 'ct-b1']], ...none(`${PB}role=446050000`));
rf('CareTeam', 'participant', '', 'Practitioner/pr-1', ['ct-a1'], ['participant=PractitionerRole/prr-2', ['ct-a2']], ['participant=RelatedPerson/rp-a1', ['ct-a1']], ...none(`${PB}participant=Practitioner/pr-1`));
tok('CareTeam', 'identifier', PA, IDS, 'ct-a1', ['ct-a1'], ...none(`${PB}identifier=ct-a1`));

// --- Condition -------------------------------------------------------------------------------------------------
rf('Condition', 'patient', '', 'Patient/pa', ['cond-a1', 'cond-a2', 'cond-a3'], ...none('patient=nobody'));
tok(
  'Condition',
  'category',
  PA,
  COND_CAT,
  'problem-list-item',
  ['cond-a1'],
  [`${PA}category=health-concern`, ['cond-a3']],
  [`${PA}category=${enc(`${US_CAT}|sdoh`)}`, ['cond-a3']],
  [`${PA}category=problem-list-item,encounter-diagnosis`, ['cond-a1', 'cond-a2']],
  [`${PA}category=health-concern&category=sdoh`, ['cond-a3']],
  ...none(`${PA}category=${enc(`${COND_CAT}|health-concern`)}`, `${PB}category=encounter-diagnosis`, `${PA}category=problem-list-item&category=sdoh`),
);
tok('Condition', 'clinical-status', PA, COND_CLINICAL, 'active', ['cond-a1', 'cond-a3'], ...none(`${PB}clinical-status=resolved`));
tok('Condition', 'code', PA, SNOMED, '44054006', ['cond-a1'], ...none(`${PB}code=44054006`));
add(
  'Condition',
  'onset-date',
  [`${PA}onset-date=2015-04`, ['cond-a1']],
  [`${PA}onset-date=2015`, ['cond-a1']],
  [`${PA}onset-date=2023-03`, ['cond-a2']],
  [`${PA}onset-date=ge2023-03-08`, ['cond-a2']],
  [`${PA}onset-date=lt2016`, ['cond-a1']],
  ...none(`${PA}onset-date=2015-04-15`, `${PA}onset-date=2020`, `${PB}onset-date=2015`),
);
add('Condition', 'abatement-date', ['abatement-date=2023-03-15', ['cond-a2']], [`${PA}abatement-date=gt2023-03-01`, ['cond-a2']], [`${PB}abatement-date=ge2024`, ['cond-b1']], ...none(`${PA}abatement-date=lt2023-03-01`, 'abatement-date=2022'));
add('Condition', 'asserted-date', [`${PA}asserted-date=2015-04-20`, ['cond-a1']], [`${PA}asserted-date=ge2015-04-01`, ['cond-a1']], ['asserted-date=2019-01', ['cond-b1']], ...none(`${PA}asserted-date=2019`, `${PB}asserted-date=2015`));
add('Condition', 'recorded-date', ['recorded-date=2023-03-10', ['cond-a2']], [`${PA}recorded-date=gt2023-01-01`, ['cond-a2', 'cond-a3']], ['recorded-date=le2015-05-01', ['cond-a1']], ...none('recorded-date=2017', `${PB}recorded-date=2023`));
rf('Condition', 'encounter', PA, 'Encounter/enc-a1', ['cond-a2'], [`${PA}category=encounter-diagnosis&encounter=Encounter/enc-a1`, ['cond-a2']], ...none(`${PB}encounter=enc-a1`));
tok('Condition', 'identifier', PA, IDS, 'cond-a3', ['cond-a3'], ...none(`${PB}identifier=cond-a3`));

// --- Coverage --------------------------------------------------------------------------------------------------
rf('Coverage', 'patient', '', 'Patient/pa', ['cov-a1', 'cov-a2'], ...none('patient=nobody'));
tok('Coverage', 'status', PA, `${FHIR}fm-status`, 'active', ['cov-a1'], ...none(`${PA}status=draft`, `${PB}status=cancelled`));
tok('Coverage', 'type', PA, SOPT, '5', ['cov-a1'], ...none(`${PB}type=5`));
rf('Coverage', 'payor', PA, 'Organization/org-2', ['cov-a1'], ...none(`${PB}payor=Organization/org-1`, `${PA}payor=Organization/org-9`));
tok('Coverage', 'identifier', PA, IDS, 'cov-a2', ['cov-a2'], ...none(`${PB}identifier=cov-a2`));

// --- Device ----------------------------------------------------------------------------------------------------
rf('Device', 'patient', '', 'Patient/pa', ['dev-a1', 'dev-a2'], ...none('patient=nobody'));
tok('Device', 'type', PA, SNOMED, '14106009', ['dev-a2'], ...none(`${PB}type=468063009`));
tok('Device', 'status', PA, `${FHIR}device-status`, 'active', ['dev-a1'], [`${PA}status=active,inactive`, ['dev-a1', 'dev-a2']], ...none(`${PB}status=active`));
tok('Device', 'identifier', PA, IDS, 'dev-a1', ['dev-a1'], ...none(`${PB}identifier=dev-a1`));

// --- DiagnosticReport ------------------------------------------------------------------------------------------
rf('DiagnosticReport', 'patient', '', 'Patient/pa', ['dr-a1', 'dr-a2'], ...none('patient=nobody'));
tok('DiagnosticReport', 'category', PA, DR_CAT, 'LAB', ['dr-a1'], [`${PA}category=LP29684-5`, ['dr-a2']], ...none(`${PB}category=LP29684-5`));
tok('DiagnosticReport', 'code', PA, LOINC, '58410-2', ['dr-a1'], [`${PA}code=58410-2,24627-2`, ['dr-a1', 'dr-a2']], ...none(`${PB}code=58410-2`));
add(
  'DiagnosticReport',
  'date',
  [`${PA}date=2023-03-10`, ['dr-a1']],
  [`${PA}date=2023-06-02`, ['dr-a2']],
  [`${PA}date=ge2023-04`, ['dr-a2']],
  [`${PA}date=lt2023-04`, ['dr-a1']],
  [`${PA}category=LAB&date=gt2023-03-09`, ['dr-a1']],
  ...none(`${PA}date=2022`, `${PB}date=2023-03-10`),
);
tok('DiagnosticReport', 'status', PA, `${FHIR}diagnostic-report-status`, 'final', ['dr-a1'], [`${PA}status=final,amended`, ['dr-a1', 'dr-a2']], ...none(`${PB}status=final`));
rf('DiagnosticReport', 'encounter', PA, 'Encounter/enc-a2', ['dr-a2'], ...none(`${PB}encounter=enc-a1`));
rf('DiagnosticReport', 'result', PA, 'Observation/obs-a-hgb', ['dr-a1'], ...none(`${PB}result=obs-a-hgb`));
tok('DiagnosticReport', 'identifier', PA, IDS, 'dr-a2', ['dr-a2'], ...none(`${PB}identifier=dr-a2`));

// --- DocumentReference -----------------------------------------------------------------------------------------
rf('DocumentReference', 'patient', '', 'Patient/pa', ['doc-a1', 'doc-a2'], ...none('patient=nobody'));
tok('DocumentReference', 'category', PA, DOC_CAT, 'clinical-note', ['doc-a1', 'doc-a2'], ...none(`${PA}category=other-note`));
tok('DocumentReference', 'type', PA, LOINC, '18842-5', ['doc-a1'], ...none(`${PB}type=18842-5`));
add('DocumentReference', 'date', [`${PA}date=2023-06-05`, ['doc-a1']], [`${PA}date=ge2023-04`, ['doc-a1']], [`${PA}date=lt2023-04`, ['doc-a2']], [`${PA}category=clinical-note&date=2023`, ['doc-a1', 'doc-a2']], ...none(`${PA}date=2022`));
add(
  'DocumentReference',
  'period',
  [`${PA}period=2023-06`, ['doc-a1']],
  [`${PA}period=2023`, ['doc-a1', 'doc-a2']],
  [`${PA}period=ge2023-06-02`, ['doc-a1']],
  [`${PA}period=gt2023-03-10T09:30:00Z`, ['doc-a1']],
  [`${PA}period=lt2023-06-01T14:00:00Z`, ['doc-a2']],
  [`${PA}period=le2023-03-10`, ['doc-a2']],
  [`${PA}period=sa2023-04-01`, ['doc-a1']],
  [`${PA}period=eb2023-04-01`, ['doc-a2']],
  [`${PA}type=11488-4&period=lt2023-03-11`, ['doc-a2']],
  [`${PB}period=ge2030`, ['doc-b1']],
  ...none(`${PA}period=2022`, `${PB}period=2023-06`, `${PA}period=2023-06-03`),
);
tok('DocumentReference', 'status', PA, `${FHIR}document-reference-status`, 'current', ['doc-a1'], [`${PA}status=current,superseded`, ['doc-a1', 'doc-a2']], ...none(`${PB}status=superseded`));
rf('DocumentReference', 'encounter', PA, 'Encounter/enc-a2', ['doc-a1'], ...none(`${PB}encounter=enc-a2`));
tok('DocumentReference', 'identifier', PA, IDS, 'doc-a1', ['doc-a1'], ...none(`${PB}identifier=doc-a1`));

// --- Encounter -------------------------------------------------------------------------------------------------
rf('Encounter', 'patient', '', 'Patient/pa', ['enc-a1', 'enc-a2', 'enc-a3'], ['patient=pb', ['enc-b1']], ...none('patient=nobody'));
tok('Encounter', 'identifier', '', IDS, 'enc-a2', ['enc-a2'], ...none(`${PB}identifier=enc-a2`));
tok('Encounter', 'class', PA, ACT, 'AMB', ['enc-a1', 'enc-a3'], ...none(`${PA}class=EMER`));
tok('Encounter', 'type', PA, CPT, '99213', ['enc-a1'], ...none(`${PB}type=99213`));
tok('Encounter', 'status', PA, `${FHIR}encounter-status`, 'finished', ['enc-a1', 'enc-a2'], [`${PA}status=planned,finished`, ['enc-a1', 'enc-a2', 'enc-a3']], ...none(`${PA}status=in-progress`, `${PB}status=finished`));
add(
  'Encounter',
  'date',
  [`${PA}date=2023-03-10`, ['enc-a1']],
  [`${PA}date=2023-06`, ['enc-a2']],
  [`${PA}date=2023`, ['enc-a1', 'enc-a2']],
  [`${PA}date=ge2023-06-01`, ['enc-a2', 'enc-a3']],
  [`${PA}date=gt2023-06-05`, ['enc-a3']],
  [`${PA}date=lt2023-06-01`, ['enc-a1']],
  [`${PA}date=le2023-06-01`, ['enc-a1']],
  [`${PA}date=sa2023-05-31`, ['enc-a2', 'enc-a3']],
  [`${PA}date=eb2023-06-01`, ['enc-a1']],
  [`${PA}date=ne2023`, ['enc-a3']],
  [`${PA}date=ge2023-01-01&date=le2023-12-31`, ['enc-a1', 'enc-a2']],
  [`${PA}date=2023-03-10T09:00:00Z,2023-06`, ['enc-a2']],
  [`${PB}date=ge2030`, ['enc-b1']],
  ...none(`${PA}date=2022`, `${PB}date=2023-06`, `${PA}date=2023-03-10T09:00:00Z`),
);
rf('Encounter', 'location', PA, 'Location/loc-1', ['enc-a1'], ...none(`${PB}location=loc-1`));
tok('Encounter', 'discharge-disposition', PA, DISCHARGE, 'home', ['enc-a2'], [`${PA}discharge-disposition:missing=true`, ['enc-a1', 'enc-a3']], [`${PA}discharge-disposition:missing=false`, ['enc-a2']], ...none(`${PB}discharge-disposition=home`));
rf('Encounter', 'practitioner', PA, 'Practitioner/pr-1', ['enc-a1'], ...none(`${PB}practitioner=pr-1`));

// --- Goal ------------------------------------------------------------------------------------------------------
rf('Goal', 'patient', '', 'Patient/pa', ['goal-a1', 'goal-a2'], ...none('patient=nobody'));
tok('Goal', 'lifecycle-status', PA, `${FHIR}goal-status`, 'active', ['goal-a1'], [`${PA}lifecycle-status=active,completed`, ['goal-a1', 'goal-a2']], ...none(`${PB}lifecycle-status=active`));
add('Goal', 'target-date', [`${PA}target-date=2024-06-30`, ['goal-a1']], [`${PA}target-date=lt2023`, ['goal-a2']], [`${PA}target-date=ge2024-01`, ['goal-a1']], ...none(`${PA}target-date=2023`, `${PB}target-date=2024-06`));
tok('Goal', 'description', PA, SNOMED, '289169006', ['goal-a1'], ...none(`${PB}description=289169006`));
tok('Goal', 'identifier', PA, IDS, 'goal-a2', ['goal-a2'], ...none(`${PB}identifier=goal-a2`));

// --- Location --------------------------------------------------------------------------------------------------
add('Location', 'name', ['name=springfield', ['loc-1']], ['name=SGH', ['loc-1']], ['name:contains=urgent', ['loc-2']], ['name=springfield,boston', ['loc-1', 'loc-2']], ...none('name=general', 'name=clinic'));
add('Location', 'address', ['address=boston', ['loc-2']], ['address=55 tremont', ['loc-2']], ['address=62702', ['loc-1']], ...none('address=chicago', 'address=tremont'));
add('Location', 'address-city', ['address-city=springfield', ['loc-1']], ...none('address-city=hospital', 'address-city=chicago'));
add('Location', 'address-state', ['address-state=IL', ['loc-1']], ['address-state=ma', ['loc-2']], ...none('address-state=NY'));
add('Location', 'address-postalcode', ['address-postalcode=62702', ['loc-1']], ['address-postalcode=021', ['loc-2']], ...none('address-postalcode=99999'));
tok('Location', 'identifier', '', IDS, 'loc-sgh', ['loc-1'], ...none('identifier=loc-nope'));

// --- Medication ------------------------------------------------------------------------------------------------
tok('Medication', 'code', '', RXNORM, '197361', ['med-1'], ['code=197361,314076', ['med-1', 'med-2']], ...none('code=860975'));
tok('Medication', 'identifier', '', IDS, 'med-lisinopril', ['med-2'], ...none('identifier=med-nope'));

// --- MedicationDispense ----------------------------------------------------------------------------------------
rf('MedicationDispense', 'patient', '', 'Patient/pa', ['md-a1', 'md-a2'], ...none('patient=nobody'));
tok('MedicationDispense', 'status', PA, 'http://terminology.hl7.org/CodeSystem/medicationdispense-status', 'completed', ['md-a1'], [`${PA}status=completed,in-progress`, ['md-a1', 'md-a2']], ...none(`${PB}status=completed`));
tok('MedicationDispense', 'type', PA, ACT, 'FF', ['md-a1'], [`${PA}status=in-progress&type=RF`, ['md-a2']], ...none(`${PB}type=FF`, `${PA}status=completed&type=RF`));
add('MedicationDispense', 'whenhandedover', ['whenhandedover=2023-03-11', ['md-a1']], [`${PA}whenhandedover=gt2023-01-01`, ['md-a1']], [`${PA}whenhandedover:missing=true`, ['md-a2']], ...none(`${PA}whenhandedover=2024`, `${PB}whenhandedover=2023-03`));
tok('MedicationDispense', 'code', PA, RXNORM, '197361', ['md-a1'], ...none(`${PB}code=197361`));
rf('MedicationDispense', 'medication', PA, 'Medication/med-2', ['md-a2'], ...none(`${PB}medication=med-2`));
tok('MedicationDispense', 'identifier', PA, IDS, 'md-a2', ['md-a2'], ...none(`${PB}identifier=md-a2`));

// --- MedicationRequest -----------------------------------------------------------------------------------------
rf('MedicationRequest', 'patient', '', 'Patient/pa', ['mr-a1', 'mr-a2'], ...none('patient=nobody'));
tok('MedicationRequest', 'intent', PA, `${FHIR}CodeSystem/medicationrequest-intent`, 'order', ['mr-a1'], [`${PA}intent=order,plan`, ['mr-a1', 'mr-a2']], ...none(`${PA}intent=proposal`, `${PB}intent=plan`));
tok('MedicationRequest', 'status', PA, `${FHIR}CodeSystem/medicationrequest-status`, 'active', ['mr-a1'], [`${PA}intent=order&status=active,completed`, ['mr-a1']], [`${PA}intent=plan&status=active,completed`, ['mr-a2']], ...none(`${PB}status=active`));
add('MedicationRequest', 'authoredon', ['authoredon=2023-03-10', ['mr-a1']], [`${PA}authoredon=2022`, ['mr-a2']], [`${PA}authoredon=lt2023-01-01`, ['mr-a2']], [`${PA}authoredon=ge2023-03-10T09:25:00Z`, ['mr-a1']], [`${PA}intent=order&authoredon=gt2023`, []], ...none(`${PA}authoredon=2021`, `${PB}authoredon=2023-03-10`));
rf('MedicationRequest', 'encounter', PA, 'Encounter/enc-a1', ['mr-a1'], [`${PA}intent=order&encounter=Encounter/enc-a1`, ['mr-a1']], ...none(`${PB}encounter=enc-a1`));
tok('MedicationRequest', 'code', PA, RXNORM, '197361', ['mr-a1'], ...none(`${PB}code=197361`));
rf('MedicationRequest', 'medication', PA, 'Medication/med-2', ['mr-a2'], ...none(`${PB}medication=med-2`));
rf('MedicationRequest', 'requester', PA, 'Practitioner/pr-1', ['mr-a1'], [`${PA}requester=PractitionerRole/prr-2`, ['mr-a2']], ...none(`${PB}requester=Practitioner/pr-1`));
tok('MedicationRequest', 'identifier', PA, IDS, 'mr-a2', ['mr-a2'], ...none(`${PB}identifier=mr-a2`));

// --- Organization ----------------------------------------------------------------------------------------------
add('Organization', 'name', ['name=acme', ['org-1']], ['name=Acme Family', ['org-1']], ['name=BEACON', ['org-2']], ...none('name=clinic', 'name=zeta'));
add('Organization', 'address', ['address=springfield', ['org-1']], ['address=MA', ['org-2']], ['address=7 harbor', ['org-2']], ...none('address=denver', 'address=harbor'));
tok('Organization', 'identifier', '', NPI, '1234567893', ['org-1'], ...none('identifier=1234567890'));

// --- Practitioner ----------------------------------------------------------------------------------------------
add('Practitioner', 'name', ['name=lee', ['pr-1']], ['name=chidi', ['pr-2']], ['name=dr', ['pr-1']], ['name=md', ['pr-2']], ['name=jordan,okafor', ['pr-1', 'pr-2']], ...none('name=smith', 'name=ee'));
tok('Practitioner', 'identifier', '', NPI, '1111111112', ['pr-1'], ...none(`identifier=${enc(`${NPI}|2222222222`)}`));

// --- PractitionerRole ------------------------------------------------------------------------------------------
tok('PractitionerRole', 'specialty', '', NUCC, '207Q00000X', ['prr-1'], ...none('specialty=208D00000X'));
rf('PractitionerRole', 'practitioner', '', 'Practitioner/pr-1', ['prr-1'], ['practitioner=pr-1,pr-2', ['prr-1', 'prr-2']], ...none('practitioner=pr-9'));
rf('PractitionerRole', 'endpoint', '', 'Endpoint/ep-1', ['prr-1'], ...none('endpoint=ep-9'));
tok('PractitionerRole', 'identifier', '', IDS, 'role-okafor', ['prr-2'], ...none('identifier=role-nope'));

// --- Procedure -------------------------------------------------------------------------------------------------
rf('Procedure', 'patient', '', 'Patient/pa', ['proc-a1', 'proc-a2'], ...none('patient=nobody'));
tok('Procedure', 'code', PA, SNOMED, '80146002', ['proc-a1'], [`${PA}code=80146002&date=2010`, ['proc-a1']], ...none(`${PB}code=80146002`));
add('Procedure', 'date', [`${PA}date=2010`, ['proc-a1']], [`${PA}date=2023-06-02`, ['proc-a2']], [`${PA}date=gt2011`, ['proc-a2']], [`${PA}date=le2023-06-02T08:30:00Z`, ['proc-a1', 'proc-a2']], ...none(`${PA}date=2015`, `${PB}date=2010`));
tok('Procedure', 'status', PA, `${FHIR}event-status`, 'completed', ['proc-a1', 'proc-a2'], ...none(`${PA}status=not-done`, `${PB}status=completed`));
rf('Procedure', 'encounter', PA, 'Encounter/enc-a2', ['proc-a2'], ...none(`${PB}encounter=enc-a2`));
tok('Procedure', 'identifier', PA, IDS, 'proc-a2', ['proc-a2'], ...none(`${PB}identifier=proc-a2`));

// --- Provenance ------------------------------------------------------------------------------------------------
rf('Provenance', 'patient', '', 'Patient/pa', ['prov-a'], ['patient=pb', ['prov-b']], ...none('patient=nobody'));
rf('Provenance', 'target', '', 'Condition/cond-a1', ['prov-a'], ['target=Patient/pb', ['prov-b']], ...none('target=Condition/cond-a2'));
add('Provenance', 'recorded', ['recorded=2023-03-10', ['prov-a']], ['recorded=lt2020', ['prov-b']], ...none('recorded=2021'));
rf('Provenance', 'agent', '', 'Practitioner/pr-2', ['prov-b'], ...none(`${PA}agent=pr-2`, 'agent=Practitioner/pr-9'));

// --- QuestionnaireResponse -------------------------------------------------------------------------------------
rf('QuestionnaireResponse', 'patient', '', 'Patient/pa', ['qr-a1', 'qr-a2', 'qr-a3'], ...none('patient=nobody'));
tok('QuestionnaireResponse', 'status', PA, `${FHIR}questionnaire-answers-status`, 'completed', ['qr-a1'], [`${PA}status=completed,in-progress`, ['qr-a1', 'qr-a2']], ...none(`${PB}status=completed`));
add('QuestionnaireResponse', 'authored', [`${PA}authored=2023-06-01`, ['qr-a2']], [`${PA}authored=ge2024`, ['qr-a3']], [`${PA}authored=lt2023-04-01`, ['qr-a1']], [`${PA}authored=sa2023-06-01`, ['qr-a3']], [`${PA}authored=eb2023-03-11`, ['qr-a1']], ...none(`${PA}authored=2022`, `${PB}authored=2023-06`));
add(
  'QuestionnaireResponse',
  'questionnaire',
  [`questionnaire=${enc(PHQ9)}`, ['qr-a1']],
  [`${PA}questionnaire=${enc(`${HRSN}|3.0`)}`, ['qr-a2']],
  [`${PA}questionnaire=${enc(HRSN)}`, ['qr-a2']],
  [`questionnaire=${enc(`${FHIR_BASE}/Questionnaire/local-q`)}`, ['qr-a3']],
  ...none(`${PB}questionnaire=${enc(PHQ9)}`, `questionnaire=${enc(`${HRSN}|2.0`)}`, `questionnaire=${enc('http://loinc.org/q/44249')}`),
);
tok('QuestionnaireResponse', 'identifier', PA, IDS, 'qr-a2', ['qr-a2'], ...none(`${PB}identifier=qr-a2`));

// --- RelatedPerson ---------------------------------------------------------------------------------------------
rf('RelatedPerson', 'patient', '', 'Patient/pa', ['rp-a1'], ...none('patient=nobody'));
add('RelatedPerson', 'name', ['name=rivera', ['rp-a1']], ['name=dana', ['rp-b1']], [`${PA}name=carlos`, ['rp-a1']], ...none(`${PB}name=carlos`, 'name=ivera'));
tok('RelatedPerson', 'identifier', '', IDS, 'rp-b1', ['rp-b1'], ...none(`${PA}identifier=rp-b1`));

// --- ServiceRequest --------------------------------------------------------------------------------------------
rf('ServiceRequest', 'patient', '', 'Patient/pa', ['sr-a1', 'sr-a2'], ...none('patient=nobody'));
tok('ServiceRequest', 'category', PA, US_CAT, 'sdoh', ['sr-a2'], [`${PA}category=108252007,sdoh`, ['sr-a1', 'sr-a2']], ...none(`${PB}category=sdoh`, `${PA}category=363679005`));
tok('ServiceRequest', 'code', PA, LOINC, '24357-6', ['sr-a1'], ...none(`${PB}code=24357-6`));
add('ServiceRequest', 'authored', [`${PA}authored=2022-11`, ['sr-a2']], [`${PA}authored=ge2023`, ['sr-a1']], [`${PA}category=108252007&authored=2023-03-10`, ['sr-a1']], ...none(`${PA}authored=2021`, `${PB}authored=2022`));
tok('ServiceRequest', 'status', PA, `${FHIR}request-status`, 'active', ['sr-a1'], ...none(`${PB}status=active`, `${PA}status=draft`));
tok('ServiceRequest', 'identifier', PA, IDS, 'sr-a1', ['sr-a1'], ...none(`${PB}identifier=sr-a1`));

// --- Specimen --------------------------------------------------------------------------------------------------
rf('Specimen', 'patient', '', 'Patient/pa', ['spec-a1', 'spec-a2'], ...none('patient=nobody'));
tok('Specimen', 'type', PA, SNOMED, '122575003', ['spec-a2'], [`${PA}type=${enc('|BLD')}`, ['spec-a1']], [`${PA}type=${enc(`${SNOMED}|`)}`, ['spec-a1', 'spec-a2']], ...none(`${PA}type=${enc('|119297000')}`, `${PB}type=122575003`));
tok('Specimen', 'identifier', PA, IDS, 'spec-a1', ['spec-a1'], ...none(`${PB}identifier=spec-a1`));

// _id, where US Core lists it
for (const [type, id] of [
  ['DocumentReference', 'doc-a1'],
  ['Encounter', 'enc-a1'],
  ['Practitioner', 'pr-2'],
  ['QuestionnaireResponse', 'qr-a3'],
  ['RelatedPerson', 'rp-b1'],
  ['ServiceRequest', 'sr-a2'],
  ['Specimen', 'spec-a1'],
] as const) {
  add(type, '_id', [`_id=${id}`, [id]], ...none(`_id=${id}-nope`));
}


const scopeOf = (type: string) => (type === 'Patient' ? '_id=pa' : US_CORE_DEFS.find((d) => d.type === type)!.inCompartment ? 'patient=pa' : '');

/** `_sort=date` order per type with a date parameter (records without the date sort first, as the lowest value). */
const DATE_ORDER: Record<string, readonly [scope: string, order: readonly string[]]> = {
  Patient: ['', ['pb', 'pa']],
  Observation: ['patient=pa', ['obs-a-smoke', 'obs-a-sdoh', 'obs-a-hgb', 'obs-a-func']],
  AllergyIntolerance: ['', ['al-a1', 'al-b1']],
  CarePlan: ['patient=pa', ['cp-a2', 'cp-a1']],
  Condition: ['patient=pa', ['cond-a3', 'cond-a1', 'cond-a2']],
  DiagnosticReport: ['patient=pa', ['dr-a1', 'dr-a2']],
  DocumentReference: ['patient=pa', ['doc-a2', 'doc-a1']],
  Encounter: ['patient=pa', ['enc-a1', 'enc-a2', 'enc-a3']],
  Goal: ['patient=pa', ['goal-a2', 'goal-a1']],
  Immunization: ['', ['imm-b1', 'imm-a1']],
  MedicationDispense: ['patient=pa', ['md-a2', 'md-a1']],
  MedicationRequest: ['patient=pa', ['mr-a2', 'mr-a1']],
  MedicationStatement: ['', ['ms-b1', 'ms-a1']],
  Procedure: ['patient=pa', ['proc-a1', 'proc-a2']],
  Provenance: ['', ['prov-b', 'prov-a']],
  QuestionnaireResponse: ['patient=pa', ['qr-a1', 'qr-a2', 'qr-a3']],
  ServiceRequest: ['patient=pa', ['sr-a2', 'sr-a1']],
};

type Bundle = SearchBundle & { issue?: { expression?: string[] }[] };

t.test('US Core search parameters', async (t) => {
  const app = await startTestApp(t);
  await seedUsCore(app.fhir);
  const get = async (url: string) => {
    const res = await app.server.inject({ url });
    return { status: res.statusCode, body: JSON.parse(res.body) as Bundle };
  };
  const matches = (b: Bundle) => (b.entry ?? []).filter((e) => e.search.mode === 'match').map((e) => e.resource.id);
  const outcomes = (b: Bundle) => (b.entry ?? []).filter((e) => e.search.mode === 'outcome');

  t.test('every parameter of every US Core type has a case with a positive and a negative search', async (t) => {
    const covered = new Set(cases.map((c) => `${c.type}.${c.param}`));
    const missing = US_CORE_DEFS.flatMap((d) => d.params.map((p) => `${d.type}.${p.name}`)).filter((k) => !covered.has(k));
    t.same(missing, [], 'no US Core parameter without a case');
    for (const c of cases) {
      t.ok(c.rows.some(([, ids]) => ids.length > 0), `${c.type}.${c.param} has a positive search`);
      t.ok(c.rows.some(([, ids]) => ids.length === 0), `${c.type}.${c.param} has a negative search`);
      for (const [q] of c.rows) t.ok([...new URLSearchParams(q).keys()].some((k) => k.split(':')[0] === c.param), `${c.type}?${q} uses ${c.param}`);
    }
    t.comment(`${cases.filter((c) => c.param !== '_id').length} (type, parameter) pairs, ${cases.reduce((n, c) => n + c.rows.length, 0)} searches`);
  });

  for (const type of [...new Set(cases.map((c) => c.type))]) {
    t.test(`${type}: each search returns exactly the expected ids, by GET and by POST _search`, async (t) => {
      for (const c of cases.filter((x) => x.type === type)) {
        for (const [query, ids] of c.rows) {
          const res = await get(`/fhir/${type}?${query}`);
          t.equal(res.status, 200, `${type}?${decodeURIComponent(query)} answers 200`);
          t.same(outcomes(res.body), [], `${type}?${decodeURIComponent(query)}: no parameter ignored`);
          t.same(matches(res.body).sort(), [...ids].sort(), `${type}?${decodeURIComponent(query)}`);
        }
        const [query, ids] = c.rows[0]!;
        const posted = await app.server.inject({ method: 'POST', url: `/fhir/${type}/_search`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: query });
        t.equal(posted.statusCode, 200);
        t.same(matches(JSON.parse(posted.body) as Bundle).sort(), [...ids].sort(), `POST ${type}/_search ${decodeURIComponent(query)} equals GET`);
      }
    });
  }

  t.test('_sort=date and -date order by each type\'s date parameter; types without one refuse _sort=date', async (t) => {
    for (const d of US_CORE_DEFS) {
      const expected = DATE_ORDER[d.type];
      if (!d.dateParam) {
        t.notOk(expected, `${d.type} has no date parameter`);
        const bad = await get(`/fhir/${d.type}?_sort=date`);
        t.equal(bad.status, 400, `${d.type}?_sort=date is 400`);
        t.same(bad.body.issue?.[0]?.expression, ['_sort']);
        continue;
      }
      t.ok(expected, `${d.type} has an expected date order`);
      if (!expected) continue;
      const [scope, order] = expected;
      const q = scope ? `${scope}&` : '';
      t.same(matches((await get(`/fhir/${d.type}?${q}_sort=date`)).body), order, `${d.type}?_sort=date`);
      t.same(matches((await get(`/fhir/${d.type}?${q}_sort=-date`)).body), [...order].reverse(), `${d.type}?_sort=-date`);
      t.same(matches((await get(`/fhir/${d.type}?${q}_sort=-${d.dateParam}`)).body), [...order].reverse(), `${d.type}?_sort=-${d.dateParam}`);
    }
  });

  t.test('_count pages through next links visit each record once; _summary=count counts them', async (t) => {
    for (const d of US_CORE_DEFS) {
      const expected = [...RECORDS_OF_A[d.type]!].sort();
      const scope = scopeOf(d.type);
      const seen: string[] = [];
      let url: string | undefined = `/fhir/${d.type}?${scope ? `${scope}&` : ''}_count=1`;
      let pages = 0;
      while (url) {
        const page: Bundle = (await get(url)).body;
        t.ok((page.entry ?? []).length <= 1, 'one per page');
        seen.push(...matches(page));
        url = page.link.find((l) => l.relation === 'next')?.url.replace('http://localhost:8080', '');
        if (++pages > 10) break;
      }
      t.same(seen.sort(), expected, `${d.type}?${scope}&_count=1, followed`);
      const count = (await get(`/fhir/${d.type}?${scope ? `${scope}&` : ''}_summary=count`)).body;
      t.equal(count.total, expected.length, `${d.type}?${scope}&_summary=count`);
      t.notOk(count.entry, 'no entries with _summary=count');
    }
  });

  const modes = (b: Bundle) => (b.entry ?? []).map((e) => `${e.search.mode}:${e.resource.resourceType}/${e.resource.id}`).sort();

  t.test('_include follows the reference parameter, and only to the named target type', async (t) => {
    t.same(modes((await get('/fhir/MedicationRequest?patient=pa&intent=order,plan&_include=MedicationRequest:medication')).body), [
      'include:Medication/med-2',
      'match:MedicationRequest/mr-a1',
      'match:MedicationRequest/mr-a2',
    ]);
    t.same(modes((await get('/fhir/MedicationDispense?patient=pa&_include=MedicationDispense:medication')).body), ['include:Medication/med-2', 'match:MedicationDispense/md-a1', 'match:MedicationDispense/md-a2']);
    t.same(modes((await get('/fhir/PractitionerRole?specialty=207Q00000X&_include=PractitionerRole:practitioner')).body), ['include:Practitioner/pr-1', 'match:PractitionerRole/prr-1']);
    t.same(modes((await get('/fhir/PractitionerRole?_id=prr-1&_include=PractitionerRole:endpoint')).body), ['include:Endpoint/ep-1', 'match:PractitionerRole/prr-1']);
    t.same(modes((await get('/fhir/CareTeam?patient=pa&status=active&_include=CareTeam:participant:Practitioner')).body), ['include:Practitioner/pr-1', 'match:CareTeam/ct-a1'], 'the RelatedPerson and Patient members are left out');
    t.same(modes((await get('/fhir/CareTeam?patient=pa&status=active&_include=CareTeam:participant:RelatedPerson')).body), ['include:RelatedPerson/rp-a1', 'match:CareTeam/ct-a1']);
    t.same(modes((await get('/fhir/CareTeam?patient=pa&_include=CareTeam:participant')).body), [
      'include:Patient/pa',
      'include:Practitioner/pr-1',
      'include:PractitionerRole/prr-2',
      'include:RelatedPerson/rp-a1',
      'match:CareTeam/ct-a1',
      'match:CareTeam/ct-a2',
    ]);
    t.same(modes((await get('/fhir/DiagnosticReport?patient=pa&category=LAB&_include=DiagnosticReport:result')).body), ['include:Observation/obs-a-hgb', 'match:DiagnosticReport/dr-a1']);
    t.same(modes((await get('/fhir/Encounter?patient=pa&_id=enc-a2&_include=Encounter:location&_include=Encounter:practitioner')).body), ['include:Location/loc-2', 'include:Practitioner/pr-2', 'match:Encounter/enc-a2']);
    t.same(modes((await get('/fhir/MedicationRequest?patient=pa&_include=MedicationRequest:requester')).body), ['include:Practitioner/pr-1', 'include:PractitionerRole/prr-2', 'match:MedicationRequest/mr-a1', 'match:MedicationRequest/mr-a2']);
    const unsupported = await get('/fhir/CareTeam?patient=pa&_include=CareTeam:subject');
    t.equal(outcomes(unsupported.body).length, 1, 'an _include the type does not list is reported, not followed');
  });

  t.test('_revinclude=Provenance:target adds the Provenance of each match, for every type in the compartment', async (t) => {
    t.same(modes((await get('/fhir/Condition?patient=pa&category=problem-list-item&_revinclude=Provenance:target')).body), ['include:Provenance/prov-a', 'match:Condition/cond-a1']);
    t.same(modes((await get('/fhir/Condition?patient=pa&category=encounter-diagnosis&_revinclude=Provenance:target')).body), ['match:Condition/cond-a2'], 'no Provenance targets it');
    t.same(modes((await get('/fhir/Patient?_id=pa&_revinclude=Provenance:target')).body), ['include:Provenance/prov-a', 'match:Patient/pa']);
    t.same(modes((await get('/fhir/Patient?_id=pb&_revinclude=Provenance:target')).body), ['include:Provenance/prov-b', 'match:Patient/pb']);
    for (const d of US_CORE_DEFS) {
      const res = await get(`/fhir/${d.type}?${scopeOf(d.type)}&_revinclude=Provenance:target`);
      t.equal(res.status, 200);
      t.equal(outcomes(res.body).length, d.inCompartment ? 0 : 1, `${d.type}: _revinclude=Provenance:target is ${d.inCompartment ? 'supported' : 'reported as not supported'}`);
    }
  });

  t.test(':missing on the patient parameter finds records that are in no patient\'s compartment', async (t) => {
    t.same(matches((await get('/fhir/Observation?category=survey&patient:missing=true')).body), ['obs-group']);
    t.same(matches((await get('/fhir/Observation?category=survey&patient:missing=false')).body).sort(), ['obs-a-sdoh', 'obs-b-sdoh']);
  });
});
