// Procedures (US Core 6.1) where a patient's story calls for them, and what travels with them:
// - spirometry once a year at an asthma follow-up (age 6 and up);
// - a baseline ECG for an adult with hypertension, diabetes or CKD, read in a note-type
//   DiagnosticReport with the tracing's interpretation as text/plain presentedForm;
// - a screening colonoscopy for adults 45-75, done on a referral (ServiceRequest);
// - a total hip replacement years ago, with the implanted prosthesis as a Device (UDI).
// Vaccinations are Immunizations, not Procedures.
import type { Device, DiagnosticReport, Procedure, Reference, ServiceRequest } from 'fhir/r4.js';
import type { RecordContext, RecordedVisit } from './record-context.js';
import { latestVisitBetween, stream } from './record-context.js';
import { PROFILE, SYSTEM, coding, concept } from './terminology.js';
import { ANCHOR_DAY, ageInYears, calendar, exactAge, formatDateTime, isoFromDay, toWeekday } from './time.js';

/** A weekday that is not one of the holidays an endoscopy unit is closed. */
function clinicDay(day: number): number {
  const c = calendar(day);
  const holiday = (c.month === 12 && c.day >= 24) || (c.month === 1 && c.day === 1) || (c.month === 7 && c.day === 4);
  return toWeekday(holiday ? day + 9 : day);
}

export interface ProcedureOutput {
  readonly procedures: Procedure[];
  readonly reports: DiagnosticReport[];
  readonly serviceRequests: ServiceRequest[];
  readonly devices: Device[];
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

function performed(ctx: RecordContext, v: RecordedVisit, offset: number): string {
  return formatDateTime(v.visit.day, v.visit.minute + offset, ctx.zone);
}

function spirometry(ctx: RecordContext): Procedure[] {
  const asthma = ctx.problems.get('asthma');
  if (!asthma) return [];
  const seenYears = new Set<string>();
  const out: Procedure[] = [];
  for (const v of ctx.visits) {
    const year = v.visit.key.split('.')[0] ?? '';
    if (v.visit.kind !== 'follow-up' || v.age < 6 || v.visit.day < asthma.plan.onsetDay || seenYears.has(year)) continue;
    seenYears.add(year);
    const rng = stream(ctx, 'spirometry', v.visit.key);
    const fev1 = rng.int(82, 99);
    out.push({
      resourceType: 'Procedure',
      id: rng.uuid(),
      meta: { profile: [PROFILE.procedure] },
      status: 'completed',
      code: concept(SYSTEM.snomed, '127783003', 'Spirometry', 'Spirometry (lung function test)'),
      subject: ctx.subject,
      encounter: v.encounter,
      performedDateTime: performed(ctx, v, 10),
      performer: [{ actor: v.clinician.reference }],
      reasonReference: [asthma.reference],
      note: [{ text: `FEV1 ${fev1}% of predicted, FEV1/FVC ${rng.int(78, 88)}%; no significant change after bronchodilator. Asthma control adequate on current treatment.` }],
    });
  }
  return out;
}

function ecg(ctx: RecordContext): { procedure: Procedure; report: DiagnosticReport } | undefined {
  const indications = (['hypertension', 'type2-diabetes', 'ckd'] as const).flatMap((k) => {
    const p = ctx.problems.get(k);
    return p ? [p] : [];
  });
  const first = indications[0];
  if (!first) return undefined;
  const onset = Math.min(...indications.map((p) => p.plan.onsetDay));
  const v = ctx.visits.find((x) => x.visit.kind !== 'sick' && x.age >= 18 && x.visit.day >= onset);
  if (!v) return undefined;
  const rng = stream(ctx, 'ecg');
  const procedureId = rng.uuid();
  const reportId = rng.uuid();
  const heartRate = Math.round(v.observations.find((o) => o.code.coding?.[0]?.code === '8867-4')?.valueQuantity?.value ?? rng.int(62, 84));
  const rhythm = heartRate < 60 ? 'Sinus bradycardia' : heartRate > 100 ? 'Sinus tachycardia' : 'Normal sinus rhythm';
  const lvh = ctx.problems.has('hypertension') && v.age >= 60 && rng.chance(0.4);
  const qt = Math.round(400 - (heartRate - 60) * 1.6 + rng.int(-10, 10));
  const qtc = Math.round(qt / Math.sqrt(60 / heartRate));
  const impression = lvh ? 'Abnormal ECG: left ventricular hypertrophy by voltage criteria.' : rhythm === 'Normal sinus rhythm' ? 'Normal ECG.' : `${rhythm}; otherwise normal ECG.`;
  const when = performed(ctx, v, 12);
  const { profile } = ctx;
  const text = [
    '12-lead electrocardiogram',
    `Patient: ${profile.name.given.join(' ')} ${profile.name.family}, ${ageInYears(profile.birthDay, v.visit.day)}-year-old ${profile.sex}`,
    `Recorded: ${when}`,
    `Indication: baseline tracing for ${indications.map((p) => p.plan.label.toLowerCase()).join(' and ')}`,
    '',
    `Rhythm: ${rhythm.toLowerCase()}, ventricular rate ${heartRate} bpm.`,
    `Intervals: PR ${rng.int(140, 190)} ms, QRS ${rng.int(82, 104)} ms, QT/QTc ${qt}/${qtc} ms. Axis ${lvh ? 'leftward, within normal limits' : 'normal'}.`,
    lvh ? 'Increased QRS voltage meeting Sokolow-Lyon criteria; no acute ST-T changes.' : 'No ST-segment or T-wave abnormalities.',
    '',
    `Impression: ${impression}`,
    `Read by ${v.clinician.signature}`,
    '',
  ].join('\n');
  const issued = formatDateTime(v.visit.day, v.endMinute + 90, ctx.zone);
  const report: DiagnosticReport = {
    resourceType: 'DiagnosticReport',
    id: reportId,
    meta: { profile: [PROFILE.diagnosticReportNote] },
    status: 'final',
    category: [concept(SYSTEM.loinc, 'LP29708-2', 'Cardiology')],
    code: concept(SYSTEM.loinc, '11524-6', 'EKG study', 'ECG report'),
    subject: ctx.subject,
    encounter: v.encounter,
    effectiveDateTime: when,
    issued,
    performer: [v.clinician.reference],
    resultsInterpreter: [v.clinician.reference],
    conclusion: impression,
    presentedForm: [{ contentType: 'text/plain', language: 'en-US', data: base64(text), title: '12-lead ECG report', creation: issued }],
  };
  const procedure: Procedure = {
    resourceType: 'Procedure',
    id: procedureId,
    meta: { profile: [PROFILE.procedure] },
    status: 'completed',
    code: concept(SYSTEM.snomed, '29303009', 'Electrocardiographic procedure', 'ECG'),
    subject: ctx.subject,
    encounter: v.encounter,
    performedDateTime: when,
    performer: [{ actor: v.clinician.reference }],
    reasonReference: indications.map((p) => p.reference),
    report: [{ reference: `DiagnosticReport/${reportId}`, display: 'ECG report' }],
  };
  return { procedure, report };
}

const SCREENING_REASON = concept(SYSTEM.icd10cm, 'Z12.11', 'Encounter for screening for malignant neoplasm of colon', 'Colorectal cancer screening');

function colonoscopy(ctx: RecordContext): { procedure: Procedure; referral: ServiceRequest } | undefined {
  const { profile } = ctx;
  const age = exactAge(profile.birthDay, ANCHOR_DAY);
  if (age < 46 || age > 75) return undefined;
  const firstVisit = ctx.visits[0]?.visit.day ?? ANCHOR_DAY - 730;
  const rng = stream(ctx, 'colonoscopy');
  const lo = Math.max(firstVisit + 60, profile.birthDay + Math.ceil(45 * 365.2425));
  const hi = ANCHOR_DAY - 30;
  if (lo > hi) return undefined;
  const day = Math.min(hi - 2, clinicDay(rng.int(lo, hi - 3)));
  const ordering = latestVisitBetween(ctx.visits, day - 180, day - 14);
  const authored = ordering ? { day: ordering.visit.day, minute: ordering.visit.minute + 25 } : { day: toWeekday(day - 35), minute: 600 + 15 * rng.int(0, 20) };
  const requester = ordering?.clinician.reference ?? ctx.clinic.familyPhysician.reference;
  const referralId = rng.uuid();
  const referral: ServiceRequest = {
    resourceType: 'ServiceRequest',
    id: referralId,
    meta: { profile: [PROFILE.serviceRequest] },
    status: 'completed',
    intent: 'order',
    category: [concept(SYSTEM.snomed, '387713003', 'Surgical procedure')],
    code: concept(SYSTEM.snomed, '73761001', 'Colonoscopy', 'Screening colonoscopy'),
    subject: ctx.subject,
    ...(ordering ? { encounter: ordering.encounter } : {}),
    occurrenceDateTime: isoFromDay(day),
    authoredOn: formatDateTime(authored.day, authored.minute, ctx.zone),
    requester,
    reasonCode: [SCREENING_REASON],
    note: [{ text: 'Average-risk colorectal cancer screening; referred to gastroenterology.' }],
  };
  const polyps = rng.chance(0.3);
  const procedure: Procedure = {
    resourceType: 'Procedure',
    id: rng.uuid(),
    meta: { profile: [PROFILE.procedure] },
    basedOn: [{ reference: `ServiceRequest/${referralId}` }],
    status: 'completed',
    code: concept(SYSTEM.snomed, '73761001', 'Colonoscopy', 'Screening colonoscopy'),
    subject: ctx.subject,
    performedDateTime: formatDateTime(day, 450 + 15 * rng.int(0, 16), ctx.zone),
    reasonCode: [SCREENING_REASON],
    note: [
      {
        text: polyps
          ? 'Colonoscopy to the cecum at an outside endoscopy center. Two diminutive polyps removed (tubular adenomas on pathology). Repeat colonoscopy in 7 years.'
          : 'Colonoscopy to the cecum at an outside endoscopy center. No polyps or masses. Repeat screening in 10 years.',
      },
    ],
  };
  return { procedure, referral };
}

/** GS1 check digit for the first 13 digits of a GTIN-14. */
function gtinCheckDigit(first13: string): string {
  let sum = 0;
  for (let i = 0; i < first13.length; i++) sum += Number(first13[i]) * (i % 2 === 0 ? 3 : 1);
  return String((10 - (sum % 10)) % 10);
}

function yymmdd(day: number): string {
  const c = calendar(day);
  return `${String(c.year % 100).padStart(2, '0')}${String(c.month).padStart(2, '0')}${String(c.day).padStart(2, '0')}`;
}

function hipReplacement(ctx: RecordContext): { procedure: Procedure; device: Device } | undefined {
  const day = ctx.profile.hipReplacementDay;
  if (day === undefined) return undefined;
  const rng = stream(ctx, 'hip-replacement');
  const deviceId = rng.uuid();
  const side = rng.chance(0.5) ? 'right' : 'left';
  let body = '0';
  for (let i = 0; i < 12; i++) body += String(rng.int(0, 9));
  const gtin = body + gtinCheckDigit(body);
  const manufactured = day - rng.int(60, 400);
  const expires = manufactured + 5 * 365;
  const lot = rng.alphanumeric(6);
  const serial = rng.alphanumeric(9);
  const device: Device = {
    resourceType: 'Device',
    id: deviceId,
    meta: { profile: [PROFILE.implantableDevice] },
    udiCarrier: [
      {
        deviceIdentifier: gtin,
        issuer: SYSTEM.gs1DeviceIdentifier,
        jurisdiction: SYSTEM.fdaUdi,
        carrierHRF: `(01)${gtin}(11)${yymmdd(manufactured)}(17)${yymmdd(expires)}(10)${lot}(21)${serial}`,
        entryType: 'barcode',
      },
    ],
    status: 'active',
    manufacturer: 'Example Orthopedics, Inc.',
    manufactureDate: isoFromDay(manufactured),
    expirationDate: isoFromDay(expires),
    lotNumber: lot,
    serialNumber: serial,
    deviceName: [{ name: 'Example total hip system', type: 'user-friendly-name' }],
    type: concept(SYSTEM.snomed, '304120007', 'Total hip replacement prosthesis', 'Hip replacement implant'),
    patient: ctx.subject,
  };
  const procedure: Procedure = {
    resourceType: 'Procedure',
    id: rng.uuid(),
    meta: { profile: [PROFILE.procedure] },
    status: 'completed',
    code: concept(SYSTEM.snomed, '52734007', 'Total replacement of hip', 'Hip replacement'),
    subject: ctx.subject,
    performedDateTime: isoFromDay(day),
    reasonCode: [
      side === 'right'
        ? { coding: [coding(SYSTEM.icd10cm, 'M16.11', 'Unilateral primary osteoarthritis, right hip')], text: 'Osteoarthritis of the right hip' }
        : { coding: [coding(SYSTEM.icd10cm, 'M16.12', 'Unilateral primary osteoarthritis, left hip')], text: 'Osteoarthritis of the left hip' },
    ],
    note: [{ text: `Elective ${side} total hip arthroplasty at an outside hospital; uncomplicated recovery.` }],
    focalDevice: [{ manipulated: { reference: `Device/${deviceId}`, display: 'Hip replacement implant' } }],
  };
  return { procedure, device };
}

export function procedureResources(ctx: RecordContext): ProcedureOutput {
  const out: ProcedureOutput = { procedures: [], reports: [], serviceRequests: [], devices: [] };
  const hip = hipReplacement(ctx);
  if (hip) {
    out.procedures.push(hip.procedure);
    out.devices.push(hip.device);
  }
  out.procedures.push(...spirometry(ctx));
  const e = ecg(ctx);
  if (e) {
    out.procedures.push(e.procedure);
    out.reports.push(e.report);
  }
  const c = colonoscopy(ctx);
  if (c) {
    out.procedures.push(c.procedure);
    out.serviceRequests.push(c.referral);
  }
  const when = (p: Procedure): string => p.performedDateTime ?? '';
  out.procedures.sort((a, b) => (when(a) < when(b) ? -1 : when(a) > when(b) ? 1 : 0));
  return out;
}
