/**
 * The log of a channel: one gap-free order seen by every device, idempotent sends, and the
 * sender's other devices included.
 */
import { describe, expect, it } from "vitest";
import type { WireMessage } from "../../../protocol/frames.ts";
import { api, connect, createGroup, groupOfTwo, login, seqsOf, signup } from "../../fixtures/api.ts";

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("ordering", () => {
  it("gives every device of every member the same gap-free order when members send at once", async () => {
    const owner = await signup("own");
    const others = [await signup("m1"), await signup("m2")];
    const group = await createGroup(owner, others);
    const senders = [owner, ...others];
    const chans = await Promise.all(senders.map((u) => connect(u, group.channel_id)));
    // Second devices listen on their user socket only.
    const listeners = await Promise.all(senders.map(async (u) => connect(await login(u))));
    for (const l of listeners)
      l.send({ v: 1, type: "resume", cursors: [{ channel_id: group.channel_id, seq: 0 }] });
    await Promise.all(listeners.map((l) => l.until((s) => s.of("resumed").length === 1)));

    const perSender = 25;
    for (let i = 0; i < perSender; i++) {
      chans.forEach((c, k) => {
        c.send({ v: 1, type: "send", client_msg_id: `s${k}-${i}`, text: `from ${k}: ${i}` });
      });
    }
    const total = perSender * senders.length;
    await Promise.all(chans.map((c) => c.until((s) => s.of("ack").length === perSender, 10_000, "acks")));

    // On a channel socket a device sees others' messages as frames and its own as acks.
    await Promise.all(
      chans.map((c) => c.until((s) => s.of("message").length === total - perSender, 10_000, "broadcasts")),
    );
    const byChannelSocket = chans.map((c) => {
      const seen = new Map<number, string>();
      for (const f of c.of("message")) seen.set(f.message.seq, f.message.client_msg_id);
      for (const a of c.of("ack")) seen.set(a.seq, a.client_msg_id);
      return seen;
    });
    for (const seen of byChannelSocket) {
      expect([...seen.keys()].sort((a, b) => a - b)).toEqual(range(1, total));
      expect(seen).toEqual(byChannelSocket[0]);
    }
    // Live message frames on each channel socket arrive in increasing seq order.
    for (const c of chans) {
      const live = c.of("message").map((f) => f.message.seq);
      expect(live).toEqual([...live].sort((a, b) => a - b));
    }
    await Promise.all(
      listeners.map((l) =>
        l.until((s) => seqsOf(s, group.channel_id).length === total, 10_000, "user socket"),
      ),
    );
    for (const l of listeners) {
      expect(seqsOf(l, group.channel_id)).toEqual(range(1, total));
      const ids = l.of("message").map((f) => [f.message.seq, f.message.client_msg_id]);
      expect(new Map(ids as [number, string][])).toEqual(byChannelSocket[0]);
    }
  });

  it("stores a retried client_msg_id once and answers with the original ack", async () => {
    const { a, b, group } = await groupOfTwo();
    const chan = await connect(a, group.channel_id);
    chan.send({ v: 1, type: "send", id: "1", client_msg_id: "same", text: "first" });
    await chan.until((s) => s.of("ack").length === 1);
    for (let i = 0; i < 3; i++) chan.send({ v: 1, type: "send", client_msg_id: `other-${i}`, text: "x" });
    // The retry comes later, after other messages, even with a different text.
    chan.send({ v: 1, type: "send", id: "2", client_msg_id: "same", text: "first (retry)" });
    await chan.until((s) => s.of("ack").length === 5);
    const [first, ...rest] = chan.of("ack");
    const retry = rest.at(-1)!;
    expect({ ...retry, ref: undefined }).toEqual({ ...first, ref: undefined });
    // Over HTTP, the same key gives the same ack again.
    const http = await api("POST", `/v1/channels/${group.channel_id}/messages`, {
      token: a.token,
      body: { client_msg_id: "same", text: "first" },
    });
    expect(http.body).toMatchObject({ seq: first!.seq, id: first!.id, ts: first!.ts });
    const history = await api<{ messages: WireMessage[] }>(
      "GET",
      `/v1/channels/${group.channel_id}/messages`,
      { token: b.token },
    );
    expect(history.body.messages.filter((m) => m.client_msg_id === "same")).toHaveLength(1);
    expect(history.body.messages).toHaveLength(4);
  });

  it("delivers a message to the sender's other devices", async () => {
    const { a, group } = await groupOfTwo();
    const phone = await connect(a, group.channel_id);
    const laptopUser = await connect(await login(a, "laptop"));
    const laptopChan = await connect(await login(a, "tablet"), group.channel_id);
    phone.send({ v: 1, type: "send", client_msg_id: "m1", text: "note to self and others" });
    await laptopUser.until((s) => seqsOf(s, group.channel_id).length === 1, 5_000, "user socket copy");
    await laptopChan.until((s) => s.of("message").length === 1, 5_000, "channel socket copy");
    expect(laptopUser.of("message")[0]!.message).toMatchObject({
      sender_id: a.id,
      text: "note to self and others",
      seq: 1,
    });
  });
});
