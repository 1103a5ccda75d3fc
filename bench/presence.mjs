/**
 * Presence costs against the real Worker (createTestHarness, 127.0.0.1):
 *   idle   a user with 3 devices heartbeating every 5 s, connected for --seconds (default 95):
 *          user-object wake-ups (constructions, sweep alarms, socket messages), scaled to a
 *          user-hour. Target: 0 caused by heartbeats; at most one sweep per 30 s (≤ 120/h).
 *   fanout a user with 100 friends, all connected: time from the user's socket opening to the
 *          last friend receiving its presence change (online), and again for offline.
 * Run: npm run bench:presence [-- --seconds 95]. Prints a table, writes bench/results/.
 */
import { writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { bootWorker, ROOT } from "../scripts/boot-worker.mjs";
import { makeApi, sleep, summarize } from "./lib/chat-client.mjs";

const i = process.argv.indexOf("--seconds");
const SECONDS = i > 0 ? Number(process.argv[i + 1]) : 95;

async function idle(client, server) {
  const user = await client.signup("idle");
  const devices = [user, await client.login(user), await client.login(user)];
  // The client heartbeats at the hello's interval: 5 s with the default 30 s timeout.
  const sockets = await Promise.all(devices.map((d) => client.connect(d, undefined, () => {})));
  const inbox = (await server.worker.getEnv()).USER_INBOX.getByName(user.id);
  const before = await inbox.wakeups();
  await sleep(SECONDS * 1000);
  const after = await inbox.wakeups();
  for (const ws of sockets) ws.close();
  const perHour = (n) => Math.round((n * 3600) / SECONDS);
  return {
    seconds: SECONDS,
    devices: 3,
    heartbeats_sent: Math.floor(SECONDS / 5) * 3,
    socket_messages: after.socketMessages - before.socketMessages,
    sweep_alarms: after.alarms - before.alarms,
    constructions: after.constructions - before.constructions,
    sweeps_per_user_hour: perHour(after.alarms - before.alarms),
    wakeups_per_user_hour: perHour(
      after.alarms -
        before.alarms +
        after.socketMessages -
        before.socketMessages +
        after.constructions -
        before.constructions,
    ),
  };
}

async function fanout(client) {
  const star = await client.signup("star");
  const friends = [];
  for (let k = 0; k < 100; k += 10)
    friends.push(...(await Promise.all(Array.from({ length: 10 }, () => client.signup("f")))));
  for (const f of friends) await client.befriend(star, f);
  const seen = { online: new Map(), offline: new Map() };
  await Promise.all(
    friends.map((f) =>
      client.connect(f, undefined, (frame, at) => {
        if (frame.type === "presence" && frame.user_id === star.id) seen[frame.status].set(f.id, at);
      }),
    ),
  );
  let t0 = 0;
  const ws = await client.connect(
    star,
    undefined,
    () => {},
    () => {
      t0 = performance.now();
    },
  );
  const t1 = performance.now();
  while (seen.online.size < 100 && performance.now() - t1 < 10_000) await sleep(5);
  // From the upgrade request: the user object publishes while it accepts the socket.
  const online = [...seen.online.values()].map((t) => t - t0);
  // Offline is decided by the sweep after the grace period; measured from that decision
  // would need server time, so report the spread between the first and the last friend.
  ws.close();
  const closedAt = performance.now();
  while (seen.offline.size < 100 && performance.now() - closedAt < 70_000) await sleep(20);
  const off = [...seen.offline.values()];
  return {
    friends: 100,
    connect_ms: Math.round((t1 - t0) * 100) / 100,
    online_to_last_friend_ms: summarize(online),
    offline_after_close_ms: summarize(off.map((t) => t - closedAt)),
    offline_spread_first_to_last_ms: Math.round((Math.max(...off) - Math.min(...off)) * 100) / 100,
  };
}

const server = await bootWorker();
const client = makeApi(server.url);
const results = { at: new Date().toISOString(), path: "createTestHarness (workerd direct)" };
try {
  results.idle = await idle(client, server);
  results.fanout = await fanout(client);
} finally {
  await server.close();
}
const file = `${ROOT}/bench/results/presence-${results.at.replace(/[:.]/g, "-")}.json`;
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
const { idle: d, fanout: f } = results;
console.log(`| figure | value |
|---|---|
| idle: heartbeats sent in ${d.seconds} s (3 devices) | ${d.heartbeats_sent} |
| idle: socket messages that woke the user object | ${d.socket_messages} |
| idle: sweep alarms / per user-hour | ${d.sweep_alarms} / ${d.sweeps_per_user_hour} |
| idle: constructions | ${d.constructions} |
| idle: all wake-ups per user-hour | ${d.wakeups_per_user_hour} |
| fan-out online → last of 100 friends (ms) | p50 ${f.online_to_last_friend_ms.p50}, max ${f.online_to_last_friend_ms.max} |
| offline after the last socket closed (ms) | p50 ${f.offline_after_close_ms.p50}, max ${f.offline_after_close_ms.max} |
| offline spread, first to last friend (ms) | ${f.offline_spread_first_to_last_ms} |`);
console.log(`written: ${file}`);
