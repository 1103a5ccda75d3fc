/**
 * @module durable-objects/channel-room/sealer
 * Moves a channel's old messages from its SQLite into immutable segments in R2
 * (docs/architecture.md "The archive"), in slices: started right after the message that makes
 * work due (`kick`, in a turn of its own) and by the alarm every message keeps armed, so work
 * a crash interrupted is finished when the object restarts. Locally, workerd delivers no alarm
 * while a channel keeps receiving messages (measured: none in 600 ms of steady sends), so the
 * alarm alone would let a busy channel's rows pile up until it paused.
 *
 * A segment is the oldest run of `segmentMessages` messages not yet sealed (fewer if their text
 * passes MAX_SEGMENT_CHARS). It is sealed as soon as the run is complete, while its rows are
 * still in SQLite, in four steps, each safe to repeat after a crash between any two:
 *
 * 1. **put** the object (same key for the same run, so a repeat overwrites it; an object a crash
 *    left at the same first seq with another range, after the segment size changed, goes first);
 * 2. **verify**: read it back and compare its SHA-256 with what was written;
 * 3. **record** it in `segments` (from then on it may serve reads);
 * 4. **delete** its rows, in slices, once the whole segment is older than the newest
 *    `hotMessages`, keeping their idempotency keys (`sealed_keys`).
 *
 * Sealing early and deleting late is what bounds the rows: the segment of the oldest rows is in
 * R2 long before those rows must go, so `makeRoom` (on the message path) can always keep the
 * table at `hotMessages + segmentMessages` rows by dropping one sealed row per message when the
 * sealer's deletes fall behind. While R2 fails nothing is sealed and nothing is deleted: the channel
 * keeps taking messages (never refused for the archive's sake) and catches up when R2 returns.
 *
 * The same runs rewrite the segments a delete reached (./scrubber.ts), one R2 writer for both.
 *
 * No step blocks the channel longer than an ordinary commit: rows are read and compressed
 * `SLICE_MESSAGES` at a time and deleted `DELETE_SLICE` at a time, with an await between slices,
 * so messages are stored and delivered in between.
 */
import type { Archive } from "../../storage/channel/archive.ts";
import { checksumOf, segmentCache } from "../../storage/channel/archive.ts";
import { SEGMENT_FORMAT, SegmentWriter, segmentKey } from "../../storage/channel/segment.ts";
import type { ChannelStore } from "../../storage/channel/store.ts";
import { scrubSegment } from "./scrubber.ts";

/** A segment also ends once its text reaches this many characters (its decoded size stays bounded). */
export const MAX_SEGMENT_CHARS = 2_000_000;
/** Rows read and compressed per turn while sealing. */
const SLICE_MESSAGES = 200;
/** Rows deleted per commit. */
const DELETE_SLICE = 500;

export type SealStep = "put" | "verify" | "record" | "delete";

/** What `ChannelRoom.archiveStats` reports (tests and the benchmark). */
export interface ArchiveStats {
  head_seq: number;
  /** Message rows in SQLite now, and the most since this object started. */
  hot_rows: number;
  hot_rows_high_water: number;
  first_hot_seq: number;
  sealed_through: number;
  segments: number;
  /** Compressed bytes of every segment in R2. */
  sealed_bytes: number;
  /** The object's whole SQLite database. */
  database_bytes: number;
  /** This isolate's cache of archived segments. */
  cache: { hits: number; misses: number; bytes: number };
}

export interface SealerDeps {
  store: ChannelStore;
  archive: Archive;
  channelId(): string;
  segmentMessages: number;
  hotMessages: number;
  now(): number;
  /** Test seam: stop, as a crash would, right after this step (ChannelRoom.faults). */
  crashAfter(): SealStep | null;
  /** A run started by `kick` failed (the alarm armed with the message retries it). */
  onError(err: unknown): void;
  /** A segment was sealed and recorded: its messages, compressed bytes, and ms from plan to record. */
  onSealed?(messages: number, bytes: number, ms: number): void;
}

export class Sealer {
  readonly #d: SealerDeps;
  #running: Promise<void> | null = null;
  #kicked: ReturnType<typeof setTimeout> | null = null;
  /** After a failed run, messages start no run before this (the alarm retries with backoff). */
  #quietUntil = 0;
  #failures = 0;
  /** The most rows `messages` has held since this object started (tests and the benchmark). */
  highWater = 0;

  constructor(deps: SealerDeps) {
    this.#d = deps;
  }

  /**
   * True when there is work: a complete run to seal, a sealed segment wholly past the hot window,
   * or a segment to rewrite without a deleted text.
   */
  due(): boolean {
    const store = this.#d.store;
    return this.#sealDue() || this.#deletableThrough() >= store.firstHotSeq() || store.toScrub().length > 0;
  }

  /**
   * On the message path, before a row is added: keeps the table within `hotMessages +
   * segmentMessages` rows by dropping the oldest sealed rows the sealer has not deleted yet (one
   * per message, in that message's commit). Rows not sealed yet stay (R2 is behind or failing).
   */
  makeRoom(): void {
    const store = this.#d.store;
    const over = store.hotCount() + 1 - (this.#d.hotMessages + this.#d.segmentMessages);
    if (over > 0) store.dropSealed(store.firstHotSeq() + over - 1, over);
  }

  stats(databaseBytes: number): ArchiveStats {
    const store = this.#d.store;
    const segments = store.segments();
    return {
      head_seq: store.channel()?.headSeq ?? 0,
      hot_rows: store.hotCount(),
      hot_rows_high_water: this.highWater,
      first_hot_seq: store.firstHotSeq(),
      sealed_through: store.sealedThrough(),
      segments: segments.length,
      sealed_bytes: segments.reduce((n, s) => n + s.bytes, 0),
      database_bytes: databaseBytes,
      cache: { hits: segmentCache.hits, misses: segmentCache.misses, bytes: segmentCache.used },
    };
  }

  /** Records the table's size after a message was added. */
  noteRows(): void {
    this.highWater = Math.max(this.highWater, this.#d.store.hotCount());
  }

  /** Starts a run in a turn of its own, unless one is running or about to. */
  kick(): void {
    if (this.#running || this.#kicked || this.#d.now() < this.#quietUntil) return;
    this.#kicked = setTimeout(() => {
      this.#kicked = null;
      this.run().catch((err) => this.#d.onError(err));
    }, 0);
  }

  /**
   * Seals and deletes until nothing is due; one run at a time. After a failure (R2 down, say)
   * messages stop starting runs for a while, doubling from a second to a minute.
   */
  run(): Promise<void> {
    this.#running ??= this.#run()
      .then(
        () => {
          this.#failures = 0;
          this.#quietUntil = 0;
        },
        (err: unknown) => {
          this.#quietUntil = this.#d.now() + Math.min(60_000, 1_000 * 2 ** this.#failures++);
          throw err;
        },
      )
      .finally(() => {
        this.#running = null;
      });
    return this.#running;
  }

  async #run(): Promise<void> {
    while (this.#sealDue()) await this.#sealNext();
    await this.#deleteDue();
    for (let segment = this.#d.store.toScrub()[0]; segment; segment = this.#d.store.toScrub()[0])
      await scrubSegment(this.#d.store, this.#d.archive, segment);
  }

  #sealDue(): boolean {
    const store = this.#d.store;
    return (store.channel()?.headSeq ?? 0) - store.sealedThrough() >= this.#d.segmentMessages;
  }

  /**
   * The last seq whose row may go: the end of the newest sealed segment that lies wholly before
   * the newest `hotMessages`. Whole segments only, so deletes come once per segment, not a row
   * per message (which made every message start a run).
   */
  #deletableThrough(): number {
    const store = this.#d.store;
    const limit = (store.channel()?.headSeq ?? 0) - this.#d.hotMessages;
    const segments = store.segments();
    let lo = 0;
    let hi = segments.length - 1;
    let through = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (segments[mid]!.lastSeq <= limit) {
        through = segments[mid]!.lastSeq;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return through;
  }

  async #sealNext(): Promise<void> {
    const store = this.#d.store;
    const channelId = this.#d.channelId();
    const started = this.#d.now();
    const first = store.sealedThrough() + 1;
    // The run: up to segmentMessages rows, cut once its text passes MAX_SEGMENT_CHARS. Its rows
    // cannot leave meanwhile (only sealed rows are deleted), and rows never change.
    const plan = store.sealPlan(first - 1, this.#d.segmentMessages);
    let chars = 0;
    let count = 0;
    let minTs = Number.POSITIVE_INFINITY;
    let maxTs = 0;
    for (const row of plan) {
      if (count > 0 && chars + row.chars > MAX_SEGMENT_CHARS) break;
      chars += row.chars;
      minTs = Math.min(minTs, row.ts);
      maxTs = Math.max(maxTs, row.ts);
      count++;
    }
    const last = first + count - 1;
    const prevHash = store.hashAt(first - 1);
    const lastHash = store.hashAt(last);
    if (count === 0 || plan[0]?.seq !== first || prevHash === undefined || lastHash === undefined)
      throw new Error(`cannot seal from ${first}: its rows or the hash before them are missing`);
    const key = segmentKey(channelId, first, last);
    const writer = new SegmentWriter({
      format: SEGMENT_FORMAT,
      channel_id: channelId,
      first_seq: first,
      last_seq: last,
      count,
      prev_hash: prevHash,
      last_hash: lastHash,
      text_chars: chars,
      min_ts: minTs,
      max_ts: maxTs,
    });
    let lastMsgCount = 0;
    for (let seq = first - 1; seq < last; ) {
      const rows = store.rows(seq, Math.min(SLICE_MESSAGES, last - seq));
      if (rows[0]?.seq !== seq + 1) throw new Error(`rows after ${seq} left before they were sealed`);
      await writer.add(rows);
      seq = rows.at(-1)!.seq;
      lastMsgCount = rows.at(-1)!.msg_count;
    }
    const bytes = await writer.finish();
    const checksum = checksumOf(bytes);

    await this.#d.archive.dropLeftovers(channelId, first, key);
    await this.#d.archive.put(key, bytes, checksum);
    this.#crashPoint("put");
    await this.#d.archive.verify(key, checksum);
    this.#crashPoint("verify");
    store.recordSegment({
      firstSeq: first,
      lastSeq: last,
      key,
      bytes: bytes.length,
      checksum,
      textChars: chars,
      prevHash,
      lastHash,
      minTs,
      maxTs,
      sealedAt: this.#d.now(),
      lastMsgCount,
    });
    // A delete while the run was being written may have taken a text from a row already copied
    // into the object: the segment is then rewritten without it, as any segment a delete reaches.
    if (store.redactedIn(first, last)) store.flagScrub(first);
    this.#crashPoint("record");
    this.#d.onSealed?.(count, bytes.length, this.#d.now() - started);
  }

  async #deleteDue(): Promise<void> {
    const store = this.#d.store;
    let deleted = 0;
    for (;;) {
      const n = store.dropSealed(this.#deletableThrough(), DELETE_SLICE);
      if (n === 0) break;
      deleted += n;
      // Each slice is its own commit: the messages that arrive meanwhile are stored between them.
      await new Promise((r) => setTimeout(r, 0));
    }
    if (deleted > 0) this.#crashPoint("delete");
  }

  #crashPoint(step: SealStep): void {
    if (this.#d.crashAfter() === step) throw new Error(`fault injected: sealing stopped after ${step}`);
  }
}
