// A Bulk Data client as the IG describes one: kick off with Prefer: respond-async, poll the Content-Location while it
// answers 202 (waiting as long as Retry-After says), then fetch every file of the manifest with the bearer token.
import { gunzipSync } from 'node:zlib';
import type { ExportManifest } from '../../src/bulk/export-service.js';

/** The manifest as the server types it; tests read it as a client would. */
export type Manifest = ExportManifest;

export async function backendToken(issuer: string, scope = 'system/*.rs', client = 'demo-backend:demo-backend-secret-change-me'): Promise<string> {
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(client).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
  });
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export async function kickOff(url: string, token: string, init: { method?: string; body?: unknown; prefer?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  return fetch(url, {
    method: init.method ?? 'GET',
    headers: {
      accept: 'application/fhir+json',
      prefer: init.prefer ?? 'respond-async',
      authorization: `Bearer ${token}`,
      ...(init.body !== undefined ? { 'content-type': 'application/fhir+json' } : {}),
      ...init.headers,
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
}

export interface PollResult {
  readonly status: number;
  readonly manifest?: Manifest;
  readonly body?: unknown;
  /** X-Progress and Retry-After of each 202 seen */
  readonly progress: readonly { readonly xProgress: string | null; readonly retryAfter: string | null }[];
}

/** Polls until the status URL answers something other than 202, honouring Retry-After (capped by maxWaitMs per poll). */
export async function poll(statusUrl: string, token: string, opts: { timeoutMs?: number; maxWaitMs?: number } = {}): Promise<PollResult> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  const progress: { xProgress: string | null; retryAfter: string | null }[] = [];
  for (;;) {
    const res = await fetch(statusUrl, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
    if (res.status !== 202) {
      const text = await res.text();
      const body = text ? (JSON.parse(text) as unknown) : undefined;
      return { status: res.status, ...(res.status === 200 ? { manifest: body as Manifest } : {}), body, progress };
    }
    await res.arrayBuffer();
    const retryAfter = res.headers.get('retry-after');
    progress.push({ xProgress: res.headers.get('x-progress'), retryAfter });
    if (Date.now() > deadline) throw new Error(`export still running after ${opts.timeoutMs ?? 60_000} ms`);
    const wait = Math.min(Number(retryAfter ?? '1') * 1000, opts.maxWaitMs ?? 10_000);
    await new Promise((r) => setTimeout(r, wait));
  }
}

/** Every line of a file, parsed; gzip-encoded answers are decoded. */
export async function download(url: string, token: string, headers: Record<string, string> = {}): Promise<{ status: number; lines: Record<string, unknown>[]; headers: Headers; text: string }> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+ndjson', ...headers } });
  const buf = Buffer.from(await res.arrayBuffer());
  // fetch decodes Content-Encoding itself; a raw gzip body (when the caller asked not to decode) is decoded here.
  const text = buf[0] === 0x1f && buf[1] === 0x8b ? gunzipSync(buf).toString('utf8') : buf.toString('utf8');
  const lines = res.status === 200 || res.status === 206 ? text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
  return { status: res.status, lines, headers: res.headers, text };
}

/** Kick-off, poll, and every output line grouped by type. */
export async function exportAll(url: string, token: string): Promise<{ manifest: Manifest; byType: Map<string, Record<string, unknown>[]> }> {
  const res = await kickOff(url, token);
  if (res.status !== 202) throw new Error(`kick-off answered ${res.status}: ${await res.text()}`);
  const result = await poll(res.headers.get('content-location')!, token, { maxWaitMs: 200 });
  if (!result.manifest) throw new Error(`export ended with ${result.status}: ${JSON.stringify(result.body)}`);
  const byType = new Map<string, Record<string, unknown>[]>();
  for (const o of result.manifest.output) {
    const { lines } = await download(o.url, token);
    byType.set(o.type, [...(byType.get(o.type) ?? []), ...lines]);
  }
  return { manifest: result.manifest, byType };
}
