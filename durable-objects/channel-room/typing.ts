/**
 * @module durable-objects/channel-room/typing
 * Typing indicators: ephemeral, never stored, at most one per user per interval, each with an
 * expiry so a client drops a stale one by itself. A `typing_stopped` ends an indicator that is
 * still showing when its user sends or leaves. Pure: the clock is passed in.
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

  /** True when an indicator of this user was still showing (so `typing_stopped` is due). */
  stop(userId: string, now: number): boolean {
    const t = this.#active.get(userId);
    this.#active.delete(userId);
    return t !== undefined && t.expiresAt > now;
  }
}
