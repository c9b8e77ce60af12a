// A private PostgreSQL cluster for one test: initdb in a temporary directory, its own port and socket directory, so
// it can be stopped and started under a running server without touching the machine's shared PostgreSQL (other
// tests use that one at the same time). As root it runs as the `postgres` OS user (PostgreSQL refuses root).
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PgCluster {
  readonly url: (database: string) => string;
  start(): Promise<void>;
  stop(mode: 'fast' | 'immediate' | 'smart'): Promise<void>;
  /** Stops (immediately) and removes the directory; safe to call twice */
  destroy(): void;
  log(): string;
}

/** The newest installed PostgreSQL's bin directory, or why there is none. */
export function findPostgresBin(): { bin: string } | { missing: string } {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  if (!versions.length) return { missing: `no initdb under ${root}/*/bin (install the postgresql package)` };
  versions.sort((a, b) => Number(b) - Number(a));
  return { bin: join(root, versions[0]!, 'bin') };
}

export function createPgCluster(bin: string, port: number): PgCluster {
  const dir = mkdtempSync(join(tmpdir(), 'smart-pg-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
  }
  const command = (tool: string, args: readonly string[]): [string, string[]] => (asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), [...args]]);
  // Asynchronous, so the load the test drives keeps running while PostgreSQL stops and starts.
  const run = async (tool: string, args: readonly string[]) => {
    const [file, argv] = command(tool, args);
    try {
      await promisify(execFile)(file, argv, { timeout: 90_000 });
    } catch (err) {
      throw new Error(`${tool} ${args.join(' ')} failed: ${(err as { stderr?: string }).stderr ?? String(err)}\n${existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : ''}`);
    }
  };
  const runSync = (tool: string, args: readonly string[]) => {
    const [file, argv] = command(tool, args);
    return spawnSync(file, argv, { encoding: 'utf8', timeout: 90_000 });
  };
  // No fsync at initdb (a throwaway cluster); the server itself runs with PostgreSQL's durable defaults.
  const init = runSync('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  if (init.status !== 0) throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout}`);
  let destroyed = false;
  const cluster: PgCluster = {
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    start() {
      return run('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '60', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, 'start']);
    },
    stop(mode) {
      return run('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      runSync('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
  };
  // A test process that dies without its teardown must not leave a cluster running.
  process.once('exit', () => cluster.destroy());
  return cluster;
}
