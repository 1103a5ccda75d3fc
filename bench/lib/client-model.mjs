/**
 * The frames the product's own clients send besides their messages, for the benchmark's fast
 * socket client (wsclient.mjs), which sends nothing by itself (issue #15):
 *   - `resume` on the user socket right after its `hello`, from the device's cursor (§7.2);
 *   - `delivered` in one batch every DELIVERED_EVERY_MS for what arrived from others since the
 *     last batch, on the channel socket of the conversation on screen, else on the user socket
 *     (the SDK's #flushDelivered);
 *   - `read` for each new message while the conversation is on screen and scrolled to its end
 *     (the web client's #maybeMarkRead), at most one per READ_EVERY_MS (the SDK's ReadThrottle);
 *   - `typing` before each message a typing member sends (the web client calls `typing` on
 *     every keystroke; the SDK's TypingThrottle lets one per 3 s through, and a send resets it).
 * Frames carry the SDK's `id`s (`read`, `delivered`, `typing`: how it tells which one a refusal
 * is for). The intervals and throttles are imported from the SDK itself (client/src, loaded with
 * Node's type stripping), so the two cannot drift; test/browser/client-conformance.test.mjs checks that a
 * scripted session sends the same kinds of frames at the same rates through both.
 */
import { DELIVERED_EVERY_MS, ReadThrottle } from "../../client/src/markers.ts";
import { TypingThrottle } from "../../client/src/typing.ts";

/** The seq of a `message` or `ack` frame: the first `"seq":` in it. */
export function seqOf(text) {
  const at = text.indexOf('"seq":');
  return at < 0 ? 0 : Number.parseInt(text.slice(at + 6, at + 20), 10);
}

/**
 * One device with one conversation (the scenarios give each device one channel). `viewing`:
 * the conversation is on screen (a channel socket is open and the reader is at its end);
 * `typing`: the member types before each message it sends.
 */
export class DeviceModel {
  constructor({ userId, channelId, viewing = false, typing = false, markers = true }) {
    this.userId = userId;
    this.channelId = channelId;
    this.viewing = viewing;
    this.typing = typing;
    /** Off: the marker-free client of the earlier figures (`--no-markers`). */
    this.markers = markers;
    this.user = null;
    this.channel = null;
    this.cursor = 0;
    this.undelivered = false;
    this.sent = { delivered: 0, read: 0, typing: 0, resume: 0 };
    /** How this user's messages read in a frame (`text.includes(model.mine)`). */
    this.mine = `"sender_id":"${userId}"`;
    this.read = new ReadThrottle((_channelId, seq) =>
      this.#send(this.channel, { type: "read", id: "read", seq }, "read"),
    );
    this.typingOut = new TypingThrottle();
    this.startTimer = null;
    this.interval = null;
  }

  /** The device's sockets, once open (either may be null); starts the delivered timer. */
  attach({ user, channel }) {
    if (user !== undefined) {
      this.user = user;
      if (user && this.markers)
        this.#send(user, { type: "resume", id: "resume", cursors: this.#cursors() }, "resume");
    }
    if (channel !== undefined) this.channel = channel;
    if (this.markers && !this.startTimer) {
      // Devices start their timers at different moments, as real ones do.
      this.startTimer = setTimeout(() => {
        this.interval = setInterval(() => this.#flushDelivered(), DELIVERED_EVERY_MS);
      }, Math.random() * DELIVERED_EVERY_MS);
    }
  }

  /** Message `seq` reached this device (`fromMe`: sent by this user, or the ack of our own). */
  received(seq, fromMe) {
    if (seq <= this.cursor) return;
    this.cursor = seq;
    if (!this.markers || fromMe) return;
    this.undelivered = true;
    if (this.viewing && this.channel) this.read.mark(this.channelId, seq);
  }

  /** About to send a message: a typing member has been typing it. */
  beforeSend() {
    if (!this.markers || !this.typing || !this.viewing || !this.channel) return;
    if (this.typingOut.take(this.channelId))
      this.#send(this.channel, { type: "typing", id: "typing" }, "typing");
  }

  /** Sent a message: the server ended the indicator, so the next keystroke announces again. */
  afterSend() {
    this.typingOut.reset(this.channelId);
  }

  setViewing(on, channel = null) {
    this.viewing = on;
    this.channel = on ? channel : null;
  }

  stop() {
    clearTimeout(this.startTimer);
    clearInterval(this.interval);
    this.read.cancel();
  }

  #flushDelivered() {
    if (!this.undelivered || this.cursor === 0) return;
    this.undelivered = false;
    if (this.viewing && this.channel)
      this.#send(this.channel, { type: "delivered", id: "delivered", seq: this.cursor }, "delivered");
    else
      this.#send(
        this.user,
        { type: "delivered", id: "delivered", cursors: [{ channel_id: this.channelId, seq: this.cursor }] },
        "delivered",
      );
  }

  #cursors() {
    return this.cursor > 0 ? [{ channel_id: this.channelId, seq: this.cursor }] : [];
  }

  #send(socket, frame, kind) {
    if (!socket) return;
    try {
      socket.send(JSON.stringify({ v: 1, ...frame }));
      this.sent[kind]++;
    } catch {
      // closed meanwhile: a real client would send it after reconnecting
    }
  }
}
