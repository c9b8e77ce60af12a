// Resource persistence: current rows, every version, and index rows, written together in one transaction.
// Stored JSON is returned as text so the HTTP layer can send it without parsing it again.
import { sql, type Transaction } from 'kysely';
import type { Db, PreparedQuery } from './db.js';
import type { CompartmentQuery, Cursor, IndexData, ResourceQuery, TotalKind } from './resource-query.js';
import type { Database } from './schema.js';
import { compartmentStatements, searchStatements, type CurrentRow } from './search-sql.js';
import { then, type MaybePromise } from '../maybe-promise.js';
import { DEFAULT_RESOURCE_CACHE_BYTES, sharedCache, type ResourceCache, type ResourceCacheStats } from './resource-cache.js';
import { chunks, deleteIndex, insertFreshSqlite, insertIndex, withMeta } from './index-writes.js';

export interface StoredResource {
  readonly rid: number;
  readonly type: string;
  readonly id: string;
  readonly versionId: number;
  /** ms since epoch */
  readonly lastUpdated: number;
  readonly deleted: boolean;
  /** The resource JSON as stored (with id and meta), or null for a deleted version */
  readonly json: string | null;
  readonly patientId: string | null;
}

export interface SearchPage {
  readonly rows: readonly StoredResource[];
  readonly total?: number;
  /** Present with `total`: whether it is the number of matches or an upper bound on it */
  readonly totalKind?: TotalKind;
  /** Cursor for the page after this one, when there is one */
  readonly next?: Cursor;
  /** Cursor for the page before this one, when there is one */
  readonly previous?: Cursor;
}

/** A resource object as the store sees it: JSON with a resourceType, an id and optional meta. */
export interface ResourceDocument {
  resourceType: string;
  id?: string;
  meta?: { versionId?: string; lastUpdated?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface WriteInput {
  readonly type: string;
  readonly id: string;
  readonly resource: ResourceDocument;
  readonly index: IndexData;
  /** Version the client says it is updating (If-Match); a mismatch fails with VersionConflictError */
  readonly ifMatch?: number;
  /** 'create' fails with AlreadyExistsError when the id is taken; 'upsert' updates or creates */
  readonly mode: 'create' | 'upsert';
}

export interface WriteResult {
  readonly resource: StoredResource;
  readonly created: boolean;
}

export type { CompartmentQuery } from './resource-query.js';

export class VersionConflictError extends Error {
  constructor(readonly expected: number, readonly actual: number | null) {
    super(actual === null ? `resource does not exist (If-Match expected version ${expected})` : `version ${actual} is current, not ${expected}`);
  }
}
export class AlreadyExistsError extends Error {}
export class NotFoundError extends Error {}


/** rid, version_id, last_updated, deleted, content, patient_id */
type CurrentTuple = [number, number, number, number, string | null, string | null];
const CURRENT_SQL = 'select rid, version_id, last_updated, deleted, content, patient_id from resources where type = ? and id = ?';
// type and id are compared again so a stale cache entry can only miss, never return another resource.
const CURRENT_BY_RID_SQL =
  'select rid, version_id, last_updated, deleted, content, patient_id from resources where rid = ? and type = ? and id = ?';

/**
 * (type, id) → rid, for reads by id. A resource's row is never removed or renumbered (delete is a flag), so an entry
 * can never go stale across instances sharing the database; the read then walks only the table's B-tree instead of
 * the (type, id) index and then the table, which halves the lookup on large stores. Bounded; oldest entries go first.
 */
class RidCache {
  readonly #map = new Map<string, number>();
  constructor(private readonly max: number) {}
  get(key: string): number | undefined {
    return this.#map.get(key);
  }
  set(key: string, rid: number): void {
    if (this.#map.size >= this.max) this.#map.delete(this.#map.keys().next().value!);
    this.#map.set(key, rid);
  }
  delete(key: string): void {
    this.#map.delete(key);
  }
}

export interface ResourceStoreOptions {
  /**
   * Memory for current resources read by id (SQLite only, where the database can say cheaply whether anything
   * changed); 0 turns the cache off. Decided by the first store opened on a Db: every store on it shares one cache,
   * so a write through any of them evicts what it changed.
   */
  readonly cacheBytes?: number;
}

export class ResourceStore {
  readonly #db: Db;
  readonly #readCurrent: PreparedQuery<CurrentTuple>;
  readonly #readCurrentByRid: PreparedQuery<CurrentTuple>;
  readonly #rids = new RidCache(200_000);
  readonly #cache: ResourceCache | undefined;

  constructor(db: Db, opts: ResourceStoreOptions = {}) {
    this.#db = db;
    this.#readCurrent = db.prepareFirst<CurrentTuple>('read_current', CURRENT_SQL);
    this.#readCurrentByRid = db.prepareFirst<CurrentTuple>('read_current_by_rid', CURRENT_BY_RID_SQL);
    this.#cache = sharedCache(db, opts.cacheBytes ?? DEFAULT_RESOURCE_CACHE_BYTES);
  }

  /** The read cache's counters, or undefined when there is none (PostgreSQL, or turned off). */
  cacheStats(): ResourceCacheStats | undefined {
    return this.#cache?.stats();
  }

  /** True when no resource was ever stored (first start). */
  async isEmpty(): Promise<boolean> {
    const row = await this.#db.kysely.selectFrom('resources').select('rid').limit(1).executeTakeFirst();
    return row === undefined;
  }

  /**
   * Current version by id (deleted ones included, so callers can answer 410). The hot path: one prepared statement,
   * answered synchronously on SQLite (see MaybePromise); `await` it anywhere else.
   */
  read(type: string, id: string): MaybePromise<StoredResource | undefined> {
    const key = `${type}/${id}`;
    const cache = this.#cache;
    if (cache === undefined || !cache.usable()) return this.#readUncached(type, id, key);
    const hit = cache.get(key);
    if (hit) return hit;
    const found = this.#readUncached(type, id, key);
    // A usable cache means no transaction is open, so the read above answered synchronously: nothing can have
    // committed between the check and the row.
    if (found && !(found instanceof Promise)) cache.set(key, found);
    return found;
  }

  #readUncached(type: string, id: string, key: string): MaybePromise<StoredResource | undefined> {
    const rid = this.#rids.get(key);
    if (rid === undefined) return this.#readById(type, id, key);
    return then(this.#readCurrentByRid([rid, type, id]), (hit) => {
      if (hit) return fromTuple(type, id, hit);
      this.#rids.delete(key);
      return this.#readById(type, id, key);
    });
  }

  #readById(type: string, id: string, key: string): MaybePromise<StoredResource | undefined> {
    return then(this.#readCurrent([type, id]), (row) => {
      if (!row) return undefined;
      this.#rids.set(key, Number(row[0]));
      return fromTuple(type, id, row);
    });
  }

  async readVersion(type: string, id: string, versionId: number): Promise<StoredResource | undefined> {
    const row = await this.#db.kysely
      .selectFrom('resource_versions as v')
      .innerJoin('resources as r', 'r.rid', 'v.rid')
      .select(['v.rid', 'v.type', 'v.id', 'v.version_id', 'v.last_updated', 'v.deleted', 'v.content', 'r.patient_id'])
      .where('v.type', '=', type)
      .where('v.id', '=', id)
      .where('v.version_id', '=', versionId)
      .executeTakeFirst();
    return row && toStored(row);
  }

  /** Versions newest first, `count` at a time, starting below `beforeVersion` when given. */
  async history(type: string, id: string, count: number, beforeVersion?: number): Promise<{ rows: StoredResource[]; more: boolean; total: number }> {
    const base = this.#db.kysely.selectFrom('resource_versions as v').where('v.type', '=', type).where('v.id', '=', id);
    const rows = await base
      .innerJoin('resources as r', 'r.rid', 'v.rid')
      .select(['v.rid', 'v.type', 'v.id', 'v.version_id', 'v.last_updated', 'v.deleted', 'v.content', 'r.patient_id'])
      .$if(beforeVersion !== undefined, (q) => q.where('v.version_id', '<', beforeVersion!))
      .orderBy('v.version_id', 'desc')
      .limit(count + 1)
      .execute();
    const { n } = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return { rows: rows.slice(0, count).map(toStored), more: rows.length > count, total: Number(n) };
  }

  async search(q: ResourceQuery): Promise<SearchPage> {
    const { page, total: counting, column, backwards } = searchStatements(this.#db.kysely, q);
    const kind: TotalKind = q.total === 'upper-bound' ? 'upper-bound' : 'exact';
    const count = async () => ({ total: Number((await counting!.execute())[0]!.n), totalKind: kind });
    if (!page) return counting ? { rows: [], ...(await count()) } : { rows: [] };

    const rows = await page.execute();
    const more = rows.length > q.count;
    const kept = rows.slice(0, q.count);
    if (backwards) kept.reverse();
    // A first page that holds every match is its own exact total: no count query.
    const totals = !counting ? {} : !q.cursor && !more ? { total: kept.length, totalKind: 'exact' as const } : await count();
    const keyOf = (r: (typeof rows)[number]) => (column === 'r.rid' ? Number(r.rid) : Number(r.sort_key));
    const first = kept[0];
    const last = kept[kept.length - 1];
    const hasNext = backwards ? true : more;
    const hasPrevious = backwards ? more : q.cursor !== undefined;
    return {
      rows: kept.map(toStored),
      ...totals,
      ...(hasNext && last ? { next: { direction: 'after', key: keyOf(last), rid: last.rid } as Cursor } : {}),
      ...(hasPrevious && first ? { previous: { direction: 'before', key: keyOf(first), rid: first.rid } as Cursor } : {}),
    };
  }

  /** How many current resources of each of `types` one patient's compartment holds (one query; absent types: 0). */
  async countByType(patientId: string, types: readonly string[]): Promise<Map<string, number>> {
    if (!types.length) return new Map();
    const rows = await this.#db.kysely
      .selectFrom('resources as r')
      .select(['r.type', (eb) => eb.fn.countAll<number>().as('n')])
      .where('r.type', 'in', [...types])
      .where('r.patient_id', '=', patientId)
      .where('r.deleted', '=', 0)
      .groupBy('r.type')
      .execute();
    return new Map(rows.map((r) => [r.type, Number(r.n)]));
  }

  /** Current, non-deleted resources of one type by id (for _include). */
  async readMany(type: string, ids: readonly string[]): Promise<StoredResource[]> {
    if (ids.length === 0) return [];
    const rows = await this.#db.kysely
      .selectFrom('resources as r')
      .select(['r.rid', 'r.type', 'r.id', 'r.version_id', 'r.last_updated', 'r.deleted', 'r.content', 'r.patient_id'])
      .where('r.type', '=', type)
      .where('r.id', 'in', [...ids])
      .where('r.deleted', '=', 0)
      .execute();
    return rows.map(toStored);
  }

  /**
   * One patient's compartment across types (Patient/$everything), ordered by type then rid: a resource keeps its rid
   * across updates, so paging with the (type, rid) of the last row neither repeats nor skips while others write.
   */
  async compartment(q: CompartmentQuery): Promise<{ rows: StoredResource[]; more: boolean; total?: number }> {
    if (!q.types.length) return q.total ? { rows: [], more: false, total: 0 } : { rows: [], more: false };
    const { page, total: counting } = compartmentStatements(this.#db.kysely, q);
    const rows = await page.execute();
    const more = rows.length > q.count;
    // As in search: a first page holding every match is its own total.
    const total = !counting ? undefined : !q.after && !more && q.count > 0 ? rows.length : Number((await counting.execute())[0]!.n);
    return { rows: rows.slice(0, q.count).map(toStored), more, ...(total !== undefined ? { total } : {}) };
  }

  /** Create or update one resource: version, meta, current row, version row and index rows in one transaction. */
  async write(input: WriteInput): Promise<WriteResult> {
    return this.#writing([`${input.type}/${input.id}`], () =>
      this.#withRetry(() => this.#db.kysely.transaction().execute((trx) => this.#writeIn(trx, input, Date.now()))),
    );
  }

  /** Every write to resources goes through here, so the read cache never serves what it replaced. */
  #writing<T>(keys: readonly string[], write: () => Promise<T>): Promise<T> {
    return this.#cache ? this.#cache.writing(keys, write) : write();
  }

  /** Many resources in one transaction (imports); each is an upsert. Returns how many were created and updated. */
  async writeBatch(inputs: readonly Omit<WriteInput, 'mode' | 'ifMatch'>[]): Promise<{ created: number; updated: number }> {
    return this.#writing(
      inputs.map((i) => `${i.type}/${i.id}`),
      () => this.#writeBatch(inputs),
    );
  }

  async #writeBatch(inputs: readonly Omit<WriteInput, 'mode' | 'ifMatch'>[]): Promise<{ created: number; updated: number }> {
    return this.#db.kysely.transaction().execute(async (trx) => {
      const now = Date.now();
      let created = 0;
      let updated = 0;
      // Look the whole batch up at once, then insert the new ones with multi-row statements.
      const byType = new Map<string, string[]>();
      for (const i of inputs) {
        const ids = byType.get(i.type);
        if (ids) ids.push(i.id);
        else byType.set(i.type, [i.id]);
      }
      const existing = new Map<string, CurrentRow>();
      for (const [type, ids] of byType) {
        for (const chunk of chunks(ids, 500)) {
          const rows = await trx
            .selectFrom('resources')
            .select(['rid', 'type', 'id', 'version_id', 'last_updated', 'deleted', 'content', 'patient_id'])
            .where('type', '=', type)
            .where('id', 'in', chunk)
            .execute();
          for (const r of rows) existing.set(`${r.type}/${r.id}`, r);
        }
      }
      const fresh: { input: (typeof inputs)[number]; json: string }[] = [];
      const later: (typeof inputs)[number][] = [];
      const seen = new Set<string>();
      for (const input of inputs) {
        const key = `${input.type}/${input.id}`;
        if (existing.has(key) || seen.has(key)) later.push(input);
        else {
          seen.add(key);
          fresh.push({ input, json: withMeta(input.resource, input.id, 1, now) });
        }
      }
      if (this.#db.sqliteRun) {
        created += insertFreshSqlite(this.#db.sqliteRun, fresh, now);
      } else {
        for (const chunk of chunks(fresh, 200)) {
          const inserted = await trx
            .insertInto('resources')
            .values(
              chunk.map(({ input, json }) => ({
                type: input.type,
                id: input.id,
                version_id: 1,
                last_updated: now,
                deleted: 0,
                patient_id: input.index.patientId,
                sort_date: input.index.sortDate,
                content: json,
              })),
            )
            .returning(['rid', 'type', 'id'])
            .execute();
          const ridOf = new Map(inserted.map((r) => [`${r.type}/${r.id}`, Number(r.rid)]));
          await trx
            .insertInto('resource_versions')
            .values(chunk.map(({ input, json }) => ({ rid: ridOf.get(`${input.type}/${input.id}`)!, version_id: 1, type: input.type, id: input.id, last_updated: now, deleted: 0, content: json })))
            .execute();
          await insertIndex(trx, chunk.map(({ input }) => ({ rid: ridOf.get(`${input.type}/${input.id}`)!, index: input.index })));
          created += chunk.length;
        }
      }
      // Updates (and repeats of an id within the batch) after the inserts, so each sees the row it replaces.
      for (const input of later) {
        await this.#writeIn(trx, { ...input, mode: 'upsert' }, now);
        updated++;
      }
      return { created, updated };
    });
  }

  /** Soft delete: a new version without content; the current row stays so reads can answer 410 Gone. */
  async delete(type: string, id: string): Promise<{ existed: boolean; versionId?: number }> {
    return this.#writing([`${type}/${id}`], () => this.#delete(type, id));
  }

  async #delete(type: string, id: string): Promise<{ existed: boolean; versionId?: number }> {
    return this.#db.kysely.transaction().execute(async (trx) => {
      const cur = await this.#lockCurrent(trx, type, id);
      if (!cur) return { existed: false };
      if (cur.deleted) return { existed: true, versionId: cur.version_id };
      const version = cur.version_id + 1;
      const now = Math.max(Date.now(), Number(cur.last_updated));
      await trx
        .updateTable('resources')
        .set({ version_id: version, last_updated: now, deleted: 1, content: null })
        .where('rid', '=', cur.rid)
        .execute();
      await trx.insertInto('resource_versions').values({ rid: cur.rid, version_id: version, type, id, last_updated: now, deleted: 1, content: null }).execute();
      await deleteIndex(trx, [cur.rid]);
      return { existed: true, versionId: version };
    });
  }

  async #writeIn(trx: Transaction<Database>, input: WriteInput, clock: number): Promise<WriteResult> {
    const cur = await this.#lockCurrent(trx, input.type, input.id);
    if (input.ifMatch !== undefined && (!cur || cur.deleted || cur.version_id !== input.ifMatch)) {
      throw new VersionConflictError(input.ifMatch, cur && !cur.deleted ? cur.version_id : null);
    }
    if (cur && input.mode === 'create') throw new AlreadyExistsError(`${input.type}/${input.id} already exists`);
    const version = cur ? cur.version_id + 1 : 1;
    // lastUpdated never goes backwards for one resource, even if the clock does.
    const now = cur ? Math.max(clock, Number(cur.last_updated)) : clock;
    const json = withMeta(input.resource, input.id, version, now);
    let rid: number;
    if (cur) {
      rid = cur.rid;
      await trx
        .updateTable('resources')
        .set({ version_id: version, last_updated: now, deleted: 0, patient_id: input.index.patientId, sort_date: input.index.sortDate, content: json })
        .where('rid', '=', rid)
        .execute();
      await deleteIndex(trx, [rid]);
    } else {
      const row = await trx
        .insertInto('resources')
        .values({ type: input.type, id: input.id, version_id: 1, last_updated: now, deleted: 0, patient_id: input.index.patientId, sort_date: input.index.sortDate, content: json })
        .returning('rid')
        .executeTakeFirstOrThrow();
      rid = Number(row.rid);
    }
    await trx.insertInto('resource_versions').values({ rid, version_id: version, type: input.type, id: input.id, last_updated: now, deleted: 0, content: json }).execute();
    await insertIndex(trx, [{ rid, index: input.index }]);
    return {
      created: !cur || Boolean(cur.deleted),
      resource: { rid, type: input.type, id: input.id, versionId: version, lastUpdated: now, deleted: false, json, patientId: input.index.patientId },
    };
  }

  async #lockCurrent(trx: Transaction<Database>, type: string, id: string): Promise<CurrentRow | undefined> {
    return trx
      .selectFrom('resources')
      .select(['rid', 'type', 'id', 'version_id', 'last_updated', 'deleted', 'content', 'patient_id'])
      .where('type', '=', type)
      .where('id', '=', id)
      .$if(this.#db.dialect === 'postgres', (q) => q.forUpdate())
      .executeTakeFirst();
  }

  // Two PostgreSQL transactions creating the same new id race on the unique key; the loser retries and then sees
  // the winner's row (and so updates it, or fails If-Match / create as it should).
  async #withRetry<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const code = (err as { code?: string }).code;
        const unique = code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
        if (!unique || attempt >= 3) throw err;
      }
    }
  }
}

function fromTuple(type: string, id: string, [rid, versionId, lastUpdated, deleted, json, patientId]: CurrentTuple): StoredResource {
  return { rid: Number(rid), type, id, versionId: Number(versionId), lastUpdated: Number(lastUpdated), deleted: Boolean(Number(deleted)), json, patientId };
}

function toStored(row: CurrentRow): StoredResource {
  return {
    rid: Number(row.rid),
    type: row.type,
    id: row.id,
    versionId: Number(row.version_id),
    lastUpdated: Number(row.last_updated),
    deleted: Boolean(Number(row.deleted)),
    json: row.content,
    patientId: row.patient_id,
  };
}

