import { describe, expect, it } from "vitest";
import { MAX_MESSAGE_CODE_POINTS } from "../protocol/frames.ts";
import { thrown } from "../test/fixtures/thrown.ts";
import { checkMessageText, codePointLength, preview } from "./message-text.ts";

const EMOJI = "😀";
const HIGH = "\ud83d";
const LOW = "\ude00";

/** True when the string holds a high surrogate without its low half, or the reverse. */
function hasLoneSurrogate(text: string): boolean {
  return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);
}

describe("codePointLength", () => {
  it("counts an astral emoji as one code point although it is two UTF-16 units", () => {
    expect(EMOJI.length).toBe(2);
    expect(codePointLength(EMOJI)).toBe(1);
  });

  it("counts each character of mixed BMP and astral text once", () => {
    expect(codePointLength(`a${EMOJI}b${EMOJI}${EMOJI}é`)).toBe(6);
    expect(codePointLength("")).toBe(0);
  });

  it("counts a lone high or low surrogate as one code point", () => {
    expect(codePointLength(HIGH)).toBe(1);
    expect(codePointLength(LOW)).toBe(1);
    expect(codePointLength(`a${HIGH}`)).toBe(2);
    expect(codePointLength(`${HIGH}b`)).toBe(2);
  });

  it("counts a low surrogate followed by a high one as two, since they do not form a pair", () => {
    expect(codePointLength(`${LOW}${HIGH}`)).toBe(2);
  });

  it("agrees with the string iterator on text mixing pairs and lone surrogates", () => {
    const text = `x${EMOJI}${HIGH}${HIGH}${LOW}${LOW}𝄞y`;
    expect(codePointLength(text)).toBe([...text].length);
  });
});

describe("checkMessageText", () => {
  it("accepts exactly 100,000 astral code points (200,000 UTF-16 units) and returns the text unchanged", () => {
    const text = EMOJI.repeat(MAX_MESSAGE_CODE_POINTS);
    expect(MAX_MESSAGE_CODE_POINTS).toBe(100_000);
    expect(text.length).toBe(200_000);
    expect(checkMessageText(text)).toBe(text);
  });

  it("refuses 100,001 astral code points with message_too_long", () => {
    const err = thrown(() => checkMessageText(EMOJI.repeat(MAX_MESSAGE_CODE_POINTS + 1)));
    expect(err.code).toBe("message_too_long");
    expect(err.message).toContain("100001");
  });

  it("refuses 100,001 BMP characters with message_too_long", () => {
    expect(thrown(() => checkMessageText("a".repeat(MAX_MESSAGE_CODE_POINTS + 1))).code).toBe(
      "message_too_long",
    );
  });

  it("refuses the empty string with message_empty", () => {
    expect(thrown(() => checkMessageText("")).code).toBe("message_empty");
  });

  it("refuses whitespace-only text with message_empty", () => {
    expect(thrown(() => checkMessageText("  \n\t")).code).toBe("message_empty");
  });

  it("accepts a single character surrounded by whitespace, keeping the whitespace", () => {
    expect(checkMessageText("  x\n")).toBe("  x\n");
  });
});

describe("preview", () => {
  it("returns the text unchanged when it is shorter than the limit", () => {
    expect(preview("hello 😀")).toBe("hello 😀");
    expect(preview("")).toBe("");
  });

  it("returns the text unchanged when it has exactly 100 code points", () => {
    const text = EMOJI.repeat(100);
    expect(preview(text)).toBe(text);
  });

  it("keeps at most 100 code points of longer text", () => {
    expect(preview("a".repeat(250))).toBe("a".repeat(100));
    expect(codePointLength(preview(EMOJI.repeat(150)))).toBe(100);
  });

  it("never splits a surrogate pair, even when the cut falls on an odd UTF-16 offset", () => {
    const text = `a${EMOJI.repeat(200)}`;
    const out = preview(text);
    expect(out).toBe(`a${EMOJI.repeat(99)}`);
    expect(out.length).toBe(199);
    expect(hasLoneSurrogate(out)).toBe(false);
  });

  it("honours a custom maximum", () => {
    expect(preview(`${EMOJI}bcdef`, 3)).toBe(`${EMOJI}bc`);
    expect(preview("abc", 0)).toBe("");
  });
});
