import { describe, expect, it } from "vitest";
import { parseRate } from "../../domain/rate-limit.ts";
import { SendLimits } from "./send-limits.ts";

/**
 * SendLimits on a fake clock: timers fire when the test advances it, and each report is
 * answered by `answer` (the wait the user object would impose).
 */
function harness(
  answer: (userId: string, count: number) => number,
  opts: { perUser?: string; reportEveryMs?: number } = {},
) {
  let now = 0;
  const timers: { due: number; fn: () => void }[] = [];
  const reports: { userId: string; count: number; at: number }[] = [];
  const limits = new SendLimits({
    perDevice: parseRate("3/1s"),
    perUser: parseRate(opts.perUser ?? "5/1s"),
    reportEveryMs: opts.reportEveryMs ?? 1_000,
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
  const send = async (userId: string, deviceId: string): Promise<number> => {
    const wait = limits.admit(userId, deviceId, now);
    if (wait === 0) limits.stored(userId);
    await settle();
    return wait;
  };
  return { limits, reports, send, advanceTo, now: () => now };
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

  it("reports on the user's slot of the period, or at once when a tenth of the budget piled up", async () => {
    const h = harness(() => 0, { perUser: "100/10s", reportEveryMs: 10_000 });
    for (let i = 0; i < 9; i++) await h.send("u", `d${i % 3}`);
    expect(h.reports).toEqual([]); // nine sends, under a tenth of the burst: none reported yet
    await h.advanceTo(10_000);
    expect(h.reports).toHaveLength(1);
    expect(h.reports[0]).toMatchObject({ userId: "u", count: 9 });
    // Ten more in a row: the tenth of the burst is reached, and reported at once.
    for (let i = 0; i < 10; i++) await h.send("u", `e${i}`);
    expect(h.reports.at(-1)).toMatchObject({ userId: "u", count: 10, at: h.now() });
  });

  it("refuses the user here for as long as the user object answers, then lets them send again", async () => {
    // The user object's bucket: the third send across the user's channels puts them over.
    let total = 0;
    const h = harness((_u, count) => {
      total += count;
      return total >= 3 ? 5_000 : 0;
    });
    await h.send("u", "phone");
    await h.send("u", "phone");
    await h.send("u", "laptop"); // a tenth of a burst of 5 is one send: each is reported at once
    expect(await h.send("u", "tablet")).toBe(5_000);
    await h.advanceTo(3_000);
    expect(await h.send("u", "tablet")).toBe(2_000);
    expect(await h.send("v", "other")).toBe(0);
    await h.advanceTo(5_000);
    expect(await h.send("u", "tablet")).toBe(0);
  });
});
