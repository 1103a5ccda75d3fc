// `npm test`: runs every test tier in sequence and ends with ONE combined line, `N passed, N failed`,
// which CI reads as the result. Tiers: workerd (vitest + @cloudflare/vitest-plugin), Node end-to-end
// (node:test in test/e2e) and browser (node:test + playwright-core in test/browser).
// Exit code is non-zero if any test failed or a tier crashed. Nothing may be printed after the last line.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { ensureDeps } from "./ensure-deps.mjs";

const root = path.resolve(import.meta.dirname, "..");
process.chdir(root);
ensureDeps(root);
mkdirSync(".ci", { recursive: true });

const bin = path.join(root, "node_modules", ".bin");
// Node 22 from the `node` devDependency, also when this file is started with an older system node.
const node = existsSync(path.join(bin, "node")) ? path.join(bin, "node") : process.execPath;
const env = {
  ...process.env,
  PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}`,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_LOG_PATH: path.join(root, ".wrangler", "logs"),
  WRANGLER_REGISTRY_PATH: path.join(root, ".wrangler", "registry"),
};
const isCI = process.env.CI === "true";
const results = [];

const line = (r) => `${r.tier}: ${r.passed} passed, ${r.failed} failed${r.note ? ` (${r.note})` : ""}`;

function record(tier, passed, failed, note = "") {
  results.push({ tier, passed, failed, note });
  console.log(`\n${line(results.at(-1))}\n`);
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: "inherit", env });
  if (r.error) console.error(`[test] could not start ${cmd}: ${r.error.message}`);
  return r.status ?? 1;
}

// Tier 1: workerd. Counts come from vitest's JSON report; a test file that failed to load
// (import error, setup crash) has no failed tests in it, so it counts as one failure.
function workerd() {
  const out = ".ci/vitest.json";
  rmSync(out, { force: true });
  const status = run("vitest", ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${out}`]);
  if (!existsSync(out)) return record("workerd", 0, 1, `vitest exited ${status} without a report`);
  const r = JSON.parse(readFileSync(out, "utf8"));
  let failed = r.numFailedTests;
  for (const file of r.testResults ?? []) {
    const fileFailed = file.assertionResults.some((a) => a.status === "failed");
    if (file.status === "failed" && !fileFailed) failed += 1;
  }
  if (status !== 0 && failed === 0) failed = 1; // e.g. unhandled errors between tests
  record("workerd", r.numPassedTests, failed);
}

function testFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: false })
    .filter((f) => /\.test\.(mjs|ts)$/.test(f) && !f.split(path.sep).includes("node_modules"))
    .map((f) => path.join(dir, f))
    .sort();
}

// Tiers 2 and 3: node's test runner, one file at a time; spec output live, TAP to .ci/<tier>.tap for counting.
function nodeTier(tier, dir) {
  const files = testFiles(dir);
  if (files.length === 0) return console.log(`\n${tier}: skipped, no *.test.mjs / *.test.ts in ${dir}/\n`);
  const tap = `.ci/${tier}.tap`;
  rmSync(tap, { force: true });
  const status = run(node, [
    "--test",
    "--test-concurrency=1",
    "--test-timeout=120000",
    "--test-reporter=spec",
    "--test-reporter-destination=stdout",
    "--test-reporter=tap",
    `--test-reporter-destination=${tap}`,
    ...files,
  ]);
  if (!existsSync(tap)) return record(tier, 0, 1, `node --test exited ${status} without a report`);
  const text = readFileSync(tap, "utf8");
  const count = (name) => Number(text.match(new RegExp(`^# ${name} (\\d+)$`, "m"))?.[1] ?? 0);
  let failed = count("fail") + count("cancelled");
  if (status !== 0 && failed === 0) failed = 1;
  record(tier, count("pass"), failed);
}

// The web client first: wrangler.toml serves web/dist as static assets, and every tier boots it.
if (run(node, ["scripts/build-web.mjs"]) !== 0) record("web build", 0, 1, "scripts/build-web.mjs failed");
workerd();
nodeTier("e2e", "test/e2e");
if (testFiles("test/browser").length > 0 && !existsSync("/usr/bin/chromium")) {
  console.log("\n!!!!!!!! browser: /usr/bin/chromium is missing, browser tests NOT run !!!!!!!!");
  console.log("!!!!!!!! install it: apt-get install -y chromium (.ci/run does this)     !!!!!!!!\n");
  if (isCI) record("browser", 0, 1, "chromium missing");
} else {
  nodeTier("browser", "test/browser");
}

const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
for (const r of results) console.log(`  ${line(r)}`);
process.exitCode = failed > 0 ? 1 : 0;
console.log(`${passed} passed, ${failed} failed`);
