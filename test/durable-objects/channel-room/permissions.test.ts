/**
 * Who may read and write a channel, and what happens to a member who is removed.
 */
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ChannelRoom } from "../../../durable-objects/channel-room/channel-room.ts";
import type { UserInbox } from "../../../durable-objects/user-inbox/user-inbox.ts";
import { CLOSE } from "../../../protocol/close-codes.ts";
import { dmChannelId } from "../../../protocol/ids.ts";
import {
  api,
  befriend,
  connect,
  createGroup,
  groupOfTwo,
  openDm,
  seqsOf,
  signup,
  upgrade,
} from "../../fixtures/api.ts";

describe("permissions", () => {
  it("refuses a non-member who guesses a channel id: no socket, no post, no history", async () => {
    const a = await signup("a");
    const b = await signup("b");
    const stranger = await signup("x");
    const group = await createGroup(a, [b]);
    await api("POST", `/v1/channels/${group.channel_id}/messages`, {
      token: a.token,
      body: { client_msg_id: "1", text: "secret" },
    });

    // No ticket for a channel one is not in, nor for one that does not exist (issue #16).
    const ticket = await api("POST", "/v1/connect", {
      token: stranger.token,
      body: { channel_id: group.channel_id },
    });
    expect(ticket).toMatchObject({ status: 403, body: { error: { code: "not_a_member" } } });
    const ghostTicket = await api("POST", "/v1/connect", {
      token: stranger.token,
      body: { channel_id: "gr_01ARZ3NDEKTSV4RRFFQ69G5FAV" },
    });
    expect(ghostTicket).toEqual(ticket);

    const post = await api("POST", `/v1/channels/${group.channel_id}/messages`, {
      token: stranger.token,
      body: { client_msg_id: "2", text: "let me in" },
    });
    expect(post).toMatchObject({ status: 403, body: { error: { code: "not_a_member" } } });
    const history = await api("GET", `/v1/channels/${group.channel_id}/messages`, { token: stranger.token });
    expect(history).toMatchObject({ status: 403, body: { error: { code: "not_a_member" } } });
    expect(JSON.stringify(history.body)).not.toContain("secret");
    // A channel that does not exist answers exactly the same, so ids cannot be probed.
    const ghost = await api("GET", `/v1/channels/gr_01ARZ3NDEKTSV4RRFFQ69G5FAV/messages`, {
      token: stranger.token,
    });
    expect(ghost).toEqual(history);
    const unchanged = await api("GET", `/v1/channels/${group.channel_id}/messages`, { token: a.token });
    expect(unchanged.body.messages).toHaveLength(1);
  });

  it("closes a removed member's channel socket and sends it nothing more", async () => {
    const owner = await signup("o");
    const kept = await signup("k");
    const removed = await signup("r");
    const group = await createGroup(owner, [kept, removed]);
    const removedChan = await connect(removed, group.channel_id);
    const removedUser = await connect(removed);
    const res = await api("DELETE", `/v1/groups/${group.channel_id}/members/${removed.id}`, {
      token: owner.token,
    });
    expect(res.status).toBe(200);
    await removedChan.until((s) => s.closed !== null, 5_000, "close");
    expect(removedChan.closed?.code).toBe(CLOSE.removed);
    await removedUser.until((s) => s.of("channel").some((f) => f.removed === true), 5_000, "removal frame");

    await api("POST", `/v1/channels/${group.channel_id}/messages`, {
      token: owner.token,
      body: { client_msg_id: "after", text: "not for you" },
    });
    const keptUser = await connect(kept);
    keptUser.send({ v: 1, type: "resume", cursors: [{ channel_id: group.channel_id, seq: 0 }] });
    await keptUser.until((s) => seqsOf(s, group.channel_id).length === 1);
    expect(seqsOf(removedUser, group.channel_id)).toEqual([]);
    const list = await api("GET", "/v1/channels", { token: removed.token });
    expect(list.body.channels).toEqual([]);
  });

  it("tells a removed member the last seq it may read, after the messages up to there", async () => {
    const owner = await signup("o");
    const removed = await signup("r");
    const group = await createGroup(owner, [removed, await signup("k")]);
    const device = await connect(removed);
    const room = env.CHANNEL_ROOM.getByName(group.channel_id);
    // The member's updates are held back while 3 messages are posted, it is removed, and 2
    // more follow: its removal must not reveal them (issue #16).
    await runInDurableObject(room, (r: ChannelRoom) => {
      r.faults.failUserUpdates = true;
    });
    const post = (n: number) =>
      api("POST", `/v1/channels/${group.channel_id}/messages`, {
        token: owner.token,
        body: { client_msg_id: `m${n}`, text: `message ${n}` },
      });
    for (const n of [1, 2, 3]) await post(n);
    await api("DELETE", `/v1/groups/${group.channel_id}/members/${removed.id}`, { token: owner.token });
    for (const n of [4, 5]) await post(n);
    await runInDurableObject(room, async (r: ChannelRoom) => {
      r.faults.failUserUpdates = false;
      await r.alarm();
    });

    await device.until((s) => s.of("channel").some((f) => f.removed), 10_000, "the removal");
    expect(seqsOf(device, group.channel_id)).toEqual([1, 2, 3]);
    const removal = device.of("channel").find((f) => f.removed);
    expect(removal?.channel).toMatchObject({ channel_id: group.channel_id, head_seq: 3, last_message: null });
    device.close();
  });

  it("shows a new member history only from the moment it joined", async () => {
    const owner = await signup("o");
    const early = await signup("e");
    const late = await signup("l");
    const group = await createGroup(owner, [early]);
    for (const n of [1, 2]) {
      await api("POST", `/v1/channels/${group.channel_id}/messages`, {
        token: owner.token,
        body: { client_msg_id: `b${n}`, text: `before ${n}` },
      });
    }
    await api("POST", "/v1/friends/requests", { token: owner.token, body: { user_id: late.id } });
    await api("POST", `/v1/friends/${owner.id}/accept`, { token: late.token });
    await api("POST", `/v1/groups/${group.channel_id}/members`, {
      token: owner.token,
      body: { user_ids: [late.id] },
    });
    await api("POST", `/v1/channels/${group.channel_id}/messages`, {
      token: owner.token,
      body: { client_msg_id: "a1", text: "after" },
    });
    const history = await api("GET", `/v1/channels/${group.channel_id}/messages`, { token: late.token });
    expect(history.body.messages.map((m: { text: string }) => m.text)).toEqual(["after"]);
    const chan = await connect(late, group.channel_id);
    chan.send({ v: 1, type: "sync", after_seq: 0 });
    await chan.until((s) => s.of("messages").length === 1);
    expect(seqsOf(chan, group.channel_id)).toEqual([3]);
  });
});

describe("sockets and tickets", () => {
  it("gives a ticket for a 1:1 channel opened a moment ago, before its update reached the user object", async () => {
    const a = await signup("a");
    const b = await signup("b");
    await befriend(a, b);
    // B's user object will not hear of the channel: the fault holds every update back.
    await runInDurableObject(env.CHANNEL_ROOM.getByName(dmChannelId(a.id, b.id)), (room: ChannelRoom) => {
      room.faults.failUserUpdates = true;
    });
    const dm = await openDm(a, b);
    expect(
      await runInDurableObject(env.USER_INBOX.getByName(b.id), (inbox: UserInbox) =>
        inbox.hasChannel(dm.channel_id),
      ),
    ).toBe(false);
    const chan = await connect(b, dm.channel_id);
    expect(chan.of("hello")[0]).toMatchObject({ channel_id: dm.channel_id });
    chan.close();
  });

  it("records nothing for a refused upgrade", async () => {
    const owner = await signup("o");
    const b = await signup("b");
    const group = await createGroup(owner, [b]);
    const ticket = await api("POST", "/v1/connect", {
      token: b.token,
      body: { channel_id: group.channel_id },
    });
    expect(ticket.status).toBe(200);
    // Removed between the ticket and the upgrade: the channel refuses it.
    await api("DELETE", `/v1/groups/${group.channel_id}/members/${b.id}`, { token: owner.token });
    await expect(upgrade(ticket.body.url, ticket.body.ticket)).rejects.toThrow(/403.*not_a_member/);
    const recorded = await runInDurableObject(env.USER_INBOX.getByName(b.id), (_inbox, state) =>
      state.storage.sql.exec("SELECT channel_id FROM channel_sockets").toArray(),
    );
    expect(recorded).toEqual([]);
  });

  it("accepts a ticket once", async () => {
    const a = await signup("a");
    for (const body of [{}, { channel_id: (await createGroup(a, [await signup("b")])).channel_id }]) {
      const t = await api("POST", "/v1/connect", { token: a.token, body });
      const first = await upgrade(t.body.url, t.body.ticket);
      await expect(upgrade(t.body.url, t.body.ticket)).rejects.toThrow(/401.*ticket_used/);
      first.close();
    }
  });

  it("refuses an upgrade without a valid ticket before it reaches a Durable Object", async () => {
    const a = await signup("a");
    const t = await api("POST", "/v1/connect", { token: a.token, body: {} });
    const forged = `${t.body.ticket.slice(0, -4)}AAAA`;
    for (const ticket of ["", forged, a.token]) {
      const res = await exports.default.fetch(`http://chat.test/v1/ws/user?ticket=${ticket}`, {
        headers: { upgrade: "websocket" },
      });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("ticket_invalid");
    }
    // A user-socket ticket does not open a channel socket.
    const res = await exports.default.fetch(
      `http://chat.test/v1/ws/channels/gr_01ARZ3NDEKTSV4RRFFQ69G5FAV?ticket=${t.body.ticket}`,
      { headers: { upgrade: "websocket" } },
    );
    expect(res.status).toBe(401);
  });

  it("accepts the ticket in the Sec-WebSocket-Protocol header and answers with the subprotocol", async () => {
    const a = await signup("a");
    const t = await api("POST", "/v1/connect", { token: a.token, body: {} });
    const res = await exports.default.fetch("http://chat.test/v1/ws/user", {
      headers: { upgrade: "websocket", "sec-websocket-protocol": `edge-chat.v1, ticket.${t.body.ticket}` },
    });
    expect(res.status).toBe(101);
    expect(res.headers.get("sec-websocket-protocol")).toBe("edge-chat.v1");
    res.webSocket?.accept();
    res.webSocket?.close();
  });

  it("closes every socket of a revoked device and refuses its unused tickets", async () => {
    const { a, group } = await groupOfTwo();
    const user = await connect(a);
    const chan = await connect(a, group.channel_id);
    const spare = await api("POST", "/v1/connect", { token: a.token, body: {} });
    const other = await (await import("../../fixtures/api.ts")).login(a, "other");
    const revoke = await api("DELETE", `/v1/devices/${a.deviceId}`, { token: other.token });
    expect(revoke.status).toBe(204);
    await user.until((s) => s.closed !== null, 5_000, "user socket close");
    await chan.until((s) => s.closed !== null, 5_000, "channel socket close");
    expect(user.closed?.code).toBe(CLOSE.revoked);
    expect(chan.closed?.code).toBe(CLOSE.revoked);
    await expect(upgrade(spare.body.url, spare.body.ticket)).rejects.toThrow(/401/);
    expect((await api("GET", "/v1/users/me", { token: a.token })).status).toBe(401);
  });
});
