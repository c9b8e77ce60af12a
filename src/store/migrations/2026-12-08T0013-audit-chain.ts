// The audit trail becomes one hash chain that also holds security events (sign-in, consent, tokens, grants, proxies,
// clients, keys): new columns event, actor, outcome, detail and hash; the FHIR-access columns may be null (security
// events leave them empty); and the chain's head, audit_chain_head. The rows already there are chained here, oldest
// first, from the genesis hash (32 zero bytes): a large trail makes this first start take longer.
//
// SQLite keeps the trail in the attached audit file, and cannot relax NOT NULL in place: the table is rebuilt there
// (new table, rows copied with their ids and hashes, old one dropped). PostgreSQL alters it and fills the hashes.
//
// The hash is written out here rather than imported: a migration keeps doing what it did when it was released. It is
// the one src/store/audit-chain.ts computes: SHA-256(previous hash || JSON array of the chained columns).
import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';

const CHAINED = ['at', 'client_id', 'grant_id', 'account_id', 'patient_id', 'resource_type', 'interaction', 'resource_id', 'status', 'event', 'actor', 'outcome', 'detail'] as const;
const PAGE = 1000;

type OldRow = { id: number; at: number; client_id: string; grant_id: string | null; account_id: string | null; patient_id: string | null; resource_type: string; interaction: string; resource_id: string | null; status: number };

function link(prev: Uint8Array, r: OldRow): Buffer {
  const row: Record<string, unknown> = { ...r, event: null, actor: null, outcome: null, detail: null };
  const values = CHAINED.map((c) => {
    const v = row[c];
    if (v === null || v === undefined) return null;
    return c === 'at' || c === 'status' ? Number(v) : String(v);
  });
  return createHash('sha256').update(prev).update(JSON.stringify(values)).digest();
}

/** Walks the old rows oldest first, a page at a time, handing each page with its hashes on. */
async function chainOldRows(db: Kysely<any>, table: string, each: (page: { row: OldRow; hash: Buffer }[]) => Promise<void>): Promise<{ lastId: number; lastHash: Buffer; rows: number }> {
  let prev: Buffer = Buffer.alloc(32);
  let after = -1;
  let rows = 0;
  for (;;) {
    const page = (await sql<OldRow>`select id, at, client_id, grant_id, account_id, patient_id, resource_type, interaction, resource_id, status from ${sql.raw(table)} where id > ${after} order by id limit ${PAGE}`.execute(db)).rows;
    if (!page.length) break;
    const linked = page.map((row) => {
      prev = link(prev, row);
      return { row: { ...row, id: Number(row.id) }, hash: prev };
    });
    await each(linked);
    after = Number(page[page.length - 1]!.id);
    rows += page.length;
  }
  return { lastId: Math.max(after, 0), lastHash: prev, rows };
}

export async function up(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  if (dialect === 'sqlite') return upSqlite(db);
  await sql`alter table audit_events
    add column event text, add column actor text, add column outcome text, add column detail text, add column hash bytea,
    alter column client_id drop not null, alter column resource_type drop not null,
    alter column interaction drop not null, alter column status drop not null`.execute(db);
  await sql`create table audit_chain_head (id integer primary key check (id = 1), last_id bigint not null, last_hash bytea not null, rows bigint not null)`.execute(db);
  const head = await chainOldRows(db, 'audit_events', async (page) => {
    const values = sql.join(page.map(({ row, hash }) => sql`(${row.id}::bigint, ${hash}::bytea)`));
    await sql`update audit_events as a set hash = v.hash from (values ${values}) as v(id, hash) where a.id = v.id`.execute(db);
  });
  await sql`insert into audit_chain_head (id, last_id, last_hash, rows) values (1, ${head.lastId}, ${head.lastHash}, ${head.rows})`.execute(db);
  await sql`create index audit_events_security on audit_events (event, id) where event is not null`.execute(db);
}

async function upSqlite(db: Kysely<any>): Promise<void> {
  const columns = (await sql<{ name: string }>`select name from pragma_table_info('audit_events', 'audit')`.execute(db)).rows.map((r) => r.name);
  // Created chained already (audit-database.ts makes a missing audit file in the current format once this is recorded).
  if (columns.includes('hash')) return;
  await db.transaction().execute(async (trx) => {
    await sql`create table audit.audit_events_chained (
      id integer primary key autoincrement,
      at bigint not null,
      client_id text, grant_id text, account_id text, patient_id text,
      resource_type text, interaction text, resource_id text, status integer,
      event text, actor text, outcome text, detail text,
      hash blob
    )`.execute(trx);
    const head = await chainOldRows(trx, 'audit.audit_events', async (page) => {
      const values = sql.join(
        page.map(({ row: r, hash }) => sql`(${r.id}, ${r.at}, ${r.client_id}, ${r.grant_id}, ${r.account_id}, ${r.patient_id}, ${r.resource_type}, ${r.interaction}, ${r.resource_id}, ${r.status}, ${hash})`),
      );
      await sql`insert into audit.audit_events_chained (id, at, client_id, grant_id, account_id, patient_id, resource_type, interaction, resource_id, status, hash) values ${values}`.execute(trx);
    });
    await sql`drop table audit.audit_events`.execute(trx);
    await sql`alter table audit.audit_events_chained rename to audit_events`.execute(trx);
    await sql`create index audit.audit_events_patient on audit_events (patient_id, at)`.execute(trx);
    await sql`create index audit.audit_events_grant on audit_events (grant_id, at)`.execute(trx);
    await sql`create index audit.audit_events_security on audit_events (event, id) where event is not null`.execute(trx);
    await sql`create table if not exists audit.audit_chain_head (id integer primary key check (id = 1), last_id integer not null, last_hash blob not null, rows integer not null)`.execute(trx);
    await sql`insert or replace into audit.audit_chain_head (id, last_id, last_hash, rows) values (1, ${head.lastId}, ${head.lastHash}, ${head.rows})`.execute(trx);
  });
}
