import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { toHex } from "./log-chain.ts";
import { sha256 } from "./sha256.ts";

const native = (data: Uint8Array) => toHex(createHash("sha256").update(data).digest());

describe("sha256", () => {
  it("matches the FIPS 180-4 examples", () => {
    expect(toHex(sha256(new TextEncoder().encode("abc")))).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    expect(toHex(sha256(new Uint8Array()))).toBe(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
  });

  it("matches node:crypto on every length around the block edges and on random inputs", () => {
    for (let len = 0; len < 300; len++) {
      const data = crypto.getRandomValues(new Uint8Array(len));
      expect(toHex(sha256(data)), `length ${len}`).toBe(native(data));
    }
    const big = new Uint8Array(200_003);
    for (let i = 0; i < big.length; i += 65_536) crypto.getRandomValues(big.subarray(i, i + 65_536));
    expect(toHex(sha256(big))).toBe(native(big));
  });
});
