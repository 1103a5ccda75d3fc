// Workerd test tier: runs *.test.ts inside the Workers runtime with the real wrangler.toml bindings.
// Test-only additions: the D1 migrations (applied by test/setup/apply-migrations.ts), a fixed
// AUTH_SECRET and VAPID key pair, a short fan-out window and fast push queues. Node-side suites
// (test/e2e, test/browser) run via scripts/test.mjs.
// This file is type-checked with the Workers types only (no @types/node), hence no node: imports.
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

declare const process: { env: Record<string, string | undefined> };

const TEST_AUTH_SECRET = "test-secret-not-for-production-0123456789";
// A VAPID key pair made for these tests only (scripts/vapid.mjs format); no deployment uses it.
const TEST_VAPID_PUBLIC_KEY =
  "BMw7FFdpcKBDHz_usMKYOvHElpd3kZM9kxdRTl49zzDaA4hUKQR2dwKaBUm1V3HF_nH1qToPncGUr6509bBJAQs";
const TEST_VAPID_PRIVATE_KEY = "CLsTPBQr6FGOoZ-vS87PHAuISTxGl24Rs9Y6I30I2As";
// wrangler.toml marks these secrets required; without .dev.vars (fresh clone, CI) wrangler would warn
// that they are missing. The miniflare bindings below are what the tests actually see.
process.env.AUTH_SECRET ??= TEST_AUTH_SECRET;
process.env.VAPID_PUBLIC_KEY ??= TEST_VAPID_PUBLIC_KEY;
process.env.VAPID_PRIVATE_KEY ??= TEST_VAPID_PRIVATE_KEY;

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
            // A small archive, so that every test posting more than ~150 messages to a channel
            // (resumes of 500, syncs of 450, bursts of 200) reads across R2 as well as SQLite.
            ARCHIVE_SEGMENT_MESSAGES: "50",
            HOT_MESSAGES: "100",
            // Short enough to test going offline; test sockets heartbeat every 250 ms.
            PRESENCE_TIMEOUT_MS: "2000",
            VAPID_PUBLIC_KEY: TEST_VAPID_PUBLIC_KEY,
            VAPID_PRIVATE_KEY: TEST_VAPID_PRIVATE_KEY,
          },
          // Deliver at once instead of waiting up to max_batch_timeout, and give up after 3 attempts
          // (wrangler.toml: 5), so a job reaches the dead-letter queue within seconds. retryDelay
          // applies only when the consumer gives no delay of its own.
          queueConsumers: {
            push: { maxBatchTimeout: 0, maxRetries: 2, deadLetterQueue: "push-dlq", retryDelay: 0 },
            "push-dlq": { maxBatchTimeout: 0 },
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
