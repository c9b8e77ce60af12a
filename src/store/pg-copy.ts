// Bulk import on PostgreSQL through COPY: the same rows ResourceStore.writeBatch writes for a new resource (current
// row, version 1, the four index tables, from the same computeIndex output), streamed with COPY FROM STDIN instead of
// multi-row INSERTs, which spend most of their time building and parsing bound parameters. Only resources that do not
// exist yet are copied; the rest (re-imports, an id twice in one batch) go to the caller's upsert path afterwards, so
// a re-import makes new versions exactly as the API would.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { WriteInput } from './resources.js';
import { withMeta } from './index-writes.js';

export type CopyInput = Omit<WriteInput, 'mode' | 'ifMatch'>;

type Field = string | number | null;

// COPY's text format: backslash, newline, carriage return and tab are escaped, \N is NULL. PostgreSQL text cannot hold
// U+0000; it becomes U+FFFD, as NulSafeClient does for bound parameters on the API's path.
const SPECIAL = /[\\\n\r\t\u0000]/;
const SPECIAL_ALL = /[\\\n\r\t\u0000]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\u0000': '\uFFFD' };

export function copyField(v: Field): string {
  if (v === null) return '\\N';
  if (typeof v === 'number') return String(v);
  return SPECIAL.test(v) ? v.replace(SPECIAL_ALL, (c) => ESCAPES[c]!) : v;
}

const CHUNK_CHARS = 256 * 1024;

// Rows joined into chunks of about 256 KB: one write per row costs more than the COPY itself.
function* chunked(rows: Iterable<readonly Field[]>): Generator<string> {
  let buf = '';
  for (const row of rows) {
    buf += `${row.map(copyField).join('\t')}\n`;
    if (buf.length >= CHUNK_CHARS) {
      yield buf;
      buf = '';
    }
  }
  if (buf) yield buf;
}

export interface CopyResult {
  /** Resources written as new (version 1) */
  readonly created: number;
  /** Resources that already existed, or repeated an id earlier in the batch: not written, for the upsert path */
  readonly existing: CopyInput[];
}

export class PgCopyWriter {
  readonly #client: pg.Client;
  #connected: Promise<unknown> | undefined;

  constructor(connectionString: string) {
    this.#client = new pg.Client({ connectionString });
    // A dead connection fails the next query; unheard, 'error' would end the process.
    this.#client.on('error', () => undefined);
  }

  /** Copies the resources of `inputs` that do not exist yet, in one transaction. */
  async copyFresh(inputs: readonly CopyInput[]): Promise<CopyResult> {
    this.#connected ??= this.#client.connect();
    await this.#connected;
    const c = this.#client;
    await c.query('begin');
    try {
      const found = await c.query<{ type: string; id: string }>(
        'select type, id from resources where (type, id) in (select * from unnest($1::text[], $2::text[]))',
        [inputs.map((i) => i.type), inputs.map((i) => i.id)],
      );
      const taken = new Set(found.rows.map((r) => `${r.type}/${r.id}`));
      const fresh: CopyInput[] = [];
      const existing: CopyInput[] = [];
      for (const input of inputs) {
        const key = `${input.type}/${input.id}`;
        if (taken.has(key)) existing.push(input);
        else {
          taken.add(key);
          fresh.push(input);
        }
      }
      if (fresh.length) await this.#copy(fresh);
      await c.query('commit');
      return { created: fresh.length, existing };
    } catch (err) {
      await c.query('rollback').catch(() => undefined);
      throw err;
    }
  }

  async #copy(fresh: readonly CopyInput[]): Promise<void> {
    const c = this.#client;
    // Rids from the table's own sequence, so rows written later through the API continue after them.
    const rids = (
      await c.query<{ rid: string }>(`select nextval(pg_get_serial_sequence('resources', 'rid'))::text as rid from generate_series(1, $1::int)`, [fresh.length])
    ).rows.map((r) => Number(r.rid));
    const now = Date.now();
    const json = fresh.map((i) => withMeta(i.resource, i.id, 1, now));
    await this.#stream(
      'resources (rid, type, id, version_id, last_updated, deleted, patient_id, sort_date, content)',
      fresh.map((i, k) => [rids[k]!, i.type, i.id, 1, now, 0, i.index.patientId, i.index.sortDate, json[k]!]),
    );
    await this.#stream(
      'resource_versions (rid, version_id, type, id, last_updated, deleted, content)',
      fresh.map((i, k) => [rids[k]!, 1, i.type, i.id, now, 0, json[k]!]),
    );
    await this.#stream('idx_token (rid, param, system, code)', indexRows(fresh, rids, (ix) => ix.tokens.map((t) => [t.param, t.system, t.code])));
    await this.#stream('idx_string (rid, param, value)', indexRows(fresh, rids, (ix) => ix.strings.map((s) => [s.param, s.value])));
    await this.#stream('idx_date (rid, param, lo, hi)', indexRows(fresh, rids, (ix) => ix.dates.map((d) => [d.param, d.lo, d.hi])));
    await this.#stream('idx_reference (rid, param, target_type, target_id)', indexRows(fresh, rids, (ix) => ix.references.map((r) => [r.param, r.targetType, r.targetId])));
  }

  async #stream(target: string, rows: Iterable<readonly Field[]>): Promise<void> {
    await pipeline(Readable.from(chunked(rows)), this.#client.query(copyFrom(`copy ${target} from stdin`)));
  }

  async close(): Promise<void> {
    if (this.#connected) await this.#client.end();
  }
}

function* indexRows(fresh: readonly CopyInput[], rids: readonly number[], rows: (ix: CopyInput['index']) => Field[][]): Generator<Field[]> {
  for (let k = 0; k < fresh.length; k++) for (const row of rows(fresh[k]!.index)) yield [rids[k]!, ...row];
}
