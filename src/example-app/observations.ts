// FHIR resources → what the pages show: lab results grouped into one series per test, the latest vital signs, and
// readable dates. Pure functions over the resources the server returned.
import type { CodeableConcept, Observation, ObservationComponent, Quantity } from 'fhir/r4.js';
import { formatNumber, type ReferenceRange } from './lab-chart.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/**
 * A FHIR date or dateTime as the patient reads it, from the date part as recorded ("2023-03-02T14:11:00-06:00" →
 * "2 Mar 2023"): converting to the server's or the viewer's time zone could move a result to another day.
 */
export function formatFhirDate(value: string | undefined): string {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(value ?? '');
  if (!m) return '';
  const [, year, month, day] = m;
  if (!month) return year!;
  const name = MONTHS[Number(month) - 1] ?? month;
  return day ? `${Number(day)} ${name} ${year}` : `${name} ${year}`;
}

/** The text people know a code by: its text, else the first display, else the code. */
export const conceptText = (c: CodeableConcept | undefined): string => c?.text ?? c?.coding?.find((x) => x.display)?.display ?? c?.coding?.[0]?.code ?? '';

export const observationTime = (o: Observation): string | undefined => o.effectiveDateTime ?? o.effectiveInstant ?? o.effectivePeriod?.start ?? o.issued;

const quantityUnit = (q: Quantity | undefined): string => q?.unit ?? q?.code ?? '';

/** A value as text: a quantity with its unit, a coded answer, a string. */
function valueText(o: Pick<Observation, 'valueQuantity' | 'valueString' | 'valueCodeableConcept' | 'valueBoolean' | 'valueInteger'>): string {
  if (o.valueQuantity?.value !== undefined) return `${o.valueQuantity.comparator ?? ''}${formatNumber(o.valueQuantity.value)}`;
  if (o.valueString !== undefined) return o.valueString;
  if (o.valueCodeableConcept) return conceptText(o.valueCodeableConcept);
  if (o.valueInteger !== undefined) return String(o.valueInteger);
  if (o.valueBoolean !== undefined) return o.valueBoolean ? 'Yes' : 'No';
  return '';
}

const INTERPRETATIONS: Readonly<Record<string, string>> = {
  N: 'Normal',
  H: 'High',
  HH: 'Critically high',
  HU: 'Very high',
  L: 'Low',
  LL: 'Critically low',
  LU: 'Very low',
  A: 'Abnormal',
  AA: 'Critically abnormal',
  POS: 'Positive',
  NEG: 'Negative',
};

function referenceRange(o: Observation): ReferenceRange | undefined {
  const r = o.referenceRange?.find((x) => x.low?.value !== undefined || x.high?.value !== undefined);
  if (!r) return undefined;
  return { ...(r.low?.value !== undefined ? { low: r.low.value } : {}), ...(r.high?.value !== undefined ? { high: r.high.value } : {}) };
}

/** The lab's own interpretation when it gave one; otherwise where the value falls against its reference range. */
function flagOf(o: Observation, range: ReferenceRange | undefined): string {
  const coding = o.interpretation?.[0]?.coding?.[0];
  if (coding?.code && INTERPRETATIONS[coding.code]) return INTERPRETATIONS[coding.code]!;
  const text = conceptText(o.interpretation?.[0]);
  if (text) return text;
  const v = o.valueQuantity?.value;
  if (v === undefined || !range) return '';
  if (range.high !== undefined && v > range.high) return 'High';
  if (range.low !== undefined && v < range.low) return 'Low';
  return 'Normal';
}

export interface LabResult {
  readonly id: string;
  /** ms since the epoch, for ordering and the chart; NaN when the result has no date */
  readonly time: number;
  readonly dateText: string;
  /** Numeric value, when there is one to plot */
  readonly value?: number;
  readonly valueText: string;
  readonly unit: string;
  readonly flag: string;
  readonly range?: ReferenceRange;
}

export interface LabSeries {
  /** system|code of the test (or its name when uncoded): results with the same key are the same test */
  readonly key: string;
  readonly name: string;
  /** The unit of the newest result; the chart plots the results in this unit */
  readonly unit: string;
  /** Newest first */
  readonly results: readonly LabResult[];
  /** The newest result's reference range (ranges can change between labs and years; the newest is the one that applies now) */
  readonly range?: ReferenceRange;
}

const seriesKey = (code: CodeableConcept): string => {
  const c = code.coding?.find((x) => x.code);
  return c ? `${c.system ?? ''}|${c.code}` : `text:${conceptText(code).toLowerCase()}`;
};

const timeOf = (o: Observation): number => {
  const when = observationTime(o);
  return when ? Date.parse(when) : Number.NaN;
};

/** Observations grouped by test (code), each group newest first (undated last); retracted results are left out. */
function byTest(observations: readonly Observation[]): { key: string; name: string; list: Observation[] }[] {
  const groups = new Map<string, Observation[]>();
  for (const o of observations) {
    if (o.status === 'entered-in-error' || o.status === 'cancelled') continue;
    const key = seriesKey(o.code);
    groups.set(key, [...(groups.get(key) ?? []), o]);
  }
  return [...groups].map(([key, list]) => ({
    key,
    name: conceptText(list[0]!.code) || 'Unnamed test',
    list: list.sort((a, b) => {
      const [ta, tb] = [timeOf(a), timeOf(b)];
      return Number.isNaN(ta) ? 1 : Number.isNaN(tb) ? -1 : tb - ta;
    }),
  }));
}

function labResult(o: Observation): LabResult {
  const range = referenceRange(o);
  return {
    id: o.id ?? '',
    time: timeOf(o),
    dateText: formatFhirDate(observationTime(o)) || 'Date unknown',
    // A "<5" is not the number 5: such results stay in the table and out of the chart.
    ...(o.valueQuantity?.value !== undefined && !o.valueQuantity.comparator ? { value: o.valueQuantity.value } : {}),
    valueText: valueText(o),
    unit: quantityUnit(o.valueQuantity),
    flag: flagOf(o, range),
    ...(range ? { range } : {}),
  };
}

/** One series per test (grouped by code), tests in alphabetical order, each series newest first. */
export function groupLabResults(observations: readonly Observation[]): LabSeries[] {
  return byTest(observations)
    .map(({ key, name, list }) => {
      const results = list.map(labResult);
      const withRange = results.find((r) => r.range);
      return { key, name, unit: results[0]!.unit, results, ...(withRange?.range ? { range: withRange.range } : {}) };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

export interface VitalSign {
  readonly name: string;
  /** e.g. "113/74 mmHg" for a blood pressure panel, "72 /min" */
  readonly valueText: string;
  readonly dateText: string;
  /** How many earlier readings of this kind there are */
  readonly earlier: number;
}

function componentsText(components: readonly ObservationComponent[]): string {
  const values = components.filter((c) => c.valueQuantity?.value !== undefined);
  if (!values.length) return '';
  const units = new Set(values.map((c) => quantityUnit(c.valueQuantity)));
  // A blood pressure reads "113/74 mmHg"; other panels list each part.
  if (units.size === 1) return `${values.map((c) => formatNumber(c.valueQuantity!.value!)).join('/')} ${[...units][0]}`.trim();
  return values.map((c) => `${conceptText(c.code)} ${formatNumber(c.valueQuantity!.value!)} ${quantityUnit(c.valueQuantity)}`.trim()).join(', ');
}

/** The newest reading of each kind of vital sign, in alphabetical order. */
export function latestVitalSigns(observations: readonly Observation[]): VitalSign[] {
  return byTest(observations)
    .map(({ name, list }) => {
      const o = list[0]!;
      const value = o.component?.length ? componentsText(o.component) : `${valueText(o)} ${quantityUnit(o.valueQuantity)}`.trim();
      return { name, valueText: value || 'No value recorded', dateText: formatFhirDate(observationTime(o)) || 'Date unknown', earlier: list.length - 1 };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}
