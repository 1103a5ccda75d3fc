import { describe, expect, it } from "vitest";
import { parseRate } from "../../domain/rate-limit.ts";
import { type EntryBudget, SendLimits } from "./send-limits.ts";

/**
 * SendLimits on a fake clock: timers fire when the test advances it, and each report is
 * answered by `answer` (the wait the user object would impose).
 */
function harness(answer: (userId: string, count: number) => number) {
  let now = 0;
  const timers: { due: number; fn: () => void }[] = [];
  const reports: { userId: string; count: number; at: number }[] = [];
  const limits = new SendLimits({
    perDevice: parseRate("3/1s"),
    perUser: parseRate("5/1s"),
    perDeviceEdits: parseRate("2/1s"),
    perDeviceReactions: parseRate("2/1s"),
    reportEveryMs: 1_000,
    now: () => now,
    setTimer(fn, ms) {
      timers.push({ due: now + ms, fn });
    },
    async report(userId, count) {
      reports.push({ userId, count, at: now });
      return answer(userId, count);
    },
    onError() {},
  });
  const settle = async () => {
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };
  const advanceTo = async (t: number) => {
    for (;;) {
      timers.sort((a, b) => a.due - b.due);
      const next = timers[0];
      if (!next || next.due > t) break;
      timers.shift();
      now = next.due;
      next.fn();
      await settle();
    }
    now = t;
  };
  /** A send admitted and, when allowed, stored. */
  const send = async (userId: string, deviceId: string, budget: EntryBudget = "message"): Promise<number> => {
    const wait = limits.admit(userId, deviceId, now, budget);
    if (wait === 0) limits.stored(userId);
    await settle();
    return wait;
  };
  return { limits, reports, send, advanceTo };
}

describe("send limits", () => {
  it("limits each device on its own, exactly", async () => {
    const h = harness(() => 0);
    for (let i = 0; i < 3; i++) expect(await h.send("u", "phone")).toBe(0);
    expect(await h.send("u", "phone")).toBe(334);
    expect(await h.send("u", "laptop")).toBe(0);
    await h.advanceTo(334);
    expect(await h.send("u", "phone")).toBe(0);
  });

  it("holds the user to the per-user budget within the channel at once, however many devices", async () => {
    const h = harness(() => 0);
    for (const device of ["a", "b"]) for (let i = 0; i < 2; i++) expect(await h.send("u", device)).toBe(0);
    expect(await h.send("u", "c")).toBe(0);
    expect(await h.send("u", "d")).toBe(200); // the user's 6th in a burst of 5
    expect(await h.send("v", "e")).toBe(0);
  });

  it("reports the first send at once and later ones folded, at most once a second", async () => {
    const h = harness(() => 0);
    await h.send("u", "phone");
    expect(h.reports).toEqual([{ userId: "u", count: 1, at: 0 }]);
    await h.send("u", "phone");
    await h.send("u", "laptop");
    await h.advanceTo(999);
    expect(h.reports).toHaveLength(1);
    await h.advanceTo(1_000);
    expect(h.reports.at(-1)).toEqual({ userId: "u", count: 2, at: 1_000 });
  });

  it("refuses the user here for as long as the user object answers, then lets them send again", async () => {
    const h = harness((_u, count) => (count >= 2 ? 5_000 : 0));
    await h.send("u", "phone");
    await h.send("u", "phone");
    await h.send("u", "laptop");
    await h.advanceTo(1_000); // the folded report: the user went over their budget elsewhere
    expect(await h.send("u", "tablet")).toBe(5_000);
    await h.advanceTo(3_000);
    expect(await h.send("u", "tablet")).toBe(3_000);
    expect(await h.send("v", "other")).toBe(0);
    await h.advanceTo(6_000);
    expect(await h.send("u", "tablet")).toBe(0);
  });

  it("keeps edits and reactions on budgets of their own, all within the user's", async () => {
    const h = harness(() => 0);
    for (let i = 0; i < 2; i++) expect(await h.send("u", "phone", "reaction")).toBe(0);
    expect(await h.send("u", "phone", "reaction")).toBe(500); // the 3rd reaction in a burst of 2
    expect(await h.send("u", "phone", "edit")).toBe(0); // edits are not held up by reactions
    expect(await h.send("u", "phone")).toBe(0); // nor messages
    expect(await h.send("u", "phone", "edit")).toBe(0);
    expect(await h.send("u", "phone")).toBe(200); // the user's 6th entry in a burst of 5
  });
});
