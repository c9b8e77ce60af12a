// Recording and ending proxy relations (operators), and the periodic sweep that revokes app grants made through a
// relation that has ended: an end date passed, a revocation, or the child turning 18. Whether a relation gives
// access, and to what, is asked of proxy-policy every time; nothing here caches that answer.
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { AccountStore } from '../store/accounts.js';
import { AppLinkStore } from '../store/app-links.js';
import { ProxyRelationStore, type ProxyRelation } from '../store/proxy-relations.js';
import { RevocationLog } from '../store/revocations.js';
import type { Database, ProxyRelationship } from '../store/schema.js';
import { systemClock, type Clock } from './clock.js';
import type { PatientRecords } from './patient-records.js';
import { proxyAccess, relationshipProblem, type ProxyAccess, type ProxyReason } from './proxy-policy.js';
import { cliActor, type SecurityRecorder } from '../audit/security-log.js';

export const RELATIONSHIPS: readonly ProxyRelationship[] = ['parent', 'guardian', 'legal-authorization'];

export const isRelationship = (s: string): s is ProxyRelationship => (RELATIONSHIPS as readonly string[]).includes(s);

/** A request an operator has to correct; the message says what is wrong in plain words. */
export class ProxyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProxyError';
  }
}

export interface GrantInput {
  readonly holderUsername: string;
  readonly patientId: string;
  readonly relationship: ProxyRelationship;
  /** ms; when access starts */
  readonly from: number;
  /** ms; when it ends by itself, if it does */
  readonly until?: number | null;
  readonly note?: string | null;
}

export interface HeldRelation {
  readonly relation: ProxyRelation;
  readonly patientName: string | undefined;
  readonly access: ProxyAccess;
}

export interface ExpiryReport {
  /** Relations found ended, with why; each appears once per sweep that still found live grants through it */
  readonly ended: readonly { readonly relationId: string; readonly reason: ProxyReason | 'relation-missing' }[];
  /** Grants revoked by this sweep */
  readonly revokedGrants: readonly string[];
  /** Grants whose revocation failed; they stay live in app_links, so the next sweep tries again */
  readonly failed: readonly { readonly grantId: string; readonly error: string }[];
}

export interface ProxyServiceDeps {
  readonly k: Kysely<Database>;
  readonly patients: PatientRecords;
  readonly now?: Clock;
  /** Where relations made, revoked and ended are recorded (the audit trail). Operators make and revoke them from the command line. */
  readonly security?: SecurityRecorder;
}

export class ProxyService {
  readonly #now: Clock;
  readonly #relations: ProxyRelationStore;
  readonly #accounts: AccountStore;
  readonly #links: AppLinkStore;
  readonly #revocations: RevocationLog;

  constructor(private readonly deps: ProxyServiceDeps) {
    this.#now = deps.now ?? systemClock;
    this.#relations = new ProxyRelationStore(deps.k);
    this.#accounts = new AccountStore(deps.k);
    this.#links = new AppLinkStore(deps.k);
    this.#revocations = new RevocationLog({ kysely: deps.k });
  }

  async grant(input: GrantInput): Promise<ProxyRelation> {
    if (!isRelationship(input.relationship)) throw new ProxyError(`relationship must be one of ${RELATIONSHIPS.join(', ')}`);
    if (!Number.isFinite(input.from)) throw new ProxyError('the start date is not a date');
    const until = input.until ?? null;
    if (until !== null && !(Number.isFinite(until) && until > input.from)) throw new ProxyError('the end date must come after the start date');
    const holder = await this.#accounts.findByUsername(input.holderUsername);
    if (!holder) throw new ProxyError(`there is no account "${input.holderUsername.trim().toLowerCase()}"`);
    const patient = await this.deps.patients.get(input.patientId);
    if (!patient) throw new ProxyError(`there is no Patient/${input.patientId}`);
    if (holder.patientId === patient.id) throw new ProxyError(`${holder.username} is this patient's own account`);
    const now = this.#now();
    const problem = relationshipProblem(input.relationship, patient.birthDate, now);
    if (problem) throw new ProxyError(problem);
    const current = (await this.#relations.listForHolder(holder.id)).filter((r) => r.patientId === patient.id && r.revokedAt === null && (r.endsAt === null || r.endsAt > now));
    if (current.length) throw new ProxyError(`${holder.username} already has a ${current[0]!.relationship} relation to ${patient.id} (${current[0]!.id}); revoke it first`);
    const relation = await this.#relations.insert({
      id: randomUUID(),
      holderAccountId: holder.id,
      patientId: patient.id,
      relationship: input.relationship,
      startsAt: input.from,
      endsAt: until,
      createdAt: now,
      note: input.note ?? null,
    });
    await this.deps.security?.record({
      event: 'proxy.created',
      actor: cliActor(),
      accountId: holder.id,
      patientId: patient.id,
      detail: { relationId: relation.id, holder: holder.username, relationship: relation.relationship, from: new Date(relation.startsAt).toISOString(), until: until === null ? null : new Date(until).toISOString() },
    });
    return relation;
  }

  /**
   * Ends the relation now; returns the live grants made through it, for the caller to revoke at once. Their tokens
   * stop at once wherever they are cached: every instance polls the revocation log, evicts the grants named there,
   * and looking them up again finds the relation ended. (The sweep removes the grants themselves later.)
   */
  async revoke(id: string): Promise<{ readonly revoked: boolean; readonly grantIds: readonly string[] }> {
    const revoked = await this.#relations.revoke(id, this.#now());
    const links = await this.#links.findByProxyRelation(id);
    const grantIds = links.filter((l) => l.revokedAt === null).map((l) => l.grantId);
    if (revoked) for (const grantId of grantIds) await this.#revocations.record({ grantId });
    if (revoked) {
      const relation = await this.#relations.find(id);
      await this.deps.security?.record({
        event: 'proxy.revoked',
        actor: cliActor(),
        accountId: relation?.holderAccountId ?? null,
        patientId: relation?.patientId ?? null,
        detail: { relationId: id, liveGrants: grantIds.length },
      });
    }
    return { revoked, grantIds };
  }

  async find(id: string): Promise<ProxyRelation | undefined> {
    return this.#relations.find(id);
  }

  /** Every relation the account holds, each with what it allows now. Unknown username: empty. */
  async listForHolder(holderUsername: string): Promise<HeldRelation[]> {
    const holder = await this.#accounts.findByUsername(holderUsername);
    if (!holder) return [];
    return this.listForHolderId(holder.id, this.#now());
  }

  async listForHolderId(accountId: string, now: number): Promise<HeldRelation[]> {
    const relations = await this.#relations.listForHolder(accountId);
    const patients = new Map((await this.deps.patients.getMany(relations.map((r) => r.patientId))).map((p) => [p.id, p]));
    return relations.map((relation) => {
      const p = patients.get(relation.patientId);
      return { relation, patientName: p?.name, access: proxyAccess(relation, p?.birthDate, now) };
    });
  }

  /**
   * Revokes every live app grant made through a relation that no longer gives access at `now`: `revokeGrant` ends
   * the grant in the authorization server, then the link is marked revoked. Safe to run on every instance at any
   * interval: a link is handled once, and a failed revocation is retried by the next sweep.
   */
  async expireDue(now: number, revokeGrant: (grantId: string) => Promise<void>): Promise<ExpiryReport> {
    const links = await this.#links.listLiveThroughProxies();
    if (!links.length) return { ended: [], revokedGrants: [], failed: [] };
    const relations = new Map((await this.#relations.findMany([...new Set(links.map((l) => l.proxyRelationId!))])).map((r) => [r.id, r]));
    const patients = new Map((await this.deps.patients.getMany([...new Set([...relations.values()].map((r) => r.patientId))])).map((p) => [p.id, p]));
    const ended = new Map<string, ProxyReason | 'relation-missing'>();
    const revokedGrants: string[] = [];
    const failed: { grantId: string; error: string }[] = [];
    for (const link of links) {
      const relation = relations.get(link.proxyRelationId!);
      const reason = relation ? proxyAccess(relation, patients.get(relation.patientId)?.birthDate, now) : undefined;
      if (reason?.active) continue;
      ended.set(link.proxyRelationId!, reason?.reason ?? 'relation-missing');
      try {
        await revokeGrant(link.grantId);
        await this.#links.revoke(link.grantId, now);
        revokedGrants.push(link.grantId);
      } catch (err) {
        failed.push({ grantId: link.grantId, error: err instanceof Error ? err.message : String(err) });
      }
    }
    // A revocation was recorded when the operator made it; an end date or an 18th birthday is recorded here, once:
    // the grants it ended are revoked now, so the next sweep finds none through the relation.
    for (const [relationId, reason] of ended) {
      if (reason === 'revoked') continue;
      const relation = relations.get(relationId);
      const through = links.filter((l) => l.proxyRelationId === relationId).map((l) => l.grantId);
      await this.deps.security?.record({
        event: 'proxy.expired',
        accountId: relation?.holderAccountId ?? null,
        patientId: relation?.patientId ?? null,
        detail: { relationId, reason, grantsRevoked: through.filter((g) => revokedGrants.includes(g)).length },
      });
    }
    return { ended: [...ended].map(([relationId, reason]) => ({ relationId, reason })), revokedGrants, failed };
  }
}
