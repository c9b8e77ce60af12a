// A small generated world for the cross-patient property test: patients of every age that matters to proxy access,
// portal accounts, proxy relations (active, ended, not started, revoked, a parent's relation to a child now 18),
// records with references across patients, later corrections that move or recategorize a resource (so histories hold
// versions from another record), and tokens minted the real way: the authorization-code flow through the portal's
// sign-in, record and consent pages (standalone and EHR launch), and client_credentials for backend services.
import fc from 'fast-check';
import * as oidc from 'openid-client';
import { randomUUID } from 'node:crypto';
import { createPortalServices, type PortalServices } from '../../src/portal/services.js';
import { ProxyRelationStore } from '../../src/store/proxy-relations.js';
import { authorizeInBrowser, CookieJar } from '../helpers/browser-flow.js';
import { REDIRECT, registerClient, type SmartServer, type RegisteredClient } from '../helpers/smart-server.js';
import {
  CONDITION_CATEGORY,
  DAY,
  LOINC,
  OBS_CATEGORY,
  WorldModel,
  current,
  parseScopeModel,
  scopeCoversModel,
  versionOf,
  type AccountModel,
  type RelationModel,
  type ScopeModel,
  type TokenModel,
} from './cross-patient-model.js';

type Json = Record<string, unknown>;

export const PASSWORD = 'purple-otter-singing-42';

// --------------------------------------------------------------------------------------------------------- spec

export type AgeClass = 'adult' | 'teen' | 'child' | 'turns13tomorrow' | 'turned13today' | 'turns18tomorrow' | 'turned18today' | 'no-birth-date';
export type RecordKind =
  | 'obs-lab'
  | 'obs-vital'
  | 'obs-social'
  | 'obs-nocat'
  | 'obs-performer-other'
  | 'obs-member-other'
  | 'cond-problem'
  | 'cond-dx'
  | 'allergy'
  | 'immunization'
  | 'encounter'
  | 'medreq'
  | 'report'
  | 'report-other'
  | 'docref'
  | 'coverage'
  | 'coverage-on-other'
  | 'claim'
  | 'related'
  | 'provenance'
  | 'provenance-other'
  | 'task';
export type Edit = 'move' | 'recategorize' | 'delete' | 'delete-then-reuse';
export type Window = 'active' | 'open-ended' | 'ended' | 'future' | 'revoked';

export interface WorldSpec {
  readonly patients: readonly AgeClass[];
  /** Per patient: whether it has its own portal account */
  readonly ownAccounts: readonly boolean[];
  /** A portal account with no record of its own (a parent who is not a patient here) */
  readonly recordlessAccount: boolean;
  readonly relations: readonly { holder: number; patient: number; relationship: RelationModel['relationship']; window: Window }[];
  readonly records: readonly { patient: number; kind: RecordKind; other: number }[];
  readonly orphans: number;
  readonly edits: readonly { record: number; edit: Edit; to: number }[];
  readonly grants: readonly GrantSpec[];
  readonly systemGrants: readonly (readonly string[])[];
}

export interface GrantSpec {
  readonly kind: 'standalone' | 'user' | 'ehr';
  /** Index into the world's accounts (the clinician last) */
  readonly account: number;
  /** The record asked for (standalone: chosen on the picker; EHR: the launch's patient) */
  readonly patient: number;
  /** own: the account's own record; reachable: one it reaches now; any: any patient (often refused) */
  readonly choice: 'own' | 'reachable' | 'any';
  readonly scopes: readonly string[];
  /** Consent groups kept by position (cycled); null keeps every group offered */
  readonly keep: readonly boolean[] | null;
}

const TYPED = ['Patient', 'Observation', 'Condition', 'AllergyIntolerance', 'Immunization', 'Encounter', 'MedicationRequest', 'DiagnosticReport', 'DocumentReference', 'Coverage', 'Claim', 'RelatedPerson', 'Provenance', 'Practitioner', 'Medication', 'Task', 'Group'];

/** Every scope form: v1, v2, granular, wildcards, by type; per context. */
export function scopeArb(context: 'patient' | 'user' | 'system'): fc.Arbitrary<string> {
  const c = context;
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(`${c}/*.read`, `${c}/*.rs`, `${c}/*.cruds`, `${c}/*.*`, `${c}/*.rs`, `${c}/*.read`) },
    fc.constantFrom(`${c}/*.read`, `${c}/*.rs`, `${c}/*.cruds`, `${c}/*.*`, `${c}/*.write`, `${c}/*.s`, `${c}/*.r`, `${c}/*.cud`),
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...TYPED), fc.constantFrom('read', 'write', '*', 'rs', 'cruds', 'r', 's', 'cud', 'cu', 'd', 'crs')).map(([t, p]) => `${c}/${t}.${p}`) },
    { weight: 2, arbitrary: fc.constantFrom(
      `${c}/Observation.rs?category=${OBS_CATEGORY}|laboratory`,
      `${c}/Observation.rs?category=${OBS_CATEGORY}|vital-signs`,
      `${c}/Observation.cruds?category=${OBS_CATEGORY}|vital-signs`,
      `${c}/Observation.rs?category=laboratory`,
      `${c}/Observation.rs?code=${LOINC}|718-7`,
      `${c}/Observation.cruds?category=${OBS_CATEGORY}|laboratory&code=${LOINC}|718-7`,
      `${c}/Condition.rs?category=${CONDITION_CATEGORY}|problem-list-item`,
      `${c}/Condition.cruds?category=${CONDITION_CATEGORY}|encounter-diagnosis`,
    ) },
  );
}

const AGES: readonly AgeClass[] = ['adult', 'adult', 'teen', 'child', 'turns13tomorrow', 'turned13today', 'turns18tomorrow', 'turned18today', 'no-birth-date'];
const KINDS: readonly RecordKind[] = [
  'obs-lab', 'obs-vital', 'obs-social', 'obs-nocat', 'obs-performer-other', 'obs-member-other', 'cond-problem', 'cond-dx', 'allergy', 'immunization', 'encounter', 'medreq',
  'report', 'report-other', 'docref', 'coverage', 'coverage-on-other', 'claim', 'related', 'provenance', 'provenance-other', 'task',
];

export function worldArb(size: { maxRecords: number; maxGrants: number }): fc.Arbitrary<WorldSpec> {
  return fc.integer({ min: 3, max: 5 }).chain((n) => {
    const patient = fc.integer({ min: 0, max: n - 1 });
    const grant = (accounts: number): fc.Arbitrary<GrantSpec> =>
      fc.record({
        kind: fc.constantFrom('standalone', 'user', 'ehr') as fc.Arbitrary<GrantSpec['kind']>,
        account: fc.integer({ min: 0, max: accounts - 1 }),
        patient,
        choice: fc.constantFrom('own', 'own', 'reachable', 'reachable', 'any') as fc.Arbitrary<GrantSpec['choice']>,
        scopes: fc.constant([] as string[]),
        keep: fc.option(fc.array(fc.boolean(), { minLength: 1, maxLength: 6 }), { freq: 3 }),
      }).chain((g) =>
        fc.array(g.kind === 'user' ? fc.oneof({ weight: 4, arbitrary: scopeArb('user') }, { weight: 1, arbitrary: scopeArb('patient') }) : fc.oneof({ weight: 4, arbitrary: scopeArb('patient') }, { weight: 1, arbitrary: scopeArb('user') }), { minLength: 1, maxLength: 3 }).map((scopes) => ({ ...g, scopes })),
      );
    return fc
      .record({
        patients: fc.array(fc.constantFrom(...AGES), { minLength: n, maxLength: n }),
        ownAccounts: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
        recordlessAccount: fc.boolean(),
        relationsRaw: fc.array(fc.record({ holder: fc.nat(), patient, relationship: fc.constantFrom('parent', 'guardian', 'legal-authorization') as fc.Arbitrary<RelationModel['relationship']>, window: fc.constantFrom('active', 'active', 'open-ended', 'ended', 'future', 'revoked') as fc.Arbitrary<Window> }), { maxLength: 5 }),
        records: fc.array(fc.record({ patient, kind: fc.constantFrom(...KINDS), other: patient }), { minLength: 4, maxLength: size.maxRecords }),
        orphans: fc.integer({ min: 0, max: 2 }),
        editsRaw: fc.array(fc.record({ record: fc.nat(), edit: fc.constantFrom('move', 'recategorize', 'delete', 'delete-then-reuse') as fc.Arbitrary<Edit>, to: patient }), { maxLength: 4 }),
        grantsRaw: fc.array(fc.nat(), { minLength: Math.min(6, size.maxGrants), maxLength: size.maxGrants }),
        systemGrants: fc.array(fc.array(scopeArb('system'), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }),
        grantSeed: fc.integer(),
      })
      .chain((w) => {
        // Every patient 13 or older may hold an account (one per record); the first always does, so there is a holder.
        const owners = w.ownAccounts.map((b, i) => i === 0 || b);
        const accounts = owners.filter(Boolean).length + (w.recordlessAccount ? 1 : 0) + 1; // + the clinician
        return fc.array(grant(accounts), { minLength: w.grantsRaw.length, maxLength: w.grantsRaw.length }).map((grants) => ({
          patients: w.patients,
          ownAccounts: owners,
          recordlessAccount: w.recordlessAccount,
          relations: w.relationsRaw.map((r) => ({ ...r, holder: r.holder % (accounts - 1) })),
          records: w.records,
          orphans: w.orphans,
          edits: w.editsRaw.map((e) => ({ ...e, record: e.record % w.records.length })),
          // Every third grant also reads everything in its context, so each world has tokens whose answers carry data.
          grants: grants.map((g, i) => (i % 3 === 0 ? { ...g, scopes: [`${g.kind === 'user' ? 'user' : 'patient'}/*.${i % 2 ? 'read' : 'rs'}`, ...g.scopes] } : g)),
          systemGrants: w.systemGrants,
        }));
      });
  });
}

// ------------------------------------------------------------------------------------------------------ contents

function birthDate(age: AgeClass, now: number): string | undefined {
  const d = new Date(now);
  const at = (years: number, dayShift: number) => {
    const t = Date.UTC(d.getUTCFullYear() - years, d.getUTCMonth(), d.getUTCDate()) + dayShift * DAY;
    return new Date(t).toISOString().slice(0, 10);
  };
  switch (age) {
    case 'adult':
      return at(34, -40);
    case 'teen':
      return at(15, -100);
    case 'child':
      return at(8, -10);
    case 'turns13tomorrow':
      return at(13, 1);
    case 'turned13today':
      return at(13, 0);
    case 'turns18tomorrow':
      return at(18, 1);
    case 'turned18today':
      return at(18, 0);
    case 'no-birth-date':
      return undefined;
  }
}

const ref = (type: string, id: string) => ({ reference: `${type}/${id}` });
const cat = (system: string, code: string) => [{ coding: [{ system, code }] }];

export function observation(id: string, subject: string | null, category: string | null, code = '718-7', extra: Json = {}): Json {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    ...(category ? { category: cat(OBS_CATEGORY, category) } : {}),
    code: { coding: [{ system: LOINC, code }] },
    ...(subject ? { subject: ref('Patient', subject) } : {}),
    effectiveDateTime: '2024-05-01T10:00:00Z',
    identifier: [{ system: 'urn:test:id', value: id }],
    ...extra,
  };
}

export interface Shared {
  readonly practitioners: readonly string[];
  readonly organization: string;
  readonly location: string;
  readonly medications: readonly string[];
  readonly role: string;
}

/** The content of one record of `p`; `other` is another patient (for cross-record references), `firstObs` their lab result. */
function recordContent(kind: RecordKind, id: string, p: string, other: string, shared: Shared, firstObs: (patient: string) => string, ownFirst: string): { type: string; body: Json } {
  const subject = ref('Patient', p);
  switch (kind) {
    case 'obs-lab':
      return { type: 'Observation', body: observation(id, p, 'laboratory', '718-7') };
    case 'obs-vital':
      return { type: 'Observation', body: observation(id, p, 'vital-signs', '8867-4') };
    case 'obs-social':
      return { type: 'Observation', body: observation(id, p, 'social-history', '72166-2') };
    case 'obs-nocat':
      return { type: 'Observation', body: observation(id, p, null, '718-7') };
    case 'obs-performer-other':
      return { type: 'Observation', body: observation(id, p, 'laboratory', '718-7', { performer: [ref('Patient', other)] }) };
    case 'obs-member-other':
      return { type: 'Observation', body: observation(id, p, 'laboratory', '2345-7', { hasMember: [ref('Observation', firstObs(other))] }) };
    case 'cond-problem':
    case 'cond-dx':
      return {
        type: 'Condition',
        body: { resourceType: 'Condition', id, category: cat(CONDITION_CATEGORY, kind === 'cond-problem' ? 'problem-list-item' : 'encounter-diagnosis'), code: { coding: [{ system: 'http://snomed.info/sct', code: '44054006' }] }, subject, identifier: [{ system: 'urn:test:id', value: id }] },
      };
    case 'allergy':
      return { type: 'AllergyIntolerance', body: { resourceType: 'AllergyIntolerance', id, patient: subject, code: { coding: [{ system: 'http://snomed.info/sct', code: '91936005' }] } } };
    case 'immunization':
      return { type: 'Immunization', body: { resourceType: 'Immunization', id, status: 'completed', vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '140' }] }, patient: subject, occurrenceDateTime: '2024-01-01' } };
    case 'encounter':
      return {
        type: 'Encounter',
        body: { resourceType: 'Encounter', id, status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject, participant: [{ individual: ref('Practitioner', shared.practitioners[0]!) }], location: [{ location: ref('Location', shared.location) }] },
      };
    case 'medreq':
      return {
        type: 'MedicationRequest',
        body: { resourceType: 'MedicationRequest', id, status: 'active', intent: 'order', medicationReference: ref('Medication', shared.medications[0]!), subject, requester: ref('Practitioner', shared.practitioners[1]!), authoredOn: '2024-02-02' },
      };
    case 'report':
    case 'report-other':
      return {
        type: 'DiagnosticReport',
        body: { resourceType: 'DiagnosticReport', id, status: 'final', category: cat('http://terminology.hl7.org/CodeSystem/v2-0074', 'LAB'), code: { coding: [{ system: LOINC, code: '58410-2' }] }, subject, result: [ref('Observation', kind === 'report' ? ownFirst : firstObs(other))] },
      };
    case 'docref':
      return {
        type: 'DocumentReference',
        body: {
          resourceType: 'DocumentReference',
          id,
          status: 'current',
          type: { coding: [{ system: LOINC, code: '34133-9' }] },
          category: cat('http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category', 'clinical-note'),
          subject,
          date: '2024-03-03T10:00:00Z',
          content: [{ attachment: { contentType: 'text/plain', data: 'aGVsbG8=' } }],
        },
      };
    case 'coverage':
      return { type: 'Coverage', body: { resourceType: 'Coverage', id, status: 'active', beneficiary: subject, payor: [ref('Organization', shared.organization)] } };
    case 'coverage-on-other':
      // A child on a parent's policy: in both records (R4), filed under the beneficiary's by the server.
      return { type: 'Coverage', body: { resourceType: 'Coverage', id, status: 'active', beneficiary: subject, subscriber: ref('Patient', other), payor: [ref('Organization', shared.organization)] } };
    case 'claim':
      return {
        type: 'Claim',
        body: {
          resourceType: 'Claim',
          id,
          status: 'active',
          type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
          use: 'claim',
          patient: subject,
          created: '2024-01-01',
          provider: ref('Organization', shared.organization),
          priority: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/processpriority', code: 'normal' }] },
          insurance: [{ sequence: 1, focal: true, coverage: { display: 'plan' } }],
        },
      };
    case 'related':
      return { type: 'RelatedPerson', body: { resourceType: 'RelatedPerson', id, patient: subject, name: [{ family: 'Relative' }] } };
    case 'provenance':
    case 'provenance-other':
      return {
        type: 'Provenance',
        body: { resourceType: 'Provenance', id, target: [ref('Observation', kind === 'provenance' ? ownFirst : firstObs(other))], recorded: '2024-01-01T00:00:00Z', agent: [{ who: ref('Practitioner', shared.practitioners[0]!) }] },
      };
    case 'task':
      return { type: 'Task', body: { resourceType: 'Task', id, status: 'requested', intent: 'order', for: subject } };
  }
}

// ---------------------------------------------------------------------------------------------------- the world

export interface World {
  readonly prefix: string;
  readonly patients: readonly string[];
  readonly accounts: readonly AccountModel[];
  readonly tokens: readonly TokenModel[];
  /** The Group of some of this world's patients */
  readonly group: { readonly id: string; readonly members: readonly string[] };
  readonly shared: Shared;
  readonly stats: MintStats;
}

export interface MintStats {
  minted: number;
  refused: number;
  byKind: Record<string, number>;
  /** Problems with minting itself (a token wider than asked, a context other than chosen); each fails the test */
  problems: string[];
}

/** What a test run keeps across worlds: the server, its clients and the model of everything in its database. */
export interface Harness {
  readonly server: SmartServer;
  readonly model: WorldModel;
  readonly portal: PortalServices;
  readonly app: RegisteredClient;
  readonly backend: RegisteredClient;
  /** system/*.rs of the backend client: the all-access reader that checks what writes left behind (renewed per world: it lives 5 minutes) */
  auditor: string;
}

export async function createHarness(server: SmartServer): Promise<Harness> {
  const portal = createPortalServices({ db: server.database.db, fhir: server.fhir, accountOptions: { hashParams: { ln: 10, r: 8, p: 1 } } });
  const app = await registerClient(server, {
    client_name: 'Cross-patient property',
    redirect_uris: [REDIRECT],
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    scope: 'openid fhirUser launch launch/patient patient/*.cruds user/*.cruds patient/*.* user/*.*',
  });
  const backend = await registerClient(server, {
    client_name: 'Cross-patient backend',
    grant_types: ['client_credentials'],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'system/*.cruds system/*.*',
  });
  const harness = { server, model: new WorldModel(), portal, app, backend, auditor: '' };
  return { ...harness, auditor: await clientCredentials(harness, 'system/*.rs').then((t) => t.access_token) };
}

const configs = new WeakMap<Harness, Promise<oidc.Configuration>>();
/** The app's OpenID configuration, discovered once per harness. */
function appConfig(h: Harness): Promise<oidc.Configuration> {
  let c = configs.get(h);
  if (!c) configs.set(h, (c = oidc.discovery(new URL(h.server.issuer), h.app.client_id, {}, oidc.None(), { execute: [oidc.allowInsecureRequests] })));
  return c;
}

export async function clientCredentials(h: Pick<Harness, 'server' | 'backend'>, scope: string): Promise<{ access_token: string; scope: string }> {
  const res = await fetch(`${h.server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${h.backend.client_id}:${h.backend.client_secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
  });
  if (res.status !== 200) throw new Error(`client_credentials ${scope}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { access_token: string; scope: string };
}

/** Writes through the server's own service (as an import would), and records the version in the model. */
export async function put(h: Harness, type: string, body: Json): Promise<void> {
  const id = String(body.id);
  const { resource } = await h.server.fhir.update(type, id, body);
  const known = h.model.get(type, id);
  const version = versionOf(h.model, type, body, resource.versionId);
  if (known) known.versions.push(version);
  else h.model.resources.set(h.model.key(type, id), { type, id, versions: [version] });
}

export async function remove(h: Harness, type: string, id: string): Promise<void> {
  await h.server.fhir.delete(type, id);
  const known = h.model.get(type, id)!;
  const last = current(known);
  known.versions.push({ versionId: last.versionId + 1, deleted: true, compartments: last.compartments, tokens: last.tokens });
}

export async function buildWorld(h: Harness, index: number, spec: WorldSpec): Promise<World> {
  h.auditor = (await clientCredentials(h, 'system/*.rs')).access_token;
  const prefix = `w${index}`;
  const now = Date.now();
  const patients = spec.patients.map((_, i) => `${prefix}-p${i}`);
  const shared: Shared = {
    practitioners: [`${prefix}-prac-0`, `${prefix}-prac-1`],
    organization: `${prefix}-org-0`,
    location: `${prefix}-loc-0`,
    medications: [`${prefix}-med-0`],
    role: `${prefix}-role-0`,
  };
  for (const id of shared.practitioners) await put(h, 'Practitioner', { resourceType: 'Practitioner', id, name: [{ family: `Doc${id.replace(/\W/g, '')}` }] });
  await put(h, 'Organization', { resourceType: 'Organization', id: shared.organization, name: `Clinic ${prefix}` });
  await put(h, 'Location', { resourceType: 'Location', id: shared.location, name: `Ward ${prefix}` });
  for (const id of shared.medications) await put(h, 'Medication', { resourceType: 'Medication', id, code: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '197361' }] } });
  await put(h, 'PractitionerRole', { resourceType: 'PractitionerRole', id: shared.role, practitioner: ref('Practitioner', shared.practitioners[0]!), organization: ref('Organization', shared.organization) });

  // Every patient: the Patient and a lab result (the target of references from other records), then the generated records.
  spec.patients.forEach((age, i) => h.model.birthDates.set(patients[i]!, birthDate(age, now)));
  for (const [i, id] of patients.entries()) {
    const bd = h.model.birthDates.get(id);
    await put(h, 'Patient', { resourceType: 'Patient', id, name: [{ family: `Fam${prefix}${i}`, given: ['Pat'] }], gender: 'unknown', ...(bd ? { birthDate: bd } : {}), identifier: [{ system: 'urn:test:mrn', value: id }] });
    await put(h, 'Observation', observation(`${id}-lab`, id, 'laboratory'));
  }
  const firstObs = (p: string) => `${p}-lab`;
  const recordIds: { type: string; id: string }[] = [];
  for (const [n, r] of spec.records.entries()) {
    const p = patients[r.patient]!;
    const other = patients[r.other === r.patient ? (r.other + 1) % patients.length : r.other]!;
    const { type, body } = recordContent(r.kind, `${p}-r${n}`, p, other, shared, firstObs, firstObs(p));
    await put(h, type, body);
    recordIds.push({ type, id: String(body.id) });
  }
  for (let n = 0; n < spec.orphans; n++) await put(h, 'Observation', observation(`${prefix}-orphan-${n}`, null, 'laboratory'));
  const members = patients.filter((_, i) => i % 2 === 0);
  const group = { id: `${prefix}-group`, members };
  await put(h, 'Group', { resourceType: 'Group', id: group.id, type: 'person', actual: true, member: members.map((m) => ({ entity: ref('Patient', m) })) });

  // Corrections made later by the hospital: histories then hold versions from another record or category.
  for (const e of spec.edits) {
    const target = recordIds[e.record]!;
    const model = h.model.get(target.type, target.id)!;
    if (current(model).deleted) continue;
    const stored = await h.server.fhir.read(target.type, target.id);
    const body = JSON.parse(stored.json!) as Json;
    delete body.meta;
    const to = patients[e.to]!;
    if (e.edit === 'move' || e.edit === 'delete-then-reuse') {
      if (e.edit === 'delete-then-reuse') await remove(h, target.type, target.id);
      for (const k of ['subject', 'patient', 'beneficiary', 'for']) if (body[k]) body[k] = ref('Patient', to);
      await put(h, target.type, body);
    } else if (e.edit === 'recategorize') {
      if (target.type !== 'Observation') continue;
      body.category = cat(OBS_CATEGORY, JSON.stringify(body.category ?? '').includes('laboratory') ? 'vital-signs' : 'laboratory');
      await put(h, target.type, body);
    } else await remove(h, target.type, target.id);
  }

  const accounts = await createAccounts(h, prefix, spec, patients);
  await createRelations(h, spec, accounts, patients, now);
  const stats: MintStats = { minted: 0, refused: 0, byKind: {}, problems: [] };
  const tokens: TokenModel[] = [];
  for (const [n, g] of spec.grants.entries()) {
    const token = await mintUserToken(h, `${prefix}/g${n}`, g, accounts, patients, stats);
    if (token) tokens.push(token);
  }
  for (const [n, scopes] of spec.systemGrants.entries()) {
    const asked = scopes.join(' ');
    const got = await clientCredentials(h, asked);
    const granted = modelScopes(got.scope);
    checkNoWidening(stats, `${prefix}/s${n}`, asked, granted);
    tokens.push({ label: `${prefix}/s${n} system [${short(got.scope)}]`, accessToken: got.access_token, clientId: h.backend.client_id, scopes: granted, backend: true });
    count(stats, 'system');
  }
  return { prefix, patients, accounts, tokens, group, shared, stats };
}

/** A scope list short enough for a failure message (consent can turn one wildcard into a hundred scopes). */
const short = (scope: string | undefined) => ((scope ?? '').length > 240 ? `${(scope ?? '').slice(0, 240)}… (${(scope ?? '').split(' ').length} scopes)` : (scope ?? ''));

function count(stats: MintStats, kind: string): void {
  stats.minted++;
  stats.byKind[kind] = (stats.byKind[kind] ?? 0) + 1;
}

async function createAccounts(h: Harness, prefix: string, spec: WorldSpec, patients: readonly string[]): Promise<AccountModel[]> {
  const out: AccountModel[] = [];
  const make = async (username: string, patientId: string | null, role: AccountModel['role']) => {
    const r = await h.portal.accounts.create({ username, password: PASSWORD, displayName: username, fhirUser: patientId ? `Patient/${patientId}` : `Practitioner/${prefix}-prac-0`, patientId, role });
    if (!r.ok) throw new Error(`account ${username}: ${JSON.stringify(r.problems)}`);
    const a: AccountModel = { id: r.account.id, username, role, patientId };
    h.model.accounts.set(a.id, a);
    out.push(a);
  };
  for (const [i, own] of spec.ownAccounts.entries()) if (own) await make(`${prefix}u${i}`, patients[i]!, 'patient');
  if (spec.recordlessAccount) await make(`${prefix}parent`, null, 'patient');
  await make(`${prefix}doc`, null, 'clinician');
  return out;
}

async function createRelations(h: Harness, spec: WorldSpec, accounts: readonly AccountModel[], patients: readonly string[], now: number): Promise<void> {
  const store = new ProxyRelationStore(h.server.database.db.kysely);
  for (const r of spec.relations) {
    const holder = accounts[r.holder]!;
    const patientId = patients[r.patient]!;
    if (holder.role !== 'patient' || holder.patientId === patientId) continue;
    const from = r.window === 'future' ? now + 3 * DAY : now - 30 * DAY;
    const until = r.window === 'active' ? now + 30 * DAY : r.window === 'ended' ? now - DAY : r.window === 'future' ? now + 30 * DAY : null;
    let relation: RelationModel | undefined;
    try {
      const made = await h.portal.proxies.grant({ holderUsername: holder.username, patientId, relationship: r.relationship, from, until });
      relation = { holderAccountId: holder.id, patientId, relationship: r.relationship, startsAt: made.startsAt, endsAt: made.endsAt, revokedAt: null };
      if (r.window === 'revoked') {
        await h.portal.proxies.revoke(made.id);
        relation = { ...relation, revokedAt: Date.now() };
      }
    } catch (err) {
      // Refused today (a parent of an adult, a second relation to one record, ...). A parent's relation made years ago
      // to a child who is now an adult is a real state, though: recorded as the store keeps it.
      const age = h.model.birthDates.get(patientId);
      if (r.relationship === 'legal-authorization' || !age || !/legal-authorization|adult/.test((err as Error).message)) continue;
      const startsAt = now - 20 * 365 * DAY;
      await store.insert({ id: randomUUID(), holderAccountId: holder.id, patientId, relationship: r.relationship, startsAt, endsAt: null, createdAt: startsAt, note: 'made when the patient was a child' });
      relation = { holderAccountId: holder.id, patientId, relationship: r.relationship, startsAt, endsAt: null, revokedAt: null };
    }
    h.model.relations.push(relation);
  }
}

export function modelScopes(scope: string | undefined): ScopeModel[] {
  return (scope ?? '').split(' ').flatMap((s) => parseScopeModel(s) ?? []);
}

/** The token's scopes never reach further than what was asked for. */
function checkNoWidening(stats: MintStats, label: string, asked: string, granted: readonly ScopeModel[]): void {
  const wanted = modelScopes(asked);
  for (const g of granted) if (!wanted.some((w) => scopeCoversModel(w, g))) stats.problems.push(`${label}: granted ${g.raw}, which no requested scope (${asked}) covers`);
}

const PORTAL_SESSION = 'portal_session';
/** The portal session cookie of each account that has signed in once. */
const portalSessions = new Map<string, string>();

async function mintUserToken(h: Harness, label: string, g: GrantSpec, accounts: readonly AccountModel[], patients: readonly string[], stats: MintStats): Promise<TokenModel | undefined> {
  const account = accounts[g.account]!;
  const reach = h.model.reach(account);
  const reachable = [...reach.keys()];
  const chosen = g.choice === 'own' && account.patientId ? account.patientId : g.choice === 'reachable' && reachable.length ? reachable[g.patient % reachable.length]! : patients[g.patient]!;
  const clinician = account.role === 'clinician';
  // The context the model expects, or undefined when the flow must refuse.
  let expectedPatient: string | undefined;
  let expectRefusal = false;
  let launch: string | undefined;
  if (g.kind === 'ehr') {
    const res = await fetch(`${h.server.base}/sandbox/launch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ patient: chosen, client_id: h.app.client_id }) });
    if (res.status !== 201) throw new Error(`sandbox launch: ${res.status} ${await res.text()}`);
    launch = ((await res.json()) as { launch: string }).launch;
    if (clinician || reach.has(chosen)) expectedPatient = chosen;
    else expectRefusal = true;
  } else if (g.kind === 'standalone') {
    if (clinician) return undefined; // a clinician has no record to pick
    if (reach.size === 0) expectRefusal = true;
    else if (reach.size === 1) expectedPatient = [...reach.keys()][0];
    else if (reach.has(chosen)) expectedPatient = chosen;
    else expectRefusal = true;
  } else expectedPatient = clinician ? undefined : account.patientId && reach.has(account.patientId) ? account.patientId : undefined;

  const scope = ['openid', 'fhirUser', ...(g.kind === 'ehr' ? ['launch'] : g.kind === 'standalone' ? ['launch/patient'] : []), ...g.scopes].join(' ');
  const config = await appConfig(h);
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    aud: h.server.fhirBase,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: 'st',
    scope,
    ...(launch ? { launch } : {}),
  });
  // A browser of its own per flow: oidc-provider keeps one authorization per client in a session, and tokens issued
  // without offline_access end when a later authorization of the same client replaces it in that session. Only the
  // portal's sign-in is carried over (the portal's "already signed in"), as a sign-in costs a full-strength scrypt.
  const jar = new CookieJar();
  const signedIn = portalSessions.get(account.id);
  if (signedIn) jar.store(new Response(null, { headers: { 'set-cookie': `${PORTAL_SESSION}=${signedIn}` } }));
  let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
  try {
    const flow = await authorizeInBrowser(url.toString(), REDIRECT, {
      username: account.username,
      password: PASSWORD,
      patient: chosen,
      ...(g.keep ? { keepGroups: (offered: string[]) => offered.filter((_, i) => g.keep![i % g.keep!.length]) } : {}),
    }, jar);
    const session = new RegExp(`(?:^|; )${PORTAL_SESSION}=([^;]+)`).exec(jar.header())?.[1];
    if (session) portalSessions.set(account.id, session);
    tokens = await oidc.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: verifier, expectedState: 'st' });
  } catch (err) {
    if (expectRefusal) {
      stats.refused++;
      return undefined;
    }
    // Unticking every group leaves nothing to grant, which the flow may answer with an error: not a leak.
    if (g.keep && /access_denied|invalid_scope/.test(`${String(err)} ${(err as { error?: string }).error}`)) return undefined;
    const e = err as Error & { error?: string; error_description?: string };
    stats.problems.push(`${label}: ${g.kind} flow for ${account.username} on ${chosen} [${scope}] failed: ${e.message.slice(0, 300)} ${e.error ?? ''} ${e.error_description ?? ''}`);
    return undefined;
  }
  const patient = typeof tokens.patient === 'string' ? tokens.patient : undefined;
  if (expectRefusal) stats.problems.push(`${label}: ${g.kind} flow for ${account.username} on ${chosen} should have been refused, got a token for ${patient ?? 'no patient'} [${tokens.scope}]`);
  else if (patient !== expectedPatient) stats.problems.push(`${label}: ${g.kind} flow for ${account.username}: context patient ${patient} where ${expectedPatient} was expected`);
  const granted = modelScopes(tokens.scope);
  checkNoWidening(stats, label, scope, granted);
  count(stats, g.kind);
  return {
    label: `${label} ${g.kind} ${account.username}${patient ? `@${patient}` : ''} [${short(tokens.scope)}]`,
    accessToken: tokens.access_token,
    clientId: h.app.client_id,
    account,
    ...(patient ? { patient } : {}),
    scopes: granted,
    backend: false,
  };
}
