// wrangler.toml's environments against the code: every binding and setting the Worker uses is
// declared in each environment (wrangler inherits none of them into `[env.*]`), each environment
// has resources of its own, and the deployed ones keep local-only settings off. Read the way
// wrangler reads them (its own config reader), so this is what `wrangler deploy --env` would use.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import {
  codeFiles,
  declaredNames,
  ENVIRONMENTS,
  loadAll,
  missingBindings,
  ROOT,
  readEnvConfig,
  usedNames,
} from "../../scripts/deploy-config.mjs";

process.env.WRANGLER_SEND_METRICS ??= "false";

describe("wrangler.toml environments", () => {
  it("every binding, var and secret the code uses is declared at the top level, in staging and in production", () => {
    const { configs, used } = loadAll();
    // The check has something to check: bindings of every kind and the LIMIT_* table's vars.
    for (const name of [
      "DB",
      "ARCHIVE",
      "CHANNEL_ROOM",
      "PUSH_QUEUE",
      "METRICS",
      "OPS_SECRET",
      "LIMIT_SENDS_PER_DEVICE",
    ])
      assert.ok(used.has(name), `${name} should count as used`);
    assert.deepEqual(missingBindings(configs, used), {});
  });

  it("fails for an environment that lacks a binding the code uses", async () => {
    // production without its R2 bucket: the archive would be undefined there.
    const text = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
    const without = text.replace(
      /\[\[env\.production\.r2_buckets\]\]\nbinding = "ARCHIVE"\nbucket_name = "[^"]+"\n/,
      "",
    );
    assert.notEqual(without, text, "the production R2 block should be found");
    const dir = await mkdtemp(path.join(tmpdir(), "edge-chat-config-"));
    const config = path.join(dir, "wrangler.toml");
    writeFileSync(config, without);
    const configs = {
      staging: readEnvConfig("staging", config),
      production: readEnvConfig("production", config),
    };
    const known = new Set(Object.values(configs).flatMap((c) => [...declaredNames(c)]));
    const missing = missingBindings(configs, usedNames(codeFiles(), known));
    assert.deepEqual(Object.keys(missing), ["production"]);
    assert.match(missing.production.join(), /^ARCHIVE \(used in /);
  });

  it("gives each environment its own D1, R2 bucket, queues and Analytics Engine dataset", () => {
    const { configs } = loadAll();
    const resources = (c) => [
      ...c.d1_databases.map((d) => `d1:${d.database_name}`),
      ...c.r2_buckets.map((b) => `r2:${b.bucket_name}`),
      ...c.queues.consumers.map((q) => `queue:${q.queue}`),
      ...c.analytics_engine_datasets.map((d) => `ae:${d.dataset}`),
    ];
    const seen = new Map();
    for (const [env, c] of Object.entries(configs)) {
      for (const r of resources(c)) {
        assert.ok(!seen.has(r), `${r} is shared by ${seen.get(r)} and ${env}`);
        seen.set(r, env);
      }
    }
  });

  it("wires each environment's push queue to its own dead-letter queue, named as the consumer dispatches", () => {
    for (const env of ENVIRONMENTS) {
      const c = readEnvConfig(env);
      const [producer] = c.queues.producers;
      assert.equal(producer.binding, "PUSH_QUEUE");
      assert.equal(producer.queue, `push-${env}`);
      const push = c.queues.consumers.find((q) => q.queue === producer.queue);
      assert.equal(push?.dead_letter_queue, `push-dlq-${env}`);
      assert.ok(
        c.queues.consumers.some((q) => q.queue === `push-dlq-${env}`),
        "the DLQ has a consumer",
      );
    }
  });

  it("deployed environments keep the top level's settings, with logs on and local-only settings off", () => {
    const top = readEnvConfig(undefined);
    const deployedOnly = new Set(["VAPID_SUBJECT", "PUSH_LOCAL_RECEIVERS", "METRICS_LOG"]);
    for (const env of ENVIRONMENTS) {
      const c = readEnvConfig(env);
      assert.equal(c.name, `edge-chat-${env}`);
      assert.deepEqual(Object.keys(c.vars).sort(), Object.keys(top.vars).sort());
      for (const [k, v] of Object.entries(top.vars))
        if (!deployedOnly.has(k)) assert.equal(c.vars[k], v, `${env}: ${k} differs from the top level`);
      assert.equal(c.vars.PUSH_LOCAL_RECEIVERS, "", `${env} must not push to local receivers`);
      assert.equal(c.vars.METRICS_LOG, "false");
      assert.deepEqual(c.secrets?.required, top.secrets?.required);
      assert.equal(c.observability?.enabled, true, `${env}: Workers Logs`);
      assert.deepEqual(c.triggers.crons, top.triggers.crons);
      assert.deepEqual(
        c.durable_objects.bindings.map((b) => b.class_name),
        top.durable_objects.bindings.map((b) => b.class_name),
      );
    }
  });
});
