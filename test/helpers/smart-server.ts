// The full server (FHIR API + authorization server) listening on a real loopback port, with a few patients, for
// OAuth tests driven by openid-client over HTTP.
import { createServer } from 'node:net';
import type { Test } from 'tap';
import * as oidc from 'openid-client';
import { buildApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { openDb } from '../../src/store/db.js';
import { createTestDatabase, exportDir, type TestDatabase } from './database.js';
import { authorizeInBrowser, type FlowChoices } from './browser-flow.js';
import { TEST_SERVER_ENV } from './test-env.js';

export interface SmartServer extends App {
  readonly base: string;
  readonly fhirBase: string;
  readonly issuer: string;
  readonly config: Config;
  readonly database: TestDatabase;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface SmartServerOptions {
  readonly env?: Record<string, string>;
  /** Share a database with other instances; each instance opens its own connection to it */
  readonly database?: TestDatabase;
  readonly port?: number;
  /** The public URL, when instances stand behind one address */
  readonly publicUrl?: string;
  readonly seed?: boolean;
  /** The portal's clock, for tests of expiry (codes, sessions, lockouts, proxy end dates) */
  readonly clock?: () => number;
}

export async function startSmartServer(t: Test, opts: SmartServerOptions = {}): Promise<SmartServer & { stop(): Promise<void> }> {
  const database = opts.database ?? (await createTestDatabase());
  const port = opts.port ?? (await freePort());
  const base = opts.publicUrl ?? `http://127.0.0.1:${port}`;
  const exports = exportDir();
  const config = { ...loadConfig({ ...TEST_SERVER_ENV, PORT: String(port), PUBLIC_URL: base, SEED_DIR: '', REVOCATION_POLL_MS: '100', EXPORT_DIR: exports.path, ...opts.env }), database: database.target };
  // A shared database gets a connection of this instance's own, as a separate process would have.
  const db = opts.database ? openDb(database.target) : database.db;
  const app = await buildApp({ config, db, logger: false, ...(opts.clock ? { clock: opts.clock } : {}) });
  if (opts.seed !== false) await seedFamily(app);
  await app.server.listen({ port, host: '127.0.0.1' });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await app.server.close();
    if (opts.database) await db.close();
    else await database.close();
    exports.remove();
    // Let clients see the closed keep-alive sockets before anything reconnects to this port.
    await new Promise((r) => setTimeout(r, 100));
  };
  t.teardown(stop);
  return { ...app, base, fhirBase: `${base}/fhir`, issuer: `${base}/auth`, config, database, stop };
}

export const LAB = 'http://terminology.hl7.org/CodeSystem/observation-category|laboratory';

/**
 * Maria (parent), Sofia (her child, 8), Mateo (her son, 15) and Daniel, each with a lab, a vital sign and an allergy;
 * then the sandbox demo accounts that sign in as them.
 */
export async function seedFamily(app: App): Promise<void> {
  for (const [id, family, given, birthDate] of [
    ['maria-garcia', 'Garcia', 'Maria', '1985-03-14'],
    ['sofia-garcia', 'Garcia', 'Sofia', '2018-06-22'],
    ['mateo-garcia', 'Garcia', 'Mateo', '2011-04-09'],
    ['daniel-kim', 'Kim', 'Daniel', '1999-08-03'],
  ] as const) {
    await app.fhir.update('Patient', id, { resourceType: 'Patient', id, name: [{ family, given: [given] }], gender: 'female', birthDate });
    for (const cat of ['laboratory', 'vital-signs']) {
      await app.fhir.update('Observation', `${id}-${cat}`, {
        resourceType: 'Observation',
        id: `${id}-${cat}`,
        status: 'final',
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: cat }] }],
        code: { coding: [{ system: 'http://loinc.org', code: cat === 'laboratory' ? '718-7' : '8867-4' }] },
        subject: { reference: `Patient/${id}` },
        effectiveDateTime: '2025-01-02T10:00:00Z',
      });
    }
    await app.fhir.update('AllergyIntolerance', `${id}-allergy`, { resourceType: 'AllergyIntolerance', id: `${id}-allergy`, patient: { reference: `Patient/${id}` } });
  }
  if (app.portal) await app.portal.seedDemo();
}

export interface RegisteredClient {
  readonly client_id: string;
  readonly client_secret?: string;
  readonly [k: string]: unknown;
}

export async function registerClient(server: SmartServer, metadata: Record<string, unknown>): Promise<RegisteredClient> {
  const res = await fetch(`${server.issuer}/reg`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(metadata) });
  const body = (await res.json()) as RegisteredClient;
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

export async function oidcConfig(server: SmartServer, clientId: string, auth: oidc.ClientAuth = oidc.None(), metadata: Partial<oidc.ClientMetadata> = {}): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(server.issuer), clientId, metadata, auth, { execute: [oidc.allowInsecureRequests] });
}

export const REDIRECT = 'http://127.0.0.1:9/callback';

export interface Launch {
  readonly tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
  readonly offeredGroups: string[];
  readonly verifier: string;
}

/** A complete authorization-code flow with PKCE through the sign-in, patient and consent pages. */
export async function authorize(
  server: SmartServer,
  config: oidc.Configuration,
  params: Record<string, string>,
  choices: FlowChoices = { username: 'maria', password: 'smart-demo' },
): Promise<Launch> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    aud: server.fhirBase,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...params,
  });
  const flow = await authorizeInBrowser(url.toString(), REDIRECT, choices);
  const tokens = await oidc.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: verifier, expectedState: state });
  return { tokens, offeredGroups: flow.offeredGroups, verifier };
}

export async function fhirGet(server: SmartServer, path: string, token?: string): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${server.fhirBase}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}
