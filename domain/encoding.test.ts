import { describe, expect, it } from "vitest";
import { fromBase64Url, randomToken, sha256, toBase64Url } from "./encoding.ts";

describe("base64url", () => {
  it("round-trips random byte arrays of every length from 0 to 40", () => {
    for (let len = 0; len <= 40; len++) {
      for (let trial = 0; trial < 5; trial++) {
        const bytes = crypto.getRandomValues(new Uint8Array(len));
        const text = toBase64Url(bytes);
        expect(fromBase64Url(text)).toEqual(bytes);
      }
    }
  });

  it("never writes '+', '/' or '=' into its output", () => {
    for (let len = 0; len <= 40; len++) {
      const text = toBase64Url(crypto.getRandomValues(new Uint8Array(len)));
      expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
      expect(text.length).toBe(Math.ceil((len * 4) / 3));
    }
  });

  it("uses '-' and '_' for the bytes standard base64 writes as '+' and '/'", () => {
    expect(toBase64Url(new Uint8Array([0xfb, 0xff]))).toBe("-_8");
    expect(fromBase64Url("-_8")).toEqual(new Uint8Array([0xfb, 0xff]));
    const all = new Uint8Array(256).map((_, i) => i);
    expect(fromBase64Url(toBase64Url(all))).toEqual(all);
  });

  it("encodes the empty array as the empty string", () => {
    expect(toBase64Url(new Uint8Array(0))).toBe("");
    expect(fromBase64Url("")).toEqual(new Uint8Array(0));
  });
});

describe("randomToken", () => {
  it("encodes the requested number of random bytes as base64url", () => {
    const token = randomToken(16);
    expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(fromBase64Url(token).length).toBe(16);
    expect(randomToken().length).toBe(43);
  });

  it("gives a different token on each call", () => {
    expect(randomToken()).not.toBe(randomToken());
  });
});

describe("sha256", () => {
  it("returns the SHA-256 digest of the text as base64url", async () => {
    // SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 96177a9c b410ff61 f20015ad
    expect(await sha256("abc")).toBe("ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
  });
});
