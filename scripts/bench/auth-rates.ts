// Token-endpoint throughput: client_credentials and refresh with autocannon, and code exchange (single-use codes,
// made in advance through the real sign-in and consent pages, then exchanged as fast as the server allows).
import { createHash, randomBytes } from 'node:crypto';
import { authorizeInBrowser } from '../../test/helpers/browser-flow.js';
import { hashPassword, verifyPassword } from '../../src/portal/passwords.js';
import { treeCpuSeconds } from './contention.js';
import { load, type LoadResult } from './load.js';
import { BACKEND_TOKEN_REQUEST } from './server.js';

const CONFIDENTIAL = { id: 'demo-confidential-app', secret: 'demo-confidential-app-secret-change-me', redirect: 'http://localhost:3000/callback' };
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const FORM = 'application/x-www-form-urlencoded';

interface Settings {
  readonly origin: string;
  readonly fhirBase: string;
  readonly connections: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly onChild: (pid: number) => void;
}

async function code(s: Settings, scope: string): Promise<{ code: string; verifier: string }> {
  const verifier = randomBytes(32).toString('base64url');
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: CONFIDENTIAL.id,
    redirect_uri: CONFIDENTIAL.redirect,
    scope,
    state: 's',
    aud: s.fhirBase,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  const flow = await authorizeInBrowser(`${s.origin}/auth/auth?${q}`, CONFIDENTIAL.redirect, { username: 'daniel', password: 'smart-demo' });
  return { code: flow.callback.searchParams.get('code')!, verifier };
}

const exchangeBody = (c: { code: string; verifier: string }) =>
  new URLSearchParams({ grant_type: 'authorization_code', code: c.code, redirect_uri: CONFIDENTIAL.redirect, code_verifier: c.verifier }).toString();

export async function clientCredentialsRate(s: Settings): Promise<LoadResult> {
  return load(
    { origin: s.origin, ...BACKEND_TOKEN_REQUEST, connections: s.connections, seconds: s.seconds, warmupSeconds: s.warmupSeconds },
    s.onChild,
  );
}

/** A confidential client's refresh token is not rotated on every use, so one token can be refreshed repeatedly. */
export async function refreshRate(s: Settings): Promise<LoadResult> {
  const c = await code(s, 'launch/patient offline_access patient/*.rs');
  const res = await fetch(`${s.origin}/auth/token`, { method: 'POST', headers: { authorization: basic(CONFIDENTIAL.id, CONFIDENTIAL.secret), 'content-type': FORM }, body: exchangeBody(c) });
  const { refresh_token } = (await res.json()) as { refresh_token: string };
  return load(
    { origin: s.origin, paths: ['/auth/token'], method: 'POST', body: `grant_type=refresh_token&refresh_token=${refresh_token}`, headers: { authorization: basic(CONFIDENTIAL.id, CONFIDENTIAL.secret), 'content-type': FORM }, connections: s.connections, seconds: s.seconds, warmupSeconds: s.warmupSeconds },
    s.onChild,
  );
}

/** Codes are single use and live 60 s: make `n` in advance (10 flows at a time), then time their exchange. */
export async function codeExchangeRate(s: Settings, n: number, concurrency = 20): Promise<{ perSecond: number; codes: number; failures: number }> {
  const codes: { code: string; verifier: string }[] = [];
  while (codes.length < n) codes.push(...(await Promise.all(Array.from({ length: Math.min(10, n - codes.length) }, () => code(s, 'launch/patient patient/*.rs')))));
  let next = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < codes.length) {
        const c = codes[next++]!;
        const res = await fetch(`${s.origin}/auth/token`, { method: 'POST', headers: { authorization: basic(CONFIDENTIAL.id, CONFIDENTIAL.secret), 'content-type': FORM }, body: exchangeBody(c) });
        if (res.status !== 200) failures++;
        await res.arrayBuffer();
      }
    }),
  );
  return { perSecond: Math.round(codes.length / ((performance.now() - started) / 1000)), codes: codes.length, failures };
}

export interface LaunchRate {
  readonly launches: number;
  readonly perSecond: number;
  readonly failures: number;
  /** The server's CPU per launch (all its threads, from /proc), ms */
  readonly serverCpuMs: number;
  /** CPU of one password verification (scrypt at the server's parameters) measured apart in this process, ms */
  readonly hashCpuMs: number;
  /** Wall time of one password verification, ms */
  readonly hashWallMs: number;
}

/**
 * The complete standalone launch, as an app and a browser do it: authorize → sign-in page → sign-in (a password
 * verification) → consent page → allow → code → token exchange, `n` of them, `concurrency` at a time, each with
 * a browser of its own (no session to reuse). Password hashing's own cost is measured apart, so the launch's
 * cost can be read with and without it.
 */
export async function launchRate(s: Settings & { readonly serverPid: number }, n: number, concurrency = 8): Promise<LaunchRate> {
  let next = 0;
  let failures = 0;
  const cpu0 = treeCpuSeconds(s.serverPid);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < n) {
        try {
          const c = await code(s, 'launch/patient openid fhirUser patient/*.rs');
          const res = await fetch(`${s.origin}/auth/token`, { method: 'POST', headers: { authorization: basic(CONFIDENTIAL.id, CONFIDENTIAL.secret), 'content-type': FORM }, body: exchangeBody(c) });
          const body = (await res.json()) as { access_token?: string; patient?: string };
          if (res.status !== 200 || !body.access_token || !body.patient) failures++;
        } catch {
          failures++;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const serverCpuMs = ((treeCpuSeconds(s.serverPid) - cpu0) * 1000) / n;
  const stored = await hashPassword('smart-demo');
  const samples = 10;
  const h0 = process.cpuUsage();
  const w0 = performance.now();
  for (let i = 0; i < samples; i++) if (!(await verifyPassword('smart-demo', stored))) throw new Error('password verification failed');
  const used = process.cpuUsage(h0);
  return {
    launches: n,
    perSecond: Number((n / seconds).toFixed(1)),
    failures,
    serverCpuMs: Number(serverCpuMs.toFixed(1)),
    hashCpuMs: Number(((used.user + used.system) / 1000 / samples).toFixed(1)),
    hashWallMs: Number(((performance.now() - w0) / samples).toFixed(1)),
  };
}
