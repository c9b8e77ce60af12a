// Small hand-written data with known codes, categories and dates, loaded through the service (no auth).
import type { TestApp } from '../helpers/app.js';

export const CAT = 'http://terminology.hl7.org/CodeSystem/observation-category';
export const LOINC = 'http://loinc.org';

export interface ObsSpec {
  id: string;
  patient: string;
  category: 'laboratory' | 'vital-signs';
  code: string;
  status?: string;
  effective?: string | { start?: string; end?: string };
}

export function observation(o: ObsSpec): Record<string, unknown> {
  return {
    resourceType: 'Observation',
    id: o.id,
    status: o.status ?? 'final',
    category: [{ coding: [{ system: CAT, code: o.category }] }],
    code: { coding: [{ system: LOINC, code: o.code }] },
    subject: { reference: `Patient/${o.patient}` },
    ...(typeof o.effective === 'string' ? { effectiveDateTime: o.effective } : o.effective ? { effectivePeriod: o.effective } : {}),
  };
}

export const OBSERVATIONS: ObsSpec[] = [
  { id: 'o1', patient: 'p1', category: 'laboratory', code: '718-7', effective: '2020-06-01T10:00:00Z' },
  { id: 'o2', patient: 'p1', category: 'laboratory', code: '2345-7', effective: '2020-06-02T00:00:00Z' },
  { id: 'o3', patient: 'p1', category: 'vital-signs', code: '8867-4', effective: '2021-01-15T08:30:00+10:00' },
  { id: 'o4', patient: 'p1', category: 'vital-signs', code: '8867-4', status: 'preliminary', effective: '2019-12-31' },
  { id: 'o5', patient: 'p2', category: 'laboratory', code: '718-7', status: 'amended', effective: { start: '2020-05-01', end: '2020-07-01' } },
  { id: 'o6', patient: 'p2', category: 'vital-signs', code: '8302-4', effective: { start: '2022-01-01' } },
  { id: 'o7', patient: 'p2', category: 'laboratory', code: '4548-4', status: 'cancelled' },
];

export async function seed(app: TestApp): Promise<void> {
  await app.fhir.update('Patient', 'p1', {
    resourceType: 'Patient',
    id: 'p1',
    identifier: [{ system: 'http://hospital.example.org/mrn', value: 'MRN-001' }],
    name: [{ family: 'Núñez', given: ['Ana', 'María'] }],
    gender: 'female',
    birthDate: '1980-02-03',
  });
  await app.fhir.update('Patient', 'p2', {
    resourceType: 'Patient',
    id: 'p2',
    identifier: [{ system: 'http://hospital.example.org/mrn', value: 'MRN-002' }],
    name: [{ family: 'Smith', given: ['John'] }],
    gender: 'male',
    birthDate: '1975',
  });
  for (const o of OBSERVATIONS) await app.fhir.update('Observation', o.id, observation(o));
}

export interface SearchBundle {
  total?: number;
  link: { relation: string; url: string }[];
  entry?: { fullUrl: string; resource: Record<string, unknown> & { id: string; resourceType: string }; search: { mode: string } }[];
}

export async function ids(app: TestApp, url: string): Promise<string[]> {
  const res = await app.server.inject({ url });
  if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
  const b = JSON.parse(res.body) as SearchBundle;
  return (b.entry ?? []).filter((e) => e.search.mode === 'match').map((e) => e.resource.id).sort();
}
