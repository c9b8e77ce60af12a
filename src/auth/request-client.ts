// Which client a request to the token, introspection or revocation endpoint says it comes from, before oidc-provider
// has read it: HTTP Basic (RFC 6749 §2.3.1), else the form's client_id, else the `sub` of a client_assertion
// (RFC 7523: iss and sub are the client_id). Nothing here is verified; the name only picks a rate-limit counter.
import type { IncomingMessage } from 'node:http';

/** oidc-provider's own limit on these bodies: a longer one is refused by it, and not read here. */
const MAX_BODY = 56 * 1024;
/** A client_id longer than this is not a client of ours; it is counted under its prefix. */
const MAX_CLIENT_ID = 200;

export async function claimedClientId(req: IncomingMessage): Promise<string | undefined> {
  const basic = /^basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (basic) {
    const user = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':')[0] ?? '';
    return clip(formDecode(user));
  }
  if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) return undefined;
  const body = await peekBody(req, MAX_BODY);
  if (!body) return undefined;
  const form = new URLSearchParams(body.toString('utf8'));
  const named = form.get('client_id');
  if (named) return clip(named);
  const assertion = form.get('client_assertion');
  return assertion ? clip(assertionSubject(assertion)) : undefined;
}

const clip = (id: string | undefined): string | undefined => (id ? id.slice(0, MAX_CLIENT_ID) : undefined);

function formDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

function assertionSubject(jwt: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: unknown; iss?: unknown };
    const id = typeof payload.sub === 'string' ? payload.sub : payload.iss;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads the whole body and puts it back (Readable#unshift, meant for this: a reader that looked ahead hands the data
 * on), so oidc-provider then reads the request as it came. The unshift happens in the same turn as the last read,
 * before the stream could emit 'end', which Node holds back while data is buffered. Undefined when the body is larger
 * than `limit` (whatever was read is put back too) or the request broke off.
 */
export function peekBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
  if (declared === 0 || !req.readable || req.readableEnded) return Promise.resolve(declared === 0 ? Buffer.alloc(0) : undefined);
  if (declared !== undefined && !(declared <= limit)) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (whole: boolean) => {
      if (done) return;
      done = true;
      req.off('readable', onReadable);
      req.off('error', onBroken);
      req.off('aborted', onBroken);
      req.off('close', onBroken);
      const body = Buffer.concat(chunks, size);
      if (size > 0) req.unshift(body);
      resolve(whole ? body : undefined);
    };
    const onBroken = () => finish(false);
    const onReadable = () => {
      let chunk: Buffer | null;
      while ((chunk = req.read() as Buffer | null) !== null) {
        chunks.push(chunk);
        size += chunk.length;
        if (size > limit) return finish(false);
      }
      if ((declared !== undefined && size >= declared) || req.complete) finish(true);
    };
    req.on('error', onBroken);
    req.on('aborted', onBroken);
    req.on('close', onBroken);
    req.on('readable', onReadable);
  });
}
