/**
 * group: one group of `members` members, `senders` of whom post in turn at `rate` messages/s
 * from a second device that holds its user socket and the group's channel socket. Every
 * member's first device is a receiver, the senders' included (their other device gets the
 * message too). Every product device sends what the product's clients send besides messages
 * (bench/lib/client-model.mjs): resume, delivered, read while viewing, typing before a send;
 * `g.markers(false)` turns that off for the earlier, marker-free figures.
 *   product, viewing: each receiver holds its user socket and the group's channel socket;
 *   product, user:    each receiver holds only its user socket;
 *   floor:            one room with a socket per receiver and per sender; messages only.
 * Figures: send → the last of the receivers (fan-out) p50/p95/p99/max, deliveries/s, lost,
 * duplicates. The saturation scenario drives the same setups.
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
import { befriendAll, createGroup, seededAccounts } from "../lib/seed.mjs";
import { closeAll, connectFloor, connectProduct, makeApi, pool, sleep } from "../lib/sockets.mjs";
import { summarize, Tracker } from "../lib/tracker.mjs";

export async function setupProduct(server, cfg, stats, accounts = seededAccounts(server)) {
  const api = makeApi(server.base);
  const users = await accounts.users(cfg.members, { prefix: "gr" });
  const [owner, ...others] = users;
  await befriendAll(
    api,
    others.map((m) => [owner, m]),
  );
  const channelId = await createGroup(api, owner, others);
  const sendDevices = [];
  for (let s = 0; s < cfg.senders; s++) sendDevices.push(await accounts.addDevice(users[s]));
  const ref = { tracker: null };
  const counts = deliveryCounts();
  // Every device runs the product's client logic (bench/lib/client-model.mjs): receivers read
  // and acknowledge what arrives, senders also type before each message.
  const receiverModels = users.map((u) => new DeviceModel({ userId: u.id, channelId }));
  const senderModels = sendDevices.map(
    (_d, s) => new DeviceModel({ userId: users[s].id, channelId, viewing: true, typing: true }),
  );
  const userSockets = await pool(users, 16, async (u, i) => {
    const socket = await connectProduct(
      api,
      u.devices[0],
      undefined,
      productHandler(ref, { receiver: i, sender: -1 }, "user", counts, receiverModels[i]),
      stats,
    );
    receiverModels[i].attach({ user: socket });
    return socket;
  });
  const senderUserSockets = [];
  const senders = await pool(sendDevices, 16, async (d, s) => {
    const handler = productHandler(ref, { receiver: -1, sender: s }, "channel", counts, senderModels[s]);
    const user = await connectProduct(api, d, undefined, handler, stats);
    const channel = await connectProduct(api, d, channelId, handler, stats);
    senderUserSockets.push(user);
    senderModels[s].attach({ user, channel });
    return channel;
  });
  let viewing = [];
  const models = [...receiverModels, ...senderModels];
  const g = {
    members: cfg.members,
    channelId,
    ref,
    counts,
    senders,
    acks: true,
    receivers: users.length,
    /** Before and after sender `s` sends: typing, as the product's clients do. */
    beforeSend: (s) => senderModels[s].beforeSend(),
    afterSend: (s) => senderModels[s].afterSend(),
    /** Markers as real clients send them (true), or none: the earlier, marker-free client. */
    markers(on) {
      for (const m of models) m.markers = on;
    },
    /** Opens (true) or closes (false) every receiver's channel socket. */
    async view(on) {
      if (!on) {
        for (const m of receiverModels) m.setViewing(false);
        await closeAll(viewing);
        viewing = [];
        // Let the channel see the sockets go before the next run counts anything.
        await sleep(1_000);
        return;
      }
      if (viewing.length) return;
      viewing = await pool(users, 16, async (u, i) => {
        const socket = await connectProduct(
          api,
          u.devices[0],
          channelId,
          productHandler(ref, { receiver: i, sender: -1 }, "channel", counts, receiverModels[i]),
          stats,
        );
        receiverModels[i].setViewing(true, socket);
        return socket;
      });
      await sleep(300);
    },
    sockets: () => [...userSockets, ...senderUserSockets, ...senders, ...viewing],
    stop() {
      for (const m of models) m.stop();
    },
  };
  return g;
}

export async function setupFloor(server, cfg, stats) {
  const ref = { tracker: null };
  const counts = deliveryCounts();
  const room = `group-${Math.random().toString(36).slice(2, 8)}`;
  const receivers = await pool(
    Array.from({ length: cfg.members }, (_, i) => i),
    16,
    (i) => connectFloor(server.base, room, floorHandler(ref, { receiver: i, sender: -1 }), stats),
  );
  const senders = await pool(
    Array.from({ length: cfg.senders }, (_, s) => s),
    16,
    (s) => connectFloor(server.base, room, floorHandler(ref, { receiver: -1, sender: s }), stats),
  );
  return {
    members: cfg.members,
    ref,
    counts,
    senders,
    acks: true,
    receivers: cfg.members,
    beforeSend() {},
    afterSend() {},
    markers() {},
    async view() {},
    sockets: () => [...receivers, ...senders],
    stop() {},
  };
}

/** One measured run at a fixed rate on a set-up group (product or floor). */
export async function runGroup(server, g, cfg, tag) {
  const capacity = Math.round(cfg.rate * cfg.seconds) + 1;
  const t = new Tracker(tag, capacity, g.receivers);
  const before = { ...g.counts };
  g.ref.tracker = t;
  const cpu = cpuMeter(server);
  const t0 = performance.now();
  await paced({
    rate: cfg.rate,
    seconds: cfg.seconds,
    send: (i) => {
      const s = i % g.senders.length;
      g.beforeSend(s);
      g.senders[s].send(sendFrame(t.markSent(i, g.receivers, s)));
      g.afterSend(s);
    },
  });
  const load = cpu();
  const drainMs = await drain(t, g.acks);
  const span = Math.max(...t.lastAt.subarray(0, t.sent).filter(Number.isFinite)) - t0;
  g.ref.tracker = null;
  return {
    ...t.outcome(g.acks),
    drain_ms: drainMs,
    deliveries_per_s: Math.round((t.deliveries / span) * 1000),
    fanout_to_last_ms: summarize(t.lastLatencies()),
    send_to_ack_ms: summarize(t.ackLatencies()),
    slowest_messages: t.slowest(cfg.slowest ?? 5),
    delivered_on: {
      channel_socket: g.counts.channel - before.channel,
      user_socket: g.counts.user - before.user,
      gap_pages: g.counts.pages - before.pages,
    },
    ...load,
  };
}
