/**
 * The fixed cost of one Durable Object RPC call in local workerd, the unit of the user-socket
 * fan-out (a channel calls each member's user object once per fold window): N calls of a
 * method that does almost nothing (`UserInbox.presence`) to 100 user objects, one at a time
 * and 100 at a time. The per-call figure bounds how many member updates per second one
 * thread can make, whatever the objects do with them (docs/performance.md).
 * Run: npm run bench:platform
 */
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";

const USERS = 100;
const ROUNDS = 20;

it("measures the cost of one RPC call", async () => {
  const stubs = Array.from({ length: USERS }, (_, i) => env.USER_INBOX.getByName(`rpc-bench-${i}`));
  await Promise.all(stubs.map((s) => s.presence())); // construct (and migrate) every object first
  const perCall = async (round: () => Promise<unknown>) => {
    const t0 = performance.now();
    for (let r = 0; r < ROUNDS; r++) await round();
    return (performance.now() - t0) / (ROUNDS * USERS);
  };
  const sequentialMs = await perCall(async () => {
    for (const s of stubs) await s.presence();
  });
  const concurrentMs = await perCall(() => Promise.all(stubs.map((s) => s.presence())));
  console.log(`RESULT_JSON ${JSON.stringify({ sequentialMs, concurrentMs })}`);
  expect(concurrentMs).toBeGreaterThan(0);
});
