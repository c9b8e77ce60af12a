// NDJSON output of one resource type, split into files of at most `maxPerFile` lines. Lines are appended a page at a
// time, so memory holds one page, never a file. A file is synced before it is reported: a manifest never names a
// file the disk does not fully hold.
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExportFile } from './export-spec.js';

export class NdjsonFiles {
  #handle: FileHandle | undefined;
  #name = '';
  #count = 0;
  #bytes = 0;
  #files = 0;

  constructor(
    private readonly dir: string,
    private readonly type: string,
    private readonly kind: ExportFile['kind'],
    private readonly maxPerFile: number,
    /** Next manifest position; shared by every type's files of one job */
    private readonly nextSeq: () => number,
    private readonly onFile: (file: ExportFile) => void,
  ) {}

  async append(lines: readonly string[]): Promise<void> {
    let at = 0;
    while (at < lines.length) {
      if (!this.#handle) await this.#openNext();
      const room = this.maxPerFile - this.#count;
      const part = lines.slice(at, at + room);
      const text = `${part.join('\n')}\n`;
      await this.#handle!.write(text);
      this.#count += part.length;
      this.#bytes += Buffer.byteLength(text);
      at += part.length;
      if (this.#count >= this.maxPerFile) await this.close();
    }
  }

  /** Closes the current file (if any lines went into it) and reports it. */
  async close(): Promise<void> {
    const handle = this.#handle;
    if (!handle) return;
    this.#handle = undefined;
    await handle.sync();
    await handle.close();
    this.onFile({ name: this.#name, type: this.type, kind: this.kind, seq: this.nextSeq(), count: this.#count, bytes: this.#bytes });
  }

  /** Closes without reporting (the job was stopped). */
  async abandon(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }

  async #openNext(): Promise<void> {
    this.#files++;
    this.#name = `${this.type}-${this.#files}.ndjson`;
    this.#count = 0;
    this.#bytes = 0;
    this.#handle = await open(join(this.dir, this.#name), 'w');
  }
}
