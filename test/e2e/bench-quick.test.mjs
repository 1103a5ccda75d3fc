// The benchmark suite's quick preset (bench/run.mjs --quick) as a test: every scenario runs
// against the real Worker and the floor and must complete with nothing lost and nothing
// duplicated. Nothing about speed is asserted: the figures of a smoke run on a shared machine
// mean nothing. Results go to a temporary directory, not bench/results.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { runSuite } from "../../bench/run.mjs";

const out = mkdtempSync(join(tmpdir(), "edge-chat-bench-"));
after(() => rmSync(out, { recursive: true, force: true }));

it("runs every benchmark scenario with lost = 0 and duplicates = 0", { timeout: 180_000 }, async () => {
  // The counts scenario has a test of its own (capacity.test.mjs).
  const only = ["dm", "group", "saturate", "resume", "idle", "flood", "archive"];
  const r = await runSuite({ quick: true, only, outDir: out, log: () => {} });
  const s = r.scenarios;
  for (const name of [
    "dm",
    "group_viewing",
    "group_user",
    "saturate",
    "resume",
    "archive",
    "idle",
    "flood",
  ]) {
    assert.ok(s[name], `scenario ${name} ran`);
  }
  const runs = [
    ...["dm", "group_viewing", "saturate"].flatMap((name) =>
      ["product", "floor"].flatMap((side) => s[name][side].runs.map((run) => [`${name} ${side}`, run])),
    ),
    ...s.group_user.product.runs.map((run) => ["group_user product", run]),
  ];
  for (const [name, run] of runs) {
    assert.ok(run.sent > 0, `${name}: sent messages`);
    assert.equal(run.lost, 0, `${name}: lost`);
    assert.equal(run.duplicates, 0, `${name}: duplicates`);
    assert.equal(run.unacked, 0, `${name}: unacknowledged`);
  }
  for (const run of s.resume.product.runs) {
    assert.equal(run.resumed, true, "resume: resumed");
    assert.equal(run.lost, 0, "resume: lost");
    assert.equal(run.duplicates, 0, "resume: duplicates");
    assert.equal(run.exactly_once_in_order, true, "resume: exactly once, in order");
  }
  const a = s.archive;
  assert.equal(a.all_sealed, true, "archive: every message sealed on the r2 server");
  assert.equal(a.resume.exactly_once_in_order, true, "archive: resumes exactly once, in order");
  assert.equal(a.wrong_pages, 0, "archive: every history page held what it must");
  assert.ok(
    a.dm_while_sealing.segments_sealed.every((n) => n > 0),
    "archive: the channel sealed during the 1:1 runs",
  );
  for (const side of ["product", "floor"]) {
    const [run] = s.idle[side].runs;
    assert.equal(run.devices, r.settings.idle.devices, `idle ${side}: every device connected`);
    assert.equal(run.unexpected_closes, 0, `idle ${side}: no socket closed under it`);
  }
  // The flood: the quiet pair loses nothing in any phase, and the flooder is refused.
  const [flood] = s.flood.product.runs;
  for (const phase of flood.phases) {
    assert.ok(phase.quiet.sent > 0, `flood ${phase.phase}: the quiet pair sent`);
    assert.equal(phase.quiet.lost, 0, `flood ${phase.phase}: lost`);
    assert.equal(phase.quiet.duplicates, 0, `flood ${phase.phase}: duplicates`);
    assert.equal(phase.quiet.unacked, 0, `flood ${phase.phase}: unacknowledged`);
    if (phase.flooder) assert.ok(phase.flooder.refused > 0, `flood ${phase.phase}: the flooder was refused`);
  }
  const { lost, duplicates, floor_lost, floor_duplicates } = r.totals;
  assert.deepEqual(
    { lost, duplicates, floor_lost, floor_duplicates },
    { lost: 0, duplicates: 0, floor_lost: 0, floor_duplicates: 0 },
  );
});
