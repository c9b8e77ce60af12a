// Current resources kept in memory for reads by id: a hit serves the stored JSON without running a statement, which
// on the benchmark database was a fifth of a read's CPU. Kept current: once per event-loop turn the cache asks the
// database whether another connection (another worker process, another instance on the same file) has committed
// since it last looked, and if so evicts exactly the resources changed since then, read from a change sequence.
// Writes on the cache's own connection evict what they touched when they finish; the cache stands aside meanwhile.

import type { Db } from './db.js';
import type { StoredResource } from './resources.js';

/** What the cache needs to learn of changes made through other connections. */
export interface ChangeFeed {
  /** Changes whenever another connection commits; undefined while this connection has a transaction open. */
  version(): number | undefined;
  /** The newest change's sequence number now. */
  latest(): number;
  /** Resources changed after `seq`, oldest first, at most `limit` of them. */
  since(seq: number, limit: number): readonly { readonly seq: number; readonly key: string }[];
}

export interface ResourceCacheStats {
  readonly entries: number;
  /** Characters of stored JSON held (≈ bytes for the ASCII JSON the store writes) */
  readonly bytes: number;
  readonly maxBytes: number;
  readonly hits: number;
  readonly misses: number;
  /** Entries evicted because another connection changed their resource */
  readonly invalidated: number;
}

/** The cache's size unless configured (`RESOURCE_CACHE_MB`) */
export const DEFAULT_RESOURCE_CACHE_BYTES = 64 * 1024 * 1024;

/** Past this many changes since the last look, dropping everything is cheaper than evicting one by one. */
const MAX_CHANGES_PER_SYNC = 5000;
/**
 * The largest entry kept, as a share of the budget (but at least MIN_ENTRY_CAP): a DocumentReference or
 * DiagnosticReport carrying a scanned PDF inline would otherwise push out thousands of small resources to make room
 * for one that is read rarely, and every read of the others would pay for it.
 */
const ENTRY_SHARE = 256;
const MIN_ENTRY_CAP = 16 * 1024;
/** Bookkeeping per entry besides its JSON: key, object, map slot */
const ENTRY_OVERHEAD = 200;

interface Entry {
  readonly row: StoredResource;
  /** Read since eviction last passed it: it gets another round instead of going (the CLOCK approximation of LRU) */
  used: boolean;
}

export class ResourceCache {
  // Map order is insertion order. A hit only marks its entry; eviction walks from the front, sending marked entries
  // to the back unmarked and dropping the first unmarked one. Moving every hit to the back (exact LRU) cost ~2 µs a
  // read in delete + set on the Map; marking costs nothing.
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;
  #version: number | undefined;
  #seq: number | undefined;
  #writes = 0;
  #checkedThisTurn = false;
  readonly #newTurn = () => {
    this.#checkedThisTurn = false;
  };
  #hits = 0;
  #misses = 0;
  #invalidated = 0;

  constructor(
    private readonly feed: ChangeFeed,
    private readonly maxBytes: number,
  ) {
    this.#maxEntryBytes = Math.min(maxBytes, Math.max(Math.floor(maxBytes / ENTRY_SHARE), MIN_ENTRY_CAP));
  }

  readonly #maxEntryBytes: number;

  /**
   * Brings the cache up to date with other connections' commits; false means it must not be used for this read (a
   * write of ours is under way, or a transaction is open on the connection). The lookup and, after a miss, the
   * database read follow in the same synchronous step, so nothing can commit in between unseen.
   *
   * The database is asked once per event-loop turn, not once per read: asking is a read transaction (two fcntl
   * locks and a stat on every call), which cost ~6 µs, a third of what a hit saves. So writes made through this
   * connection are seen at once, and a commit made through another (another worker process on the same file) is
   * seen from this process's next turn on: at most one turn late, well under a millisecond when idle and a few
   * under full load. Revocations and the like do not pass through here; only resource reads by id do.
   */
  usable(): boolean {
    if (this.#writes > 0) return false;
    if (this.#checkedThisTurn) return true;
    const v = this.feed.version();
    if (v === undefined) return false;
    this.#checkedThisTurn = true;
    setImmediate(this.#newTurn);
    if (v === this.#version) return true;
    // The version is read before the changes: a commit landing between the two is in the changes, and changes the
    // version again, so the next read looks once more (and finds nothing new) rather than missing it.
    // First look: nothing is cached yet (entries are only added after a look), so there is nothing to evict.
    if (this.#seq === undefined) {
      this.#seq = this.feed.latest();
    } else {
      const changes = this.feed.since(this.#seq, MAX_CHANGES_PER_SYNC);
      if (changes.length >= MAX_CHANGES_PER_SYNC) {
        this.#invalidated += this.#entries.size;
        this.#entries.clear();
        this.#bytes = 0;
        this.#seq = this.feed.latest();
      } else {
        for (const c of changes) {
          if (this.#delete(c.key)) this.#invalidated++;
          this.#seq = c.seq;
        }
      }
    }
    this.#version = v;
    return true;
  }

  /** Only after `usable()` returned true in the same synchronous step. */
  get(key: string): StoredResource | undefined {
    const hit = this.#entries.get(key);
    if (hit === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    hit.used = true;
    return hit.row;
  }

  /** Only after `usable()` returned true in the same synchronous step, with the row just read from the database. */
  set(key: string, row: StoredResource): void {
    const size = sizeOf(row);
    if (size > this.#maxEntryBytes) return;
    this.#delete(key);
    this.#entries.set(key, { row, used: false });
    this.#bytes += size;
    while (this.#bytes > this.maxBytes) {
      const [oldest, entry] = this.#entries.entries().next().value!;
      this.#entries.delete(oldest);
      if (entry.used && oldest !== key) {
        entry.used = false;
        this.#entries.set(oldest, entry);
      } else {
        this.#bytes -= sizeOf(entry.row);
      }
    }
  }

  /**
   * Runs a write of this connection to the resources `keys`: the cache stands aside until it has finished (its
   * commit does not change the version other connections' commits do), then forgets them. A failed write may have
   * changed nothing, but forgetting costs only a re-read.
   */
  async writing<T>(keys: readonly string[], write: () => Promise<T>): Promise<T> {
    this.#writes++;
    try {
      return await write();
    } finally {
      for (const key of keys) this.#delete(key);
      this.#writes--;
    }
  }

  stats(): ResourceCacheStats {
    return { entries: this.#entries.size, bytes: this.#bytes, maxBytes: this.maxBytes, hits: this.#hits, misses: this.#misses, invalidated: this.#invalidated };
  }

  #delete(key: string): boolean {
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    this.#entries.delete(key);
    this.#bytes -= sizeOf(entry.row);
    return true;
  }
}

const sizeOf = (row: StoredResource) => (row.json?.length ?? 0) + ENTRY_OVERHEAD;

// One cache per database handle, shared by every store on it, so a write through any of them evicts what it changed.
const caches = new WeakMap<Db, ResourceCache | null>();

export function sharedCache(db: Db, bytes: number): ResourceCache | undefined {
  let cache = caches.get(db);
  if (cache === undefined) {
    const feed = sqliteChangeFeed(db);
    cache = feed && bytes > 0 ? new ResourceCache(feed, bytes) : null;
    caches.set(db, cache);
  }
  return cache ?? undefined;
}

/**
 * Every write adds a resource_versions row and rows are never deleted, so on SQLite (one writer at a time) its rowid
 * orders the changes as they were committed: the change sequence the read cache catches up from.
 */
function sqliteChangeFeed(db: Db): ChangeFeed | undefined {
  const { dataVersion, sqliteAll } = db;
  if (!dataVersion || !sqliteAll) return undefined;
  return {
    version: dataVersion,
    latest: () => Number(sqliteAll('select coalesce(max(rowid), 0) from resource_versions', [])[0]![0]),
    since: (seq, limit) =>
      sqliteAll('select rowid, type, id from resource_versions where rowid > ? order by rowid limit ?', [seq, limit]).map(([rowid, type, id]) => ({
        seq: Number(rowid),
        key: `${String(type)}/${String(id)}`,
      })),
  };
}
