/**
 * Raw `ctx.storage.sql.exec` vs drizzle on a ChannelRoom's `messages` table, measured inside a
 * real Durable Object (bench/storage-insert.bench.ts, run by vitest in workerd through
 * bench/vitest.config.ts). workerd cannot write files, so the benchmark prints one
 * `RESULT_JSON <json>` line; this wrapper passes vitest's output through, takes that line and
 * writes bench/results/storage-insert-<timestamp>.json.
 * Run: npm run bench:storage
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");
const bin = path.join(ROOT, "node_modules", ".bin");
const env = {
  ...process.env,
  PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}`,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
};

const at = new Date().toISOString();
const child = spawn(
  path.join(bin, "vitest"),
  ["run", "--config", "bench/vitest.config.ts", "bench/storage-insert.bench.ts"],
  {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "inherit"],
  },
);
let out = "";
child.stdout.on("data", (chunk) => {
  out += chunk;
  process.stdout.write(chunk);
});
const status = await new Promise((resolve) => child.on("close", (code) => resolve(code ?? 1)));

const MARK = "RESULT_JSON ";
const line = out.split("\n").find((l) => l.includes(MARK));
if (status !== 0 || !line) {
  console.error(`[bench:storage] vitest exited ${status}${line ? "" : " without a RESULT_JSON line"}`);
  process.exit(status || 1);
}
const result = {
  at,
  machine: { cpus: cpus().length, model: cpus()[0]?.model },
  ...JSON.parse(line.slice(line.indexOf(MARK) + MARK.length)),
};
const file = path.join(ROOT, "bench", "results", `storage-insert-${at.replace(/[:.]/g, "-")}.json`);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(`written: ${path.relative(ROOT, file)}`);
