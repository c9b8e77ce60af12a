// The export section of npm run bench: a Patient/$export through the real server, timed kick-off → manifest, against
// a hand-written dump of the same rows (better-sqlite3 → NDJSON file) in the same run; the server's peak memory
// during the full export and a fifth of it (the peak should not depend on the export's size); and how much a running
// export slows concurrent FHIR reads. See README "Benchmarks".
import { once } from 'node:events';
import { closeSync, createWriteStream, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { ChildProcess } from 'node:child_process';
import { RESOURCE_DEFS } from '../../src/fhir/definitions.js';
import { measureForeign, median } from './contention.js';
import { loadSession } from './load.js';
import { backendToken, startBenchServer } from './server.js';

export interface ExportBenchOptions {
  readonly dbFile: string;
  readonly port: number;
  /** Scratch directory for the export files and the raw dump (~1 GB each at full size); removed afterwards */
  readonly dir: string;
  /** FHIR read paths for the concurrent-read load */
  readonly readPaths: readonly string[];
  /** Adjacent without/with pairs for the read slowdown, and the length of each run in them */
  readonly pairs: number;
  readonly pairSeconds: number;
  readonly connections: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly log: (s: string) => void;
}

/** Resident memory of the server process (MB): before an export, and the peak while it ran. */
export interface MemoryRow {
  readonly request: string;
  readonly resources: number;
  readonly beforeMb: number;
  readonly peakMb: number;
  /** peak − before */
  readonly growthMb: number;
  /** peak − the server's RSS before its first export */
  readonly overIdleMb: number;
  /** 'VmHWM' when the kernel's high-water mark could be reset before the export, else the 100 ms samples of VmRSS */
  readonly source: 'VmHWM' | 'sampled';
}

export interface ExportBenchResult {
  readonly request: string;
  readonly resources: number;
  readonly files: number;
  readonly seconds: number;
  readonly perSecond: number;
  /** The same rows read with better-sqlite3 and written as NDJSON, before and after the export */
  readonly raw: { readonly resources: number; readonly bytes: number; readonly seconds: readonly number[]; readonly perSecond: number };
  readonly overRaw: number;
  readonly countsMatch: boolean;
  /** RSS before any export; the first (tiny) export starts the export thread, a cost paid whatever the size */
  readonly memory: { readonly idleMb: number; readonly first: MemoryRow; readonly cohort: MemoryRow; readonly full: MemoryRow };
  readonly reads: {
    /** Adjacent runs of `pairSeconds` without and with an export running (req/s), the order alternating */
    readonly pairs: readonly { readonly without: number; readonly with: number; readonly foreignCores: number }[];
    readonly pairSeconds: number;
    /** 1 − the median of the pairs' with / without */
    readonly slowdown: number;
    readonly errors: number;
    /** One run of `seconds` with an export running: req/s, and the resources the export wrote meanwhile */
    readonly long: { readonly seconds: number; readonly rps: number; readonly foreignCores: number };
    readonly exportPerSecond: number;
    /** … as a share of its unloaded rate */
    readonly exportShareOfUnloaded: number;
    /** An export ended inside a loaded run (then part of that run went without it) */
    readonly exportFinishedInWindow: boolean;
  };
  /** DELETEs of a running export that answered 500 although the job was gone (a server race; see remove()) */
  readonly cancelErrors: readonly string[];
  readonly contended: boolean;
}

const FULL_REQUEST = '/fhir/Patient/$export';
/** A fifth of the patients (the bench data set's cohort Group), so the same mix of types and resource sizes */
const COHORT_REQUEST = '/fhir/Group/patients-65-and-older/$export';
/** 8 resources: the export thread's start-up, and nothing else */
const FIRST_REQUEST = '/fhir/Patient/$export?_type=Device';
const POLL_MS = 100;
const SAMPLE_MS = 100;
/** Every type a Patient/$export with system/*.rs writes: the patient-compartment types */
const COMPARTMENT_TYPES = RESOURCE_DEFS.filter((d) => d.inCompartment).map((d) => d.type);

interface Manifest {
  readonly output: readonly { readonly type: string; readonly url: string; readonly count: number }[];
  readonly error: readonly { readonly type: string; readonly url: string; readonly count: number }[];
}

const mb = (kb: number) => Math.round(kb / 102.4) / 10;

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** Samples the server's RSS while `fn` runs; the kernel's high-water mark is reset first when allowed (clear_refs 5). */
async function peakMemory<T>(pid: number, fn: () => Promise<T>): Promise<{ value: T; beforeKb: number; peakKb: number; source: MemoryRow['source'] }> {
  const beforeKb = statusKb(pid, 'VmRSS');
  let hwm = true;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    hwm = false;
  }
  let sampled = beforeKb;
  const timer = setInterval(() => {
    try {
      sampled = Math.max(sampled, statusKb(pid, 'VmRSS'));
    } catch {
      // the server exited; the caller sees that
    }
  }, SAMPLE_MS);
  try {
    const value = await fn();
    sampled = Math.max(sampled, statusKb(pid, 'VmRSS'));
    const peakKb = hwm ? Math.max(sampled, statusKb(pid, 'VmHWM')) : sampled;
    return { value, beforeKb, peakKb, source: hwm ? 'VmHWM' : 'sampled' };
  } finally {
    clearInterval(timer);
  }
}

/** A Bulk Data client that polls every POLL_MS (not Retry-After), so the end of an export is seen within that. */
class ExportClient {
  #token: { headers: { authorization: string }; at: number } | undefined;

  constructor(private readonly origin: string) {}

  /** Backend tokens live 5 minutes; a fresh one every minute. */
  async auth(): Promise<{ authorization: string }> {
    if (!this.#token || Date.now() - this.#token.at > 60_000) this.#token = { headers: await backendToken(this.origin), at: Date.now() };
    return this.#token.headers;
  }

  async kickOff(path: string): Promise<string> {
    const res = await fetch(`${this.origin}${path}`, { headers: { ...(await this.auth()), accept: 'application/fhir+json', prefer: 'respond-async' } });
    const body = await res.text();
    if (res.status !== 202) throw new Error(`export kick-off ${path} answered ${res.status}: ${body}`);
    return res.headers.get('content-location')!;
  }

  /** One status request: the manifest when done, else the resources written so far (X-Progress "running: N ..."). */
  async status(url: string): Promise<{ done: true; manifest: Manifest } | { done: false; written: number; running: boolean }> {
    const res = await fetch(url, { headers: { ...(await this.auth()), accept: 'application/json' } });
    const text = await res.text();
    if (res.status === 200) return { done: true, manifest: JSON.parse(text) as Manifest };
    if (res.status !== 202) throw new Error(`export status answered ${res.status}: ${text}`);
    const progress = res.headers.get('x-progress') ?? '';
    const m = /^running: (\d+)/.exec(progress);
    return { done: false, written: m ? Number(m[1]) : 0, running: Boolean(m) };
  }

  async untilDone(url: string): Promise<Manifest> {
    for (;;) {
      const s = await this.status(url);
      if (s.done) return s.manifest;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** Cancels a running export or deletes a finished one with its files. */
  async remove(url: string): Promise<void> {
    const res = await fetch(url, { method: 'DELETE', headers: await this.auth() });
    const body = await res.text();
    if (res.status === 202) return;
    // Cancelling a running export can answer 500 when its thread opens a new file while the directory is being
    // removed (the job row is already gone, and the sweep removes the rest): a server finding, reported, not fatal.
    const after = await fetch(url, { headers: await this.auth() });
    await after.arrayBuffer();
    if (res.status >= 500 && after.status === 404) {
      this.cancelErrors.push(body);
      return;
    }
    throw new Error(`DELETE ${url} answered ${res.status}: ${body}`);
  }

  /** Bodies of the cancels that answered 500 although the job went */
  readonly cancelErrors: string[] = [];
}

/**
 * What a hand-written dump does: one plain query per type, each row's JSON as a line, written in chunks through a
 * write stream, every file synced at the end (as the export syncs its files). Normal priority, main thread.
 */
async function rawDump(dbFile: string, dir: string): Promise<{ resources: number; bytes: number; seconds: number; counts: Map<string, number> }> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const db = new BetterSqlite3(dbFile, { readonly: true, fileMustExist: true });
  const select = db.prepare('select content from resources where type = ? and patient_id is not null and deleted = 0').pluck();
  const counts = new Map<string, number>();
  let bytes = 0;
  const t0 = performance.now();
  for (const type of COMPARTMENT_TYPES) {
    const fd = openSync(join(dir, `${type}.ndjson`), 'w');
    const out = createWriteStream('', { fd, autoClose: false });
    let lines: string[] = [];
    let n = 0;
    const flush = async () => {
      const text = `${lines.join('\n')}\n`;
      lines = [];
      bytes += Buffer.byteLength(text);
      if (!out.write(text)) await once(out, 'drain');
    };
    for (const content of select.iterate(type) as IterableIterator<string>) {
      lines.push(content);
      n++;
      if (lines.length === 1000) await flush();
    }
    if (lines.length) await flush();
    out.end();
    await once(out, 'finish');
    fsyncSync(fd);
    closeSync(fd);
    if (n) counts.set(type, n);
  }
  const seconds = (performance.now() - t0) / 1000;
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return { resources: [...counts.values()].reduce((a, b) => a + b, 0), bytes, seconds, counts };
}

const total = (m: Manifest) => m.output.reduce((a, o) => a + o.count, 0);

export async function benchExport(o: ExportBenchOptions): Promise<ExportBenchResult> {
  const { log } = o;
  const exportDir = join(o.dir, 'exports');
  const rawDir = join(o.dir, 'raw');
  rmSync(o.dir, { recursive: true, force: true });
  mkdirSync(exportDir, { recursive: true });
  const origin = `http://127.0.0.1:${o.port}`;
  // A server of its own, so its memory carries no other measurement's history and its export files go to the
  // scratch directory.
  let server: ChildProcess | undefined;
  let stopping = false;
  const loaders: number[] = [];
  try {
    server = await startBenchServer({ dbFile: o.dbFile, port: o.port, publicUrl: origin, env: { EXPORT_DIR: exportDir } });
    server.once('exit', (code, signal) => {
      if (!stopping) log(`  (the export bench server exited: code ${code}, signal ${signal})`);
    });
    const pid = server.pid!;
    const pids = () => [process.pid, pid, ...loaders];
    const client = new ExportClient(origin);
    const foreign: number[] = [];

    // 1. Memory: the first export pays for starting the export thread (under tsx, loading the TypeScript loader
    // too); then a fifth of the data set and the whole of it are the comparison that matters. Same mix matters: a
    // page holds 1,000 rows whatever their size, so its memory follows the size of the type's resources.
    const idleKb = statusKb(pid, 'VmRSS');
    const memoryOf = async (request: string) => {
      log(`export: ${request} (memory) ...`);
      const m = await measureForeign(pids, () =>
        peakMemory(pid, async () => {
          const t0 = performance.now();
          const url = await client.kickOff(request);
          const manifest = await client.untilDone(url);
          const seconds = (performance.now() - t0) / 1000;
          await client.remove(url);
          return { manifest, seconds };
        }),
      );
      foreign.push(m.foreignCores);
      const row = memoryRow(request, total(m.value.value.manifest), m.value, idleKb);
      log(`  ${row.resources} resources in ${m.value.value.seconds.toFixed(1)} s; RSS ${row.beforeMb} → peak ${row.peakMb} MB (+${row.growthMb}; +${row.overIdleMb} over the idle server), foreign ${m.foreignCores} cores`);
      return { row, ...m.value.value };
    };
    const first = await memoryOf(FIRST_REQUEST);
    const cohort = await memoryOf(COHORT_REQUEST);

    // 2. The raw dump, the full export, the raw dump again: the export is held to the mean of the two around it.
    log('export: raw dump (better-sqlite3 → NDJSON) ...');
    const raw1 = await measureForeign(pids, () => rawDump(o.dbFile, rawDir));
    foreign.push(raw1.foreignCores);
    log(`  ${raw1.value.resources} resources, ${mb(raw1.value.bytes / 1024)} MB in ${raw1.value.seconds.toFixed(1)} s = ${Math.round(raw1.value.resources / raw1.value.seconds)}/s, foreign ${raw1.foreignCores} cores`);

    const full = await memoryOf(FULL_REQUEST);
    const { manifest, seconds } = full;
    const resources = total(manifest);
    const perSecond = Math.round(resources / seconds);
    if (manifest.error.length) log(`  (the export wrote an error file: ${manifest.error.map((e) => `${e.type} ${e.count}`).join(', ')})`);
    log(`  ${manifest.output.length} files, ${perSecond} resources/s`);

    log('export: raw dump again ...');
    const raw2 = await measureForeign(pids, () => rawDump(o.dbFile, rawDir));
    foreign.push(raw2.foreignCores);
    log(`  ${raw2.value.resources} resources in ${raw2.value.seconds.toFixed(1)} s = ${Math.round(raw2.value.resources / raw2.value.seconds)}/s, foreign ${raw2.foreignCores} cores`);
    const rawPerSecond = Math.round((raw1.value.resources / raw1.value.seconds + raw2.value.resources / raw2.value.seconds) / 2);
    const byType = new Map<string, number>();
    for (const f of manifest.output) byType.set(f.type, (byType.get(f.type) ?? 0) + f.count);
    const countsMatch = byType.size === raw1.value.counts.size && [...raw1.value.counts].every(([t, n]) => byType.get(t) === n);
    if (!countsMatch) log(`  (the export and the raw dump disagree on counts: export ${JSON.stringify([...byType])}, raw ${JSON.stringify([...raw1.value.counts])})`);

    // 3. Concurrent reads, as the bench measures read / bare: adjacent short runs from one load-generator process,
    // without and with a Patient/$export running (kicked off for the run, cancelled after it), the order alternating,
    // a pair with foreign load measured again; the median pair ratio is the figure. This machine's speed drifts by
    // tens of per cent over tens of seconds, which one before/during/after bracket cannot tell from the export.
    log(`export: FHIR reads by id in ${o.pairs} adjacent pairs of ${o.pairSeconds} s runs without and with a running ${FULL_REQUEST} ...`);
    const session = loadSession((p) => loaders.push(p));
    let readAuth = await client.auth();
    let errors = 0;
    let finished = false;
    const reads = async (secs: number) => {
      const r = await session.run({ origin, paths: o.readPaths, connections: o.connections, seconds: secs, warmupSeconds: 0, headers: readAuth });
      if (r.non2xx) throw new Error(`export concurrent reads: ${r.non2xx} non-2xx responses; the measurement is void`);
      errors += r.errors;
      return r.rps;
    };
    /** Kicks off the full export and returns once its thread has written something (X-Progress comes with the runner's heartbeat). */
    const exporting = async () => {
      readAuth = await client.auth();
      const url = await client.kickOff(FULL_REQUEST);
      for (;;) {
        const s = await client.status(url);
        if (s.done) throw new Error('the export finished before the concurrent reads started');
        if (s.running && s.written > 0) return { url, written: s.written, at: performance.now() };
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    };
    const cancel = async (url: string) => {
      if ((await client.status(url)).done) finished = true;
      await client.remove(url);
      // The export thread learns of the cancellation at its runner's next heartbeat (at most 2 s) and stops.
      await new Promise((r) => setTimeout(r, 3000));
    };
    await reads(o.warmupSeconds || 1);
    const pairs: { without: number; with: number; foreignCores: number }[] = [];
    const discarded: typeof pairs = [];
    for (let i = 0, tries = 0; pairs.length < o.pairs && tries < o.pairs * 2; tries++) {
      const m = await measureForeign(pids, async () => {
        const without = async () => reads(o.pairSeconds);
        const withExport = async () => {
          const e = await exporting();
          const rps = await reads(o.pairSeconds);
          await cancel(e.url);
          return rps;
        };
        if (i % 2 === 0) return { without: await without(), with: await withExport() };
        const w = await withExport();
        return { without: await without(), with: w };
      });
      if (m.foreignCores >= 0.25) {
        log(`  (pair discarded: ${m.foreignCores} cores of foreign load)`);
        discarded.push({ ...m.value, foreignCores: m.foreignCores });
        continue;
      }
      pairs.push({ ...m.value, foreignCores: m.foreignCores });
      i++;
      log(`  pair ${i}: without ${m.value.without}, with ${m.value.with} req/s, ratio ${(m.value.with / m.value.without).toFixed(3)}`);
    }
    // Every pair ran with foreign load: report those (the result is flagged) rather than nothing.
    if (!pairs.length) pairs.push(...discarded);
    foreign.push(...pairs.map((p) => p.foreignCores));
    const slowdown = 1 - median(pairs.map((p) => p.with / p.without));

    // How far an export gets under that load: one longer run, the export's X-Progress at its start and end.
    log(`export: ${o.seconds} s of reads with a running ${FULL_REQUEST}, and how far the export gets meanwhile ...`);
    const e = await exporting();
    const long = await measureForeign(pids, () => reads(o.seconds));
    foreign.push(long.foreignCores);
    const after = await client.status(e.url);
    const windowSeconds = (performance.now() - e.at) / 1000;
    if (after.done) finished = true;
    const endWritten = after.done ? resources : after.written;
    const exportInWindow = Math.round((endWritten - e.written) / windowSeconds);
    await cancel(e.url);
    session.close();
    log(`  ${long.value} req/s, foreign ${long.foreignCores} cores; the export wrote ${endWritten - e.written} resources meanwhile (${exportInWindow}/s)${after.done ? ', and finished' : ''}`);

    return {
      request: FULL_REQUEST,
      resources,
      files: manifest.output.length,
      seconds: Number(seconds.toFixed(2)),
      perSecond,
      raw: { resources: raw1.value.resources, bytes: raw1.value.bytes, seconds: [raw1.value.seconds, raw2.value.seconds].map((s) => Number(s.toFixed(2))), perSecond: rawPerSecond },
      overRaw: Number((perSecond / rawPerSecond).toFixed(3)),
      countsMatch,
      memory: { idleMb: mb(idleKb), first: first.row, cohort: cohort.row, full: full.row },
      reads: {
        pairs,
        pairSeconds: o.pairSeconds,
        slowdown: Number(slowdown.toFixed(3)),
        errors,
        long: { seconds: o.seconds, rps: long.value, foreignCores: long.foreignCores },
        exportPerSecond: exportInWindow,
        exportShareOfUnloaded: Number((exportInWindow / perSecond).toFixed(3)),
        exportFinishedInWindow: finished,
      },
      cancelErrors: client.cancelErrors.map((b) => /"diagnostics":"([^"]*)"/.exec(b)?.[1] ?? b),
      contended: foreign.some((f) => f >= 0.25),
    };
  } finally {
    stopping = true;
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = once(server, 'exit');
      server.kill();
      await exited;
    }
    rmSync(o.dir, { recursive: true, force: true });
  }
}

function memoryRow(request: string, resources: number, m: { beforeKb: number; peakKb: number; source: MemoryRow['source'] }, idleKb: number): MemoryRow {
  return { request, resources, beforeMb: mb(m.beforeKb), peakMb: mb(m.peakKb), growthMb: mb(m.peakKb - m.beforeKb), overIdleMb: mb(m.peakKb - idleKb), source: m.source };
}

/** The printed lines, in the style of the bench's ratio lines. */
export function exportLines(r: ExportBenchResult): string[] {
  const { reads, memory } = r;
  return [
    `export / raw dump      ${r.overRaw}  (Patient/$export ${r.resources} resources in ${r.seconds} s = ${r.perSecond}/s vs raw ${r.raw.perSecond}/s, mean of ${r.raw.seconds.map((s) => `${s} s`).join(' and ')} around it; target >= 0.5${r.countsMatch ? '' : '; COUNTS DIFFER'})`,
    `export peak memory     full ${memory.full.peakMb} MB (${memory.full.resources} resources), cohort ${memory.cohort.peakMb} MB (${memory.cohort.resources}, the same mix of types), first ${memory.first.peakMb} MB (${memory.first.resources}; starts the export thread); idle ${memory.idleMb} MB (RSS, ${memory.full.source}; target: full about cohort)`,
    `reads during export   slowdown ${(reads.slowdown * 100).toFixed(1)}%  (1 - median with/without of ${reads.pairs.length} adjacent pairs of ${reads.pairSeconds} s: ${reads.pairs.map((p) => (p.with / p.without).toFixed(3)).join(', ')}; target < 10%)`,
    ...(r.cancelErrors.length ? [`export cancel errors   ${r.cancelErrors.length} DELETEs of a running export answered 500 though the job went: ${r.cancelErrors[0]}`] : []),
    `export under that load ${reads.exportPerSecond}/s = ${reads.exportShareOfUnloaded} of its unloaded rate, beside ${reads.long.rps} reads/s over ${reads.long.seconds} s (nice 19: it gets what the API leaves)${reads.exportFinishedInWindow ? '; an export finished inside a run' : ''}${r.contended ? '  (foreign load in some export runs)' : ''}`,
  ];
}
