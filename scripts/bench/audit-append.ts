// What the audit chain costs an append: W writers (separate connections, as instances or workers would have) each
// append B batches of S rows, through the real chained store and through plain multi-row inserts of the same rows
// without hashes or the head lock (what appends cost before the chain), alternating, on a scratch database of the
// kind DATABASE_URL names (a temporary SQLite file, or a scratch PostgreSQL database next to the one named).
// `npx tsx scripts/bench/audit-append.ts [--writers 3] [--batches 100] [--batch 20] [--rounds 3]`
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { CompiledQuery } from 'kysely';
import type { DatabaseTarget } from '../../src/config.js';
import { AuditLogStore, type AuditEvent } from '../../src/store/audit-log.js';
import { verifyAuditChain } from '../../src/store/audit-verify.js';
import { openDb, type Db } from '../../src/store/db.js';
import { migrateToLatest } from '../../src/store/migrate.js';

const { values: args } = parseArgs({ options: { writers: { type: 'string', default: '3' }, batches: { type: 'string', default: '100' }, batch: { type: 'string', default: '20' }, rounds: { type: 'string', default: '3' } } });
const [writers, batches, size, rounds] = [args.writers, args.batches, args.batch, args.rounds].map(Number) as [number, number, number, number];

const url = process.env.DATABASE_URL ?? '';
let target: DatabaseTarget;
let drop: () => Promise<void>;
if (url.startsWith('postgres')) {
  const name = `audit_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(url);
  u.pathname = `/${name}`;
  target = { kind: 'postgres', connectionString: u.toString() };
  drop = async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`drop database if exists ${name} with (force)`);
    await c.end();
  };
} else {
  const dir = mkdtempSync(join(tmpdir(), 'audit-bench-'));
  target = { kind: 'sqlite', filename: join(dir, 'bench.db') };
  drop = async () => rmSync(dir, { recursive: true, force: true });
}

const first = openDb(target);
await migrateToLatest(first);
// The table as it was before the chain (its columns and indexes), beside the chained one in the same database.
const plainTable = target.kind === 'sqlite' ? 'audit.audit_events_plain' : 'audit_events_plain';
for (const ddl of [
  `create table ${plainTable} (id ${target.kind === 'sqlite' ? 'integer primary key autoincrement' : 'bigserial primary key'}, at bigint not null, client_id text not null, grant_id text, account_id text, patient_id text, resource_type text not null, interaction text not null, resource_id text, status integer not null)`,
  `create index ${target.kind === 'sqlite' ? 'audit.' : ''}audit_events_plain_patient on audit_events_plain (patient_id, at)`,
  `create index ${target.kind === 'sqlite' ? 'audit.' : ''}audit_events_plain_grant on audit_events_plain (grant_id, at)`,
]) {
  await first.kysely.executeQuery(CompiledQuery.raw(ddl, []));
}
const dbs: Db[] = [first, ...Array.from({ length: writers - 1 }, () => openDb(target))];

const event = (w: number, i: number): AuditEvent => ({
  at: Date.now(),
  clientId: `bench-app-${w}`,
  grantId: `grant-${i % 50}`,
  accountId: null,
  patientId: `patient-${i % 1000}`,
  resourceType: 'Observation',
  interaction: 'read',
  resourceId: `obs-${i}`,
  status: 200,
});

// The insert as it was before the chain: the same rows into the table as it was, one multi-row statement per batch.
const COLUMNS = ['at', 'client_id', 'grant_id', 'account_id', 'patient_id', 'resource_type', 'interaction', 'resource_id', 'status'];
function plainInsert(db: Db, rows: readonly AuditEvent[]): Promise<void> {
  const params = rows.flatMap((e) => [e.at, e.clientId, e.grantId, e.accountId, e.patientId, e.resourceType, e.interaction, e.resourceId, e.status]);
  let n = 0;
  const placeholder = () => (db.dialect === 'postgres' ? `$${++n}` : '?');
  const sqlText = `insert into audit_events_plain (${COLUMNS.join(', ')}) values ${rows.map(() => `(${COLUMNS.map(placeholder).join(', ')})`).join(', ')}`;
  if (db.writeBehind) return db.writeBehind([{ sql: sqlText, params }]);
  return db.kysely.executeQuery(CompiledQuery.raw(sqlText, params)).then(() => undefined);
}

async function run(mode: 'plain' | 'chained'): Promise<number> {
  const started = performance.now();
  await Promise.all(
    dbs.map(async (db, w) => {
      const store = new AuditLogStore(db);
      for (let b = 0; b < batches; b++) {
        const rows = Array.from({ length: size }, (_, i) => event(w, b * size + i));
        if (mode === 'chained') await store.record(rows);
        else await plainInsert(db, rows);
      }
    }),
  );
  return (writers * batches * size) / ((performance.now() - started) / 1000);
}

const rates: Record<'plain' | 'chained', number[]> = { plain: [], chained: [] };
await run('chained');
await run('plain');
for (let r = 0; r < rounds; r++) {
  for (const mode of r % 2 ? (['plain', 'chained'] as const) : (['chained', 'plain'] as const)) rates[mode].push(await run(mode));
  console.log(`round ${r + 1}: chained ${Math.round(rates.chained.at(-1)!)} rows/s, plain ${Math.round(rates.plain.at(-1)!)} rows/s`);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const [c, p] = [median(rates.chained), median(rates.plain)];
console.log(`${target.kind}, ${writers} writers x ${batches} batches of ${size}: chained ${Math.round(c)} rows/s, plain ${Math.round(p)} rows/s, chained/plain ${(c / p).toFixed(2)}`);
const report = await verifyAuditChain(first);
console.log(`chain check: ${report.ok ? 'intact' : `BROKEN at row ${report.break?.rowId} (${report.break?.kind})`}, ${report.rows} rows`);
for (const db of dbs) await db.close();
await drop();
