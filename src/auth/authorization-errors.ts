// What an app is told when its authorization request is wrong, worded so its developer knows what to change: the
// launch parameter's problems, and oidc-provider's PKCE refusals (rewritten on their way back to the app, since the
// library words them for its own tests: "Authorization Server policy requires PKCE to be used for this request").
import type { KoaContextWithOIDC } from 'oidc-provider';

/** A value from the request inside an error_description: only the characters RFC 6749 §5.2 allows, clipped. */
export function quoted(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  const clipped = text.length > 80 ? `${text.slice(0, 77)}...` : text;
  return `'${clipped.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '?')}'`;
}

const PKCE_FIX = 'send code_challenge=BASE64URL(SHA256(code_verifier)) and code_challenge_method=S256, then the code_verifier with the code at the token endpoint';

// oidc-provider's own descriptions (lib/actions/authorization/sender_constraints.js) → ours.
const PKCE_MESSAGES: Readonly<Record<string, (params: Readonly<Record<string, unknown>>) => string>> = {
  'Authorization Server policy requires PKCE to be used for this request': () =>
    `code_challenge is missing: this server requires PKCE with S256 for every app, public or confidential - ${PKCE_FIX}`,
  'not supported value of code_challenge_method': (p) =>
    `code_challenge_method ${quoted(p.code_challenge_method)} is not supported: only S256 is accepted (plain is not allowed) - ${PKCE_FIX}`,
  'code_challenge_method must be provided': () => `code_challenge_method is missing: PKCE here is S256 only (no plain default) - add code_challenge_method=S256`,
  'code_challenge must be provided with code_challenge_method': () => `code_challenge is missing although code_challenge_method was sent - ${PKCE_FIX}`,
};

/** Our wording for one of oidc-provider's authorization error descriptions, or the description unchanged. */
export function explainAuthorizationError(description: string | undefined, params: Readonly<Record<string, unknown>>): string | undefined {
  if (description === undefined) return undefined;
  return PKCE_MESSAGES[description]?.(params) ?? description;
}

/**
 * Provider middleware: an error the authorization endpoint sends back to the app's redirect URI carries our wording.
 * Only the query response mode (the one SMART apps use) is rewritten; the page oidc-provider renders itself when it
 * cannot redirect gets the same wording from the error page.
 */
export async function explainAuthorizationRedirects(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
  await next();
  if (ctx.oidc?.route !== 'authorization' || ctx.status !== 303) return;
  const url = URL.parse(ctx.response.get('location'));
  const description = url?.searchParams.get('error_description');
  if (!url || !description) return;
  const better = explainAuthorizationError(description, (ctx.oidc.params ?? {}) as Record<string, unknown>);
  if (better === description) return;
  url.searchParams.set('error_description', better!);
  ctx.redirect(url.href);
}

/** The `launch` scope asks for an EHR's context: without a launch value (and without launch/patient) there is none to give. */
export function missingLaunchProblem(scope: string | undefined): string | undefined {
  const scopes = new Set((scope ?? '').split(' '));
  if (!scopes.has('launch') || scopes.has('launch/patient')) return undefined;
  return "launch is missing: the scope 'launch' asks for the EHR's launch context - pass on the launch value your launch URL received (with iss), or for a standalone launch ask for launch/patient instead of launch";
}

export interface LaunchRecord {
  readonly clientId: string | null;
  /** ms since epoch */
  readonly expiresAt: number;
  readonly usedAt: number | null;
}

/** Why a launch value cannot be used by this client now, or undefined when it can. */
export function launchProblem(launch: LaunchRecord | undefined, clientId: string, now: number): string | undefined {
  const again = 'start a new launch from the EHR (in the sandbox: POST /sandbox/launch or the launch simulator) and pass its launch value on unchanged';
  if (!launch) return `launch is not a launch this server issued - pass on the launch value your launch URL received, unchanged, or ${again}`;
  if (launch.clientId && launch.clientId !== clientId) return `launch was issued for another app - ${again} for this client_id`;
  if (launch.usedAt !== null) return `launch was already used: a launch value is good for one authorization - ${again}`;
  if (launch.expiresAt < now) return `launch has expired (a launch value is good for a few minutes) - ${again}`;
  return undefined;
}
