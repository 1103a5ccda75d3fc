/**
 * What a per-user send limit across channels would cost on the message path, compared
 * (docs/architecture.md, "Flood control"):
 *   - the Workers Rate Limiting binding (`env.X.limit({ key })`), awaited per message;
 *   - an RPC to the user's object (`UserInbox.reportSends`), which the product makes at most
 *     once a second per user and channel, off the ack's path.
 * The in-memory buckets every send does pay (`Bucket.take`, `Limiter.take`) are plain
 * JavaScript: workerd's clock does not move while code runs, so they are timed in Node
 * (about 5-10 ns and 45-60 ns a take on this machine).
 * Locally the binding is Miniflare's: a fetch to one Durable Object with a SQLite table, so its
 * figure is the local one, not the edge's (there counters are cached in the location); it is
 * awaited all the same, which is what matters on a path that must not wait.
 * Run: npx vitest run --config bench/vitest.config.ts bench/limiter-cost.bench.ts
 */
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";

const CALLS = 2_000;

it("measures a limit check through the Rate Limiting binding, and by RPC", async () => {
  const limiter = (env as unknown as { RATE_LIMITER: RateLimit }).RATE_LIMITER;
  await limiter.limit({ key: "warm" });
  let t0 = performance.now();
  for (let i = 0; i < CALLS; i++) await limiter.limit({ key: `user-${i % 100}` });
  const bindingUs = ((performance.now() - t0) / CALLS) * 1e3;

  const inbox = env.USER_INBOX.getByName("limiter-cost-user");
  await inbox.reportSends(1);
  t0 = performance.now();
  for (let i = 0; i < CALLS; i++) await inbox.reportSends(1);
  const rpcUs = ((performance.now() - t0) / CALLS) * 1e3;

  console.log(`RESULT_JSON ${JSON.stringify({ bindingUs, rpcUs })}`);
  expect(bindingUs).toBeGreaterThan(0);
});
