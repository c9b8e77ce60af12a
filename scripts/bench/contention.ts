// Contention check: CPU time on this machine spent by processes other than ours during a measurement, in cores.
// Other sessions share the box; a run with foreign load is reported (and repeated by the caller) rather than trusted.
// Kernel threads (e.g. the DAMON reclaimer, kdamond) count as foreign too.
import { readFileSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';

interface Snap {
  total: number;
  busy: number;
  /** CPU the hypervisor gave to other machines while ours wanted it: contention we cannot see as processes */
  steal: number;
  ours: number;
}

function snap(pids: readonly number[]): Snap {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const steal = f[7] ?? 0;
  const idle = (f[3] ?? 0) + (f[4] ?? 0) + steal;
  let ours = 0;
  for (const p of withDescendants(pids)) {
    try {
      const s = readFileSync(`/proc/${p}/stat`, 'utf8');
      const x = s.slice(s.lastIndexOf(')') + 2).split(' ');
      // utime + stime, plus cutime + cstime: a load generator that has exited and been reaped still counts as ours.
      ours += Number(x[11]) + Number(x[12]) + Number(x[13]) + Number(x[14]);
    } catch {
      // the process may have exited; its time no longer counts
    }
  }
  return { total, busy: total - idle, steal, ours };
}

/** The processes themselves and every process they started (a server's cluster workers are ours too). */
function withDescendants(pids: readonly number[]): Set<number> {
  const all = new Set<number>();
  const visit = (pid: number) => {
    if (!pid || all.has(pid)) return;
    all.add(pid);
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      return;
    }
    for (const task of tasks) {
      try {
        for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/)) if (child) visit(Number(child));
      } catch {
        // the task ended meanwhile
      }
    }
  };
  pids.forEach(visit);
  return all;
}

export async function measureForeign<T>(pids: () => readonly number[], fn: () => Promise<T>): Promise<{ value: T; foreignCores: number }> {
  const a = snap(pids());
  const value = await fn();
  const b = snap(pids());
  const foreign = b.total > a.total ? ((b.busy - a.busy - (b.ours - a.ours) + (b.steal - a.steal)) / (b.total - a.total)) * cpus().length : 0;
  return { value, foreignCores: Math.max(0, Number(foreign.toFixed(2))) };
}

/** Repeats a measurement until it ran with less than `max` cores of foreign load, at most `tries` times. */
export async function clean<T>(pids: () => readonly number[], fn: () => Promise<T>, max = 0.25, tries = 3): Promise<{ value: T; foreignCores: number; contended: boolean }> {
  let last: { value: T; foreignCores: number } | undefined;
  for (let i = 0; i < tries; i++) {
    last = await measureForeign(pids, fn);
    if (last.foreignCores < max) return { ...last, contended: false };
    console.error(`  (run discarded: ${last.foreignCores} cores of foreign load)`);
  }
  return { ...last!, contended: true };
}

/** CPU seconds a process has used so far: user + system, all its threads (not its children). */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/**
 * CPU seconds a process and every process it started have used so far (a server's cluster workers are its own);
 * processes that ended meanwhile no longer count, so take it around a run in which none ends.
 */
export function treeCpuSeconds(pid: number): number {
  let total = 0;
  for (const p of withDescendants([pid])) {
    try {
      total += processCpuSeconds(p);
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

/** The median; of an even count, the mean of the middle two (never the kinder of the two). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
