// Requests that fetch and node:http refuse to send (invalid UTF-8 in the request line, overlong URLs and headers,
// broken framing, bodies that trickle in), written byte for byte on a socket of their own, with the answer parsed
// back. A connection the server closes without an answer is reported as such, never as a hang.
import { connect } from 'node:net';

export interface RawReply {
  /** 0 when the server closed the connection without a status line */
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** The socket was still open, with no complete answer, when `timeoutMs` ran out */
  readonly timedOut: boolean;
  readonly ms: number;
}

export interface RawOptions {
  readonly timeoutMs?: number;
  /** Sent after the head, a chunk at a time with a pause before each (a slow client) */
  readonly trickle?: { readonly chunks: readonly Buffer[]; readonly delayMs: number };
}

export function rawRequest(port: number, head: Buffer, opts: RawOptions = {}): Promise<RawReply> {
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    let settled = false;
    const finish = (timedOut: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...parseReply(Buffer.concat(received)), timedOut, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(true), opts.timeoutMs ?? 30_000);
    socket.on('data', (d: Buffer) => {
      received.push(d);
      if (complete(Buffer.concat(received))) finish(false);
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
    socket.on('connect', async () => {
      socket.write(head);
      for (const chunk of opts.trickle?.chunks ?? []) {
        await new Promise((r) => setTimeout(r, opts.trickle!.delayMs));
        if (settled || socket.destroyed) return;
        socket.write(chunk);
      }
    });
  });
}

function headEnd(buf: Buffer): number {
  return buf.indexOf('\r\n\r\n');
}

/** A full answer: the head, and as many body bytes as Content-Length says (chunked answers end with 0\r\n\r\n). */
function complete(buf: Buffer): boolean {
  const end = headEnd(buf);
  if (end < 0) return false;
  const { headers } = parseHead(buf.subarray(0, end).toString('latin1'));
  const body = buf.subarray(end + 4);
  if (headers['content-length'] !== undefined) return body.length >= Number(headers['content-length']);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) return body.includes('0\r\n\r\n');
  return false;
}

function parseHead(text: string): { status: number; headers: Record<string, string> } {
  const [statusLine = '', ...lines] = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status: m ? Number(m[1]) : 0, headers };
}

function parseReply(buf: Buffer): Omit<RawReply, 'timedOut' | 'ms'> {
  const end = headEnd(buf);
  if (end < 0) return { status: 0, headers: {}, body: Buffer.alloc(0) };
  const { status, headers } = parseHead(buf.subarray(0, end).toString('latin1'));
  let body = buf.subarray(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body);
  return { status, headers, body };
}

function dechunk(buf: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = parseInt(buf.subarray(at, eol).toString('latin1'), 16);
    if (!size) break;
    out.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}
