// Deterministic synthetic-patient generator (npm run generate). See --help, and
// scripts/generator/index.ts for the in-process API used by tests and benchmarks.
import { relative } from 'node:path';
import { USAGE, UsageError, parseArgs } from './generator/cli.js';
import type { CliCommand } from './generator/cli.js';
import { writeBulk, writeSeedSet } from './generator/writers.js';

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function display(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' || rel.startsWith('..') ? path : rel;
}

async function run(command: Exclude<CliCommand, { kind: 'help' }>): Promise<void> {
  const started = performance.now();
  const elapsed = (): string => ((performance.now() - started) / 1000).toFixed(1);
  if (command.kind === 'seed') {
    const { files, readme } = await writeSeedSet(command.outDir, command.seed);
    const resources = files.reduce((n, f) => n + f.resources, 0);
    const bytes = files.reduce((n, f) => n + f.bytes, 0);
    console.log(`Wrote ${files.length} seed bundles (${resources} resources, ${megabytes(bytes)}) and ${display(readme)} in ${elapsed()} s (seed ${command.seed}):`);
    for (const f of files) console.log(`  ${display(f.path).padEnd(48)} ${String(f.resources).padStart(5)} resources  ${megabytes(f.bytes).padStart(8)}`);
    return;
  }
  const perPatient = command.observationsPerPatient === undefined ? 'natural history' : `${command.observationsPerPatient} observations per patient`;
  process.stderr.write(`[generate] ${command.patients} patients, seed ${command.seed}, ${perPatient} -> ${display(command.outDir)}\n`);
  const summary = await writeBulk({
    outDir: command.outDir,
    patients: command.patients,
    seed: command.seed,
    ...(command.observationsPerPatient !== undefined ? { observationsPerPatient: command.observationsPerPatient } : {}),
    onProgress: (message) => process.stderr.write(`[generate] ${message}\n`),
  });
  const total = summary.reduce((n, f) => n + f.resources, 0);
  const bytes = summary.reduce((n, f) => n + f.bytes, 0);
  console.log(`Wrote ${total} resources (${megabytes(bytes)}) for ${command.patients} patients to ${display(command.outDir)} in ${elapsed()} s (seed ${command.seed}, ${perPatient}):`);
  for (const f of summary) console.log(`  ${display(f.path).padEnd(48)} ${String(f.resources).padStart(10)}  ${megabytes(f.bytes).padStart(10)}`);
}

async function main(argv: readonly string[]): Promise<number> {
  let command: CliCommand;
  try {
    command = parseArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`generate: ${error.message}\nRun "npm run generate -- --help" for usage.\n`);
      return 2;
    }
    throw error;
  }
  if (command.kind === 'help') {
    console.log(USAGE);
    return 0;
  }
  await run(command);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`generate: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
