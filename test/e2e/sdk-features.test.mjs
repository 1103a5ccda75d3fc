// The client SDK (client/src) against the real Worker: several devices of one user, the
// helpers the UI reads (typing, receipts, presence, the conversation list), scroll-back, and
// the session's life: token refresh and revocation.
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { after, afterEach, before, describe, it } from "node:test";
import { ChatApiError, MemoryStore } from "../../client/src/index.ts";
import { bootWorker } from "../../scripts/boot-worker.mjs";
import { TIER_LIMITS } from "./limits.mjs";
import {
  befriend,
  PASSWORD,
  rawChannelSocket,
  recordingWebSocket,
  sent,
  signup,
  tracker,
  waitFor,
} from "./sdk-helpers.mjs";

const AUTH_SECRET = randomBytes(32).toString("base64url");
let server;
const t = tracker();

before(async () => {
  // heartbeat_ms 500, and a user goes offline 3 s after their last user socket closes.
  server = await bootWorker({
    vars: { ...TIER_LIMITS, PRESENCE_TIMEOUT_MS: "3000" },
    secrets: { AUTH_SECRET },
  });
});

afterEach(() => t.closeAll());

after(async () => {
  await server?.close();
});

/** An HS256 access token for this device that expired a minute ago (domain/tokens.ts claims). */
function expiredAccessToken(session) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({
    typ: "access",
    sub: session.user_id,
    did: session.device_id,
    iat: now - 960,
    exp: now - 60,
  })}`;
  return `${body}.${createHmac("sha256", AUTH_SECRET).update(body).digest("base64url")}`;
}

function countingFetch(calls) {
  return (input, init) => {
    calls.push(new URL(String(input)).pathname);
    return fetch(input, init);
  };
}

describe("SDK features against the real Worker", () => {
  it("emits friend requests and their answers live, and keeps friendList current", async () => {
    const alice = await signup(t, server.url, "alice");
    const bob = await signup(t, server.url, "bob");
    for (const c of [alice, bob]) c.connect();
    await waitFor("both open", () => alice.state === "open" && bob.state === "open");
    await Promise.all([alice.friends(), bob.friends()]);
    const events = [];
    bob.on("friend", (e) => events.push([e.user.id, e.state]));
    const aliceId = alice.session.user_id;
    const bobId = bob.session.user_id;
    const states = (c, id) =>
      c
        .friendList()
        .friends.filter((f) => f.user.id === id)
        .map((f) => f.state);

    await alice.requestFriendById(bobId);
    await waitFor("bob sees the request", () => states(bob, aliceId)[0] === "incoming");
    await bob.acceptFriend(aliceId);
    await waitFor("alice sees the acceptance", () => states(alice, bobId)[0] === "friends");
    await alice.removeFriend(bobId);
    await waitFor("bob sees the unfriending", () => states(bob, aliceId).length === 0);
    assert.deepEqual(events, [
      [aliceId, "incoming"],
      [aliceId, "friends"],
      [aliceId, "none"],
    ]);
  });

  it("two devices of one user both get live messages; reading on one clears the count on the other", async () => {
    const alice = await signup(t, server.url, "alice");
    const bob1 = await signup(t, server.url, "bob");
    const bob2 = t.client(server.url);
    await bob2.login({ handle: bob1.session.handle, password: PASSWORD });
    assert.equal(bob2.session.user_id, bob1.session.user_id);
    assert.notEqual(bob2.session.device_id, bob1.session.device_id);
    await befriend(alice, bob1);
    const { channel_id: ch } = await alice.openDm(bob1.session.user_id);

    for (const c of [alice, bob1, bob2]) c.connect();
    bob1.openConversation(ch); // the phone views the chat; the laptop only has its user socket
    await waitFor("all open", () => [alice, bob1, bob2].every((c) => c.state === "open"));
    await waitFor("bob1 viewing", () => bob1.conversationState === "open");

    alice.send(ch, "hi bob");
    alice.send(ch, "are you there?");
    await waitFor("both of bob's devices", () => sent(bob1, ch).length === 2 && sent(bob2, ch).length === 2);
    assert.deepEqual(
      sent(bob2, ch).map((m) => [m.seq, m.text, m.sender_id]),
      [
        [1, "hi bob", alice.session.user_id],
        [2, "are you there?", alice.session.user_id],
      ],
    );
    const entry = () => bob2.conversations().find((c) => c.channel_id === ch);
    await waitFor("unread 2 on the laptop", () => entry()?.unread === 2);
    assert.equal(entry().last_message.preview, "are you there?");

    const fromPhone = bob1.send(ch, "yes, on my phone");
    await waitFor("alice and bob2 get it", () => sent(alice, ch).length === 3 && sent(bob2, ch).length === 3);
    const onLaptop = sent(bob2, ch)[2];
    assert.equal(onLaptop.client_msg_id, fromPhone.client_msg_id);
    assert.equal(onLaptop.sender_id, bob1.session.user_id);
    assert.equal(sent(bob1, ch)[2].status, "sent");
    // Sending moved Bob's read marker to his message: nothing is unread on any of his devices.
    await waitFor("laptop count cleared", () => entry()?.unread === 0 && entry()?.read_seq === 3);

    alice.send(ch, "great");
    await waitFor("unread 1 on the laptop", () => entry()?.unread === 1);
    await waitFor("phone holds it", () => bob1.cursor(ch) === 4);
    bob1.markRead(ch);
    await waitFor(
      "read on the phone clears the laptop",
      () => entry()?.unread === 0 && entry()?.read_seq === 4,
    );
  });

  it("typing, receipts and presence follow the conversation on screen", async () => {
    const aliceSent = [];
    const alice = await signup(t, server.url, "alice", { WebSocket: recordingWebSocket(aliceSent) });
    const bob = await signup(t, server.url, "bob");
    await befriend(alice, bob);
    const group = await alice.createGroup("hike", [bob.session.user_id]);
    const ch = group.channel_id;
    const [a, b] = [alice.session.user_id, bob.session.user_id];

    alice.connect();
    alice.openConversation(ch);
    bob.connect();
    bob.openConversation(ch);
    await waitFor(
      "both viewing",
      () => alice.conversationState === "open" && bob.conversationState === "open",
    );
    await waitFor("bob online for alice", () => alice.presence(b)?.status === "online");
    assert.ok(alice.presence(b).last_active_at > 0);

    // Typing: every keystroke calls typing(); one frame per 3 s leaves; Bob sees Alice, not himself.
    for (let i = 0; i < 10; i++) alice.typing(ch);
    await waitFor("bob sees alice typing", () => bob.typingUsers(ch).includes(a));
    assert.equal(aliceSent.filter((s) => s.frame.type === "typing").length, 1);
    assert.deepEqual(alice.typingUsers(ch), []);
    alice.send(ch, "who brings the stove?"); // a message ends the indicator (typing_stopped)
    await waitFor("indicator gone", () => bob.typingUsers(ch).length === 0);

    // Receipts: Bob's device acknowledges delivery by itself; reading is his call.
    await waitFor("alice's message sent", () => sent(alice, ch)[0]?.seq === 1);
    await waitFor("receipts snapshot", () => alice.ticks(ch, 1).others === 1);
    await waitFor("delivered to bob", () => alice.ticks(ch, 1).delivered === 1);
    assert.deepEqual(alice.ticks(ch, 1), { others: 1, delivered: 1, read: 0 });
    await waitFor("bob holds it", () => bob.cursor(ch) === 1);
    bob.markRead(ch);
    await waitFor("read by bob", () => alice.ticks(ch, 1).read === 1);
    assert.deepEqual(alice.ticks(ch, 2), { others: 1, delivered: 0, read: 0 }, "a later seq is not covered");

    // Presence: Bob leaves; after the presence timeout Alice sees him offline.
    bob.disconnect();
    await waitFor("bob offline for alice", () => alice.presence(b)?.status === "offline", 10_000);
  });

  it("opening a conversation loads its newest page; loadOlder scrolls back to the start", async () => {
    const alice = await signup(t, server.url, "alice");
    const bob = await signup(t, server.url, "bob");
    await befriend(alice, bob);
    const { channel_id: ch } = await alice.openDm(bob.session.user_id);
    const raw = await rawChannelSocket(t, alice, ch);
    await raw.sendMany(120, (i) => `n${i + 1}`);

    const histories = [];
    bob.on("history", ({ channel_id }) => histories.push(channel_id));
    bob.openConversation(ch); // not connected: REST only
    await waitFor("newest page", () => bob.cursor(ch) === 120);
    assert.deepEqual(
      sent(bob, ch).map((m) => m.seq),
      Array.from({ length: 50 }, (_, i) => 71 + i),
    );
    assert.ok(histories.includes(ch));
    assert.deepEqual(await bob.loadOlder(ch), { hasMore: true });
    assert.deepEqual(await bob.loadOlder(ch), { hasMore: false });
    assert.deepEqual(await bob.loadOlder(ch), { hasMore: false });
    assert.deepEqual(
      sent(bob, ch).map((m) => m.text),
      Array.from({ length: 120 }, (_, i) => `n${i + 1}`),
    );
  });

  it("markRead(id, upTo) moves the marker as far as was read, never past the cursor", async () => {
    const alice = await signup(t, server.url, "alice");
    const bob = await signup(t, server.url, "bob");
    await befriend(alice, bob);
    const { channel_id: ch } = await alice.openDm(bob.session.user_id);
    const raw = await rawChannelSocket(t, alice, ch);
    await raw.sendMany(5, (i) => `r${i + 1}`);
    bob.openConversation(ch); // not connected: the marker moves over REST
    await waitFor("bob holds all five", () => bob.cursor(ch) === 5);
    const bobsMarker = async () =>
      (await bob.loadReceipts(ch)).members.find((m) => m.user_id === bob.session.user_id).read_seq;

    bob.markRead(ch, 2); // two of five were on screen
    await waitFor("marker at 2", async () => (await bobsMarker()) === 2);
    bob.markRead(ch, 99); // beyond what is held: stops at the cursor
    await waitFor("marker at the cursor", async () => (await bobsMarker()) === 5, 5_000);
  });

  it("concurrent calls with an expired access token share one refresh, and the rotated token is stored", async () => {
    const store = new MemoryStore();
    const alice = await signup(t, server.url, "alice", { store });
    const key = "edge-chat:session";
    const original = await store.get(key);
    const expired = expiredAccessToken(original);
    await store.set(key, { ...original, access_token: expired });

    const calls = [];
    const again = t.client(server.url, { store, fetch: countingFetch(calls) });
    assert.equal(await again.restore(), true);
    assert.equal(again.session.user_id, alice.session.user_id);
    const [me, friends, channels] = await Promise.all([again.me(), again.friends(), again.channels()]);
    assert.equal(me.id, alice.session.user_id);
    assert.deepEqual(friends.friends, []);
    assert.deepEqual(channels, []);
    assert.equal(calls.filter((p) => p === "/v1/auth/refresh").length, 1, calls.join(" "));

    const rotated = await store.get(key);
    assert.notEqual(rotated.refresh_token, original.refresh_token);
    assert.notEqual(rotated.access_token, expired);
    // The old refresh token died with the rotation.
    const old = await fetch(`${server.url}/v1/auth/refresh`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: original.refresh_token }),
    });
    assert.equal(old.status, 401);

    // A token that is about to expire by the local clock is renewed before use, once.
    await store.set(key, { ...rotated, access_expires_at: 0 });
    calls.length = 0;
    const third = t.client(server.url, { store, fetch: countingFetch(calls) });
    await third.restore();
    await Promise.all([third.me(), third.me(), third.channels()]);
    assert.equal(calls.filter((p) => p === "/v1/auth/refresh").length, 1, calls.join(" "));
  });

  it("a revoked device is signed out (close 4001); logout signs out on the server and forgets the session", async () => {
    const store = new MemoryStore();
    const phone = await signup(t, server.url, "alice", { store });
    const laptop = t.client(server.url);
    await laptop.login({ handle: phone.session.handle, password: PASSWORD });
    const signedOut = [];
    phone.on("signed_out", ({ reason }) => signedOut.push(reason));
    phone.connect();
    phone.send("gr_00000000000000000000000000", "queued"); // not a channel of hers: fails, stays local
    await waitFor("phone open", () => phone.state === "open");

    await laptop.revokeDevice(phone.session.device_id);
    await waitFor("phone signed out", () => signedOut.length === 1);
    assert.deepEqual(signedOut, ["revoked"]);
    assert.equal(phone.session, null);
    assert.equal(phone.state, "offline");
    await waitFor("session forgotten", async () => (await store.get("edge-chat:session")) === undefined);
    assert.equal(await store.get("edge-chat:outbox"), undefined);

    const laptopOut = [];
    laptop.on("signed_out", ({ reason }) => laptopOut.push(reason));
    const token = laptop.session;
    await laptop.logout();
    assert.deepEqual(laptopOut, ["logout"]);
    assert.equal(laptop.session, null);
    await assert.rejects(laptop.me(), (err) => err instanceof ChatApiError && err.code === "unauthenticated");
    assert.ok(token.device_id);
  });
});
