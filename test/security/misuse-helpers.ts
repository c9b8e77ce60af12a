// Shared by the misuse tests: raw HTTP at the OAuth endpoints (so each refusal's exact status and error code can be
// asserted), an authorization flow stopped at any step, portal sign-in, and the server's route table.
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { CookieJar, authorizeInBrowser, type FlowChoices } from '../helpers/browser-flow.js';
import { REDIRECT, type SmartServer } from '../helpers/smart-server.js';

export const FORM = { 'content-type': 'application/x-www-form-urlencoded' } as const;
export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const MARIA = { username: 'maria', password: 'smart-demo', patient: 'maria-garcia' } as const;
export const DANIEL = { username: 'daniel', password: 'smart-demo' } as const;

export interface JsonAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Headers;
}

export async function postForm(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<JsonAnswer> {
  const res = await fetch(url, { method: 'POST', headers: { ...FORM, ...headers }, body: new URLSearchParams(form) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
}

export const tokenRequest = (server: SmartServer, form: Record<string, string>, headers: Record<string, string> = {}) => postForm(`${server.issuer}/token`, form, headers);

/** RFC 7662 introspection, authenticated as the (public) client that owns the token. */
export async function introspect(server: SmartServer, clientId: string, token: string): Promise<Record<string, unknown>> {
  return (await postForm(`${server.issuer}/token/introspection`, { token, client_id: clientId })).body;
}

export async function fhirStatus(server: SmartServer, token: string, path = '/Observation'): Promise<number> {
  const res = await fetch(`${server.fhirBase}${path}`, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res.status;
}

export const pkcePair = () => {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

/** An authorization request URL as a SMART app builds it; `params` override or (with undefined) drop any part. */
export function authorizeUrl(server: SmartServer, clientId: string, params: Record<string, string | undefined> = {}) {
  const { verifier, challenge } = pkcePair();
  const state = randomBytes(12).toString('base64url');
  const all: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT,
    scope: 'launch/patient patient/*.rs offline_access',
    aud: server.fhirBase,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...params,
  };
  const q = new URLSearchParams(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined));
  return { url: `${server.issuer}/auth?${q}`, verifier, state };
}

/** Signs in and consents as a browser would; returns the code (or error) the app receives, with what it needs to redeem. */
export async function obtainCode(server: SmartServer, clientId: string, params: Record<string, string | undefined> = {}, choices: FlowChoices = DANIEL, jar = new CookieJar()) {
  const request = authorizeUrl(server, clientId, params);
  const flow = await authorizeInBrowser(request.url, params.redirect_uri ?? REDIRECT, choices, jar);
  return { ...request, callback: flow.callback, code: flow.callback.searchParams.get('code') ?? '', jar };
}

/** The code exchange a public client makes. */
export const redeem = (server: SmartServer, clientId: string, code: string, verifier: string, extra: Record<string, string> = {}) =>
  tokenRequest(server, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT, client_id: clientId, ...extra });

/** A browser's GET that follows redirects by hand, keeping cookies; stops at the first page or at `stopAt`. */
export async function browse(url: string, jar: CookieJar, stopAt?: (url: string) => boolean): Promise<{ url: string; res: Response; html: string; hops: Response[] }> {
  const hops: Response[] = [];
  for (let i = 0; i < 20; i++) {
    if (stopAt?.(url)) return { url, res: hops.at(-1)!, html: '', hops };
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } });
    jar.store(res);
    hops.push(res);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.arrayBuffer();
      url = new URL(location, url).toString();
      continue;
    }
    return { url, res, html: await res.text(), hops };
  }
  throw new Error('too many redirects');
}

export async function postPage(url: string, jar: CookieJar, form: Record<string, string | readonly string[]>): Promise<Response> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) for (const x of [v].flat()) body.append(k, x);
  const res = await fetch(url, { method: 'POST', redirect: 'manual', headers: { ...FORM, cookie: jar.header() }, body });
  jar.store(res);
  return res;
}

export const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
export const formActionOf = (html: string) => /<form class="form" method="post" action="([^"]+)"/.exec(html)?.[1]?.replace(/&amp;/g, '&');

/** Signs in on the portal's own sign-in page; returns that browser's cookie jar. */
export async function portalSignIn(server: SmartServer, username: string, password = 'smart-demo', jar = new CookieJar()): Promise<CookieJar> {
  const page = await browse(`${server.base}/portal/login`, jar);
  const res = await postPage(`${server.base}/portal/login?next=/portal/apps`, jar, { _csrf: csrfOf(page.html)!, username, password });
  if (res.status !== 303) throw new Error(`portal sign-in failed: ${res.status}`);
  return jar;
}

/** Cookie value by name, from a jar's header (the jar keeps no other API). */
export const cookieValue = (jar: CookieJar, name: string) => new Map(jar.header().split('; ').filter(Boolean).map((c) => [c.slice(0, c.indexOf('=')), c.slice(c.indexOf('=') + 1)])).get(name);

export interface RouteEntry {
  readonly path: string;
  readonly methods: readonly string[];
}

/**
 * Every route Fastify has, from its own route table (printRoutes' tree, flattened). Tests sweep it so that a page or
 * form added later is covered without anyone remembering to add it to a list.
 */
export function routeTable(server: FastifyInstance): RouteEntry[] {
  const out: RouteEntry[] = [];
  const stack: string[] = [];
  for (const line of server.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([\s│]*)(?:├── |└── )?(\S.*?) \(([A-Z, ]+)\)\s*$/.exec(line);
    if (!m) continue;
    const depth = Math.floor(m[1]!.replace(/│/g, ' ').length / 4);
    stack.length = depth;
    stack[depth] = m[2]!;
    out.push({ path: stack.join('').replace(/^\/\//, '/'), methods: m[3]!.split(', ') });
  }
  return out;
}
