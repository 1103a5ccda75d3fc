import { describe, expect, it } from "vitest";
import { StateFold } from "./state-fold.ts";

const INTERVAL = 1_000;

/** A StateFold on a fake clock whose timers fire only when the test advances it. */
function harness() {
  let now = 0;
  const timers: { due: number; fn: () => void }[] = [];
  const flushes: { at: number; userIds: string[] }[] = [];
  const fold = new StateFold({
    intervalMs: INTERVAL,
    now: () => now,
    setTimer(fn, ms) {
      timers.push({ due: now + ms, fn });
      return timers.length;
    },
    flush: (userIds) => flushes.push({ at: now, userIds: [...userIds].sort() }),
  });
  const advanceTo = (t: number) => {
    for (;;) {
      timers.sort((a, b) => a.due - b.due);
      const next = timers[0];
      if (!next || next.due > t) break;
      timers.shift();
      now = next.due;
      next.fn();
    }
    now = t;
  };
  return { fold, flushes, advanceTo };
}

describe("StateFold", () => {
  it("sends the first move at once and folds the rest of the interval into one flush", () => {
    const { fold, flushes, advanceTo } = harness();
    fold.changed("bob");
    advanceTo(0);
    expect(flushes).toEqual([{ at: 0, userIds: ["bob"] }]);
    for (let t = 10; t < 900; t += 10) {
      advanceTo(t);
      fold.changed(t % 20 ? "carol" : "dave");
    }
    advanceTo(999);
    expect(flushes).toHaveLength(1);
    advanceTo(1_000);
    expect(flushes[1]).toEqual({ at: 1_000, userIds: ["carol", "dave"] });
  });

  it("never flushes twice within an interval, and every move leaves within one", () => {
    const { fold, flushes, advanceTo } = harness();
    const moves: number[] = [];
    let t = 0;
    for (let i = 0; i < 500; i++) {
      t += (i * 37) % 311; // uneven gaps, some far longer than others
      advanceTo(t);
      fold.changed(`u${i % 7}`);
      moves.push(t);
    }
    advanceTo(t + INTERVAL);
    for (let i = 1; i < flushes.length; i++)
      expect(flushes[i]!.at - flushes[i - 1]!.at).toBeGreaterThanOrEqual(INTERVAL);
    for (const at of moves) {
      const seen = flushes.find((f) => f.at >= at);
      expect(seen && seen.at - at).toBeLessThanOrEqual(INTERVAL);
    }
  });

  it("drops a member who left before the flush", () => {
    const { fold, flushes, advanceTo } = harness();
    fold.changed("bob");
    advanceTo(0);
    fold.changed("carol");
    fold.changed("dave");
    fold.forget("dave");
    advanceTo(INTERVAL);
    expect(flushes.at(-1)?.userIds).toEqual(["carol"]);
  });
});
