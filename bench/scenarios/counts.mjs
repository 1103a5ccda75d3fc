/**
 * counts: what each unit of use costs in platform operations (issue #21), counted from the
 * runtime's own traces (bench/lib/platform-counts.mjs) on a product server of its own with
 * wrangler.toml's settings, and written to the results for `npm run capacity`
 * (scripts/capacity.mjs). Every device runs the product's client logic
 * (bench/lib/client-model.mjs: resume after hello, delivered, read while viewing, typing before
 * a send). Units, each counted alone, after the previous one's traffic has settled:
 *   connect       a device asks for a ticket, opens its user socket and resumes (nothing missed);
 *   dm_message    one 1:1 message, both devices viewing the conversation (user + channel socket);
 *   group_message one message in a `groupMembers`-member group: the sender viewing, every other
 *                 member on its user socket only (the group is not on their screens);
 *   offline_message one 1:1 message to a user with no device connected and one push
 *                 subscription (a local push receiver, scripts/push-receiver.mjs): queue, consumer,
 *                 Web Push request;
 *   resume        a device reconnects after `resumeMissed` messages and resumes from its cursor;
 *   user_hour     the group's members online and idle, heartbeating, for `idleSeconds`, scaled to
 *                 one device-hour (presence sweeps are what it costs).
 * Messages are spaced `gapMs` apart, longer than the folding windows (fan-out, receipts, batched
 * saves), so each is counted as a lone message, the case the capacity model needs (a person's
 * messages are seconds apart); bursts cost less per message.
 */
import { performance } from "node:perf_hooks";
import { startPushReceiver } from "../../scripts/push-receiver.mjs";
import { DeviceModel } from "../lib/client-model.mjs";
import { sendFrame, waitFor } from "../lib/load.mjs";
import { counted, per, withCollector } from "../lib/platform-counts.mjs";
import { befriendAll, createGroup, openDm, seedUsers } from "../lib/seed.mjs";
import { closeAll, connectProduct, makeApi, pool, sleep, socketStats } from "../lib/sockets.mjs";
import { frameType } from "../lib/tracker.mjs";

/** A device with its model and sockets; `frames` counts what arrived by type. */
function device(api, d, userId, channelId, stats, opened, { viewing = false, typing = false } = {}) {
  const model = new DeviceModel({ userId, channelId, viewing, typing });
  const frames = {};
  let onFrame = null;
  const handler = (text) => {
    const type = frameType(text);
    frames[type] = (frames[type] ?? 0) + 1;
    if (type === "message" || type === "ack") {
      const at = text.indexOf('"seq":');
      model.received(
        Number.parseInt(text.slice(at + 6, at + 20), 10),
        type === "ack" || text.includes(model.mine),
      );
    } else if (type === "messages") {
      const last = JSON.parse(text).messages.at(-1);
      if (last) model.received(last.seq, last.sender_id === userId);
    }
    onFrame?.(type, text);
  };
  const dev = {
    model,
    frames,
    user: null,
    channel: null,
    on(fn) {
      onFrame = fn;
    },
    async connectUser() {
      opened.count++;
      dev.user = await connectProduct(api, d, undefined, handler, stats);
      model.attach({ user: dev.user });
      return dev.user;
    },
    async connectChannel() {
      opened.count++;
      dev.channel = await connectProduct(api, d, channelId, handler, stats);
      model.attach({ channel: dev.channel });
      model.setViewing(true, dev.channel);
      return dev.channel;
    },
    send(id) {
      model.beforeSend();
      dev.channel.send(sendFrame(id));
      model.afterSend();
    },
    close() {
      model.stop();
      dev.user?.close();
      dev.channel?.close();
      dev.user = null;
      dev.channel = null;
    },
  };
  return dev;
}

/**
 * Runs the units twice, each time on a fresh server `boot(vars)` starts: first without the trace
 * collector, reading the runtime's CPU time from /proc around each unit (locally workerd
 * reports no CPU time in its traces, and the collector would add its own); then with it, for
 * the operation counts. Returns the counts per unit, each with the first pass's CPU.
 */
export async function counts({ boot, cfg, log = () => {} }) {
  const receiver = await startPushReceiver();
  try {
    const vars = { PUSH_LOCAL_RECEIVERS: receiver.origin };
    log("counts: CPU pass (no trace collector)");
    const cpuServer = await boot(vars);
    const cpu = await runUnits(cpuServer, cfg, receiver, cpuMeasure(cpuServer), log);
    log("counts: operations pass (trace collector on)");
    const server = await withCollector(() => boot(vars));
    const ops = await runUnits(server, cfg, receiver, traceMeasure(server.base), log, {
      lessBackground: true,
    });
    for (const [unit, c] of Object.entries(ops.units)) c.cpu_ms = cpu.units[unit]?.cpu_ms ?? null;
    return {
      method:
        "operations: workerd's streaming-tail traces of every invocation and storage call, stored by wrangler's local trace collector (X_LOCAL_OBSERVABILITY=true on that server only) and summed per unit (bench/lib/platform-counts.mjs); cpu_ms: the runtime process's CPU time (/proc) over the same unit on a server without the collector, local D1, Queues and R2 simulators included",
      settings: cfg,
      units: ops.units,
      windows: { ...ops.windows, cpu_pass: cpu.windows },
    };
  } finally {
    await receiver.close();
  }
}

/** Counting by traces: `counted` (bench/lib/platform-counts.mjs). */
function traceMeasure(base) {
  return (fn, opts) => counted(base, fn, opts);
}

/**
 * The runtime's CPU time (ms, /proc) over `fn` and the same settle time as the traces', less
 * the background of the sockets already open (their heartbeats, answered by the runtime): its
 * rate is read over the 2 s before, except for the unit that is that background (`idle`).
 */
function cpuMeasure(server) {
  return async (fn, { settleMs = 2500, idle = false } = {}) => {
    await sleep(200);
    const b0 = server.stat().cpuMs;
    const tb = performance.now();
    if (!idle) await sleep(2000);
    const rate = idle ? 0 : (server.stat().cpuMs - b0) / (performance.now() - tb);
    const t0 = performance.now();
    const c0 = server.stat().cpuMs;
    const extra = await fn();
    await sleep(settleMs);
    const used = server.stat().cpuMs - c0 - rate * (performance.now() - t0);
    return {
      tally: { cpu_ms: Math.max(0, used) },
      extra: { ...extra, background_cpu_ms_per_s: rate * 1000 },
    };
  };
}

async function runUnits(server, cfg, receiver, measure, log, { lessBackground = false } = {}) {
  /**
   * Each unit's window, with the device-hours of the sockets open during it: their own cost
   * (presence sweeps, mostly) is the user_hour unit's, taken out of the other units at the end.
   */
  const raw = {};
  const counted = async (name, fn, opts) => {
    const online = devices.filter((dv) => dv.user).length;
    const t0 = performance.now();
    const r = await measure(fn, opts);
    raw[name] = { tally: r.tally, deviceHours: (online * (performance.now() - t0)) / 3_600_000 };
    return r;
  };
  const unit = (name, divisor) => {
    raw[name].divisor = divisor;
    return per(raw[name].tally, divisor);
  };
  const opened = { count: 0 };
  const stats = socketStats();
  const api = makeApi(server.base);
  const devices = [];
  const units = {};
  const windows = {};
  try {
    const t0 = performance.now();
    // D1's size with its tables empty, to take from its size once the accounts are in.
    const size0 = (await server.env.DB.prepare("SELECT 1").run()).meta.size_after;
    const members = await seedUsers(server, cfg.groupMembers, { prefix: "cg" });
    const [a, b, c, d] = await seedUsers(server, 4, { prefix: "cd" });
    const [owner, ...others] = members;
    await befriendAll(api, [[a, b], [c, d], ...others.map((m) => [owner, m])]);
    const dmChannel = await openDm(api, a, b);
    const offChannel = await openDm(api, c, d);
    const groupChannel = await createGroup(api, owner, others);
    // d's only subscription points at the local receiver; d never connects.
    await api("PUT", "/v1/push/subscription", { token: d.devices[0].token, body: receiver.subscription });
    log(`counts: set up in ${Math.round(performance.now() - t0)} ms`);
    // D1's size over the accounts it holds: the users, credentials, devices, friendships,
    // memberships and subscription above (every account has 1 device, 1 friend or more and one
    // conversation or group), a lower bound for accounts with more friends and groups.
    const size = (await server.env.DB.prepare("SELECT 1").run()).meta.size_after;
    const accounts = cfg.groupMembers + 4;
    windows.setup = {
      accounts,
      d1_bytes_empty: size0,
      d1_bytes: size,
      d1_bytes_per_account: Math.round((size - size0) / accounts),
    };

    const probe = server.env.USER_INBOX.getByName(`counts-probe-${process.pid}`);
    const wakeups = () => probe.wakeups();

    // ---- connect: `connects` members open their user socket and resume.
    const memberDevs = members.map((m) => device(api, m.devices[0], m.id, groupChannel, stats, opened));
    devices.push(...memberDevs);
    const first = memberDevs.slice(1, 1 + cfg.connects);
    let w0 = await wakeups();
    await counted("connect", () => pool(first, 4, (dv) => dv.connectUser()));
    units.connect = unit("connect", first.length);
    windows.connect = { devices: first.length, inbox_wakeups: diff(await wakeups(), w0) };
    // The rest of the group, unmeasured; the owner also views the group.
    await pool(memberDevs.slice(1 + cfg.connects), 8, (dv) => dv.connectUser());
    await memberDevs[0].connectUser();
    await memberDevs[0].connectChannel();
    memberDevs[0].model.typing = true;

    // ---- dm_message: a and b both viewing their conversation, taking turns.
    const da = device(api, a.devices[0], a.id, dmChannel, stats, opened, { typing: true });
    const db = device(api, b.devices[0], b.id, dmChannel, stats, opened, { typing: true });
    devices.push(da, db);
    for (const dv of [da, db]) {
      await dv.connectUser();
      await dv.connectChannel();
    }
    await sleep(cfg.gapMs);
    const dm = await counted("dm_message", () => lone([da, db], cfg.messages, cfg.gapMs, "cdm"));
    units.dm_message = unit("dm_message", dm.extra.acked);
    windows.dm_message = dm.extra;
    log(`counts: dm_message ${JSON.stringify(units.dm_message)}`);

    // ---- group_message: the owner posts; every other member gets it on its user socket.
    await sleep(cfg.gapMs);
    w0 = await wakeups();
    const group = await counted("group_message", () => lone([memberDevs[0]], cfg.messages, cfg.gapMs, "cgr"));
    units.group_message = unit("group_message", group.extra.acked);
    windows.group_message = {
      ...group.extra,
      members: cfg.groupMembers,
      inbox_wakeups: diff(await wakeups(), w0),
    };
    log(`counts: group_message ${JSON.stringify(units.group_message)}`);

    // ---- offline_message: c posts to d, who has no device connected and one subscription.
    const dc = device(api, c.devices[0], c.id, offChannel, stats, opened, { typing: true });
    devices.push(dc);
    await dc.connectUser();
    await dc.connectChannel();
    await sleep(cfg.gapMs);
    const pushesBefore = receiver.pushes.length;
    const off = await counted(
      "offline_message",
      async () => {
        const r = await lone([dc], cfg.offlineMessages, cfg.pushGapMs, "cof");
        await waitFor(() => receiver.pushes.length - pushesBefore >= r.acked, 15_000, 50);
        return { ...r, pushes_received: receiver.pushes.length - pushesBefore };
      },
      { settleMs: 3000 },
    );
    units.offline_message = unit("offline_message", off.extra.acked);
    windows.offline_message = off.extra;
    log(`counts: offline_message ${JSON.stringify(units.offline_message)}`);

    // ---- user_hour: everyone connected stays idle; sweeps and nothing else.
    const online = devices.filter((dv) => dv.user).length;
    w0 = await wakeups();
    const idleStart = performance.now();
    const idle = await counted("user_hour", () => sleep(cfg.idleSeconds * 1000), {
      settleMs: 500,
      idle: true,
    });
    const idleSeconds = (performance.now() - idleStart) / 1000;
    units.user_hour = per(idle.tally, (online * idleSeconds) / 3600);
    windows.user_hour = {
      devices_online: online,
      seconds: Math.round(idleSeconds * 10) / 10,
      inbox_wakeups: diff(await wakeups(), w0),
      heartbeats_sent: stats.pings,
    };
    log(`counts: user_hour ${JSON.stringify(units.user_hour)}`);

    // ---- resume: b goes away, a posts `resumeMissed` messages, b reconnects and resumes.
    db.close();
    await sleep(500);
    await lone([da], cfg.resumeMissed, 0, "crs", { window: 50 });
    await sleep(cfg.gapMs);
    const resume = await counted("resume", async () => {
      let resumed = null;
      db.on((type, text) => {
        if (type === "resumed") resumed = JSON.parse(text);
      });
      await db.connectUser();
      await waitFor(() => resumed !== null, 30_000, 20);
      return { missed: cfg.resumeMissed, resumed_messages: resumed?.messages ?? null };
    });
    units.resume = unit("resume", 1);
    windows.resume = resume.extra;

    windows.sockets_opened = opened.count;
    if (lessBackground) {
      for (const [name, w] of Object.entries(raw)) {
        if (name === "user_hour") continue;
        units[name] = per(minus(w.tally, units.user_hour, w.deviceHours), w.divisor);
        windows[name] = {
          ...windows[name],
          background_device_hours: Math.round(w.deviceHours * 1000) / 1000,
        };
      }
    }
    log(`counts: connect ${JSON.stringify(units.connect)}`);
    log(`counts: resume ${JSON.stringify(units.resume)}`);
  } finally {
    for (const dv of devices) dv.close();
    await closeAll([]);
    await server.close();
  }
  return { units, windows };
}

/** `t` less `perHour` × `hours`, field by field (never below 0). */
function minus(t, perHour, hours) {
  const out = {};
  for (const [k, v] of Object.entries(t)) {
    if (typeof v === "number") out[k] = Math.max(0, v - (perHour[k] ?? 0) * hours);
    else out[k] = minus(v, perHour[k] ?? {}, hours);
  }
  return out;
}

function diff(after, before) {
  const out = {};
  for (const k of Object.keys(after)) out[k] = after[k] - (before[k] ?? 0);
  return out;
}

/**
 * `count` messages from `senders` in turn, each `gapMs` after the previous one's ack; returns
 * how many were acknowledged. `window`: with gapMs 0, at most this many unacknowledged.
 */
async function lone(senders, count, gapMs, tag, { window = 1 } = {}) {
  let acked = 0;
  for (const s of senders)
    s.on((type) => {
      if (type === "ack") acked++;
    });
  for (let i = 0; i < count; i++) {
    senders[i % senders.length].send(`${tag}-${i}-${Math.random().toString(36).slice(2, 8)}`);
    await waitFor(() => i + 1 - acked < window, 10_000, 5);
    if (gapMs > 0) await sleep(gapMs);
  }
  await waitFor(() => acked >= count, 10_000, 20);
  for (const s of senders) s.on(null);
  return { sent: count, acked };
}
