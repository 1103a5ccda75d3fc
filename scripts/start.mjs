// `npm start`: the one command that runs the whole system locally, also on a fresh clone.
// On a fresh clone npm runs this file with the *system* node (maybe Node 20) because node_modules/.bin
// does not exist yet, so it uses only plain Node APIs. Steps:
//   1. npm install if wrangler is missing (this brings Node 22 as node_modules/.bin/node);
//   2. create .dev.vars from .dev.vars.example with fresh random secrets (or add keys missing from it),
//      and a P-256 VAPID key pair for Web Push when it has none;
//   3. apply the D1 migrations to the local database;
//   4. build the web client into web/dist (and keep rebuilding it on changes);
//   5. exec `wrangler dev` on Node 22 (HOST / PORT env vars; default 127.0.0.1:8787), without
//      wrangler's local trace collector (X_LOCAL_OBSERVABILITY=true keeps it).
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { constants } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ensureDeps } from "./ensure-deps.mjs";
import { generateVapidKeys, vapidPublicKeyOf } from "./vapid.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);
const bin = path.join(root, "node_modules", ".bin");
const env = {
  ...process.env,
  PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}`, // wrangler's `#!/usr/bin/env node` -> Node 22
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_LOG_PATH: path.join(root, ".wrangler", "logs"),
  WRANGLER_REGISTRY_PATH: path.join(root, ".wrangler", "registry"),
  // wrangler's local trace collector writes every invocation into a SQLite object in the same
  // workerd: it doubled the runtime's CPU per message and production has nothing like it
  // (docs/performance.md). Off unless asked for: `X_LOCAL_OBSERVABILITY=true npm start`.
  X_LOCAL_OBSERVABILITY: process.env.X_LOCAL_OBSERVABILITY ?? "false",
};

function step(msg) {
  console.log(`\n[start] ${msg}`);
}

function runOrExit(cmd, args, extraEnv = {}) {
  const r = spawnSync(cmd, args, { stdio: "inherit", env: { ...env, ...extraEnv } });
  if (r.status !== 0) {
    console.error(`[start] failed: ${cmd} ${args.join(" ")}${r.error ? ` (${r.error.message})` : ""}`);
    process.exit(r.status || 1);
  }
}

// 1. Dependencies. Not `npm ci`: it rejects the lockfile, which lacks workerd's non-Linux optional packages.
ensureDeps(root);
// Prefer the Node 22 from the `node` devDependency; wrangler refuses to run on Node 20.
const node = existsSync(path.join(bin, "node")) ? path.join(bin, "node") : process.execPath;
const wranglerJs = path.join(root, "node_modules", "wrangler", "bin", "wrangler.js");

// 2. Local secrets. Placeholder values ("replace-with-…" or empty) become 32 random bytes, base64url;
// other values are copied as they are. An existing .dev.vars is kept; only missing keys are appended.
// The VAPID pair is not random bytes but a key pair: it is filled in afterwards (ensureVapidKeys).
const keyLine = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/;
const VAPID_KEYS = new Set(["VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY"]);
const secret = () => randomBytes(32).toString("base64url");
const isPlaceholder = (value) => value === "" || /^replace-with/i.test(value);
const valueFor = (key, value) => (isPlaceholder(value) ? (VAPID_KEYS.has(key) ? "" : secret()) : value);
const example = readFileSync(".dev.vars.example", "utf8").split("\n");
if (!existsSync(".dev.vars")) {
  step("creating .dev.vars with fresh random secrets");
  const lines = example.map((l) => l.replace(keyLine, (_, k, v) => `${k}=${valueFor(k, v)}`));
  writeFileSync(".dev.vars", lines.join("\n"), { mode: 0o600 });
} else {
  const have = new Set(
    readFileSync(".dev.vars", "utf8")
      .split("\n")
      .map((l) => l.match(keyLine)?.[1]),
  );
  const missing = example.map((l) => l.match(keyLine)).filter((m) => m && !have.has(m[1]));
  if (missing.length > 0) {
    step(`adding ${missing.map((m) => m[1]).join(", ")} to .dev.vars`);
    const text = readFileSync(".dev.vars", "utf8");
    const sep = text === "" || text.endsWith("\n") ? "" : "\n";
    appendFileSync(".dev.vars", sep + missing.map((m) => `${m[1]}=${valueFor(m[1], m[2])}\n`).join(""));
  }
}

// The Web Push key pair: kept if the private key is a valid P-256 scalar (the public key is
// re-derived from it, in case it was lost or edited), otherwise a fresh pair replaces both lines.
// Production keys are set with `wrangler secret put VAPID_PUBLIC_KEY` / `VAPID_PRIVATE_KEY`.
function ensureVapidKeys() {
  const lines = readFileSync(".dev.vars", "utf8").split("\n");
  const currentValue = (key) =>
    lines
      .map((l) => l.match(keyLine))
      .find((m) => m?.[1] === key)?.[2]
      ?.trim();
  const hadPrivate = currentValue("VAPID_PRIVATE_KEY");
  let pair = null;
  const derived = hadPrivate && !isPlaceholder(hadPrivate) ? vapidPublicKeyOf(hadPrivate) : null;
  if (derived) pair = { publicKey: derived, privateKey: hadPrivate };
  else {
    step("generating a VAPID key pair for Web Push into .dev.vars");
    pair = generateVapidKeys();
  }
  const want = { VAPID_PUBLIC_KEY: pair.publicKey, VAPID_PRIVATE_KEY: pair.privateKey };
  if (Object.entries(want).every(([k, v]) => currentValue(k) === v)) return;
  const seen = new Set();
  const out = lines.map((l) => {
    const k = l.match(keyLine)?.[1];
    if (!(k in want)) return l;
    seen.add(k);
    return `${k}=${want[k]}`;
  });
  const append = Object.keys(want)
    .filter((k) => !seen.has(k))
    .map((k) => `${k}=${want[k]}`);
  if (append.length > 0) {
    if (out.at(-1) === "") out.pop();
    out.push(...append, "");
  }
  writeFileSync(".dev.vars", out.join("\n"), { mode: 0o600 });
}
ensureVapidKeys();

// 3. Local D1 schema. CI=true makes wrangler auto-confirm instead of prompting.
step("applying D1 migrations to the local database");
runOrExit(node, [wranglerJs, "d1", "migrations", "apply", "DB", "--local"], { CI: "true" });

// 4. The web client, built into web/dist (the static assets wrangler.toml serves), then rebuilt
// on every change under web/ or client/ while the server runs; wrangler dev serves the new files.
step("building the web client (web/ -> web/dist)");
runOrExit(node, ["scripts/build-web.mjs"]);
const watcher = spawn(node, ["scripts/build-web.mjs", "--watch", "--no-initial"], { stdio: "inherit", env });

// 5. The dev server. --inspector-port 0 picks a free devtools port instead of clashing on 9229.
const host = process.env.HOST || "127.0.0.1";
const port = process.env.PORT || "8787";
step(`starting wrangler dev on http://${host}:${port}`);
const devArgs = ["dev", "--ip", host, "--port", port, "--inspector-port", "0"];
const dev = spawn(node, [wranglerJs, ...devArgs], { stdio: "inherit", env });
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    watcher.kill(sig);
    dev.kill(sig);
  });
}
dev.on("exit", (code, sig) => {
  watcher.kill();
  process.exit(code ?? 128 + (constants.signals[sig] ?? 0));
});
