// A socket that stops reading (issue #17): the server must not hold an unbounded amount for it.
// Bob's device stops reading its user socket while Alice posts large messages; once more than
// LIMIT_SOCKET_BUFFER_BYTES waits unread, the user object closes the socket with 4013. When Bob
// reads again he finds that close after what was sent before it, reconnects, resumes from his
// cursor and gets exactly what he had not received, once each, in order.
// The Worker runs in raw Miniflare and the sockets go to the runtime itself: wrangler's
// ProxyWorker would read on Bob's behalf and hide the slow consumer from the Worker.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { RawWebSocket } from "../../bench/lib/wsclient.mjs";
import { bootMiniflare } from "../../scripts/boot-miniflare.mjs";
import { TIER_LIMITS } from "./limits.mjs";

// More than one page of a resume (pages stop at about 500,000 characters).
const BUFFER_BYTES = 2 * 1024 * 1024;
const TEXT = "x".repeat(90_000);

let w;

before(async () => {
  w = await bootMiniflare({
    outbound: () => new Response(null, { status: 201 }),
    // A long presence timeout: the paused socket sends no heartbeat, and must be closed for
    // not reading, not as a dead connection (4008).
    vars: { ...TIER_LIMITS, LIMIT_SOCKET_BUFFER_BYTES: String(BUFFER_BYTES), PRESENCE_TIMEOUT_MS: "600000" },
  });
});

after(async () => {
  await w?.dispose();
});

async function signup(prefix) {
  const handle = `${prefix}_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const res = await w.api("POST", "/v1/auth/signup", {
    body: { handle, display_name: prefix, password: "correct horse battery" },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return { id: res.body.user_id, token: res.body.access_token };
}

/** Opens a socket on the runtime; frames are collected in `frames`, the close in `closed`. */
async function open(user, channelId) {
  const ticket = await w.api("POST", "/v1/connect", {
    token: user.token,
    body: channelId ? { channel_id: channelId } : {},
  });
  assert.equal(ticket.status, 200, JSON.stringify(ticket.body));
  const path = new URL(ticket.body.url).pathname;
  const ws = new RawWebSocket(
    `${w.url.replace(/^http/, "ws")}${path}?ticket=${encodeURIComponent(ticket.body.ticket)}`,
  );
  const s = { ws, frames: [], closed: null };
  ws.addEventListener("message", (e) => {
    if (e.data !== "pong") s.frames.push(JSON.parse(e.data));
  });
  ws.addEventListener("close", (e) => {
    s.closed = e.code;
  });
  await waitFor("hello", () => s.frames.some((f) => f.type === "hello"));
  return s;
}

async function waitFor(what, check, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Seqs of one channel's messages a socket received, in order (live frames and pages). */
function seqs(s, channelId) {
  const out = [];
  for (const f of s.frames) {
    if (f.type === "message" && f.message.channel_id === channelId) out.push(f.message.seq);
    if (f.type === "messages" && f.channel_id === channelId) out.push(...f.messages.map((m) => m.seq));
  }
  return out;
}

describe("a socket that does not read", () => {
  it("is closed with 4013 before the server holds much for it, and its device resumes exactly", async () => {
    const alice = await signup("alice");
    const bob = await signup("bob");
    await w.api("POST", "/v1/friends/requests", { token: alice.token, body: { user_id: bob.id } });
    await w.api("POST", `/v1/friends/${alice.id}/accept`, { token: bob.token });
    const dm = await w.api("POST", "/v1/channels/dm", { token: alice.token, body: { user_id: bob.id } });
    const ch = dm.body.channel_id;

    const reader = await open(bob);
    reader.ws.send(JSON.stringify({ v: 1, type: "resume", id: "r", cursors: [{ channel_id: ch, seq: 0 }] }));
    await waitFor("resumed", () => reader.frames.some((f) => f.type === "resumed"));
    reader.ws.sock.pause(); // Bob's device stops reading

    // Alice posts far more than the kernel's socket buffers and the limit together hold.
    const poster = await open(alice, ch);
    const COUNT = 300;
    for (let i = 1; i <= COUNT; i++)
      poster.ws.send(JSON.stringify({ v: 1, type: "send", client_msg_id: `m${i}`, text: `${i} ${TEXT}` }));
    await waitFor("every ack", () => poster.frames.filter((f) => f.type === "ack").length === COUNT, 60_000);

    // Bob reads again: what was sent before the close, then the close.
    reader.ws.sock.resume();
    await waitFor("the close", () => reader.closed !== null, 60_000);
    const got = seqs(reader, ch);
    assert.equal(reader.closed, 4013);
    assert.ok(got.length < COUNT, `the socket was closed before all ${COUNT} messages went (${got.length})`);
    assert.deepEqual(
      got,
      got.map((_, i) => i + 1),
      "what arrived came in order, without a gap",
    );

    // The device reconnects and resumes from its cursor: the rest, exactly once.
    const again = await open(bob);
    again.ws.send(
      JSON.stringify({ v: 1, type: "resume", id: "r2", cursors: [{ channel_id: ch, seq: got.length }] }),
    );
    await waitFor("resumed", () => again.frames.some((f) => f.type === "resumed"), 60_000);
    const rest = seqs(again, ch);
    assert.deepEqual(
      rest,
      Array.from({ length: COUNT - got.length }, (_, i) => got.length + i + 1),
    );
    poster.ws.close();
    again.ws.close();
  });
});
