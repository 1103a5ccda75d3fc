/**
 * Boots the real Worker (wrangler.toml: Hono app, both Durable Objects, D1) in local workerd
 * with wrangler's test harness, listening on 127.0.0.1 with a random port, D1 migrated and
 * throwaway secrets (AUTH_SECRET and a VAPID key pair; `secrets` overrides them). Used by the
 * Node end-to-end and browser tests. `url` is wrangler's ProxyWorker (a second workerd), which
 * relays every request and frame; `npm run bench` finds the runtime's own port instead
 * (bench/lib/servers.mjs).
 *
 *   const server = await bootWorker({ vars: { FANOUT_WINDOW_MS: "100" } });
 *   ... fetch(`${server.url}/v1/...`) / new WebSocket(...) ...
 *   await server.close();
 */
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTestHarness } from "wrangler";
import { generateVapidKeys } from "./vapid.mjs";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * wrangler's local dev records a trace of every invocation (each request, RPC and socket
 * message) into a SQLite Durable Object inside the same workerd, for its local explorer. It
 * roughly doubled the runtime's CPU per message in the benchmark and fsyncs on the thread the
 * objects run on; tests and benchmarks turn it off (`X_LOCAL_OBSERVABILITY=false`), as
 * production has no such collector. Set it to true in the environment to keep it.
 */
export function quietLocalObservability() {
  process.env.X_LOCAL_OBSERVABILITY ??= "false";
}

export async function bootWorker({ vars = {}, secrets = {} } = {}) {
  process.env.WRANGLER_SEND_METRICS ??= "false";
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  quietLocalObservability();
  const vapid = generateVapidKeys();
  const harness = createTestHarness({
    root: ROOT,
    workers: [
      {
        configPath: "./wrangler.toml",
        // Metric points are not logged here (wrangler.toml's METRICS_LOG is for `npm start` and
        // the workerd tier): a line per message and per fan-out call would cost the benchmarks'
        // measured CPU. Analytics Engine's local binding still receives every point, as deployed.
        vars: { METRICS_LOG: "false", ...vars },
        secrets: {
          AUTH_SECRET: randomBytes(32).toString("base64url"),
          VAPID_PUBLIC_KEY: vapid.publicKey,
          VAPID_PRIVATE_KEY: vapid.privateKey,
          OPS_SECRET: randomBytes(32).toString("base64url"),
          ...secrets,
        },
      },
    ],
  });
  const { url } = await harness.listen();
  const worker = harness.getWorker();
  await worker.applyD1Migrations("DB");
  const base = url.toString().replace(/\/$/, "");
  return { url: base, harness, worker, close: () => harness.close() };
}
