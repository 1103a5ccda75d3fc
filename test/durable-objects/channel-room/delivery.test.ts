/**
 * Delivery to user sockets: batched updates from the channel object, exact resume after an
 * absence, channel-socket sync, and nothing lost when the process dies between ack and
 * fan-out.
 */

import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { onSlot, phaseOf } from "../../../domain/slots.ts";
import type { ChannelRoom } from "../../../durable-objects/channel-room/channel-room.ts";
import { VIEWING_WINDOW_MS } from "../../../durable-objects/channel-room/member-updates.ts";
import {
  api,
  channelAtHead,
  connect,
  createGroup,
  groupOfTwo,
  login,
  seqsOf,
  signup,
} from "../../fixtures/api.ts";

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * Waits until just after this member's slot of the viewers' fold window, so that an update
 * the channel folds now would otherwise wait ~5 s for the next slot.
 */
async function justAfterViewerSlot(userId: string): Promise<void> {
  const now = Date.now();
  const slotIn = onSlot(now, phaseOf(userId, VIEWING_WINDOW_MS), VIEWING_WINDOW_MS) - now;
  await new Promise((r) => setTimeout(r, slotIn + 200));
}

describe("delivery through user sockets", () => {
  it("delivers a 200-message burst once and in order, in at most a tenth as many calls", async () => {
    const { a, b, group } = await groupOfTwo();
    const bUser = await connect(b);
    const chan = await connect(a, group.channel_id);
    for (let i = 1; i <= 200; i++)
      chan.send({ v: 1, type: "send", client_msg_id: `b${i}`, text: `burst ${i}` });
    await chan.until((s) => s.of("ack").length === 200, 15_000, "200 acks");
    await bUser.until((s) => seqsOf(s, group.channel_id).length >= 200, 10_000, "200 deliveries");
    expect(seqsOf(bUser, group.channel_id)).toEqual(range(1, 200));
    const calls = await env.CHANNEL_ROOM.getByName(group.channel_id).updateCalls();
    expect(calls[b.id]).toBeGreaterThan(0);
    expect(calls[b.id]).toBeLessThanOrEqual(20);
  });

  it("resumes a device that missed 500 messages with exactly those, in order, in pages", async () => {
    const { a, b, group } = await groupOfTwo();
    const chan = await connect(a, group.channel_id);
    const first = await connect(b);
    for (let i = 1; i <= 3; i++)
      chan.send({ v: 1, type: "send", client_msg_id: `pre${i}`, text: `before ${i}` });
    await first.until((s) => seqsOf(s, group.channel_id).length === 3);
    const cursor = Math.max(...seqsOf(first, group.channel_id));
    first.close();

    for (let i = 1; i <= 500; i++)
      chan.send({ v: 1, type: "send", client_msg_id: `off${i}`, text: `while away ${i}` });
    await chan.until((s) => s.of("ack").length === 503, 15_000, "acks");
    await channelAtHead(b.token, group.channel_id, 503);

    const back = await connect(b);
    back.send({ v: 1, type: "resume", id: "r1", cursors: [{ channel_id: group.channel_id, seq: cursor }] });
    await back.until((s) => s.of("resumed").length === 1, 10_000, "resumed");
    const pages = back.of("messages");
    expect(pages.length).toBeGreaterThan(1);
    expect(pages.every((p) => p.messages.length <= 200)).toBe(true);
    expect(pages.at(-1)!.complete).toBe(true);
    expect(pages.slice(0, -1).every((p) => !p.complete)).toBe(true);
    expect(seqsOf(back, group.channel_id)).toEqual(range(4, 503));
    expect(back.of("resumed")[0]).toMatchObject({ ref: "r1", channels: 1, messages: 500 });

    // And it is live again afterwards, with no duplicate.
    chan.send({ v: 1, type: "send", client_msg_id: "after", text: "welcome back" });
    await back.until((s) => seqsOf(s, group.channel_id).length === 501);
    expect(seqsOf(back, group.channel_id).at(-1)).toBe(504);
  });

  it("resumes exactly even while the user object is still catching up with the channel", async () => {
    const { a, b, group } = await groupOfTwo();
    const chan = await connect(a, group.channel_id);
    for (let i = 1; i <= 300; i++)
      chan.send({ v: 1, type: "send", client_msg_id: `q${i}`, text: `quick ${i}` });
    await chan.until((s) => s.of("ack").length === 300, 15_000, "acks");
    // Reconnect at once: some updates to the user object may still be in flight.
    const back = await connect(b);
    back.send({ v: 1, type: "resume", cursors: [{ channel_id: group.channel_id, seq: 0 }] });
    await back.until((s) => seqsOf(s, group.channel_id).length >= 300, 10_000, "all 300");
    await new Promise((r) => setTimeout(r, 300));
    expect(seqsOf(back, group.channel_id)).toEqual(range(1, 300));
  });

  it("pages a channel socket's sync and then keeps it live", async () => {
    const { a, b, group } = await groupOfTwo();
    const sender = await connect(a, group.channel_id);
    for (let i = 1; i <= 450; i++) sender.send({ v: 1, type: "send", client_msg_id: `h${i}`, text: `m${i}` });
    await sender.until((s) => s.of("ack").length === 450, 10_000, "acks");
    const chan = await connect(b, group.channel_id);
    expect(chan.of("hello")[0]).toMatchObject({ head_seq: 450 });
    let after = 10;
    for (;;) {
      const n = chan.of("messages").length;
      chan.send({ v: 1, type: "sync", after_seq: after });
      await chan.until((s) => s.of("messages").length === n + 1);
      const page = chan.of("messages").at(-1)!;
      after = page.next_after_seq;
      if (page.complete) break;
    }
    expect(seqsOf(chan, group.channel_id)).toEqual(range(11, 450));
    await api("POST", `/v1/channels/${group.channel_id}/messages`, {
      token: a.token,
      body: { client_msg_id: "live", text: "live" },
    });
    await chan.until((s) => s.of("message").length === 1);
    expect(chan.of("message")[0]!.message.seq).toBe(451);
  });

  it("gives a device that connects while its user's only device views the channel live messages at once", async () => {
    const { a, b, group } = await groupOfTwo();
    const aChan = await connect(a, group.channel_id);
    // B's phone views the group: the channel folds B's user-object updates over 5 s.
    await connect(b);
    const bPhone = await connect(b, group.channel_id);
    for (let i = 1; i <= 3; i++)
      aChan.send({ v: 1, type: "send", client_msg_id: `v${i}`, text: `viewed ${i}` });
    await bPhone.until((s) => seqsOf(s, group.channel_id).length === 3, 5_000, "phone");
    // B's user object has had its (folded) update, so the channel knows all B's devices view it.
    await channelAtHead(b.token, group.channel_id, 3);
    // Post right after B's slot of the window, so that waiting for the next slot would take ~5 s.
    await justAfterViewerSlot(b.id);
    // B's laptop opens only its user socket, then A posts: the laptop must not wait for the fold.
    const laptop = await connect(await login(b, "laptop"));
    const sentAt = Date.now();
    aChan.send({ v: 1, type: "send", client_msg_id: "v4", text: "to the laptop" });
    await laptop.until((s) => seqsOf(s, group.channel_id).includes(4), 5_000, "laptop");
    expect(Date.now() - sentAt).toBeLessThan(1_500);
  });

  it("does not keep a new device waiting when its user's only device opened the channel after the last update", async () => {
    const { a, b, group } = await groupOfTwo();
    const aChan = await connect(a, group.channel_id);
    // B's phone on its user socket gets the first message: the channel learns B's one device.
    const bPhoneUser = await connect(b);
    aChan.send({ v: 1, type: "send", client_msg_id: "w1", text: "before viewing" });
    await bPhoneUser.until((s) => seqsOf(s, group.channel_id).includes(1), 5_000, "phone");
    await new Promise((r) => setTimeout(r, 1_200)); // no longer a "recent" channel for B
    // The phone opens the conversation, and A posts right after B's slot of the viewers'
    // window: the channel folds B's update for ~5 s, and no update has told B's user object so.
    const bPhone = await connect(b, group.channel_id);
    await justAfterViewerSlot(b.id);
    aChan.send({ v: 1, type: "send", client_msg_id: "w2", text: "while viewing" });
    await bPhone.until((s) => seqsOf(s, group.channel_id).includes(2), 5_000, "phone viewing");
    // B's laptop connects; A's next message must reach it without waiting out the fold.
    const laptop = await connect(await login(b, "laptop"));
    const sentAt = Date.now();
    aChan.send({ v: 1, type: "send", client_msg_id: "w3", text: "to the laptop" });
    await laptop.until((s) => seqsOf(s, group.channel_id).includes(3), 5_000, "laptop");
    expect(Date.now() - sentAt).toBeLessThan(1_500);
  });

  it("brings the user object current as soon as its only viewing device leaves the channel", async () => {
    const { a, b, group } = await groupOfTwo();
    const aChan = await connect(a, group.channel_id);
    await connect(b);
    const bPhone = await connect(b, group.channel_id);
    aChan.send({ v: 1, type: "send", client_msg_id: "l1", text: "first" });
    await channelAtHead(b.token, group.channel_id, 1);
    // Right after B's slot, so the folded update would otherwise come ~5 s later.
    await justAfterViewerSlot(b.id);
    aChan.send({ v: 1, type: "send", client_msg_id: "l2", text: "second" });
    await bPhone.until((s) => seqsOf(s, group.channel_id).includes(2), 5_000, "phone");
    const leftAt = Date.now();
    bPhone.close();
    await channelAtHead(b.token, group.channel_id, 2);
    expect(Date.now() - leftAt).toBeLessThan(1_500);
  });

  it("keeps the list and every device exact while the user object is sent only the newest message", async () => {
    const { a, b, group } = await groupOfTwo();
    const aChan = await connect(a, group.channel_id);
    const bUser = await connect(b);
    const bChan = await connect(b, group.channel_id);
    aChan.send({ v: 1, type: "send", client_msg_id: "n1", text: "viewed 1" });
    // From this update on, the channel knows B's only device views it.
    await channelAtHead(b.token, group.channel_id, 1);
    for (let i = 2; i <= 30; i++)
      aChan.send({ v: 1, type: "send", client_msg_id: `n${i}`, text: `viewed ${i}` });
    await bChan.until((s) => seqsOf(s, group.channel_id).length === 30, 5_000, "channel socket");
    // The folded update carried message 30 only: the list shows it, with every message unread.
    const entry = await channelAtHead(b.token, group.channel_id, 30);
    expect(entry).toMatchObject({ unread: 30, last_message: { seq: 30, preview: "viewed 30" } });
    // A laptop resuming from nothing gets all 30 from the channel, once and in order.
    const laptop = await connect(await login(b, "laptop"));
    laptop.send({ v: 1, type: "resume", cursors: [{ channel_id: group.channel_id, seq: 0 }] });
    await laptop.until((s) => s.of("resumed").length === 1, 5_000, "laptop resume");
    expect(seqsOf(laptop, group.channel_id)).toEqual(range(1, 30));
    // The phone leaves the conversation: its user socket continues at 31, with no old copies.
    bChan.close();
    aChan.send({ v: 1, type: "send", client_msg_id: "n31", text: "after leaving" });
    await bUser.until((s) => seqsOf(s, group.channel_id).includes(31), 5_000, "phone user socket");
    await laptop.until((s) => seqsOf(s, group.channel_id).includes(31), 5_000, "laptop live");
    expect(seqsOf(bUser, group.channel_id)).toEqual([31]);
    expect(seqsOf(laptop, group.channel_id)).toEqual(range(1, 31));
  });

  it("starts a user socket live from its connect while older messages are still on their way", async () => {
    const { a, b, group } = await groupOfTwo();
    const aChan = await connect(a, group.channel_id);
    // B has no device: after the first, B's updates fold over a second.
    for (let i = 1; i <= 5; i++) aChan.send({ v: 1, type: "send", client_msg_id: `o${i}`, text: `old ${i}` });
    await aChan.until((s) => s.of("ack").length === 5, 5_000, "acks");
    // B's laptop connects inside that second (no resume), so the fold arrives after it.
    const laptop = await connect(b);
    aChan.send({ v: 1, type: "send", client_msg_id: "o6", text: "new 6" });
    await laptop.until((s) => seqsOf(s, group.channel_id).includes(6), 5_000, "the new message");
    // Only what was stored after the connect comes live; the older ones show in the summary.
    expect(seqsOf(laptop, group.channel_id)).toEqual([6]);
    // The summary comes with the first update after the connect: it counts the older ones (and
    // message 6 too, when the fold brought it in the same update).
    const summary = laptop.of("channel").findLast((f) => f.channel.channel_id === group.channel_id);
    const head = summary?.channel.head_seq ?? 0;
    expect([5, 6]).toContain(head);
    expect(summary?.channel).toMatchObject({
      unread: head,
      last_message: { preview: head === 5 ? "old 5" : "new 6" },
    });
  });

  it("loses nothing when the channel object dies between the acks and the updates", async () => {
    const { a, b, group } = await groupOfTwo();
    const bUser = await connect(b);
    const stub = env.CHANNEL_ROOM.getByName(group.channel_id);
    await runInDurableObject(stub, (room: ChannelRoom) => {
      room.faults.failUserUpdates = true;
    });
    const chan = await connect(a, group.channel_id);
    for (let i = 1; i <= 30; i++)
      chan.send({ v: 1, type: "send", client_msg_id: `c${i}`, text: `crash ${i}` });
    await chan.until((s) => s.of("ack").length === 30, 10_000, "acks");
    await new Promise((r) => setTimeout(r, 200));
    expect(seqsOf(bUser, group.channel_id)).toEqual([]);

    // The process dies: memory (the fault, timers, in-flight work) is gone; storage is not.
    await evictDurableObject(stub, { webSockets: "hibernate" });
    await bUser.until((s) => seqsOf(s, group.channel_id).length >= 30, 15_000, "delivery after restart");
    await new Promise((r) => setTimeout(r, 300));
    expect(seqsOf(bUser, group.channel_id)).toEqual(range(1, 30));
    const list = await api("GET", "/v1/channels", { token: b.token });
    expect(list.body.channels[0]).toMatchObject({ channel_id: group.channel_id, head_seq: 30, unread: 30 });
  });
  it("keeps the backstop alarm 30 s out while the live object has the updates in hand", async () => {
    const { a, b, group } = await groupOfTwo();
    const stub = env.CHANNEL_ROOM.getByName(group.channel_id);
    const chan = await connect(a, group.channel_id);
    for (let i = 1; i <= 5; i++) chan.send({ v: 1, type: "send", client_msg_id: `h${i}`, text: `held ${i}` });
    await chan.until((s) => s.of("ack").length === 5, 5_000, "acks");
    // B has no device: after its first update, the rest fold over a second. The alarm that
    // fires meanwhile finds B owed but in hand, so it only keeps the backstop, 30 s out.
    await new Promise((r) => setTimeout(r, 100));
    const healthy = await runInDurableObject(stub, async (room: ChannelRoom, state) => {
      const callsBefore = (await room.updateCalls())[b.id] ?? 0;
      await room.alarm();
      return {
        at: await state.storage.getAlarm(),
        calls: (await room.updateCalls())[b.id] ?? 0,
        callsBefore,
      };
    });
    expect(healthy.calls).toBe(healthy.callsBefore);
    const inMs = (healthy.at ?? 0) - Date.now();
    expect(inMs).toBeGreaterThan(25_000);
    expect(inMs).toBeLessThanOrEqual(30_000);

    // A failed update is stranded: the alarm sends it again and retries within seconds.
    await runInDurableObject(stub, (room: ChannelRoom) => {
      room.faults.failUserUpdates = true;
    });
    chan.send({ v: 1, type: "send", client_msg_id: "h6", text: "held 6" });
    await chan.until((s) => s.of("ack").length === 6, 5_000, "ack");
    await new Promise((r) => setTimeout(r, 1_500));
    const failing = await runInDurableObject(stub, async (room: ChannelRoom, state) => {
      room.faults.failUserUpdates = false;
      await room.alarm();
      return state.storage.getAlarm();
    });
    expect((failing ?? 0) - Date.now()).toBeLessThan(5_000);
    await channelAtHead(b.token, group.channel_id, 6);
  });
});

describe("regressions", () => {
  it("keeps a resumed member live when its cursor is before its join point", async () => {
    const owner = await signup("o");
    const late = await signup("l");
    const group = await createGroup(owner, []);
    for (const n of [1, 2, 3]) {
      await api("POST", `/v1/channels/${group.channel_id}/messages`, {
        token: owner.token,
        body: { client_msg_id: `e${n}`, text: "early" },
      });
    }
    await api("POST", "/v1/friends/requests", { token: owner.token, body: { user_id: late.id } });
    await api("POST", `/v1/friends/${owner.id}/accept`, { token: late.token });
    await api("POST", `/v1/groups/${group.channel_id}/members`, {
      token: owner.token,
      body: { user_ids: [late.id] },
    });
    await channelAtHead(late.token, group.channel_id, 3);
    const socket = await connect(late);
    socket.send({ v: 1, type: "resume", cursors: [{ channel_id: group.channel_id, seq: 0 }] });
    await socket.until((s) => s.of("resumed").length === 1);
    expect(socket.of("resumed")[0]).toMatchObject({ messages: 0 });
    await api("POST", `/v1/channels/${group.channel_id}/messages`, {
      token: owner.token,
      body: { client_msg_id: "n1", text: "now" },
    });
    await socket.until((s) => s.of("message").length === 1, 5_000, "live message");
    expect(seqsOf(socket, group.channel_id)).toEqual([4]);
  });

  it("pages history by text size and says there is more", async () => {
    const a = await signup("a");
    const group = await createGroup(a, [await signup("b")]);
    for (let i = 1; i <= 7; i++) {
      await api("POST", `/v1/channels/${group.channel_id}/messages`, {
        token: a.token,
        body: { client_msg_id: `big${i}`, text: "x".repeat(100_000) },
      });
    }
    const forward = await api("GET", `/v1/channels/${group.channel_id}/messages?after=0&limit=50`, {
      token: a.token,
    });
    expect(forward.body.messages.length).toBeLessThan(7);
    expect(forward.body.has_more).toBe(true);
    const backward = await api("GET", `/v1/channels/${group.channel_id}/messages?limit=50`, {
      token: a.token,
    });
    expect(backward.body.messages.at(-1).seq).toBe(7);
    expect(backward.body.messages.length).toBeLessThan(7);
    expect(backward.body.has_more).toBe(true);
  });
});
