// Conditions → the "Health problems" section: the problem list and health concerns first (what the care team keeps
// track of), then diagnoses made at visits (often short-lived: a rash, a sprain). Pure functions over the resources.
import type { Condition } from 'fhir/r4.js';
import { conceptText, formatFhirDate } from './observations.js';

const CATEGORY = 'http://terminology.hl7.org/CodeSystem/condition-category';

export interface ProblemItem {
  readonly id: string | undefined;
  readonly name: string;
  /** "Active", "Resolved", "In remission", ... or '' when the record does not say */
  readonly statusText: string;
  readonly active: boolean;
  /** "since 16 May 2023", "11 Feb 2023 to 23 Feb 2023", or '' */
  readonly whenText: string;
}

export interface ProblemGroups {
  readonly problemList: readonly ProblemItem[];
  readonly visitDiagnoses: readonly ProblemItem[];
}

const codeOf = (c: Condition['clinicalStatus'] | undefined): string => c?.coding?.find((x) => x.code)?.code ?? '';

const STATUS_TEXT: Readonly<Record<string, string>> = {
  active: 'Active',
  recurrence: 'Active (came back)',
  relapse: 'Active (came back)',
  inactive: 'Inactive',
  remission: 'In remission',
  resolved: 'Resolved',
};
const ACTIVE = new Set(['active', 'recurrence', 'relapse']);

/** Entered in error or ruled out: not the patient's problem, so not shown as one. */
const isWithdrawn = (c: Condition): boolean => ['entered-in-error', 'refuted'].includes(codeOf(c.verificationStatus));

/** Only an encounter diagnosis goes below the problem list; one that is also on the problem list stays on it. */
const isVisitDiagnosisOnly = (c: Condition): boolean => {
  const codes = (c.category ?? []).flatMap((cat) => (cat.coding ?? []).filter((x) => !x.system || x.system === CATEGORY).map((x) => x.code));
  return codes.includes('encounter-diagnosis') && !codes.includes('problem-list-item') && !codes.includes('health-concern');
};

const onsetOf = (c: Condition): string | undefined => c.onsetDateTime ?? c.onsetPeriod?.start;
const abatementOf = (c: Condition): string | undefined => c.abatementDateTime ?? c.abatementPeriod?.end ?? c.abatementPeriod?.start;

function itemOf(c: Condition): ProblemItem {
  const status = codeOf(c.clinicalStatus);
  const active = ACTIVE.has(status);
  const onset = formatFhirDate(onsetOf(c)) || c.onsetString || '';
  const ended = active ? '' : formatFhirDate(abatementOf(c)) || c.abatementString || '';
  const whenText = onset && ended ? `${onset} to ${ended}` : onset ? (active ? `since ${onset}` : `began ${onset}`) : ended ? `ended ${ended}` : '';
  return { id: c.id, name: conceptText(c.code) || 'Unnamed problem', statusText: STATUS_TEXT[status] ?? '', active, whenText };
}

/** Active problems first, then the most recent onset (or, without one, the most recently recorded). */
const byActiveThenNewest = (a: Condition, b: Condition): number =>
  Number(ACTIVE.has(codeOf(b.clinicalStatus))) - Number(ACTIVE.has(codeOf(a.clinicalStatus))) ||
  (onsetOf(b) ?? b.recordedDate ?? '').localeCompare(onsetOf(a) ?? a.recordedDate ?? '');

/** The Conditions the page shows: a prescription's reason is named only from one of these. */
export const conditionsShown = (conditions: readonly Condition[]): Condition[] => conditions.filter((c) => !isWithdrawn(c));

export function groupConditions(conditions: readonly Condition[]): ProblemGroups {
  const shown = conditionsShown(conditions).sort(byActiveThenNewest);
  return {
    problemList: shown.filter((c) => !isVisitDiagnosisOnly(c)).map(itemOf),
    visitDiagnoses: shown.filter(isVisitDiagnosisOnly).map(itemOf),
  };
}
