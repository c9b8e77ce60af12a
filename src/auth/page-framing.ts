// oidc-provider renders a few HTML pages of its own (the sign-out confirmation and its success page, the form_post
// response): none may be framed by another site, or a hidden frame could make someone press "Yes, sign me out"
// (clickjacking). Only the framing rule is added: a page's own policy (form_post's script hash) stays as it is.
import type { KoaContextWithOIDC } from 'oidc-provider';

const NO_FRAMING = "frame-ancestors 'none'";

/** Provider middleware: every HTML response forbids framing (CSP frame-ancestors and X-Frame-Options). */
export async function denyFraming(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
  await next();
  if (!ctx.response.is('html')) return;
  ctx.set('x-frame-options', 'DENY');
  const csp = ctx.response.get('content-security-policy');
  if (!csp) ctx.set('content-security-policy', NO_FRAMING);
  else if (!/(^|;)\s*frame-ancestors\s/.test(csp)) ctx.set('content-security-policy', `${csp}; ${NO_FRAMING}`);
}
