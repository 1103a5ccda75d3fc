/**
 * @module durable-objects/channel-room/typing
 * Typing indicators: ephemeral, never stored, at most one start per user per interval, each
 * with an expiry so a client drops a stale one by itself. A message from the user ends theirs
 * (clients hide it when the message arrives); leaving ends it with a `typing_stopped`. Which
 * indicators a socket is shown, and how often, is the channel's `StateFold`. Pure: the clock is
 * passed in.
 */

export interface TypingConfig {
  intervalMs: number;
  ttlMs: number;
}

export class Typing {
  readonly #cfg: TypingConfig;
  readonly #active = new Map<string, { sentAt: number; expiresAt: number }>();

  constructor(cfg: TypingConfig) {
    this.#cfg = cfg;
  }

  /** The expiry to announce, or null when this user announced within the interval. */
  start(userId: string, now: number): number | null {
    const t = this.#active.get(userId);
    if (t && now - t.sentAt < this.#cfg.intervalMs) return null;
    const expiresAt = now + this.#cfg.ttlMs;
    this.#active.set(userId, { sentAt: now, expiresAt });
    return expiresAt;
  }

  /** The expiry of this user's indicator, if one is showing. */
  expiresAt(userId: string, now: number): number | null {
    const t = this.#active.get(userId);
    return t && t.expiresAt > now ? t.expiresAt : null;
  }

  /** Ends this user's indicator; true when it was still showing. */
  stop(userId: string, now: number): boolean {
    const t = this.#active.get(userId);
    this.#active.delete(userId);
    return t !== undefined && t.expiresAt > now;
  }
}
