// Audits a channel's sealed history in R2 (docs/architecture.md "Auditing the archive"): rebuilds
// it from the segments alone, recomputes every entry's digest and link from the genesis hash, and
// checks the segments' edges and, with --expect, hashes a client holds. Exits 0 when the archive
// passes, 1 with the problems listed otherwise.
//
//   npm run audit:archive -- <channel_id> [--expect <seq>:<hash>]... [--persist-to <dir>] [--config <path>]
//
// The bucket is the ARCHIVE binding of wrangler.toml, through wrangler's platform proxy: locally,
// the state `npm start` keeps under .wrangler/state (or --persist-to); for a deployment, point
// --config at a copy of wrangler.toml whose [[r2_buckets]] entry has `remote = true`.
//
// A client's hash to vouch for: the SDK checks every message's `hash` as it arrives; any message
// a user holds (its `seq` and `hash`, from GET /v1/channels/{id}/messages) is a value for --expect.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { getPlatformProxy, unstable_readConfig } from "wrangler";
import { auditChannel } from "../storage/channel/audit.ts";
import { nativeSha256 } from "../storage/channel/native-sha256.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    expect: { type: "string", multiple: true, default: [] },
    "persist-to": { type: "string" },
    config: { type: "string", default: "wrangler.toml" },
    json: { type: "boolean", default: false },
  },
});
const channelId = positionals[0];
if (!channelId) {
  console.error(
    "usage: npm run audit:archive -- <channel_id> [--expect <seq>:<hash>]... [--persist-to <dir>]",
  );
  process.exit(2);
}
const expect = values.expect.map((e) => {
  const [seq, hash] = e.split(":");
  if (!/^\d+$/.test(seq ?? "") || !/^[0-9a-f]{64}$/.test(hash ?? "")) {
    console.error(`--expect takes <seq>:<64 hex digits>, not ${e}`);
    process.exit(2);
  }
  return { seq: Number(seq), hash };
});

// The proxy gets a config with the archive bucket alone: the Worker's own bindings (its Durable
// Objects, D1, queues) are not needed, and would only be started to warn that they are missing.
process.env.WRANGLER_SEND_METRICS ??= "false";
const bucket = unstable_readConfig({ config: values.config }).r2_buckets.find((b) => b.binding === "ARCHIVE");
if (!bucket) throw new Error(`${values.config} binds no ARCHIVE bucket`);
const dir = mkdtempSync(join(tmpdir(), "edge-chat-audit-"));
const config = join(dir, "wrangler.json");
writeFileSync(
  config,
  JSON.stringify({ name: "edge-chat-audit", compatibility_date: "2026-11-01", r2_buckets: [bucket] }),
);
const proxy = await getPlatformProxy({
  configPath: config,
  // The state `wrangler dev` (npm start) keeps, unless told otherwise; like wrangler's own
  // --persist-to, the directory is the one that holds `v3`.
  persist: { path: resolve(values["persist-to"] ?? ".wrangler/state", "v3") },
});
try {
  const report = await auditChannel(proxy.env.ARCHIVE, channelId, { expect, sha256: nativeSha256 });
  if (values.json) console.log(JSON.stringify(report, null, 2));
  else {
    console.log(
      `${channelId}: ${report.segments} segments, seqs 1..${report.sealed_through} (${report.entries} entries) rebuilt`,
    );
    console.log(`chain hash after ${report.sealed_through}: ${report.last_hash}`);
    if (expect.length > 0)
      console.log(`hashes vouched for: ${report.expectations_met} of ${expect.length} match`);
    for (const p of report.problems) console.log(`PROBLEM ${p}`);
    console.log(report.problems.length === 0 ? "the archive passes" : `${report.problems.length} problems`);
  }
  process.exitCode = report.problems.length === 0 ? 0 : 1;
} finally {
  await proxy.dispose();
  rmSync(dir, { recursive: true, force: true });
}
