/**
 * @module client/message-log
 * The messages this device holds, per channel, keyed by `seq` (docs/protocol.md §1: dedupe by
 * `(channel_id, seq)`, keep the first copy, order by `seq` only), and each channel's cursor:
 * the highest `seq` up to which every visible message is held. Pure: no I/O and no timers;
 * the client decides what to fetch from what `add` reports.
 */
import type { ChatMessage, WireMessage } from "./types.ts";

interface ChannelLog {
  /** Highest seq held without gaps; undefined until the channel is loaded on this device. */
  cursor: number | undefined;
  bySeq: Map<number, ChatMessage>;
  /** Highest seq held, gap or not. */
  maxSeq: number;
  /** Older messages exist on the server before the oldest held one. */
  hasOlder: boolean;
  sorted: ChatMessage[] | null;
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
      log.bySeq.set(m.seq, toSent(m));
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

  get(channelId: string, seq: number): ChatMessage | undefined {
    return this.#channels.get(channelId)?.bySeq.get(seq);
  }

  /** Held messages in seq order (cached until the channel changes). */
  sorted(channelId: string): ChatMessage[] {
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

/** Only the wire fields, whatever else the frame carried, plus the status. */
function toSent(m: WireMessage): ChatMessage {
  return {
    channel_id: m.channel_id,
    seq: m.seq,
    id: m.id,
    sender_id: m.sender_id,
    client_msg_id: m.client_msg_id,
    text: m.text,
    ts: m.ts,
    hash: m.hash,
    ...(m.attachments && { attachments: m.attachments }),
    status: "sent",
  };
}
