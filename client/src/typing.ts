/**
 * @module client/typing
 * Typing, both ways (docs/protocol.md §6.6). Out: at most one `typing` frame per 3 s per
 * channel, as the server takes no more than that; a send ends the indicator, so the next
 * keystroke may announce again sooner, but never within a second of the last. In: an indicator shows until its `expires_at` or a
 * `typing_stopped`, whichever comes first.
 */

/** The server relays one `typing` per user and channel per this interval (TYPING_INTERVAL_MS). */
export const TYPING_INTERVAL_MS = 3_000;
/** An indicator lasts this long after the server relays it (TYPING_TTL_MS). */
export const TYPING_TTL_MS = 6_000;

/** Longest pause of `typing` after refusals (docs/protocol.md §9.6). */
const MAX_TYPING_PAUSE_MS = 60_000;
/**
 * After a send, the next keystroke may announce again this soon after the last `typing`: the
 * server takes at most one `typing` per socket per second over time (LIMIT_TYPING_PER_SOCKET,
 * 10 per 10 s), and someone sending messages faster than that would otherwise be refused.
 */
export const TYPING_AFTER_SEND_MS = 1_000;

/** Decides whether a keystroke sends a `typing` frame. */
export class TypingThrottle {
  readonly #last = new Map<string, { at: number; sent: boolean }>();
  /** Refused as too fast: no `typing` until then, and how long the last pause was. */
  readonly #paused = new Map<string, { until: number; ms: number }>();

  /**
   * True, and remembered, if this channel's last `typing` left at least 3 s ago (1 s if a
   * message was sent since: it ended the indicator) and no refusal's pause lasts.
   */
  take(channelId: string, now = Date.now()): boolean {
    if ((this.#paused.get(channelId)?.until ?? 0) > now) return false;
    const last = this.#last.get(channelId);
    if (last && now - last.at < (last.sent ? TYPING_AFTER_SEND_MS : TYPING_INTERVAL_MS)) return false;
    this.#last.set(channelId, { at: now, sent: false });
    return true;
  }

  /**
   * The server refused a `typing` as too fast: none until `retryAfterMs` is over, and each
   * refusal that follows pauses twice as long (up to a minute). A sent message ends the streak.
   */
  refused(channelId: string, retryAfterMs: number, now = Date.now()): void {
    const prev = this.#paused.get(channelId);
    const ms = Math.min(MAX_TYPING_PAUSE_MS, Math.max(retryAfterMs, prev ? prev.ms * 2 : 0));
    this.#paused.set(channelId, { until: now + ms, ms });
  }

  /** A message was sent: the server ended the indicator, so the next keystroke may announce it sooner. */
  reset(channelId: string): void {
    const last = this.#last.get(channelId);
    if (last) last.sent = true;
    this.#paused.delete(channelId);
  }
}

/** Who is typing where, with a timer per indicator. */
export class TypingIndicators {
  readonly #channels = new Map<string, Map<string, ReturnType<typeof setTimeout>>>();
  readonly #changed: (channelId: string, userIds: string[]) => void;

  constructor(changed: (channelId: string, userIds: string[]) => void) {
    this.#changed = changed;
  }

  /**
   * Shows `userId` until `expiresAt` (server time). The local clock may disagree with the
   * server's: a deadline that is not between now and one TTL from now is replaced by one TTL
   * after arrival, as docs/protocol.md §6.6 allows.
   */
  show(channelId: string, userId: string, expiresAt: number, now = Date.now()): void {
    let users = this.#channels.get(channelId);
    if (!users) {
      users = new Map();
      this.#channels.set(channelId, users);
    }
    const left = expiresAt - now;
    const ms = left > 0 && left <= TYPING_TTL_MS ? left : TYPING_TTL_MS;
    const had = users.has(userId);
    clearTimeout(users.get(userId));
    users.set(
      userId,
      setTimeout(() => this.hide(channelId, userId), ms),
    );
    if (!had) this.#changed(channelId, this.users(channelId));
  }

  hide(channelId: string, userId: string): void {
    const users = this.#channels.get(channelId);
    const timer = users?.get(userId);
    if (!users || timer === undefined) return;
    clearTimeout(timer);
    users.delete(userId);
    this.#changed(channelId, this.users(channelId));
  }

  users(channelId: string): string[] {
    return [...(this.#channels.get(channelId)?.keys() ?? [])];
  }

  /** Hides every indicator of a channel (its socket closed: nothing would end them). */
  clear(channelId: string): void {
    const users = this.#channels.get(channelId);
    if (!users) return;
    for (const timer of users.values()) clearTimeout(timer);
    this.#channels.delete(channelId);
    if (users.size > 0) this.#changed(channelId, []);
  }

  clearAll(): void {
    for (const channelId of [...this.#channels.keys()]) this.clear(channelId);
  }
}
