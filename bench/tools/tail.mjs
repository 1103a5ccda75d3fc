/**
 * What the slowest 1 % of 1:1 messages wait for (issue #15): runs the suite's dm scenario (50
 * pairs, markers as real clients send them) on the product alone, at each rate, with
 *   - every fsync/fdatasync of the runtime traced by perf (wall clock, duration, file), so
 *     each is classed as a channel's commit, a user object's commit, a WAL checkpoint (the
 *     database file itself), the alarm store's or D1's;
 *   - V8's collections traced by the runtime (`--trace-gc`, each line stamped by
 *     bench/tools/workerd-trace.sh with the wall clock when it was printed, at the pause's end);
 * then lines every slow message up with what overlapped it between its send and its last
 * delivery: the runtime fsyncs on the one thread its objects share, and a collection stops
 * it, so each such event's time inside the message's way is time the message waited for it.
 * Prints, for the slowest 1 %, each kind's share of their total latency (what is left is
 * JavaScript or other processes: see others' CPU), and what each kind of event costs overall.
 *
 *   node bench/tools/tail.mjs [--rates 100,500] [--seconds 6] [--runs 3] [--tmpfs]
 *
 * Needs perf with the kernel's syscall tracepoints (Debian: linux-perf). Linux only. Results: bench/results/tail-<time>.json.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../../scripts/boot-worker.mjs";
import { bootProduct } from "../lib/servers.mjs";
import { sleep, socketStats } from "../lib/sockets.mjs";
import * as dm from "../scenarios/dm.mjs";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const RATES = arg("rates", "100,500").split(",").map(Number);
const SECONDS = Number(arg("seconds", "6"));
const RUNS = Number(arg("runs", "3"));
if (process.argv.includes("--tmpfs")) process.env.TMPDIR = "/dev/shm";

const traceDir = mkdtempSync(join(tmpdir(), "tail-trace-"));
process.env.MINIFLARE_WORKERD_PATH = join(ROOT, "bench/tools/workerd-trace.sh");
process.env.MINIFLARE_WORKERD_V8_FLAGS = "--trace-gc";
process.env.WORKERD_TRACE_DIR = traceDir;

const server = await bootProduct();
const pid = server.pids.runtime;
const log = (s) => console.log(`[tail] ${s}`);
log(`runtime pid ${pid}, traces in ${traceDir}`);
const stats = socketStats();
const cfg = { pairs: 50, rate: RATES[0], seconds: SECONDS, slowest: 100_000 };
const d = await dm.setupProduct(server, cfg, stats);
log("warming up (12 s)");
await d.run("tw", { seconds: 12 });

/**
 * Records the runtime's fsyncs with perf on the kernel's syscall tracepoints, and
 * `stop()` returns them. strace was tried first: its ptrace stops, at 500 fsyncs a second,
 * saturated the runtime by themselves (p50 from 1 ms to 500-900 ms).
 */
function traceFsyncs() {
  const out = join(traceDir, `perf-${Date.now()}.data`);
  const events = ["fsync", "fdatasync"].flatMap((c) => [
    "-e",
    `syscalls:sys_enter_${c}`,
    "-e",
    `syscalls:sys_exit_${c}`,
  ]);
  const p = spawn("perf", [
    "record",
    "-q",
    "--clockid",
    "monotonic",
    ...events,
    "-p",
    String(pid),
    "-o",
    out,
  ]);
  return {
    async stop() {
      // The files stay open, so their descriptors are resolved once, at the end.
      const files = openFiles();
      if (p.exitCode === null) {
        p.kill("SIGINT");
        await new Promise((r) => p.on("exit", r));
      }
      const script = spawnSync("perf", ["script", "-i", out, "-F", "tid,time,event,trace", "--ns"], {
        encoding: "utf8",
        maxBuffer: 256 * 1024 * 1024,
      });
      return parsePerf(script.stdout, files);
    },
  };
}

/** The runtime's open descriptors and the files behind them. */
function openFiles() {
  const files = new Map();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      files.set(Number(fd), readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      // closed meanwhile
    }
  }
  return files;
}

/** perf stamps with CLOCK_MONOTONIC (this kernel refuses realtime); Node's hrtime is the same clock. */
const MONOTONIC_TO_WALL_MS = Date.now() - Number(process.hrtime.bigint()) / 1e6;

/**
 * perf script lines, `  14710 1796598000.123456789: syscalls:sys_enter_fsync: fd: 0x0000018b`
 * then `... syscalls:sys_exit_fsync: 0x0`, paired per thread → { start, ms, kind }.
 */
function parsePerf(text, files) {
  const open = new Map();
  const out = [];
  for (const line of text.split("\n")) {
    const m =
      /^\s*(\d+)\s+([\d.]+):\s+syscalls:sys_(enter|exit)_f(?:data)?sync:\s*(?:fd: (0x[0-9a-f]+))?/.exec(line);
    if (!m) continue;
    const at = Number(m[2]) * 1000 + MONOTONIC_TO_WALL_MS;
    if (m[3] === "enter") open.set(m[1], { at, fd: Number.parseInt(m[4] ?? "0", 16) });
    else {
      const e = open.get(m[1]);
      open.delete(m[1]);
      if (e) out.push({ start: e.at, ms: at - e.at, kind: fileKind(files.get(e.fd) ?? "?") });
    }
  }
  return out;
}

function fileKind(path) {
  const wal = path.endsWith("-wal");
  if (/ChannelRoom/.test(path)) return wal ? "channel commit" : "channel checkpoint";
  if (/UserInbox/.test(path)) return wal ? "user-object commit" : "user-object checkpoint";
  if (/d1|D1/.test(path)) return "D1";
  if (/alarm|metadata/i.test(path)) return "alarm store";
  return `other (${path.split("/").slice(-2).join("/")})`;
}

/** V8 pauses from the runtime's trace log: { start, ms, kind }. */
function gcPauses(since) {
  const file = readdirSync(traceDir).find((f) => f === `workerd-${pid}.log`);
  if (!file) return [];
  const out = [];
  for (const line of readFileSync(join(traceDir, file), "utf8").split("\n")) {
    const m =
      /^([\d.]+) .*ms: (Scavenge|Mark-Compact|Mark-Sweep|Minor Mark-Sweep).*?, ([\d.]+) \/ ([\d.]+) ms/.exec(
        line,
      );
    if (!m) continue;
    const end = Number(m[1]) * 1000;
    const ms = Number(m[3]);
    if (end < since) continue;
    out.push({ start: end - ms, ms, kind: m[2] === "Scavenge" ? "GC scavenge" : "GC full collection" });
  }
  return out;
}

const quantile = (v, q) =>
  v.length ? v.sort((a, b) => a - b)[Math.min(v.length - 1, Math.ceil(q * v.length) - 1)] : null;
const r2 = (x) => (x === null ? null : Math.round(x * 100) / 100);

const results = [];
for (const rate of RATES) {
  for (let k = 0; k < RUNS; k++) {
    await d.run("tl", { seconds: 1, rate });
    const since = Date.now();
    const trace = traceFsyncs();
    await sleep(300); // perf attached
    const r = await d.run(`t${rate}-${k}`, { rate, slowest: 100_000 });
    const fsyncs = await trace.stop();
    await sleep(500); // the last GC lines are flushed
    const events = [...fsyncs.filter((f) => f.start >= since), ...gcPauses(since)];
    const all = r.slowest_messages;
    const n = Math.max(1, Math.ceil(all.length / 100));
    const slow = all.slice(0, n);
    // The runtime fsyncs on the thread every object runs on, and a collection stops it: the
    // time of each event inside a slow message's way is time that message waited for it.
    const waited = {};
    for (const m of slow) {
      const a = m.sent_at_unix_ms;
      const b = a + m.last_ms;
      const share = {};
      for (const e of events) {
        const overlap = Math.min(b, e.start + e.ms) - Math.max(a, e.start);
        if (overlap > 0) share[e.kind] = (share[e.kind] ?? 0) + overlap;
      }
      const known = Object.values(share).reduce((x, y) => x + y, 0);
      share["other (JavaScript, other processes)"] = Math.max(0, m.last_ms - known);
      for (const [kind, ms] of Object.entries(share)) {
        waited[kind] = (waited[kind] ?? 0) + ms;
        share[kind] = r2(ms);
      }
      m.waited_ms = share;
    }
    const total = slow.reduce((x, m) => x + m.last_ms, 0);
    const causes = Object.fromEntries(
      Object.entries(waited)
        .sort((x, y) => y[1] - x[1])
        .map(([kind, ms]) => [kind, `${Math.round((ms / total) * 100)}%`]),
    );
    const byKind = {};
    for (const e of events) {
      byKind[e.kind] ??= [];
      byKind[e.kind].push(e.ms);
    }
    const costs = Object.fromEntries(
      Object.entries(byKind).map(([kind, v]) => [
        kind,
        {
          per_s: r2(v.length / SECONDS),
          p50_ms: r2(quantile(v, 0.5)),
          p99_ms: r2(quantile(v, 0.99)),
          max_ms: r2(Math.max(...v)),
          busy_ms_per_s: r2(v.reduce((s, x) => s + x, 0) / SECONDS),
        },
      ]),
    );
    const row = {
      rate,
      run: k + 1,
      p50: r.send_to_recipient_ms.p50,
      p99: r.send_to_recipient_ms.p99,
      slow_messages: n,
      /** Of the slow messages' total latency, the share spent waiting for each kind of event. */
      waited_share: causes,
      event_costs: costs,
      slowest: slow.slice(0, 10),
      server_cpu_pct: r.server_cpu_pct,
      others_cpu_pct: r.others_cpu_pct,
    };
    results.push(row);
    log(
      `${rate} msg/s run ${k + 1}: p50 ${row.p50} p99 ${row.p99} ms; the slowest ${n} waited for: ${JSON.stringify(row.waited_share)}`,
    );
    for (const [kind, c] of Object.entries(costs)) log(`   ${kind}: ${JSON.stringify(c)}`);
  }
}
d.stop();
await server.close();
mkdirSync(join(ROOT, "bench/results"), { recursive: true });
const file = join(ROOT, "bench/results", `tail-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
writeFileSync(file, `${JSON.stringify({ rates: RATES, seconds: SECONDS, runs: RUNS, results }, null, 2)}\n`);
log(`written: ${file}`);
process.exit(0);
