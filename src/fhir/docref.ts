// US Core's DocumentReference/$docref (SHALL in US Core 6.1.0): "the documents for this patient", as a search of the
// stored DocumentReferences. We keep documents, we do not generate them, so on-demand asks for nothing new: the
// stored ones are returned either way. Without a type every document type is in scope (the spec puts the CCD in
// scope and lets a server add the others); without dates the most recent come first.
import { parseFhirDateRange } from './fhir-date.js';
import { badSearchParam } from './outcome.js';
import type { QueryPairs } from './search-parse.js';

const KNOWN = new Set(['patient', 'start', 'end', 'type', 'on-demand', 'profile', '_count', '_format', '_pretty']);

/** $docref's parameters → the equivalent DocumentReference search. */
export function docrefSearch(pairs: QueryPairs): [string, string][] {
  const one = (name: string): string | undefined => {
    const values = pairs.filter(([k]) => k === name).map(([, v]) => v);
    if (values.length > 1) throw badSearchParam(name, `$docref takes at most one ${name}`);
    return values[0];
  };
  for (const [k] of pairs) if (!KNOWN.has(k)) throw badSearchParam(k, `$docref has no parameter "${k}"; it takes patient, start, end, type and on-demand`);
  const patient = one('patient');
  if (!patient) throw badSearchParam('patient', '$docref needs patient: the id of the patient whose documents are wanted');
  const out: [string, string][] = [['patient', patient]];
  for (const [name, prefix] of [['start', 'ge'], ['end', 'le']] as const) {
    const value = one(name);
    if (value === undefined) continue;
    if (!parseFhirDateRange(value)) throw badSearchParam(name, `${name} "${value}" is not a FHIR date or dateTime`);
    // The documents whose time of service overlaps the range.
    out.push(['period', `${prefix}${value}`]);
  }
  const type = one('type');
  if (type) out.push(['type', type]);
  const onDemand = one('on-demand');
  if (onDemand !== undefined && onDemand !== 'true' && onDemand !== 'false') throw badSearchParam('on-demand', 'on-demand is true or false');
  const count = one('_count');
  if (count) out.push(['_count', count]);
  out.push(['_sort', '-date']);
  return out;
}
