// Security events: what happened to accounts, consents, grants, tokens, proxy relations, clients and keys, written
// to the same hash-chained audit trail as the FHIR accesses (src/store/audit-log.ts) and read back as FHIR AuditEvent
// (src/fhir/audit-event.ts). Nothing secret is recorded: no password, token, code, secret or assertion; usernames
// are (they are how people and operators name accounts), and a client's network only as its /24 (IPv4) or /48 (IPv6),
// enough to see where an attack comes from without keeping the address of a person's device.
import { isIPv4, isIPv6 } from 'node:net';
import { userInfo } from 'node:os';
import type { SecurityDetail, SecurityEvent } from '../store/audit-log.js';

export const SECURITY_EVENT_CODES = [
  /** A sign-in to the portal or in an app's authorization; failure: wrong password, locked, unknown user */
  'user.login',
  'user.logout',
  /** A portal account created (activation code or self sign-up); failure: the attempt was refused */
  'account.signup',
  /** "Forgot password": a reset code was asked for (sent only when an account matched) */
  'account.password-reset-request',
  /** A password changed with a reset code; failure: a wrong, used or expired code */
  'account.password-reset',
  'consent.given',
  'consent.denied',
  /** The patient unticked kinds of data of a connected app */
  'grant.narrowed',
  /** A grant and all its tokens ended (by the patient, an expiry, a deleted client, the revocation endpoint, ...) */
  'grant.revoked',
  /** An access token issued (authorization code exchange or client_credentials) */
  'token.issued',
  'token.refreshed',
  /** A token revoked at the revocation endpoint */
  'token.revoked',
  /** A token request refused (bad client authentication, an invalid or replayed code, ...) */
  'token.refused',
  'proxy.created',
  'proxy.revoked',
  /** Access through a proxy relation ended by itself (end date, the child's 18th birthday) and its grants were revoked */
  'proxy.expired',
  'client.registered',
  'client.updated',
  'client.deleted',
  'keys.rotated',
] as const;

export type SecurityEventCode = (typeof SECURITY_EVENT_CODES)[number];

/** What a caller records: the stored event without its time (the recorder stamps it), with a known code, and an
 *  outcome that defaults to success. Who acted (`actor`) is a username, `cli:<os user>` for the operator tools, or
 *  absent when the server itself acted. */
export interface SecurityEventInput extends Omit<SecurityEvent, 'at' | 'event' | 'outcome'> {
  readonly event: SecurityEventCode;
  readonly outcome?: SecurityEvent['outcome'];
}

export interface SecurityRecorder {
  /** Resolves once the event is in the trail; rejects if it could not be written. */
  record(e: SecurityEventInput): Promise<void>;
}

interface Queued {
  readonly entry: SecurityEvent;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Appends security events to the audit chain. Events of one event-loop turn are written together (one chain append
 * of many rows), and each caller's promise resolves once its event is written: a route answers after its event is
 * durable, and a burst of token requests costs one append, not one each.
 */
export class SecurityLog implements SecurityRecorder {
  #queue: Queued[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  readonly #observers: ((e: SecurityEvent) => void)[] = [];

  constructor(private readonly store: { record(entries: readonly SecurityEvent[]): Promise<void> }) {}

  /** Called with every event as it is recorded (the server logs them: logging.ts's logSecurityEvent; metrics count consents). */
  observe(observer: (e: SecurityEvent) => void): void {
    this.#observers.push(observer);
  }

  /** Events recorded and not yet handed to the store (the metrics' audit queue depth) */
  get queued(): number {
    return this.#queue.length;
  }

  record(e: SecurityEventInput): Promise<void> {
    const entry: SecurityEvent = {
      at: Date.now(),
      event: e.event,
      outcome: e.outcome ?? 'success',
      ...(e.actor ? { actor: e.actor } : {}),
      ...(e.clientId ? { clientId: e.clientId } : {}),
      ...(e.grantId ? { grantId: e.grantId } : {}),
      ...(e.accountId ? { accountId: e.accountId } : {}),
      ...(e.patientId ? { patientId: e.patientId } : {}),
      ...(e.detail ? { detail: withoutUndefined(e.detail) } : {}),
    };
    for (const observe of this.#observers) observe(entry);
    return new Promise<void>((resolve, reject) => {
      if (!this.#queue.length) setImmediate(() => this.#flush());
      this.#queue.push({ entry, resolve, reject });
    });
  }

  #flush(): void {
    const batch = this.#queue;
    this.#queue = [];
    if (!batch.length) return;
    const done = this.store.record(batch.map((q) => q.entry)).then(
      () => batch.forEach((q) => q.resolve()),
      (err: unknown) => batch.forEach((q) => q.reject(err)),
    );
    this.#inFlight.add(done);
    void done.finally(() => this.#inFlight.delete(done));
  }

  /** Writes what is queued and waits for every write under way. */
  async close(): Promise<void> {
    this.#flush();
    await Promise.all(this.#inFlight);
  }
}

function withoutUndefined(detail: SecurityDetail): SecurityDetail {
  return Object.fromEntries(Object.entries(detail).filter(([, v]) => v !== undefined));
}

/** The network an address belongs to, coarsened: IPv4 /24, IPv6 /48 (an IPv4-mapped IPv6 address as IPv4). */
export function networkOf(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const v4 = address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
  if (isIPv4(v4)) return `${v4.split('.').slice(0, 3).join('.')}.0/24`;
  if (!isIPv6(address)) return undefined;
  const [head = '', tail = ''] = address.split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 3)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/48`;
}

/** The actor for an operator's command-line tool: `cli:` and the OS user running it. */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}
