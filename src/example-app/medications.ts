// Prescriptions (MedicationRequest) and medication-list entries (MedicationStatement) → one "Medications" list.
//
// One list with a source label, rather than two lists: a patient asks "what do I take?", not "which resource type is
// it?". Real records (Synthea, certified EHRs) mostly hold prescriptions only; some also keep a medication list, often
// reconciled from those same prescriptions, so the same medicine would appear twice. A statement therefore gives way
// to a prescription of the same medicine in the same state (both current, or both ended): it is based on or derived
// from it, or names the same code or the same text. The prescription stays, as it carries more (who prescribed it,
// when, why). A statement of a medicine in another state (taking it again after an old course ended) stays too.
import type { CodeableConcept, Coding, Condition, Medication, MedicationRequest, MedicationStatement, Reference } from 'fhir/r4.js';
import { referenceKey, type Prescription } from './fhir-record.js';
import { conceptText, formatFhirDate } from './observations.js';

export interface MedicationItem {
  readonly name: string;
  readonly source: 'prescription' | 'medication-list';
  /** "Active", "Completed", "Stopped", ... */
  readonly statusText: string;
  readonly dosage?: string;
  /** "Prescribed 16 May 2023 by Jordan Lee, MD", "On your medication list since 30 May 2023", "Reported by you" */
  readonly sourceText: string;
  /** Why it was prescribed: the Condition's name when the problem is on the page */
  readonly reason?: string;
}

/** Current (taking it) or ended: a statement folds into a prescription of the same medicine only in the same phase. */
type Phase = 'current' | 'ended' | 'other';

const PHASE: Readonly<Record<string, Phase>> = { active: 'current', 'on-hold': 'current', intended: 'current', completed: 'ended', stopped: 'ended' };
const phaseOf = (status: string): Phase => PHASE[status] ?? 'other';
/** Active first, then paused or only intended, then stopped or completed, then the rest (cancelled, not taken, ...). */
const STATUS_RANK: Readonly<Record<string, number>> = { active: 0, 'on-hold': 1, intended: 1, completed: 2, stopped: 2 };
const rankOf = (status: string): number => STATUS_RANK[status] ?? 3;

/** Not the patient's medicine (entered in error) or not yet a prescription (draft): not shown. */
const HIDDEN = new Set(['entered-in-error', 'draft']);

const statusText = (status: string): string => (status ? status[0]!.toUpperCase() + status.slice(1).replace(/-/g, ' ') : '');

const codesOf = (codings: readonly Coding[] | undefined): string[] => (codings ?? []).filter((c) => c.system && c.code).map((c) => `${c.system}|${c.code}`);

interface Named {
  readonly name: string;
  readonly codes: readonly string[];
}

/** The medicine's name and codes: its own concept, else the referenced Medication's code, else the reference's display. */
function medicine(concept: CodeableConcept | undefined, reference: Reference | undefined, medication: Medication | undefined): Named {
  const text = conceptText(concept) || conceptText(medication?.code) || reference?.display || '';
  return { name: text || 'Unnamed medicine', codes: [...codesOf(concept?.coding), ...codesOf(medication?.code?.coding)] };
}

const containedMedication = (s: MedicationStatement): Medication | undefined => {
  const ref = s.medicationReference?.reference;
  return ref?.startsWith('#') ? s.contained?.find((r): r is Medication => r.resourceType === 'Medication' && r.id === ref.slice(1)) : undefined;
};

const sameMedicine = (a: Named, b: Named): boolean => a.codes.some((c) => b.codes.includes(c)) || (a.name !== 'Unnamed medicine' && a.name.toLowerCase() === b.name.toLowerCase());

/** The reason's name, from the Condition on the page it points to; else the reason the prescription codes itself. */
function reasonOf(request: MedicationRequest, conditions: ReadonlyMap<string, Condition>): string | undefined {
  for (const ref of request.reasonReference ?? []) {
    const key = referenceKey(ref);
    const condition = key ? conditions.get(key) : undefined;
    if (condition) return conceptText(condition.code) || undefined;
  }
  return request.reasonCode?.map(conceptText).find(Boolean);
}

interface Entry {
  readonly item: MedicationItem;
  readonly rank: number;
  readonly date: string;
}

export function medicationList(prescriptions: readonly Prescription[], statements: readonly MedicationStatement[], conditions: readonly Condition[]): MedicationItem[] {
  const conditionsByKey = new Map(conditions.filter((c) => c.id).map((c) => [`Condition/${c.id}`, c]));
  const shownPrescriptions = prescriptions.filter((p) => !HIDDEN.has(p.request.status));
  const named = shownPrescriptions.map((p) => ({ ...p, medicine: medicine(p.request.medicationCodeableConcept, p.request.medicationReference, p.medication), phase: phaseOf(p.request.status) }));
  const requestKeys = new Set(shownPrescriptions.map((p) => (p.request.id ? `MedicationRequest/${p.request.id}` : '')).filter(Boolean));

  const entries: Entry[] = named.map(({ request, medicine: m }) => {
    const dosage = request.dosageInstruction?.find((d) => d.text)?.text;
    const prescriber = request.requester?.display;
    const authored = formatFhirDate(request.authoredOn);
    const sourceText = ['Prescribed', authored, prescriber ? `by ${prescriber}` : ''].filter(Boolean).join(' ');
    const reason = reasonOf(request, conditionsByKey);
    return {
      item: { name: m.name, source: 'prescription', statusText: statusText(request.status), sourceText, ...(dosage ? { dosage } : {}), ...(reason ? { reason } : {}) },
      rank: rankOf(request.status),
      date: request.authoredOn ?? '',
    };
  });

  for (const s of statements) {
    if (HIDDEN.has(s.status)) continue;
    const m = medicine(s.medicationCodeableConcept, s.medicationReference, containedMedication(s));
    const phase = phaseOf(s.status);
    const linked = [...(s.basedOn ?? []), ...(s.derivedFrom ?? [])].some((ref) => requestKeys.has(referenceKey(ref) ?? ''));
    if (linked || named.some((p) => p.phase === phase && sameMedicine(p.medicine, m))) continue;
    const start = s.effectivePeriod?.start ?? s.effectiveDateTime;
    const byPatient = referenceKey(s.informationSource)?.startsWith('Patient/') ?? false;
    const sourceText = [byPatient ? 'Reported by you' : 'On your medication list', start ? `since ${formatFhirDate(start)}` : ''].filter(Boolean).join(' ');
    const dosage = s.dosage?.find((d) => d.text)?.text;
    const reason = s.reasonCode?.map(conceptText).find(Boolean);
    entries.push({
      item: { name: m.name, source: 'medication-list', statusText: statusText(s.status), sourceText, ...(dosage ? { dosage } : {}), ...(reason ? { reason } : {}) },
      rank: rankOf(s.status),
      date: start ?? s.dateAsserted ?? '',
    });
  }

  return entries.sort((a, b) => a.rank - b.rank || b.date.localeCompare(a.date)).map((e) => e.item);
}
