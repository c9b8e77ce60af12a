// The few facts the portal needs from Patient resources (name, birth date, identifiers), read through the FHIR
// service so the portal never depends on how resources are stored.
import type { FhirService } from '../fhir/service.js';
import type { StoredResource } from '../store/resources.js';

export interface PatientFacts {
  readonly id: string;
  /** Display name, e.g. "Maria Elena Garcia" */
  readonly name: string;
  /** As recorded: YYYY, YYYY-MM or YYYY-MM-DD; undefined when absent */
  readonly birthDate: string | undefined;
  readonly givenNames: readonly string[];
  readonly familyNames: readonly string[];
  readonly identifierValues: readonly string[];
}

interface PatientJson {
  id?: string;
  birthDate?: string;
  name?: { use?: string; text?: string; family?: string; given?: string[] }[];
  identifier?: { value?: string }[];
}

/** Lower case, accents removed, spaces folded: "  José  María" and "jose maria" compare equal. */
export function foldName(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
}

export function patientFacts(row: StoredResource): PatientFacts | undefined {
  if (row.deleted || row.json === null) return undefined;
  const p = JSON.parse(row.json) as PatientJson;
  const names = p.name ?? [];
  // Official name first: the one a person is matched and addressed by.
  const main = names.find((n) => n.use === 'official') ?? names.find((n) => n.use !== 'old') ?? names[0];
  const display = main?.text ?? [...(main?.given ?? []), main?.family ?? ''].join(' ').trim();
  return {
    id: row.id,
    name: display || row.id,
    birthDate: p.birthDate,
    givenNames: names.flatMap((n) => n.given ?? []),
    familyNames: names.flatMap((n) => (n.family ? [n.family] : [])),
    identifierValues: (p.identifier ?? []).flatMap((i) => (i.value ? [i.value] : [])),
  };
}

export class PatientRecords {
  constructor(private readonly fhir: FhirService) {}

  async get(id: string): Promise<PatientFacts | undefined> {
    const row = await this.fhir.store.read('Patient', id);
    return row && patientFacts(row);
  }

  /** By id, in the order asked; missing and deleted ones left out. */
  async getMany(ids: readonly string[]): Promise<PatientFacts[]> {
    const rows = await this.fhir.store.readMany('Patient', [...new Set(ids)]);
    const byId = new Map(rows.flatMap((r) => {
      const f = patientFacts(r);
      return f ? [[f.id, f] as const] : [];
    }));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /**
   * Candidates for identity matching: the FHIR search (family is a prefix match there) narrows the set, the caller
   * compares exactly. At most `limit` come back; more than one is already "ambiguous" to the matcher.
   */
  async searchByFamilyAndBirthDate(family: string, birthDate: string, limit = 20): Promise<PatientFacts[]> {
    const { page } = await this.fhir.search('Patient', [['family', family], ['birthdate', birthDate], ['_count', String(limit)]], { strict: true });
    return page.rows.flatMap((r) => patientFacts(r) ?? []);
  }
}
