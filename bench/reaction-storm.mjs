/**
 * A reaction storm against the real Worker (createTestHarness, 127.0.0.1; issue #19): a group
 * of 100 members, each viewing it on a channel socket; one message; then every member reacts to
 * it at once. Figures, per socket: the frames that carried the 100 reactions (a `message` or a
 * live `messages` page), the reactions each socket got (must be exactly 100, in seq order), and
 * the time from the first react sent to the last socket holding all 100. Without the fold each
 * socket would get 100 frames; with it, a few (docs/protocol.md §6.5).
 * Run: node bench/reaction-storm.mjs [--members 100]. Prints a table, writes bench/results/.
 */
import { writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { bootWorker, ROOT } from "../scripts/boot-worker.mjs";
import { makeApi, sleep, summarize } from "./lib/chat-client.mjs";

const i = process.argv.indexOf("--members");
const MEMBERS = i > 0 ? Number(process.argv[i + 1]) : 100;

const server = await bootWorker({
  vars: {
    LIMIT_SIGNUPS_PER_ADDRESS: "100000/1s",
    LIMIT_FRIEND_REQUESTS_PER_USER: "100000/1s",
    LIMIT_SENDS_PER_USER: "100000/1s",
  },
});
const client = makeApi(server.url);
const results = {
  at: new Date().toISOString(),
  members: MEMBERS,
  path: "createTestHarness (workerd direct)",
};
try {
  const owner = await client.signup("owner");
  const others = [];
  for (let k = 1; k < MEMBERS; k += 10)
    others.push(
      ...(await Promise.all(Array.from({ length: Math.min(10, MEMBERS - k) }, () => client.signup("m")))),
    );
  for (const m of others) await client.befriend(owner, m);
  const group = await client.api("POST", "/v1/groups", {
    token: owner.token,
    body: { name: "storm", member_ids: others.map((m) => m.id) },
  });
  const ch = group.channel_id;
  const members = [owner, ...others];
  await client.api("POST", `/v1/channels/${ch}/messages`, {
    token: owner.token,
    body: { client_msg_id: "m1", text: "react to me" },
  });
  const perSocket = members.map(() => ({ frames: 0, seqs: [], acked: false, doneAt: 0 }));
  const sockets = [];
  for (let k = 0; k < members.length; k += 10) {
    sockets.push(
      ...(await Promise.all(
        members.slice(k, k + 10).map((m, j) =>
          client.connect(m, ch, (f, at) => {
            const s = perSocket[k + j];
            if (f.type === "ack") s.acked = true;
            const entries =
              f.type === "message"
                ? [f.message]
                : f.type === "messages" && f.ref === undefined
                  ? f.messages
                  : [];
            const reactions = entries.filter((e) => e.type === "reaction");
            if (reactions.length === 0) return;
            s.frames++;
            s.seqs.push(...reactions.map((e) => e.seq));
            if (s.seqs.length === MEMBERS - 1) s.doneAt = at;
          }),
        ),
      )),
    );
  }
  await sleep(1_500); // a quiet interval first: the storm starts a fold
  const t0 = performance.now();
  for (const [k, ws] of sockets.entries())
    ws.send(JSON.stringify({ v: 1, type: "react", client_msg_id: `r${k}`, target_seq: 1, emoji: "🔥" }));
  // Each socket gets everyone's reaction but its own (which comes back as its ack).
  const deadline = performance.now() + 30_000;
  while (perSocket.some((s) => !s.acked || s.seqs.length < MEMBERS - 1) && performance.now() < deadline)
    await sleep(20);
  const complete = perSocket.filter((s) => s.seqs.length === MEMBERS - 1).length;
  const inOrder = perSocket.every((s) => s.seqs.every((seq, n) => n === 0 || seq > s.seqs[n - 1]));
  results.storm = {
    sockets: MEMBERS,
    sockets_with_every_reaction: complete,
    in_seq_order: inOrder,
    duplicates: perSocket.reduce((n, s) => n + s.seqs.length - new Set(s.seqs).size, 0),
    frames_per_socket: summarize(perSocket.map((s) => s.frames)),
    to_last_socket_ms: summarize(perSocket.filter((s) => s.doneAt > 0).map((s) => s.doneAt - t0)),
  };
  for (const ws of sockets) ws.close();
} finally {
  await server.close();
}
const file = `${ROOT}/bench/results/reaction-storm-${results.at.replace(/[:.]/g, "-")}.json`;
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
const s = results.storm;
console.log(`| figure | value |
|---|---|
| sockets (members viewing) | ${s.sockets} |
| sockets that got every other member's reaction, once, in order | ${s.sockets_with_every_reaction} (in order: ${s.in_seq_order}, duplicates: ${s.duplicates}) |
| frames carrying reactions, per socket | p50 ${s.frames_per_socket.p50}, max ${s.frames_per_socket.max} (unfolded: ${MEMBERS - 1}) |
| first react → socket holds all (ms) | p50 ${s.to_last_socket_ms.p50}, max ${s.to_last_socket_ms.max} |`);
console.log(`written: ${file}`);
