/**
 * @module workers/export/zip-writer
 * A ZIP archive written as a stream (APPNOTE 6.3.10), for "download my data": entries are
 * stored (not compressed: photos and files are compressed already, and a reader can then find
 * each entry by walking the stream, which is how the web client shows progress), each with its
 * size and CRC-32 in its local header, so nothing is written after an entry's data. Only the
 * central directory (about 100 bytes per entry) is held until the end. Offsets past 4 GiB and
 * more than 65,535 entries use the ZIP64 records; an entry itself is at most 4 GiB (an
 * attachment is at most 25 MiB, a file of messages a few MB).
 */
import { crc32 } from "node:zlib";

const LOCAL = 0x04034b50;
const CENTRAL = 0x02014b50;
const END = 0x06054b50;
const END64 = 0x06064b50;
const LOCATOR64 = 0x07064b50;
const UTF8_NAMES = 0x0800;
const MAX32 = 0xffffffff;

interface CentralEntry {
  name: Uint8Array;
  crc: number;
  size: number;
  offset: number;
  time: number;
  date: number;
}

export class ZipWriter {
  readonly #out: WritableStreamDefaultWriter<Uint8Array>;
  readonly #entries: CentralEntry[] = [];
  readonly #encoder = new TextEncoder();
  #offset = 0;
  /** Bytes written so far. */
  get written(): number {
    return this.#offset;
  }

  constructor(out: WritableStreamDefaultWriter<Uint8Array>) {
    this.#out = out;
  }

  /** Adds an entry whose bytes are in hand (a file of messages, the manifest). */
  async addBytes(name: string, data: Uint8Array, modified = Date.now()): Promise<void> {
    await this.#header(name, data.byteLength, crc32(data), modified);
    await this.#write(data);
  }

  /** Adds an entry streamed from elsewhere (an attachment from R2), whose size and CRC-32 are known. */
  async addStream(
    name: string,
    size: number,
    crc: number,
    body: ReadableStream<Uint8Array>,
    modified = Date.now(),
  ): Promise<void> {
    await this.#header(name, size, crc, modified);
    let seen = 0;
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      seen += value.byteLength;
      await this.#write(value);
    }
    if (seen !== size) throw new Error(`${name}: ${seen} bytes, expected ${size}`);
  }

  /** Writes the central directory and the end records. */
  async finish(): Promise<void> {
    const start = this.#offset;
    for (const e of this.#entries) {
      const zip64 = e.offset >= MAX32;
      const extra = zip64 ? 12 : 0;
      const b = new Uint8Array(46 + e.name.byteLength + extra);
      const v = new DataView(b.buffer);
      v.setUint32(0, CENTRAL, true);
      v.setUint16(4, zip64 ? 45 : 20, true); // made by
      v.setUint16(6, zip64 ? 45 : 20, true); // needed
      v.setUint16(8, UTF8_NAMES, true);
      v.setUint16(10, 0, true); // stored
      v.setUint16(12, e.time, true);
      v.setUint16(14, e.date, true);
      v.setUint32(16, e.crc, true);
      v.setUint32(20, e.size, true);
      v.setUint32(24, e.size, true);
      v.setUint16(28, e.name.byteLength, true);
      v.setUint16(30, extra, true);
      v.setUint32(42, zip64 ? MAX32 : e.offset, true);
      b.set(e.name, 46);
      if (zip64) {
        v.setUint16(46 + e.name.byteLength, 0x0001, true);
        v.setUint16(48 + e.name.byteLength, 8, true);
        v.setBigUint64(50 + e.name.byteLength, BigInt(e.offset), true);
      }
      await this.#write(b);
    }
    const size = this.#offset - start;
    const count = this.#entries.length;
    const needs64 = start >= MAX32 || size >= MAX32 || count >= 0xffff;
    if (needs64) {
      const end64 = this.#offset;
      const r = new Uint8Array(56 + 20);
      const v = new DataView(r.buffer);
      v.setUint32(0, END64, true);
      v.setBigUint64(4, 44n, true);
      v.setUint16(12, 45, true);
      v.setUint16(14, 45, true);
      v.setBigUint64(24, BigInt(count), true);
      v.setBigUint64(32, BigInt(count), true);
      v.setBigUint64(40, BigInt(size), true);
      v.setBigUint64(48, BigInt(start), true);
      v.setUint32(56, LOCATOR64, true);
      v.setBigUint64(64, BigInt(end64), true);
      v.setUint32(72, 1, true);
      await this.#write(r);
    }
    const end = new Uint8Array(22);
    const v = new DataView(end.buffer);
    v.setUint32(0, END, true);
    v.setUint16(8, Math.min(count, 0xffff), true);
    v.setUint16(10, Math.min(count, 0xffff), true);
    v.setUint32(12, Math.min(size, MAX32), true);
    v.setUint32(16, Math.min(start, MAX32), true);
    await this.#write(end);
  }

  async #header(name: string, size: number, crc: number, modified: number): Promise<void> {
    if (size >= MAX32) throw new Error(`${name}: an entry is at most 4 GiB`);
    const encoded = this.#encoder.encode(name);
    const { time, date } = dosTime(modified);
    this.#entries.push({ name: encoded, crc: crc >>> 0, size, offset: this.#offset, time, date });
    const b = new Uint8Array(30 + encoded.byteLength);
    const v = new DataView(b.buffer);
    v.setUint32(0, LOCAL, true);
    v.setUint16(4, 20, true);
    v.setUint16(6, UTF8_NAMES, true);
    v.setUint16(8, 0, true);
    v.setUint16(10, time, true);
    v.setUint16(12, date, true);
    v.setUint32(14, crc >>> 0, true);
    v.setUint32(18, size, true);
    v.setUint32(22, size, true);
    v.setUint16(26, encoded.byteLength, true);
    v.setUint16(28, 0, true);
    b.set(encoded, 30);
    await this.#write(b);
  }

  async #write(bytes: Uint8Array): Promise<void> {
    this.#offset += bytes.byteLength;
    // Waits while the reader is behind: memory stays bounded by the stream's queue.
    await this.#out.ready;
    await this.#out.write(bytes);
  }
}

/** MS-DOS time and date (UTC), as ZIP headers carry them. */
function dosTime(ms: number): { time: number; date: number } {
  const d = new Date(ms);
  return {
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
    date: ((Math.max(1980, d.getUTCFullYear()) - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
  };
}
