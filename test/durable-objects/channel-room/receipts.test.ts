/**
 * Delivery states and unread counts: DELIVERED when a device acknowledges receipt, READ when
 * the read marker passes a message; both only move forward, and a user's devices agree.
 * Marker moves reach the channel's sockets folded into `receipts` frames: at most one per
 * socket per interval (RECEIPTS_INTERVAL_MS), never more than one interval old.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { MemberReceipt } from "../../../protocol/api.ts";
import {
  api,
  channelAtHead,
  connect,
  createGroup,
  groupOfTwo,
  login,
  signup,
  type TestSocket,
} from "../../fixtures/api.ts";

const INTERVAL_MS = Number(env.RECEIPTS_INTERVAL_MS);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The latest markers of `userId` the socket was shown (receipts frames keep the larger value). */
function shown(s: TestSocket, userId: string): { delivered: number; read: number } {
  let delivered = 0;
  let read = 0;
  for (const f of s.of("receipts")) {
    for (const m of f.members as MemberReceipt[]) {
      if (m.user_id !== userId) continue;
      delivered = Math.max(delivered, m.delivered_seq);
      read = Math.max(read, m.read_seq);
    }
  }
  return { delivered, read };
}

async function postMessages(chan: TestSocket, n: number, prefix = "m"): Promise<void> {
  const before = chan.of("ack").length;
  for (let i = 1; i <= n; i++)
    chan.send({ v: 1, type: "send", client_msg_id: `${prefix}${i}`, text: `hi ${i}` });
  await chan.until((s) => s.of("ack").length === before + n, 10_000, `${n} acks`);
}

describe("receipts and unread", () => {
  it("shows the sender who received and who read, in counts per message", async () => {
    const a = await signup("a");
    const b = await signup("b");
    const c = await signup("c");
    const group = await createGroup(a, [b, c]);
    const sender = await connect(a, group.channel_id);
    await postMessages(sender, 3);

    const bChan = await connect(b, group.channel_id);
    bChan.send({ v: 1, type: "delivered", seq: 3 });
    const cUser = await connect(c);
    cUser.send({ v: 1, type: "delivered", cursors: [{ channel_id: group.channel_id, seq: 2 }] });
    await sender.until(
      (s) => shown(s, b.id).delivered === 3 && shown(s, c.id).delivered === 2,
      5_000,
      "delivered markers",
    );
    await api("POST", `/v1/channels/${group.channel_id}/read`, { token: b.token, body: { seq: 3 } });
    await sender.until((s) => shown(s, b.id).read === 3, 5_000, "read marker");

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

  it("sends each socket at most one receipts frame per interval, however many markers a client sends", async () => {
    const a = await signup("a");
    const b = await signup("b");
    const c = await signup("c");
    const group = await createGroup(a, [b, c]);
    const sender = await connect(a, group.channel_id);
    await postMessages(sender, 100);
    const observer = await connect(c, group.channel_id);
    const flooder = await connect(b, group.channel_id);
    const flooderUser = await connect(b);

    // b floods: a read and a delivered frame for every seq, on both sockets, over ~3 intervals.
    const started = Date.now();
    for (let seq = 1; seq <= 100; seq++) {
      flooder.send({ v: 1, type: "delivered", seq });
      flooder.send({ v: 1, type: "read", seq });
      flooderUser.send({ v: 1, type: "delivered", cursors: [{ channel_id: group.channel_id, seq }] });
      if (seq % 10 === 0) await sleep((3 * INTERVAL_MS) / 10);
    }
    await observer.until((s) => shown(s, b.id).read === 100, 3 * INTERVAL_MS, "the flood's last marker");
    const elapsed = Date.now() - started;
    const frames = observer.of("receipts").length;
    // 300 marker frames in, at most one receipts frame per interval out (plus the first, at once).
    expect(frames).toBeGreaterThan(0);
    expect(frames).toBeLessThanOrEqual(Math.ceil(elapsed / INTERVAL_MS) + 1);
    expect(shown(observer, b.id)).toEqual({ delivered: 100, read: 100 });
    // Consecutive frames are at least about an interval apart.
    const at = observer.arrivals.filter((_, i) => observer.frames[i]?.type === "receipts");
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(INTERVAL_MS - 50);
  });

  it("shows every marker move within one interval", async () => {
    const { a, b, group } = await groupOfTwo();
    const sender = await connect(a, group.channel_id);
    await postMessages(sender, 12);
    const reader = await connect(b, group.channel_id);
    // Moves at uneven times: right after a frame, mid-interval, after a quiet spell.
    const pauses = [0, 50, 300, 700, 20, 1_500, 10, 400, 900, 60, 2_100, 5];
    for (let seq = 1; seq <= pauses.length; seq++) {
      await sleep(pauses[seq - 1]!);
      const movedAt = Date.now();
      reader.send({ v: 1, type: seq % 2 ? "read" : "delivered", seq });
      await sender.until(
        (s) => (seq % 2 ? shown(s, b.id).read : shown(s, b.id).delivered) >= seq,
        3 * INTERVAL_MS,
        `move ${seq}`,
      );
      const seenAt = sender.arrivals.at(-1)!;
      // One interval, plus what a busy test runtime adds to a timer.
      expect(seenAt - movedAt).toBeLessThanOrEqual(INTERVAL_MS + 250);
    }
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
