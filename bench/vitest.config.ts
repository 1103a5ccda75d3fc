// Benchmarks that must run inside workerd (a real Durable Object), kept out of `npm test`: the
// top-level vitest.config.ts includes no bench/ path. This config takes that file's plugins (the
// same cloudflareTest setup: wrangler.toml bindings plus the test-only ones) and swaps the
// test section for bench/**/*.bench.ts only. Run from the repo root, e.g. `npm run bench:storage`.
import { defineConfig } from "vitest/config";
import base from "../vitest.config.ts";

export default defineConfig(async (configEnv) => {
  const { plugins } = await base(configEnv);
  return {
    plugins,
    test: {
      include: ["bench/**/*.bench.ts"],
      exclude: ["**/node_modules/**"],
      // One test that runs for tens of seconds; nothing else may share the machine meanwhile.
      testTimeout: 600_000,
      fileParallelism: false,
    },
  };
});
