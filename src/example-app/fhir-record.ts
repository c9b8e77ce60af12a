// Loads what the record page shows, every call through fhir-kit-client with the session's access token. Each section
// fails on its own: a 403 (the patient did not share that kind of data) or a granted scope that leaves it out becomes
// "not shared", another error "could not be loaded"; only a 401 (token expired or revoked) stops the whole load.
import type { AllergyIntolerance, Bundle, Condition, Immunization, Medication, MedicationRequest, MedicationStatement, Observation, Patient, Reference, Resource } from 'fhir/r4.js';
import { Client } from 'fhir-kit-client';
import { scopeAllows } from './granted-scope.js';

export type Section<T> =
  | { readonly status: 'shown'; readonly items: readonly T[]; readonly truncated: boolean }
  | { readonly status: 'not-shared' }
  | { readonly status: 'failed'; readonly message: string };

/** A prescription with the Medication it names, when that is a separate resource the server sent along. */
export interface Prescription {
  readonly request: MedicationRequest;
  readonly medication?: Medication;
}

export interface PatientRecord {
  readonly patient: Section<Patient>;
  readonly problems: Section<Condition>;
  readonly labs: Section<Observation>;
  readonly vitals: Section<Observation>;
  readonly prescriptions: Section<Prescription>;
  readonly medicationStatements: Section<MedicationStatement>;
  readonly allergies: Section<AllergyIntolerance>;
  readonly immunizations: Section<Immunization>;
}

/** The FHIR server refused the token itself (401): it expired, or the patient or server ended the grant. */
export class TokenRejected extends Error {}

export interface LoadOptions {
  readonly fhirBaseUrl: string;
  readonly accessToken: string;
  readonly patient: string;
  /** The `scope` of the token response */
  readonly grantedScope: string;
  /** Pages followed per search (100 results each): a bound, so a huge record cannot keep the page loading forever */
  readonly maxPages: number;
}

const statusOf = (err: unknown): number | undefined => (err as { response?: { status?: number } }).response?.status;

async function section<T>(allowed: boolean, load: () => Promise<{ items: T[]; truncated: boolean }>): Promise<Section<T>> {
  if (!allowed) return { status: 'not-shared' };
  try {
    const { items, truncated } = await load();
    return { status: 'shown', items, truncated };
  } catch (err) {
    const status = statusOf(err);
    if (status === 401) throw new TokenRejected('the FHIR server refused the access token');
    if (status === 403) return { status: 'not-shared' };
    return { status: 'failed', message: status ? `the server answered ${status}` : 'the server could not be reached' };
  }
}

/** Same scheme, host, port and base path: the token must never travel to another server (it is meant for `aud`). */
const onServer = (url: string, fhirBaseUrl: string): boolean => url === fhirBaseUrl || url.startsWith(`${fhirBaseUrl.replace(/\/$/, '')}/`);

interface SearchResult<T> {
  items: T[];
  /** Resources the server sent along for `_include` (search mode "include") */
  included: Resource[];
  truncated: boolean;
}

/** A search, following the Bundle's `next` links up to `maxPages` pages. */
async function searchAll<T extends Resource>(fhir: Client, opts: LoadOptions, resourceType: T['resourceType'], searchParams: Record<string, string | number>): Promise<SearchResult<T>> {
  let response = await fhir.search({ resourceType, searchParams: { ...searchParams, _count: 100 } });
  const items: T[] = [];
  const included: Resource[] = [];
  for (let page = 1; ; page++) {
    const bundle = response as unknown as Bundle;
    // Entries in search mode "include" are not results, nor are "outcome" ones (warnings).
    for (const e of bundle.entry ?? []) {
      if (!e.resource || e.search?.mode === 'outcome') continue;
      if (e.search?.mode === 'include') included.push(e.resource);
      else if (e.resource.resourceType === resourceType) items.push(e.resource as T);
    }
    const next = bundle.link?.find((l) => l.relation === 'next')?.url;
    if (!next) return { items, included, truncated: false };
    if (page >= opts.maxPages || !onServer(next, opts.fhirBaseUrl)) return { items, included, truncated: true };
    response = (await fhir.nextPage({ bundle: response as typeof response & { link: { relation: string; url: string }[] } }))!;
  }
}

/** `Type/id` of a reference, relative or absolute (a version suffix dropped); undefined for `#contained` and others. */
export function referenceKey(ref: Reference | undefined): string | undefined {
  const m = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9.-]{1,64})(?:\/_history\/[^/]+)?$/.exec(ref?.reference ?? '');
  return m ? `${m[1]}/${m[2]}` : undefined;
}

/** The Medication a prescription names by reference: contained in it, or sent along by `_include`. */
function medicationOf(request: MedicationRequest, included: ReadonlyMap<string, Medication>): Medication | undefined {
  const ref = request.medicationReference?.reference;
  if (!ref) return undefined;
  if (ref.startsWith('#')) return request.contained?.find((r): r is Medication => r.resourceType === 'Medication' && r.id === ref.slice(1));
  const key = referenceKey(request.medicationReference);
  return key ? included.get(key) : undefined;
}

/**
 * Orders (intent=order: what a clinician prescribed, not proposals or plans), each with its Medication. The
 * `_include` is asked for only when Medication may be read: without it the server would leave them out anyway, and
 * the prescription's own `medicationReference.display` still names the medicine.
 */
async function loadPrescriptions(fhir: Client, opts: LoadOptions, includeMedications: boolean): Promise<{ items: Prescription[]; truncated: boolean }> {
  const result = await searchAll<MedicationRequest>(fhir, opts, 'MedicationRequest', {
    patient: opts.patient,
    intent: 'order',
    ...(includeMedications ? { _include: 'MedicationRequest:medication' } : {}),
  });
  const medications = new Map(result.included.filter((r): r is Medication => r.resourceType === 'Medication' && !!r.id).map((m) => [`Medication/${m.id}`, m]));
  return {
    items: result.items.map((request) => {
      const medication = medicationOf(request, medications);
      return medication ? { request, medication } : { request };
    }),
    truncated: result.truncated,
  };
}

export async function loadRecord(opts: LoadOptions): Promise<PatientRecord> {
  const fhir = new Client({ baseUrl: opts.fhirBaseUrl, bearerToken: opts.accessToken });
  const scope = opts.grantedScope;
  const patient = opts.patient;
  // Concurrently: eight small requests instead of one long wait. A 401 in any of them rejects the whole load.
  const [patientSection, problems, labs, vitals, prescriptions, medicationStatements, allergies, immunizations] = await Promise.all([
    section<Patient>(scopeAllows(scope, 'Patient', 'read'), async () => ({
      items: [(await fhir.read({ resourceType: 'Patient', id: patient })) as Patient],
      truncated: false,
    })),
    // Every category (problem list, health concerns, encounter diagnoses): the page orders them.
    section<Condition>(scopeAllows(scope, 'Condition', 'search'), () => searchAll<Condition>(fhir, opts, 'Condition', { patient })),
    section<Observation>(scopeAllows(scope, 'Observation', 'search', 'laboratory'), () => searchAll<Observation>(fhir, opts, 'Observation', { patient, category: 'laboratory', _sort: '-date' })),
    section<Observation>(scopeAllows(scope, 'Observation', 'search', 'vital-signs'), () => searchAll<Observation>(fhir, opts, 'Observation', { patient, category: 'vital-signs', _sort: '-date' })),
    section<Prescription>(scopeAllows(scope, 'MedicationRequest', 'search'), () => loadPrescriptions(fhir, opts, scopeAllows(scope, 'Medication', 'read'))),
    section<MedicationStatement>(scopeAllows(scope, 'MedicationStatement', 'search'), () => searchAll<MedicationStatement>(fhir, opts, 'MedicationStatement', { patient })),
    section<AllergyIntolerance>(scopeAllows(scope, 'AllergyIntolerance', 'search'), () => searchAll<AllergyIntolerance>(fhir, opts, 'AllergyIntolerance', { patient })),
    section<Immunization>(scopeAllows(scope, 'Immunization', 'search'), () => searchAll<Immunization>(fhir, opts, 'Immunization', { patient })),
  ]);
  return { patient: patientSection, problems, labs, vitals, prescriptions, medicationStatements, allergies, immunizations };
}
