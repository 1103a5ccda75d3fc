/**
 * @module domain/passwords
 * Password hashing with PBKDF2-SHA256 through WebCrypto: 100,000 iterations (the Workers
 * runtime's maximum) and a random 16-byte salt per user. Comparison is constant-time.
 */
import { fromBase64Url, randomToken, toBase64Url } from "./encoding.ts";

export const PBKDF2_ITERATIONS = 100_000;
const HASH_BITS = 256;

export interface PasswordHash {
  hash: string;
  salt: string;
  iterations: number;
}

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    key,
    HASH_BITS,
  );
  return new Uint8Array(bits);
}

export async function hashPassword(password: string): Promise<PasswordHash> {
  const salt = randomToken(16);
  const hash = await derive(password, fromBase64Url(salt), PBKDF2_ITERATIONS);
  return { hash: toBase64Url(hash), salt, iterations: PBKDF2_ITERATIONS };
}

/**
 * True when `password` matches. With `stored` undefined (unknown handle) it still spends one
 * full derivation, so the answer takes as long as for a wrong password.
 */
export async function verifyPassword(password: string, stored: PasswordHash | undefined): Promise<boolean> {
  const salt = stored ? fromBase64Url(stored.salt) : new Uint8Array(16);
  const actual = await derive(password, salt, stored?.iterations ?? PBKDF2_ITERATIONS);
  if (!stored) return false;
  return timingSafeEqual(actual, fromBase64Url(stored.hash));
}

export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  return crypto.subtle.timingSafeEqual(a, b);
}
