/**
 * @module storage/channel/history
 * One reader over a channel's whole log: the rows still in its SQLite (ChannelStore) and the
 * sealed segments in R2 (loaded through `load`, which caches them). Every read path of the
 * channel goes through here: history pages (before, after, around a message), a channel
 * socket's `sync`, and the pages a user object resumes a device with. The rules are those of
 * the SQLite-only reads they replace (docs/protocol.md §6.3, §7.2, §8.4): ascending seq, at most
 * `limit` messages and about `maxChars` of text, never empty while a message remains.
 *
 * SQLite holds a contiguous range up to the head (`firstHotSeq()` on); everything below it is
 * sealed. Rows leave SQLite only while this object runs other events (the sealer deletes in
 * slices), so after every await the reader asks again where SQLite starts: a page never skips
 * the rows that left while it read a segment.
 */
import { decodeTime } from "ulid";
import { MAX_PAGE_CHARS, type WireMessage } from "../../protocol/frames.ts";
import type { ChannelStore, SegmentRow } from "./store.ts";

export interface HistoryDeps {
  store: ChannelStore;
  /** The messages of a sealed segment, in seq order, with their hashes (from R2 or a cache). */
  load(segment: SegmentRow): Promise<WireMessage[]>;
}

/** Collects a page: at most `limit` messages and about `maxChars` of text, never empty if a message is offered. */
class Page {
  readonly messages: WireMessage[] = [];
  #chars = 0;
  full = false;

  constructor(
    readonly limit: number,
    readonly maxChars: number,
  ) {}

  /** Takes `m` if it fits; false (and full) once the page is complete. */
  take(m: WireMessage): boolean {
    if (this.full || this.messages.length >= this.limit) {
      this.full = true;
      return false;
    }
    if (this.messages.length > 0 && this.#chars + m.text.length > this.maxChars) {
      this.full = true;
      return false;
    }
    this.messages.push(m);
    this.#chars += m.text.length;
    if (this.messages.length >= this.limit) this.full = true;
    return true;
  }
}

export class ChannelHistory {
  readonly #d: HistoryDeps;

  constructor(deps: HistoryDeps) {
    this.#d = deps;
  }

  /** Messages with `afterSeq < seq`, ascending, the oldest that fit the page. */
  async after(afterSeq: number, limit: number, maxChars = MAX_PAGE_CHARS): Promise<WireMessage[]> {
    const store = this.#d.store;
    const page = new Page(limit, maxChars);
    let seq = afterSeq;
    while (!page.full) {
      if (seq + 1 >= store.firstHotSeq()) {
        for (const m of store.after(seq, limit - page.messages.length, Number.POSITIVE_INFINITY)) {
          if (!page.take(m)) break;
        }
        break;
      }
      const segment = store.segmentOf(seq + 1);
      if (!segment) throw new Error(`seq ${seq + 1} is neither in SQLite nor sealed`);
      const entries = await this.#d.load(segment);
      for (let i = seq + 1 - segment.firstSeq; i < entries.length; i++) {
        if (!page.take(entries[i]!)) break;
      }
      seq = segment.lastSeq;
    }
    return page.messages;
  }

  /** Messages with `minSeq < seq < beforeSeq`, ascending, the newest that fit the page. */
  async before(
    beforeSeq: number,
    minSeq: number,
    limit: number,
    maxChars = MAX_PAGE_CHARS,
  ): Promise<WireMessage[]> {
    const store = this.#d.store;
    const page = new Page(limit, maxChars);
    let top = beforeSeq; // exclusive
    // SQLite first, in this turn: what it holds now is read before any await.
    const firstHot = store.firstHotSeq();
    if (top - 1 >= firstHot) {
      const rows = store.before(top, Math.max(minSeq, firstHot - 1), limit, Number.POSITIVE_INFINITY);
      for (let i = rows.length - 1; i >= 0; i--) if (!page.take(rows[i]!)) break;
      top = Math.min(top, firstHot);
    }
    while (!page.full && top - 1 > minSeq) {
      const segment = store.segmentOf(top - 1);
      if (!segment) throw new Error(`seq ${top - 1} is neither in SQLite nor sealed`);
      const entries = await this.#d.load(segment);
      const low = Math.max(minSeq + 1, segment.firstSeq);
      for (let seq = top - 1; seq >= low; seq--) if (!page.take(entries[seq - segment.firstSeq]!)) break;
      top = segment.firstSeq;
    }
    return page.messages.reverse();
  }

  /** The chain hash after entry `seq` (the genesis hash for 0). */
  async hashAt(seq: number): Promise<string> {
    return this.#d.store.hashAt(seq) ?? (await this.#sealedEntry(seq, "chain hash")).hash;
  }

  /**
   * The channel's message count after entry `seq` (docs/protocol.md §2.1 `msg_count`): what a
   * member's read marker or the head stands for in unread counts.
   */
  async msgCountAt(seq: number): Promise<number> {
    return this.#d.store.msgCountAt(seq) ?? (await this.#sealedEntry(seq, "message count")).msg_count;
  }

  /** Entry `seq` from its sealed segment, for what SQLite no longer knows of it. */
  async #sealedEntry(seq: number, what: string): Promise<WireMessage> {
    const segment = this.#d.store.segmentOf(seq);
    if (!segment) throw new Error(`no ${what} at ${seq}`);
    const entries = await this.#d.load(segment);
    return entries[seq - segment.firstSeq]!;
  }

  /** The message with this id, wherever it is stored, or null. */
  async byId(id: string): Promise<WireMessage | null> {
    const store = this.#d.store;
    const hot = store.hotById(id);
    if (hot) return hot;
    let time: number;
    try {
      time = decodeTime(id);
    } catch {
      return null;
    }
    // A message id's time is its `ts` (ChannelRoom makes the id first and takes `ts` from it), and
    // each segment records the range of its entries' `ts`.
    for (const segment of store.segments()) {
      if (time < segment.minTs || time > segment.maxTs) continue;
      const found = (await this.#d.load(segment)).find((m) => m.id === id);
      if (found) return found;
    }
    return null;
  }
}
