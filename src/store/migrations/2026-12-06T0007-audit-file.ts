// SQLite: the audit trail moves out of the main database into its own file (see src/store/audit-database.ts, which
// creates that file's table when the database is opened). Rows an earlier version wrote into the main file are
// copied over with their ids, then the old table is dropped. Copying with the ids and "or ignore" makes a re-run
// after a crash between the two files' commits harmless. PostgreSQL keeps the table where it is.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  if (dialect !== 'sqlite') return;
  const old = await sql<{ n: number }>`select count(*) as n from main.sqlite_master where type = 'table' and name = 'audit_events'`.execute(db);
  if (!Number(old.rows[0]?.n)) return;
  await db.transaction().execute(async (trx) => {
    await sql`insert or ignore into audit.audit_events select id, at, client_id, grant_id, account_id, patient_id, resource_type, interaction, resource_id, status from main.audit_events`.execute(trx);
    await sql`drop table main.audit_events`.execute(trx);
  });
}
