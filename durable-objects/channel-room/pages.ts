/**
 * @module durable-objects/channel-room/pages
 * The pages a member reads, over hot and cold storage alike (storage/channel/history.ts):
 * REST history (before, after, and around a message by seq or by id) and the forward pages of
 * a channel socket's `sync` and of a user object's resume. Each page carries `prev_hash`, the
 * chain hash of the entry before its first message (for an empty forward page, of the entry it
 * starts after), so a client checks it against what it holds (docs/protocol.md §2.6). A member
 * reads after its join point only, and the hash there is its anchor. Every page's messages
 * carry what became of them as of the read (`reply`, `state`; storage/channel/entry-states.ts),
 * and a deleted message's text is never in one, sealed or not.
 */

import { errorText, log } from "../../observability/log.ts";
import { ChatError } from "../../protocol/errors.ts";
import { MAX_PAGE_CHARS, MAX_PAGE_MESSAGES, type WireMessage } from "../../protocol/frames.ts";
import { newId } from "../../protocol/ids.ts";
import type { HistoryPage, ReadAfterResult } from "../../protocol/rpc.ts";
import { ArchiveUnavailableError } from "../../storage/channel/archive.ts";
import type { ChannelHistory } from "../../storage/channel/history.ts";
import { SegmentCorruptError } from "../../storage/channel/segment.ts";
import type { ChannelStore, MemberRow } from "../../storage/channel/store.ts";

export interface HistoryRequest {
  before?: number;
  after?: number;
  around?: number;
  around_id?: string;
  limit: number;
}

export class Pages {
  readonly #history: ChannelHistory;
  readonly #store: ChannelStore;

  constructor(history: ChannelHistory, store: ChannelStore) {
    this.#history = history;
    this.#store = store;
  }

  #head(): number {
    return this.#store.channel()?.headSeq ?? 0;
  }

  /** A REST history page (docs/protocol.md §8.4). */
  async history(channelId: string, member: MemberRow, q: HistoryRequest): Promise<HistoryPage> {
    const joined = member.joinedSeq;
    if (q.around !== undefined || q.around_id !== undefined) return this.#around(channelId, member, q);
    // Pages stop at `limit` messages or the page text budget, whichever comes first, so
    // whether more exist is read from the range itself: the head forwards, the join backwards.
    if (q.after !== undefined) {
      const messages = this.#resolve(await this.#history.after(Math.max(q.after, joined), q.limit));
      const last = messages.at(-1)?.seq ?? this.#head();
      return {
        channel_id: channelId,
        messages,
        has_more: last < this.#head(),
        prev_hash: await this.#prev(messages),
      };
    }
    const messages = this.#resolve(await this.#history.before(q.before ?? this.#head() + 1, joined, q.limit));
    const first = messages[0]?.seq ?? joined + 1;
    return {
      channel_id: channelId,
      messages,
      has_more: first > joined + 1,
      prev_hash: await this.#prev(messages),
    };
  }

  /**
   * Jump to a message: the page around it, about half before and half after, the message
   * included. A seq or id the member cannot read (before its join point, past the head, or
   * unknown) is `not_found`.
   */
  async #around(channelId: string, member: MemberRow, q: HistoryRequest): Promise<HistoryPage> {
    const joined = member.joinedSeq;
    let target = q.around;
    if (q.around_id !== undefined) target = (await this.#history.byId(q.around_id))?.seq;
    if (target === undefined || target <= joined || target > this.#head())
      throw new ChatError("not_found", "no such message in this channel");
    const older = await this.#history.before(
      target + 1,
      joined,
      Math.floor(q.limit / 2) + 1,
      MAX_PAGE_CHARS / 2,
    );
    const newer = await this.#history.after(target, q.limit - older.length, MAX_PAGE_CHARS / 2);
    const messages = this.#resolve([...older, ...newer]);
    const hasMoreBefore = (messages[0]?.seq ?? target) > joined + 1;
    const hasMoreAfter = (messages.at(-1)?.seq ?? target) < this.#head();
    return {
      channel_id: channelId,
      messages,
      has_more: hasMoreBefore || hasMoreAfter,
      prev_hash: await this.#prev(messages),
      target_seq: target,
      has_more_before: hasMoreBefore,
      has_more_after: hasMoreAfter,
    };
  }

  /**
   * A forward page for a `sync` or a resume: the member's messages after `afterSeq` (never at or
   * before its join point). `complete` is judged against the head once the page is read: a page
   * read from R2 may have waited while messages arrived.
   */
  async forward(member: MemberRow, afterSeq: number, limit: number): Promise<ReadAfterResult> {
    // A cursor before the join point continues from the join point, never from itself; one past
    // the head from the head.
    const from = Math.min(Math.max(afterSeq, member.joinedSeq), this.#head());
    const messages = this.#resolve(await this.#history.after(from, Math.min(limit, MAX_PAGE_MESSAGES)));
    const last = messages.at(-1)?.seq ?? from;
    const prevHash = await this.#history.hashAt(messages[0] ? messages[0].seq - 1 : last);
    const head = this.#head();
    return { messages, head_seq: head, complete: last >= head, next_after_seq: last, prev_hash: prevHash };
  }

  #resolve(entries: WireMessage[]): WireMessage[] {
    return this.#store.states.resolve(entries);
  }

  async #prev(messages: WireMessage[]): Promise<string | null> {
    const first = messages[0];
    return first ? this.#history.hashAt(first.seq - 1) : null;
  }
}

/**
 * A read that may touch the archive, with its failures as a client gets them: R2 failing is
 * `unavailable` (try again), a segment that does not match its record is `internal`, logged as an
 * integrity failure with a reference. Never a page with a substitute.
 */
export async function readingArchive<T>(read: Promise<T>, channelId: string | undefined): Promise<T> {
  try {
    return await read;
  } catch (err) {
    if (err instanceof ArchiveUnavailableError) {
      log.warn("archive.unavailable", { channel_id: channelId, error: errorText(err) });
      throw new ChatError("unavailable", "older history cannot be read right now; try again shortly");
    }
    if (err instanceof SegmentCorruptError) {
      const ref = newId();
      log.error("archive.integrity_failed", { channel_id: channelId, ref, error: errorText(err) });
      throw new ChatError("internal", `archived history failed its integrity check (ref ${ref})`);
    }
    throw err;
  }
}
