/**
 * archive: the R2 history archive (docs/architecture.md "The archive") against SQLite, on three
 * product servers of its own. They differ in the archive's two settings only; the code path is
 * the product's:
 *   sqlite   ARCHIVE_SEGMENT_MESSAGES and HOT_MESSAGES out of reach: every message stays in
 *            SQLite, as before the archive existed;
 *   r2       segments of the production size, HOT_MESSAGES = 0: whatever is sealed leaves SQLite;
 *   sealing  segments of `sealingSegment` and as many hot: a 1:1 chat at 50 msg/s seals one
 *            segment and deletes as many rows about every second.
 * Figures (there is no floor: it stores nothing):
 * - history page: `GET /v1/channels/{id}/messages?before=<random seq>&limit=50`, p50/p99, from
 *   SQLite, from R2 cold (the isolate's segment cache emptied before each request, outside the
 *   timing) and from R2 cached;
 * - resume of `messages` missed messages (bench/scenarios/resume.mjs): all in SQLite, all in R2
 *   with the cache emptied first, all in R2 again right after (cached); target: cold ≤ 2× SQLite;
 * - 1:1 send→recipient and send→ack at 50 msg/s (one pair, both viewing, bench/scenarios/dm.mjs)
 *   on the sealing server against the sqlite server, interleaved; target: the p99 unchanged
 *   within the spread of the baseline's runs;
 * - the chain's cost per message in workerd (bench/chain-cost.bench.ts, run by vitest; full runs
 *   only); target ≤ 0.1 ms;
 * - bytes per message: compressed segments in R2 against the SQLite database's growth.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { ROOT } from "../../scripts/boot-worker.mjs";
import { closeAll, makeApi, socketStats } from "../lib/sockets.mjs";
import { median, medianSummary, summarize } from "../lib/tracker.mjs";
import * as dm from "./dm.mjs";
import { setupResume } from "./resume.mjs";

const PAGE = 50;

/**
 * Chat-like text of about 100 characters, deterministic per index: words drawn from a small
 * vocabulary. The suite's usual 100 x's would compress to almost nothing in R2 and flatter the
 * archive's bytes per message.
 */
const WORDS =
  "the a to and of you I it is that for on in this we be can what do have with at are just so not my me but if how about when was get will all see now think one out time need here up like good know back still want".split(
    " ",
  );
function chatText(i) {
  let x = (i + 1) * 2654435761;
  let text = "";
  while (text.length < 95) {
    x = (x ^ (x >>> 13)) * 1274126177;
    x = (x ^ (x >>> 16)) >>> 0;
    text += `${WORDS[x % WORDS.length]} `;
  }
  return `${text.trim()} ${i}`;
}

/** Runs the scenario; `boot(vars)` boots a product server with these extra vars. */
export async function archive({ boot, cfg, reps, leadInSeconds, log }) {
  const stats = socketStats();
  const servers = [];
  const sockets = [];
  const models = [];
  try {
    const sqlite = await boot({ ARCHIVE_SEGMENT_MESSAGES: "1000000000", HOT_MESSAGES: "1000000000" });
    servers.push(sqlite);
    const r2 = await boot({ ARCHIVE_SEGMENT_MESSAGES: String(cfg.segment), HOT_MESSAGES: "0" });
    servers.push(r2);
    const sealing = await boot({
      ARCHIVE_SEGMENT_MESSAGES: String(cfg.sealingSegment),
      HOT_MESSAGES: String(cfg.sealingSegment),
    });
    servers.push(sealing);
    const room = (server, channelId) => server.env.CHANNEL_ROOM.getByName(channelId);

    // ---- The same number of messages into a 1:1 chat on each of sqlite and r2.
    const hot = await setupResume(sqlite, stats);
    const cold = await setupResume(r2, stats);
    sockets.push(...hot.sockets, ...cold.sockets);
    const dbBefore = (await room(sqlite, hot.channelId).archiveStats()).database_bytes;
    const postedHot = await hot.postOffline("arh", cfg.messages, chatText);
    const dbAfter = (await room(sqlite, hot.channelId).archiveStats()).database_bytes;
    const postedCold = await cold.postOffline("arc", cfg.messages, chatText);
    // The r2 server seals as the messages arrive; wait for the last segment and deletes.
    let coldStats = null;
    const deadline = performance.now() + 60_000;
    while (performance.now() < deadline) {
      coldStats = await room(r2, cold.channelId).archiveStats();
      if (coldStats.sealed_through === cfg.messages && coldStats.hot_rows === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const allSealed = coldStats?.sealed_through === cfg.messages && coldStats?.hot_rows === 0;
    log(
      `archive: ${cfg.messages} messages in SQLite (posted at ${postedHot.posted_per_s}/s) and in R2 (${postedCold.posted_per_s}/s, ${coldStats?.segments} segments, all sealed: ${allSealed})`,
    );
    const bytes = {
      text_chars: Math.round(
        Array.from({ length: cfg.messages }, (_, i) => chatText(i).length).reduce((a, b) => a + b, 0) /
          cfg.messages,
      ),
      sqlite: Math.round((dbAfter - dbBefore) / cfg.messages),
      r2: coldStats?.sealed_through ? Math.round(coldStats.sealed_bytes / coldStats.sealed_through) : null,
      r2_segment_bytes: coldStats?.segments ? Math.round(coldStats.sealed_bytes / coldStats.segments) : null,
    };

    // ---- History pages.
    const pageTimes = async (server, rs, mode) => {
      const api = makeApi(server.base);
      const token = rs.poster.devices[0].token;
      const times = [];
      let wrong = 0;
      for (let k = 0; k < cfg.pageSamples; k++) {
        const before = 2 + Math.floor(Math.random() * (cfg.messages - 1));
        if (mode === "cold") await room(server, rs.channelId).dropArchiveCache();
        const t0 = performance.now();
        const page = await api(
          "GET",
          `/v1/channels/${rs.channelId}/messages?before=${before}&limit=${PAGE}`,
          {
            token,
          },
        );
        times.push(performance.now() - t0);
        const seqs = page.messages.map((m) => m.seq);
        const want = Math.min(PAGE, before - 1);
        if (
          seqs.length !== want ||
          seqs.at(-1) !== before - 1 ||
          seqs.some((s, i) => i > 0 && s !== seqs[i - 1] + 1)
        )
          wrong++;
      }
      return { ...summarize(times), wrong_pages: wrong };
    };
    const history = {
      sqlite: await pageTimes(sqlite, hot, "hot"),
      r2_cold: await pageTimes(r2, cold, "cold"),
    };
    // Every segment read once, then the cached pages.
    for (let before = cfg.messages + 1; before > 1; before -= cfg.segment)
      await makeApi(r2.base)(
        "GET",
        `/v1/channels/${cold.channelId}/messages?before=${before}&limit=${PAGE}`,
        {
          token: cold.poster.devices[0].token,
        },
      );
    history.r2_cached = await pageTimes(r2, cold, "cached");
    log(
      `archive: history page p50/p99 ms: SQLite ${history.sqlite.p50}/${history.sqlite.p99}, R2 cold ${history.r2_cold.p50}/${history.r2_cold.p99}, cached ${history.r2_cached.p50}/${history.r2_cached.p99}`,
    );

    // ---- Resume of every message, from SQLite, from R2 cold, from R2 cached; interleaved.
    const resume = { sqlite: { runs: [] }, r2_cold: { runs: [] }, r2_cached: { runs: [] } };
    for (let rep = 0; rep < reps; rep++) {
      resume.sqlite.runs.push(await hot.run(`arh${rep}`));
      await room(r2, cold.channelId).dropArchiveCache();
      resume.r2_cold.runs.push(await cold.run(`arc${rep}`));
      resume.r2_cached.runs.push(await cold.run(`arw${rep}`));
    }
    for (const side of Object.values(resume)) {
      side.median = {
        resume_to_resumed_ms: median(side.runs.map((r) => r.resume_to_resumed_ms)),
        pages: median(side.runs.map((r) => r.pages)),
      };
    }
    resume.cold_over_sqlite =
      resume.sqlite.median.resume_to_resumed_ms > 0
        ? Math.round(
            (resume.r2_cold.median.resume_to_resumed_ms / resume.sqlite.median.resume_to_resumed_ms) * 100,
          ) / 100
        : null;
    resume.exactly_once_in_order = Object.values(resume)
      .filter((v) => v?.runs)
      .every((side) => side.runs.every((r) => r.exactly_once_in_order));
    log(
      `archive: resume of ${cfg.messages}: SQLite ${resume.sqlite.median.resume_to_resumed_ms} ms, R2 cold ${resume.r2_cold.median.resume_to_resumed_ms} ms (${resume.cold_over_sqlite}×), cached ${resume.r2_cached.median.resume_to_resumed_ms} ms; exactly once in order: ${resume.exactly_once_in_order}`,
    );

    // ---- 1:1 at 50 msg/s: on the sqlite server (nothing seals) and while the channel seals.
    const dmCfg = { pairs: 1, rate: cfg.dmRate, seconds: cfg.dmSeconds };
    const base = await dm.setupProduct(sqlite, dmCfg, stats);
    const seal = await dm.setupProduct(sealing, dmCfg, stats);
    sockets.push(...base.sockets, ...seal.sockets);
    models.push(base, seal);
    const dmRuns = { baseline: { runs: [] }, sealing: { runs: [] } };
    const sealingRoom = room(sealing, seal.channels[0]);
    for (let rep = 0; rep < reps; rep++) {
      const order = rep % 2 === 0 ? ["baseline", "sealing"] : ["sealing", "baseline"];
      for (const name of order) {
        const s = name === "baseline" ? base : seal;
        if (leadInSeconds > 0) await s.run(`adl${name}${rep}`, { seconds: leadInSeconds });
        const before = await sealingRoom.archiveStats();
        const r = await s.run(`ad${name}${rep}`);
        const after = await sealingRoom.archiveStats();
        if (name === "sealing") {
          r.segments_sealed = after.segments - before.segments;
          r.hot_rows_high_water = after.hot_rows_high_water;
        }
        dmRuns[name].runs.push(r);
        log(
          `archive: 1:1 at ${cfg.dmRate} msg/s, ${name} ${rep + 1}: recipient p50 ${r.send_to_recipient_ms.p50} p99 ${r.send_to_recipient_ms.p99} ms${name === "sealing" ? `, ${r.segments_sealed} segments sealed meanwhile` : ""}, lost ${r.lost}, dup ${r.duplicates}`,
        );
      }
    }
    for (const side of Object.values(dmRuns)) {
      side.median = {
        send_to_recipient_ms: medianSummary(side.runs.map((r) => r.send_to_recipient_ms)),
        send_to_ack_ms: medianSummary(side.runs.map((r) => r.send_to_ack_ms)),
      };
    }
    const p99s = (side) => side.runs.map((r) => r.send_to_recipient_ms.p99);
    dmRuns.baseline_p99_spread_ms = Math.max(...p99s(dmRuns.baseline)) - Math.min(...p99s(dmRuns.baseline));
    dmRuns.segments_sealed = dmRuns.sealing.runs.map((r) => r.segments_sealed);

    // ---- The chain's CPU per message, measured inside workerd.
    const chain = cfg.chainBench ? await chainCost(log) : null;

    const allRuns = [...dmRuns.baseline.runs, ...dmRuns.sealing.runs];
    return {
      ...cfg,
      history_page_ms: history,
      resume,
      dm_while_sealing: dmRuns,
      chain,
      bytes_per_message: bytes,
      all_sealed: allSealed,
      lost:
        allRuns.reduce((n, r) => n + (r.lost ?? 0), 0) +
        Object.values(resume)
          .filter((v) => v?.runs)
          .reduce((n, side) => n + side.runs.reduce((m, r) => m + r.lost, 0), 0),
      duplicates:
        allRuns.reduce((n, r) => n + (r.duplicates ?? 0), 0) +
        Object.values(resume)
          .filter((v) => v?.runs)
          .reduce((n, side) => n + side.runs.reduce((m, r) => m + r.duplicates, 0), 0),
      unacked: allRuns.reduce((n, r) => n + (r.unacked ?? 0), 0) + postedHot.unacked + postedCold.unacked,
      wrong_pages: history.sqlite.wrong_pages + history.r2_cold.wrong_pages + history.r2_cached.wrong_pages,
    };
  } finally {
    for (const m of models) m.stop();
    await closeAll(sockets);
    for (const s of servers) await s.close();
  }
}

/** bench/chain-cost.bench.ts in workerd (vitest, as `npm run bench:platform` runs it); its RESULT_JSON. */
async function chainCost(log) {
  const bin = join(ROOT, "node_modules", ".bin");
  const child = spawn(
    join(bin, "vitest"),
    ["run", "--config", "bench/vitest.config.ts", "bench/chain-cost.bench.ts"],
    {
      cwd: ROOT,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}`, WRANGLER_SEND_METRICS: "false" },
      stdio: ["ignore", "pipe", "ignore"],
    },
  );
  let out = "";
  child.stdout.on("data", (chunk) => {
    out += chunk;
  });
  const status = await new Promise((resolve) => child.on("close", (code) => resolve(code ?? 1)));
  const line = out.split("\n").find((l) => l.includes("RESULT_JSON "));
  if (status !== 0 || !line) {
    log(`archive: the chain's microbenchmark failed (vitest exited ${status})`);
    return null;
  }
  const perMessage = JSON.parse(line.slice(line.indexOf("RESULT_JSON ") + 12));
  log(
    `archive: the chain per message in workerd (native SHA-256): ${perMessage["100 chars"]?.nativeUs} µs at 100 characters, ${perMessage["100000 chars"]?.nativeUs} µs at 100,000`,
  );
  return { per_message_us: perMessage };
}
