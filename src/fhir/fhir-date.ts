// FHIR date/dateTime/instant text → the instant range it denotes, at the precision it was written with.
// A value without a time zone is read as UTC (FHIR leaves it to the server; we say so in the README).

export interface DateRange {
  readonly lo: number;
  readonly hi: number;
}

const PATTERN =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/** Parses a FHIR date, dateTime or instant; returns undefined when the text is not one. */
export function parseFhirDateRange(text: string): DateRange | undefined {
  const m = PATTERN.exec(text);
  if (!m) return undefined;
  const [, ys, ms, ds, hs, mins, ss, frac, tz] = m;
  const y = Number(ys);
  if (ms === undefined) return { lo: Date.UTC(y, 0, 1) - yearFix(y), hi: Date.UTC(y + 1, 0, 1) - yearFix(y + 1) - 1 };
  const mo = Number(ms);
  if (mo < 1 || mo > 12) return undefined;
  if (ds === undefined) return { lo: utc(y, mo - 1, 1), hi: utc(y, mo, 1) - 1 };
  const d = Number(ds);
  if (d < 1 || d > daysInMonth(y, mo)) return undefined;
  if (hs === undefined) return { lo: utc(y, mo - 1, d), hi: utc(y, mo - 1, d + 1) - 1 };
  const h = Number(hs);
  const mi = Number(mins);
  const s = ss === undefined ? 0 : Number(ss);
  if (h > 23 || mi > 59 || s > 59) return undefined;
  let offset = 0;
  if (tz && tz !== 'Z') {
    const sign = tz.startsWith('-') ? -1 : 1;
    const oh = Number(tz.slice(1, 3));
    const om = Number(tz.slice(4, 6));
    if (oh > 14 || om > 59) return undefined;
    offset = sign * (oh * 60 + om) * 60_000;
  }
  const base = utc(y, mo - 1, d, h, mi, s) - offset;
  if (frac !== undefined) {
    const msPart = Number(frac.slice(0, 3).padEnd(3, '0'));
    // Sub-millisecond digits cannot be stored; the value still denotes that millisecond.
    return { lo: base + msPart, hi: base + msPart };
  }
  const width = ss === undefined ? 60_000 : 1000;
  return { lo: base, hi: base + width - 1 };
}

function utc(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number {
  const t = new Date(0);
  t.setUTCFullYear(y, mo, d);
  t.setUTCHours(h, mi, s, 0);
  return t.getTime();
}

// Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear does not, so use it for every year.
function yearFix(y: number): number {
  return Date.UTC(y, 0, 1) - utc(y, 0, 1);
}

function daysInMonth(y: number, mo: number): number {
  return new Date(utc(y, mo, 0)).getUTCDate();
}

/** True when text is a FHIR `date` (YYYY, YYYY-MM or YYYY-MM-DD). */
export function isFhirDate(text: string): boolean {
  return /^\d{4}(-\d{2}(-\d{2})?)?$/.test(text) && parseFhirDateRange(text) !== undefined;
}

/** True when text is a FHIR `dateTime`: a date, or a full time with seconds and a zone. */
export function isFhirDateTime(text: string): boolean {
  if (isFhirDate(text)) return true;
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(text) && parseFhirDateRange(text) !== undefined;
}

/** True when text is a FHIR `instant`: a full time with seconds and a zone. */
export function isFhirInstant(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(text) && parseFhirDateRange(text) !== undefined;
}
