/**
 * @module storage/channel/archive
 * The R2 side of a channel's history: writing a segment and reading it back intact, and loading
 * sealed segments for reads through a bounded cache.
 *
 * **The cache** is in memory, one per isolate, shared by every ChannelRoom the isolate runs
 * (`segmentCache`): decoded segments, least recently used first out, within a budget of about
 * 16 MB (estimated from each segment's text and entry count), so one busy reader cannot grow an
 * isolate's memory (128 MB on Workers) and a channel read by many devices (a resume, a scroll
 * back) loads each segment once. Keys are the segment's R2 key and checksum: a segment rewritten
 * later (issue #19 deletes) has a new checksum and never reads a stale copy. Concurrent loads of
 * one segment share one R2 read. Not the Cache API: a Durable Object lives in one place, and an
 * isolate's memory is the cheapest layer that is always there.
 */
import { toHex } from "../../domain/log-chain.ts";
import type { WireMessage } from "../../protocol/frames.ts";
import { nativeSha256 } from "./native-sha256.ts";
import { readSegment, SegmentCorruptError, segmentStartPrefix } from "./segment.ts";
import type { SegmentRow } from "./store.ts";

/** The cache's budget, in estimated bytes of decoded entries. */
export const SEGMENT_CACHE_BYTES = 16 * 1024 * 1024;

/** What a decoded segment costs in memory: its text (UTF-16) plus ~300 bytes of ids and hash per entry. */
export function segmentCost(s: Pick<SegmentRow, "firstSeq" | "lastSeq" | "textChars">): number {
  return 2 * s.textChars + 300 * (s.lastSeq - s.firstSeq + 1);
}

export class SegmentCache {
  readonly #budget: number;
  readonly #entries = new Map<string, { messages: WireMessage[]; cost: number }>();
  readonly #loading = new Map<string, Promise<WireMessage[]>>();
  #used = 0;
  hits = 0;
  misses = 0;

  constructor(budget: number) {
    this.#budget = budget;
  }

  get used(): number {
    return this.#used;
  }

  /** The cached messages of `key`, or those `load` returns (cached if they fit the budget). */
  async get(key: string, cost: number, load: () => Promise<WireMessage[]>): Promise<WireMessage[]> {
    const hit = this.#entries.get(key);
    if (hit) {
      this.hits++;
      // Most recently used last: a Map iterates in insertion order.
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit.messages;
    }
    const running = this.#loading.get(key);
    if (running) return running;
    this.misses++;
    const loading = load().finally(() => this.#loading.delete(key));
    this.#loading.set(key, loading);
    const messages = await loading;
    if (cost <= this.#budget && !this.#entries.has(key)) {
      this.#entries.set(key, { messages, cost });
      this.#used += cost;
      for (const [k, e] of this.#entries) {
        if (this.#used <= this.#budget) break;
        this.#entries.delete(k);
        this.#used -= e.cost;
      }
    }
    return messages;
  }

  clear(): void {
    this.#entries.clear();
    this.#used = 0;
  }

  /** Forgets every cached copy of the object `key` (it was rewritten without a deleted text). */
  drop(key: string): void {
    for (const [k, e] of this.#entries) {
      if (!k.startsWith(`${key}#`)) continue;
      this.#entries.delete(k);
      this.#used -= e.cost;
    }
  }
}

/** Every ChannelRoom of this isolate reads sealed segments through this one cache. */
export const segmentCache = new SegmentCache(SEGMENT_CACHE_BYTES);

/** The hex SHA-256 of an object's bytes: a segment's checksum. */
export function checksumOf(bytes: Uint8Array): string {
  return toHex(nativeSha256(bytes));
}

/** The archive could not be read (R2 failed): try again later. */
export class ArchiveUnavailableError extends Error {
  override readonly name = "ArchiveUnavailableError";
}

export class Archive {
  readonly #bucket: R2Bucket;
  readonly #cache: SegmentCache;

  constructor(bucket: R2Bucket, cache: SegmentCache = segmentCache) {
    this.#bucket = bucket;
    this.#cache = cache;
  }

  /** Stores a segment's object (R2 checks the upload against its SHA-256 too). */
  async put(key: string, bytes: Uint8Array, checksum: string): Promise<void> {
    await this.#bucket.put(key, bytes, {
      sha256: checksum,
      httpMetadata: { contentType: "application/gzip" },
    });
  }

  /**
   * Deletes objects of this channel that start at the same seq as `key` but are not `key`: what
   * a seal interrupted after its put left when the segment size changed before the retry. So
   * the bucket holds exactly the recorded segments (the audit relies on it).
   */
  async dropLeftovers(channelId: string, firstSeq: number, key: string): Promise<void> {
    const listed = await this.#bucket.list({ prefix: segmentStartPrefix(channelId, firstSeq) });
    const stale = listed.objects.map((o) => o.key).filter((k) => k !== key);
    if (stale.length > 0) await this.#bucket.delete(stale);
  }

  /** Forgets this channel's cached copies of segment `key` (rewritten). */
  forget(key: string): void {
    this.#cache.drop(key);
  }

  /** The entries of a sealed segment as R2 holds them, uncached (for a rewrite). */
  async entries(segment: SegmentRow): Promise<{ bytes: number; messages: WireMessage[] }> {
    const bytes = await this.#read(segment.key);
    const actual = checksumOf(bytes);
    if (actual !== segment.checksum && actual !== segment.scrubChecksum)
      throw new SegmentCorruptError(`${segment.key}: its bytes do not match the recorded checksum`);
    const { messages } = await readSegment(bytes);
    return { bytes: bytes.length, messages };
  }

  /** Reads an object back and checks its bytes against `checksum`; throws if they differ. */
  async verify(key: string, checksum: string): Promise<void> {
    const bytes = await this.#read(key);
    const actual = checksumOf(bytes);
    if (actual !== checksum) throw new SegmentCorruptError(`${key}: read back ${actual}, wrote ${checksum}`);
  }

  /**
   * A sealed segment's messages, from the cache or R2. The object must match the checksum and
   * range its record holds (`SegmentCorruptError` otherwise, never a silent substitute).
   */
  load(segment: SegmentRow): Promise<WireMessage[]> {
    return this.#cache.get(`${segment.key}#${segment.checksum}`, segmentCost(segment), async () => {
      const bytes = await this.#read(segment.key);
      // A rewrite without a deleted text (scrubber.ts) may be in R2 before its record: either
      // object is the segment until then.
      const actual = checksumOf(bytes);
      if (actual !== segment.checksum && actual !== segment.scrubChecksum)
        throw new SegmentCorruptError(`${segment.key}: its bytes do not match the recorded checksum`);
      const { header, messages } = await readSegment(bytes);
      if (
        header.first_seq !== segment.firstSeq ||
        header.last_seq !== segment.lastSeq ||
        header.prev_hash !== segment.prevHash ||
        header.last_hash !== segment.lastHash ||
        messages.at(-1)?.hash !== segment.lastHash
      )
        throw new SegmentCorruptError(`${segment.key}: its header does not match its record`);
      return messages;
    });
  }

  async #read(key: string): Promise<Uint8Array> {
    let object: R2ObjectBody | null;
    try {
      object = await this.#bucket.get(key);
    } catch (err) {
      throw new ArchiveUnavailableError(`R2 get ${key}: ${String(err)}`);
    }
    if (!object) throw new SegmentCorruptError(`${key} is missing`);
    return new Uint8Array(await object.arrayBuffer());
  }
}
