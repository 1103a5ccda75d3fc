// The capacity model (scripts/capacity.mjs) and the counts it reads (bench/scenarios/counts.mjs):
//   - the counts scenario, in its quick preset, measures every unit against the real Worker from
//     the runtime's own traces, and what it measured is enough for the model;
//   - the model runs on the committed full run's counts and checks every limit it names;
//   - a results file that lacks a count the model needs is refused, naming the count.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import { runSuite } from "../../bench/run.mjs";
import { latestCounts, model, readCounts } from "../../scripts/capacity.mjs";

it("counts every unit against the real Worker, enough for the model", { timeout: 180_000 }, async () => {
  const r = await runSuite({ quick: true, only: ["counts"], write: false, log: () => {} });
  const problems = r.server_problems.filter((p) => p.server === "generator");
  assert.deepEqual(problems, [], "the scenario ran to its end");
  const counts = readCounts(r);
  const u = counts.units;
  // Counts the idle devices' background never holds (it is taken out of each window at the idle
  // unit's rate, which can take a count of a few per message to 0; docs/capacity.md).
  // A group message brings more frames from its members' devices (delivered markers) than a 1:1.
  assert.ok(
    u.group_message.do_websocket_messages > u.dm_message.do_websocket_messages,
    "a group message brings more frames",
  );
  // A message to a user with no device online goes through the push queue, whose consumer
  // reads the subscriptions from D1.
  assert.ok(u.offline_message.queue_sends >= 1, "an offline recipient's message is queued");
  assert.ok(u.offline_message.queue_batches >= 1, "the consumer ran");
  assert.ok(u.offline_message.d1_queries >= 1, "the consumer read D1");
  // A connect: the ticket request and the upgrade are two Worker requests.
  assert.ok(u.connect.worker_requests >= 2, "a connect is a ticket and an upgrade");
  const rw = r.scenarios.counts.windows.resume;
  assert.equal(rw.resumed_messages, rw.missed, "the resume caught up every missed message");
  const m = model(counts);
  assert.ok(m.total_usd_per_month > 0);
});

it("models 50 M DAU from the committed counts, every load against its limit", () => {
  const file = latestCounts();
  const m = model(readCounts(JSON.parse(readFileSync(file, "utf8"))));
  assert.equal(m.assumptions.dau, 50e6);
  for (const l of m.loads) {
    assert.ok(Number.isFinite(l.load) && l.load >= 0, `${l.what}: a load`);
    assert.ok(l.limit > 0 && l.source, `${l.what}: a published limit with its source`);
  }
  assert.ok(m.usd_per_1k_mau > 0 && Number.isFinite(m.usd_per_1k_mau));
});

it("refuses results that lack a count the model needs, naming it", () => {
  const results = JSON.parse(readFileSync(latestCounts(), "utf8"));
  delete results.scenarios.counts.units.offline_message.queue_sends;
  delete results.scenarios.counts.windows.resume;
  assert.throws(() => readCounts(results), /offline_message\.queue_sends.*windows\.resume\.missed/);
  assert.throws(() => readCounts({ scenarios: {} }), /connect\.worker_requests/);
});
