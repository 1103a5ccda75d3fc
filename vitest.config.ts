// Workerd test tier: runs *.test.ts inside the Workers runtime with the real wrangler.toml bindings.
// Test-only additions: the D1 migrations (applied by test/setup/apply-migrations.ts), a fixed
// AUTH_SECRET and a short fan-out window. Node-side suites (test/e2e, test/browser) run via scripts/test.mjs.
// This file is type-checked with the Workers types only (no @types/node), hence no node: imports.
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

declare const process: { env: Record<string, string | undefined> };

const TEST_AUTH_SECRET = "test-secret-not-for-production-0123456789";
// wrangler.toml marks AUTH_SECRET required; without .dev.vars (fresh clone, CI) wrangler would warn
// that it is missing. The miniflare binding below is what the tests actually see.
process.env.AUTH_SECRET ??= TEST_AUTH_SECRET;

export default defineConfig(async () => {
  // Relative to the repo root, where vitest runs (it only finds this config from there).
  const migrations = await readD1Migrations("migrations/d1");
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            AUTH_SECRET: TEST_AUTH_SECRET,
            FANOUT_WINDOW_MS: "100",
            // Short enough to test going offline; test sockets heartbeat every 250 ms.
            PRESENCE_TIMEOUT_MS: "2000",
          },
        },
      }),
    ],
    test: {
      include: [
        "test/**/*.test.ts",
        "protocol/**/*.test.ts",
        "domain/**/*.test.ts",
        "durable-objects/**/*.test.ts",
        "storage/**/*.test.ts",
        "workers/**/*.test.ts",
      ],
      exclude: ["**/node_modules/**", "test/e2e/**", "test/browser/**"],
      setupFiles: ["./test/setup/apply-migrations.ts"],
      testTimeout: 30_000,
    },
  };
});
