/**
 * CPU profile of the Worker and its Durable Objects in the steady state of one suite scenario.
 * Boots the Worker with an inspector (wrangler's startWorker), sets the scenario up through the
 * API (sign-ups cost their PBKDF2, so setup takes a few seconds), runs 3 s of unmeasured load,
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
import { deliveryCounts, drain, paced, productHandler, sendFrame } from "./lib/load.mjs";
import { befriendAll, createGroup, openDm } from "./lib/seed.mjs";
import { connectProduct, makeApi, pool, sleep, socketStats } from "./lib/sockets.mjs";
import { summarize, Tracker } from "./lib/tracker.mjs";

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
const api = makeApi((await worker.url).toString().replace(/\/$/, ""));
const cdp = await devtools(inspectorPort);

// ---------------------------------------------------------------------------------------------
// The scenario, set up through the API.

let accounts = 0;
async function signup() {
  const handle = `prof_${process.pid}_${++accounts}`;
  const r = await api("POST", "/v1/auth/signup", {
    body: { handle, display_name: handle, password: "bench password 1" },
  });
  return { id: r.user.id, handle, devices: [{ deviceId: r.device_id, token: r.access_token }] };
}
async function login(user) {
  const r = await api("POST", "/v1/auth/login", {
    body: { handle: user.handle, password: "bench password 1" },
    headers: { "cf-connecting-ip": `profile-${user.handle}` },
  });
  return { deviceId: r.device_id, token: r.access_token };
}

const stats = socketStats();
const ref = { tracker: null };
const counts = deliveryCounts();
/** Receivers tracked, the senders' sockets, who sends message i and how many should get it. */
let receivers;
let senders;
let rate;
let senderOf;
let expected;

if (scenario === "dm") {
  rate = 100;
  const users = await pool(Array.from({ length: 20 }), 4, () => signup());
  const pairs = Array.from({ length: 10 }, (_, p) => [users[2 * p], users[2 * p + 1]]);
  await befriendAll(api, pairs);
  const channels = await pool(pairs, 4, ([a, b]) => openDm(api, a, b));
  receivers = users.length;
  senders = await pool(users, 8, async (u, i) => {
    const role = { receiver: i, sender: i };
    await connectProduct(api, u.devices[0], undefined, productHandler(ref, role, "user", counts), stats);
    return connectProduct(
      api,
      u.devices[0],
      channels[i >> 1],
      productHandler(ref, role, "channel", counts),
      stats,
    );
  });
  senderOf = (i) => i % receivers;
  expected = 1;
} else {
  rate = 50;
  const users = await pool(Array.from({ length: 100 }), 4, () => signup());
  const [owner, ...others] = users;
  await befriendAll(
    api,
    others.map((m) => [owner, m]),
  );
  const channelId = await createGroup(api, owner, others);
  receivers = users.length;
  await pool(users, 16, (u, i) =>
    connectProduct(
      api,
      u.devices[0],
      undefined,
      productHandler(ref, { receiver: i, sender: -1 }, "user", counts),
      stats,
    ),
  );
  if (scenario === "group-open") {
    await pool(users, 16, (u, i) =>
      connectProduct(
        api,
        u.devices[0],
        channelId,
        productHandler(ref, { receiver: i, sender: -1 }, "channel", counts),
        stats,
      ),
    );
  }
  const devices = [];
  for (let s = 0; s < 10; s++) devices.push(await login(users[s]));
  senders = await pool(devices, 8, (d, s) =>
    connectProduct(
      api,
      d,
      channelId,
      productHandler(ref, { receiver: -1, sender: s }, "channel", counts),
      stats,
    ),
  );
  senderOf = (i) => i % senders.length;
  expected = receivers;
}
await sleep(500);

async function run(tag, seconds) {
  const t = new Tracker(tag, Math.round(rate * seconds) + 1, receivers);
  ref.tracker = t;
  await paced({
    rate,
    seconds,
    send: (i) => {
      const s = senderOf(i);
      senders[s].send(sendFrame(t.markSent(i, expected, s)));
    },
  });
  await drain(t, true);
  ref.tracker = null;
  const { sent, lost, duplicates } = t.outcome(true);
  return {
    sent,
    lost,
    duplicates,
    send_to_ack_ms: summarize(t.ackLatencies()),
    to_last_recipient_ms: summarize(t.lastLatencies()),
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
