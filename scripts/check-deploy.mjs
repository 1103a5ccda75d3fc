// CI's deploy check (`.ci/run`, before the tests): for each environment, the binding check of
// scripts/deploy-config.mjs, then `wrangler deploy --dry-run --env <env>` (the same bundling a
// deploy does, with no account and no upload) and the bundle's size against the platform's
// limits. Exits non-zero if an environment lacks a binding, fails to build, or is over a limit.
//
// The limits (both checked, so a deploy fits whichever applies to the account):
// - 64 MiB uncompressed: what wrangler 4.164 reports against (its bundle reporter's
//   MAX_UNCOMPRESSED_SIZE_BYTES; cloudflare/workers-sdk#14001 replaced the compressed limits);
// - 3 MiB gzip: the Workers Free plan's compressed limit on Cloudflare's limits page (10 MiB on
//   Workers Paid), for accounts still held to it.
// Sizes are measured as wrangler measures them: every module of the upload (the .map is not one).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { stripVTControlCharacters } from "node:util";
import { gzipSync } from "node:zlib";
import { ENVIRONMENTS, loadAll, missingBindings, ROOT } from "./deploy-config.mjs";

const MiB = 1024 * 1024;
export const LIMITS = { uncompressed: 64 * MiB, gzip: 3 * MiB };

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
const pct = (n, of) => `${((100 * n) / of).toFixed(1)}%`;

function run(cmd, args, env = {}) {
  return spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env } });
}

/** The upload's modules of a dry run's output directory. */
export function bundleSize(outDir) {
  const files = readdirSync(outDir).filter((f) => !f.endsWith(".map") && !f.endsWith(".json"));
  const bytes = Buffer.concat(files.map((f) => readFileSync(path.join(outDir, f))));
  return { files: files.length, size: bytes.length, gzip: gzipSync(bytes).length };
}

function main() {
  let failed = false;
  const { configs, used } = loadAll();
  const missing = missingBindings(configs, used);
  for (const [env, names] of Object.entries(missing)) {
    console.error(`[deploy-check] ${env} lacks what the code uses: ${names.join(", ")}`);
    failed = true;
  }
  // Static assets must exist for a dry run with [assets]; npm test builds them anyway.
  if (!existsSync(path.join(ROOT, "web", "dist", "index.html"))) {
    const web = run(process.execPath, ["scripts/build-web.mjs"]);
    if (web.status !== 0) {
      console.error(`[deploy-check] web build failed:\n${web.stdout}${web.stderr}`);
      process.exit(1);
    }
  }
  const wrangler = path.join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
  // Placeholders keep wrangler from warning about the required secrets: a bundle carries none.
  const secrets = Object.fromEntries(
    (configs["(top level)"].secrets?.required ?? []).map((k) => [k, process.env[k] ?? "placeholder"]),
  );
  for (const env of ENVIRONMENTS) {
    const outDir = mkdtempSync(path.join(tmpdir(), `edge-chat-${env}-`));
    try {
      const r = run(process.execPath, [wrangler, "deploy", "--dry-run", "--env", env, "--outdir", outDir], {
        WRANGLER_SEND_METRICS: "false",
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
        ...secrets,
      });
      if (r.status !== 0) {
        console.error(`[deploy-check] ${env}: wrangler deploy --dry-run failed:\n${r.stdout}${r.stderr}`);
        failed = true;
        continue;
      }
      const s = bundleSize(outDir);
      const over = s.size > LIMITS.uncompressed || s.gzip > LIMITS.gzip;
      if (over) failed = true;
      // wrangler's own figure, for comparison (without its colours).
      const reported = stripVTControlCharacters(r.stdout).match(/Total Upload: ([^\n]+)/)?.[1];
      console.log(
        `[deploy-check] ${env}: ${s.files} modules, ${kib(s.size)} (${pct(s.size, LIMITS.uncompressed)} of 64 MiB), ` +
          `gzip ${kib(s.gzip)} (${pct(s.gzip, LIMITS.gzip)} of the 3 MiB Free-plan limit)` +
          `${reported ? `; wrangler: ${reported}` : ""}${over ? ": OVER THE LIMIT" : ""}`,
      );
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  }
  if (failed) process.exit(1);
}

if (import.meta.main ?? process.argv[1] === import.meta.filename) main();
