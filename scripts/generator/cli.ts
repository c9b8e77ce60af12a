// Command-line parsing for scripts/generate.ts. Strict on purpose: a typo such as
// --patient 1000 must fail loudly (exit 2) rather than silently regenerate the seed data.
import { DEFAULT_SEED, MAX_OBSERVATIONS_PER_PATIENT } from './index.js';

export const MAX_PATIENTS = 10_000_000;

export type CliCommand =
  | { readonly kind: 'help' }
  | { readonly kind: 'seed'; readonly seed: number; readonly outDir: string }
  | {
      readonly kind: 'bulk';
      readonly seed: number;
      readonly outDir: string;
      readonly patients: number;
      readonly observationsPerPatient?: number;
    };

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const USAGE = `Usage:
  npm run generate [-- --seed N --out DIR]
      Write the seed data set: DIR/seed/00-practice.json (the shared organization,
      clinics, clinicians and Medications), DIR/seed/NN-<patient-id>.json (one FHIR R4
      transaction Bundle per patient), DIR/seed/99-groups.json (patient Groups) and
      DIR/README.md. DIR defaults to fhir-resources.

  npm run generate -- --patients N --out DIR [--seed N] [--observations-per-patient N]
      Write a bulk data set as NDJSON into DIR, one <Type>.ndjson per resource type:
      the shared practice (Organization, Location, Practitioner, PractitionerRole,
      Medication), then each patient's Patient, Observation, AllergyIntolerance,
      MedicationStatement, Immunization, Encounter, Condition, MedicationRequest,
      DiagnosticReport, Procedure, DocumentReference, CarePlan, Goal, Coverage, ...

Options:
  --patients N                  number of bulk patients (1-${MAX_PATIENTS})
  --out DIR                     output directory (required with --patients)
  --seed N                      PRNG seed, integer 0-4294967295 (default ${DEFAULT_SEED});
                                the same seed always produces byte-identical output
  --observations-per-patient N  exactly N Observations per bulk patient (0-${MAX_OBSERVATIONS_PER_PATIENT});
                                without it each patient gets their natural history
  -h, --help                    show this help

All dates are computed from the fixed anchor date 2026-11-01, never from the clock.`;

type FlagName = 'patients' | 'out' | 'seed' | 'observations-per-patient';
const FLAGS: ReadonlySet<string> = new Set<FlagName>(['patients', 'out', 'seed', 'observations-per-patient']);

function parseInteger(flag: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw)) throw new UsageError(`--${flag} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${flag} must be between ${min} and ${max}, got ${raw}`);
  }
  return value;
}

export function parseArgs(argv: readonly string[]): CliCommand {
  const values = new Map<FlagName, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '-h' || arg === '--help') return { kind: 'help' };
    if (!arg.startsWith('--')) throw new UsageError(`Unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (!FLAGS.has(name)) throw new UsageError(`Unknown option "--${name}"`);
    const flag = name as FlagName;
    let value: string | undefined;
    if (eq !== -1) {
      value = arg.slice(eq + 1);
    } else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined || value === '' || value.startsWith('--')) throw new UsageError(`--${flag} needs a value`);
    if (values.has(flag)) throw new UsageError(`--${flag} given more than once`);
    values.set(flag, value);
  }

  const seedRaw = values.get('seed');
  const seed = seedRaw === undefined ? DEFAULT_SEED : parseInteger('seed', seedRaw, 0, 0xffffffff);
  const patientsRaw = values.get('patients');
  const outDir = values.get('out');
  const perPatientRaw = values.get('observations-per-patient');

  if (patientsRaw === undefined) {
    if (perPatientRaw !== undefined) throw new UsageError('--observations-per-patient only applies to bulk output (--patients N --out DIR)');
    return { kind: 'seed', seed, outDir: outDir ?? 'fhir-resources' };
  }
  const patients = parseInteger('patients', patientsRaw, 1, MAX_PATIENTS);
  if (outDir === undefined) throw new UsageError('--patients needs --out DIR for the NDJSON files');
  if (perPatientRaw === undefined) return { kind: 'bulk', seed, outDir, patients };
  const observationsPerPatient = parseInteger('observations-per-patient', perPatientRaw, 0, MAX_OBSERVATIONS_PER_PATIENT);
  return { kind: 'bulk', seed, outDir, patients, observationsPerPatient };
}
