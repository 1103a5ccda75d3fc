import { describe, expect, it } from "vitest";
import { hashPassword, PBKDF2_ITERATIONS, timingSafeEqual, verifyPassword } from "./passwords.ts";

describe("passwords", () => {
  it("verifies the password a hash was made from", async () => {
    const stored = await hashPassword("correct horse battery staple");
    expect(await verifyPassword("correct horse battery staple", stored)).toBe(true);
  });

  it("refuses a wrong password", async () => {
    const stored = await hashPassword("correct horse battery staple");
    expect(await verifyPassword("correct horse battery stapler", stored)).toBe(false);
    expect(await verifyPassword("", stored)).toBe(false);
  });

  it("returns false when there is no stored hash (unknown handle)", async () => {
    expect(await verifyPassword("anything", undefined)).toBe(false);
  });

  it("salts each hash, so two hashes of the same password differ", async () => {
    const a = await hashPassword("same password");
    const b = await hashPassword("same password");
    expect(a.salt).not.toBe(b.salt);
    expect(a.hash).not.toBe(b.hash);
    expect(await verifyPassword("same password", a)).toBe(true);
    expect(await verifyPassword("same password", b)).toBe(true);
  });

  it("records 100,000 PBKDF2 iterations with a 16-byte salt and a 256-bit hash", async () => {
    const stored = await hashPassword("pw-12345");
    expect(PBKDF2_ITERATIONS).toBe(100_000);
    expect(stored.iterations).toBe(100_000);
    expect(stored.salt).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(stored.hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("refuses a hash whose salt belongs to another hash", async () => {
    const a = await hashPassword("pw-12345");
    const b = await hashPassword("pw-12345");
    expect(await verifyPassword("pw-12345", { ...a, salt: b.salt })).toBe(false);
  });

  it("handles non-ASCII passwords", async () => {
    const stored = await hashPassword("pässwörd 😀");
    expect(await verifyPassword("pässwörd 😀", stored)).toBe(true);
    expect(await verifyPassword("passwörd 😀", stored)).toBe(false);
  });
});

describe("timingSafeEqual", () => {
  it("is true for equal bytes and false for different bytes or lengths", () => {
    expect(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(true);
    expect(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4]))).toBe(false);
    expect(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2]))).toBe(false);
  });
});
