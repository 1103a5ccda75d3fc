/**
 * Boots the built Worker in raw Miniflare with an `outboundService`, so a test or benchmark
 * can see (and answer) every request the Worker sends out, such as Web Push requests. Only
 * raw Miniflare takes an outboundService; wrangler's createTestHarness does not.
 * Bindings come from wrangler.toml (unstable_getMiniflareWorkerOptions); Miniflare 5 wants
 * them in its new shape, hence convertV4MiniflareOptions (TOOLCHAIN.md §9, §11). D1 is
 * migrated from the same generated files `wrangler d1 migrations apply` uses.
 *
 *   const w = await bootMiniflare({ outbound: (req) => new Response(null, { status: 201 }), vars: {} });
 *   await w.api("POST", "/v1/auth/signup", { body }); ...; await w.dispose();
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { ROOT } from "./boot-worker.mjs";
import { generateVapidKeys } from "./vapid.mjs";

export async function bootMiniflare({ outbound, queueConsumers, vapid = generateVapidKeys(), vars = {} }) {
  process.env.WRANGLER_SEND_METRICS ??= "false";
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  const outDir = mkdtempSync(join(tmpdir(), "edge-chat-mf-"));
  // Placeholders only keep wrangler from warning that required secrets are missing (the bundle
  // carries none); the real values are Miniflare bindings below.
  const placeholders = { AUTH_SECRET: "x", VAPID_PUBLIC_KEY: "x", VAPID_PRIVATE_KEY: "x", OPS_SECRET: "x" };
  const build = spawnSync(
    process.execPath,
    [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", outDir],
    { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...placeholders } },
  );
  assert.equal(build.status, 0, `wrangler build failed:\n${build.stdout}\n${build.stderr}`);

  // Miniflare 5 does not collect imported modules (`modulesRules`), so the bundle's modules are
  // listed: the entry, the migrations the Durable Objects import as text, and the WebAssembly
  // the image previews are made with (@cf-wasm/photon).
  for (const [k, v] of Object.entries(placeholders)) process.env[k] ??= v;
  const { modulesRules: _rules, ...workerOptions } = unstable_getMiniflareWorkerOptions(
    join(ROOT, "wrangler.toml"),
  ).workerOptions;
  for (const [k, v] of Object.entries(placeholders)) if (process.env[k] === v) delete process.env[k];
  const sqlModules = readdirSync(outDir).filter((f) => f.endsWith(".sql"));
  const wasmModules = readdirSync(outDir).filter((f) => f.endsWith(".wasm"));
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      ...workerOptions,
      name: "edge-chat",
      rootPath: outDir,
      modulesRoot: outDir,
      modules: [
        { type: "ESModule", path: join(outDir, "index.js") },
        ...sqlModules.map((f) => ({ type: "Text", path: join(outDir, f) })),
        ...wasmModules.map((f) => ({ type: "CompiledWasm", path: join(outDir, f) })),
      ],
      bindings: {
        ...workerOptions.bindings,
        METRICS_LOG: "false", // as scripts/boot-worker.mjs: no line per metric point
        ...vars,
        AUTH_SECRET: randomBytes(32).toString("base64url"),
        VAPID_PUBLIC_KEY: vapid.publicKey,
        VAPID_PRIVATE_KEY: vapid.privateKey,
        OPS_SECRET: randomBytes(32).toString("base64url"),
      },
      ...(queueConsumers && { queueConsumers }),
      outboundService: (req) => outbound(req),
    }),
  );
  // The runtime's own address: sockets opened there reach the Worker with no proxy between
  // (wrangler's ProxyWorker would read on the client's behalf; a slow-consumer test must not).
  const url = (await mf.ready).toString().replace(/\/$/, "");

  const db = await mf.getD1Database("DB");
  const dir = join(ROOT, "migrations/d1");
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort()) {
    for (const statement of readFileSync(join(dir, file), "utf8").split("--> statement-breakpoint")) {
      if (statement.trim()) await db.prepare(statement).run();
    }
  }

  async function api(method, path, { token, body, headers: extra } = {}) {
    const headers = { "content-type": "application/json", ...extra };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await mf.dispatchFetch(`http://chat.test${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : {} };
  }

  return {
    mf,
    url,
    api,
    vapid,
    dispose: async () => {
      await mf.dispose();
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}
