import { describe, expect, it } from "vitest";
import { isEmoji, isReactionEmoji, MAX_EMOJI_UNITS } from "./emoji.ts";

describe("isEmoji", () => {
  it("takes one emoji as a keyboard's panel gives it", () => {
    for (const e of ["👍", "👍🏽", "❤️", "👨‍👩‍👧", "🇫🇷", "1️⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "✅", "🫶🏼"])
      expect(isEmoji(e), e).toBe(true);
  });

  it("refuses text, whitespace, two emoji and a dangling joiner", () => {
    for (const e of ["a", "ok", " 👍", "👍 ", "👍👍", "😀\u200D", "\u200D😀", "🇫", "<b>"])
      expect(isEmoji(e), e).toBe(false);
  });

  it(`refuses a sequence longer than ${MAX_EMOJI_UNITS} UTF-16 units`, () => {
    const family = "👨🏽‍👩🏽‍👧🏽‍👦🏽"; // 4 people with skin tones: 23 units
    expect(isEmoji(family)).toBe(true);
    const long = Array.from({ length: 7 }, () => "👨🏽").join("\u200D"); // 7 × 4 units and 6 joiners: 34
    expect(long.length).toBeGreaterThan(MAX_EMOJI_UNITS);
    expect(isEmoji(long)).toBe(false);
  });

  it("lets a reaction be taken back with the empty string", () => {
    expect(isReactionEmoji("")).toBe(true);
    expect(isEmoji("")).toBe(false);
  });
});
