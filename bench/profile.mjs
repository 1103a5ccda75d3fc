/**
 * CPU profile of the Worker and its Durable Objects in the steady state of one suite scenario.
 * Boots the Worker with an inspector (wrangler's startWorker), sets the scenario up with the
 * suite's own setup (bench/scenarios) but with accounts signed up through the API (their PBKDF2
 * makes setup take a few seconds), runs 3 s of unmeasured load,
 * then samples through the DevTools protocol during `--seconds` (default 6) of the same load and
 * prints the functions with the most samples, self and inclusive, and the run's latencies.
 *
 *   node bench/profile.mjs group-open|group-user|dm [--seconds N] [--heap]
 *     group-open  100 members viewing the group (user + channel socket), 10 senders, 50 msg/s
 *     group-user  the same members on their user sockets only
 *     dm          10 pairs, every device viewing its conversation, 100 msg/s in total
 *
 * Run `npm run db:migrate:local` once first: it uses the local D1 state. Figures are sample
 * counts (one per 100 µs of JS or runtime work in the isolate), not the samples' time deltas:
 * the deltas charge the time the thread waited to the first function that runs after it.
 * The full profile goes to bench/results/profile-<scenario>.cpuprofile (Chrome DevTools opens it).
 * `--heap` samples allocations instead (every object, whether a later collection freed it or
 * not) and prints the heap's size before and after a full collection.
 */
import { writeFileSync } from "node:fs";
import { unstable_startWorker } from "wrangler";
import { quietLocalObservability, ROOT } from "../scripts/boot-worker.mjs";
import { BENCH_PASSWORD } from "./lib/seed.mjs";
import { makeApi, pool, socketStats } from "./lib/sockets.mjs";
import * as dm from "./scenarios/dm.mjs";
import * as group from "./scenarios/group.mjs";

const scenario = process.argv[2] ?? "group-open";
const secondsArg = process.argv.indexOf("--seconds");
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 6;
const HEAP = process.argv.includes("--heap");
if (!["group-open", "group-user", "dm"].includes(scenario)) {
  console.error("usage: node bench/profile.mjs group-open|group-user|dm [--seconds N] [--heap]");
  process.exit(2);
}
const SAMPLE_US = 100;

process.env.AUTH_SECRET ??= "profile-secret-0123456789";
quietLocalObservability();
const inspectorPort = 9300 + Math.floor(Math.random() * 500);
const worker = await unstable_startWorker({
  config: `${ROOT}/wrangler.toml`,
  dev: { server: { hostname: "127.0.0.1", port: 0 }, inspector: { port: inspectorPort } },
});
await worker.ready;
const base = (await worker.url).toString().replace(/\/$/, "");
const api = makeApi(base);
const cdp = await devtools(inspectorPort);

// ---------------------------------------------------------------------------------------------
// The suite's own scenario setup and runs, with accounts signed up through the API (the suite
// seeds them into the local D1, which wrangler's startWorker does not expose). The server's
// CPU is not read here: the profile is what this script is for.

const server = { base, stat: () => ({ rssKb: 0, cpuMs: 0 }) };
const stats = socketStats();
let run;
if (scenario === "dm") {
  const cfg = { pairs: 10, rate: 100, seconds: SECONDS };
  const d = await dm.setupProduct(server, cfg, stats, signedUpAccounts());
  run = async (tag, seconds) => {
    const r = await d.run(tag, { seconds });
    return { ...pick(r), to_last_recipient_ms: r.send_to_recipient_ms };
  };
} else {
  const cfg = { members: 100, senders: 10, rate: 50, seconds: SECONDS };
  const g = await group.setupProduct(server, cfg, stats, signedUpAccounts());
  if (scenario === "group-open") await g.view(true);
  run = async (tag, seconds) => {
    const r = await group.runGroup(server, g, { ...cfg, seconds }, tag);
    return { ...pick(r), to_last_recipient_ms: r.fanout_to_last_ms };
  };
}

/** What the profile prints of a run. */
function pick(r) {
  return { sent: r.sent, lost: r.lost, duplicates: r.duplicates, send_to_ack_ms: r.send_to_ack_ms };
}

/** Accounts for the scenarios (bench/lib/seed.mjs `seededAccounts`), signed up for real. */
function signedUpAccounts() {
  let n = 0;
  const device = (r) => ({ deviceId: r.device_id, token: r.access_token });
  return {
    users: (count) =>
      pool(Array.from({ length: count }), 4, async () => {
        const handle = `prof_${process.pid}_${++n}`;
        // Each from an address of its own: sign-ups are limited per address (LIMIT_SIGNUPS_PER_ADDRESS).
        const r = await api("POST", "/v1/auth/signup", {
          body: { handle, display_name: handle, password: BENCH_PASSWORD },
          headers: { "cf-connecting-ip": `profile-${handle}` },
        });
        return { id: r.user.id, handle, devices: [device(r)] };
      }),
    async addDevice(user) {
      const r = await api("POST", "/v1/auth/login", {
        body: { handle: user.handle, password: BENCH_PASSWORD },
        headers: { "cf-connecting-ip": `profile-${user.handle}` },
      });
      user.devices.push(device(r));
      return device(r);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Warm up, then sample the steady state.

await run("warm-up", 3);
if (HEAP) {
  await cdp.call("HeapProfiler.enable");
  await cdp.call("HeapProfiler.startSampling", {
    samplingInterval: 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  const result = await run("profiled", SECONDS);
  const { profile } = await cdp.call("HeapProfiler.stopSampling");
  const before = await cdp.call("Runtime.getHeapUsage");
  await cdp.call("HeapProfiler.collectGarbage");
  const after = await cdp.call("Runtime.getHeapUsage");
  const mb = (n) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  console.log(
    `heap used ${mb(before.usedSize)} of ${mb(before.totalSize)} (embedder ${mb(before.embedderHeapUsedSize ?? 0)}); after a full collection ${mb(after.usedSize)} (embedder ${mb(after.embedderHeapUsedSize ?? 0)})`,
  );
  reportAllocations(profile, result.sent);
  console.log(JSON.stringify(result));
} else {
  await cdp.call("Profiler.enable");
  await cdp.call("Profiler.setSamplingInterval", { interval: SAMPLE_US });
  await cdp.call("Profiler.start");
  const result = await run("profiled", SECONDS);
  const { profile } = await cdp.call("Profiler.stop");
  writeFileSync(`${ROOT}/bench/results/profile-${scenario}.cpuprofile`, JSON.stringify(profile));
  report(profile);
  console.log(JSON.stringify(result));
}
cdp.close();
await worker.dispose();

/** Bytes allocated during the run (sampled), by the innermost three functions of each site. */
function reportAllocations(p, messages) {
  const bySite = new Map();
  let total = 0;
  const walk = (node, path) => {
    const here = [
      ...path,
      `${node.callFrame.functionName || "(anonymous)"}:${node.callFrame.lineNumber + 1}`,
    ];
    if (node.selfSize) {
      const site = here.slice(-3).join(" > ");
      bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
      total += node.selfSize;
    }
    for (const c of node.children ?? []) walk(c, here);
  };
  walk(p.head, []);
  console.log(
    `allocated ${(total / 2 ** 20).toFixed(1)} MiB, ${Math.round(total / messages)} bytes per message:`,
  );
  for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 20))
    console.log(`  ${((bytes / total) * 100).toFixed(1).padStart(5)}%  ${site}`);
}

/** Top functions by samples, self and inclusive (each function once per stack). */
function report(p) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (id) => {
    const f = byId.get(id).callFrame;
    return `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}:${f.lineNumber + 1}`;
  };
  const self = new Map();
  const inclusive = new Map();
  let busy = 0;
  for (const id of p.samples) {
    if (byId.get(id).callFrame.functionName === "(idle)") continue;
    busy++;
    self.set(name(id), (self.get(name(id)) ?? 0) + 1);
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const k = name(at);
      if (!seen.has(k)) inclusive.set(k, (inclusive.get(k) ?? 0) + 1);
      seen.add(k);
    }
  }
  const pct = (n) => `${((n / busy) * 100).toFixed(1).padStart(5)}%`;
  console.log(`${p.samples.length} samples, ${busy} busy; shares of the busy samples:`);
  console.log("self:");
  for (const [k, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${pct(n)}  ${k}`);
  console.log("inclusive:");
  for (const [k, n] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(1, 31))
    console.log(`  ${pct(n)}  ${k}`);
}

/** A DevTools protocol session with the Worker's isolate. */
async function devtools(port) {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const target = targets.find((t) => t.title?.includes("edge-chat")) ?? targets[0];
  // The inspector proxy only admits DevTools origins or localhost.
  const ws = new WebSocket(target.webSocketDebuggerUrl, { headers: { origin: "http://127.0.0.1" } });
  await new Promise((r) => ws.addEventListener("open", r, { once: true }));
  let nextId = 1;
  const pending = new Map();
  ws.addEventListener("message", (e) => {
    const m = JSON.parse(e.data);
    if (m.id && pending.has(m.id)) {
      pending.get(m.id)(m.result);
      pending.delete(m.id);
    }
  });
  return {
    call: (method, params = {}) =>
      new Promise((resolve) => {
        const id = nextId++;
        pending.set(id, resolve);
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}
