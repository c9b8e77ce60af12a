// Server-side sessions: the browser holds only a random id in an HttpOnly cookie; the tokens stay on the server, out
// of reach of any script in the page. This store is an in-memory Map, fine for an example and a single process: a
// restart forgets everyone (they connect again). A real app keeps sessions in a database or an encrypted store.
import { randomBytes } from 'node:crypto';

/** The token response, as the OAuth library keeps it (expires_at computed from expires_in). */
export interface TokenSet {
  readonly access_token: string;
  readonly token_type: string;
  readonly refresh_token?: string;
  readonly expires_at?: Date;
  readonly scope?: string;
  readonly [extra: string]: unknown;
}

export interface SmartSession {
  readonly id: string;
  tokens: TokenSet;
  /** The patient whose record the token opens (`patient` in the token response) */
  readonly patient: string;
  /** `encounter` in the token response (EHR launch from a visit) */
  readonly encounter?: string;
  /** `need_patient_banner`: false when the EHR around the app already shows who the patient is */
  readonly needPatientBanner: boolean;
  /** One refresh at a time per session: refresh tokens rotate, and a second refresh with the old one would fail */
  refreshing?: Promise<TokenSet>;
  lastSeen: number;
}

export type NewSession = Omit<SmartSession, 'id' | 'lastSeen' | 'refreshing'>;

export class SessionStore {
  readonly #sessions = new Map<string, SmartSession>();

  constructor(
    private readonly idleMs: number,
    private readonly maxSessions = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  create(data: NewSession): SmartSession {
    // Oldest first in a Map: past the cap, forget the least recently created.
    while (this.#sessions.size >= this.maxSessions) this.#sessions.delete(this.#sessions.keys().next().value!);
    const session: SmartSession = { ...data, id: randomBytes(32).toString('base64url'), lastSeen: this.now() };
    this.#sessions.set(session.id, session);
    return session;
  }

  get(id: string | undefined): SmartSession | undefined {
    if (!id) return undefined;
    const session = this.#sessions.get(id);
    if (!session) return undefined;
    if (this.now() - session.lastSeen > this.idleMs) {
      this.#sessions.delete(id);
      return undefined;
    }
    session.lastSeen = this.now();
    return session;
  }

  delete(id: string): void {
    this.#sessions.delete(id);
  }
}
