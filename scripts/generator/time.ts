// Calendar arithmetic on whole days. Every date in the output is computed from ANCHOR_DATE, never
// from the clock, so committed seed data stays byte-identical and patients' ages never drift.

/** The generator's "today": all history lies before it and ages are stated at it. */
export const ANCHOR_DATE = '2026-11-01';

const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 (UTC) for a YYYY-MM-DD string. */
export function dayFromIso(iso: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (!match) throw new Error(`Not a YYYY-MM-DD date: ${iso}`);
  const [, y, m, d] = match;
  return Date.UTC(Number(y), Number(m) - 1, Number(d)) / MS_PER_DAY;
}

export const ANCHOR_DAY = dayFromIso(ANCHOR_DATE);

const pad2 = (n: number): string => String(n).padStart(2, '0');

export interface CalendarDate {
  readonly year: number;
  readonly month: number; // 1-12
  readonly day: number;
}

export function calendar(day: number): CalendarDate {
  const date = new Date(day * MS_PER_DAY);
  return { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
}

// Bulk runs format the same few thousand days over and over; a Date per call showed in profiles.
const ISO_CACHE = new Map<number, string>();

export function isoFromDay(day: number): string {
  let iso = ISO_CACHE.get(day);
  if (iso === undefined) {
    const c = calendar(day);
    iso = `${c.year}-${pad2(c.month)}-${pad2(c.day)}`;
    ISO_CACHE.set(day, iso);
  }
  return iso;
}

export function dayFromParts(year: number, month: number, dayOfMonth: number): number {
  return Date.UTC(year, month - 1, dayOfMonth) / MS_PER_DAY;
}

/** Same calendar day `years` later (Feb 29 falls back to Feb 28). */
export function addYears(day: number, years: number): number {
  const c = calendar(day);
  const target = c.year + years;
  const leapSafe = c.month === 2 && c.day === 29 && !isLeapYear(target) ? 28 : c.day;
  return dayFromParts(target, c.month, leapSafe);
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Completed years, as a clinician states age. */
export function ageInYears(birthDay: number, day: number): number {
  const b = calendar(birthDay);
  const d = calendar(day);
  let age = d.year - b.year;
  if (d.month < b.month || (d.month === b.month && d.day < b.day)) age--;
  return age;
}

/** Fractional age, for growth curves and drifting values. */
export function exactAge(birthDay: number, day: number): number {
  return (day - birthDay) / 365.2425;
}

/** 0 = Sunday … 6 = Saturday. 1970-01-01 was a Thursday. */
export function weekday(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

/** Move a weekend day to the following Monday: clinics and labs here keep weekday hours. */
export function toWeekday(day: number): number {
  const wd = weekday(day);
  if (wd === 6) return day + 2;
  if (wd === 0) return day + 1;
  return day;
}

export type TimeZoneKey = 'eastern' | 'central' | 'mountain' | 'arizona' | 'pacific' | 'alaska' | 'hawaii';

const STANDARD_OFFSET_MINUTES: Record<TimeZoneKey, number> = {
  eastern: -300,
  central: -360,
  mountain: -420,
  arizona: -420,
  pacific: -480,
  alaska: -540,
  hawaii: -600,
};

const OBSERVES_DST: Record<TimeZoneKey, boolean> = {
  eastern: true,
  central: true,
  mountain: true,
  arizona: false,
  pacific: true,
  alaska: true,
  hawaii: false,
};

function nthSunday(year: number, month: number, n: number): number {
  const first = dayFromParts(year, month, 1);
  const firstSunday = first + ((7 - weekday(first)) % 7);
  return firstSunday + (n - 1) * 7;
}

/**
 * UTC offset on a local calendar day. US rules since 2007: DST from the second Sunday of March to
 * the first Sunday of November. Visits happen in office hours, so the 2 a.m. switch is ignored.
 */
export function utcOffsetMinutes(zone: TimeZoneKey, day: number): number {
  const standard = STANDARD_OFFSET_MINUTES[zone];
  if (!OBSERVES_DST[zone]) return standard;
  const [start, end] = dstDays(calendar(day).year);
  return day >= start && day < end ? standard + 60 : standard;
}

const DST_CACHE = new Map<number, readonly [number, number]>();

/** First day of daylight saving time and first day back on standard time, in a year. */
function dstDays(year: number): readonly [number, number] {
  let days = DST_CACHE.get(year);
  if (days === undefined) {
    days = [nthSunday(year, 3, 2), nthSunday(year, 11, 1)];
    DST_CACHE.set(year, days);
  }
  return days;
}

function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}

/**
 * FHIR dateTime/instant in local time with its offset, e.g. 2024-03-05T09:14:00-05:00.
 * `minuteOfDay` may run past midnight (a result issued late in the evening rolls to the next day).
 */
export function formatDateTime(day: number, minuteOfDay: number, zone: TimeZoneKey): string {
  const carry = Math.floor(minuteOfDay / 1440);
  const localDay = day + carry;
  const minute = minuteOfDay - carry * 1440;
  return `${isoFromDay(localDay)}T${pad2(Math.floor(minute / 60))}:${pad2(minute % 60)}:00${formatOffset(utcOffsetMinutes(zone, localDay))}`;
}
