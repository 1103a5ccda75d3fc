/**
 * @module durable-objects/user-inbox/device-streams
 * Each device's user socket gets, per channel, a gap-free stream in seq order. The store
 * remembers the last seq sent per (device, channel); live updates continue from there, a gap
 * is filled from the channel, a device viewing the channel is skipped (it has the messages on
 * its channel socket), and a (re)connecting device resets the stream from its own cursors
 * with `resume`. Work for one device runs in order through a promise chain, so a resume and a
 * live update never interleave.
 */

import { errorText, log } from "../../observability/log.ts";
import { ChatError } from "../../protocol/errors.ts";
import { errorFrame, type ResumeFrame, type ServerFrame, type WireMessage } from "../../protocol/frames.ts";
import type { ReadAfterResult } from "../../protocol/rpc.ts";
import { type InboxStore, toSummary } from "../../storage/user/store.ts";
import { type SocketAttachment, sendBounded } from "../socket-identity.ts";

export interface DeviceStreamsDeps {
  store: InboxStore;
  /** A socket that leaves more than this many bytes unread is closed (LIMIT_SOCKET_BUFFER_BYTES). */
  maxBuffered: number;
  /** A page of the member's messages after `afterSeq`, from the channel (ChannelRoom.readAfter). */
  readAfter(channelId: string, userId: string, afterSeq: number): Promise<ReadAfterResult>;
}

export interface Device {
  ws: WebSocket;
  a: SocketAttachment;
}

export class DeviceStreams {
  readonly #d: DeviceStreamsDeps;
  readonly #chains = new Map<string, Promise<void>>();

  constructor(deps: DeviceStreamsDeps) {
    this.#d = deps;
  }

  /**
   * New entries of a channel for every connected device; viewing devices only advance.
   * `prevHash` is the chain hash before the first (given when the update brings edits, deletes
   * or reactions: those go as one page per update, docs/protocol.md §7.3).
   */
  async deliver(
    devices: Device[],
    channelId: string,
    messages: WireMessage[],
    viewing: Set<string>,
    prevHash?: string,
  ): Promise<void> {
    const last = messages.at(-1);
    if (!last) return;
    const store = this.#d.store;
    await Promise.all(
      devices.map(({ ws, a }) =>
        this.#enqueue(a.deviceId, () => {
          // A viewing device got these on its channel socket; the client would drop the copies
          // by (channel, seq) anyway, so only its stream position moves.
          if (!viewing.has(a.deviceId)) return this.#stream(ws, a, channelId, messages, prevHash);
          if (store.sentSeq(a.deviceId, channelId) !== undefined)
            store.setSentSeq(a.deviceId, channelId, last.seq);
        }).catch((err) =>
          log.warn("inbox.stream_failed", {
            device_id: a.deviceId,
            channel_id: channelId,
            error: errorText(err),
          }),
        ),
      ),
    );
  }

  /**
   * Resumes a device: for each channel it names, exactly the messages after its cursor, in
   * pages; channels it did not name start live from now (their summaries are sent). Ends with
   * a `resumed` frame. Returns what that frame counted, or null if the socket closed first.
   */
  resume({ ws, a }: Device, frame: ResumeFrame): Promise<{ channels: number; messages: number } | null> {
    return this.#enqueue(a.deviceId, async () => {
      const store = this.#d.store;
      let channels = 0;
      let messages = 0;
      const named = new Set<string>();
      for (const cursor of frame.cursors) {
        const known = store.channel(cursor.channel_id);
        if (!known || named.has(cursor.channel_id)) continue;
        named.add(cursor.channel_id);
        const from = Math.min(cursor.seq, known.headSeq);
        let sent = from;
        if (from < known.headSeq) {
          try {
            const filled = await this.#fill(ws, a, cursor.channel_id, from, Number.MAX_SAFE_INTEGER);
            // Closed meanwhile (too slow to read, or gone): the device resumes from its cursor.
            if (ws.readyState !== WebSocket.OPEN) return null;
            sent = filled.sent;
            messages += filled.count;
            if (filled.failed) {
              // The channel's archive cannot be read right now (or failed its integrity check):
              // the pages sent stand, this channel stops there, the others go on. Its next
              // live message finds the gap and fills it then.
              this.#send(ws, errorFrame(filled.failed));
            }
          } catch (err) {
            // Removed from the channel meanwhile: its removal update is on its way.
            if (err instanceof ChatError && err.code === "not_a_member") continue;
            throw err;
          }
          channels++;
        }
        store.setSentSeq(a.deviceId, cursor.channel_id, sent);
      }
      for (const c of store.channels()) {
        if (!named.has(c.channelId) && !this.#send(ws, { v: 1, type: "channel", channel: toSummary(c) }))
          return null;
      }
      this.#send(ws, { v: 1, type: "resumed", channels, messages, ...(frame.id && { ref: frame.id }) });
      return { channels, messages };
    });
  }

  /** Sends a frame; false when the socket is gone, or was closed for not reading (sendBounded). */
  #send(ws: WebSocket, frame: ServerFrame): boolean {
    return sendBounded(ws, JSON.stringify(frame), this.#d.maxBuffered);
  }

  /** Runs `task` after every earlier task of this device. */
  #enqueue<T>(deviceId: string, task: () => Promise<T> | T): Promise<T> {
    const prev = this.#chains.get(deviceId) ?? Promise.resolve();
    const next = prev.then(task);
    const settled = next.then(
      () => {},
      () => {},
    );
    this.#chains.set(deviceId, settled);
    void settled.then(() => {
      if (this.#chains.get(deviceId) === settled) this.#chains.delete(deviceId);
    });
    return next;
  }

  /** Sends new messages of a channel to one device, continuing its stream without a gap. */
  async #stream(
    ws: WebSocket,
    a: SocketAttachment,
    channelId: string,
    messages: WireMessage[],
    prevHash: string | undefined,
  ): Promise<void> {
    const store = this.#d.store;
    const all = messages;
    let sent = store.sentSeq(a.deviceId, channelId);
    if (sent === undefined) {
      // No position yet (no resume named this channel): the socket is live from when it
      // connected (docs/protocol.md §4.3, §7.3), so messages stored before that, which a folded
      // update can still bring, are not replayed; the device gets the channel's summary
      // instead, and resume or history for the messages. `ts` is the channel's clock and
      // `connectedAt` this object's: a message stored within their skew of the connect may go
      // either way, and both are consistent with "live from now".
      const fresh = messages.findIndex((m) => m.ts >= a.connectedAt);
      if (fresh !== 0) {
        const summary = store.channel(channelId);
        if (summary && !this.#send(ws, { v: 1, type: "channel", channel: toSummary(summary) })) return;
      }
      if (fresh < 0) return;
      messages = messages.slice(fresh);
      sent = messages[0]!.seq - 1;
    }
    const first = messages[0];
    if (!first) return;
    if (first.seq > sent + 1) sent = (await this.#fill(ws, a, channelId, sent, first.seq - 1)).sent;
    if (prevHash !== undefined) {
      // Edits, deletes or reactions among them: the update's entries go as one live page (§7.3),
      // from the first this device lacks, with the hash before it.
      const next = sent + 1;
      const from = all.findIndex((m) => m.seq === next);
      if (from < 0) return;
      const page = all.slice(from);
      const open = this.#send(ws, {
        v: 1,
        type: "messages",
        channel_id: channelId,
        messages: page,
        complete: true,
        next_after_seq: page.at(-1)!.seq,
        prev_hash: from === 0 ? prevHash : all[from - 1]!.hash,
      });
      if (open) store.setSentSeq(a.deviceId, channelId, page.at(-1)!.seq);
      return;
    }
    for (const m of messages) {
      if (m.seq !== sent + 1) continue;
      if (!this.#send(ws, { v: 1, type: "message", message: m })) return;
      sent = m.seq;
    }
    store.setSentSeq(a.deviceId, channelId, sent);
  }

  /** Sends a device the messages after `after` up to `upTo` (or the head), in pages. */
  async #fill(
    ws: WebSocket,
    a: SocketAttachment,
    channelId: string,
    after: number,
    upTo: number,
  ): Promise<{ sent: number; count: number; failed?: ChatError }> {
    let sent = after;
    let count = 0;
    for (;;) {
      // A long catch-up on a slow link: each page waits for the last ones to be read, so a
      // device that reads, however slowly, is not closed as one that does not (sendBounded).
      await drained(ws, this.#d.maxBuffered / 2);
      let page: ReadAfterResult;
      try {
        page = await this.#d.readAfter(channelId, a.userId, sent);
      } catch (err) {
        if (err instanceof ChatError && (err.code === "unavailable" || err.code === "internal"))
          return { sent, count, failed: new ChatError(err.code, `${channelId}: ${err.message}`) };
        throw err;
      }
      const messages = page.messages.filter((m) => m.seq <= upTo);
      // An empty page still moves on to where the member's readable range starts.
      const last = messages.at(-1)?.seq ?? Math.max(sent, Math.min(page.next_after_seq, upTo));
      count += messages.length;
      const complete = page.complete || last >= upTo;
      // Cut at `upTo` or not, the page starts where the channel's did, so the hash before it is
      // the channel's. An empty page that stops short of where the channel's would start (a gap
      // fill that ends before the join point) has nothing to carry and no hash to give: skipped.
      const open =
        messages.length > 0 || last === page.next_after_seq
          ? this.#send(ws, {
              v: 1,
              type: "messages",
              channel_id: channelId,
              messages,
              complete,
              next_after_seq: last,
              prev_hash: page.prev_hash,
            })
          : true;
      sent = last;
      if (!open || complete || messages.length === 0) return { sent, count };
    }
  }
}

/** How long a page waits for the socket to read what it was sent before giving up. */
const DRAIN_WAIT_MS = 30_000;

/**
 * Resolves once at most `bytes` wait unread on the socket (or it closed), polling: the runtime
 * has no event for it. Gives up after DRAIN_WAIT_MS, and the next send closes a socket that
 * stopped reading.
 */
async function drained(ws: WebSocket, bytes: number): Promise<void> {
  const deadline = Date.now() + DRAIN_WAIT_MS;
  while (ws.bufferedAmount > bytes && ws.readyState === WebSocket.OPEN && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
