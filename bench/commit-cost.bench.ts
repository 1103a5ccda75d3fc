/**
 * How long a Durable Object write takes to become durable in local workerd: one 100-character
 * row inserted, then `storage.sync()` awaited, 300 times. Every durable ack and every frame
 * sent after a write waits this long behind the output gate, so it is the part of the 1:1
 * send→ack latency the floor (no storage) does not pay (docs/performance.md).
 * Run: npm run bench:platform
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";

const WRITES = 300;

it("measures the commit behind the output gate", async () => {
  const stub = env.CHANNEL_ROOM.getByName("commit-bench");
  const ms = await runInDurableObject(stub, async (_instance, state) => {
    state.storage.sql.exec("CREATE TABLE IF NOT EXISTS commit_bench (k INTEGER PRIMARY KEY, v TEXT)");
    await state.storage.sync();
    const times: number[] = [];
    for (let i = 0; i < WRITES; i++) {
      state.storage.sql.exec("INSERT INTO commit_bench (v) VALUES (?)", "x".repeat(100));
      const t0 = performance.now();
      await state.storage.sync();
      times.push(performance.now() - t0);
    }
    return times.sort((a, b) => a - b);
  });
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? 0;
  console.log(`RESULT_JSON ${JSON.stringify({ commitMs: { p50: at(0.5), p90: at(0.9), max: at(1) } })}`);
  expect(ms).toHaveLength(WRITES);
});
