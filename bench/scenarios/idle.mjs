/**
 * idle: `devices` connected devices, `devicesPerUser` per user, each holding its user socket
 * and heartbeating (`ping` every hello.heartbeat_ms, 5 s), nothing else, for `idleSeconds`.
 *   product: seeded users (seed.mjs); each device's user socket to its UserInbox;
 *   floor:   a room per user with as many sockets, `ping` answered by the runtime
 *            (setWebSocketAutoResponse), as the product's heartbeats are.
 * Figures, from /proc of the runtime's workerd process: memory per connected device (RSS after
 * the idle spell minus RSS before the first connection, over the devices), CPU over the idle
 * spell, and wake-ups over it (bench/presence.mjs's method: the UserInbox counters of
 * constructions, alarms and socket messages; a heartbeat must cause none).
 */
import { performance } from "node:perf_hooks";
import { issueTicket } from "../../domain/tokens.ts";
import { waitFor } from "../lib/load.mjs";
import { seedUsers } from "../lib/seed.mjs";
import { closeAll, connectFloor, openSocket, pool, sleep, socketStats } from "../lib/sockets.mjs";
import { summarize } from "../lib/tracker.mjs";

const CONNECT_CONCURRENCY = 32;

async function measure(server, cfg, connectAll, wakeups) {
  await sleep(cfg.settleMs);
  const base = server.stat();
  const stats = socketStats();
  const t0 = performance.now();
  const { sockets, times, failures } = await connectAll(stats);
  const connectMs = performance.now() - t0;
  await sleep(cfg.settleMs);
  const connected = server.stat();
  const w0 = await wakeups();
  const pings0 = stats.pings;
  const pongs0 = stats.pongs;
  const s0 = server.stat();
  const i0 = performance.now();
  await sleep(cfg.idleSeconds * 1000);
  const s1 = server.stat();
  const seconds = (performance.now() - i0) / 1000;
  const pings = stats.pings - pings0;
  const pongs = stats.pongs - pongs0;
  const tw = performance.now();
  const w1 = await wakeups();
  const wakeupsReadMs = performance.now() - tw;
  // Every heartbeat sent so far must be answered: give the last ones a moment.
  const sentByNow = stats.pings;
  const answered = await waitFor(() => stats.pongs >= sentByNow, 5_000, 50);
  const tc = performance.now();
  await closeAll(sockets);
  const closeMs = performance.now() - tc;
  const n = sockets.length;
  const wake = {};
  for (const k of Object.keys(w1)) wake[k] = w1[k] - w0[k];
  return {
    devices: n,
    devices_asked: cfg.devices,
    connect_ms: Math.round(connectMs),
    connects_per_s: Math.round((n / connectMs) * 1000),
    connect_each_ms: summarize(times),
    connect_failures: failures.length,
    connect_failure_samples: failures.slice(0, 3),
    rss_before_mb: Math.round(base.rssKb / 1024),
    rss_connected_mb: Math.round(connected.rssKb / 1024),
    rss_after_idle_mb: Math.round(s1.rssKb / 1024),
    memory_per_device_kb: Math.round(((s1.rssKb - base.rssKb) / n) * 10) / 10,
    idle_seconds: Math.round(seconds * 10) / 10,
    idle_cpu_ms: Math.round(s1.cpuMs - s0.cpuMs),
    idle_cpu_pct: Math.round(((s1.cpuMs - s0.cpuMs) / (seconds * 1000)) * 1000) / 10,
    idle_cpu_ms_per_s_per_1000_devices:
      Math.round(((s1.cpuMs - s0.cpuMs) / seconds / (n / 1000)) * 100) / 100,
    heartbeats_sent: pings,
    pongs_received: pongs,
    heartbeats_unanswered: answered ? 0 : sentByNow - stats.pongs,
    wakeups: wake,
    heartbeat_wakeups: wake.socketMessages,
    unexpected_closes: stats.unexpectedCloses,
    close_codes: stats.closeCodes,
    wakeups_read_ms: Math.round(wakeupsReadMs),
    close_ms: Math.round(closeMs),
  };
}

/**
 * The user socket of a seeded device, with a ticket minted here as POST /v1/connect would
 * (issueTicket, the server's AUTH_SECRET): on this machine the call costs ~10 ms of the
 * runtime's CPU, a third of a connection, and thousands of them would not fit the suite's
 * time. The upgrade itself goes the whole way: the Worker verifies the ticket, the user object
 * refuses it if it was used before.
 */
async function connectMinted(server, device, stats) {
  const { ticket } = await issueTicket(server.authSecret, device.userId, device.deviceId, "user");
  const url = `${server.base.replace(/^http/, "ws")}/v1/ws/user?ticket=${encodeURIComponent(ticket)}`;
  return openSocket(url, () => {}, stats, "user socket");
}

/**
 * Connects every item with `connect`, timing each; an attempt that fails (or gets no hello
 * within the socket's timeout) is retried once and counted.
 */
async function connectTimed(items, connect, stats, budgetMs) {
  const times = [];
  const failures = [];
  const deadline = performance.now() + budgetMs;
  const all = await pool(items, CONNECT_CONCURRENCY, async (item) => {
    // On a starved machine connecting can take far longer than the suite has: stop at the
    // budget and measure the devices connected by then (the report says how many).
    if (performance.now() > deadline) return null;
    for (let attempt = 0; ; attempt++) {
      const t0 = performance.now();
      try {
        const s = await connect(item, stats);
        times.push(performance.now() - t0);
        return s;
      } catch (err) {
        failures.push(String(err.message ?? err).slice(0, 200));
        if (attempt >= 1) throw err;
      }
    }
  });
  return { sockets: all.filter(Boolean), times, failures };
}

export async function idleProduct(server, cfg) {
  const t0 = performance.now();
  const users = await seedUsers(server, Math.ceil(cfg.devices / cfg.devicesPerUser), {
    prefix: "idle",
    devicesPerUser: cfg.devicesPerUser,
  });
  const devices = users.flatMap((u) => u.devices).slice(0, cfg.devices);
  // Wake-up counters are per isolate; reading them wakes one object that is not measured.
  const probe = server.env.USER_INBOX.getByName(`bench-probe-${process.pid}`);
  const seedMs = performance.now() - t0;
  const r = await measure(
    server,
    cfg,
    (stats) => connectTimed(devices, (d, st) => connectMinted(server, d, st), stats, cfg.connectBudgetMs),
    () => probe.wakeups(),
  );
  return { ...r, seed_ms: Math.round(seedMs) };
}

export async function idleFloor(server, cfg) {
  const ids = Array.from({ length: cfg.devices }, (_, i) => i);
  return measure(
    server,
    cfg,
    (stats) =>
      connectTimed(
        ids,
        (i, st) => connectFloor(server.base, `idle-${Math.floor(i / cfg.devicesPerUser)}`, () => {}, st),
        stats,
        cfg.connectBudgetMs,
      ),
    () => server.wakeups(),
  );
}
