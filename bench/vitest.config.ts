// Benchmarks that must run inside workerd (a real Durable Object), kept out of `npm test`: the
// top-level vitest.config.ts includes no bench/ path. This config uses that file's Workers pool
// (wrangler.toml bindings plus the test-only ones, with the `workerd` project's limits) and runs
// bench/**/*.bench.ts only. Run from the repo root, e.g. `npm run bench:storage`.
import { defineConfig } from "vitest/config";
import { RAISED_LIMITS, workersPlugin } from "../vitest.config.ts";

export default defineConfig(async () => ({
  plugins: [
    await workersPlugin(RAISED_LIMITS, {
      // Only for bench/limiter-cost.bench.ts, which weighs the Workers Rate Limiting binding
      // against the limits the product keeps itself (docs/architecture.md, "Flood control").
      ratelimits: { RATE_LIMITER: { namespace_id: "1001", simple: { limit: 1_000_000_000, period: 60 } } },
    }),
  ],
  test: {
    include: ["bench/**/*.bench.ts"],
    exclude: ["**/node_modules/**"],
    // One test that runs for tens of seconds; nothing else may share the machine meanwhile.
    testTimeout: 600_000,
    fileParallelism: false,
  },
}));
