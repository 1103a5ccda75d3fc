/**
 * @module durable-objects/channel-room/search
 * A channel's full-text search (docs/architecture.md "Search"): the index lives in the channel's
 * own SQLite (storage/channel/search-index.ts) and covers its whole log, archived history
 * included, because entries stay in the index when their rows leave for R2.
 *
 * **Off the message path.** A send writes nothing here: the message that finds the indexer idle
 * starts a timer, and a second later the indexer takes every message since the last batch in one
 * commit (rows read from SQLite, or from R2 for a history older than the index, as after the
 * migration that added it). A query reads those newest, not yet indexed messages directly, so a
 * message is found the moment it is stored. A crash loses nothing: the mark of what is indexed is
 * written with the entries, and the alarm every message keeps armed starts the indexer again.
 *
 * **A query** asks the index for seqs, newest first, after the member's join point and before
 * its cursor, reads each hit through the history reader (SQLite or R2, cached), confirms it
 * (domain/search-terms.ts) and returns its text around the match. It reads at most
 * `MAX_CHECKS` candidates per page; a page cut short says where to continue.
 */
import { attachmentLabel } from "../../domain/attachments.ts";
import {
  confirms,
  highlights,
  indexTerms,
  matchesText,
  type SearchQuery,
  snippet,
} from "../../domain/search-terms.ts";
import type { SearchHit } from "../../protocol/api.ts";
import type { WireMessage } from "../../protocol/frames.ts";
import type { ChannelHistory } from "../../storage/channel/history.ts";
import type { SearchIndex } from "../../storage/channel/search-index.ts";
import type { ChannelStore } from "../../storage/channel/store.ts";

/** The indexer runs this long after the message that found it idle: one commit per batch. */
export const INDEX_DELAY_MS = 1_000;
/** Messages indexed per commit (and per R2 read, for history older than the index). */
const INDEX_SLICE = 500;
/**
 * And at most about this many UTF-16 units of text per commit (at least one message): a slice
 * of maximum-length messages (100,000 code points each) would otherwise be one synchronous turn
 * of 50 million characters, holding up the channel's messages behind it.
 */
const INDEX_SLICE_CHARS = 500_000;
/** Messages not indexed yet that a query reads itself, newest first; older ones wait for the index. */
const UNINDEXED_SCAN = 2_000;
/** Candidates a query page reads and confirms at most. */
const MAX_CHECKS = 200;

export interface SearchDeps {
  index: SearchIndex;
  store: ChannelStore;
  history: ChannelHistory;
  head(): number;
  setTimer(fn: () => void, ms: number): void;
  onError(err: unknown): void;
}

export interface SearchResult {
  hits: SearchHit[];
  nextBefore: number | null;
  partial: boolean;
}

/**
 * A log entry as search sees it: a message as it reads now (its newest edit's text; nothing once
 * deleted, docs/protocol.md §6.10), from an entry resolved on read (EntryStates.resolve); null
 * for an edit, a delete or a reaction, which are never found themselves.
 */
export function searchable(m: WireMessage): WireMessage | null {
  if (m.type !== undefined) return null;
  if (m.state?.deleted) return { ...m, text: "", attachments: undefined };
  return m.state?.edited ? { ...m, text: m.state.edited.text } : m;
}

/** What a message is found by: its text and its attachments' names. */
export function searchableText(m: Pick<WireMessage, "text" | "attachments">): string {
  const names = m.attachments?.map((a) => a.name) ?? [];
  return names.length === 0 ? m.text : `${m.text}\n${names.join("\n")}`;
}

/** How many of these messages (at least one) fit in one slice's INDEX_SLICE_CHARS. */
export function sliceOf(sizes: readonly { chars: number }[]): number {
  let n = 0;
  for (let chars = 0; n < sizes.length && (n === 0 || chars < INDEX_SLICE_CHARS); n++)
    chars += sizes[n]!.chars;
  return Math.max(1, n);
}

export class ChannelSearch {
  readonly #d: SearchDeps;
  #scheduled = false;
  #running: Promise<void> | null = null;

  constructor(deps: SearchDeps) {
    this.#d = deps;
  }

  /** A message was stored: index it (and whatever else is new) a moment from now. */
  noteNew(): void {
    if (this.#scheduled || this.#running) return;
    this.#scheduled = true;
    this.#d.setTimer(() => {
      this.#scheduled = false;
      this.run().catch((err) => this.#d.onError(err));
    }, INDEX_DELAY_MS);
  }

  /** Messages stored and not indexed yet. */
  behind(): number {
    return Math.max(0, this.#d.head() - this.#d.index.indexedThrough());
  }

  /** Indexes everything up to the head, a slice per commit. One run at a time. */
  run(): Promise<void> {
    this.#running ??= this.#catchUp().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #catchUp(): Promise<void> {
    const { index, store, history } = this.#d;
    for (;;) {
      const from = index.indexedThrough();
      if (from >= this.#d.head()) return;
      // Rows still in SQLite are read and indexed in one synchronous turn: one commit. Older
      // messages (a history that predates the index) come from R2, then are indexed the same way.
      const messages =
        from + 1 >= store.firstHotSeq()
          ? store.rows(from, sliceOf(store.sealPlan(from, INDEX_SLICE)))
          : await history.after(from, INDEX_SLICE);
      if (messages.length === 0) return;
      const n = sliceOf(messages.map((m) => ({ chars: m.text.length })));
      // Each message by its current text: an edit or a delete before the indexer came is kept.
      const entries = store.states.resolve(messages.slice(0, n)).map((e) => {
        const m = searchable(e);
        return { seq: e.seq, terms: m ? indexTerms(searchableText(m)) : "" };
      });
      index.add(entries);
      // Let messages through between slices.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }

  /** The hook for a deleted message: it is never found again. */
  deleted(seq: number): void {
    this.#d.index.replace(seq, "");
  }

  /** The hook for an edited message: it is found by its new text. */
  edited(seq: number, m: Pick<WireMessage, "text" | "attachments">): void {
    this.#d.index.replace(seq, indexTerms(searchableText(m)));
  }

  /** Hits after `joinedSeq` and before `before`, newest first, at most `limit`. */
  async query(q: SearchQuery, joinedSeq: number, before: number, limit: number): Promise<SearchResult> {
    const { index, history } = this.#d;
    const hits: SearchHit[] = [];
    let top = Math.min(before, this.#d.head() + 1); // exclusive
    let partial = false;
    // 1. The newest messages, not in the index yet, are read and matched here.
    const through = Math.max(index.indexedThrough(), joinedSeq);
    if (top - 1 > through) {
      const low = Math.max(through, top - 1 - UNINDEXED_SCAN);
      partial = low > through;
      while (top - 1 > low) {
        const page = this.#d.store.states.resolve(await history.before(top, low, 200));
        if (page.length === 0) break;
        for (let i = page.length - 1; i >= 0; i--) {
          top = page[i]!.seq;
          const m = searchable(page[i]!);
          if (m && matchesText(q, searchableText(m))) hits.push(this.#hit(q, m));
          if (hits.length === limit) return { hits, nextBefore: top, partial };
        }
      }
      top = Math.min(top, through + 1);
    }
    // 2. The index, newest first, each candidate read back and confirmed.
    let checks = 0;
    while (hits.length < limit) {
      if (checks >= MAX_CHECKS) return { hits, nextBefore: top, partial };
      const seqs = index.match(
        q.match,
        joinedSeq,
        top,
        Math.min(MAX_CHECKS - checks, limit - hits.length + 10),
      );
      if (seqs.length === 0) return { hits, nextBefore: null, partial };
      for (const seq of seqs) {
        checks++;
        top = seq;
        const [read] = this.#d.store.states.resolve(await history.after(seq - 1, 1));
        const m = read?.seq === seq ? searchable(read) : null;
        if (m && confirms(q, searchableText(m))) hits.push(this.#hit(q, m));
        if (hits.length === limit) break;
      }
    }
    return { hits, nextBefore: top, partial };
  }

  #hit(q: SearchQuery, m: WireMessage): SearchHit {
    const shown = m.text.trim() === "" && m.attachments?.[0] ? attachmentLabel(m.attachments[0]) : m.text;
    const cut = snippet(shown, highlights(q, shown));
    const hit: SearchHit = {
      channel_id: m.channel_id,
      seq: m.seq,
      id: m.id,
      sender_id: m.sender_id,
      ts: m.ts,
      text: cut.text,
      highlights: cut.highlights,
    };
    if (m.attachments) hit.attachments = m.attachments;
    return hit;
  }
}
