import { describe, expect, it } from "vitest";
import { Fanout } from "./fanout.ts";

const WINDOW = 100;

interface PendingSend {
  userId: string;
  at: number;
  resolve(): void;
  reject(err: unknown): void;
}

interface Timer {
  due: number;
  ms: number;
  fn: () => void;
}

/**
 * A Fanout wired to a fake clock, timers that fire only when the test advances the clock, and
 * sends that stay in flight until the test settles them.
 */
function harness(opts: { autoResolve?: boolean; phases?: Record<string, number> } = {}) {
  let now = 0;
  const timers: Timer[] = [];
  const sends: PendingSend[] = [];
  const errors: { userId: string; err: unknown }[] = [];
  const fanout = new Fanout({
    windowMs: () => WINDOW,
    phaseMs: (userId) => opts.phases?.[userId] ?? null,
    now: () => now,
    setTimer(fn, ms) {
      timers.push({ due: now + ms, ms, fn });
      return timers.length;
    },
    send(userId) {
      if (opts.autoResolve) {
        sends.push({ userId, at: now, resolve() {}, reject() {} });
        return Promise.resolve();
      }
      return new Promise<void>((resolve, reject) => {
        sends.push({ userId, at: now, resolve, reject });
      });
    },
    onError(userId, err) {
      errors.push({ userId, err });
    },
  });

  /** Lets settled sends run their `finally` (and any follow-up kick). */
  const flush = async (): Promise<void> => {
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };

  /** Moves the clock to `t`, firing due timers in order, each at its own due time. */
  const advanceTo = async (t: number): Promise<void> => {
    for (;;) {
      timers.sort((a, b) => a.due - b.due);
      const next = timers[0];
      if (!next || next.due > t) break;
      timers.shift();
      now = Math.max(now, next.due);
      next.fn();
      await flush();
    }
    now = t;
  };

  const sendsTo = (userId: string): PendingSend[] => sends.filter((s) => s.userId === userId);

  /** The `i`-th send made so far (of `userId` when given); fails the test if there is none. */
  const nth = (i: number, userId?: string): PendingSend => {
    const send = (userId === undefined ? sends : sendsTo(userId))[i];
    if (!send) throw new Error(`no send #${i}${userId === undefined ? "" : ` to ${userId}`}`);
    return send;
  };

  return {
    fanout,
    timers,
    sends,
    errors,
    flush,
    advanceTo,
    sendsTo,
    nth,
    get now() {
      return now;
    },
  };
}

describe("Fanout", () => {
  it("spreads members with phases over the window instead of sending them as one burst", async () => {
    const phases = { a: 0, b: 25, c: 50, d: 75 };
    const h = harness({ autoResolve: true, phases });
    await h.advanceTo(1_010);
    h.fanout.notify(["a", "b", "c", "d", "e"]);
    // e has no phase: it goes at once; the others wait for their own slot of the window.
    expect(h.sends.map((s) => s.userId)).toEqual(["e"]);
    await h.advanceTo(1_200);
    expect(h.sends.map((s) => [s.userId, s.at])).toEqual([
      ["e", 1_010],
      ["b", 1_025],
      ["c", 1_050],
      ["d", 1_075],
      ["a", 1_100],
    ]);
    // Later messages keep each member on its slot, a window apart.
    h.fanout.notify(["a", "b", "c", "d"]);
    await h.advanceTo(1_400);
    expect(h.sends.slice(5).map((s) => [s.userId, s.at])).toEqual([
      ["a", 1_200],
      ["b", 1_225],
      ["c", 1_250],
      ["d", 1_275],
    ]);
  });

  it("sends at once on the first notify after a quiet spell", () => {
    const h = harness();
    h.fanout.notify(["a"]);
    expect(h.sends.map((s) => s.userId)).toEqual(["a"]);
    expect(h.timers).toHaveLength(0);
  });

  it("sends at once again when a notify comes after the window has passed", async () => {
    const h = harness();
    h.fanout.notify(["a"]);
    h.nth(0).resolve();
    await h.flush();
    await h.advanceTo(WINDOW);
    h.fanout.notify(["a"]);
    expect(h.sends.map((s) => s.at)).toEqual([0, WINDOW]);
    expect(h.timers).toHaveLength(0);
  });

  it("folds notifies within the window into one send at the window's end", async () => {
    const h = harness();
    h.fanout.notify(["a"]);
    h.nth(0).resolve();
    await h.flush();
    for (const t of [10, 20, 50, 99]) {
      await h.advanceTo(t);
      h.fanout.notify(["a"]);
    }
    expect(h.sends).toHaveLength(1);
    expect(h.timers).toEqual([expect.objectContaining({ due: WINDOW, ms: WINDOW - 10 })]);
    await h.advanceTo(WINDOW - 1);
    expect(h.sends).toHaveLength(1);
    await h.advanceTo(WINDOW);
    expect(h.sends.map((s) => s.at)).toEqual([0, WINDOW]);
    await h.advanceTo(10 * WINDOW);
    expect(h.sends).toHaveLength(2);
  });

  it("never has two sends in flight for one member: a notify during a slow send gives exactly one more send after it", async () => {
    const h = harness();
    h.fanout.notify(["a"]);
    await h.advanceTo(10);
    h.fanout.notify(["a"]);
    await h.advanceTo(20);
    h.fanout.notify(["a"]);
    await h.advanceTo(150);
    h.fanout.notify(["a"]);
    expect(h.sends).toHaveLength(1);
    expect(h.timers).toHaveLength(0);

    h.nth(0).resolve();
    await h.flush();
    // The call took 150 ms, so the owed send waits until 2 × 150 ms after the first started.
    expect(h.sends).toHaveLength(1);
    await h.advanceTo(300);
    expect(h.sends.map((s) => s.at)).toEqual([0, 300]);
    h.nth(1).resolve();
    await h.flush();
    await h.advanceTo(1000);
    expect(h.sends).toHaveLength(2);
  });

  it("after a fast send with a notify during it, waits for the window before the one follow-up send", async () => {
    const h = harness();
    h.fanout.notify(["a"]);
    await h.advanceTo(10);
    h.fanout.notify(["a"]);
    await h.advanceTo(30);
    h.nth(0).resolve();
    await h.flush();
    expect(h.sends).toHaveLength(1);
    expect(h.timers).toEqual([expect.objectContaining({ due: WINDOW, ms: WINDOW - 30 })]);
    await h.advanceTo(WINDOW);
    expect(h.sends.map((s) => s.at)).toEqual([0, WINDOW]);
  });

  it("does not start a second send while a timed send is in flight", async () => {
    const h = harness();
    h.fanout.notify(["a"]);
    h.nth(0).resolve();
    await h.flush();
    await h.advanceTo(50);
    h.fanout.notify(["a"]);
    await h.advanceTo(WINDOW);
    expect(h.sends).toHaveLength(2);
    // The second send is still in flight: later notifies only mark the member as owed again.
    await h.advanceTo(500);
    h.fanout.notify(["a"]);
    h.fanout.notify(["a"]);
    expect(h.sends).toHaveLength(2);
    h.nth(1).resolve();
    await h.flush();
    // That call took 400 ms: the follow-up goes 2 × 400 ms after it started.
    await h.advanceTo(WINDOW + 800);
    expect(h.sends.map((s) => s.at)).toEqual([0, WINDOW, WINDOW + 800]);
  });

  it("treats members independently", async () => {
    const h = harness();
    h.fanout.notify(["a", "b"]);
    expect(h.sends.map((s) => s.userId)).toEqual(["a", "b"]);

    // a's send is still in flight; b's finishes. A notify for both: a is owed, b waits its window.
    h.nth(1).resolve();
    await h.flush();
    await h.advanceTo(40);
    h.fanout.notify(["a", "b", "c"]);
    expect(h.sends.map((s) => s.userId)).toEqual(["a", "b", "c"]);
    expect(h.timers).toEqual([expect.objectContaining({ due: WINDOW })]);

    await h.advanceTo(WINDOW);
    expect(h.sendsTo("b").map((s) => s.at)).toEqual([0, WINDOW]);
    expect(h.sendsTo("a")).toHaveLength(1);

    h.nth(0, "a").resolve();
    await h.flush();
    // a's call took a whole window, so its follow-up waits two.
    await h.advanceTo(2 * WINDOW);
    expect(h.sendsTo("a").map((s) => s.at)).toEqual([0, 2 * WINDOW]);
    expect(h.fanout.calls).toEqual(
      new Map([
        ["a", 2],
        ["b", 2],
        ["c", 1],
      ]),
    );
  });

  it("reports a rejected send to onError and sends to the member again on the next notify", async () => {
    const h = harness();
    const failure = new Error("user object unreachable");
    h.fanout.notify(["a"]);
    h.nth(0).reject(failure);
    await h.flush();
    expect(h.errors).toEqual([{ userId: "a", err: failure }]);

    await h.advanceTo(WINDOW);
    h.fanout.notify(["a"]);
    expect(h.sends.map((s) => s.at)).toEqual([0, WINDOW]);
    h.nth(1).resolve();
    await h.flush();
    expect(h.errors).toHaveLength(1);
  });

  it("after a rejected send, a notify within the window is sent at the window's end", async () => {
    const h = harness();
    h.fanout.notify(["a"]);
    h.nth(0).reject(new Error("down"));
    await h.flush();
    await h.advanceTo(20);
    h.fanout.notify(["a"]);
    expect(h.sends).toHaveLength(1);
    await h.advanceTo(WINDOW);
    expect(h.sends.map((s) => s.at)).toEqual([0, WINDOW]);
  });

  it("after a rejected send with a notify during it, sends once more", async () => {
    const h = harness();
    h.fanout.notify(["a"]);
    await h.advanceTo(10);
    h.fanout.notify(["a"]);
    await h.advanceTo(200);
    h.nth(0).reject(new Error("down"));
    await h.flush();
    expect(h.errors).toHaveLength(1);
    await h.advanceTo(400);
    expect(h.sends.map((s) => s.at)).toEqual([0, 400]);
  });

  it("counts the sends made to each member in calls", async () => {
    const h = harness({ autoResolve: true });
    expect(h.fanout.calls.size).toBe(0);
    h.fanout.notify(["a"]);
    await h.flush();
    await h.advanceTo(WINDOW);
    h.fanout.notify(["a", "b"]);
    await h.flush();
    expect(h.fanout.calls.get("a")).toBe(2);
    expect(h.fanout.calls.get("b")).toBe(1);
    expect(h.fanout.calls.get("c")).toBeUndefined();
    expect(h.sends).toHaveLength(3);
  });

  it("turns 200 notifies over one second into about one send per 100 ms window", async () => {
    const h = harness({ autoResolve: true });
    for (let i = 0; i < 200; i++) {
      await h.advanceTo(i * 5);
      h.fanout.notify(["a"]);
      await h.flush();
    }
    await h.advanceTo(2000);
    const calls = h.fanout.calls.get("a") ?? 0;
    expect(calls).toBe(h.sends.length);
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(calls).toBeLessThanOrEqual(20);
    // Consecutive sends start at least one window apart.
    const starts = h.sends.map((s) => s.at);
    const gaps = starts.slice(1).map((t, i) => t - (starts[i] ?? t));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(WINDOW);
    // The last notify (at 995 ms) is covered by a send that starts no earlier.
    expect(Math.max(...starts)).toBeGreaterThanOrEqual(995);
  });
});

describe("load regulation", () => {
  it("waits at least twice as long as a member's last call took before the next one", async () => {
    const h = harness();
    h.fanout.notify(["slow"]);
    await h.advanceTo(300); // the call took 300 ms: the object is busy
    h.nth(0).resolve();
    await h.flush();
    h.fanout.notify(["slow"]);
    expect(h.sends).toHaveLength(1);
    await h.advanceTo(599);
    expect(h.sends).toHaveLength(1);
    await h.advanceTo(600); // 2 × 300 ms after the last call started
    expect(h.sends.map((x) => x.at)).toEqual([0, 600]);
  });
});
