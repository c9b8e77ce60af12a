// The only column list: one row type per table. Migrations are written against Kysely<any>, this is what code reads.
import type { Generated } from 'kysely';

/** Current version of every resource, one row per (type, id); `rid` is the stable surrogate key index rows use. */
export interface ResourceTable {
  rid: Generated<number>;
  type: string;
  id: string;
  version_id: number;
  /** ms since epoch; also in content.meta.lastUpdated as ISO text */
  last_updated: number;
  /** 0 or 1; a deleted resource keeps its row (read gives 410) but has no content and no index rows */
  deleted: number;
  /** Patient compartment owner, for patient-scoped search and access checks */
  patient_id: string | null;
  /** Lower bound (ms) of the type's main clinical date, for _sort=date; DATE_MIN when absent */
  sort_date: number;
  content: string | null;
}

export interface ResourceVersionTable {
  rid: number;
  version_id: number;
  type: string;
  id: string;
  last_updated: number;
  deleted: number;
  /** null for a delete */
  content: string | null;
}

export interface TokenIndexTable {
  rid: number;
  param: string;
  /** '' when the coding has no system */
  system: string;
  code: string;
}

export interface StringIndexTable {
  rid: number;
  param: string;
  /** lower-cased, accents removed, whitespace folded: the form prefix search compares */
  value: string;
}

export interface DateIndexTable {
  rid: number;
  param: string;
  /** inclusive bounds in ms since epoch; open ends use DATE_MIN / DATE_MAX */
  lo: number;
  hi: number;
}

export interface ReferenceIndexTable {
  rid: number;
  param: string;
  target_type: string;
  target_id: string;
}

export interface OidcModelTable {
  model: string;
  id: string;
  payload: string;
  grant_id: string | null;
  uid: string | null;
  user_code: string | null;
  account_id: string | null;
  client_id: string | null;
  /** seconds since epoch */
  expires_at: number | null;
  consumed_at: number | null;
}

export interface SmartContextTable {
  grant_id: string;
  patient: string | null;
  encounter: string | null;
  fhir_user: string | null;
  /** JSON: the rest of the launch context (need_patient_banner, smart_style_url, fhirContext, ...) */
  context: string;
  created_at: number;
}

export interface SmartLaunchTable {
  id: string;
  patient: string;
  encounter: string | null;
  client_id: string | null;
  expires_at: number;
  used_at: number | null;
  /** JSON of the sandbox simulator's LaunchOptions; null for plain launches */
  options: string | null;
  /** The grant the launch ended in, once the consent step finished */
  grant_id: string | null;
  /** Sandbox only: the last access token issued under that grant, for the simulator's "inspect the last launch" */
  access_token: string | null;
  created_at: number | null;
}

export interface RevocationEventTable {
  seq: Generated<number>;
  grant_id: string | null;
  token_hash: string | null;
  at: number;
}

/** A revoked access or client_credentials token, so it can be told from one never issued; pruned after its expiry. */
export interface RevokedTokenTable {
  /** sha-256 of the token, as in oidc_model */
  token_hash: string;
  /** null for client_credentials tokens, which have no grant */
  grant_id: string | null;
  client_id: string | null;
  /** ms since epoch */
  revoked_at: number;
  /** ms since epoch: when the token would have expired */
  expires_at: number | null;
}

export interface SigningKeyTable {
  kid: string;
  alg: string;
  private_jwk: string;
  created_at: number;
  retire_after: number | null;
}

export type AccountRole = 'patient' | 'clinician';

/** A portal sign-in. `username` and `email` are stored lower-case; `patient_id` is the holder's own record. */
export interface AccountTable {
  id: string;
  username: string;
  password_hash: string;
  email: string | null;
  display_name: string;
  /** Relative FHIR reference of the user: Patient/…, Practitioner/… */
  fhir_user: string;
  patient_id: string | null;
  role: AccountRole;
  /** Failures in a row since the last success or lock expiry */
  failed_logins: number;
  locked_until: number | null;
  created_at: number;
  password_changed_at: number;
}

/** A clinic-issued single-use code that lets a patient create an account for their record; only the hash is kept. */
export interface ActivationCodeTable {
  code_hash: string;
  patient_id: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  used_by_account: string | null;
}

export interface PasswordResetTable {
  /** sha-256 of account id and code, so short codes never collide between accounts */
  code_hash: string;
  account_id: string;
  expires_at: number;
  used_at: number | null;
  created_at: number;
}

export type ProxyRelationship = 'parent' | 'guardian' | 'legal-authorization';

/** Someone's access to another person's record; what it allows at a given moment is decided by portal/proxy-policy. */
export interface ProxyRelationTable {
  id: string;
  holder_account_id: string;
  patient_id: string;
  relationship: ProxyRelationship;
  starts_at: number;
  ends_at: number | null;
  revoked_at: number | null;
  created_at: number;
  note: string | null;
}

export interface MailOutboxTable {
  id: Generated<number>;
  to_address: string;
  subject: string;
  body: string;
  created_at: number;
}

/** Which account linked which app (grant) to whose record, through which proxy relation. */
export interface AppLinkTable {
  grant_id: string;
  account_id: string;
  client_id: string;
  patient_id: string;
  proxy_relation_id: string | null;
  scope: string;
  created_at: number;
  /** The patient's "for how long" choice; null: until revoked */
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

export type AuditInteraction = 'read' | 'vread' | 'search' | 'history' | 'everything' | 'export' | 'create' | 'update' | 'delete';

/**
 * One row of the audit trail: a FHIR access (event null: resource_type, interaction and status set) or a security
 * event (sign-in, consent, token, ...: event, outcome and actor set). Each row's hash chains it to the row before
 * (src/store/audit-chain.ts); the columns are nullable because the two kinds fill different ones.
 */
export interface AuditEventTable {
  id: Generated<number>;
  at: number;
  client_id: string | null;
  grant_id: string | null;
  account_id: string | null;
  patient_id: string | null;
  resource_type: string | null;
  interaction: AuditInteraction | null;
  resource_id: string | null;
  /** HTTP status of the answer */
  status: number | null;
  /** Security event code (src/audit/security-log.ts); null for a FHIR access */
  event: string | null;
  /** Who acted, as people know them (a username, `cli:<os user>`); never a secret */
  actor: string | null;
  /** 'success' | 'failure' for a security event */
  outcome: string | null;
  /** JSON object with the event's particulars (never a token, password or code) */
  detail: string | null;
  /** SHA-256(previous row's hash || this row's chained columns); null only for a row written outside the chain */
  hash: Uint8Array | null;
}

/** The chain's head, one row (id 1): the last chained row, its hash and the row count. Appends lock it. */
export interface AuditChainHeadTable {
  id: number;
  last_id: number;
  last_hash: Uint8Array;
  rows: number;
}

export interface Database {
  resources: ResourceTable;
  resource_versions: ResourceVersionTable;
  idx_token: TokenIndexTable;
  idx_string: StringIndexTable;
  idx_date: DateIndexTable;
  idx_reference: ReferenceIndexTable;
  oidc_model: OidcModelTable;
  smart_context: SmartContextTable;
  smart_launch: SmartLaunchTable;
  revocation_event: RevocationEventTable;
  revoked_tokens: RevokedTokenTable;
  signing_key: SigningKeyTable;
  accounts: AccountTable;
  activation_codes: ActivationCodeTable;
  password_resets: PasswordResetTable;
  proxy_relations: ProxyRelationTable;
  mail_outbox: MailOutboxTable;
  app_links: AppLinkTable;
  audit_events: AuditEventTable;
  audit_chain_head: AuditChainHeadTable;
  portal_sessions: PortalSessionTable;
  export_jobs: ExportJobTable;
  export_files: ExportFileTable;
  rate_limits: RateLimitTable;
}

/** A shared counter: hits of `limit_key` in `bucket` until `reset_at` (ms since epoch), when it starts again. */
export interface RateLimitTable {
  bucket: string;
  limit_key: string;
  hits: number;
  reset_at: number;
}

export interface PortalSessionTable {
  /** sha-256 of the cookie value */
  id_hash: string;
  account_id: string;
  created_at: number;
  /** Written at most every few seconds, so an idle session can be told from an active one */
  last_seen_at: number;
}

/** Earliest and latest instants JavaScript dates can hold; used for open-ended ranges. */
export const DATE_MIN = -8_640_000_000_000_000;
export const DATE_MAX = 8_640_000_000_000_000;

export type ExportJobKind = 'system' | 'patient' | 'group';
export type ExportJobStatus = 'queued' | 'running' | 'done' | 'failed';

/** One Bulk Data export. Cancelled jobs are deleted with their files, so there is no cancelled state. */
export interface ExportJobTable {
  id: string;
  /** Only this client may poll, download or cancel */
  client_id: string;
  kind: ExportJobKind;
  /** The kick-off URL, echoed in the manifest */
  request: string;
  /** JSON of the ExportSpec (bulk/export-spec.ts): what to export, decided at kick-off */
  spec: string;
  status: ExportJobStatus;
  /** ms since epoch; nothing last updated after this instant is exported */
  transaction_time: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  /** When a finished job and its files are removed */
  expires_at: number | null;
  /** The instance running the job (random per process) */
  owner: string | null;
  /** Last sign of life from the owner; a running job silent for too long is taken over */
  heartbeat_at: number | null;
  /** Runs started; each writes to a directory of its own */
  attempts: number;
  /** JSON of ExportProgress, for X-Progress */
  progress: string | null;
  error: string | null;
}

export interface ExportFileTable {
  job_id: string;
  attempt: number;
  /** File name inside the attempt's directory, e.g. Observation-2.ndjson */
  name: string;
  /** Resource type of its lines */
  type: string;
  kind: 'output' | 'error';
  /** Order in the manifest */
  seq: number;
  count: number;
  bytes: number;
}
