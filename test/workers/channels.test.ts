// 1:1 channels (POST /v1/channels/dm), my conversation list (GET /v1/channels), and that a
// channel's details, history, messages and read marker are for its members only.
import { describe, expect, it, vi } from "vitest";
import type { ChannelInfo } from "../../protocol/api.ts";
import type { ChannelSummary } from "../../protocol/frames.ts";
import { api, befriend, createGroup, openDm, signup, type TestUser } from "../fixtures/api.ts";
import { expectError } from "./expect-error.ts";

/** A user with no device connected gets a channel's updates folded over about a second. */
const WAIT = { timeout: 5_000, interval: 50 };

async function myChannels(user: TestUser): Promise<ChannelSummary[]> {
  const res = await api<{ channels: ChannelSummary[] }>("GET", "/v1/channels", { token: user.token });
  expect(res.status).toBe(200);
  return res.body.channels;
}

describe("POST /v1/channels/dm", () => {
  it("opens the one 1:1 channel of two friends, the same whichever side opens it", async () => {
    const a = await signup("a");
    const b = await signup("b");
    await befriend(a, b);
    const res = await api<ChannelInfo>("POST", "/v1/channels/dm", {
      token: a.token,
      body: { user_id: b.id },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ kind: "dm", name: null, owner_id: null, head_seq: 0 });
    expect(res.body.members.map((m) => m.user_id).sort()).toEqual([a.id, b.id].sort());

    const again = await openDm(b, a);
    expect(again.channel_id).toBe(res.body.channel_id);
    const details = await api<ChannelInfo>("GET", `/v1/channels/${again.channel_id}`, { token: b.token });
    expect(details.status).toBe(200);
    expect(details.body).toEqual(res.body);
  });

  it("refuses a user who is not my friend, or has only a pending request, with 403 not_friends", async () => {
    const a = await signup("a");
    const stranger = await signup("stranger");
    expectError(
      await api("POST", "/v1/channels/dm", { token: a.token, body: { user_id: stranger.id } }),
      "not_friends",
    );
    await api("POST", "/v1/friends/requests", { token: a.token, body: { user_id: stranger.id } });
    expectError(
      await api("POST", "/v1/channels/dm", { token: a.token, body: { user_id: stranger.id } }),
      "not_friends",
    );
  });

  it("refuses a 1:1 channel with myself (400 bad_request)", async () => {
    const a = await signup("a");
    expectError(
      await api("POST", "/v1/channels/dm", { token: a.token, body: { user_id: a.id } }),
      "bad_request",
    );
  });
});

describe("GET /v1/channels", () => {
  it("lists my 1:1 channels and groups with head and unread counts", async () => {
    const a = await signup("a");
    const b = await signup("b");
    const c = await signup("c");
    await befriend(a, b);
    const dm = await openDm(a, b);
    const group = await createGroup(a, [c], "team");
    const sent = await api("POST", `/v1/channels/${dm.channel_id}/messages`, {
      token: b.token,
      body: { client_msg_id: "m1", text: "hello" },
    });
    expect(sent.status).toBe(201);

    // The user object hears of channels from the channel objects a moment later.
    await vi.waitFor(async () => {
      const list = await myChannels(a);
      expect(list.map((ch) => ch.channel_id).sort()).toEqual([dm.channel_id, group.channel_id].sort());
      expect(list.find((ch) => ch.channel_id === dm.channel_id)).toMatchObject({
        kind: "dm",
        head_seq: 1,
        unread: 1,
      });
      expect(list.find((ch) => ch.channel_id === group.channel_id)).toMatchObject({
        kind: "group",
        name: "team",
        unread: 0,
      });
    }, WAIT);
    await vi.waitFor(
      async () => expect((await myChannels(c)).map((ch) => ch.channel_id)).toEqual([group.channel_id]),
      WAIT,
    );
  });

  it("is empty for a new user", async () => {
    expect(await myChannels(await signup("new"))).toEqual([]);
  });
});

describe("a channel I am not in", () => {
  it("shows me neither its details, nor its history, nor lets me post or move a read marker (403 not_a_member)", async () => {
    const a = await signup("a");
    const b = await signup("b");
    const outsider = await signup("outsider");
    await befriend(a, b);
    const dm = await openDm(a, b);
    await api("POST", `/v1/channels/${dm.channel_id}/messages`, {
      token: a.token,
      body: { client_msg_id: "x1", text: "secret" },
    });
    const base = `/v1/channels/${dm.channel_id}`;

    expectError(await api("GET", base, { token: outsider.token }), "not_a_member");
    expectError(await api("GET", `${base}/messages`, { token: outsider.token }), "not_a_member");
    expectError(
      await api("POST", `${base}/messages`, {
        token: outsider.token,
        body: { client_msg_id: "x2", text: "let me in" },
      }),
      "not_a_member",
    );
    expectError(
      await api("POST", `${base}/read`, { token: outsider.token, body: { seq: 1 } }),
      "not_a_member",
    );

    const history = await api<{ messages: { text: string }[] }>("GET", `${base}/messages`, {
      token: b.token,
    });
    expect(history.body.messages.map((m) => m.text)).toEqual(["secret"]);
  });

  it("a removed group member can no longer read its history", async () => {
    const owner = await signup("owner");
    const b = await signup("b");
    const group = await createGroup(owner, [b], "history");
    await api("POST", `/v1/channels/${group.channel_id}/messages`, {
      token: owner.token,
      body: { client_msg_id: "g1", text: "hi" },
    });
    expect((await api("GET", `/v1/channels/${group.channel_id}/messages`, { token: b.token })).status).toBe(
      200,
    );
    await api("DELETE", `/v1/groups/${group.channel_id}/members/${b.id}`, { token: owner.token });
    expectError(
      await api("GET", `/v1/channels/${group.channel_id}/messages`, { token: b.token }),
      "not_a_member",
    );
  });

  it("answers a channel id that does not exist like one I am not in, and a malformed id with 404", async () => {
    const a = await signup("a");
    expectError(
      await api("GET", "/v1/channels/gr_01ARZ3NDEKTSV4RRFFQ69G5FAV/messages", { token: a.token }),
      "not_a_member",
    );
    expectError(await api("GET", "/v1/channels/general/messages", { token: a.token }), "not_found");
  });
});
