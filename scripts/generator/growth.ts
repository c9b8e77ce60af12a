// Body size over a lifetime. Children follow smoothed medians close to the CDC/WHO growth charts,
// each child keeping its own position (z-score) on the curve so it grows believably between
// visits; adults keep their final height (losing a little after 60) and drift in BMI.
import type { Sex } from './demographics.js';

type Curve = readonly (readonly [age: number, value: number])[];

const MEDIAN_HEIGHT_CM: Record<Sex, Curve> = {
  male: [
    [0, 49.9], [0.25, 61.4], [0.5, 67.6], [0.75, 72.0], [1, 75.7], [1.5, 82.3], [2, 87.1], [3, 95.2],
    [4, 102.5], [5, 109.2], [6, 115.5], [7, 121.9], [8, 128.0], [9, 133.3], [10, 138.4], [11, 143.5],
    [12, 149.1], [13, 156.0], [14, 163.2], [15, 169.0], [16, 172.9], [17, 175.2], [18, 176.1], [20, 176.8],
  ],
  female: [
    [0, 49.1], [0.25, 59.8], [0.5, 65.7], [0.75, 70.1], [1, 74.0], [1.5, 80.7], [2, 85.7], [3, 94.1],
    [4, 101.0], [5, 108.0], [6, 115.0], [7, 121.1], [8, 127.3], [9, 133.0], [10, 138.6], [11, 144.8],
    [12, 151.2], [13, 156.7], [14, 159.8], [15, 161.7], [16, 162.5], [17, 162.9], [18, 163.1], [20, 163.3],
  ],
};

const MEDIAN_BMI: Record<Sex, Curve> = {
  male: [
    [0, 13.4], [0.25, 16.9], [0.5, 17.3], [0.75, 17.2], [1, 16.9], [1.5, 16.4], [2, 16.3], [3, 16.0],
    [4, 15.7], [5, 15.5], [6, 15.4], [7, 15.5], [8, 15.8], [9, 16.1], [10, 16.6], [11, 17.2], [12, 17.8],
    [13, 18.5], [14, 19.2], [15, 19.8], [16, 20.5], [17, 21.1], [18, 21.7], [19, 22.2], [20, 22.6],
  ],
  female: [
    [0, 13.3], [0.25, 16.4], [0.5, 16.9], [0.75, 16.8], [1, 16.4], [1.5, 16.0], [2, 16.1], [3, 15.7],
    [4, 15.4], [5, 15.2], [6, 15.2], [7, 15.4], [8, 15.8], [9, 16.3], [10, 16.9], [11, 17.5], [12, 18.1],
    [13, 18.7], [14, 19.4], [15, 19.9], [16, 20.4], [17, 20.8], [18, 21.2], [19, 21.5], [20, 21.7],
  ],
};

function interpolate(curve: Curve, age: number): number {
  const first = curve[0];
  const last = curve[curve.length - 1];
  if (!first || !last) throw new Error('empty curve');
  if (age <= first[0]) return first[1];
  if (age >= last[0]) return last[1];
  for (let i = 1; i < curve.length; i++) {
    const hi = curve[i];
    const lo = curve[i - 1];
    if (hi && lo && age <= hi[0]) {
      const t = (age - lo[0]) / (hi[0] - lo[0]);
      return lo[1] + t * (hi[1] - lo[1]);
    }
  }
  return last[1];
}

/** Coefficient of variation of height for age; close enough to the charts' spread to place percentiles. */
const HEIGHT_CV = 0.04;

/** BMI is right-skewed and widens with age: work on log(BMI) with an age-dependent SD. */
export function bmiLogSd(age: number): number {
  return 0.09 + 0.003 * Math.min(20, Math.max(0, age));
}

export function medianBmi(sex: Sex, age: number): number {
  return interpolate(MEDIAN_BMI[sex], age);
}

export function adultHeightFromZ(sex: Sex, heightZ: number): number {
  return interpolate(MEDIAN_HEIGHT_CM[sex], 20) * (1 + HEIGHT_CV * heightZ);
}

export function heightZFromAdultHeight(sex: Sex, heightCm: number): number {
  return (heightCm / interpolate(MEDIAN_HEIGHT_CM[sex], 20) - 1) / HEIGHT_CV;
}

/** Standing height (or recumbent length under 2) at a fractional age. */
export function heightAt(sex: Sex, heightZ: number, age: number): number {
  const adult = adultHeightFromZ(sex, heightZ);
  if (age < 20) return interpolate(MEDIAN_HEIGHT_CM[sex], age) * (1 + HEIGHT_CV * heightZ);
  // Vertebral compression: about a centimetre per decade after 60, faster after 80.
  const loss = Math.max(0, age - 60) * 0.1 + Math.max(0, age - 80) * 0.1;
  return adult - loss;
}

export function pediatricBmi(sex: Sex, bmiZ: number, age: number): number {
  return medianBmi(sex, age) * Math.exp(bmiLogSd(age) * bmiZ);
}

export function bmiZScore(sex: Sex, age: number, bmi: number): number {
  return Math.log(bmi / medianBmi(sex, age)) / bmiLogSd(age);
}

/** Standard normal CDF (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** Percentile for a z-score, kept off 0 and 100 the way growth-chart software reports it. */
export function percentileFromZ(z: number): number {
  return Math.min(99.9, Math.max(0.1, normalCdf(z) * 100));
}
