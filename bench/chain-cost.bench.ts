/**
 * What the hash chain costs the channel's single writer per message, in workerd: the digest of the
 * entry's canonical bytes plus the link to the previous hash (domain/log-chain.ts), with three
 * SHA-256 implementations: node:crypto's native `createHash` (nodejs_compat), the synchronous
 * TypeScript one (domain/sha256.ts), and WebCrypto's `crypto.subtle.digest`, which is async (the
 * ack leaves in the write's turn, so it would need the write path restructured). Texts of 20, 100,
 * 1,000 and 100,000 characters. The clock of a Worker advances only across I/O, so each figure is
 * a batch's time across one awaited timer, minus that timer alone.
 * Run: npm run bench:platform
 */
import { createHash } from "node:crypto";
import { expect, it } from "vitest";
import { chainLink, GENESIS_HASH, messageBytes, messageHash, type Sha256 } from "../domain/log-chain.ts";
import { sha256 as jsSha256 } from "../domain/sha256.ts";

const nativeSha256: Sha256 = (data) => new Uint8Array(createHash("sha256").update(data).digest());

const tick = () => new Promise((r) => setTimeout(r, 0));

async function perOp(n: number, op: (i: number) => unknown): Promise<number> {
  const t0 = performance.now();
  await tick();
  const idle = performance.now() - t0;
  const t1 = performance.now();
  for (let i = 0; i < n; i++) op(i);
  await tick();
  return (performance.now() - t1 - idle) / n;
}

async function perAsyncOp(n: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const t1 = performance.now();
  for (let i = 0; i < n; i++) await op(i);
  return (performance.now() - t1) / n;
}

it("measures the chain's cost per message", async () => {
  const results: Record<string, Record<string, number>> = {};
  for (const chars of [20, 100, 1_000, 100_000]) {
    const n = chars >= 100_000 ? 50 : 5_000;
    const entry = (i: number) => ({
      seq: 1_000 + i,
      id: "01JD8Y0Z1A2B3C4D5E6F7G8H9J",
      sender_id: "01JD8X3Q4K7M2N5P6R8S9T0VWX",
      client_msg_id: "c7d1c0f6-2b7e-4a8e-9d43-0f4f7b0e9a11",
      text: "é".repeat(chars / 10) + "x".repeat(chars - chars / 10),
      ts: 1767225600123 + i,
    });
    const ch = "dm_01JD8X3Q4K7M2N5P6R8S9T0VWX_01JD8X4B2C3D4E5F6G7H8J9K0M";
    const row: Record<string, number> = {};
    row.canonicalBytesUs = 1000 * (await perOp(n, (i) => messageBytes(ch, entry(i))));
    row.nativeUs = 1000 * (await perOp(n, (i) => messageHash(nativeSha256, ch, GENESIS_HASH, entry(i))));
    row.typescriptUs = 1000 * (await perOp(n, (i) => messageHash(jsSha256, ch, GENESIS_HASH, entry(i))));
    row.webCryptoAwaitedUs =
      1000 *
      (await perAsyncOp(n, async (i) => {
        const d = await crypto.subtle.digest("SHA-256", messageBytes(ch, entry(i)));
        return chainLink(nativeSha256, GENESIS_HASH, new Uint8Array(d));
      }));
    results[`${chars} chars`] = row;
  }
  console.log(`RESULT_JSON ${JSON.stringify(results)}`);
  expect(Object.keys(results)).toHaveLength(4);
});
