// The example app's lab chart: axes, the reference range band, one marker per result, and escaped text.
import t from 'tap';
import { labChartSvg, niceStep, timeTicks, valueScale, type ChartPoint } from '../../src/example-app/lab-chart.js';

const day = (iso: string) => Date.parse(`${iso}T12:00:00Z`);
const hemoglobin: ChartPoint[] = [
  { time: day('2023-03-02'), value: 13.7, dateText: '2 Mar 2023', flag: 'Normal' },
  { time: day('2023-09-14'), value: 11.2, dateText: '14 Sep 2023', flag: 'Low' },
  { time: day('2024-04-20'), value: 12.9, dateText: '20 Apr 2024', flag: 'Normal' },
  { time: day('2025-01-02'), value: 14.1, dateText: '2 Jan 2025' },
];
const count = (text: string, re: RegExp) => [...text.matchAll(re)].length;
const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);

t.test('the value axis has round ticks that cover every value and the range', async (t) => {
  const chart = labChartSvg({ id: 'hb', name: 'Hemoglobin', unit: 'g/dL', points: hemoglobin, range: { low: 12, high: 15.5 } }).value;
  const labels = texts(chart);
  const numbers = labels.filter((l) => /^-?\d+(\.\d+)?$/.test(l)).map(Number);
  t.ok(numbers.length >= 3 && numbers.length <= 7, `three to seven value ticks (${numbers.join(', ')})`);
  t.ok(Math.min(...numbers) <= 11.2 && Math.max(...numbers) >= 15.5, 'from below the lowest value to above the range');
  const steps = new Set(numbers.slice(1).map((n, i) => Number((n - numbers[i]!).toFixed(6))));
  t.equal(steps.size, 1, 'evenly spaced');
  t.ok(labels.includes('g/dL'), 'the unit labels the value axis');
  t.equal(count(chart, /<line /g), numbers.length + 1 + texts(chart).filter((l) => /\d{4}/.test(l)).length, 'a grid line per value tick, the time axis, a tick mark per date label');
});

t.test('the time axis is labelled with calendar dates in order', async (t) => {
  const chart = labChartSvg({ id: 'hb', name: 'Hemoglobin', unit: 'g/dL', points: hemoglobin }).value;
  const dates = texts(chart).filter((l) => /\d{4}$/.test(l));
  t.ok(dates.length >= 2 && dates.length <= 4, `two to four month labels (${dates.join(', ')})`);
  t.match(dates[0], /^(Jan|Apr|Jul|Oct) 2023$|^2023$/, 'starting in 2023 on a quarter or year boundary');
  t.same(timeTicks(day('2023-01-10'), day('2023-01-12')).map((x) => x.label), ['11 Jan', '12 Jan'], 'days for a span of days');
  t.same(timeTicks(day('2015-06-01'), day('2025-06-01')).map((x) => x.label), ['2016', '2018', '2020', '2022', '2024'], 'every second year for a decade');
});

t.test('the reference range band is drawn only when the result has a range', async (t) => {
  const withRange = labChartSvg({ id: 'a', name: 'Hemoglobin', unit: 'g/dL', points: hemoglobin, range: { low: 12, high: 15.5 } }).value;
  t.equal(count(withRange, /class="range-band"/g), 1, 'one band with low and high');
  t.match(withRange, /<title>Reference range: 12 to 15\.5 g\/dL<\/title>/, 'the band says what it is on hover');
  t.match(withRange, /Reference range 12 to 15\.5 g\/dL\./, 'and the description for screen readers names it');
  const without = labChartSvg({ id: 'b', name: 'Hemoglobin', unit: 'g/dL', points: hemoglobin }).value;
  t.notMatch(without, /range-band/, 'no band without a range');
  t.notMatch(labChartSvg({ id: 'c', name: 'Hemoglobin', unit: 'g/dL', points: hemoglobin, range: {} }).value, /range-band/, 'nor with an empty one');
  const upper = labChartSvg({ id: 'd', name: 'LDL', unit: 'mg/dL', points: hemoglobin.map((p) => ({ ...p, value: p.value * 8 })), range: { high: 100 } }).value;
  t.match(upper, /<title>Reference range: up to 100 mg\/dL<\/title>/, 'a one-sided range is a band up to its limit');

  const band = /class="range-band" x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"/.exec(withRange)!;
  const yOf = (value: number) => {
    // Value ticks: the y of a tick label is its line's y + 4.5.
    const m = new RegExp(`y="([\\d.]+)" text-anchor="end" font-size="\\d+" fill="[^"]+">${value}</text>`).exec(withRange);
    return m ? Number(m[1]) - 4.5 : undefined;
  };
  const y12 = yOf(12);
  if (y12 !== undefined) t.ok(Math.abs(Number(band[1]) + Number(band[2]) - y12) < 0.2, 'the band ends at the lower limit on the axis');
  t.ok(Number(band[2]) > 0, 'and has a height');
});

t.test('one marker per result, each readable on hover; out-of-range results are a different shape', async (t) => {
  const chart = labChartSvg({ id: 'hb', name: 'Hemoglobin', unit: 'g/dL', points: hemoglobin, range: { low: 12, high: 15.5 } }).value;
  t.equal(count(chart, /class="point[ "]/g), 4, 'four results, four markers');
  t.equal(count(chart, /<circle class="point"/g), 3, 'three in range as circles');
  t.equal(count(chart, /<path class="point point-flagged"/g), 1, 'the low one as a diamond');
  t.match(chart, /<title>14 Sep 2023: 11\.2 g\/dL \(Low\)<\/title>/, 'its tooltip has date, value, unit and flag');
  t.match(chart, /<title>2 Jan 2025: 14\.1 g\/dL<\/title>/, 'a result without a flag reads without one');
  t.equal(count(chart, /<polyline class="series"/g), 1, 'a line joins them');
  t.match(chart, /role="img" aria-labelledby="hb-title hb-desc"/, 'the chart is an image named by its title and description');
  t.match(chart, /<desc id="hb-desc">4 results from 2 Mar 2023 to 2 Jan 2025\. Latest 14\.1 g\/dL\./, 'the description summarises the series');

  const single = labChartSvg({ id: 's', name: 'TSH', unit: 'mIU/L', points: [hemoglobin[0]!] }).value;
  t.equal(count(single, /class="point[ "]/g), 1, 'a single result is one marker');
  t.notMatch(single, /polyline/, 'with no line');
  t.match(single, /cx="196\.0"/, 'in the middle of the time axis');
  t.equal(labChartSvg({ id: 'e', name: 'X', unit: '', points: [] }).value, '', 'no results, no chart');
});

t.test('text from the record is escaped', async (t) => {
  const chart = labChartSvg({
    id: 'x"><script>',
    name: '<script>alert(1)</script> & "Co"',
    unit: '<b>mg</b>',
    points: [{ time: day('2024-01-01'), value: 1, dateText: '<i>1 Jan</i>', flag: '<img src=x>' }],
  }).value;
  t.notMatch(chart, /<script>|<b>|<i>|<img/, 'no markup from the input survives');
  t.match(chart, /&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; &quot;Co&quot; over time/, 'the name is escaped in the title');
  t.match(chart, /&lt;b&gt;mg&lt;\/b&gt;/, 'the unit too');
  t.match(chart, /aria-labelledby="x&quot;&gt;&lt;script&gt;-title/, 'and attribute values');
});

t.test('nice steps and scales', async (t) => {
  t.equal(niceStep(10, 4), 2.5);
  t.equal(niceStep(0.9, 4), 0.25);
  t.equal(niceStep(700, 4), 200);
  const s = valueScale([0.1, 0.2, 0.3]);
  t.ok(s.ticks.every((v) => String(v).length <= 4), `no float noise in ticks (${s.ticks.join(', ')})`);
  t.equal(valueScale([5, 6]).lo >= 0, true, 'positive values keep the axis at or above zero');
  const flat = valueScale([7, 7, 7]);
  t.ok(flat.lo < 7 && flat.hi > 7, 'identical values still get an axis around them');
});
