/**
 * Time from a message's ack to its push request leaving the consumer (issue #5), against the
 * built Worker in Miniflare with the push service replaced by an outboundService that answers
 * 201, decrypts the request (http_ece) to learn which message it stands for, and timestamps it.
 * The recipient has one subscribed device that never connects; the sender posts one message
 * every 1.2 s (past the 1 s fold for users with no device), so each is a fresh notification.
 * Run: npm run bench:push [-- --count 40]. Prints p50/p95/p99/max, writes bench/results/.
 */
import { createECDH, randomBytes, randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import ece from "http_ece";
import { bootMiniflare } from "../scripts/boot-miniflare.mjs";
import { ROOT } from "../scripts/boot-worker.mjs";
import { sleep, summarize } from "./lib/chat-client.mjs";

const i = process.argv.indexOf("--count");
const COUNT = i > 0 ? Number(process.argv[i + 1]) : 40;

const browserKey = createECDH("prime256v1");
browserKey.generateKeys();
const authSecret = randomBytes(16);
const pushedAt = new Map(); // seq → performance.now() when the push request reached the push service
const pushedWall = new Map(); // seq → Date.now() at the same moment

const w = await bootMiniflare({
  outbound: async (req) => {
    const at = performance.now();
    const wall = Date.now();
    const body = Buffer.from(await req.arrayBuffer());
    const payload = JSON.parse(
      ece.decrypt(body, { version: "aes128gcm", privateKey: browserKey, authSecret }).toString("utf8"),
    );
    pushedAt.set(payload.seq, at);
    pushedWall.set(payload.seq, wall);
    return new Response(null, { status: 201 });
  },
});

const results = {
  at: new Date().toISOString(),
  path: "Miniflare (built Worker), real Queue, fake push service",
};
try {
  const user = async (h) => {
    const r = await w.api("POST", "/v1/auth/signup", {
      body: { handle: `${h}_${randomUUID().slice(0, 6)}`, display_name: h, password: "bench password 1" },
    });
    return { id: r.body.user.id, token: r.body.access_token };
  };
  const a = await user("sender");
  const b = await user("recipient");
  await w.api("POST", "/v1/friends/requests", { token: a.token, body: { user_id: b.id } });
  await w.api("POST", `/v1/friends/${a.id}/accept`, { token: b.token });
  const dm = await w.api("POST", "/v1/channels/dm", { token: a.token, body: { user_id: b.id } });
  await w.api("PUT", "/v1/push/subscription", {
    token: b.token,
    body: {
      endpoint: `https://push.example.test/${randomUUID()}`,
      keys: {
        p256dh: browserKey.getPublicKey().toString("base64url"),
        auth: authSecret.toString("base64url"),
      },
    },
  });
  await sleep(1_500);
  const ackedAt = new Map();
  const storedAt = new Map(); // seq → the message's server time (ms), taken as it is stored
  for (let n = 1; n <= COUNT; n++) {
    const res = await w.api("POST", `/v1/channels/${dm.body.channel_id}/messages`, {
      token: a.token,
      body: { client_msg_id: `p${n}`, text: `notification ${n}` },
    });
    ackedAt.set(res.body.seq, performance.now());
    storedAt.set(res.body.seq, res.body.ts);
    await sleep(1_200);
  }
  await sleep(2_000);
  const latency = [...ackedAt].filter(([seq]) => pushedAt.has(seq)).map(([seq, t]) => pushedAt.get(seq) - t);
  results.count = COUNT;
  results.pushed = latency.length;
  // The push can leave before the HTTP answer carrying the ack is back here, so the figure
  // that matters is from the server's ack (the message's ts, same wall clock, 1 ms grain).
  results.server_ack_to_push_ms = summarize(
    [...storedAt].filter(([seq]) => pushedWall.has(seq)).map(([seq, ts]) => pushedWall.get(seq) - ts),
  );
  results.client_ack_received_to_push_ms = summarize(latency);
} finally {
  await w.dispose();
}
const file = `${ROOT}/bench/results/push-latency-${results.at.replace(/[:.]/g, "-")}.json`;
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
const row = (name, s) => `| ${name} | ${s.p50} | ${s.p95} | ${s.p99} | ${s.max} |`;
console.log(
  [
    "| figure (ms) | p50 | p95 | p99 | max |",
    "|---|---|---|---|---|",
    row(
      `server ack → push request at the push service (${results.pushed} of ${results.count})`,
      results.server_ack_to_push_ms,
    ),
    row(
      "ack received by the client → push request (negative: the push came first)",
      results.client_ack_received_to_push_ms,
    ),
  ].join("\n"),
);
console.log(`written: ${file}`);
