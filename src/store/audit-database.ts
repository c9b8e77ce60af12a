// On SQLite the audit trail lives in a database file of its own beside the main one (smart.db → smart-audit.db),
// attached to every connection as `audit`. Every FHIR request adds an audit row; in the main file each batch's
// commit made every other connection drop its page cache (SQLite does that when another connection has written),
// so the searches after it read their pages from the OS again. In an A/B run of a prototype (audit rows in another
// file), searches were 23 % faster and took 19 % less CPU. Queries name the table unqualified (`audit_events`):
// SQLite finds it in the attached database once the main one has none, so the store's code is the same on PostgreSQL.
import { basename, dirname, extname, join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';

export const AUDIT_SCHEMA = 'audit';

/** The audit file for a main database file; in-memory databases get an in-memory audit database. */
export function auditDatabaseFile(mainFile: string): string {
  if (mainFile === ':memory:') return ':memory:';
  const ext = extname(mainFile);
  return join(dirname(mainFile), `${basename(mainFile, ext)}-audit${ext || '.db'}`);
}

/**
 * The audit database's schema as migration 0007 expects to find it (it copies rows in by position), created when
 * missing on a database that has not yet run migration 0013, which then turns it into the chained table below. Kept
 * here rather than in the migrations, which run against the main file and would record as done what a missing audit
 * file no longer holds.
 */
export const AUDIT_SCHEMA_V1_SQL = `
create table if not exists ${AUDIT_SCHEMA}.audit_events (
  id integer primary key autoincrement,
  at bigint not null,
  client_id text not null,
  grant_id text,
  account_id text,
  patient_id text,
  resource_type text not null,
  interaction text not null,
  resource_id text,
  status integer not null
);
create index if not exists ${AUDIT_SCHEMA}.audit_events_patient on audit_events (patient_id, at);
create index if not exists ${AUDIT_SCHEMA}.audit_events_grant on audit_events (grant_id, at);
`;

/** The migration that chains the trail; once it is recorded, a missing audit file is created chained at once. */
export const AUDIT_CHAIN_MIGRATION = '2026-12-08T0013-audit-chain';

/**
 * The chained trail (migration 0013): FHIR accesses and security events in one table, each row hashed onto the one
 * before (src/store/audit-chain.ts), and the chain's head. The security index is partial: FHIR access rows, the
 * bulk of the trail, never touch it.
 */
export const AUDIT_SCHEMA_SQL = `
create table if not exists ${AUDIT_SCHEMA}.audit_events (
  id integer primary key autoincrement,
  at bigint not null,
  client_id text,
  grant_id text,
  account_id text,
  patient_id text,
  resource_type text,
  interaction text,
  resource_id text,
  status integer,
  event text,
  actor text,
  outcome text,
  detail text,
  hash blob
);
create index if not exists ${AUDIT_SCHEMA}.audit_events_patient on audit_events (patient_id, at);
create index if not exists ${AUDIT_SCHEMA}.audit_events_grant on audit_events (grant_id, at);
create index if not exists ${AUDIT_SCHEMA}.audit_events_security on audit_events (event, id) where event is not null;
create table if not exists ${AUDIT_SCHEMA}.audit_chain_head (
  id integer primary key check (id = 1),
  last_id integer not null,
  last_hash blob not null,
  rows integer not null
);
insert or ignore into ${AUDIT_SCHEMA}.audit_chain_head (id, last_id, last_hash, rows) values (1, 0, zeroblob(32), 0);
`;

/**
 * Creates the audit table when the attached audit database has none (a new install, or a lost audit file: the main
 * database then still works and the trail starts anew, its chain from the beginning). An existing table is left to
 * the migrations.
 */
export function ensureAuditSchema(raw: BetterSqlite3.Database): void {
  const exists = raw.prepare(`select count(*) from ${AUDIT_SCHEMA}.sqlite_master where type = 'table' and name = 'audit_events'`).pluck().get();
  if (exists) return;
  const migrations = raw.prepare(`select count(*) from main.sqlite_master where type = 'table' and name = 'kysely_migration'`).pluck().get();
  const chained = migrations && raw.prepare('select count(*) from main.kysely_migration where name = ?').pluck().get(AUDIT_CHAIN_MIGRATION);
  raw.exec(chained ? AUDIT_SCHEMA_SQL : AUDIT_SCHEMA_V1_SQL);
}
