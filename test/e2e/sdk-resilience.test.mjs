// The client SDK (client/src) against the real Worker, across network failures: a TCP proxy
// (test/fixtures/tcp-proxy.mjs) sits between the SDK and the Worker and cuts or silences every
// connection, as a flaky network would. The SDK must reconnect and resume by itself, send each
// outbox message exactly once, and end up holding every message once, in seq order; a frame the
// proxy alters on the way must be refused by the chain check, never shown.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { bootWorker } from "../../scripts/boot-worker.mjs";
import { startProxy } from "../fixtures/tcp-proxy.mjs";
import { TIER_LIMITS } from "./limits.mjs";
import {
  befriend,
  history,
  rawChannelSocket,
  recordingWebSocket,
  sent,
  signup,
  tracker,
  waitFor,
} from "./sdk-helpers.mjs";

let server;
let proxy;
const t = tracker();

before(async () => {
  // A 3 s presence timeout makes hello.heartbeat_ms 500: a silent connection is noticed in 1.5 s.
  server = await bootWorker({ vars: { ...TIER_LIMITS, PRESENCE_TIMEOUT_MS: "3000" } });
  proxy = await startProxy(server.url);
});

afterEach(() => {
  t.closeAll();
  proxy.rewrite(null);
  proxy.uncompressed(false);
  // Muted connections stay in fetch's keep-alive pool, shared by every client of this process.
  proxy.dropAll();
});

after(async () => {
  await proxy?.close();
  await server?.close();
});

/**
 * Alice talks to the Worker directly, Bob through the proxy; they are friends with a 1:1
 * channel. Every frame Bob's SDK sends is recorded in `bobSent`; `wrap` may extend Bob's
 * WebSocket class further.
 */
async function pair(wrap = (WebSocketClass) => WebSocketClass) {
  const bobSent = [];
  const alice = await signup(t, server.url, "alice");
  const bob = await signup(t, proxy.url, "bob", { WebSocket: wrap(recordingWebSocket(bobSent)) });
  await befriend(alice, bob);
  const { channel_id } = await alice.openDm(bob.session.user_id);
  return { alice, bob, ch: channel_id, bobSent };
}

function assertInOrderOnce(messages, texts) {
  assert.deepEqual(
    messages.map((m) => m.text),
    texts,
  );
  const seqs = messages.map((m) => m.seq);
  assert.deepEqual(
    seqs,
    seqs.map((_, i) => i + 1),
    "seq 1..n, each once",
  );
}

describe("SDK over a failing network", () => {
  it("reconnects after the server drops its sockets; messages sent meanwhile arrive once, in order", async () => {
    const { alice, bob, ch } = await pair();
    const states = [];
    bob.on("state", ({ state }) => states.push(state));
    bob.connect();
    bob.openConversation(ch);
    alice.connect();
    await waitFor("bob's sockets open", () => bob.state === "open" && bob.conversationState === "open");
    alice.send(ch, "m0");
    await waitFor("m0 at bob", () => sent(bob, ch).length === 1);

    proxy.dropAll();
    for (let i = 1; i <= 5; i++) alice.send(ch, `m${i}`);
    await waitFor("bob reconnected", () => states.includes("reconnecting") && bob.state === "open");
    await waitFor("m1..m5 at bob", () => sent(bob, ch).length === 6);

    assert.deepEqual(states.slice(0, 2), ["connecting", "open"]);
    const dropped = states.indexOf("reconnecting");
    assert.ok(dropped > 0 && states.indexOf("open", dropped) > dropped, states.join(" → "));
    assertInOrderOnce(bob.messages(ch), ["m0", "m1", "m2", "m3", "m4", "m5"]);
    assert.equal(bob.cursor(ch), 6);
    // Nothing arrives twice later either (a late copy from the other socket is dropped).
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(bob.messages(ch).length, 6);
  });

  it("a message whose ack was lost on a silent connection is stored once and becomes sent", async () => {
    const { alice, bob, ch } = await pair();
    bob.connect();
    bob.openConversation(ch);
    await waitFor("bob's channel socket", () => bob.conversationState === "open" && bob.cursor(ch) === 0);

    const conversationStates = [];
    bob.on("conversation_state", ({ state }) => conversationStates.push(state));
    proxy.muteAll(); // Bob's frames still reach the Worker; nothing comes back, not even pong.
    const echo = bob.send(ch, "only once");
    assert.equal(echo.status, "pending");
    await waitFor("stored on the server", async () => (await history(alice, ch)).length === 1);
    assert.equal(bob.messages(ch)[0].status, "pending", "the ack is lost");

    // Three silent heartbeat intervals: the SDK replaces the connection, and resends. The user
    // socket is muted too and may notice first: its resume from cursor 0 then brings the stored
    // message back and settles the echo before the channel socket's own heartbeat fires. Either
    // way, the silent channel socket must be replaced too, so wait for both.
    const done = await waitFor(
      "bob's message sent and his channel socket replaced",
      () =>
        conversationStates.includes("reconnecting") &&
        bob.conversationState === "open" &&
        bob.messages(ch).find((m) => m.status === "sent"),
      20_000,
    );
    assert.ok(conversationStates.includes("reconnecting"), conversationStates.join(" → "));
    assert.equal(done.client_msg_id, echo.client_msg_id);
    assert.equal(done.seq, 1);
    assert.equal(bob.messages(ch).length, 1, "no pending echo left");
    const stored = await history(alice, ch);
    assert.equal(stored.length, 1);
    assert.equal(stored[0].client_msg_id, echo.client_msg_id);
    assert.equal(stored[0].text, "only once");
  });

  it("refuses a message altered on the way, says so, and shows the real one once it arrives intact", async () => {
    const { alice, bob, ch } = await pair();
    const integrity = [];
    bob.on("error", (e) => e.code === "integrity" && integrity.push(e));
    proxy.uncompressed(true);
    bob.connect();
    bob.openConversation(ch);
    alice.connect();
    await waitFor("bob's sockets open", () => bob.state === "open" && bob.conversationState === "open");
    alice.send(ch, "before");
    await waitFor("the first message at bob", () => sent(bob, ch).length === 1);

    // Someone on the path changes the amount in the server's frames to Bob (same length).
    proxy.rewrite("pay 100 EUR", "pay 900 EUR");
    alice.send(ch, "pay 100 EUR");
    await waitFor("an integrity error at bob", () => integrity.length > 0);
    assert.equal(integrity[0].channel_id, ch);
    assert.equal(integrity[0].seq, 2);
    assert.deepEqual(
      sent(bob, ch).map((m) => m.text),
      ["before"],
      "the altered message is not shown",
    );

    // The path is clean again: the next message leaves a gap, which the SDK fills, with the real text.
    proxy.rewrite(null);
    proxy.uncompressed(false);
    alice.send(ch, "after");
    await waitFor("all three at bob", () => sent(bob, ch).length === 3);
    assertInOrderOnce(sent(bob, ch), ["before", "pay 100 EUR", "after"]);
  });

  it("messages written while offline are sent once each, in the order written, after reconnecting", async () => {
    const { alice, bob, ch } = await pair();
    bob.connect();
    await waitFor("bob open", () => bob.state === "open");
    bob.disconnect();
    assert.equal(bob.state, "offline");
    const echoes = ["one", "two", "three"].map((text) => bob.send(ch, text));
    assert.deepEqual(
      bob.messages(ch).map((m) => m.status),
      ["pending", "pending", "pending"],
    );
    // A text the server can never store fails at once and is never sent.
    assert.equal(bob.send(ch, "   ").status, "failed");

    bob.connect();
    await waitFor("all three sent", () => sent(bob, ch).length === 3);
    const stored = await history(alice, ch);
    assert.deepEqual(
      stored.map((m) => [m.seq, m.text, m.client_msg_id]),
      echoes.map((e, i) => [i + 1, e.text, e.client_msg_id]),
    );
    const failed = bob.messages(ch).filter((m) => m.status === "failed");
    assert.equal(failed.length, 1);
    assert.equal(failed[0].error.code, "message_empty");
    bob.discard(failed[0].client_msg_id);
    assert.equal(bob.messages(ch).length, 3);
  });

  it("resumes after 1,000 missed messages on the user socket, then syncs 1,000 more on the channel socket", async () => {
    // Which of Bob's two sockets catches up first is a race; to test the channel socket's sync
    // on its own, `resume` frames on the user socket can be held back (`gate.hold`) and sent later.
    const gate = { hold: false, held: [], resumed: 0 };
    const { alice, bob, ch, bobSent } = await pair(
      (Base) =>
        class extends Base {
          constructor(...args) {
            super(...args);
            this.addEventListener("message", (e) => {
              if (this.#isUserSocket() && String(e.data).includes('"type":"resumed"')) gate.resumed++;
            });
          }
          #isUserSocket() {
            return new URL(this.url).pathname === "/v1/ws/user";
          }
          send(data) {
            if (gate.hold && this.#isUserSocket() && JSON.parse(data).type === "resume") {
              gate.held.push(() => {
                if (this.readyState === WebSocket.OPEN) super.send(data);
              });
              return;
            }
            super.send(data);
          }
        },
    );
    const raw = await rawChannelSocket(t, alice, ch);
    bob.connect();
    await waitFor("bob open", () => bob.state === "open");
    // A channel new to Bob: its first message, live, makes the SDK load it and give it a cursor.
    // (One stored before Bob's socket connected would not come live: the socket is live from
    // its connect, and the conversation list would show it instead.)
    await raw.sendMany(1, () => "first");
    await waitFor("bob holds the first message", () => bob.cursor(ch) === 1);

    bob.disconnect();
    await raw.sendMany(1_000);
    bobSent.length = 0;
    bob.connect();
    await waitFor("bob caught up by resume", () => bob.cursor(ch) === 1_001, 30_000);
    let held = sent(bob, ch);
    assertInOrderOnce(held, ["first", ...Array.from({ length: 1_000 }, (_, i) => `bulk ${i}`)]);
    const resume = bobSent.find((s) => s.frame.type === "resume");
    assert.deepEqual(resume?.frame.cursors, [{ channel_id: ch, seq: 1 }], "resumed from the cursor");

    // Now with the conversation on screen: its channel socket syncs from the cursor while the
    // user socket resumes too. The user socket's resume is held back until the sync is done, so
    // the sync alone must catch up; then the resume brings the same 1,000 again, and every copy
    // is dropped by (channel, seq).
    bob.openConversation(ch);
    await waitFor("channel socket open", () => bob.conversationState === "open");
    bob.disconnect();
    await raw.sendMany(1_000, (i) => `more ${i}`);
    bobSent.length = 0;
    gate.hold = true;
    gate.resumed = 0;
    bob.connect();
    await waitFor("bob caught up by sync", () => bob.cursor(ch) === 2_001, 30_000);
    const syncs = bobSent.filter((s) => s.path.startsWith("/v1/ws/channels/") && s.frame.type === "sync");
    assert.equal(syncs[0]?.frame.after_seq, 1_001, "the channel socket synced from the cursor");
    gate.hold = false;
    for (const send of gate.held.splice(0)) send();
    await waitFor("the user socket's resume done", () => gate.resumed > 0, 30_000);
    assert.ok(bobSent.some((s) => s.path === "/v1/ws/user" && s.frame.type === "resume"));
    held = sent(bob, ch);
    assertInOrderOnce(held, [
      "first",
      ...Array.from({ length: 1_000 }, (_, i) => `bulk ${i}`),
      ...Array.from({ length: 1_000 }, (_, i) => `more ${i}`),
    ]);
    assert.equal(new Set(held.map((m) => m.id)).size, 2_001);
    assert.equal(bob.cursor(ch), 2_001);
  });
});
