// The real entry point (src/main.ts) in a process of its own, started as a user would, with its JSON log lines
// collected; and plain HTTP requests on a connection each, so a WORKERS > 1 primary spreads them over its workers and
// a killed server leaves no pooled connection behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { request, type IncomingHttpHeaders } from 'node:http';
import { nodeEntry, REPO_ROOT } from './run-script.js';
import { TEST_SERVER_ENV } from './test-env.js';

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** One request on a connection of its own: the primary hands each new connection to the next worker. `localAddress`
 *  (e.g. 127.0.0.12) makes the request come from another loopback address, as another client would. */
export function send(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string; localAddress?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers ?? {}, agent: false, localAddress: opts.localAddress }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export interface LogLine {
  pid: number;
  msg?: string;
  level: number;
  /** On Fastify's 'incoming request' lines */
  req?: { method?: string; url?: string };
}

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[];
  /** The exit code (null when killed by a signal) */
  readonly exited: Promise<number | null>;
  /** What the process wrote to stderr (start-up errors land there) */
  stderr(): string;
}

export function startServer(env: Record<string, string>): ServerProcess {
  const child = spawn(process.execPath, nodeEntry('src/main'), {
    cwd: REPO_ROOT,
    env: { ...process.env, ...TEST_SERVER_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  let rest = '';
  child.stdout!.on('data', (d: Buffer) => {
    const parts = (rest + d.toString()).split('\n');
    rest = parts.pop()!;
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p) as LogLine);
      } catch {
        // not a log line
      }
    }
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  // A test process that ends without its teardown (a timeout) must not leave the server running.
  const orphaned = () => child.kill('SIGKILL');
  process.once('exit', orphaned);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      process.removeListener('exit', orphaned);
      resolve(code);
    }),
  );
  return { child, lines, exited, stderr: () => stderr };
}

export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 60_000, everyMs = 100): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
