/**
 * @module durable-objects/channel-room/state-fold
 * Per-member state shown to every socket of a channel (read and delivered markers, who is
 * typing) is state, not events (CONVENTIONS §18): a change is folded, and the channel sends
 * each socket at most one frame of that kind per interval, carrying every member whose state
 * changed since the last one. The first change after a quiet interval goes at once; later ones
 * wait for the interval's end, so what a socket shows is never more than one interval old, and
 * the frames it receives are bounded by the clock, not by how many members change or how often
 * (docs/protocol.md §6.4, §6.6).
 *
 * Without the fold, every marker move was a frame to every socket: in a 100-member group with
 * the conversation on everyone's screen, one message made ~99 `read` frames in and ~9,900 out
 * (issue #15, docs/performance.md). Clock and timer are injected, so the policy is tested
 * without a runtime.
 */

export interface StateFoldDeps {
  /** At most one flush per this many milliseconds. */
  intervalMs: number;
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  /** Sends the state of these members (those that changed since the last flush). */
  flush(userIds: string[]): void;
}

export class StateFold {
  readonly #d: StateFoldDeps;
  readonly #changed = new Set<string>();
  #lastFlush = Number.NEGATIVE_INFINITY;
  #timed = false;

  constructor(deps: StateFoldDeps) {
    this.#d = deps;
  }

  /** A member's state changed. */
  changed(userId: string): void {
    this.#changed.add(userId);
    if (this.#timed) return;
    this.#timed = true;
    const wait = Math.max(0, this.#lastFlush + this.#d.intervalMs - this.#d.now());
    this.#d.setTimer(() => this.#fire(), wait);
  }

  /** Drops a member's pending change (it left, or what changed is over before it was shown). */
  forget(userId: string): void {
    this.#changed.delete(userId);
  }

  #fire(): void {
    this.#timed = false;
    if (this.#changed.size === 0) return;
    this.#lastFlush = this.#d.now();
    const ids = [...this.#changed];
    this.#changed.clear();
    this.#d.flush(ids);
  }
}
