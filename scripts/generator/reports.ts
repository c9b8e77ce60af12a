// Laboratory DiagnosticReports (US Core lab profile): one per panel drawn at a visit, grouping that
// panel's Observations through `result`, with the collection and result times the Observations
// carry. Also the Specimen of one blood draw, which its reports and results point at.
import type { DiagnosticReport, Observation, Reference, Specimen } from 'fhir/r4.js';
import { PROFILE, SYSTEM, concept } from './terminology.js';
import type { LabPanel } from './visit.js';

interface PanelDefinition {
  readonly loinc: string;
  readonly display: string;
  readonly text: string;
  /** LOINC codes of the results labs.ts reports for the panel. */
  readonly members: readonly string[];
}

export const PANELS: Record<LabPanel, PanelDefinition> = {
  cbc: { loinc: '58410-2', display: 'CBC panel - Blood by Automated count', text: 'Complete blood count', members: ['718-7', '6690-2', '777-3'] },
  bmp: { loinc: '51990-0', display: 'Basic metabolic panel - Blood', text: 'Basic metabolic panel', members: ['2345-7', '2951-2', '2823-3', '2160-0', '3094-0', '62238-1'] },
  lipid: { loinc: '57698-3', display: 'Lipid panel with direct LDL - Serum or Plasma', text: 'Lipid panel', members: ['2093-3', '18262-6', '2085-9', '2571-8'] },
  a1c: { loinc: '4548-4', display: 'Hemoglobin A1c/Hemoglobin.total in Blood', text: 'Hemoglobin A1c', members: ['4548-4'] },
  tsh: { loinc: '3016-3', display: 'Thyrotropin [Units/volume] in Serum or Plasma', text: 'TSH', members: ['3016-3'] },
};

function loincOf(o: Observation): string | undefined {
  return o.code.coding?.[0]?.code;
}

export interface PanelResults {
  readonly panel: LabPanel;
  readonly observations: readonly Observation[];
}

/** The visit's lab Observations split by panel; a panel trimmed away entirely (exact counts) is left out. */
export function panelResults(panels: readonly LabPanel[], observations: readonly Observation[]): PanelResults[] {
  const labs = observations.filter((o) => o.category?.[0]?.coding?.[0]?.code === 'laboratory');
  const out: PanelResults[] = [];
  for (const panel of panels) {
    const members = new Set(PANELS[panel].members);
    const results = labs.filter((o) => members.has(loincOf(o) ?? ''));
    if (results.length > 0) out.push({ panel, observations: results });
  }
  return out;
}

export function labReport(
  group: PanelResults,
  id: string,
  refs: { subject: Reference; encounter: Reference; performer: Reference; specimen?: Reference },
): DiagnosticReport {
  const def = PANELS[group.panel];
  const first = group.observations[0];
  if (!first?.effectiveDateTime || !first.issued) throw new Error(`lab results without times for ${group.panel}`);
  return {
    resourceType: 'DiagnosticReport',
    id,
    meta: { profile: [PROFILE.diagnosticReportLab] },
    status: 'final',
    category: [concept(SYSTEM.diagnosticServiceSection, 'LAB', 'Laboratory')],
    code: concept(SYSTEM.loinc, def.loinc, def.display, def.text),
    subject: refs.subject,
    encounter: refs.encounter,
    effectiveDateTime: first.effectiveDateTime,
    issued: first.issued,
    performer: [refs.performer],
    ...(refs.specimen ? { specimen: [refs.specimen] } : {}),
    result: group.observations.map((o) => ({ reference: `Observation/${o.id}`, display: o.code.text ?? def.text })),
  };
}

export function bloodSpecimen(id: string, accession: string, subject: Reference, collected: string, received: string): Specimen {
  return {
    resourceType: 'Specimen',
    id,
    meta: { profile: [PROFILE.specimen] },
    accessionIdentifier: { system: SYSTEM.accessionNumber, value: accession },
    status: 'available',
    type: concept(SYSTEM.snomed, '119297000', 'Blood specimen', 'Blood'),
    subject,
    receivedTime: received,
    collection: { collectedDateTime: collected },
  };
}
