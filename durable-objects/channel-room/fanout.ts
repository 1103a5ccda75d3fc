/**
 * @module durable-objects/channel-room/fanout
 * When to send a member's user object its next update. Per member: the first update after a
 * quiet spell goes at once; whatever arrives within the window after it is folded into one
 * call at the window's end; never more than one call in flight per member. What to send is
 * not decided here: `send(userId)` reads the member's lag from storage, so a folded update
 * carries everything owed, and a failed one is simply owed again (the alarm retries it).
 * Clock and timers are injected so the policy is tested without a runtime.
 *
 * The fold also regulates load: the next call to a member waits at least twice as long as its
 * last call took. Calls slow down when the object (or, locally, the one shared thread) is busy,
 * so windows widen and fewer calls are made until the load is sustainable again.
 *
 * A member that needs no live copy may be given a phase: its calls then wait for its own slot
 * in each window. One message kicks every member at once, so without phases their calls would
 * leave together, once per window, as a burst that delays the messages arriving behind it;
 * phases spread them evenly over the window instead.
 */

import { onSlot } from "../../domain/slots.ts";

/** The next call to a member waits at least this many times the last call's duration. */
export const LOAD_FACTOR = 2;

export interface FanoutDeps {
  /** The fold window for this member, read at each kick (it may depend on who is viewing). */
  windowMs(userId: string): number;
  /**
   * Where in each window this member's calls go, in ms from a multiple of the window; null:
   * anywhere (the first call after a quiet spell goes at once).
   */
  phaseMs?(userId: string): number | null;
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  /** Sends everything owed to this member; rejects if the user object could not be reached. */
  send(userId: string): Promise<void>;
  onError(userId: string, err: unknown): void;
}

export class Fanout {
  readonly #d: FanoutDeps;
  readonly #lastStart = new Map<string, number>();
  readonly #lastDuration = new Map<string, number>();
  readonly #inFlight = new Set<string>();
  readonly #again = new Set<string>();
  readonly #timed = new Set<string>();
  /** Calls made so far, per member (read by tests and the benchmark). */
  readonly calls = new Map<string, number>();

  constructor(deps: FanoutDeps) {
    this.#d = deps;
  }

  /** Something new is owed to these members. */
  notify(userIds: Iterable<string>): void {
    for (const id of userIds) this.#kick(id);
  }

  /**
   * Sends now if a folded update is waiting for this member (its window no longer applies,
   * say because a device just connected); otherwise the same as `notify`.
   */
  hurry(userId: string): void {
    if (this.#timed.delete(userId)) {
      this.#lastStart.delete(userId);
      if (this.#inFlight.has(userId)) this.#again.add(userId);
      else void this.#run(userId);
      return;
    }
    this.#kick(userId);
  }

  /** True while a call to this member waits for its window or is in flight. */
  inHand(userId: string): boolean {
    return this.#timed.has(userId) || this.#inFlight.has(userId);
  }

  #kick(userId: string): void {
    if (this.#inFlight.has(userId)) {
      this.#again.add(userId);
      return;
    }
    if (this.#timed.has(userId)) return;
    const now = this.#d.now();
    const window = Math.max(this.#d.windowMs(userId), LOAD_FACTOR * (this.#lastDuration.get(userId) ?? 0));
    let wait = (this.#lastStart.get(userId) ?? Number.NEGATIVE_INFINITY) + window - now;
    const phase = this.#d.phaseMs?.(userId) ?? null;
    if (phase !== null) wait = Math.max(wait, onSlot(now, phase, window) - now);
    if (wait <= 0) {
      void this.#run(userId);
      return;
    }
    this.#timed.add(userId);
    this.#d.setTimer(() => {
      // Already sent by `hurry`: nothing left for this timer to do.
      if (!this.#timed.delete(userId)) return;
      void this.#run(userId);
    }, wait);
  }

  async #run(userId: string): Promise<void> {
    this.#inFlight.add(userId);
    const started = this.#d.now();
    this.#lastStart.set(userId, started);
    this.calls.set(userId, (this.calls.get(userId) ?? 0) + 1);
    try {
      await this.#d.send(userId);
    } catch (err) {
      this.#d.onError(userId, err);
    } finally {
      this.#lastDuration.set(userId, this.#d.now() - started);
      this.#inFlight.delete(userId);
      if (this.#again.delete(userId)) this.#kick(userId);
    }
  }
}
