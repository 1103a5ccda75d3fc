import { describe, expect, it } from "vitest";
import type { WireMessage } from "../../protocol/frames.ts";
import { SegmentCache } from "./archive.ts";

const page = (n: number) => [{ seq: n } as WireMessage];

describe("SegmentCache", () => {
  it("stays within its budget, dropping the least recently used segment first", async () => {
    const cache = new SegmentCache(1_000);
    const loads: string[] = [];
    const get = (key: string, cost = 400) =>
      cache.get(key, cost, async () => {
        loads.push(key);
        return page(Number(key));
      });
    await get("1");
    await get("2");
    await get("1"); // 1 is now the most recently used
    await get("3"); // over budget: 2 goes
    expect(cache.used).toBeLessThanOrEqual(1_000);
    await get("1");
    await get("2");
    expect(loads).toEqual(["1", "2", "3", "2"]);
    expect(cache.hits).toBe(2);
  });

  it("shares one load between concurrent readers, and never holds a segment over its budget", async () => {
    const cache = new SegmentCache(1_000);
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 10));
      return page(7);
    };
    const [a, b] = await Promise.all([cache.get("7", 100, load), cache.get("7", 100, load)]);
    expect(a).toBe(b);
    expect(loads).toBe(1);
    await cache.get("big", 5_000, async () => page(8));
    expect(cache.used).toBe(100);
  });
});
