// Runs one of the npm scripts' entry points (scripts/<name>.ts) as a user would, and collects what it printed.
import { spawn } from 'node:child_process';
import { basename, dirname, join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '../..');
/** The checkout itself, also when the tests run compiled in its .build folder (for what lies beside it, ../shared) */
export const CHECKOUT_ROOT = basename(REPO_ROOT) === '.build' ? dirname(REPO_ROOT) : REPO_ROOT;

/** Node's arguments to start one of the repository's entry points (`src/main`, `scripts/generate`, ...), the way this
 *  test itself runs: compiled into .build (see scripts/compile-tests.sh) as plain JavaScript, from source through tsx. */
export function nodeEntry(entry: string): string[] {
  return import.meta.url.endsWith('.js') ? [join(REPO_ROOT, `${entry}.js`)] : ['--import', 'tsx', join(REPO_ROOT, `${entry}.ts`)];
}

export interface ScriptRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `env` is added to this process's environment (SEED_DIR is always off: a script never seeds). */
export function runScript(script: string, args: readonly string[], env: Record<string, string> = {}): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeEntry(`scripts/${script}`), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, SEED_DIR: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
