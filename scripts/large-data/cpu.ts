// CPU seconds spent by this process and by the PostgreSQL backends serving its database: on a machine whose cores are
// shared, wall time says little about what a method costs, CPU time does (clock ticks from /proc, as bench/compare.ts).
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import type { Db } from '../../src/store/db.js';

const TICKS_PER_SECOND = 100;

function procCpuSeconds(pid: number): number {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** The backends connected to this database now (ours: the database is the run's own), their CPU so far. */
export async function postgresCpuSeconds(db: Db): Promise<number> {
  const { rows } = await sql<{ pid: number }>`select pid from pg_stat_activity where datname = current_database()`.execute(db.kysely);
  return rows.reduce((n, r) => n + procCpuSeconds(Number(r.pid)), 0);
}

export function nodeCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
