/**
 * @module durable-objects/socket-limits
 * What one socket may send, per frame kind, kept in the memory of the object that holds the
 * socket (docs/architecture.md, "Flood control"): every frame counts against the socket's
 * frame budget, and `typing`, `read`/`delivered`, `sync` and `resume` each against their own.
 * A frame over a budget is refused with `rate_limited` and its retry time, and changes
 * nothing. Refusals are counted too: a socket that keeps sending after being refused has used
 * up its refusals and is closed (CLOSE.flooding), as it is not listening. A real client never
 * comes near: the SDK sends `read` at most once a second, `delivered` every 500 ms, `typing`
 * once per 3 s, and waits out a refusal.
 *
 * Memory only, like the socket state around it: after hibernation a socket starts afresh.
 */
import type { Limits } from "../domain/limits.ts";
import { Bucket } from "../domain/rate-limit.ts";

/** Which budget a frame type counts against besides the frame budget, and how it is named to people. */
const KINDS = {
  typing: { rate: "typingPerSocket", what: "typing frames" },
  read: { rate: "markersPerSocket", what: "read and delivered markers" },
  delivered: { rate: "markersPerSocket", what: "read and delivered markers" },
  sync: { rate: "syncsPerSocket", what: "sync requests" },
  resume: { rate: "resumesPerSocket", what: "resume requests" },
} as const;

type Kind = keyof typeof KINDS;

export interface Refusal {
  retryAfterMs: number;
  /** Words for the limit, for the error message. */
  what: string;
}

export class SocketLimits {
  readonly #frames: Bucket;
  readonly #refusals: Bucket;
  readonly #kinds = new Map<string, Bucket>();
  readonly #limits: Limits;

  constructor(limits: Limits) {
    this.#limits = limits;
    this.#frames = new Bucket(limits.framesPerSocket);
    this.#refusals = new Bucket(limits.refusalsPerSocket);
  }

  /**
   * Counts one inbound frame of `type` (undefined: unreadable). Null when it is within its
   * budgets; otherwise the refusal.
   */
  admit(type: string | undefined, now: number): Refusal | null {
    const frames = this.#frames.take(now);
    if (frames > 0) return { retryAfterMs: frames, what: "frames" };
    const kind = type !== undefined && Object.hasOwn(KINDS, type) ? KINDS[type as Kind] : null;
    if (!kind) return null;
    let bucket = this.#kinds.get(kind.rate);
    if (!bucket) {
      bucket = new Bucket(this.#limits[kind.rate]);
      this.#kinds.set(kind.rate, bucket);
    }
    const wait = bucket.take(now);
    return wait > 0 ? { retryAfterMs: wait, what: kind.what } : null;
  }

  /** A frame of this socket was refused for its rate: true when the socket must now be closed. */
  refused(now: number): boolean {
    return this.#refusals.take(now) > 0;
  }
}
