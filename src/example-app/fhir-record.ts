// Loads what the record page shows, every call through fhir-kit-client with the session's access token. Each section
// fails on its own: a 403 (the patient did not share that kind of data) or a granted scope that leaves it out becomes
// "not shared", another error "could not be loaded"; only a 401 (token expired or revoked) stops the whole load.
import type { AllergyIntolerance, Bundle, Immunization, MedicationStatement, Observation, Patient, Resource } from 'fhir/r4.js';
import { Client } from 'fhir-kit-client';
import { scopeAllows } from './granted-scope.js';

export type Section<T> =
  | { readonly status: 'shown'; readonly items: readonly T[]; readonly truncated: boolean }
  | { readonly status: 'not-shared' }
  | { readonly status: 'failed'; readonly message: string };

export interface PatientRecord {
  readonly patient: Section<Patient>;
  readonly labs: Section<Observation>;
  readonly vitals: Section<Observation>;
  readonly medications: Section<MedicationStatement>;
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
    return { status: 'shown', ...(await load()) };
  } catch (err) {
    const status = statusOf(err);
    if (status === 401) throw new TokenRejected('the FHIR server refused the access token');
    if (status === 403) return { status: 'not-shared' };
    return { status: 'failed', message: status ? `the server answered ${status}` : 'the server could not be reached' };
  }
}

/** Same scheme, host, port and base path: the token must never travel to another server (it is meant for `aud`). */
const onServer = (url: string, fhirBaseUrl: string): boolean => url === fhirBaseUrl || url.startsWith(`${fhirBaseUrl.replace(/\/$/, '')}/`);

/** A search, following the Bundle's `next` links up to `maxPages` pages. */
async function searchAll<T extends Resource>(fhir: Client, opts: LoadOptions, resourceType: T['resourceType'], searchParams: Record<string, string | number>): Promise<{ items: T[]; truncated: boolean }> {
  let response = await fhir.search({ resourceType, searchParams: { ...searchParams, _count: 100 } });
  const items: T[] = [];
  for (let page = 1; ; page++) {
    const bundle = response as unknown as Bundle;
    // Entries in search mode "include" or "outcome" (warnings) are not results.
    for (const e of bundle.entry ?? []) if (e.resource?.resourceType === resourceType && e.search?.mode !== 'outcome') items.push(e.resource as T);
    const next = bundle.link?.find((l) => l.relation === 'next')?.url;
    if (!next) return { items, truncated: false };
    if (page >= opts.maxPages || !onServer(next, opts.fhirBaseUrl)) return { items, truncated: true };
    response = (await fhir.nextPage({ bundle: response as typeof response & { link: { relation: string; url: string }[] } }))!;
  }
}

export async function loadRecord(opts: LoadOptions): Promise<PatientRecord> {
  const fhir = new Client({ baseUrl: opts.fhirBaseUrl, bearerToken: opts.accessToken });
  const scope = opts.grantedScope;
  const patient = opts.patient;
  // Concurrently: six small requests instead of one long wait. A 401 in any of them rejects the whole load.
  const [patientSection, labs, vitals, medications, allergies, immunizations] = await Promise.all([
    section<Patient>(scopeAllows(scope, 'Patient', 'read'), async () => ({
      items: [(await fhir.read({ resourceType: 'Patient', id: patient })) as Patient],
      truncated: false,
    })),
    section<Observation>(scopeAllows(scope, 'Observation', 'search', 'laboratory'), () => searchAll<Observation>(fhir, opts, 'Observation', { patient, category: 'laboratory', _sort: '-date' })),
    section<Observation>(scopeAllows(scope, 'Observation', 'search', 'vital-signs'), () => searchAll<Observation>(fhir, opts, 'Observation', { patient, category: 'vital-signs', _sort: '-date' })),
    section<MedicationStatement>(scopeAllows(scope, 'MedicationStatement', 'search'), () => searchAll<MedicationStatement>(fhir, opts, 'MedicationStatement', { patient })),
    section<AllergyIntolerance>(scopeAllows(scope, 'AllergyIntolerance', 'search'), () => searchAll<AllergyIntolerance>(fhir, opts, 'AllergyIntolerance', { patient })),
    section<Immunization>(scopeAllows(scope, 'Immunization', 'search'), () => searchAll<Immunization>(fhir, opts, 'Immunization', { patient })),
  ]);
  return { patient: patientSection, labs, vitals, medications, allergies, immunizations };
}
