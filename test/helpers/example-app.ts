// The example SMART app (src/example-app) started against a real test server, and a cookie-keeping HTTP "browser"
// that drives it through the server's sign-in and consent pages. Also the lab data its tests look at.
import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import type { Bundle, FhirResource } from 'fhir/r4.js';
import type { Test } from 'tap';
import { buildExampleApp, type ExampleAppOptions } from '../../src/example-app/app.js';
import { authorizeInBrowser, CookieJar, type FlowChoices } from './browser-flow.js';
import { freePort, registerClient, type SmartServer } from './smart-server.js';

/** What the sandbox's static example-app client may ask for (src/auth/clients.ts), for test registrations. */
export const EXAMPLE_APP_SCOPE =
  'openid fhirUser launch launch/patient offline_access patient/Patient.rs patient/Condition.rs patient/Observation.rs patient/AllergyIntolerance.rs patient/MedicationRequest.rs patient/Medication.rs patient/MedicationStatement.rs patient/Immunization.rs';

export interface ExampleAppUnderTest {
  readonly base: string;
  readonly redirectUri: string;
  readonly clientId: string;
  readonly app: FastifyInstance;
}

/** Registers a public client for the app's redirect URI on `server` and starts the app on a free loopback port. */
export async function startExampleApp(t: Test, server: SmartServer, opts: Partial<ExampleAppOptions> = {}): Promise<ExampleAppUnderTest> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const client = await registerClient(server, {
    client_name: 'Example Lab Viewer',
    redirect_uris: [`${base}/callback`],
    // The launch simulator opens the app here with iss and launch.
    initiate_login_uri: `${base}/launch`,
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    scope: EXAMPLE_APP_SCOPE,
  });
  const app = await buildExampleApp({ fhirBaseUrl: server.fhirBase, publicUrl: base, clientId: client.client_id, logger: false, ...opts });
  await app.listen({ port, host: '127.0.0.1' });
  t.teardown(() => app.close());
  return { base, redirectUri: `${base}/callback`, clientId: client.client_id, app };
}

export interface Page {
  readonly status: number;
  readonly url: string;
  readonly html: string;
}

/** One browser profile: one cookie jar for the app and the server (cookies ignore ports, as in a browser). */
export class AppBrowser {
  readonly jar = new CookieJar();
  constructor(private readonly app: ExampleAppUnderTest) {}

  /** GET, following the app's own redirects; stops at a redirect that leaves the app (returned as a 302 page). */
  async get(pathOrUrl: string): Promise<Page> {
    let url = new URL(pathOrUrl, this.app.base).toString();
    for (let hop = 0; hop < 10; hop++) {
      const res = await fetch(url, { redirect: 'manual', headers: { cookie: this.jar.header() } });
      this.jar.store(res);
      if (res.status >= 300 && res.status < 400) {
        const next = new URL(res.headers.get('location')!, url).toString();
        if (!next.startsWith(this.app.base)) return { status: res.status, url: next, html: '' };
        url = next;
        continue;
      }
      return { status: res.status, url, html: await res.text() };
    }
    throw new Error('too many redirects');
  }

  async post(path: string): Promise<Page> {
    const res = await fetch(new URL(path, this.app.base), { method: 'POST', redirect: 'manual', headers: { cookie: this.jar.header(), 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    this.jar.store(res);
    return this.get(res.headers.get('location') ?? path);
  }

  /**
   * Starts a launch at `startPath` (/connect, or /launch?iss=…&launch=…), goes through sign-in, patient choice and
   * consent on the server as `choices` say, and returns the app's page after the callback, with the authorization
   * URL the app built.
   */
  async connect(startPath: string, choices: FlowChoices): Promise<Page & { authorizeUrl: URL }> {
    const start = await this.get(startPath);
    if (start.status !== 302) throw new Error(`expected a redirect to the authorization server, got ${start.status}: ${start.html.slice(0, 300)}`);
    const flow = await authorizeInBrowser(start.url, this.app.redirectUri, choices, this.jar);
    return { ...(await this.get(flow.callback.toString())), authorizeUrl: new URL(start.url) };
  }
}

const LOINC = 'http://loinc.org';
const CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';

/**
 * Maria's medical record number, four hemoglobin results with a reference range (one low), two glucose results
 * without one, a medicine and an immunization, next to seedFamily's vital sign and allergy.
 */
export async function seedLabSeries(server: SmartServer): Promise<void> {
  await server.fhir.update('Patient', 'maria-garcia', {
    resourceType: 'Patient',
    id: 'maria-garcia',
    identifier: [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }], text: 'MRN' }, system: 'http://hospital.example.org/mrn', value: '1000001' }],
    name: [{ use: 'official', family: 'Garcia', given: ['Maria', 'Elena'] }],
    gender: 'female',
    birthDate: '1985-03-14',
  });
  const lab = (id: string, code: string, text: string, date: string, value: number, unit: string, range?: [number, number]) =>
    server.fhir.update('Observation', id, {
      resourceType: 'Observation',
      id,
      status: 'final',
      category: [{ coding: [{ system: CATEGORY, code: 'laboratory' }] }],
      code: { coding: [{ system: LOINC, code }], text },
      subject: { reference: 'Patient/maria-garcia' },
      effectiveDateTime: date,
      valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: unit },
      ...(range ? { referenceRange: [{ low: { value: range[0], unit }, high: { value: range[1], unit } }] } : {}),
    });
  await lab('hb-1', '718-7', 'Hemoglobin', '2023-03-02T14:11:00-06:00', 13.7, 'g/dL', [12, 15.5]);
  await lab('hb-2', '718-7', 'Hemoglobin', '2023-09-14T09:30:00-05:00', 11.2, 'g/dL', [12, 15.5]);
  await lab('hb-3', '718-7', 'Hemoglobin', '2024-04-20T10:05:00-05:00', 12.9, 'g/dL', [12, 15.5]);
  // seedFamily's lab (same test code, no value) gets its value and range: the newest hemoglobin.
  await lab('maria-garcia-laboratory', '718-7', 'Hemoglobin', '2025-01-02T10:00:00Z', 14.1, 'g/dL', [12, 15.5]);
  await lab('glu-1', '2345-7', 'Glucose', '2023-03-02T14:11:00-06:00', 92, 'mg/dL');
  await lab('glu-2', '2345-7', 'Glucose', '2024-04-20T10:05:00-05:00', 104, 'mg/dL');
  await server.fhir.update('MedicationStatement', 'maria-levothyroxine', {
    resourceType: 'MedicationStatement',
    id: 'maria-levothyroxine',
    status: 'active',
    medicationCodeableConcept: { text: 'Levothyroxine 125 mcg tablet' },
    subject: { reference: 'Patient/maria-garcia' },
    effectivePeriod: { start: '2023-05-30' },
    dosage: [{ text: 'Take 1 tablet by mouth every morning' }],
  });
  await server.fhir.update('Immunization', 'maria-flu-2024', {
    resourceType: 'Immunization',
    id: 'maria-flu-2024',
    status: 'completed',
    vaccineCode: { text: 'Influenza' },
    patient: { reference: 'Patient/maria-garcia' },
    occurrenceDateTime: '2024-10-15',
  });
}

const seedEntries = async (file: string): Promise<FhirResource[]> =>
  ((JSON.parse(await readFile(new URL(`../../fhir-resources/seed/${file}`, import.meta.url), 'utf8')) as Bundle<FhirResource>).entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));

/**
 * Maria's problem list (hypothyroidism, active), her visit diagnosis (a rash, resolved) and her levothyroxine
 * prescription with its Medication, as the sandbox seed has them (fhir-resources/seed), plus a pain reliever she
 * reported herself. With seedLabSeries' medication-list entry for the same levothyroxine.
 */
export async function seedProblemsAndPrescriptions(server: SmartServer): Promise<void> {
  const maria = await seedEntries('01-maria-garcia.json');
  const picked = maria.filter((r) => r.resourceType === 'Condition' || r.resourceType === 'MedicationRequest');
  const prescribed = new Set(picked.flatMap((r) => (r.resourceType === 'MedicationRequest' && r.medicationReference?.reference ? [r.medicationReference.reference] : [])));
  const medications = (await seedEntries('00-practice.json')).filter((r) => r.resourceType === 'Medication' && prescribed.has(`Medication/${r.id}`));
  for (const r of [...medications, ...picked]) {
    // Without the reference's display the medicine's name can only come from the Medication sent along by _include.
    const stored = r.resourceType === 'MedicationRequest' && r.medicationReference ? { ...r, medicationReference: { reference: r.medicationReference.reference! } } : r;
    await server.fhir.update(r.resourceType, r.id!, stored);
  }
  await server.fhir.update('MedicationStatement', 'maria-ibuprofen', {
    resourceType: 'MedicationStatement',
    id: 'maria-ibuprofen',
    status: 'active',
    medicationCodeableConcept: { text: 'Ibuprofen 200 mg tablet' },
    subject: { reference: 'Patient/maria-garcia' },
    informationSource: { reference: 'Patient/maria-garcia' },
    effectiveDateTime: '2025-01-10',
    dosage: [{ text: '1 tablet when needed for headache' }],
  });
}
