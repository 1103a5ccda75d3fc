/**
 * The benchmark suite (bench/README.md): the real Worker against a minimal broadcast Durable
 * Object (the floor, bench/floor), in the same run, on 127.0.0.1 only.
 *
 *   npm run bench                 the full suite (about 27 min): figures for docs/performance.md
 *   npm run bench -- --quick      a smoke run with small counts (< 1 min)
 *   options: --only dm,group,saturate,resume,idle,flood,archive,counts   --reps N   --idle-devices N
 *            --baseline REF (the commit the flood scenario compares the 1:1 path against;
 *            default in a full run: the commit before flood control; none in --quick)
 *            --via-proxy (through wrangler's ProxyWorker)   --out DIR
 *            --wait-quiet SECONDS (first wait, at most that long, for the shared machine to be idle)
 *            --builtin-websocket (Node's WebSocket instead of bench/lib/wsclient.mjs)
 *            --tmpfs (the servers' local storage in /dev/shm instead of the disk)
 *            --rerender FILE.json (writes the report and chart of a results file again)
 *
 * Phases, each on freshly booted servers:
 *   A  dm, product and floor runs interleaved, `reps` times; then, on a new pair of servers,
 *      group: viewing runs interleaved with the floor's, then the runs on user sockets only
 *      after one switch; then resume on the group's product server;
 *   B  saturate: every run on a new server, product and floor alternating;
 *   C  idle: product, then floor, each alone on a new server;
 *   D  flood: one user floods while a quiet pair talks, on a new server with wrangler.toml's
 *      limits; then the 1:1 path of this code against the baseline commit's, interleaved.
 *   D  archive: three product servers of its own, with the archive's settings each figure needs
 *      (bench/scenarios/archive.mjs), in quick runs too (about 90 s in a full run).
 *   F  counts: platform operations per message, connect, resume and online hour, from the
 *      runtime's own traces, on a product server of its own (bench/scenarios/counts.mjs; about
 *      4 min in a full run); `npm run capacity` reads them.
 * The quick preset runs everything on one product and one floor server.
 * Writes bench/results/bench-<stamp>.{json,md,svg} (quick runs: bench/results/quick/) and,
 * after a full run of every scenario, copies the chart to docs/bench-latency.svg.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, freemem, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { ROOT } from "../scripts/boot-worker.mjs";
import { chart, headline, markdown, targets } from "./lib/report.mjs";
import {
  bootBaseline,
  bootFloor,
  bootProduct,
  defaultBaseline,
  machineCpuMs,
  SEND_VARS,
} from "./lib/servers.mjs";
import { closeAll, sleep, socketStats, useClient } from "./lib/sockets.mjs";
import { median, medianSummary } from "./lib/tracker.mjs";
import { archive } from "./scenarios/archive.mjs";
import { counts } from "./scenarios/counts.mjs";
import * as dm from "./scenarios/dm.mjs";
import { runFlood, setupFlood } from "./scenarios/flood.mjs";
import * as group from "./scenarios/group.mjs";
import { idleFloor, idleProduct } from "./scenarios/idle.mjs";
import { setupResume } from "./scenarios/resume.mjs";
import { saturate } from "./scenarios/saturate.mjs";

export const PRESETS = {
  full: {
    reps: 3,
    /**
     * Saturation repeats are skipped when they would take the run past this (seconds), with
     * `idleReserveSeconds` kept for the idle phase: three repeats of three runs need ~9 minutes.
     */
    budgetSeconds: 1020,
    /** What the idle phase is expected to need, kept free for it (seconds). */
    idleReserveSeconds: 190,
    /**
     * Unmeasured traffic after each scenario's setup, long enough for the runtime's first full
     * collection after it, which frees the setup's garbage, to come before the measured runs
     * (bench/README.md, "Runs, and what disturbs them").
     */
    warmupSeconds: 12,
    /**
     * Unmeasured traffic right before each measured run, so both servers are measured in their
     * steady state: after the other server's runs, objects idle for 10 s or more have been
     * hibernated, and the first second of a run would otherwise measure their wake-ups.
     */
    leadInSeconds: 1,
    dm: { pairs: 50, rate: 100, fastRate: 500, seconds: 6 },
    group: { members: 100, senders: 10, rate: 50, seconds: 6 },
    saturate: {
      reps: 3,
      members: 100,
      senders: 10,
      start: 50,
      factor: 1.25,
      maxRate: 5000,
      maxSteps: 24,
      stepSeconds: 2,
      p99LimitMs: 1000,
      behindAfterMs: 1500,
      /** After the first failed step, bisect until the ceiling is known to within 5 %. */
      precision: 0.05,
    },
    resume: { reps: 3, messages: 10_000 },
    archive: {
      reps: 3,
      messages: 10_000,
      segment: 1000,
      sealingSegment: 50,
      pageSamples: 100,
      dmRate: 50,
      dmSeconds: 10,
      chainBench: true,
    },
    idle: { devices: 5000, devicesPerUser: 2, idleSeconds: 30, settleMs: 2000, connectBudgetMs: 150_000 },
    flood: {
      phaseSeconds: 15,
      quietRate: 5,
      restClients: 32,
      rampMs: 1000,
      /** The 1:1 path of this code against the baseline commit's: the dm scenario's load, interleaved. */
      cost: { pairs: 50, rate: 100, seconds: 6, reps: 3, warmupSeconds: 6 },
    },
    /**
     * Platform operations per unit (bench/scenarios/counts.mjs): lone messages `gapMs` apart
     * (past every folding window), a group of 100, 20 connects, 95 s of idle (three presence
     * sweeps per user at wrangler.toml's 30 s), a resume after 50 missed messages (within wrangler.toml's burst of sends).
     */
    counts: {
      groupMembers: 100,
      connects: 20,
      messages: 10,
      offlineMessages: 5,
      gapMs: 2500,
      pushGapMs: 2500,
      idleSeconds: 95,
      resumeMissed: 50,
    },
  },
  quick: {
    reps: 1,
    warmupSeconds: 0,
    leadInSeconds: 0,
    dm: { pairs: 5, rate: 20, fastRate: 40, seconds: 1.5 },
    group: { members: 20, senders: 2, rate: 20, seconds: 1.5 },
    saturate: {
      reps: 1,
      members: 20,
      senders: 2,
      start: 20,
      factor: 2,
      maxRate: 100,
      maxSteps: 2,
      stepSeconds: 1,
      p99LimitMs: 1000,
      behindAfterMs: 1500,
    },
    resume: { reps: 1, messages: 300 },
    archive: {
      reps: 1,
      messages: 300,
      segment: 100,
      sealingSegment: 20,
      pageSamples: 10,
      dmRate: 50,
      dmSeconds: 2,
      chainBench: false,
    },
    idle: { devices: 60, devicesPerUser: 2, idleSeconds: 2, settleMs: 300, connectBudgetMs: 60_000 },
    flood: {
      phaseSeconds: 2,
      quietRate: 5,
      restClients: 8,
      rampMs: 300,
      cost: { pairs: 5, rate: 20, seconds: 1.5, reps: 1, warmupSeconds: 0 },
    },
    counts: {
      groupMembers: 10,
      connects: 3,
      messages: 2,
      offlineMessages: 1,
      gapMs: 1500,
      pushGapMs: 1500,
      idleSeconds: 5,
      resumeMissed: 20,
    },
  },
};

const SCENARIOS = ["dm", "group", "saturate", "resume", "idle", "flood", "archive", "counts"];

/** `list` rotated by `k`: interleaved runs change order from one repetition to the next. */
function rotate(list, k) {
  const n = k % list.length;
  return [...list.slice(n), ...list.slice(0, n)];
}

function versionOf(pkg) {
  try {
    return JSON.parse(readFileSync(join(ROOT, "node_modules", pkg, "package.json"), "utf8")).version;
  } catch {
    return "unknown";
  }
}

function git(...args) {
  try {
    return execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    return "";
  }
}

/**
 * Waits, at most `seconds`, until the machine is quiet: under 25% of one core busy over 3 s.
 * The machine is shared; a run beside someone else's test suite measures the test suite.
 */
async function waitQuiet(seconds, log) {
  const deadline = performance.now() + seconds * 1000;
  for (;;) {
    const a = machineCpuMs();
    await sleep(3000);
    const b = machineCpuMs();
    const busy = Math.round(((b.busyMs - a.busyMs + b.stealMs - a.stealMs) / 3000) * 100);
    if (busy < 25) return log(`machine quiet (${busy}% of a core busy)`);
    if (performance.now() > deadline) return log(`machine still busy (${busy}% of a core); starting anyway`);
    log(`waiting for a quiet machine: ${busy}% of a core busy`);
  }
}

/** Medians of every numeric figure (and of each percentile summary) over a scenario's runs. */
function medians(runs) {
  if (!runs.length) return null;
  const out = {};
  for (const [k, v] of Object.entries(runs[0])) {
    if (typeof v === "number") out[k] = median(runs.map((r) => r[k]));
    else if (v && typeof v === "object" && "p50" in v) out[k] = medianSummary(runs.map((r) => r[k]));
  }
  return out;
}

/**
 * Runs the suite and returns its results; writes the files unless `write` is false.
 * `log` receives progress lines.
 */
export async function runSuite({
  quick = false,
  only = SCENARIOS,
  reps,
  viaProxy = false,
  idleDevices,
  waitQuietSeconds = 0,
  client = "raw",
  tmpfs = false,
  outDir,
  write = true,
  baseline,
  log = (line) => console.log(line),
} = {}) {
  const preset = structuredClone(quick ? PRESETS.quick : PRESETS.full);
  if (reps) preset.reps = reps;
  if (idleDevices) preset.idle.devices = idleDevices;
  const want = new Set(only);
  useClient(client);
  // Miniflare keeps unpersisted storage under os.tmpdir(); /dev/shm takes the disk out.
  const tmpdirBefore = process.env.TMPDIR;
  if (tmpfs) process.env.TMPDIR = "/dev/shm";
  if (waitQuietSeconds > 0) await waitQuiet(waitQuietSeconds, log);
  const started = performance.now();
  const at = new Date().toISOString();
  const loadStart = loadavg();
  const stats = socketStats();
  const scenarios = {};
  const cpu = [];
  const problems = [];
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
  const note = (server) => {
    for (const p of server.problems()) problems.push({ server: server.kind, ...p });
  };
  const keepCpu = (run, r) =>
    cpu.push({
      run,
      generator_cpu_pct: r.generator_cpu_pct,
      server_cpu_pct: r.server_cpu_pct,
      others_cpu_pct: r.others_cpu_pct,
      steal_pct: r.steal_pct,
    });
  const side = () => ({ runs: [], median: null });
  /**
   * Runs one phase; a phase that fails (a crash of the generator or a server) is reported with
   * its error, and the suite goes on with the next, so one scenario never loses the others.
   */
  const phase = async (name, fn) => {
    try {
      await fn();
    } catch (err) {
      log(`[${elapsed()}] ${name}: FAILED: ${err?.stack ?? err}`);
      problems.push({ server: "generator", level: "error", message: `${name}: ${err?.message ?? err}` });
    }
  };
  // The quick preset shares one server pair between phases; the full run boots per phase.
  // `vars`: limits a scenario raises (servers.mjs SEND_VARS); the quick preset's shared product
  // raises them for every scenario, as its saturation needs them. dm and idle run on
  // wrangler.toml's limits in a full run, flood always (it boots its own server).
  const shared = quick ? {} : null;
  const acquire = async (kind, vars = {}) => {
    if (shared?.[kind]) return shared[kind];
    const server =
      kind === "product"
        ? await bootProduct({ viaProxy, vars: shared ? SEND_VARS : vars })
        : await bootFloor({ viaProxy });
    if (shared) shared[kind] = server;
    return server;
  };
  /** Groups set up in phase A, reused by the quick preset's saturation (same servers). */
  const groups = {};
  const release = async (server) => {
    if (shared) return;
    note(server);
    await server.close();
  };

  // ---- Phase A: dm, then group and resume, each part on its own pair of servers. On one
  // server, the group's 100 user objects, evicted together ~10 s after a group run, stalled
  // the dm run that followed by 110-160 ms (docs/performance.md); the floor has nothing alike.
  const partsA = [["dm"], ["group", "resume"]]
    .map((part) => part.filter((s) => want.has(s)))
    .filter((part) => part.length > 0);
  for (const part of partsA) {
    const has = (s) => part.includes(s);
    log(`[${elapsed()}] phase A (${part.join(", ")}): booting the product and the floor`);
    // The resume scenario posts 10,000 messages as fast as acks return: that server raises the
    // send limits (its group runs at 5 messages/s per sender, within the defaults anyway).
    const P = await acquire("product", has("resume") ? SEND_VARS : {});
    const F = await acquire("floor");
    const sockets = [];
    /** Client models to stop at the end (their delivered timers). */
    const models = [];
    try {
      let dmP;
      let dmF;
      let gP = null;
      let gF = null;
      if (has("dm")) {
        dmP = await dm.setupProduct(P, preset.dm, stats);
        dmF = await dm.setupFloor(F, preset.dm, stats);
        sockets.push(...dmP.sockets, ...dmF.sockets);
        models.push(dmP);
        scenarios.dm = {
          ...preset.dm,
          markers: true,
          seed_login_ms: Math.round(dmP.seedLoginMs),
          product: side(),
          floor: side(),
        };
        scenarios.dm_fast = {
          ...preset.dm,
          rate: preset.dm.fastRate,
          markers: true,
          product: side(),
          floor: side(),
        };
        scenarios.dm_plain = { ...preset.dm, markers: false, product: side(), floor: null };
        log(
          `[${elapsed()}] dm: ${preset.dm.pairs} pairs set up (a seeded account logged in in ${Math.round(dmP.seedLoginMs)} ms)`,
        );
      }
      if (has("group")) {
        gP = await group.setupProduct(P, preset.group, stats);
        gF = await group.setupFloor(F, preset.group, stats);
        if (shared) Object.assign(groups, { product: gP, floor: gF });
        else models.push(gP);
        scenarios.group_viewing = { ...preset.group, markers: true, product: side(), floor: side() };
        scenarios.group_viewing_plain = { ...preset.group, markers: false, product: side(), floor: null };
        scenarios.group_user = { ...preset.group, markers: true, product: side(), floor: null };
        log(`[${elapsed()}] group: ${preset.group.members} members set up`);
      }
      // Warm-up of both servers and of the generator (JIT, pools); not measured.
      const warm = { seconds: preset.warmupSeconds };
      if (dmP && warm.seconds > 0) {
        await dmP.run("w0", warm);
        await dmF.run("w0", warm);
      }
      if (gP && warm.seconds > 0) {
        await group.runGroup(F, gF, { ...preset.group, ...warm }, "w1");
        await gP.view(true);
        await group.runGroup(P, gP, { ...preset.group, ...warm }, "w1");
      }
      log(`[${elapsed()}] warmed up`);
      /** Unmeasured group traffic right before a measured run (`leadInSeconds`). */
      const groupLeadIn = (server, g, tag) =>
        preset.leadInSeconds > 0
          ? group.runGroup(server, g, { ...preset.group, seconds: preset.leadInSeconds }, tag)
          : null;
      /**
       * One measured run of a scenario (after its lead-in): `markers` on or off for the product
       * (bench/lib/client-model.mjs); the floor knows no markers and gets messages only.
       */
      const measure = async (key, name, runOne, what) => {
        const r = await runOne();
        scenarios[key][name].runs.push(r);
        keepCpu(`${key} ${name} ${scenarios[key][name].runs.length}`, r);
        log(
          `[${elapsed()}] ${key} ${name} ${scenarios[key][name].runs.length}: ${what(r)}, lost ${r.lost}, dup ${r.duplicates}`,
        );
      };
      const dmLine = (r) =>
        `recipient p50 ${r.send_to_recipient_ms.p50} p99 ${r.send_to_recipient_ms.p99} ms, ack p99 ${r.send_to_ack_ms.p99} ms`;
      const groupLine = (r) => `last p50 ${r.fanout_to_last_ms.p50} p99 ${r.fanout_to_last_ms.p99} ms`;
      for (let rep = 0; rep < preset.reps; rep++) {
        const tag = (name) => `${name}${rep}`;
        if (dmP) {
          // Floor, product with markers, product without, in an order that rotates each rep.
          const dmRuns = [
            ["dm", "floor", dmF, false],
            ["dm", "product", dmP, true],
            ["dm_plain", "product", dmP, false],
          ];
          for (const [key, name, s, markers] of rotate(dmRuns, rep)) {
            s.markers(markers);
            if (preset.leadInSeconds > 0) await s.run(tag("dl"), { seconds: preset.leadInSeconds });
            await measure(key, name, () => s.run(tag(`d${key}`)), dmLine);
          }
          const fast = { rate: preset.dm.fastRate };
          for (const [name, s] of rotate(
            [
              ["floor", dmF],
              ["product", dmP],
            ],
            rep,
          )) {
            s.markers(true);
            if (preset.leadInSeconds > 0) await s.run(tag("dfl"), { ...fast, seconds: preset.leadInSeconds });
            await measure("dm_fast", name, () => s.run(tag("df"), fast), dmLine);
          }
        }
        if (gP) {
          await gP.view(true);
          const groupRuns = [
            ["group_viewing", "floor", F, gF, false],
            ["group_viewing", "product", P, gP, true],
            ["group_viewing_plain", "product", P, gP, false],
          ];
          for (const [key, name, server, g, markers] of rotate(groupRuns, rep)) {
            g.markers(markers);
            await groupLeadIn(server, g, tag("gl"));
            await measure(
              key,
              name,
              () => group.runGroup(server, g, preset.group, tag(`g${key}`)),
              groupLine,
            );
          }
        }
      }
      // User sockets only: after every viewing run, so that closing and reopening 100 channel
      // sockets between runs does not leave its garbage to a viewing run's next full
      // collection (locally one isolate and one thread hold every object). Its target is
      // absolute (≤ 250 ms), so it is not interleaved with the floor.
      if (gP) {
        await gP.view(false);
        gP.markers(true);
        for (let rep = 0; rep < preset.reps; rep++) {
          await groupLeadIn(P, gP, `gul${rep}`);
          await measure(
            "group_user",
            "product",
            () => group.runGroup(P, gP, preset.group, `gu${rep}`),
            groupLine,
          );
        }
      }
      if (gP && !shared) sockets.push(...gP.sockets(), ...gF.sockets());
      if (has("resume")) {
        const rs = await setupResume(P, stats);
        sockets.push(...rs.sockets);
        const posted = await rs.postOffline("rsp", preset.resume.messages);
        scenarios.resume = { ...preset.resume, posting: posted, product: side(), floor: null };
        log(
          `[${elapsed()}] resume: ${posted.posted} messages posted in ${posted.posted_in_ms} ms while the reader was offline`,
        );
        for (let rep = 0; rep < preset.resume.reps; rep++) {
          const r = await rs.run(`rs${rep}`);
          scenarios.resume.product.runs.push(r);
          log(
            `[${elapsed()}] resume ${rep + 1}: ${r.received} messages in ${r.pages} pages, resume → resumed ${r.resume_to_resumed_ms} ms, exactly once in order: ${r.exactly_once_in_order}`,
          );
        }
      }
    } finally {
      for (const m of models) m.stop();
      await closeAll(sockets);
      await release(P);
      await release(F);
    }
  }

  // ---- Phase B: saturation, every run on a fresh server: the product with markers as real
  // clients send them, the product without, and the floor (messages only), in rotating order.
  if (want.has("saturate"))
    await phase("saturate", async () => {
      const cfg = preset.saturate;
      scenarios.saturate = { ...cfg, markers: true, product: side(), floor: side() };
      scenarios.saturate_plain = { ...cfg, markers: false, product: side(), floor: null };
      let repStarted = performance.now();
      let repMs = 0;
      for (let rep = 0; rep < cfg.reps; rep++) {
        if (rep > 0 && preset.budgetSeconds) {
          const reserve = want.has("idle") ? preset.idleReserveSeconds * 1000 : 0;
          if (performance.now() + repMs + reserve > started + preset.budgetSeconds * 1000) {
            log(`[${elapsed()}] saturate: repetition ${rep + 1} skipped, it would not fit the time budget`);
            scenarios.saturate.skipped_reps = cfg.reps - rep;
            break;
          }
        }
        repStarted = performance.now();
        const runs = [
          ["saturate", "product", true],
          ["saturate_plain", "product", false],
          ["saturate", "floor", false],
        ];
        for (const [key, name, markers] of rotate(runs, rep)) {
          log(`[${elapsed()}] ${key} ${name} ${rep + 1}: ${shared ? "starting" : "booting"}`);
          const server = await acquire(name, SEND_VARS);
          let g = groups[name];
          try {
            g ??=
              name === "product"
                ? await group.setupProduct(server, cfg, stats)
                : await group.setupFloor(server, cfg, stats);
            g.markers(markers);
            await g.view(true);
            await sleep(500);
            const r = await saturate(server, g, cfg, `s${key}${rep}`);
            scenarios[key][name].runs.push(r);
            log(
              `[${elapsed()}] ${key} ${name} ${rep + 1}: ${r.sustained_msgs_per_s} msg/s, ${r.sustained_deliveries_per_s} deliveries/s; stopped by ${r.stopped_by}; lost ${r.lost}, dup ${r.duplicates}`,
            );
          } finally {
            // The quick preset reuses phase A's group and servers; they are closed at the end.
            if (g && !shared) {
              g.stop();
              await closeAll(g.sockets());
            }
            await release(server);
          }
        }
        repMs = performance.now() - repStarted;
      }
    });

  // ---- Phase C: idle devices, each server alone.
  if (want.has("idle"))
    await phase("idle", async () => {
      const cfg = preset.idle;
      scenarios.idle = { ...cfg, product: side(), floor: side() };
      for (const name of ["product", "floor"]) {
        log(`[${elapsed()}] idle ${name}: ${shared ? "" : "booting, then "}${cfg.devices} devices`);
        const tb = performance.now();
        const server = await acquire(name);
        const bootMs = Math.round(performance.now() - tb);
        try {
          // The floor gets as many devices as the product managed to connect in its budget.
          const devices = scenarios.idle.product.runs[0]?.devices ?? cfg.devices;
          const r =
            name === "product"
              ? await idleProduct(server, cfg)
              : await idleFloor(server, { ...cfg, devices });
          r.boot_ms = bootMs;
          scenarios.idle[name].runs.push(r);
          log(
            `[${elapsed()}] idle ${name}: ${r.memory_per_device_kb} KiB/device, ${r.idle_cpu_pct}% CPU idle, heartbeat wake-ups ${r.heartbeat_wakeups}, ${r.connects_per_s} connects/s (boot ${r.boot_ms} ms, seed ${r.seed_ms ?? 0} ms, connect ${r.connect_ms} ms, close ${r.close_ms} ms)`,
          );
        } finally {
          const tc = performance.now();
          await release(server);
          log(`[${elapsed()}] idle ${name}: server closed in ${Math.round(performance.now() - tc)} ms`);
        }
      }
    });
  // ---- Phase D: flood, on its own server with the limits as they ship; then the limiter's
  // cost on the 1:1 path against the baseline commit, each on fresh servers, interleaved.
  if (want.has("flood"))
    await phase("flood", async () => {
      const cfg = preset.flood;
      log(`[${elapsed()}] flood: booting the product with wrangler.toml's limits`);
      const P = await bootProduct({ viaProxy });
      let fs;
      try {
        fs = await setupFlood(P, cfg, stats);
        const r = await runFlood(P, fs, cfg, "fl");
        scenarios.flood = { ...cfg, product: { runs: [r], median: null }, floor: null };
        for (const p of r.phases) {
          const f = p.flooder;
          log(
            `[${elapsed()}] flood ${p.phase}: quiet p50 ${p.quiet.send_to_recipient_ms.p50} p99 ${p.quiet.send_to_recipient_ms.p99} ms` +
              (f
                ? `, flooder stored ${f.accepted_per_s}/s of ${f.sent_per_s}/s sent, ${f.not_stored} not stored (${f.refused} refusals), ${f.cpu_us_per_refusal ?? "–"} µs CPU each`
                : ""),
          );
        }
      } finally {
        fs?.quiet.stop();
        if (fs) await closeAll(fs.quiet.sockets);
        note(P);
        await P.close();
      }
      const ref = baseline === undefined ? (quick ? null : defaultBaseline()) : baseline;
      if (ref) scenarios.flood.cost = await limiterCost(ref, cfg.cost);
      else scenarios.flood.cost = { skipped: "no baseline commit (pass --baseline REF)" };
    });

  // ---- Phase E: the history archive, on three product servers of its own (their archive
  // settings differ: bench/scenarios/archive.mjs). After the saturation phase, so that it takes nothing from the time
  // budget the saturation repeats are fitted into.
  if (want.has("archive"))
    await phase("archive", async () => {
      log(`[${elapsed()}] archive: booting three product servers`);
      const r = await archive({
        boot: async (vars) => {
          // It posts 10,000 messages as fast as acks return and reads history pages back to back:
          // the message and history limits are raised on its servers, nothing else.
          const server = await bootProduct({
            viaProxy,
            vars: { ...SEND_VARS, LIMIT_HISTORY_PER_USER: "100000/1s", ...vars },
          });
          return {
            ...server,
            close: async () => {
              note(server);
              await server.close();
            },
          };
        },
        cfg: preset.archive,
        reps: preset.archive.reps,
        leadInSeconds: preset.leadInSeconds,
        log: (line) => log(`[${elapsed()}] ${line}`),
      });
      scenarios.archive = r;
    });

  // ---- Phase F: platform operations per unit, on a product server of its own with
  // wrangler.toml's limits and the runtime's trace collector on (bench/lib/platform-counts.mjs).
  if (want.has("counts"))
    await phase("counts", async () => {
      log(`[${elapsed()}] counts: booting the product with the trace collector`);
      scenarios.counts = await counts({
        boot: async (vars) => {
          const server = await bootProduct({ viaProxy, vars });
          return {
            ...server,
            close: async () => {
              note(server);
              await server.close();
            },
          };
        },
        cfg: preset.counts,
        log: (line) => log(`[${elapsed()}] ${line}`),
      });
    });

  /**
   * The 1:1 path (the dm scenario) on this code and on commit `ref`, each on a fresh server
   * with its own limits as they shipped, runs interleaved: the limiter's cost per message.
   */
  async function limiterCost(ref, cfg) {
    log(`[${elapsed()}] flood: the 1:1 path against ${ref}: booting both`);
    const sides = {
      current: await bootProduct({ viaProxy }),
      baseline: await bootBaseline(ref, { viaProxy }),
    };
    const setups = {};
    const out = { baseline: ref, ...cfg, current: { runs: [] }, baseline_runs: { runs: [] } };
    try {
      for (const [name, server] of Object.entries(sides)) {
        setups[name] = await dm.setupProduct(server, cfg, stats);
        if (cfg.warmupSeconds > 0) await setups[name].run(`cw${name}`, { seconds: cfg.warmupSeconds });
      }
      for (let rep = 0; rep < cfg.reps; rep++) {
        for (const name of rotate(["current", "baseline"], rep)) {
          const r = await setups[name].run(`c${name}${rep}`);
          (name === "current" ? out.current : out.baseline_runs).runs.push(r);
          log(
            `[${elapsed()}] 1:1 ${name} ${rep + 1}: ack p50 ${r.send_to_ack_ms.p50} ms, recipient p50 ${r.send_to_recipient_ms.p50} p99 ${r.send_to_recipient_ms.p99} ms, server CPU ${r.server_cpu_pct}%`,
          );
        }
      }
    } finally {
      for (const [name, server] of Object.entries(sides)) {
        setups[name]?.stop();
        if (setups[name]) await closeAll(setups[name].sockets);
        note(server);
        await server.close();
      }
    }
    out.current.median = medians(out.current.runs);
    out.baseline_runs.median = medians(out.baseline_runs.runs);
    const d = (k, p) => {
      const a = out.current.median?.[k]?.[p];
      const b = out.baseline_runs.median?.[k]?.[p];
      return typeof a === "number" && typeof b === "number" ? Math.round((a - b) * 100) / 100 : null;
    };
    out.ack_p50_delta_ms = d("send_to_ack_ms", "p50");
    out.recipient_p50_delta_ms = d("send_to_recipient_ms", "p50");
    out.recipient_p99_delta_ms = d("send_to_recipient_ms", "p99");
    return out;
  }

  for (const g of Object.values(groups)) {
    g.stop();
    await closeAll(g.sockets());
  }
  for (const server of Object.values(shared ?? {})) {
    note(server);
    await server.close();
  }
  if (tmpfs) {
    if (tmpdirBefore === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmpdirBefore;
  }

  for (const scn of Object.values(scenarios)) {
    for (const name of ["product", "floor"]) if (scn[name]) scn[name].median = medians(scn[name].runs);
  }
  // Scenarios measured beside another's floor runs share them (the floor knows no markers).
  if (scenarios.group_user && scenarios.group_viewing)
    scenarios.group_user.floor = scenarios.group_viewing.floor;
  if (scenarios.group_viewing_plain && scenarios.group_viewing)
    scenarios.group_viewing_plain.floor = scenarios.group_viewing.floor;
  if (scenarios.dm_plain && scenarios.dm) scenarios.dm_plain.floor = scenarios.dm.floor;
  if (scenarios.saturate_plain && scenarios.saturate)
    scenarios.saturate_plain.floor = scenarios.saturate.floor;

  // Lost and duplicated over every run; the product's and the floor's apart.
  const totals = { lost: 0, duplicates: 0, floor_lost: 0, floor_duplicates: 0, unacked: 0, error_frames: 0 };
  const perScenario = {};
  for (const [name, scn] of Object.entries(scenarios)) {
    for (const sideName of ["product", "floor"]) {
      // These share the floor's runs of group_viewing and dm.
      if (
        ["group_user", "group_viewing_plain", "dm_plain", "saturate_plain"].includes(name) &&
        sideName === "floor"
      )
        continue;
      for (const r of scn[sideName]?.runs ?? []) {
        const lost = r.lost ?? 0;
        const dup = r.duplicates ?? 0;
        if (sideName === "product") {
          totals.lost += lost;
          totals.duplicates += dup;
        } else {
          totals.floor_lost += lost;
          totals.floor_duplicates += dup;
        }
        totals.unacked += r.unacked ?? 0;
        totals.error_frames += r.error_frames ?? 0;
        const key = `${name} ${sideName}`;
        perScenario[key] ??= { runs: 0, lost: 0, duplicates: 0 };
        perScenario[key].runs++;
        perScenario[key].lost += lost;
        perScenario[key].duplicates += dup;
      }
    }
  }

  totals.unacked += scenarios.resume?.posting?.unacked ?? 0;
  if (scenarios.archive) {
    totals.lost += scenarios.archive.lost;
    totals.duplicates += scenarios.archive.duplicates;
    totals.unacked += scenarios.archive.unacked;
    perScenario.archive = {
      runs: scenarios.archive.dm_while_sealing.baseline.runs.length * 2,
      lost: scenarios.archive.lost,
      duplicates: scenarios.archive.duplicates,
    };
  }

  const results = {
    at,
    mode: quick ? "quick" : "full",
    command: `npm run bench${quick ? " -- --quick" : ""}${only.length < SCENARIOS.length ? ` --only ${only.join(",")}` : ""}`,
    duration_s: Math.round((performance.now() - started) / 100) / 10,
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model ?? "unknown",
      mem_gb: Math.round(totalmem() / 2 ** 30),
      free_gb_at_end: Math.round(freemem() / 2 ** 30),
      loadavg_start: loadStart.map((x) => Math.round(x * 100) / 100),
      loadavg_end: loadavg().map((x) => Math.round(x * 100) / 100),
    },
    versions: {
      node: process.version,
      wrangler: versionOf("wrangler"),
      miniflare: versionOf("miniflare"),
      workerd: versionOf("workerd"),
    },
    git: {
      commit: git("rev-parse", "--short=12", "HEAD"),
      dirty: git("status", "--porcelain", "--untracked-files=no") !== "",
      // Porcelain lines are "XY path"; the whole output was trimmed, so the first may have lost X.
      modified: git("status", "--porcelain", "--untracked-files=no")
        .split("\n")
        .filter(Boolean)
        .map((l) => l.replace(/^.{1,2} /, "")),
    },
    settings: {
      ...preset,
      via_proxy: viaProxy,
      storage: tmpfs ? "/dev/shm (tmpfs)" : `${tmpdirBefore ?? "/tmp"} (the default temporary directory)`,
      local_observability:
        process.env.X_LOCAL_OBSERVABILITY === "false"
          ? "off (X_LOCAL_OBSERVABILITY=false: wrangler's per-invocation trace collector is not run)"
          : "on (wrangler's per-invocation trace collector runs inside the same workerd)",
      client: client === "builtin" ? "Node's built-in WebSocket (undici)" : "bench/lib/wsclient.mjs",
      path: viaProxy
        ? "createTestHarness, traffic through wrangler's ProxyWorker"
        : "createTestHarness; the generator talks straight to the runtime's workerd, not through wrangler's ProxyWorker",
    },
    scenarios,
    per_scenario: perScenario,
    totals,
    sockets: stats,
    cpu,
    server_problems: problems,
  };
  results.headline = headline(scenarios);
  results.targets = targets(scenarios, totals);
  const md = markdown(results);
  if (write) {
    const dir = outDir ?? join(ROOT, "bench", "results", quick ? "quick" : "");
    mkdirSync(dir, { recursive: true });
    const stem = join(dir, `bench-${at.replace(/[:.]/g, "-")}${quick ? "-quick" : ""}`);
    writeFileSync(`${stem}.json`, `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(`${stem}.md`, md);
    writeFileSync(`${stem}.svg`, chart(results));
    results.files = [`${stem}.json`, `${stem}.md`, `${stem}.svg`];
    // Results are committed: format them as the repository's formatter would (`npm run lint`).
    if (!quick)
      spawnSync(join(ROOT, "node_modules", ".bin", "biome"), ["format", "--write", ...results.files]);
    if (!quick && only.length === SCENARIOS.length && !outDir) {
      copyFileSync(`${stem}.svg`, join(ROOT, "docs", "bench-latency.svg"));
      results.files.push(join(ROOT, "docs", "bench-latency.svg"));
    }
  }
  results.markdown = md;
  return results;
}

/** Renders the report and chart of a results file again (after a change to report.mjs). */
export function rerender(file) {
  const results = JSON.parse(readFileSync(file, "utf8"));
  results.headline = headline(results.scenarios);
  results.targets = targets(results.scenarios, results.totals);
  const stem = file.replace(/\.json$/, "");
  writeFileSync(`${stem}.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${stem}.md`, markdown(results));
  writeFileSync(`${stem}.svg`, chart(results));
  spawnSync(join(ROOT, "node_modules", ".bin", "biome"), ["format", "--write", `${stem}.json`, `${stem}.md`]);
  return results;
}

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--quick") opts.quick = true;
    else if (a === "--via-proxy") opts.viaProxy = true;
    else if (a === "--only") opts.only = argv[++i].split(",").filter((s) => SCENARIOS.includes(s));
    else if (a === "--reps") opts.reps = Number(argv[++i]);
    else if (a === "--idle-devices") opts.idleDevices = Number(argv[++i]);
    else if (a === "--out") opts.outDir = argv[++i];
    else if (a === "--wait-quiet") opts.waitQuietSeconds = Number(argv[++i]);
    else if (a === "--builtin-websocket") opts.client = "builtin";
    else if (a === "--tmpfs") opts.tmpfs = true;
    else if (a === "--rerender") opts.rerender = argv[++i];
    else if (a === "--baseline") opts.baseline = argv[++i];
    else throw new Error(`unknown option ${a} (see bench/run.mjs)`);
  }
  return opts;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.rerender) {
    console.log(markdown(rerender(opts.rerender)));
    process.exit(0);
  }
  const results = await runSuite(opts);
  console.log(`\n${results.markdown}`);
  for (const f of results.files ?? []) console.log(`written: ${f}`);
  // Sockets and timers of the generator may linger; the results are out.
  process.exit(0);
}
