import { describe, expect, it } from "vitest";
import { onSlot, phaseOf } from "./slots.ts";

describe("slots", () => {
  it("gives each id a stable slot, and ids spread over the window", () => {
    expect(phaseOf("user-1", 5_000)).toBe(phaseOf("user-1", 5_000));
    const slots = Array.from({ length: 100 }, (_, i) => phaseOf(`user-${i}`, 5_000));
    expect(Math.min(...slots)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...slots)).toBeLessThan(5_000);
    // 100 ids over 10 buckets of 500 ms: none holds more than a quarter of them.
    const buckets = new Array(10).fill(0);
    for (const s of slots) buckets[Math.floor(s / 500)]++;
    expect(Math.max(...buckets)).toBeLessThanOrEqual(25);
  });

  it("finds the first time on a slot at or after a given time", () => {
    expect(onSlot(10_000, 1_200, 5_000)).toBe(11_200);
    expect(onSlot(11_200, 1_200, 5_000)).toBe(11_200);
    expect(onSlot(11_201, 1_200, 5_000)).toBe(16_200);
  });
});
