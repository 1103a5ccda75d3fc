/**
 * @module client/message-log
 * The entries of each channel's log this device holds (messages, edits, deletes, reactions),
 * keyed by `seq` (docs/protocol.md §1: dedupe by `(channel_id, seq)`, keep the first copy, order
 * by `seq` only), and each channel's cursor: the highest `seq` up to which every visible entry is
 * held. What the entries make of the messages is client/entry-fold.ts. Pure: no I/O and no
 * timers; the client decides what to fetch from what `add` reports.
 */
import type { WireMessage } from "./types.ts";

interface ChannelLog {
  /** Highest seq held without gaps; undefined until the channel is loaded on this device. */
  cursor: number | undefined;
  bySeq: Map<number, WireMessage>;
  /** Highest seq held, gap or not. */
  maxSeq: number;
  /** Older messages exist on the server before the oldest held one. */
  hasOlder: boolean;
  sorted: WireMessage[] | null;
}

export interface AddResult {
  /** The message was new here (not a duplicate). */
  added: boolean;
  /** The channel has no cursor yet: load its newest page. */
  unknown: boolean;
  /** Messages are held beyond the cursor: something in between is missing. */
  gap: boolean;
}

export class MessageLog {
  readonly #channels = new Map<string, ChannelLog>();

  /** Adds a message, keeping the first copy of a seq, and moves the cursor over what is now contiguous. */
  add(m: WireMessage): AddResult {
    const log = this.#ensure(m.channel_id);
    let added = false;
    if (!log.bySeq.has(m.seq)) {
      log.bySeq.set(m.seq, wireOnly(m));
      log.maxSeq = Math.max(log.maxSeq, m.seq);
      log.sorted = null;
      added = true;
    }
    if (log.cursor === undefined) return { added, unknown: true, gap: false };
    this.#drain(log);
    return { added, unknown: false, gap: log.maxSeq > log.cursor };
  }

  cursor(channelId: string): number | undefined {
    return this.#channels.get(channelId)?.cursor;
  }

  /** Every channel with a cursor: what `resume` names. */
  cursors(): { channel_id: string; seq: number }[] {
    const out: { channel_id: string; seq: number }[] = [];
    for (const [channel_id, log] of this.#channels) {
      if (log.cursor !== undefined) out.push({ channel_id, seq: log.cursor });
    }
    return out;
  }

  /**
   * Gives a channel new to this device its cursor, after its newest page was loaded: the page
   * is everything up to `seq`. A cursor never moves back.
   */
  setCursor(channelId: string, seq: number): void {
    const log = this.#ensure(channelId);
    log.cursor = Math.max(log.cursor ?? 0, seq);
    this.#drain(log);
  }

  /**
   * The server started a page after `start`, and nothing this member may see lies between the
   * cursor and it (messages from before they joined): the cursor jumps there.
   */
  skipTo(channelId: string, start: number): void {
    const log = this.#channels.get(channelId);
    if (!log || log.cursor === undefined || start <= log.cursor) return;
    log.cursor = start;
    this.#drain(log);
  }

  hasGap(channelId: string): boolean {
    const log = this.#channels.get(channelId);
    return log !== undefined && log.cursor !== undefined && log.maxSeq > log.cursor;
  }

  /** Channels with messages held beyond their cursor. */
  gaps(): string[] {
    return [...this.#channels.keys()].filter((id) => this.hasGap(id));
  }

  /** Stops following a channel (the user left it): no cursor, so `resume` no longer names it. Messages stay readable. */
  dropCursor(channelId: string): void {
    const log = this.#channels.get(channelId);
    if (log) log.cursor = undefined;
  }

  get(channelId: string, seq: number): WireMessage | undefined {
    return this.#channels.get(channelId)?.bySeq.get(seq);
  }

  /**
   * Drops the text of held entries (their message was deleted: docs/protocol.md §6.10): each keeps
   * its seq and hash, with `text: ""`. Returns whether anything changed.
   */
  redact(channelId: string, seqs: readonly number[]): boolean {
    const log = this.#channels.get(channelId);
    if (!log) return false;
    let changed = false;
    for (const seq of seqs) {
      const m = log.bySeq.get(seq);
      if (!m || (m.text === "" && m.state === undefined)) continue;
      const { state: _state, ...rest } = m;
      log.bySeq.set(seq, { ...rest, text: "" });
      changed = true;
    }
    if (changed) log.sorted = null;
    return changed;
  }

  /** Held entries in seq order (cached until the channel changes). */
  sorted(channelId: string): WireMessage[] {
    const log = this.#channels.get(channelId);
    if (!log) return [];
    log.sorted ??= [...log.bySeq.values()].sort((a, b) => a.seq - b.seq);
    return log.sorted;
  }

  /** The lowest seq held, where scrolling back continues. */
  oldest(channelId: string): number | undefined {
    return this.sorted(channelId)[0]?.seq;
  }

  hasOlder(channelId: string): boolean {
    return this.#channels.get(channelId)?.hasOlder ?? true;
  }

  setHasOlder(channelId: string, hasOlder: boolean): void {
    this.#ensure(channelId).hasOlder = hasOlder;
  }

  clear(): void {
    this.#channels.clear();
  }

  #drain(log: ChannelLog): void {
    let cur = log.cursor ?? 0;
    while (log.bySeq.has(cur + 1)) cur++;
    log.cursor = cur;
  }

  #ensure(channelId: string): ChannelLog {
    let log = this.#channels.get(channelId);
    if (!log) {
      log = { cursor: undefined, bySeq: new Map(), maxSeq: 0, hasOlder: true, sorted: null };
      this.#channels.set(channelId, log);
    }
    return log;
  }
}

/** Only the wire fields of an entry, whatever else the frame carried. */
function wireOnly(m: WireMessage): WireMessage {
  const out: WireMessage = {
    channel_id: m.channel_id,
    seq: m.seq,
    id: m.id,
    sender_id: m.sender_id,
    client_msg_id: m.client_msg_id,
    text: m.text,
    ts: m.ts,
    msg_count: m.msg_count,
    hash: m.hash,
    ...(m.attachments && { attachments: m.attachments }),
  };
  if (m.type !== undefined) out.type = m.type;
  if (m.reply_to !== undefined) out.reply_to = m.reply_to;
  if (m.target_seq !== undefined) out.target_seq = m.target_seq;
  if (m.emoji !== undefined) out.emoji = m.emoji;
  if (m.digest !== undefined) out.digest = m.digest;
  if (m.reply !== undefined) out.reply = m.reply;
  if (m.state !== undefined) out.state = m.state;
  return out;
}
