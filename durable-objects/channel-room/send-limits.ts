/**
 * @module durable-objects/channel-room/send-limits
 * How fast a user may post here (docs/architecture.md, "Flood control"), without an await or a
 * D1 query on the message path:
 *
 * - **Per device** (LIMIT_SENDS_PER_DEVICE), exact, in this object's memory: the device's sends
 *   to this channel, over its channel socket and over REST alike.
 * - **Per user, across every channel** (LIMIT_SENDS_PER_USER): one user posting into many
 *   channels at once is still one user, so the budget lives in the user's own object, which
 *   every channel reports to. Within this channel the same budget is also kept here, exactly,
 *   so that many devices of one user posting here are held to it at once. Reports are folded,
 *   one call in flight: a user's sends here are reported on the user's own slot of each
 *   `reportEveryMs` (the per-user period), or at once when a tenth of the per-user burst has
 *   piled up since the last report. Someone chatting at a human pace costs one report per period
 *   per channel at most; someone flooding many channels is reported every tenth of their budget
 *   in each. (A report per send, or per second of sending, was one RPC and one wake-up of the
 *   user object per message in the 1:1 benchmark: bench/tools/tail.mjs, docs/performance.md.)
 *   The user object charges its bucket with what happened and answers how long the user must
 *   now wait; this channel then refuses that user's sends until then. Sends are never held for
 *   the answer, so a burst across many channels can pass the per-user budget by a tenth of it
 *   per channel, and is paid back by a longer wait: over time the user posts at the per-user
 *   rate, however many channels they use.
 *
 * - **Edits and deletes, and reactions** (issue #19) have their own per-device budgets
 *   (LIMIT_EDITS_PER_DEVICE, LIMIT_REACTIONS_PER_DEVICE), so a burst of reactions never stops a
 *   device's messages; every entry, whatever its kind, counts against the per-user budget.
 *
 * A refused send stores nothing and counts for nothing. Clock, timers and the report call are
 * injected, so the policy is tested without a runtime.
 */
import type { Rate } from "../../domain/rate-limit.ts";
import { Limiter } from "../../domain/rate-limit.ts";
import { phaseOf } from "../../domain/slots.ts";
import { Fanout } from "./fanout.ts";

export interface SendLimitsDeps {
  perDevice: Rate;
  perUser: Rate;
  /** Edits and deletes, and reactions, per device (each kind its own budget). */
  perDeviceEdits: Rate;
  perDeviceReactions: Rate;
  /** How often a user's sends here are reported to its user object, at most. */
  reportEveryMs: number;
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  /** Reports `count` sends of the user here; resolves with the wait the user object imposes (0: none). */
  report(userId: string, count: number): Promise<number>;
  onError(userId: string, err: unknown): void;
}

/** The budgets entries are counted in: messages, edits with deletes, reactions. */
export type EntryBudget = "message" | "edit" | "reaction";

export class SendLimits {
  readonly #d: SendLimitsDeps;
  readonly #devices: Record<EntryBudget, Limiter>;
  readonly #users: Limiter;
  /** Stored sends not yet reported, per user. */
  readonly #unreported = new Map<string, number>();
  /** Until when a user's sends are refused here, as its user object answered. */
  readonly #deniedUntil = new Map<string, number>();
  readonly #reports: Fanout;
  /** Sends that, piled up unreported, are reported at once: a tenth of the per-user burst. */
  readonly #reportAfter: number;

  constructor(deps: SendLimitsDeps) {
    this.#d = deps;
    this.#devices = {
      message: new Limiter(deps.perDevice),
      edit: new Limiter(deps.perDeviceEdits),
      reaction: new Limiter(deps.perDeviceReactions),
    };
    this.#users = new Limiter(deps.perUser);
    this.#reportAfter = Math.max(1, Math.ceil(deps.perUser.burst / 10));
    this.#reports = new Fanout({
      windowMs: () => deps.reportEveryMs,
      // Each user on its own slot of the period: no report leaves with a user's first send.
      phaseMs: (userId) => phaseOf(userId, deps.reportEveryMs),
      now: deps.now,
      setTimer: deps.setTimer,
      send: (userId) => this.#report(userId),
      onError: deps.onError,
    });
  }

  /**
   * Takes a send (or, with `budget`, an edit, delete or reaction) of this user's device: 0 when
   * allowed, else the ms until it would be.
   */
  admit(userId: string, deviceId: string, now: number, budget: EntryBudget = "message"): number {
    const denied = this.#deniedUntil.get(userId);
    if (denied !== undefined) {
      if (denied > now) return denied - now;
      this.#deniedUntil.delete(userId);
    }
    const devices = this.#devices[budget];
    const device = devices.wait(deviceId, now);
    if (device > 0) return device;
    const user = this.#users.take(userId, now);
    if (user > 0) return user;
    return devices.take(deviceId, now);
  }

  /** A send of this user was stored: it counts against the user's budget. */
  stored(userId: string): void {
    const unreported = (this.#unreported.get(userId) ?? 0) + 1;
    this.#unreported.set(userId, unreported);
    this.#reports.notify([userId]);
    if (unreported >= this.#reportAfter) this.#reports.hurry(userId);
  }

  async #report(userId: string): Promise<void> {
    const count = this.#unreported.get(userId) ?? 0;
    if (count === 0) return;
    this.#unreported.delete(userId);
    const wait = await this.#d.report(userId, count);
    if (wait > 0) this.#deniedUntil.set(userId, this.#d.now() + wait);
    else this.#deniedUntil.delete(userId);
  }
}
