/**
 * Rough, local latency of the message path (issue #3's "Measure"; the full benchmark with a
 * floor is its own issue). Boots the real Worker in workerd on 127.0.0.1 and drives real
 * sockets from Node:
 *   dm         one pair, 100 msg/s: send→ack, and send→recipient on its channel socket
 *              (conversation open) and on its user socket;
 *   group-open 100 members all viewing the group, 50 msg/s: send → the last member;
 *   group-user 100 members on their user socket only, 50 msg/s: send → the last member.
 * Run: npm run bench:latency [-- --seconds 10]. Prints a table, writes bench/results/.
 */
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import { bootWorker, ROOT } from "../scripts/boot-worker.mjs";
import { makeApi, sleep, summarize } from "./lib/chat-client.mjs";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SECONDS = arg("seconds", 10);
const TEXT = "x".repeat(100);

/** Sends `count` messages at `rate`/s on `ws`; returns send times by client_msg_id. */
async function drive(ws, count, rate, prefix) {
  const sentAt = new Map();
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const id = `${prefix}-${i}`;
    sentAt.set(id, performance.now());
    ws.send(JSON.stringify({ v: 1, type: "send", client_msg_id: id, text: TEXT }));
  }
  return sentAt;
}

export const SETTINGS = { seconds: SECONDS };

async function dm(client) {
  const [a, b] = [await client.signup("a"), await client.signup("b")];
  await client.befriend(a, b);
  const { channel_id } = await client.api("POST", "/v1/channels/dm", {
    token: a.token,
    body: { user_id: b.id },
  });
  const acks = new Map();
  const onChan = new Map();
  const onUser = new Map();
  const aWs = await client.connect(
    a,
    channel_id,
    (f, at) => f.type === "ack" && acks.set(f.client_msg_id, at),
  );
  const bChan = await client.connect(
    b,
    channel_id,
    (f, at) => f.type === "message" && onChan.set(f.message.client_msg_id, at),
  );
  // B's phone has the conversation open; B's laptop holds only its user socket.
  const bLaptop = await client.login(b);
  const bUser = await client.connect(
    bLaptop,
    undefined,
    (f, at) => f.type === "message" && onUser.set(f.message.client_msg_id, at),
  );
  const count = 100 * SETTINGS.seconds;
  const sentAt = await drive(aWs, count, 100, "dm");
  await waitFor(() => acks.size === count && onChan.size === count && onUser.size === count, 10_000);
  for (const ws of [aWs, bChan, bUser]) ws.close();
  const lat = (m) => [...sentAt].filter(([id]) => m.has(id)).map(([id, t]) => m.get(id) - t);
  return {
    sent: count,
    // Not yet arrived when the run stopped waiting (10 s): late or lost; 0 means every one arrived.
    missing: {
      ack: count - acks.size,
      channel_socket: count - onChan.size,
      user_socket: count - onUser.size,
    },
    send_to_ack_ms: summarize(lat(acks)),
    send_to_recipient_channel_socket_ms: summarize(lat(onChan)),
    send_to_recipient_other_device_user_socket_ms: summarize(lat(onUser)),
  };
}

async function group(client, viewing) {
  const owner = await client.signup("own");
  const members = [];
  for (let i = 0; i < 99; i += 10) {
    members.push(
      ...(await Promise.all(Array.from({ length: Math.min(10, 99 - i) }, () => client.signup("m")))),
    );
  }
  for (const m of members) await client.befriend(owner, m);
  const g = await client.api("POST", "/v1/groups", {
    token: owner.token,
    body: { name: "bench", member_ids: members.map((m) => m.id) },
  });
  const received = new Map(); // client_msg_id → arrival times
  const onFrame = (f, at) => {
    if (f.type !== "message") return;
    const list = received.get(f.message.client_msg_id) ?? [];
    list.push(at);
    received.set(f.message.client_msg_id, list);
  };
  const sockets = await Promise.all(
    members.map((m) => client.connect(m, viewing ? g.channel_id : undefined, onFrame)),
  );
  const sender = await client.connect(owner, g.channel_id, () => {});
  const count = 50 * SETTINGS.seconds;
  const sentAt = await drive(sender, count, 50, "g");
  await waitFor(() => [...sentAt.keys()].every((id) => (received.get(id)?.length ?? 0) >= 99), 15_000);
  for (const ws of [...sockets, sender]) ws.close();
  const fanout = [];
  let deliveries = 0;
  for (const [id, t] of sentAt) {
    const arr = received.get(id) ?? [];
    deliveries += arr.length;
    if (arr.length >= 99) fanout.push(Math.max(...arr) - t);
  }
  return {
    members: 100,
    viewing,
    sent: count,
    deliveries,
    // Deliveries not yet arrived when the run stopped waiting (15 s).
    missing: count * 99 - deliveries,
    fanout_to_last_member_ms: summarize(fanout),
  };
}

async function waitFor(check, ms) {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

export { dm, group };

if (import.meta.url === `file://${process.argv[1]}`) {
  const WINDOW = process.argv.includes("--window") ? String(arg("window", 100)) : undefined;
  const server = await bootWorker(WINDOW ? { vars: { FANOUT_WINDOW_MS: WINDOW } } : {});
  const client = makeApi(server.url);
  const results = {
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model },
    seconds: SECONDS,
    path: "createTestHarness (workerd direct, no wrangler dev proxy)",
  };
  try {
    results.dm = await dm(client);
    results.group_open = await group(client, true);
    results.group_user_socket = await group(client, false);
  } finally {
    await server.close();
  }
  const file = `${ROOT}/bench/results/messaging-latency-${results.at.replace(/[:.]/g, "-")}.json`;
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  const row = (name, s) => `| ${name} | ${s.p50} | ${s.p95} | ${s.p99} | ${s.max} |`;
  console.log(
    [
      "| figure (ms) | p50 | p95 | p99 | max |",
      "|---|---|---|---|---|",
      row("1:1 send→ack @100/s", results.dm.send_to_ack_ms),
      row("1:1 send→recipient, channel socket", results.dm.send_to_recipient_channel_socket_ms),
      row(
        "1:1 send→recipient's other device, user socket",
        results.dm.send_to_recipient_other_device_user_socket_ms,
      ),
      row("100-member fan-out, viewing, 50/s", results.group_open.fanout_to_last_member_ms),
      row("100-member fan-out, user socket only, 50/s", results.group_user_socket.fanout_to_last_member_ms),
    ].join("\n"),
  );
  console.log(
    `missing when the run stopped waiting: dm ${JSON.stringify(results.dm.missing)}, group-open ${results.group_open.missing}, group-user ${results.group_user_socket.missing}`,
  );
  console.log(`written: ${file}`);
}
