import { describe, expect, it } from "vitest";
import { sliceOf } from "./search.ts";

describe("the indexer's slices", () => {
  it("stop at about 500,000 characters, so long messages are indexed a few per commit", () => {
    const long = Array.from({ length: 300 }, () => ({ chars: 90_000 }));
    expect(sliceOf(long)).toBe(6);
    const short = Array.from({ length: 500 }, () => ({ chars: 100 }));
    expect(sliceOf(short)).toBe(500);
    // One message over the budget still goes, alone: the indexer always moves on.
    expect(sliceOf([{ chars: 2_000_000 }, { chars: 10 }])).toBe(1);
  });
});
