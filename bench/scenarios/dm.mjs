/**
 * dm: `pairs` 1:1 conversations, every device viewing its conversation, `rate` messages/s in
 * total: each device sends in turn on its channel socket, the message goes to its partner.
 *   product: each device holds its user socket and the conversation's channel socket, as a
 *            client with the conversation on screen does, and sends what such a client sends
 *            besides messages (bench/lib/client-model.mjs: resume, delivered, read, typing);
 *   floor:   a 2-socket room per pair, messages only; the sender's own copy stands in for the ack.
 * Figures: send→ack and send→recipient p50/p95/p99/max, lost, duplicates.
 */

import { DeviceModel } from "../lib/client-model.mjs";
import {
  cpuMeter,
  deliveryCounts,
  drain,
  floorHandler,
  paced,
  productHandler,
  sendFrame,
} from "../lib/load.mjs";
import { befriendAll, checkSeeded, openDm, seededAccounts } from "../lib/seed.mjs";
import { connectFloor, connectProduct, makeApi, pool } from "../lib/sockets.mjs";
import { summarize, Tracker } from "../lib/tracker.mjs";

/** Sets up the pairs on the product; returns `run(tag)`. */
export async function setupProduct(server, cfg, stats, accounts = seededAccounts(server)) {
  const api = makeApi(server.base);
  const users = await accounts.users(cfg.pairs * 2, { prefix: "dm" });
  const seedLoginMs = await checkSeeded(api, users[0]);
  const pairs = Array.from({ length: cfg.pairs }, (_, p) => [users[2 * p], users[2 * p + 1]]);
  await befriendAll(api, pairs);
  const channels = await pool(pairs, 8, ([a, b]) => openDm(api, a, b));
  const ref = { tracker: null };
  const counts = deliveryCounts();
  const sockets = [];
  // Each device runs the product's client logic (bench/lib/client-model.mjs): the conversation
  // is on screen, so it reads and acknowledges what arrives, and types before it sends.
  const models = users.map(
    (u, i) => new DeviceModel({ userId: u.id, channelId: channels[i >> 1], viewing: true, typing: true }),
  );
  const senders = await pool(users, 16, async (u, i) => {
    const role = { receiver: i, sender: i };
    const device = u.devices[0];
    const user = await connectProduct(
      api,
      device,
      undefined,
      productHandler(ref, role, "user", counts, models[i]),
      stats,
    );
    const ch = await connectProduct(
      api,
      device,
      channels[i >> 1],
      productHandler(ref, role, "channel", counts, models[i]),
      stats,
    );
    models[i].attach({ user, channel: ch });
    sockets.push(user, ch);
    return ch;
  });
  const hooks = {
    beforeSend: (s) => models[s].beforeSend(),
    afterSend: (s) => models[s].afterSend(),
  };
  return {
    sockets,
    seedLoginMs,
    channels,
    /** Markers as real clients send them (true), or none: the earlier, marker-free client. */
    markers(on) {
      for (const m of models) m.markers = on;
    },
    stop() {
      for (const m of models) m.stop();
    },
    run: (tag, over = {}) => runDm(server, { ...cfg, ...over }, tag, ref, senders, true, counts, hooks),
  };
}

export async function setupFloor(server, cfg, stats) {
  const ref = { tracker: null };
  const counts = deliveryCounts();
  const senders = await pool(
    Array.from({ length: cfg.pairs * 2 }, (_, i) => i),
    16,
    (i) => connectFloor(server.base, `dm-${i >> 1}`, floorHandler(ref, { receiver: i, sender: i }), stats),
  );
  return {
    sockets: senders,
    markers() {},
    stop() {},
    run: (tag, over = {}) => runDm(server, { ...cfg, ...over }, tag, ref, senders, false, counts),
  };
}

async function runDm(server, cfg, tag, ref, senders, acks, counts, hooks = null) {
  const n = senders.length;
  const capacity = Math.round(cfg.rate * cfg.seconds) + 1;
  const t = new Tracker(tag, capacity, n);
  const before = { ...counts };
  ref.tracker = t;
  const cpu = cpuMeter(server);
  await paced({
    rate: cfg.rate,
    seconds: cfg.seconds,
    send: (i) => {
      const s = i % n;
      hooks?.beforeSend(s);
      senders[s].send(sendFrame(t.markSent(i, 1, s)));
      hooks?.afterSend(s);
    },
  });
  const load = cpu();
  const drainMs = await drain(t, acks);
  ref.tracker = null;
  return {
    ...t.outcome(acks),
    drain_ms: drainMs,
    send_to_ack_ms: summarize(t.ackLatencies()),
    send_to_recipient_ms: summarize(t.lastLatencies()),
    slowest_messages: t.slowest(cfg.slowest ?? 5),
    delivered_on: {
      channel_socket: counts.channel - before.channel,
      user_socket: counts.user - before.user,
      gap_pages: counts.pages - before.pages,
    },
    ...load,
  };
}
