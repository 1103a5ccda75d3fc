/**
 * Delivery states and unread counts: DELIVERED when a device acknowledges receipt, READ when
 * the read marker passes a message; both only move forward, and a user's devices agree.
 */
import { describe, expect, it } from "vitest";
import { api, channelAtHead, connect, createGroup, groupOfTwo, login, signup } from "../../fixtures/api.ts";

describe("receipts and unread", () => {
  it("shows the sender who received and who read, in counts per message", async () => {
    const a = await signup("a");
    const b = await signup("b");
    const c = await signup("c");
    const group = await createGroup(a, [b, c]);
    const sender = await connect(a, group.channel_id);
    for (let i = 1; i <= 3; i++)
      sender.send({ v: 1, type: "send", client_msg_id: `m${i}`, text: `hello ${i}` });
    await sender.until((s) => s.of("ack").length === 3);

    const bChan = await connect(b, group.channel_id);
    bChan.send({ v: 1, type: "delivered", seq: 3 });
    const cUser = await connect(c);
    cUser.send({ v: 1, type: "delivered", cursors: [{ channel_id: group.channel_id, seq: 2 }] });
    await sender.until((s) => s.of("delivered").length === 2, 5_000, "delivered frames");
    expect(
      sender
        .of("delivered")
        .map((f) => [f.user_id, f.seq])
        .sort(),
    ).toEqual(
      [
        [b.id, 3],
        [c.id, 2],
      ].sort(),
    );
    await api("POST", `/v1/channels/${group.channel_id}/read`, { token: b.token, body: { seq: 3 } });
    await sender.until((s) => s.of("read").length === 1);

    const receipts = await api("GET", `/v1/channels/${group.channel_id}/receipts`, { token: a.token });
    const others = receipts.body.members.filter((m: { user_id: string }) => m.user_id !== a.id);
    const count = (seq: number, key: "delivered_seq" | "read_seq") =>
      others.filter((m: Record<string, number>) => (m[key] ?? 0) >= seq).length;
    // Message 3: delivered to 1 of 2 (b), read by 1 of 2; message 2: delivered to both.
    expect([count(3, "delivered_seq"), count(3, "read_seq"), count(2, "delivered_seq")]).toEqual([1, 1, 2]);
    const stranger = await signup("x");
    expect(
      (await api("GET", `/v1/channels/${group.channel_id}/receipts`, { token: stranger.token })).status,
    ).toBe(403);
  });

  it("clears unread on my other devices when I read on one, and never moves a marker back", async () => {
    const { a, b, group } = await groupOfTwo();
    for (let i = 1; i <= 4; i++) {
      await api("POST", `/v1/channels/${group.channel_id}/messages`, {
        token: a.token,
        body: { client_msg_id: `u${i}`, text: "x" },
      });
    }
    const phone = await connect(b);
    const laptop = await login(b, "laptop");
    // Posted while b had no device connected: b's list catches up within about a second.
    const before = await channelAtHead(laptop.token, group.channel_id, 4);
    expect(before).toMatchObject({ head_seq: 4, unread: 4 });

    const read = await api("POST", `/v1/channels/${group.channel_id}/read`, {
      token: laptop.token,
      body: { seq: 4 },
    });
    expect(read.body.read_seq).toBe(4);
    await phone.until((s) => s.of("channel").some((f) => f.channel.unread === 0), 5_000, "unread cleared");
    const back = await api("POST", `/v1/channels/${group.channel_id}/read`, {
      token: laptop.token,
      body: { seq: 1 },
    });
    expect(back.body.read_seq).toBe(4);
    const after = await api("GET", "/v1/channels", { token: b.token });
    expect(after.body.channels[0]).toMatchObject({ read_seq: 4, unread: 0 });
  });
});

describe("my own messages", () => {
  it("are never unread for me, on any of my devices", async () => {
    const { a, b, group } = await groupOfTwo();
    await api("POST", `/v1/channels/${group.channel_id}/messages`, {
      token: b.token,
      body: { client_msg_id: "b1", text: "hi" },
    });
    await api("POST", `/v1/channels/${group.channel_id}/messages`, {
      token: a.token,
      body: { client_msg_id: "a1", text: "hello" },
    });
    const other = await login(a, "other");
    // Users with no device connected get the channel's updates folded over a second.
    expect(await channelAtHead(other.token, group.channel_id, 2)).toMatchObject({
      head_seq: 2,
      read_seq: 2,
      unread: 0,
    });
    expect(await channelAtHead(b.token, group.channel_id, 2)).toMatchObject({
      head_seq: 2,
      read_seq: 1,
      unread: 1,
    });
  });
});
