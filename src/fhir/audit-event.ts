// The audit trail as FHIR R4 AuditEvent: each row (a FHIR access or a security event, src/store/audit-log.ts) maps to
// one AuditEvent whose id is the row's id; the search parameters map to the trail's filters. Types and subtypes come
// from the value sets R4 binds (audit-event-type "rest" with restful-interaction subtypes for FHIR accesses, DICOM
// 110114 User Authentication and 110113 Security Alert with DICOM subtypes for security events), and every security
// event also carries its own code (SECURITY_EVENT_SYSTEM), the exact thing that happened.
import type { AuditEvent as FhirAuditEvent, AuditEventAgent, AuditEventEntity, Coding } from 'fhir/r4.js';
import { SECURITY_EVENT_CODES, type SecurityEventCode } from '../audit/security-log.js';
import type { AuditFilter, AuditRecord } from '../store/audit-log.js';
import type { AuditInteraction } from '../store/schema.js';
import { parseFhirDateRange } from './fhir-date.js';
import { badSearchParam, type Issue } from './outcome.js';
import { parseReference } from './references.js';

export const SECURITY_EVENT_SYSTEM = 'urn:smart-fhir-server:security-event';
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const EVENT_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
const RESTFUL = 'http://hl7.org/fhir/restful-interaction';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const SOURCE_TYPE = 'http://terminology.hl7.org/CodeSystem/security-source-type';
const NETWORK_TYPE_IP = '2';
/** Identifier systems for what is not a FHIR resource here: OAuth clients, portal accounts, grants */
export const CLIENT_ID_SYSTEM = 'urn:smart-fhir-server:client-id';
export const ACCOUNT_ID_SYSTEM = 'urn:smart-fhir-server:account-id';
export const GRANT_ID_SYSTEM = 'urn:smart-fhir-server:grant-id';

type Action = NonNullable<FhirAuditEvent['action']>;

const coding = (system: string, code: string, display: string): Coding => ({ system, code, display });
const REST = coding(EVENT_TYPE, 'rest', 'RESTful Operation');
const USER_AUTHENTICATION = coding(DCM, '110114', 'User Authentication');
const SECURITY_ALERT = coding(DCM, '110113', 'Security Alert');
const LOGIN = coding(DCM, '110122', 'Login');
const LOGOUT = coding(DCM, '110123', 'Logout');
const SECURITY_CONFIGURATION = coding(DCM, '110129', 'Security Configuration');
const OBJECT_SECURITY_CHANGED = coding(DCM, '110135', 'Object Security Attributes Changed');
const SECURITY_ROLES_CHANGED = coding(DCM, '110136', 'Security Roles Changed');
const USER_SECURITY_CHANGED = coding(DCM, '110137', 'User Security Attributes Changed');

interface Kind {
  readonly type: Coding;
  /** The R4 value-set subtype, if one fits; our own code is added for every security event */
  readonly subtype?: Coding;
  readonly action: Action;
  readonly display: string;
}

const SECURITY_KINDS: Readonly<Record<SecurityEventCode, Kind>> = {
  'user.login': { type: USER_AUTHENTICATION, subtype: LOGIN, action: 'E', display: 'Sign-in' },
  'user.logout': { type: USER_AUTHENTICATION, subtype: LOGOUT, action: 'E', display: 'Sign-out' },
  'account.signup': { type: SECURITY_ALERT, subtype: USER_SECURITY_CHANGED, action: 'C', display: 'Account created' },
  'account.password-reset-request': { type: SECURITY_ALERT, action: 'E', display: 'Password reset requested' },
  'account.password-reset': { type: SECURITY_ALERT, subtype: USER_SECURITY_CHANGED, action: 'U', display: 'Password reset' },
  'consent.given': { type: SECURITY_ALERT, subtype: OBJECT_SECURITY_CHANGED, action: 'C', display: 'Consent given' },
  'consent.denied': { type: SECURITY_ALERT, subtype: OBJECT_SECURITY_CHANGED, action: 'E', display: 'Consent denied' },
  'grant.narrowed': { type: SECURITY_ALERT, subtype: OBJECT_SECURITY_CHANGED, action: 'U', display: 'App access narrowed' },
  'grant.revoked': { type: SECURITY_ALERT, subtype: OBJECT_SECURITY_CHANGED, action: 'D', display: 'App access revoked' },
  'token.issued': { type: USER_AUTHENTICATION, action: 'C', display: 'Access token issued' },
  'token.refreshed': { type: USER_AUTHENTICATION, action: 'C', display: 'Access token refreshed' },
  'token.revoked': { type: USER_AUTHENTICATION, action: 'D', display: 'Token revoked' },
  'token.refused': { type: USER_AUTHENTICATION, action: 'E', display: 'Token request refused' },
  'proxy.created': { type: SECURITY_ALERT, subtype: SECURITY_ROLES_CHANGED, action: 'C', display: 'Proxy access granted' },
  'proxy.revoked': { type: SECURITY_ALERT, subtype: SECURITY_ROLES_CHANGED, action: 'D', display: 'Proxy access revoked' },
  'proxy.expired': { type: SECURITY_ALERT, subtype: SECURITY_ROLES_CHANGED, action: 'D', display: 'Proxy access ended' },
  'client.registered': { type: SECURITY_ALERT, subtype: SECURITY_CONFIGURATION, action: 'C', display: 'Client registered' },
  'client.updated': { type: SECURITY_ALERT, subtype: SECURITY_CONFIGURATION, action: 'U', display: 'Client updated' },
  'client.deleted': { type: SECURITY_ALERT, subtype: SECURITY_CONFIGURATION, action: 'D', display: 'Client deleted' },
  'keys.rotated': { type: SECURITY_ALERT, subtype: SECURITY_CONFIGURATION, action: 'U', display: 'Signing keys rotated' },
};

// FHIR R4 AuditEvent.action: R for reads, E for searches and operations (as the R4 AuditEvent page says of search).
const ACCESS_KINDS: Readonly<Record<AuditInteraction, Kind>> = {
  read: { type: REST, subtype: coding(RESTFUL, 'read', 'read'), action: 'R', display: 'read' },
  vread: { type: REST, subtype: coding(RESTFUL, 'vread', 'vread'), action: 'R', display: 'vread' },
  history: { type: REST, subtype: coding(RESTFUL, 'history-instance', 'history-instance'), action: 'R', display: 'history' },
  search: { type: REST, subtype: coding(RESTFUL, 'search-type', 'search-type'), action: 'E', display: 'search' },
  everything: { type: REST, subtype: coding(RESTFUL, 'operation', 'operation'), action: 'E', display: '$everything' },
  export: { type: REST, subtype: coding(RESTFUL, 'operation', 'operation'), action: 'E', display: '$export' },
  create: { type: REST, subtype: coding(RESTFUL, 'create', 'create'), action: 'C', display: 'create' },
  update: { type: REST, subtype: coding(RESTFUL, 'update', 'update'), action: 'U', display: 'update' },
  delete: { type: REST, subtype: coding(RESTFUL, 'delete', 'delete'), action: 'D', display: 'delete' },
};

const isSecurityCode = (s: string): s is SecurityEventCode => (SECURITY_EVENT_CODES as readonly string[]).includes(s);

function subtypesOf(event: string | null, kind: Kind): Coding[] {
  return [...(kind.subtype ? [kind.subtype] : []), ...(event ? [coding(SECURITY_EVENT_SYSTEM, event, kind.display)] : [])];
}

function kindOf(r: AuditRecord): Kind | undefined {
  if (r.event) return isSecurityCode(r.event) ? SECURITY_KINDS[r.event] : undefined;
  return r.interaction ? ACCESS_KINDS[r.interaction] : undefined;
}

const UNKNOWN_KIND: Kind = { type: SECURITY_ALERT, action: 'E', display: 'event' };

export interface AuditEventContext {
  /** Name of this server, as the observer that recorded every event */
  readonly observer: string;
}

/** One audit row as an R4 AuditEvent. */
export function auditEventResource(r: AuditRecord, ctx: AuditEventContext): FhirAuditEvent {
  const kind = kindOf(r) ?? UNKNOWN_KIND;
  const recorded = new Date(r.at).toISOString();
  const failure = r.event ? r.outcome === 'failure' : (r.status ?? 0) >= 400;
  const outcome: FhirAuditEvent['outcome'] = r.event ? (failure ? '4' : '0') : (r.status ?? 0) >= 500 ? '8' : failure ? '4' : '0';
  const detail = r.detail ?? {};
  const reason = typeof detail.reason === 'string' ? detail.reason : typeof detail.error === 'string' ? detail.error : undefined;
  const outcomeDesc = r.event ? (failure ? (reason ?? 'failed') : undefined) : `HTTP ${r.status}`;
  const network = typeof detail.network === 'string' ? { address: detail.network, type: NETWORK_TYPE_IP as '2' } : undefined;

  const agents: AuditEventAgent[] = [];
  const person = r.accountId || r.actor;
  if (person) {
    agents.push({
      type: { coding: [coding('http://terminology.hl7.org/CodeSystem/v3-ParticipationType', 'AUT', 'author (originator)')] },
      who: r.accountId ? { identifier: { system: ACCOUNT_ID_SYSTEM, value: r.accountId }, ...(r.actor ? { display: r.actor } : {}) } : { display: r.actor! },
      ...(r.actor ? { altId: r.actor } : {}),
      requestor: true,
      ...(network ? { network } : {}),
    });
  }
  if (r.clientId) {
    agents.push({
      type: { coding: [coding(DCM, '110150', 'Application')] },
      who: { identifier: { system: CLIENT_ID_SYSTEM, value: r.clientId }, display: r.clientId },
      requestor: !person,
      ...(!person && network ? { network } : {}),
    });
  }
  // Nobody asked (an expiry, a sweep): the server acted itself.
  if (!agents.length) agents.push({ type: { coding: [coding(DCM, '110150', 'Application')] }, who: { display: ctx.observer }, requestor: true, ...(network ? { network } : {}) });

  const entities: AuditEventEntity[] = [];
  if (r.patientId) {
    entities.push({ what: { reference: `Patient/${r.patientId}` }, type: coding(ENTITY_TYPE, '1', 'Person'), role: coding(OBJECT_ROLE, '1', 'Patient') });
  }
  if (r.resourceType && r.resourceId && !(r.resourceType === 'Patient' && r.resourceId === r.patientId)) {
    entities.push({ what: { reference: `${r.resourceType}/${r.resourceId}` }, type: coding(ENTITY_TYPE, '2', 'System Object'), role: coding(OBJECT_ROLE, '4', 'Domain Resource') });
  } else if (r.resourceType && !r.resourceId) {
    entities.push({ type: coding(ENTITY_TYPE, '2', 'System Object'), role: coding(OBJECT_ROLE, '24', 'Query'), description: `${r.resourceType} ${kind.display}` });
  }
  const details = Object.entries(detail)
    .filter(([k, v]) => k !== 'network' && v !== null)
    .map(([k, v]) => ({ type: k, valueString: String(v) }));
  if (r.grantId || details.length) {
    entities.push({
      ...(r.grantId ? { what: { identifier: { system: GRANT_ID_SYSTEM, value: r.grantId } } } : {}),
      type: coding(ENTITY_TYPE, '2', 'System Object'),
      role: coding(OBJECT_ROLE, '13', 'Security Resource'),
      ...(details.length ? { detail: details } : {}),
    });
  }

  return {
    resourceType: 'AuditEvent',
    id: String(r.id),
    meta: { lastUpdated: recorded },
    type: kind.type,
    subtype: subtypesOf(r.event, kind),
    action: kind.action,
    recorded,
    outcome,
    ...(outcomeDesc ? { outcomeDesc } : {}),
    agent: agents,
    source: { observer: { display: ctx.observer }, type: [coding(SOURCE_TYPE, '4', 'Application Server')] },
    ...(entities.length ? { entity: entities } : {}),
  };
}

/** The search parameters served (besides _id, _count and _cursor), for the CapabilityStatement and the parser. */
export const AUDIT_EVENT_SEARCH_PARAMS = ['date', 'patient', 'entity', 'agent', 'altid', 'type', 'subtype', 'action', 'outcome'] as const;

export interface AuditSearch {
  readonly filters: AuditFilter[];
  readonly count: number;
  readonly beforeId?: number;
  /** The filter parameters as understood, for the Bundle's links */
  readonly canonical: [string, string][];
  readonly warnings: Issue[];
}

const DEFAULT_COUNT = 50;
const MAX_COUNT = 1000;
const ALL_KINDS: readonly { readonly event: string | null; readonly interaction: AuditInteraction | null; readonly kind: Kind }[] = [
  ...SECURITY_EVENT_CODES.map((event) => ({ event, interaction: null, kind: SECURITY_KINDS[event] })),
  ...(Object.keys(ACCESS_KINDS) as AuditInteraction[]).map((interaction) => ({ event: null, interaction, kind: ACCESS_KINDS[interaction] })),
];

/** token search on codings: `code`, `system|code`, `|code` (no system) or `system|` */
function tokenMatches(value: string, codings: readonly Coding[]): boolean {
  const bar = value.indexOf('|');
  if (bar < 0) return codings.some((c) => c.code === value);
  const system = value.slice(0, bar);
  const code = value.slice(bar + 1);
  return codings.some((c) => (system ? c.system === system : !c.system) && (code === '' || c.code === code));
}

function kindsFilter(param: string, values: readonly string[]): AuditFilter {
  const matching = ALL_KINDS.filter(({ event, kind }) =>
    values.some((v) => {
      if (param === 'type') return tokenMatches(v, [kind.type]);
      if (param === 'subtype') return tokenMatches(v, subtypesOf(event, kind));
      return v === kind.action;
    }),
  );
  return {
    kind: 'kinds',
    events: matching.filter((k) => k.event).map((k) => k.event!),
    interactions: matching.filter((k) => k.interaction).map((k) => k.interaction!),
  };
}

/** The id of a reference to a Patient (`123`, `Patient/123` or the absolute URL). */
function patientId(value: string, fhirBaseUrl: string): string {
  if (/^[A-Za-z0-9\-.]{1,64}$/.test(value)) return value;
  const ref = parseReference(value, fhirBaseUrl);
  if (ref?.kind === 'local' && ref.type === 'Patient') return ref.id;
  throw badSearchParam('patient', `patient takes a Patient reference (123, Patient/123), not "${value}"`);
}

function dateRange(value: string): { lo: number; hi: number } {
  const m = /^(eq|ne|lt|le|gt|ge|sa|eb|ap)?(.*)$/.exec(value)!;
  const prefix = m[1] ?? 'eq';
  const r = parseFhirDateRange(m[2]!);
  if (!r) throw badSearchParam('date', `date "${value}" is not a FHIR date or dateTime (e.g. 2026-12-08, ge2026-12-08T10:00:00Z)`);
  const MIN = Number.MIN_SAFE_INTEGER;
  const MAX = Number.MAX_SAFE_INTEGER;
  switch (prefix) {
    case 'lt':
    case 'eb':
      return { lo: MIN, hi: r.lo - 1 };
    case 'le':
      return { lo: MIN, hi: r.hi };
    case 'gt':
    case 'sa':
      return { lo: r.hi + 1, hi: MAX };
    case 'ge':
      return { lo: r.lo, hi: MAX };
    case 'ne':
      throw badSearchParam('date', 'the ne prefix is not supported on AuditEvent date; use lt or gt');
    default:
      return r;
  }
}

/** Query parameters of an AuditEvent search → the trail's filters, paging and warnings about what was ignored. */
export function parseAuditSearch(pairs: readonly (readonly [string, string])[], opts: { fhirBaseUrl: string; strict: boolean }): AuditSearch {
  const filters: AuditFilter[] = [];
  const canonical: [string, string][] = [];
  const warnings: Issue[] = [];
  let count = DEFAULT_COUNT;
  let beforeId: number | undefined;
  for (const [name, raw] of pairs) {
    const values = raw.split(',').filter((v) => v !== '');
    if (name === '_count') {
      if (!/^\d+$/.test(raw)) throw badSearchParam('_count', `_count must be a whole number, not "${raw}"`);
      count = Math.max(1, Math.min(Number(raw), MAX_COUNT));
      continue;
    }
    if (name === '_cursor') {
      if (!/^\d+$/.test(raw)) throw badSearchParam('_cursor', 'The cursor is not valid; follow the Bundle links');
      beforeId = Number(raw);
      continue;
    }
    if (name === '_format' || name === '_pretty') continue;
    if (!values.length) throw badSearchParam(name, `${name} has no value`);
    switch (name) {
      case '_id':
        filters.push({ kind: 'id', ids: values.filter((v) => /^\d{1,15}$/.test(v)).map(Number) });
        break;
      case 'date':
      case '_lastUpdated':
        filters.push({ kind: 'at', ranges: values.map(dateRange) });
        break;
      case 'patient':
        filters.push({ kind: 'patient', patientIds: values.map((v) => patientId(v, opts.fhirBaseUrl)) });
        break;
      case 'entity':
        filters.push({
          kind: 'entity',
          refs: values.map((v) => {
            const ref = parseReference(v, opts.fhirBaseUrl);
            if (ref?.kind !== 'local') throw badSearchParam('entity', `entity takes a reference to a resource here (Observation/123, Patient/123), not "${v}"`);
            return { type: ref.type, id: ref.id };
          }),
        });
        break;
      case 'agent':
        // Apps and accounts are not FHIR resources here: agent takes a client_id or an account id as they appear
        // in agent.who.identifier (a reference's id part is accepted too).
        filters.push({ kind: 'agent', values: values.map((v) => v.slice(v.lastIndexOf('/') + 1)) });
        break;
      case 'altid':
        filters.push({ kind: 'actor', values });
        break;
      case 'type':
      case 'subtype':
      case 'action':
        filters.push(kindsFilter(name, values));
        break;
      case 'outcome':
        filters.push({ kind: 'outcome', outcomes: values.flatMap((v) => (v === '0' ? ['success' as const] : v === '4' ? ['failure' as const] : v === '8' ? ['error' as const] : [])) });
        break;
      default: {
        const text = `The search parameter ${name} is not supported on AuditEvent and was ignored (supported: _id, ${AUDIT_EVENT_SEARCH_PARAMS.join(', ')}, _count)`;
        if (opts.strict) throw badSearchParam(name, text);
        warnings.push({ severity: 'warning', code: 'not-supported', diagnostics: text, expression: [name] });
        continue;
      }
    }
    canonical.push([name, raw]);
  }
  return { filters, count, ...(beforeId !== undefined ? { beforeId } : {}), canonical, warnings };
}
