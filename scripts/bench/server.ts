// Starts the real server (src/main.ts) on the benchmark database in a child process and waits until it answers. Rate
// limits are set out of reach (still counted, so their cost is measured) and load shedding is off: the bench measures
// how much the server does, not how it refuses.
import { spawn, type ChildProcess } from 'node:child_process';

export interface BenchServerOptions {
  /** The SQLite file; ignored when databaseUrl is given */
  readonly dbFile: string;
  /** The server's DATABASE_URL (e.g. a PostgreSQL database); `sqlite:<dbFile>` by default */
  readonly databaseUrl?: string;
  readonly port: number;
  /** The public URL tokens are issued for; several servers can share one */
  readonly publicUrl: string;
  readonly env?: Record<string, string>;
  /** Extra node flags, e.g. --cpu-prof */
  readonly nodeArgs?: readonly string[];
  /** Worker processes the server runs (its WORKERS); each must be up before measuring */
  readonly workers?: number;
  /** The checkout to run (another worktree, to compare two versions); this one by default */
  readonly cwd?: string;
}

export async function startBenchServer(o: BenchServerOptions): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), '--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, PORT: String(o.port), DATABASE_URL: o.databaseUrl ?? `sqlite:${o.dbFile}`, SEED_DIR: '', LOG_LEVEL: 'warn', SIGNIN_RATE_LIMIT: '1000000', TOKEN_RATE_LIMIT: '1000000000', TOKEN_CLIENT_RATE_LIMIT: '1000000000', REGISTRATION_RATE_LIMIT: '1000000000', OVERLOAD_EVENT_LOOP_DELAY_MS: '0', OVERLOAD_QUEUE_MS: '0', PUBLIC_URL: o.publicUrl, ...o.env },
    stdio: ['ignore', 'inherit', 'inherit'],
    ...(o.cwd ? { cwd: o.cwd } : {}),
  });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${o.port}/healthz`)).ok) {
        // The first worker answers; the others started with it and finish within a moment.
        if ((o.workers ?? 1) > 1) await new Promise((r) => setTimeout(r, 3000));
        return child;
      }
    } catch {
      if (i > 150) {
        child.kill();
        throw new Error(`the server on port ${o.port} did not start`);
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The token request of the sandbox backend client: client_credentials with its secret, for system/*.rs */
export const BACKEND_TOKEN_REQUEST = {
  paths: ['/auth/token'],
  method: 'POST',
  headers: { authorization: `Basic ${Buffer.from('demo-backend:demo-backend-secret-change-me').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
  body: 'grant_type=client_credentials&scope=system%2F*.rs',
} as const;

/** A system/ token from the sandbox backend client. */
export async function backendToken(origin: string): Promise<{ authorization: string }> {
  const { method, headers, body } = BACKEND_TOKEN_REQUEST;
  const res = await fetch(`${origin}/auth/token`, { method, headers, body });
  return { authorization: `Bearer ${((await res.json()) as { access_token: string }).access_token}` };
}
