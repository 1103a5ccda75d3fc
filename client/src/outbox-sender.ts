/**
 * @module client/outbox-sender
 * Sending what the outbox holds (docs/protocol.md §6.2, §6.10, §9.6): messages, edits, deletes
 * and reactions, each under the `client_msg_id` it was written with. On the channel socket of
 * the conversation on screen, with at most OUTBOX_WINDOW unanswered; else over REST, one after
 * another so that `seq` follows the order written. A refusal for going too fast sends the entry
 * again after `retry_after_ms`, with the same id, and paces the channel's outbox one entry at a
 * time until it is empty; a network failure retries with backoff; a refusal that can never
 * succeed fails the entry (a message stays as a `failed` echo, an edit, delete or reaction is
 * dropped and its promise rejected). An `ack` (or `201`) settles the entry: the client holds the
 * stored entry it describes from then on.
 */
import type { Ack } from "../../protocol/api.ts";
import { ChatApiError, isPermanent } from "./chat-api-error.ts";
import type { Backoff, ChatSocket } from "./chat-socket.ts";
import type { Outbox, OutboxEntry } from "./outbox.ts";
import type { WireMessage } from "./types.ts";

/**
 * Entries of one channel sent on its socket and not yet answered, at most: a reconnect with a
 * full outbox sends this many at once, the rest as the acks come back. After a refusal for
 * going too fast, one at a time (docs/protocol.md §9.6).
 */
const OUTBOX_WINDOW = 10;
/** Longest wait between resends of an entry refused as too fast, however often it is refused. */
const MAX_RATE_WAIT_MS = 60_000;

export interface OutboxSenderDeps {
  outbox: Outbox;
  backoff: Backoff;
  /** The app wants to be connected and someone is signed in. */
  active(): boolean;
  /** Bumped at every sign-in and sign-out: late answers of an earlier session are dropped. */
  generation(): number;
  /** The open channel socket of `channelId` if it is the conversation on screen, else null. */
  socketFor(channelId: string): ChatSocket | null;
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** The server stored the entry: hold what the ack describes. */
  stored(entry: OutboxEntry, ack: Ack): void;
  /** An entry failed for good (a message's echo is now `failed`; other entries were dropped). */
  failed(entry: OutboxEntry): void;
  /** Something the app may want to show (the client's `error` event). */
  report(error: {
    code: string;
    message: string;
    channel_id: string;
    client_msg_id: string;
    retry_after_ms?: number;
  }): void;
}

export class OutboxSender {
  readonly #d: OutboxSenderDeps;
  readonly #posting = new Set<string>();
  readonly #postAgain = new Set<string>();
  readonly #retry = new Map<string, { delayMs: number; timer?: ReturnType<typeof setTimeout> }>();
  /** Entries sent on a channel socket and not yet answered, and on which socket. */
  readonly #inFlight = new Map<string, ChatSocket>();
  /**
   * Channels whose sends were refused as too fast, with the last wait the server gave: their
   * outbox goes one entry at a time, that far apart, until it is empty.
   */
  readonly #paced = new Map<string, number>();
  /** Callers waiting for an edit, delete or reaction to be stored (or to fail). */
  readonly #waiting = new Map<string, { resolve: () => void; reject: (err: unknown) => void }>();

  constructor(deps: OutboxSenderDeps) {
    this.#d = deps;
  }

  /**
   * Queues an entry: persisted first (a reload must find what may have left), then sent.
   * Resolves once the server stored it; rejects with a {@link ChatApiError} if it never will.
   */
  enqueue(entry: OutboxEntry): Promise<void> {
    const settled = new Promise<void>((resolve, reject) => {
      this.#waiting.set(entry.client_msg_id, { resolve, reject });
    });
    void this.#d.outbox.add(entry).then(() => this.flush(entry.channel_id));
    return settled;
  }

  /** Sends what is pending: on the channel socket of the conversation on screen, else over REST. */
  flush(only?: string): void {
    if (!this.#d.active()) return;
    for (const channelId of this.#d.outbox.pendingChannels()) {
      if (only !== undefined && channelId !== only) continue;
      const socket = this.#d.socketFor(channelId);
      if (socket?.isOpen) this.#sendOnSocket(channelId, socket);
      else void this.#post(channelId);
    }
  }

  /** An `ack` (socket) or `201` (REST): the outbox entry becomes the stored entry. */
  acked(ack: Ack): void {
    const entry = this.#d.outbox.get(ack.client_msg_id);
    if (!entry) return; // settled already, by another copy
    const wasInFlight = this.#inFlight.delete(ack.client_msg_id);
    if (this.#retry.get(ack.channel_id)?.timer === undefined) this.#retry.delete(ack.channel_id);
    this.#d.stored(entry, ack);
    this.settled(ack.client_msg_id);
    if (!wasInFlight) return;
    // The window has room again: the next entry goes, at once or, after a refusal, paced.
    const pace = this.#paced.get(ack.channel_id);
    if (this.#d.outbox.pending(ack.channel_id).length === 0) this.#paced.delete(ack.channel_id);
    else if (pace === undefined) this.flush(ack.channel_id);
    else this.#retryLater(ack.channel_id, pace);
  }

  /** The entry is stored (seen in any copy): its caller, if any, is told. */
  settled(clientMsgId: string): void {
    const w = this.#waiting.get(clientMsgId);
    this.#waiting.delete(clientMsgId);
    w?.resolve();
  }

  /**
   * An `error` frame on a channel socket whose `ref` names a pending entry (the client sends
   * each with `id` = its `client_msg_id`): true if it was one.
   */
  refusedOnSocket(ref: string | undefined, code: string, message: string, retryAfterMs?: number): boolean {
    const entry = ref === undefined ? undefined : this.#d.outbox.get(ref);
    if (entry?.status !== "pending") return false;
    this.#inFlight.delete(entry.client_msg_id);
    this.#refused(entry, code, message, retryAfterMs);
    return true;
  }

  /** A channel socket is no longer open: what was unanswered on it goes again on the next one. */
  socketDown(socket: ChatSocket): void {
    for (const [id, on] of this.#inFlight) if (on === socket) this.#inFlight.delete(id);
  }

  /** Stops every timer (the sockets are closing); the outbox stays. */
  stop(): void {
    for (const r of this.#retry.values()) clearTimeout(r.timer);
    this.#retry.clear();
    this.#inFlight.clear();
    this.#paced.clear();
  }

  /** Signed out: nothing of the session is sent any more, and nobody waits for it. */
  reset(): void {
    this.stop();
    this.#postAgain.clear();
    for (const w of this.#waiting.values()) w.reject(new ChatApiError("unauthenticated", 401, "signed out"));
    this.#waiting.clear();
  }

  /**
   * Sends a channel's pending entries on its socket, oldest first, with at most OUTBOX_WINDOW
   * unanswered (one after a refusal for going too fast), and none while a refusal's wait lasts.
   */
  #sendOnSocket(channelId: string, socket: ChatSocket): void {
    if (this.#retry.get(channelId)?.timer !== undefined) return;
    const window = this.#paced.has(channelId) ? 1 : OUTBOX_WINDOW;
    const pending = this.#d.outbox.pending(channelId);
    let unanswered = pending.filter((e) => this.#inFlight.get(e.client_msg_id) === socket).length;
    for (const e of pending) {
      if (unanswered >= window) return;
      if (this.#inFlight.get(e.client_msg_id) === socket) continue;
      // `id` comes back as `ref` on the ack or error.
      if (!socket.send(frameOf(e))) return;
      this.#inFlight.set(e.client_msg_id, socket);
      unanswered++;
    }
  }

  /** Posts a channel's pending entries over REST, one after another so `seq` follows the order written. */
  async #post(channelId: string): Promise<void> {
    if (this.#posting.has(channelId)) {
      this.#postAgain.add(channelId);
      return;
    }
    const gen = this.#d.generation();
    this.#posting.add(channelId);
    try {
      do {
        this.#postAgain.delete(channelId);
        for (const e of this.#d.outbox.pending(channelId)) {
          if (gen !== this.#d.generation() || !this.#d.active()) return;
          if (this.#d.outbox.get(e.client_msg_id)?.status !== "pending") continue;
          let ack: Ack;
          try {
            const { path, body } = restOf(e);
            ack = await this.#d.request<Ack>("POST", path, body);
          } catch (err) {
            if (gen !== this.#d.generation()) return;
            const api = err instanceof ChatApiError ? err : new ChatApiError("network", 0, String(err));
            if (this.#refused(e, api.code, api.message, api.retryAfterMs)) continue;
            return;
          }
          if (gen !== this.#d.generation()) return;
          this.acked(ack);
          // After a refusal for going too fast, one entry per the wait the server gave.
          const pace = this.#paced.get(channelId);
          if (pace !== undefined) await new Promise((resolve) => setTimeout(resolve, pace));
        }
        if (this.#d.outbox.pending(channelId).length === 0) this.#paced.delete(channelId);
      } while (this.#postAgain.has(channelId));
    } finally {
      this.#posting.delete(channelId);
    }
  }

  /**
   * The server refused an entry. Permanent codes fail it; `blocked` and `not_friends` (a 1:1 chat
   * with a block, or between people who are no longer friends) leave it queued (it goes again
   * after the next reconnect); `rate_limited` sends it again, with the same `client_msg_id`,
   * once the server's `retry_after_ms` is over (longer if refused again), and the channel's
   * outbox goes one entry at a time from then on; anything else is retried with backoff. True
   * if the next entries may still be tried.
   */
  #refused(entry: OutboxEntry, code: string, message: string, retryAfterMs?: number): boolean {
    const report = { code, message, channel_id: entry.channel_id, client_msg_id: entry.client_msg_id };
    if (isPermanent(code)) {
      const w = this.#waiting.get(entry.client_msg_id);
      this.#waiting.delete(entry.client_msg_id);
      if (entry.kind === undefined) {
        const failed = this.#d.outbox.fail(entry.client_msg_id, { code, message });
        if (failed) this.#d.failed(failed);
      } else {
        // An edit, delete or reaction that can never be stored is dropped: the message shows as
        // it was, and the app is told.
        this.#d.outbox.delete(entry.client_msg_id);
        this.#d.failed(entry);
        this.#d.report(report);
      }
      w?.reject(new ChatApiError(code as ChatApiError["code"], 0, message));
      return true;
    }
    if (code === "blocked" || code === "not_friends") {
      this.#d.report(report);
      return false;
    }
    if (code === "rate_limited") {
      const wait = retryAfterMs ?? 1_000;
      const first = !this.#paced.has(entry.channel_id);
      this.#paced.set(entry.channel_id, wait);
      this.#retryLater(entry.channel_id, wait);
      if (first) this.#d.report({ ...report, retry_after_ms: wait });
      return false;
    }
    if (code !== "unauthenticated") this.#retryLater(entry.channel_id);
    return false;
  }

  /**
   * Flushes a channel's outbox again later: after a backoff (1 s doubling up to the reconnect
   * maximum, jittered), or after `atLeastMs` (a refusal's `retry_after_ms`, or the pace after
   * one), doubled while refusals follow one another without an ack between them, and never
   * sooner. One timer per channel: entries refused together go again together.
   */
  #retryLater(channelId: string, atLeastMs?: number): void {
    const prev = this.#retry.get(channelId);
    if (prev?.timer !== undefined || !this.#d.active()) return;
    let delayMs: number;
    let wait: number;
    if (atLeastMs === undefined) {
      delayMs = Math.min(this.#d.backoff.maxMs, prev ? prev.delayMs * 2 : 1_000);
      wait = delayMs * (0.5 + Math.random());
    } else {
      delayMs = Math.min(MAX_RATE_WAIT_MS, Math.max(atLeastMs, prev ? prev.delayMs * 2 : 0));
      wait = delayMs * (1 + Math.random() / 10);
    }
    const timer = setTimeout(() => {
      this.#retry.set(channelId, { delayMs });
      this.flush(channelId);
    }, wait);
    this.#retry.set(channelId, { delayMs, timer });
  }
}

/** The channel-socket frame of an entry (docs/protocol.md §6.1). */
export function frameOf(e: OutboxEntry): { type: string } & Record<string, unknown> {
  const head = { id: e.client_msg_id, client_msg_id: e.client_msg_id };
  switch (e.kind) {
    case undefined:
      return {
        type: "send",
        ...head,
        text: e.text,
        ...(e.attachments && { attachments: e.attachments.map((a) => a.id) }),
        ...(e.reply_to !== undefined && { reply_to: e.reply_to }),
      };
    case "edit":
      return { type: "edit", ...head, target_seq: e.target_seq, text: e.text };
    case "delete":
      return { type: "delete", ...head, target_seq: e.target_seq };
    case "reaction":
      return { type: "react", ...head, target_seq: e.target_seq, emoji: e.emoji ?? "" };
  }
}

/** The REST call of an entry (docs/protocol.md §8.4). */
export function restOf(e: OutboxEntry): { path: string; body: Record<string, unknown> } {
  const base = `/v1/channels/${encodeURIComponent(e.channel_id)}/messages`;
  const client_msg_id = e.client_msg_id;
  switch (e.kind) {
    case undefined:
      return {
        path: base,
        body: {
          client_msg_id,
          text: e.text,
          ...(e.attachments && { attachments: e.attachments.map((a) => a.id) }),
          ...(e.reply_to !== undefined && { reply_to: e.reply_to }),
        },
      };
    case "edit":
      return { path: `${base}/${e.target_seq}/edit`, body: { client_msg_id, text: e.text } };
    case "delete":
      return { path: `${base}/${e.target_seq}/delete`, body: { client_msg_id } };
    case "reaction":
      return { path: `${base}/${e.target_seq}/reactions`, body: { client_msg_id, emoji: e.emoji ?? "" } };
  }
}

/** The stored entry an ack describes, from the outbox entry it answers (docs/protocol.md §6.2). */
export function entryOf(e: OutboxEntry, ack: Ack, senderId: string): WireMessage {
  const m: WireMessage = {
    channel_id: ack.channel_id,
    seq: ack.seq,
    id: ack.id,
    sender_id: senderId,
    client_msg_id: ack.client_msg_id,
    text: e.kind === undefined || e.kind === "edit" ? e.text : "",
    ts: ack.ts,
    msg_count: ack.msg_count,
    hash: ack.hash,
  };
  if (e.kind === undefined) {
    // The chain covers them (§2.6): without them the message would not check against its hash.
    if (e.attachments) m.attachments = e.attachments;
    if (e.reply_to !== undefined) m.reply_to = e.reply_to;
    return m;
  }
  m.type = e.kind;
  m.target_seq = e.target_seq;
  if (e.kind === "reaction") m.emoji = e.emoji ?? "";
  return m;
}
