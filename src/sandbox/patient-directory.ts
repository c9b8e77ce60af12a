// The launch simulator's patient list: the synthetic patients with age, sex and a one-line summary of their record,
// searchable by name. Read through the FHIR service and the consent page's own counts, so it shows what apps see.
import type { Patient } from 'fhir/r4.js';
import type { FhirService } from '../fhir/service.js';
import { previewCounts } from '../portal/consent.js';
import { PERMISSION_GROUPS } from '../portal/permissions.js';
import { patientFacts } from '../portal/patient-records.js';
import { previewCountText } from '../portal/views.js';

export interface PatientSummary {
  readonly id: string;
  readonly name: string;
  readonly birthDate?: string;
  /** Whole years on `now`; undefined without a birth date */
  readonly age?: number;
  readonly sex: string;
  /** e.g. "12 lab results · 30 vital signs · 2 allergies" */
  readonly summary: string;
}

export function ageOn(birthDate: string | undefined, now: Date): number | undefined {
  const m = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?/.exec(birthDate ?? '');
  if (!m) return undefined;
  const [y, mo = 1, d = 1] = [Number(m[1]), Number(m[2] ?? 1), Number(m[3] ?? 1)];
  let age = now.getUTCFullYear() - y;
  if (now.getUTCMonth() + 1 < mo || (now.getUTCMonth() + 1 === mo && now.getUTCDate() < d)) age--;
  return age;
}

const SEX: Readonly<Record<string, string>> = { female: 'Female', male: 'Male', other: 'Other', unknown: 'Unknown' };

export class PatientDirectory {
  constructor(private readonly fhir: FhirService) {}

  /** The display name of one patient, or undefined when there is none by that id. */
  async nameOf(id: string): Promise<string | undefined> {
    const row = await this.fhir.store.read('Patient', id);
    return row ? patientFacts(row)?.name : undefined;
  }

  /** Patients whose name starts with (any part) `query`, or everyone; at most `limit`, by name. */
  async search(query: string, limit = 30): Promise<PatientSummary[]> {
    const pairs: [string, string][] = [['_count', String(limit)]];
    if (query.trim()) pairs.push(['name', query.trim()]);
    const { page } = await this.fhir.search('Patient', pairs, { strict: false });
    const now = new Date();
    const out: PatientSummary[] = [];
    for (const row of page.rows) {
      const facts = patientFacts(row);
      if (!facts) continue;
      const resource = JSON.parse(row.json!) as Patient;
      const counts = await previewCounts(this.fhir.store, facts.id, PERMISSION_GROUPS);
      const parts = PERMISSION_GROUPS.flatMap((g) => {
        const n = counts.get(g.key);
        return n ? [previewCountText(g, n)!] : [];
      });
      const age = ageOn(facts.birthDate, now);
      out.push({
        id: facts.id,
        name: facts.name,
        ...(facts.birthDate ? { birthDate: facts.birthDate } : {}),
        ...(age !== undefined ? { age } : {}),
        sex: SEX[resource.gender ?? 'unknown'] ?? 'Unknown',
        summary: parts.join(' · ') || 'No data beyond basic information',
      });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }
}
