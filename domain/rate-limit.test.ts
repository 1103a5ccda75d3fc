import { describe, expect, it } from "vitest";
import { Bucket, charge, Limiter, parseRate, take, waitMs } from "./rate-limit.ts";

describe("rate limits", () => {
  it("reads settings as burst / period, and refuses a malformed one loudly", () => {
    expect(parseRate("60/10s")).toEqual({ burst: 60, periodMs: 10_000 });
    expect(parseRate("5/15m")).toEqual({ burst: 5, periodMs: 900_000 });
    expect(parseRate(" 20 / 1h ")).toEqual({ burst: 20, periodMs: 3_600_000 });
    expect(parseRate("3/250ms")).toEqual({ burst: 3, periodMs: 250 });
    for (const bad of ["", "60", "60/10", "0/10s", "60/0s", "-1/1s", "ten/1s", "undefined"])
      expect(() => parseRate(bad, "LIMIT_X")).toThrow(/LIMIT_X/);
  });

  it("lets a burst through at once, refuses the next with the time until one more fits, and refills steadily", () => {
    const rate = parseRate("4/2s"); // one every 500 ms
    const b = new Bucket(rate);
    for (let i = 0; i < 4; i++) expect(b.take(1_000)).toBe(0);
    expect(b.take(1_000)).toBe(500);
    expect(b.take(1_200)).toBe(300);
    expect(b.take(1_500)).toBe(0);
    expect(b.take(1_500)).toBe(500);
    // Idle for the whole period: the full burst again, and no more.
    for (let i = 0; i < 4; i++) expect(b.take(10_000)).toBe(0);
    expect(b.take(10_000)).toBeGreaterThan(0);
  });

  it("keeps a bucket as one number, full again when it is in the past", () => {
    const rate = parseRate("2/1s");
    const first = take(0, 5_000, rate);
    expect(first).toEqual({ ok: true, tat: 5_500 });
    const second = take(5_500, 5_000, rate);
    expect(second).toEqual({ ok: true, tat: 6_000 });
    expect(take(6_000, 5_000, rate)).toEqual({ ok: false, retryAfterMs: 500 });
    expect(waitMs(6_000, 5_000, rate)).toBe(500);
    expect(waitMs(4_000, 5_000, rate)).toBe(0);
  });

  it("charges events that already happened into debt, which is paid back by waiting", () => {
    const rate = parseRate("10/10s"); // one a second
    const tat = charge(0, 0, rate, 25); // 15 past the burst
    // The debt (15 s) is paid back, then one more event's worth (1 s) has to fit.
    expect(waitMs(tat, 0, rate)).toBe(16_000);
    expect(waitMs(tat, 15_999, rate)).toBe(1);
    expect(waitMs(tat, 16_000, rate)).toBe(0);
  });

  it("keeps one bucket per key, independently, and forgets full ones as the map grows", () => {
    const l = new Limiter(parseRate("1/1s"));
    expect(l.take("a", 0)).toBe(0);
    expect(l.take("a", 0)).toBe(1_000);
    expect(l.take("b", 0)).toBe(0);
    expect(l.wait("a", 500)).toBe(500);
    for (let i = 0; i < 5_000; i++) l.take(`k${i}`, 10_000 + i * 2);
    // Every key above was full again a second after its take: the map did not keep them all.
    expect(l.take("a", 20_000)).toBe(0);
  });
});
