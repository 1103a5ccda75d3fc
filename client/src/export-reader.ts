/**
 * @module client/export-reader
 * Reads the entries of a "download my data" archive as its bytes arrive (docs/protocol.md
 * §8.12): the server stores every entry uncompressed with its size in its local header, so an
 * entry's end is known from its header and the stream can be walked without its central
 * directory. The web client shows progress from what it has seen (`ExportProgress`); a test or
 * a script can collect the entries themselves.
 */

/** One entry of the archive: its name, its size, and its bytes when they were asked for. */
export interface ExportEntry {
  name: string;
  size: number;
  data?: Uint8Array;
}

const LOCAL = 0x04034b50;

/**
 * Feeds chunks of the archive and calls `onEntry` for each local entry once it is complete.
 * `keep(name)` says whether to keep an entry's bytes (they are skipped otherwise).
 */
export class ExportReader {
  readonly #onEntry: (e: ExportEntry) => void;
  readonly #keep: (name: string) => boolean;
  #buffer = new Uint8Array(0);
  /** The entry whose data is being read, and how much of it is left. */
  #current: { entry: ExportEntry; left: number; parts: Uint8Array[] | null } | null = null;
  #done = false;

  constructor(onEntry: (e: ExportEntry) => void, keep: (name: string) => boolean = () => false) {
    this.#onEntry = onEntry;
    this.#keep = keep;
  }

  /** True once the central directory began: every entry has been seen. */
  get done(): boolean {
    return this.#done;
  }

  push(chunk: Uint8Array): void {
    let bytes = this.#buffer.byteLength > 0 ? concat(this.#buffer, chunk) : chunk;
    while (!this.#done && bytes.byteLength > 0) {
      if (this.#current) {
        const take = Math.min(this.#current.left, bytes.byteLength);
        this.#current.parts?.push(bytes.subarray(0, take));
        this.#current.left -= take;
        bytes = bytes.subarray(take);
        if (this.#current.left === 0) this.#finishEntry();
        continue;
      }
      if (bytes.byteLength < 4) break;
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (view.getUint32(0, true) !== LOCAL) {
        this.#done = true; // the central directory: no more entries
        break;
      }
      if (bytes.byteLength < 30) break;
      const nameLength = view.getUint16(26, true);
      const extraLength = view.getUint16(28, true);
      if (bytes.byteLength < 30 + nameLength + extraLength) break;
      const size = view.getUint32(18, true);
      const name = new TextDecoder().decode(bytes.subarray(30, 30 + nameLength));
      const entry: ExportEntry = { name, size };
      this.#current = { entry, left: size, parts: this.#keep(name) ? [] : null };
      bytes = bytes.subarray(30 + nameLength + extraLength);
      if (size === 0) this.#finishEntry();
    }
    this.#buffer = bytes.slice();
  }

  #finishEntry(): void {
    const c = this.#current!;
    if (c.parts) c.entry.data = c.parts.length === 1 ? c.parts[0]!.slice() : concat(...c.parts);
    this.#current = null;
    this.#onEntry(c.entry);
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * How far an export has come, from the entries seen: its manifest (`export.json`, first) gives
 * every conversation's range of seqs, and each `messages-<from>-<to>.jsonl` entry moves its
 * conversation to `to`. A fraction from 0 to 1.
 */
export class ExportProgress {
  #ranges = new Map<string, { from: number; to: number; at: number }>();
  #total = 0;
  #done = 0;
  readonly reader: ExportReader;

  constructor(onChange: (fraction: number, entry: ExportEntry) => void) {
    this.reader = new ExportReader(
      (entry) => {
        if (entry.name === "export.json" && entry.data) this.#manifest(entry.data);
        const m = /^channels\/([^/]+)\/messages-(\d+)-(\d+)\.jsonl$/.exec(entry.name);
        const range = m ? this.#ranges.get(m[1]!) : undefined;
        if (range) {
          const to = Math.min(Number(m![3]), range.to);
          this.#done += Math.max(0, to - range.at);
          range.at = Math.max(range.at, to);
        }
        onChange(this.fraction, entry);
      },
      (name) => name === "export.json",
    );
  }

  get fraction(): number {
    if (this.reader.done) return 1;
    return this.#total === 0 ? 0 : Math.min(1, this.#done / this.#total);
  }

  #manifest(data: Uint8Array): void {
    const manifest = JSON.parse(new TextDecoder().decode(data)) as {
      channels: { channel_id: string; joined_seq: number; head_seq: number }[];
    };
    for (const c of manifest.channels) {
      this.#ranges.set(c.channel_id, { from: c.joined_seq, to: c.head_seq, at: c.joined_seq });
      this.#total += Math.max(0, c.head_seq - c.joined_seq);
    }
  }
}
