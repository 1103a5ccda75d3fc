/**
 * @module durable-objects/channel-room/channel-sockets
 * The channel sockets a ChannelRoom holds and the one rule of their delivery: each socket
 * remembers the last seq it has, and a live message goes only to a socket that is contiguous
 * with it. A socket paging through what it missed (`sync`) is not, so its next page carries
 * the message instead; order on every socket is seq order. Each socket also has its frame
 * budgets (`SocketLimits`), and one that stops reading is closed before it holds more than
 * LIMIT_SOCKET_BUFFER_BYTES here (`sendBounded`).
 *
 * Edits, deletes and reactions are folded (docs/protocol.md §6.5): `hold` counts one as sent to
 * each contiguous socket but keeps it, and `flushPending` (at the end of the fold's interval,
 * before a message, an ack or a sync page to the socket) sends what a socket holds: one entry as a
 * `message` frame, several as one `messages` page. Order stays seq order on every socket.
 */
import type { Limits } from "../../domain/limits.ts";
import type { ServerFrame, WireMessage } from "../../protocol/frames.ts";
import { attachmentOf, closeQuietly, type SocketAttachment, sendBounded } from "../socket-identity.ts";
import { SocketLimits } from "../socket-limits.ts";

interface SocketState {
  userId: string;
  deviceId: string;
  /** The last seq this socket has; null while it is paging (mid-sync). */
  sentSeq: number | null;
  limits: SocketLimits;
  /** Entries counted in `sentSeq` but not sent yet (folded), and the chain hash before the first. */
  pending: WireMessage[] | null;
  pendingPrevHash: string;
}

export class ChannelSockets {
  readonly #state = new Map<WebSocket, SocketState>();
  readonly #byUser = new Map<string, Set<WebSocket>>();
  readonly #limits: Limits;
  readonly #dropped: (ws: WebSocket) => void;

  /** `dropped` forgets a socket closed here for not reading (as its close event would). */
  constructor(limits: Limits, dropped: (ws: WebSocket) => void) {
    this.#limits = limits;
    this.#dropped = dropped;
  }

  /**
   * Takes back sockets after hibernation: one that was live was at the head (nothing runs
   * while the object is idle); one that was mid-sync resumes with its next sync request.
   */
  rehydrate(sockets: WebSocket[], headSeq: number): void {
    for (const ws of sockets) {
      const a = attachmentOf(ws);
      if (a)
        this.#add(ws, {
          userId: a.userId,
          deviceId: a.deviceId,
          sentSeq: a.syncing ? null : headSeq,
          limits: new SocketLimits(this.#limits),
          pending: null,
          pendingPrevHash: "",
        });
    }
  }

  /** A new socket, live from `headSeq`. */
  add(ws: WebSocket, userId: string, deviceId: string, headSeq: number): void {
    ws.serializeAttachment({ v: 1, userId, deviceId, connectedAt: Date.now() } satisfies SocketAttachment);
    this.#add(ws, {
      userId,
      deviceId,
      sentSeq: headSeq,
      limits: new SocketLimits(this.#limits),
      pending: null,
      pendingPrevHash: "",
    });
  }

  #add(ws: WebSocket, s: SocketState): void {
    this.#state.set(ws, s);
    const mine = this.#byUser.get(s.userId) ?? new Set<WebSocket>();
    mine.add(ws);
    this.#byUser.set(s.userId, mine);
  }

  /** Forgets a socket; returns its user if that user has no other socket here. */
  remove(ws: WebSocket): string | undefined {
    const s = this.#state.get(ws);
    if (!s) return undefined;
    this.#state.delete(ws);
    const mine = this.#byUser.get(s.userId);
    mine?.delete(ws);
    if (mine && mine.size > 0) return undefined;
    this.#byUser.delete(s.userId);
    return s.userId;
  }

  get(ws: WebSocket): { userId: string; deviceId: string; limits: SocketLimits } | undefined {
    return this.#state.get(ws);
  }

  get size(): number {
    return this.#state.size;
  }

  /** Closes sockets (of a user, or of the given ones) and forgets them. */
  close(sockets: Iterable<WebSocket>, code: number, reason: string): void {
    for (const ws of [...sockets]) {
      this.remove(ws);
      closeQuietly(ws, code, reason);
    }
  }

  socketsOf(userId: string): WebSocket[] {
    return [...(this.#byUser.get(userId) ?? [])];
  }

  /** Devices of this user holding a live (not mid-sync) socket here. */
  viewingDevices(userId: string): Set<string> {
    const out = new Set<string>();
    for (const ws of this.#byUser.get(userId) ?? []) {
      const s = this.#state.get(ws);
      if (s && s.sentSeq !== null) out.add(s.deviceId);
    }
    return out;
  }

  /**
   * Sends a new message to every contiguous socket (the sender gets its ack instead), after the
   * entries the socket holds folded.
   */
  deliver(message: WireMessage, sender: WebSocket | null): void {
    const frame = JSON.stringify({ v: 1, type: "message", message } satisfies ServerFrame);
    for (const [ws, s] of this.#state) {
      if (s.sentSeq !== message.seq - 1) continue;
      if (s.pending) this.#flush(ws, s);
      s.sentSeq = message.seq;
      if (ws !== sender) this.send(ws, frame);
    }
  }

  /**
   * A new edit, delete or reaction: counted as sent to every contiguous socket, held there until
   * `flushPending` (the sender gets its ack instead). `prevHash` is the chain hash before it.
   * True when some socket holds it.
   */
  hold(entry: WireMessage, sender: WebSocket | null, prevHash: string): boolean {
    let held = false;
    for (const [ws, s] of this.#state) {
      if (s.sentSeq !== entry.seq - 1) continue;
      s.sentSeq = entry.seq;
      if (ws === sender) {
        // The sender's own entry comes as its ack: what it held goes first (done before the ack).
        continue;
      }
      if (!s.pending) {
        s.pending = [];
        s.pendingPrevHash = prevHash;
      }
      s.pending.push(entry);
      held = true;
    }
    return held;
  }

  /** Sends what one socket (or every socket) holds folded. */
  flushPending(ws?: WebSocket): void {
    if (ws) {
      const s = this.#state.get(ws);
      if (s?.pending) this.#flush(ws, s);
      return;
    }
    for (const [socket, s] of [...this.#state]) if (s.pending) this.#flush(socket, s);
  }

  #flush(ws: WebSocket, s: SocketState): void {
    const entries = s.pending!;
    s.pending = null;
    const first = entries[0];
    if (!first) return;
    if (entries.length === 1) {
      this.send(ws, JSON.stringify({ v: 1, type: "message", message: first } satisfies ServerFrame));
      return;
    }
    // A live page: complete, continuing from the hash before its first entry (§6.5).
    this.send(
      ws,
      JSON.stringify({
        v: 1,
        type: "messages",
        channel_id: first.channel_id,
        messages: entries,
        complete: true,
        next_after_seq: entries.at(-1)!.seq,
        prev_hash: s.pendingPrevHash,
      } satisfies ServerFrame),
    );
  }

  /**
   * Sends a frame's text to one socket; a socket that has stopped reading is closed and
   * forgotten (its device reconnects and syncs from its cursor).
   */
  send(ws: WebSocket, text: string): void {
    if (!sendBounded(ws, text, this.#limits.socketBufferBytes) && this.#state.has(ws)) this.#dropped(ws);
  }

  /** Records a sync page sent to `ws`: live again when complete, paging otherwise. */
  paged(ws: WebSocket, lastSeq: number, complete: boolean): void {
    const s = this.#state.get(ws);
    if (!s) return;
    const wasPaging = s.sentSeq === null;
    s.sentSeq = complete ? lastSeq : null;
    if (wasPaging === complete) {
      // Only the change is persisted, so a hibernated paging socket is not treated as live.
      const a = attachmentOf(ws);
      if (a) ws.serializeAttachment({ ...a, syncing: !complete } satisfies SocketAttachment);
    }
  }

  /**
   * Sends every socket what its user may see: `textFor(userId)` once per user (null: nothing),
   * to each of that user's sockets.
   */
  broadcastPer(textFor: (userId: string) => string | null): void {
    for (const [userId, sockets] of [...this.#byUser]) {
      const text = textFor(userId);
      if (text !== null) for (const ws of [...sockets]) this.send(ws, text);
    }
  }

  /** Sends one frame to every socket, or to all but one. */
  broadcast(frame: ServerFrame, except?: WebSocket): void {
    const text = JSON.stringify(frame);
    for (const ws of [...this.#state.keys()]) if (ws !== except) this.send(ws, text);
  }
}
