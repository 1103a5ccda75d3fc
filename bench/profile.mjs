/**
 * CPU profile of the Worker and its Durable Objects under one messaging scenario: boots the
 * Worker with an inspector, samples through the DevTools protocol while the load runs, and
 * prints the functions with the most self time. It uses the local D1 state, so run
 * `npm run db:migrate:local` once first. Run: node bench/profile.mjs [group-user|group-open|dm]
 * Setup (sign-ups at 100,000 PBKDF2 iterations each) shows in the profile too: read it for the
 * steady-state functions.
 */
import { writeFileSync } from "node:fs";
import { unstable_startWorker } from "wrangler";
import { quietLocalObservability, ROOT } from "../scripts/boot-worker.mjs";
import { makeApi } from "./lib/chat-client.mjs";
import { dm, group, SETTINGS } from "./messaging-latency.mjs";

const scenario = process.argv[2] ?? "group-user";
process.env.AUTH_SECRET ??= "profile-secret-0123456789";
quietLocalObservability();
const inspectorPort = 9300 + Math.floor(Math.random() * 500);
const worker = await unstable_startWorker({
  config: `${ROOT}/wrangler.toml`,
  dev: { server: { hostname: "127.0.0.1", port: 0 }, inspector: { port: inspectorPort } },
});
await worker.ready;
const base = (await worker.url).toString().replace(/\/$/, "");
const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
const target = targets.find((t) => t.title?.includes("edge-chat")) ?? targets[0];
// The inspector proxy only admits DevTools origins or localhost.
const cdp = new WebSocket(target.webSocketDebuggerUrl, { headers: { origin: "http://127.0.0.1" } });
await new Promise((r) => cdp.addEventListener("open", r, { once: true }));
let nextId = 1;
const pending = new Map();
cdp.addEventListener("message", (e) => {
  const m = JSON.parse(e.data);
  if (m.id && pending.has(m.id)) {
    pending.get(m.id)(m.result);
    pending.delete(m.id);
  }
});
const call = (method, params = {}) =>
  new Promise((resolve) => {
    const id = nextId++;
    pending.set(id, resolve);
    cdp.send(JSON.stringify({ id, method, params }));
  });

const client = makeApi(base);
SETTINGS.seconds = 4;
await call("Profiler.enable");
await call("Profiler.setSamplingInterval", { interval: 200 });
let result;
await call("Profiler.start");
try {
  result = scenario === "dm" ? await dm(client) : await group(client, scenario === "group-open");
} finally {
  const { profile } = await call("Profiler.stop");
  writeFileSync(`${ROOT}/bench/results/profile-${scenario}.cpuprofile`, JSON.stringify(profile));
  const self = new Map();
  const total = profile.samples.length;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const id of profile.samples) {
    const n = byId.get(id);
    const f = n.callFrame;
    const key = `${f.functionName || "(anon)"} ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 30);
  for (const [k, v] of top) console.log(`${((v / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
  console.log(JSON.stringify(result?.fanout_to_last_member_ms ?? result?.send_to_ack_ms));
  cdp.close();
  await worker.dispose();
}
