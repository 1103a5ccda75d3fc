// Friend requests (request, accept, decline, withdraw), unfriending, blocking, and the
// consent rule that follows from them: only a friend can be messaged or added to a group.
import { describe, expect, it } from "vitest";
import { api, befriend, connect, openDm, signup, type TestSocket, type TestUser } from "../fixtures/api.ts";
import { expectError } from "./expect-error.ts";

async function friendsOf(user: TestUser) {
  const res = await api("GET", "/v1/friends", { token: user.token });
  expect(res.status).toBe(200);
  return res.body as {
    friends: { user: { id: string }; state: string }[];
    blocked: { user: { id: string } }[];
  };
}

/** `user`'s view of its relation with `other`: its state, or undefined when there is none. */
async function stateWith(user: TestUser, other: TestUser): Promise<string | undefined> {
  return (await friendsOf(user)).friends.find((f) => f.user.id === other.id)?.state;
}

describe("friend requests", () => {
  it("a request shows as outgoing to the sender and incoming to the recipient, and accepting makes both friends", async () => {
    const a = await signup("a");
    const b = await signup("b");
    const req = await api("POST", "/v1/friends/requests", { token: a.token, body: { user_id: b.id } });
    expect(req.status).toBe(201);
    expect(req.body).toEqual({ state: "outgoing" });
    expect([await stateWith(a, b), await stateWith(b, a)]).toEqual(["outgoing", "incoming"]);

    const accept = await api("POST", `/v1/friends/${a.id}/accept`, { token: b.token });
    expect(accept.status).toBe(200);
    expect([await stateWith(a, b), await stateWith(b, a)]).toEqual(["friends", "friends"]);
    const list = await friendsOf(a);
    expect(list.friends).toEqual([
      {
        user: { id: b.id, handle: b.handle, display_name: b.handle.toUpperCase(), deleted: false },
        state: "friends",
        since: expect.any(Number),
        // b has never connected, so a sees b offline.
        presence: { status: "offline", last_active_at: 0 },
      },
    ]);
  });

  it("asking someone who already asked me accepts their request", async () => {
    const a = await signup("a");
    const b = await signup("b");
    await api("POST", "/v1/friends/requests", { token: a.token, body: { user_id: b.id } });
    const back = await api("POST", "/v1/friends/requests", { token: b.token, body: { user_id: a.id } });
    expect(back.body).toEqual({ state: "friends" });
    expect(await stateWith(a, b)).toBe("friends");
  });

  it("declining removes the request on both sides, and the sender may ask again", async () => {
    const a = await signup("a");
    const b = await signup("b");
    await api("POST", "/v1/friends/requests", { token: a.token, body: { user_id: b.id } });
    expect((await api("POST", `/v1/friends/${a.id}/decline`, { token: b.token })).status).toBe(204);
    expect([await stateWith(a, b), await stateWith(b, a)]).toEqual([undefined, undefined]);
    expect(
      (await api("POST", "/v1/friends/requests", { token: a.token, body: { user_id: b.id } })).status,
    ).toBe(201);
  });

  it("only the recipient can accept or decline: the sender gets 404 not_found", async () => {
    const a = await signup("a");
    const b = await signup("b");
    await api("POST", "/v1/friends/requests", { token: a.token, body: { user_id: b.id } });
    expectError(await api("POST", `/v1/friends/${b.id}/accept`, { token: a.token }), "not_found");
    expectError(await api("POST", `/v1/friends/${b.id}/decline`, { token: a.token }), "not_found");
    expect(await stateWith(a, b)).toBe("outgoing");
  });

  it("withdrawing my request (DELETE) removes it on both sides", async () => {
    const a = await signup("a");
    const b = await signup("b");
    await api("POST", "/v1/friends/requests", { token: a.token, body: { user_id: b.id } });
    expect((await api("DELETE", `/v1/friends/${b.id}`, { token: a.token })).status).toBe(204);
    expect(await stateWith(b, a)).toBeUndefined();
  });

  it("refuses befriending myself (400) and an unknown user (404)", async () => {
    const a = await signup("a");
    expectError(
      await api("POST", "/v1/friends/requests", { token: a.token, body: { user_id: a.id } }),
      "bad_request",
    );
    expectError(
      await api("POST", "/v1/friends/requests", {
        token: a.token,
        body: { user_id: "01ARZ3NDEKTSV4RRFFQ69G5FAV" },
      }),
      "not_found",
    );
  });
});

describe("unfriending", () => {
  it("removes the friendship for both, and a second removal is 404", async () => {
    const a = await signup("a");
    const b = await signup("b");
    await befriend(a, b);
    expect((await api("DELETE", `/v1/friends/${a.id}`, { token: b.token })).status).toBe(204);
    expect([await stateWith(a, b), await stateWith(b, a)]).toEqual([undefined, undefined]);
    expectError(await api("DELETE", `/v1/friends/${a.id}`, { token: b.token }), "not_found");
    expectError(
      await api("POST", "/v1/channels/dm", { token: a.token, body: { user_id: b.id } }),
      "not_friends",
    );
  });
});

describe("blocking", () => {
  it("a block removes the friendship and is listed for the blocker only", async () => {
    const a = await signup("a");
    const b = await signup("b");
    await befriend(a, b);
    const res = await api("POST", `/v1/friends/${b.id}/block`, { token: a.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ blocked: true });
    const mine = await friendsOf(a);
    expect(mine.friends).toEqual([]);
    expect(mine.blocked.map((x) => x.user.id)).toEqual([b.id]);
    expect(await friendsOf(b)).toEqual({ friends: [], blocked: [] });
  });

  it("a blocked user cannot send the blocker a friend request (403 blocked), nor the blocker them", async () => {
    const a = await signup("a");
    const b = await signup("b");
    await api("POST", `/v1/friends/${b.id}/block`, { token: a.token });
    expectError(
      await api("POST", "/v1/friends/requests", { token: b.token, body: { user_id: a.id } }),
      "blocked",
    );
    expectError(
      await api("POST", "/v1/friends/requests", { token: a.token, body: { user_id: b.id } }),
      "blocked",
    );
    expect(await stateWith(a, b)).toBeUndefined();
  });

  it("a block cancels a pending request, so it can no longer be accepted", async () => {
    const a = await signup("a");
    const b = await signup("b");
    await api("POST", "/v1/friends/requests", { token: b.token, body: { user_id: a.id } });
    await api("POST", `/v1/friends/${b.id}/block`, { token: a.token });
    expectError(await api("POST", `/v1/friends/${b.id}/accept`, { token: a.token }), "not_found");
    expect(await stateWith(b, a)).toBeUndefined();
  });

  it("a blocked former friend cannot open a DM or be added to a group (403 not_friends)", async () => {
    const a = await signup("a");
    const b = await signup("b");
    await befriend(a, b);
    await api("POST", `/v1/friends/${a.id}/block`, { token: b.token });
    expectError(
      await api("POST", "/v1/channels/dm", { token: a.token, body: { user_id: b.id } }),
      "not_friends",
    );
    expectError(
      await api("POST", "/v1/channels/dm", { token: b.token, body: { user_id: a.id } }),
      "not_friends",
    );
    expectError(
      await api("POST", "/v1/groups", { token: a.token, body: { name: "g", member_ids: [b.id] } }),
      "not_friends",
    );
  });

  it("a blocked user can no longer post into a 1:1 channel opened before the block (403 blocked)", async () => {
    const a = await signup("a");
    const b = await signup("b");
    await befriend(a, b);
    const dm = await api("POST", "/v1/channels/dm", { token: a.token, body: { user_id: b.id } });
    await api("POST", `/v1/friends/${b.id}/block`, { token: a.token });
    const res = await api("POST", `/v1/channels/${dm.body.channel_id}/messages`, {
      token: b.token,
      body: { client_msg_id: "after-block", text: "can you still hear me?" },
    });
    expectError(res, "blocked");
    // Neither side posts while the block stands; unblocking lets the conversation go on.
    const mine = await api("POST", `/v1/channels/${dm.body.channel_id}/messages`, {
      token: a.token,
      body: { client_msg_id: "blocker", text: "me neither" },
    });
    expectError(mine, "blocked");
    // The block ended the friendship: unblocking alone leaves the chat read-only, and becoming
    // friends again reopens it.
    await api("DELETE", `/v1/friends/${b.id}/block`, { token: a.token });
    const unblocked = await api("POST", `/v1/channels/${dm.body.channel_id}/messages`, {
      token: b.token,
      body: { client_msg_id: "after-unblock", text: "hello again" },
    });
    expectError(unblocked, "not_friends");
    await befriend(a, b);
    const again = await api("POST", `/v1/channels/${dm.body.channel_id}/messages`, {
      token: b.token,
      body: { client_msg_id: "after-unblock", text: "hello again" },
    });
    expect(again.status).toBe(201);
  });

  it("unblocking allows requests again but does not restore the friendship", async () => {
    const a = await signup("a");
    const b = await signup("b");
    await befriend(a, b);
    await api("POST", `/v1/friends/${b.id}/block`, { token: a.token });
    expect((await api("DELETE", `/v1/friends/${b.id}/block`, { token: a.token })).status).toBe(204);
    expect(await friendsOf(a)).toEqual({ friends: [], blocked: [] });
    expect(
      (await api("POST", "/v1/friends/requests", { token: b.token, body: { user_id: a.id } })).status,
    ).toBe(201);
  });

  it("refuses blocking myself (400) and an unknown user (404)", async () => {
    const a = await signup("a");
    expectError(await api("POST", `/v1/friends/${a.id}/block`, { token: a.token }), "bad_request");
    expectError(
      await api("POST", "/v1/friends/01ARZ3NDEKTSV4RRFFQ69G5FAV/block", { token: a.token }),
      "not_found",
    );
  });
});

describe("a 1:1 chat is writable while the two are friends, readable always (issue #16)", () => {
  const post = (user: TestUser, channelId: string, id: string) =>
    api("POST", `/v1/channels/${channelId}/messages`, {
      token: user.token,
      body: { client_msg_id: id, text: `message ${id}` },
    });
  const texts = async (user: TestUser, channelId: string) => {
    const res = await api("GET", `/v1/channels/${channelId}/messages`, { token: user.token });
    expect(res.status).toBe(200);
    return (res.body.messages as { text: string }[]).map((m) => m.text);
  };

  it("after an unfriend neither side can post, on the socket or over REST, until they are friends again", async () => {
    const a = await signup("a");
    const b = await signup("b");
    await befriend(a, b);
    const dm = await openDm(a, b);
    expect((await post(a, dm.channel_id, "1")).status).toBe(201);
    const chan = await connect(b, dm.channel_id);

    expect((await api("DELETE", `/v1/friends/${a.id}`, { token: b.token })).status).toBe(204);
    expectError(await post(a, dm.channel_id, "2"), "not_friends");
    chan.send({ v: 1, type: "send", id: "s3", client_msg_id: "3", text: "still there?" });
    await chan.until((s) => s.of("error").length === 1, 5_000, "the refusal");
    expect(chan.of("error")[0]).toMatchObject({ code: "not_friends", ref: "s3" });
    // Both can still read it, history and sync alike.
    expect(await texts(a, dm.channel_id)).toEqual(["message 1"]);
    expect(await texts(b, dm.channel_id)).toEqual(["message 1"]);
    chan.send({ v: 1, type: "sync", id: "y", after_seq: 0 });
    await chan.until((s) => s.of("messages").length === 1, 5_000, "sync");
    chan.close();

    await befriend(b, a);
    expect((await post(a, dm.channel_id, "4")).status).toBe(201);
    expect(await texts(b, dm.channel_id)).toEqual(["message 1", "message 4"]);
  });

  it("a deleted account's 1:1 chats stay readable for the other side and take no more posts", async () => {
    const a = await signup("a");
    const gone = await signup("gone");
    await befriend(a, gone);
    const dm = await openDm(a, gone);
    expect((await post(gone, dm.channel_id, "last")).status).toBe(201);
    const del = await api("DELETE", "/v1/account", { token: gone.token, body: { password: gone.password } });
    expect(del.status).toBe(204);

    const refused = await post(a, dm.channel_id, "hello?");
    expectError(refused, "not_friends");
    expect(refused.body.error.message).toMatch(/deleted/);
    expect(await texts(a, dm.channel_id)).toEqual(["message last"]);
  });
});

describe("friend events reach the user sockets live (issue #16)", () => {
  const pub = (u: TestUser) => ({
    id: u.id,
    handle: u.handle,
    display_name: u.handle.toUpperCase(),
    deleted: false,
  });
  /** The `friend` frames a socket got, as [other user's id, state]. */
  const events = (s: TestSocket) => s.of("friend").map((f) => [f.user.id, f.state]);

  it("request, accept, unfriend, decline and block each tell both sides, from their own side", async () => {
    const a = await signup("a");
    const b = await signup("b");
    const [aDev, bDev] = [await connect(a), await connect(b)];

    await api("POST", "/v1/friends/requests", { token: a.token, body: { user_id: b.id } });
    await bDev.until((s) => s.of("friend").length === 1, 5_000, "the request");
    expect(bDev.of("friend")[0]).toEqual({
      v: 1,
      type: "friend",
      user: pub(a),
      state: "incoming",
      since: expect.any(Number),
    });
    await aDev.until((s) => s.of("friend").length === 1, 5_000, "my own request, on my devices");
    expect(aDev.of("friend")[0]).toMatchObject({ user: pub(b), state: "outgoing" });

    await api("POST", `/v1/friends/${a.id}/accept`, { token: b.token });
    // The friend frame comes before the presence frame that a new friendship sends.
    await aDev.until((s) => s.of("presence").length === 1, 5_000, "the new friend's presence");
    const kinds = aDev.frames.filter((f) => f.type === "friend" || f.type === "presence").map((f) => f.type);
    expect(kinds).toEqual(["friend", "friend", "presence"]);
    await bDev.until((s) => s.of("friend").length === 2, 5_000, "the acceptance");

    await api("DELETE", `/v1/friends/${b.id}`, { token: a.token });
    await bDev.until((s) => s.of("friend").length === 3, 5_000, "the unfriending");

    await api("POST", "/v1/friends/requests", { token: b.token, body: { user_id: a.id } });
    await api("POST", `/v1/friends/${b.id}/decline`, { token: a.token });
    await bDev.until((s) => s.of("friend").length === 5, 5_000, "the decline");

    await api("POST", "/v1/friends/requests", { token: a.token, body: { user_id: b.id } });
    await api("POST", `/v1/friends/${a.id}/block`, { token: b.token });
    await aDev.until((s) => s.of("friend").length === 7, 5_000, "the block");
    await bDev.until((s) => s.of("friend").length === 7, 5_000, "the block, on the blocker's devices");

    expect(events(aDev)).toEqual([
      [b.id, "outgoing"],
      [b.id, "friends"],
      [b.id, "none"],
      [b.id, "incoming"],
      [b.id, "none"],
      [b.id, "outgoing"],
      [b.id, "none"],
    ]);
    expect(events(bDev)).toEqual([
      [a.id, "incoming"],
      [a.id, "friends"],
      [a.id, "none"],
      [a.id, "outgoing"],
      [a.id, "none"],
      [a.id, "incoming"],
      [a.id, "blocked"],
    ]);
    aDev.close();
    bDev.close();
  });

  it("a block of someone with no relation tells them nothing, and a deleted account leaves its friends' lists live", async () => {
    const a = await signup("a");
    const stranger = await signup("s");
    const friend = await signup("f");
    await befriend(a, friend);
    const [strangerDev, friendDev] = [await connect(stranger), await connect(friend)];

    await api("POST", `/v1/friends/${stranger.id}/block`, { token: a.token });
    await api("DELETE", "/v1/account", { token: a.token, body: { password: a.password } });
    await friendDev.until((s) => s.of("friend").length === 1, 5_000, "the deletion");
    expect(friendDev.of("friend")[0]).toMatchObject({
      user: { id: a.id, handle: null, display_name: "Deleted user", deleted: true },
      state: "none",
    });
    expect(strangerDev.of("friend")).toEqual([]);
    strangerDev.close();
    friendDev.close();
  });
});
