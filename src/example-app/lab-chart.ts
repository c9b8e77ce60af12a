// One lab test over time as a server-rendered SVG: a value axis with "nice" ticks and the unit, a time axis, the
// reference range as a shaded band (only when the result has one), a line through the results and one marker per
// result whose <title> is what a mouse user reads on hover. The <title>/<desc> pair is the chart's text alternative
// for screen readers; the table beside the chart carries the same numbers for everyone. Pure: input in, markup out.
import { html, type SafeHtml } from './html.js';

export interface ChartPoint {
  /** When the sample was taken, ms since the epoch */
  readonly time: number;
  readonly value: number;
  /** The date as the page shows it (e.g. "2 Mar 2023") */
  readonly dateText: string;
  /** "High", "Low", "Normal", ...; anything but Normal is drawn as a red diamond (shape, not colour alone) */
  readonly flag?: string;
}

export interface ReferenceRange {
  readonly low?: number;
  readonly high?: number;
}

export interface LabChartInput {
  /** Unique on the page: the ids of the chart's title and description derive from it */
  readonly id: string;
  readonly name: string;
  readonly unit: string;
  readonly points: readonly ChartPoint[];
  readonly range?: ReferenceRange;
}

// Small user units, so that on a phone (the chart ~330 px wide) 13-unit text stays about 12 px.
const WIDTH = 360;
const HEIGHT = 220;
const PLOT = { left: 46, right: 346, top: 26, bottom: 184 } as const;
const FONT = 13;
const DAY = 86_400_000;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;
const COLOURS = { text: '#3d4551', grid: '#dfe1e2', axis: '#71767a', band: '#dcefe0', series: '#005ea2', flagged: '#b50909' } as const;

/** Numbers as people read them: no float noise (0.1 + 0.2), no trailing zeros. */
export const formatNumber = (n: number): string => String(Number(n.toPrecision(6)));

/** A step of 1, 2, 2.5 or 5 × 10^k that cuts `span` into at most `maxTicks` parts. */
export function niceStep(span: number, maxTicks: number): number {
  const rough = span / maxTicks;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  for (const m of [1, 2, 2.5, 5]) if (m * magnitude >= rough) return m * magnitude;
  return 10 * magnitude;
}

export interface ValueScale {
  readonly lo: number;
  readonly hi: number;
  readonly ticks: readonly number[];
}

/** The value axis: covers the results and the range bounds with a little air, starting at a round number. */
export function valueScale(values: readonly number[]): ValueScale {
  let min = Math.min(...values);
  let max = Math.max(...values);
  if (min === max) {
    const pad = Math.abs(min) * 0.1 || 1;
    min -= pad;
    max += pad;
  }
  const air = (max - min) * 0.08;
  // Lab values are rarely negative; an axis dipping below zero for positive data would only confuse.
  const paddedMin = min >= 0 ? Math.max(0, min - air) : min - air;
  const step = niceStep(max + air - paddedMin, 4);
  const lo = Math.floor(paddedMin / step) * step;
  const hi = Math.ceil((max + air) / step) * step;
  const ticks: number[] = [];
  // toFixed(10) drops the float noise that repeated addition of e.g. 0.1 builds up.
  for (let v = lo; v <= hi + step / 2; v += step) ticks.push(Number(v.toFixed(10)));
  return { lo, hi, ticks };
}

export interface TimeTick {
  readonly time: number;
  readonly label: string;
}

type Step = readonly ['day' | 'month' | 'year', number];
const TIME_STEPS: readonly Step[] = [
  ['day', 1],
  ['day', 7],
  ['month', 1],
  ['month', 3],
  ['month', 6],
  ['year', 1],
  ['year', 2],
  ['year', 5],
  ['year', 10],
  ['year', 25],
];

/** Calendar-aligned ticks (UTC) between t0 and t1: the finest step that gives at most `maxTicks` (years: two more). */
export function timeTicks(t0: number, t1: number, maxTicks = 4): TimeTick[] {
  for (const [unit, n] of TIME_STEPS) {
    // "2024" takes half the room of "Apr 2024": years can stand closer together.
    const limit = unit === 'year' ? maxTicks + 2 : maxTicks;
    const ticks: TimeTick[] = [];
    const start = new Date(t0);
    let y = start.getUTCFullYear();
    let m = unit === 'year' ? 0 : start.getUTCMonth();
    let d = unit === 'day' ? start.getUTCDate() : 1;
    if (unit === 'year') y = Math.ceil(y / n) * n;
    if (unit === 'month') m = Math.ceil(m / n) * n;
    for (let t = Date.UTC(y, m, d); t <= t1 && ticks.length <= limit; ) {
      if (t >= t0) {
        const date = new Date(t);
        const label =
          unit === 'year' ? String(date.getUTCFullYear()) : unit === 'month' ? `${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}` : `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]}`;
        ticks.push({ time: t, label });
      }
      if (unit === 'day') t += n * DAY;
      else if (unit === 'month') t = Date.UTC(new Date(t).getUTCFullYear(), new Date(t).getUTCMonth() + n, 1);
      else t = Date.UTC(new Date(t).getUTCFullYear() + n, 0, 1);
    }
    if (ticks.length <= limit) return ticks;
  }
  return [];
}

/** "12 to 15.5 g/dL", "at least 40 mg/dL", "up to 100 mg/dL" */
export function rangeText(range: ReferenceRange, unit: string): string {
  const u = unit ? ` ${unit}` : '';
  if (range.low !== undefined && range.high !== undefined) return `${formatNumber(range.low)} to ${formatNumber(range.high)}${u}`;
  if (range.low !== undefined) return `at least ${formatNumber(range.low)}${u}`;
  return `up to ${formatNumber(range.high!)}${u}`;
}

const isFlagged = (flag: string | undefined) => flag !== undefined && flag !== '' && flag !== 'Normal';
const px = (n: number) => n.toFixed(1);

/** The chart's markup, or an empty string when there is nothing to draw. */
export function labChartSvg(input: LabChartInput): SafeHtml {
  const points = [...input.points].sort((a, b) => a.time - b.time);
  if (!points.length) return html``;
  const range = input.range && (input.range.low !== undefined || input.range.high !== undefined) ? input.range : undefined;
  const scale = valueScale([...points.map((p) => p.value), ...(range?.low !== undefined ? [range.low] : []), ...(range?.high !== undefined ? [range.high] : [])]);

  let t0 = points[0]!.time;
  let t1 = points.at(-1)!.time;
  // One result (or all on one day) sits in the middle of a month-wide axis; otherwise leave a little air at the ends.
  if (t1 - t0 < 2 * DAY) {
    t0 -= 15 * DAY;
    t1 += 15 * DAY;
  } else {
    const air = (t1 - t0) * 0.05;
    t0 -= air;
    t1 += air;
  }
  const x = (t: number) => PLOT.left + ((t - t0) / (t1 - t0)) * (PLOT.right - PLOT.left);
  const y = (v: number) => PLOT.bottom - ((v - scale.lo) / (scale.hi - scale.lo)) * (PLOT.bottom - PLOT.top);
  const unit = input.unit ? ` ${input.unit}` : '';

  const band = range
    ? (() => {
        const top = y(Math.min(range.high ?? scale.hi, scale.hi));
        const bottom = y(Math.max(range.low ?? scale.lo, scale.lo));
        return html`<rect class="range-band" x="${px(PLOT.left)}" y="${px(top)}" width="${px(PLOT.right - PLOT.left)}" height="${px(Math.max(0, bottom - top))}" fill="${COLOURS.band}"><title>Reference range: ${rangeText(range, input.unit)}</title></rect>`;
      })()
    : '';

  const grid = scale.ticks.map(
    (v) =>
      html`<line x1="${px(PLOT.left)}" x2="${px(PLOT.right)}" y1="${px(y(v))}" y2="${px(y(v))}" stroke="${COLOURS.grid}" stroke-width="1"/><text x="${px(PLOT.left - 8)}" y="${px(y(v) + 4.5)}" text-anchor="end" font-size="${FONT}" fill="${COLOURS.text}">${formatNumber(v)}</text>`,
  );
  const xTicks = timeTicks(t0, t1).map(
    (tick) =>
      html`<line x1="${px(x(tick.time))}" x2="${px(x(tick.time))}" y1="${px(PLOT.bottom)}" y2="${px(PLOT.bottom + 5)}" stroke="${COLOURS.axis}"/><text x="${px(x(tick.time))}" y="${px(PLOT.bottom + 21)}" text-anchor="middle" font-size="${FONT}" fill="${COLOURS.text}">${tick.label}</text>`,
  );
  const line = points.length > 1 ? html`<polyline class="series" points="${points.map((p) => `${px(x(p.time))},${px(y(p.value))}`).join(' ')}" fill="none" stroke="${COLOURS.series}" stroke-width="2"/>` : '';
  const markers = points.map((p) => {
    const tip = `${p.dateText}: ${formatNumber(p.value)}${unit}${p.flag ? ` (${p.flag})` : ''}`;
    const cx = x(p.time);
    const cy = y(p.value);
    return isFlagged(p.flag)
      ? html`<path class="point point-flagged" d="M${px(cx)} ${px(cy - 7)}L${px(cx + 7)} ${px(cy)}L${px(cx)} ${px(cy + 7)}L${px(cx - 7)} ${px(cy)}Z" fill="${COLOURS.flagged}" stroke="#fff" stroke-width="1.5"><title>${tip}</title></path>`
      : html`<circle class="point" cx="${px(cx)}" cy="${px(cy)}" r="5" fill="${COLOURS.series}" stroke="#fff" stroke-width="1.5"><title>${tip}</title></circle>`;
  });

  const latest = points.at(-1)!;
  const summary = [
    `${points.length} ${points.length === 1 ? 'result' : 'results'}${points.length > 1 ? ` from ${points[0]!.dateText} to ${latest.dateText}` : ` on ${latest.dateText}`}.`,
    `Latest ${formatNumber(latest.value)}${unit}${latest.flag ? ` (${latest.flag})` : ''}.`,
    range ? `Reference range ${rangeText(range, input.unit)}.` : '',
  ]
    .filter(Boolean)
    .join(' ');

  return html`<svg xmlns="http://www.w3.org/2000/svg" class="lab-chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="${input.id}-title ${input.id}-desc"><title id="${input.id}-title">${input.name} over time</title><desc id="${input.id}-desc">${summary}</desc>${band}${grid}<line x1="${px(PLOT.left)}" x2="${px(PLOT.right)}" y1="${px(PLOT.bottom)}" y2="${px(PLOT.bottom)}" stroke="${COLOURS.axis}" stroke-width="1"/>${xTicks}<text class="unit" x="4" y="15" font-size="${FONT}" font-weight="600" fill="${COLOURS.text}">${input.unit}</text>${line}${markers}</svg>`;
}
