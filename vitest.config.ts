// Workerd test tier: runs *.test.ts inside the Workers runtime with the real wrangler.toml bindings.
// Test-only additions: the D1 migrations (applied by test/setup/apply-migrations.ts), a fixed
// AUTH_SECRET and VAPID key pair, a short fan-out window and fast push queues. Node-side suites
// (test/e2e, test/browser) run via scripts/test.mjs.
// This file is type-checked with the Workers types only (no @types/node), hence no node: imports.
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

declare const process: { env: Record<string, string | undefined> };

const TEST_AUTH_SECRET = "test-secret-not-for-production-0123456789";
// The operator endpoints' bearer token in these tests (test/workers/operator.test.ts).
const TEST_OPS_SECRET = "test-ops-secret-not-for-production-0123456789";
// A VAPID key pair made for these tests only (scripts/vapid.mjs format); no deployment uses it.
const TEST_VAPID_PUBLIC_KEY =
  "BMw7FFdpcKBDHz_usMKYOvHElpd3kZM9kxdRTl49zzDaA4hUKQR2dwKaBUm1V3HF_nH1qToPncGUr6509bBJAQs";
const TEST_VAPID_PRIVATE_KEY = "CLsTPBQr6FGOoZ-vS87PHAuISTxGl24Rs9Y6I30I2As";
// wrangler.toml marks these secrets required; without .dev.vars (fresh clone, CI) wrangler would warn
// that they are missing. The miniflare bindings below are what the tests actually see.
process.env.AUTH_SECRET ??= TEST_AUTH_SECRET;
process.env.VAPID_PUBLIC_KEY ??= TEST_VAPID_PUBLIC_KEY;
process.env.VAPID_PRIVATE_KEY ??= TEST_VAPID_PRIVATE_KEY;
process.env.OPS_SECRET ??= TEST_OPS_SECRET;

/**
 * The limit settings of the workerd tier (docs/protocol.md §10, "Local clients"). Limits are
 * never switched off; two projects set them differently:
 * - `workerd`: every test but test/limits. Its tests seed hundreds of messages from one device
 *   (sends, frames and sync pages), befriend 99 users from one (friend requests) and flood
 *   markers to test the fold, as fast as they can, so those limits are raised; every other
 *   limit is wrangler.toml's. Sign-ups present their own addresses (test/fixtures/api.ts).
 * - `limits`: test/limits, one test per limit at its N+1st request and after its retry time,
 *   with small limits and short periods (the tests read them from `env`), so each is reached
 *   in a few requests and refills within a second or two.
 */
export const RAISED_LIMITS = {
  LIMIT_SENDS_PER_DEVICE: "100000/1s",
  LIMIT_SENDS_PER_USER: "100000/1s",
  LIMIT_EDITS_PER_DEVICE: "100000/1s",
  LIMIT_REACTIONS_PER_DEVICE: "100000/1s",
  LIMIT_SYNCS_PER_SOCKET: "100000/1s",
  LIMIT_FRAMES_PER_SOCKET: "100000/1s",
  LIMIT_FRIEND_REQUESTS_PER_USER: "100000/1s",
  // receipts.test.ts floods markers to show that the fold bounds what the channel sends.
  LIMIT_MARKERS_PER_SOCKET: "100000/1s",
};
const SMALL_LIMITS = {
  LIMIT_SENDS_PER_DEVICE: "5/1s",
  LIMIT_SENDS_PER_USER: "7/4s",
  LIMIT_EDITS_PER_DEVICE: "3/1s",
  LIMIT_REACTIONS_PER_DEVICE: "4/1s",
  LIMIT_FRAMES_PER_SOCKET: "20/1s",
  LIMIT_TYPING_PER_SOCKET: "3/1s",
  LIMIT_MARKERS_PER_SOCKET: "4/1s",
  LIMIT_SYNCS_PER_SOCKET: "3/1s",
  LIMIT_RESUMES_PER_SOCKET: "2/1s",
  LIMIT_REFUSALS_PER_SOCKET: "6/2s",
  LIMIT_HISTORY_PER_USER: "3/1s",
  LIMIT_MEMBER_CHANGES_PER_CHANNEL: "3/1s",
  LIMIT_CONNECTS_PER_USER: "4/1s",
  LIMIT_FRIEND_REQUESTS_PER_USER: "3/1s",
  LIMIT_GROUP_CREATES_PER_USER: "2/1s",
  LIMIT_PRESENCE_READS_PER_USER: "3/1s",
  LIMIT_PUSH_CHANGES_PER_USER: "2/1s",
  LIMIT_WRITES_PER_USER: "3/1s",
  LIMIT_DEVICES_PER_USER: "3",
  LIMIT_FLOOD_PAUSE_MS: "500",
  LIMIT_SIGNUPS_PER_ADDRESS: "3/2s",
  LIMIT_LOGIN_FAILURES_PER_HANDLE_ADDRESS: "2/2s",
  // Refilled slowly enough that a run of failed logins (a password hash each) stays refused.
  LIMIT_LOGIN_FAILURES_PER_HANDLE: "4/8s",
  LIMIT_LOGIN_FAILURES_PER_ADDRESS: "6/12s",
  LIMIT_PASSWORD_FAILURES_PER_USER: "2/2s",
};

/** The Workers pool of one project: wrangler.toml's bindings, the test-only ones, these limits. */
export async function workersPlugin(limits: Record<string, string>, miniflare: Record<string, unknown> = {}) {
  // Relative to the repo root, where vitest runs (it only finds this config from there).
  const migrations = await readD1Migrations("migrations/d1");
  return cloudflareTest({
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
        OPS_SECRET: TEST_OPS_SECRET,
        ...limits,
      },
      // Deliver at once instead of waiting up to max_batch_timeout, and give up after 3 attempts
      // (wrangler.toml: 5), so a job reaches the dead-letter queue within seconds. retryDelay
      // applies only when the consumer gives no delay of its own.
      queueConsumers: {
        push: { maxBatchTimeout: 0, maxRetries: 2, deadLetterQueue: "push-dlq", retryDelay: 0 },
        "push-dlq": { maxBatchTimeout: 0 },
      },
      ...miniflare,
    },
  });
}

export default defineConfig(async () => {
  const project = async (
    name: string,
    limits: Record<string, string>,
    include: string[],
    exclude: string[] = [],
  ) => ({
    plugins: [await workersPlugin(limits)],
    test: {
      name,
      include,
      exclude: ["**/node_modules/**", "test/e2e/**", "test/browser/**", ...exclude],
      setupFiles: ["./test/setup/apply-migrations.ts"],
      testTimeout: 30_000,
    },
  });
  return {
    test: {
      // METRICS_LOG: each metric point is also a log line here (tests spy on them); the run's
      // output would carry thousands, so vitest does not print them.
      onConsoleLog: (log: string) => !log.includes('{"event":"metric"'),
      projects: [
        await project(
          "workerd",
          RAISED_LIMITS,
          [
            "test/**/*.test.ts",
            "protocol/**/*.test.ts",
            "domain/**/*.test.ts",
            "observability/**/*.test.ts",
            "durable-objects/**/*.test.ts",
            "storage/**/*.test.ts",
            "workers/**/*.test.ts",
          ],
          ["test/limits/**"],
        ),
        await project("limits", SMALL_LIMITS, ["test/limits/**/*.test.ts"]),
      ],
    },
  };
});
