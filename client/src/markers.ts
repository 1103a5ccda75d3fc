/**
 * @module client/markers
 * How often this SDK moves the server's markers (docs/protocol.md §6.4): DELIVERED in one
 * batch every half second for whatever arrived, READ at most once per interval per channel.
 * The server folds both into one `receipts` frame per socket per interval (RECEIPTS_INTERVAL_MS),
 * so a client that sent more would only spend frames. The benchmark's client imports these
 * same rules (bench/lib/client-model.mjs), so what it measures is what this SDK sends.
 */

/** Received messages are acknowledged (`delivered`) in one batch this often, if any arrived. */
export const DELIVERED_EVERY_MS = 500;
/** A channel's read marker moves at most once per this interval (the server's receipts interval). */
export const READ_EVERY_MS = 1_000;

/**
 * When a read marker move leaves: the first at once, later ones at the end of the interval
 * with the highest seq asked for meanwhile. Calling `mark` on every new message (as a client
 * with the conversation on screen does) therefore sends at most one `read` per interval.
 */
export class ReadThrottle {
  readonly #send: (channelId: string, seq: number) => void;
  readonly #everyMs: number;
  readonly #now: () => number;
  readonly #lastAt = new Map<string, number>();
  readonly #waiting = new Map<string, { seq: number; timer: ReturnType<typeof setTimeout> }>();

  constructor(send: (channelId: string, seq: number) => void, everyMs = READ_EVERY_MS, now = Date.now) {
    this.#send = send;
    this.#everyMs = everyMs;
    this.#now = now;
  }

  /** The reader has read `channelId` up to `seq`. */
  mark(channelId: string, seq: number): void {
    const waiting = this.#waiting.get(channelId);
    if (waiting) {
      waiting.seq = Math.max(waiting.seq, seq);
      return;
    }
    const wait = (this.#lastAt.get(channelId) ?? Number.NEGATIVE_INFINITY) + this.#everyMs - this.#now();
    if (wait <= 0) {
      this.#go(channelId, seq);
      return;
    }
    const timer = setTimeout(() => {
      const w = this.#waiting.get(channelId);
      this.#waiting.delete(channelId);
      if (w) this.#go(channelId, w.seq);
    }, wait);
    this.#waiting.set(channelId, { seq, timer });
  }

  /** Drops what waits (signed out, or the channel was left). */
  cancel(channelId?: string): void {
    for (const [id, w] of this.#waiting) {
      if (channelId !== undefined && id !== channelId) continue;
      clearTimeout(w.timer);
      this.#waiting.delete(id);
    }
  }

  #go(channelId: string, seq: number): void {
    this.#lastAt.set(channelId, this.#now());
    this.#send(channelId, seq);
  }
}
