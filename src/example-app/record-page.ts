// The record page: patient banner (when the server says one is needed), health problems, medications and allergies
// as lists, one graph and table per lab test, vital signs and immunizations. Sections the patient did not share say so.
import type { AllergyIntolerance, Condition, HumanName, Immunization, Patient } from 'fhir/r4.js';
import { conditionsShown, groupConditions, type ProblemItem } from './conditions.js';
import { html, type SafeHtml } from './html.js';
import { labChartSvg, rangeText, type ChartPoint } from './lab-chart.js';
import { conceptText, formatFhirDate, groupLabResults, latestVitalSigns, type LabSeries } from './observations.js';
import type { PatientRecord, Section } from './fhir-record.js';
import { medicationList, type MedicationItem } from './medications.js';
import { layout } from './pages.js';

export interface RecordPageInput {
  readonly record: PatientRecord;
  readonly patientId: string;
  readonly needPatientBanner: boolean;
  readonly encounter?: string;
  readonly grantedScope: string;
  readonly accessTokenExpiresAt?: Date;
  readonly today: Date;
}

const personName = (names: readonly HumanName[] | undefined): string => {
  const n = names?.find((x) => x.use === 'official') ?? names?.[0];
  if (!n) return 'Name not recorded';
  return n.text ?? [...(n.given ?? []), n.family].filter(Boolean).join(' ');
};

/** Whole years, or months for a child under two, from a FHIR birthDate. */
export function ageText(birthDate: string | undefined, today: Date): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(birthDate ?? '');
  if (!m) return 'Unknown';
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  let months = (today.getUTCFullYear() - y) * 12 + (today.getUTCMonth() + 1 - mo);
  if (today.getUTCDate() < d) months--;
  if (months < 0) return 'Unknown';
  if (months < 24) return `${months} ${months === 1 ? 'month' : 'months'}`;
  return `${Math.floor(months / 12)} years`;
}

const SEX: Readonly<Record<string, string>> = { female: 'Female', male: 'Male', other: 'Other', unknown: 'Unknown' };

/** The medical record number: the identifier typed MR (HL7 v2 table 0203). */
export const mrnOf = (p: Patient): string | undefined =>
  p.identifier?.find((i) => i.type?.coding?.some((c) => c.code === 'MR') || i.type?.text === 'MRN')?.value;

function patientBanner(section: Section<Patient>, today: Date): SafeHtml {
  if (section.status !== 'shown') {
    return html`<section class="banner" aria-label="Patient"><p>${section.status === 'not-shared' ? 'Basic information was not shared by the patient.' : 'The patient’s details could not be loaded.'}</p></section>`;
  }
  const p = section.items[0]!;
  const mrn = mrnOf(p);
  return html`<section class="banner" aria-label="Patient">
  <p class="banner-name">${personName(p.name)}</p>
  <dl class="banner-facts">
    <div><dt>Age</dt><dd>${ageText(p.birthDate, today)}${p.birthDate ? html` <span class="muted">(born ${formatFhirDate(p.birthDate)})</span>` : ''}</dd></div>
    <div><dt>Sex</dt><dd>${SEX[p.gender ?? 'unknown'] ?? 'Unknown'}</dd></div>
    <div><dt>MRN</dt><dd>${mrn ?? 'Not recorded'}</dd></div>
  </dl>
</section>`;
}

/** A section's heading and body, or the reason there is none. */
function section<T>(id: string, title: string, s: Section<T>, empty: string, body: (items: readonly T[]) => SafeHtml, notes: SafeHtml | '' = ''): SafeHtml {
  let content: SafeHtml;
  if (s.status === 'not-shared') content = html`<p class="not-shared"><strong>Not shared by the patient.</strong> To see it here, sign out, connect again and tick it.</p>`;
  else if (s.status === 'failed') content = html`<p class="failed">This could not be loaded: ${s.message}. Try again later.</p>`;
  else if (!s.items.length) content = html`<p class="muted">${empty}</p>`;
  else content = html`${body(s.items)}${s.truncated ? html`<p class="muted">Showing the first ${s.items.length}; there are more in the record.</p>` : ''}`;
  return html`<section class="record-section" aria-labelledby="${id}"><h2 id="${id}">${title}</h2>${notes}${content}</section>`;
}

function labSeries(series: LabSeries, index: number): SafeHtml {
  const id = `lab-${index}`;
  const latest = series.results[0]!;
  const points: ChartPoint[] = series.results
    .filter((r) => r.value !== undefined && r.unit === series.unit && !Number.isNaN(r.time))
    .map((r) => ({ time: r.time, value: r.value!, dateText: r.dateText, ...(r.flag ? { flag: r.flag } : {}) }));
  const chart = points.length ? html`<figure class="lab-figure">${labChartSvg({ id: `${id}-chart`, name: series.name, unit: series.unit, points, ...(series.range ? { range: series.range } : {}) })}</figure>` : '';
  const flagClass = (flag: string) => (flag && flag !== 'Normal' ? 'flag flag-out' : 'flag');
  return html`<section class="lab" aria-labelledby="${id}-name">
  <h3 id="${id}-name">${series.name}</h3>
  <p class="lab-summary">Latest: <strong>${latest.valueText}${latest.unit ? ` ${latest.unit}` : ''}</strong> on ${latest.dateText}${latest.flag ? html` (<span class="${flagClass(latest.flag)}">${latest.flag}</span>)` : ''}.${series.range ? ` Reference range ${rangeText(series.range, series.unit)}.` : ''}</p>
  <div class="lab-body${chart ? '' : ' no-chart'}">
    ${chart}
    <table class="results">
      <caption class="visually-hidden">${series.name} results, newest first</caption>
      <thead><tr><th scope="col">Date</th><th scope="col">Value</th><th scope="col">Unit</th><th scope="col">Flag</th></tr></thead>
      <tbody>
        ${series.results.map((r) => html`<tr><td>${r.dateText}</td><td class="num">${r.valueText}</td><td>${r.unit}</td><td><span class="${flagClass(r.flag)}">${r.flag}</span></td></tr>`)}
      </tbody>
    </table>
  </div>
</section>`;
}

function problemItems(items: readonly ProblemItem[]): SafeHtml {
  return html`<ul class="items">${items.map((p) => {
    const meta = [p.statusText, p.whenText].filter(Boolean).join(' · ');
    return html`<li><span class="item-name">${p.name}</span>${meta ? html`<span class="item-meta${p.active ? ' item-active' : ''}">${meta}</span>` : ''}</li>`;
  })}</ul>`;
}

/** The problem list and health concerns, then the diagnoses from visits, each under its own heading when both exist. */
function problems(items: readonly Condition[]): SafeHtml {
  const { problemList, visitDiagnoses } = groupConditions(items);
  if (!problemList.length || !visitDiagnoses.length) return problemItems(problemList.length ? problemList : visitDiagnoses);
  return html`<h3 class="subheading">Problem list</h3>${problemItems(problemList)}<h3 class="subheading">Diagnoses from visits</h3>${problemItems(visitDiagnoses)}`;
}

function medications(items: readonly MedicationItem[]): SafeHtml {
  return html`<ul class="items">${items.map((m) => {
    const meta = [m.statusText, m.sourceText].filter(Boolean).join(' · ');
    return html`<li data-source="${m.source}"><span class="item-name">${m.name}</span>${m.dosage ? html`<span class="item-detail">${m.dosage}</span>` : ''}${m.reason ? html`<span class="item-detail">For: ${m.reason}</span>` : ''}${meta ? html`<span class="item-meta">${meta}</span>` : ''}</li>`;
  })}</ul>`;
}

/**
 * Prescriptions and the medication list under one heading: shown when either was loaded, with a note for the other
 * when it was not shared or failed; "not shared" or "could not be loaded" only when neither was.
 */
function medicationSection(record: PatientRecord): SafeHtml {
  const { prescriptions, medicationStatements: statements } = record;
  const conditions = record.problems.status === 'shown' ? conditionsShown(record.problems.items) : [];
  const parts = [
    { label: 'Prescriptions', s: prescriptions },
    { label: 'Your medication list', s: statements },
  ];
  let combined: Section<MedicationItem>;
  if (prescriptions.status !== 'shown' && statements.status !== 'shown') {
    combined = prescriptions.status === 'failed' ? prescriptions : statements;
  } else {
    const items = medicationList(prescriptions.status === 'shown' ? prescriptions.items : [], statements.status === 'shown' ? statements.items : [], conditions);
    combined = { status: 'shown', items, truncated: (prescriptions.status === 'shown' && prescriptions.truncated) || (statements.status === 'shown' && statements.truncated) };
  }
  const notes =
    combined.status === 'shown'
      ? parts
          .filter((p) => p.s.status !== 'shown')
          .map((p) => html`<p class="muted">${p.label}: ${p.s.status === 'failed' ? `could not be loaded (${p.s.message}).` : 'not shared by the patient.'}</p>`)
      : [];
  return section('medications', 'Medications', combined, 'No medications on record.', medications, html`${notes}`);
}

function allergies(items: readonly AllergyIntolerance[]): SafeHtml {
  return html`<ul class="items">${items.map((a) => {
    const reactions = (a.reaction ?? []).flatMap((r) => r.manifestation.map(conceptText)).filter(Boolean);
    const status = conceptText(a.clinicalStatus);
    const meta = [a.criticality === 'high' ? 'High risk' : '', status ? status[0]!.toUpperCase() + status.slice(1) : ''].filter(Boolean).join(' · ');
    return html`<li><span class="item-name">${conceptText(a.code) || 'Unnamed allergy'}</span>${reactions.length ? html`<span class="item-detail">Reaction: ${reactions.join(', ')}</span>` : ''}${meta ? html`<span class="item-meta">${meta}</span>` : ''}</li>`;
  })}</ul>`;
}

function immunizations(items: readonly Immunization[]): SafeHtml {
  const sorted = [...items].sort((a, b) => (b.occurrenceDateTime ?? '').localeCompare(a.occurrenceDateTime ?? ''));
  return html`<ul class="items">${sorted.map((i) => {
    const when = formatFhirDate(i.occurrenceDateTime) || i.occurrenceString || 'Date unknown';
    return html`<li><span class="item-name">${conceptText(i.vaccineCode) || 'Unnamed vaccine'}</span><span class="item-meta">${when}${i.status === 'not-done' ? ' · Not given' : ''}</span></li>`;
  })}</ul>`;
}

export function recordPage(input: RecordPageInput): string {
  const { record } = input;
  const labs = section('labs', 'Lab results', record.labs, 'No lab results on record.', (items) => html`${groupLabResults(items).map(labSeries)}`);
  const vitals = section('vitals', 'Vital signs', record.vitals, 'No vital signs on record.', (items) =>
    html`<ul class="items">${latestVitalSigns(items).map(
      (v) => html`<li><span class="item-name">${v.name}</span><span class="item-value">${v.valueText}</span><span class="item-meta">${v.dateText}${v.earlier ? ` · ${v.earlier} earlier ${v.earlier === 1 ? 'reading' : 'readings'}` : ''}</span></li>`,
    )}</ul>`,
  );
  return layout(
    { title: 'Health summary', signedIn: true },
    html`${input.needPatientBanner ? patientBanner(record.patient, input.today) : ''}
<h1>Health summary</h1>
${section('problems', 'Health problems', record.problems, 'No health problems on record.', problems)}
${medicationSection(record)}
${section('allergies', 'Allergies', record.allergies, 'No allergies on record.', allergies)}
${labs}
${vitals}
${section('immunizations', 'Immunizations', record.immunizations, 'No immunizations on record.', immunizations)}
<details class="dev">
  <summary>For developers: what the token response said</summary>
  <dl>
    <div><dt><code>patient</code></dt><dd><code>${input.patientId}</code></dd></div>
    ${input.encounter ? html`<div><dt><code>encounter</code></dt><dd><code>${input.encounter}</code></dd></div>` : ''}
    <div><dt><code>need_patient_banner</code></dt><dd><code>${String(input.needPatientBanner)}</code></dd></div>
    <div><dt><code>scope</code></dt><dd><code>${input.grantedScope}</code></dd></div>
    ${input.accessTokenExpiresAt ? html`<div><dt>Access token expires</dt><dd>${input.accessTokenExpiresAt.toISOString()}</dd></div>` : ''}
  </dl>
</details>`,
  );
}
