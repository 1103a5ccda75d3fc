/**
 * Presence and typing through real sockets. The presence timeout is 2 s in tests
 * (vitest.config.ts); test sockets heartbeat every 250 ms unless told to stop.
 */
import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { inboxConstructions } from "../../../durable-objects/user-inbox/user-inbox.ts";
import { CLOSE } from "../../../protocol/close-codes.ts";
import {
  api,
  befriend,
  connect,
  createGroup,
  groupOfTwo,
  signup,
  type TestSocket,
} from "../../fixtures/api.ts";

const TIMEOUT = 2_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const presenceOf = (s: TestSocket, userId: string) =>
  s
    .of("presence")
    .filter((f) => f.user_id === userId && f.channel_id === undefined)
    .map((f) => f.status);

/** Me, and a friend of mine whose user socket is open, watching for my presence. */
async function friendWatching() {
  const me = await signup("me");
  const friend = await signup("fr");
  await befriend(me, friend);
  return { me, friend, watcher: await connect(friend) };
}

describe("presence", () => {
  it("tells a friend when I come online, and when I go offline after my heartbeats stop", async () => {
    const { me, friend, watcher } = await friendWatching();
    const mine = await connect(me);
    await watcher.until((s) => presenceOf(s, me.id).includes("online"), 5_000, "online");

    mine.stopHeartbeat(); // the network died; the socket is never closed cleanly
    await watcher.until((s) => presenceOf(s, me.id).includes("offline"), 4 * TIMEOUT, "offline");
    expect(presenceOf(watcher, me.id)).toEqual(["online", "offline"]);
    await mine.until((s) => s.closed !== null, 2_000, "dead socket closed");
    expect(mine.closed?.code).toBe(CLOSE.heartbeatTimeout);

    const list = await api("GET", "/v1/friends", { token: friend.token });
    expect(list.body.friends[0].presence).toMatchObject({ status: "offline" });
    expect(list.body.friends[0].presence.last_active_at).toBeGreaterThan(0);
  });

  it("goes offline one grace period after the last device disconnects cleanly", async () => {
    const { me, watcher } = await friendWatching();
    const mine = await connect(me);
    await watcher.until((s) => presenceOf(s, me.id).length === 1);
    const closedAt = Date.now();
    mine.close();
    await watcher.until((s) => presenceOf(s, me.id).length === 2, 4 * TIMEOUT, "offline");
    expect(presenceOf(watcher, me.id)).toEqual(["online", "offline"]);
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(TIMEOUT - 100);
  });

  it("causes no event for anyone when a device reconnects within the grace period", async () => {
    const { me, watcher } = await friendWatching();
    const first = await connect(me);
    await watcher.until((s) => presenceOf(s, me.id).length === 1);
    first.close();
    await sleep(TIMEOUT / 4);
    const again = await connect(me);
    await sleep(2 * TIMEOUT);
    expect(presenceOf(watcher, me.id)).toEqual(["online"]);
    again.close();
  });

  it("tells friends, not strangers", async () => {
    const me = await signup("me");
    const friend = await signup("fr");
    const stranger = await signup("st");
    await befriend(me, friend);
    const f = await connect(friend);
    const s = await connect(stranger);
    await connect(me);
    await f.until((x) => presenceOf(x, me.id).length === 1);
    await sleep(300);
    expect(presenceOf(s, me.id)).toEqual([]);
  });

  it("shows an invisible user offline, and announces nothing when they connect", async () => {
    const { me, friend, watcher } = await friendWatching();
    const mine = await connect(me);
    await watcher.until((s) => presenceOf(s, me.id).length === 1);
    await api("PATCH", "/v1/users/me", { token: me.token, body: { invisible: true } });
    await watcher.until((s) => presenceOf(s, me.id).length === 2);
    expect(presenceOf(watcher, me.id)).toEqual(["online", "offline"]);
    const second = await connect(me);
    await sleep(500);
    expect(presenceOf(watcher, me.id)).toEqual(["online", "offline"]);
    const list = await api("GET", "/v1/friends", { token: friend.token });
    expect(list.body.friends[0].presence).toEqual({ status: "offline", last_active_at: 0 });
    mine.close();
    second.close();
  });

  it("answers heartbeats to an evicted user object without constructing it", async () => {
    const me = await signup("me");
    const socket = await connect(me);
    socket.stopHeartbeat();
    await evictDurableObject(env.USER_INBOX.getByName(me.id), { webSockets: "hibernate" });
    const before = inboxConstructions();
    let pongs = 0;
    socket.ws.addEventListener("message", (e) => {
      if (e.data === "pong") pongs++;
    });
    for (let i = 0; i < 5; i++) {
      socket.send("ping");
      await sleep(50);
    }
    await sleep(200);
    expect(pongs).toBe(5);
    expect(inboxConstructions()).toBe(before);
  });

  it("returns a group's presence on demand, with invisible and blocking members offline", async () => {
    const owner = await signup("own");
    const online = await signup("on");
    const hidden = await signup("hid");
    const blocker = await signup("blk");
    const group = await createGroup(owner, [online, hidden, blocker]);
    await api("PATCH", "/v1/users/me", { token: hidden.token, body: { invisible: true } });
    const sockets = await Promise.all([online, hidden, blocker].map((u) => connect(u)));
    await api("POST", `/v1/friends/${owner.id}/block`, { token: blocker.token });
    await sleep(200);
    const res = await api("GET", `/v1/groups/${group.channel_id}/presence`, { token: owner.token });
    const status = Object.fromEntries(
      res.body.members.map((m: { user_id: string; status: string }) => [m.user_id, m.status]),
    );
    expect(status).toEqual({
      [owner.id]: "offline",
      [online.id]: "online",
      [hidden.id]: "offline",
      [blocker.id]: "offline",
    });
    const stranger = await signup("x");
    expect(
      (await api("GET", `/v1/groups/${group.channel_id}/presence`, { token: stranger.token })).status,
    ).toBe(403);
    for (const s of sockets) s.close();
  });

  it("tells a device viewing a group about its members' presence, only while it views", async () => {
    const owner = await signup("own");
    const member = await signup("mem");
    const group = await createGroup(owner, [member]);
    const viewer = await connect(owner, group.channel_id);
    await sleep(200); // the channel subscribes to its members' presence
    const m = await connect(member);
    await viewer.until(
      (s) => s.of("presence").some((f) => f.user_id === member.id && f.status === "online"),
      5_000,
      "member online",
    );
    expect(viewer.of("presence").at(-1)).toMatchObject({ channel_id: group.channel_id, user_id: member.id });
    m.close();
    viewer.close();
  });
});

describe("typing", () => {
  it("shows who is typing with an expiry, and a message ends its sender's indicator without a frame", async () => {
    const { a, b, group } = await groupOfTwo();
    const typist = await connect(a, group.channel_id);
    const reader = await connect(b, group.channel_id);
    const t0 = Date.now();
    typist.send({ v: 1, type: "typing" });
    typist.send({ v: 1, type: "typing" });
    await reader.until((s) => s.of("typing").length === 1);
    await sleep(200);
    const typing = reader.of("typing");
    expect(typing).toHaveLength(1);
    expect(typing[0]).toMatchObject({ channel_id: group.channel_id, users: [{ user_id: a.id }] });
    expect(typing[0]!.users[0]!.expires_at).toBeGreaterThanOrEqual(t0 + 5_000);
    expect(typing[0]!.users[0]!.expires_at).toBeLessThanOrEqual(Date.now() + 6_000);
    typist.send({ v: 1, type: "send", client_msg_id: "t1", text: "done typing" });
    await reader.until((s) => s.of("message").length === 1);
    await sleep(Number(env.RECEIPTS_INTERVAL_MS) + 200);
    expect(reader.of("typing_stopped")).toHaveLength(0);
    expect(reader.of("typing")).toHaveLength(1);
    const history = await api("GET", `/v1/channels/${group.channel_id}/messages`, { token: b.token });
    expect(history.body.messages).toHaveLength(1); // typing is never stored
  });

  it("folds many typists into at most one typing frame per socket per interval", async () => {
    const owner = await signup("own");
    const typists = await Promise.all(Array.from({ length: 12 }, (_, i) => signup(`t${i}`)));
    const group = await createGroup(owner, typists);
    const reader = await connect(owner, group.channel_id);
    const sockets = await Promise.all(typists.map((t) => connect(t, group.channel_id)));
    const interval = Number(env.RECEIPTS_INTERVAL_MS);
    const started = Date.now();
    // Twelve members start typing one after another, 150 ms apart.
    for (const s of sockets) {
      s.send({ v: 1, type: "typing" });
      await sleep(150);
    }
    const ids = typists.map((t) => t.id).sort();
    const shown = () => new Set(reader.of("typing").flatMap((f) => f.users.map((u) => u.user_id)));
    await reader.until(() => shown().size === 12, 3 * interval, "every typist shown");
    const elapsed = Date.now() - started;
    expect([...shown()].sort()).toEqual(ids);
    expect(reader.of("typing").length).toBeLessThanOrEqual(Math.ceil(elapsed / interval) + 1);
  });

  it("sends typing_stopped when the typist disconnects", async () => {
    const { a, b, group } = await groupOfTwo();
    const typist = await connect(a, group.channel_id);
    const reader = await connect(b, group.channel_id);
    typist.send({ v: 1, type: "typing" });
    await reader.until((s) => s.of("typing").length === 1);
    typist.close();
    await reader.until((s) => s.of("typing_stopped").length === 1, 5_000, "typing_stopped");
  });
});
