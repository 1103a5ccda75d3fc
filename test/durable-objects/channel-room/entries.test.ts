/**
 * Edits, deletes, reactions and replies as entries of the log (docs/protocol.md §6.10), through
 * the real Worker: each ordered by the channel (its own seq, in the chain), idempotent by client
 * id, permissioned, carried by live delivery, sync, resume and history, resolved on read, and
 * never counted as unread. The archive's share (a delete reaching a sealed segment) is in
 * entries-archive.test.ts.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ChainCheck } from "../../../client/src/chain-check.ts";
import type { ChannelRoom } from "../../../durable-objects/channel-room/channel-room.ts";
import type { ChannelSummary, WireMessage } from "../../../protocol/frames.ts";
import type { HistoryPage } from "../../../protocol/rpc.ts";
import {
  api,
  befriend,
  channelAtHead,
  connect,
  createGroup,
  groupOfTwo,
  openDm,
  seqsOf,
  signup,
  type TestSocket,
  type TestUser,
} from "../../fixtures/api.ts";
import { readAll } from "../../fixtures/history.ts";
import { poll } from "../../fixtures/poll.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function post(user: TestUser, channelId: string, id: string, text: string, replyTo?: number) {
  return api("POST", `/v1/channels/${channelId}/messages`, {
    token: user.token,
    body: { client_msg_id: id, text, ...(replyTo !== undefined && { reply_to: replyTo }) },
  });
}

const edit = (u: TestUser, ch: string, seq: number, id: string, text: string) =>
  api("POST", `/v1/channels/${ch}/messages/${seq}/edit`, {
    token: u.token,
    body: { client_msg_id: id, text },
  });
const del = (u: TestUser, ch: string, seq: number, id: string) =>
  api("POST", `/v1/channels/${ch}/messages/${seq}/delete`, { token: u.token, body: { client_msg_id: id } });
const react = (u: TestUser, ch: string, seq: number, id: string, emoji: string) =>
  api("POST", `/v1/channels/${ch}/messages/${seq}/reactions`, {
    token: u.token,
    body: { client_msg_id: id, emoji },
  });

/** The entries a socket got for a channel (live frames and pages), in arrival order. */
function entriesOf(socket: TestSocket, channelId: string): WireMessage[] {
  const out: WireMessage[] = [];
  for (const f of socket.frames) {
    if (f.type === "message" && f.message.channel_id === channelId) out.push(f.message);
    if (f.type === "messages" && f.channel_id === channelId) out.push(...f.messages);
  }
  return out;
}

describe("entries of the log", () => {
  it("orders each entry by the channel, chains it, and resolves what it made of its message on read", async () => {
    const { a, b, group } = await groupOfTwo();
    const ch = group.channel_id;
    expect((await post(a, ch, "m1", "helo Bob")).body).toMatchObject({ seq: 1, msg_count: 1 });
    expect((await react(b, ch, 1, "r1", "👍")).body).toMatchObject({ seq: 2, msg_count: 1 });
    expect((await edit(a, ch, 1, "e1", "hello Bob")).body).toMatchObject({ seq: 3, msg_count: 1 });
    const reply = await post(b, ch, "m2", "hi!", 1);
    expect(reply).toMatchObject({ status: 201, body: { seq: 4, msg_count: 2 } });

    const entries = await readAll(b, ch);
    expect(entries.map((e) => [e.seq, e.type ?? "message", e.msg_count])).toEqual([
      [1, "message", 1],
      [2, "reaction", 1],
      [3, "edit", 1],
      [4, "message", 2],
    ]);
    const [m1, , , m2] = entries;
    // The original stays the chained text; the newest edit and the reactions come resolved.
    expect(m1).toMatchObject({
      text: "helo Bob",
      state: {
        as_of: 3,
        edited: { seq: 3, text: "hello Bob" },
        reactions: [{ emoji: "👍", user_ids: [b.id] }],
      },
    });
    expect(m2).toMatchObject({
      reply_to: 1,
      reply: { seq: 1, sender_id: a.id, preview: "hello Bob", deleted: false },
    });
  });

  it("is idempotent by client id: a retry stores nothing and gets the first ack, even once its target is gone", async () => {
    const { a, b, group } = await groupOfTwo();
    const ch = group.channel_id;
    await post(a, ch, "m1", "one");
    const first = await react(b, ch, 1, "same", "🎉");
    expect(first.status).toBe(201);
    const again = await react(b, ch, 1, "same", "😀");
    expect(again).toEqual(first);
    const deleted = await del(a, ch, 1, "d1");
    expect(deleted.body).toMatchObject({ seq: 3 });
    // The delete's retry, after its target was deleted (by itself), is still its ack.
    expect(await del(a, ch, 1, "d1")).toEqual(deleted);
    // The same key names one entry whatever its kind: a message with an edit's key is the edit.
    expect((await post(b, ch, "same", "not stored")).body).toMatchObject({ seq: 2 });
    expect((await readAll(a, ch)).map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it("lets only the sender edit, the sender or the group's owner delete, and nobody act on what is not a message", async () => {
    const owner = await signup("o");
    const b = await signup("b");
    const c = await signup("c");
    const group = await createGroup(owner, [b, c]);
    const ch = group.channel_id;
    await post(b, ch, "b1", "by b"); // 1
    await post(c, ch, "c1", "by c"); // 2
    await react(c, ch, 1, "rc", "👍"); // 3

    expect(await edit(c, ch, 1, "x1", "mine now")).toMatchObject({
      status: 403,
      body: { error: { code: "forbidden" } },
    });
    expect(await edit(owner, ch, 1, "x2", "owner edit")).toMatchObject({
      status: 403,
      body: { error: { code: "forbidden" } },
    });
    expect(await del(c, ch, 1, "x3")).toMatchObject({ status: 403, body: { error: { code: "forbidden" } } });
    // An entry that is not a message, a seq past the head: not_found, whatever the kind.
    expect(await react(b, ch, 3, "x4", "👍")).toMatchObject({
      status: 404,
      body: { error: { code: "not_found" } },
    });
    expect(await edit(b, ch, 99, "x5", "ghost")).toMatchObject({
      status: 404,
      body: { error: { code: "not_found" } },
    });
    expect(await post(b, ch, "x6", "reply to nothing", 99)).toMatchObject({
      status: 404,
      body: { error: { code: "not_found" } },
    });
    // A malformed emoji changes nothing either.
    expect((await react(b, ch, 1, "x7", "not an emoji")).status).toBe(400);

    // The owner deletes anyone's message; the sender their own.
    expect((await del(owner, ch, 1, "od")).status).toBe(201);
    expect((await del(c, ch, 2, "cd")).status).toBe(201);
    // A deleted message takes no edit, reaction, reply or second delete.
    expect(await edit(b, ch, 1, "x8", "too late")).toMatchObject({ status: 404 });
    expect(await react(c, ch, 1, "x9", "😀")).toMatchObject({ status: 404 });
    expect(await post(c, ch, "x10", "re", 1)).toMatchObject({ status: 404 });
    // Nothing refused was stored: the log is the 3 entries and the 2 deletes.
    const entries = await readAll(b, ch);
    expect(entries.map((e) => e.type ?? "message")).toEqual([
      "message",
      "message",
      "reaction",
      "delete",
      "delete",
    ]);
    expect(entries[3]).toMatchObject({ sender_id: owner.id, target_seq: 1 });
    expect(entries[0]).toMatchObject({ text: "", state: { deleted: { seq: 4, by: owner.id } } });
  });

  it("refuses a member who left, a target before one's join point, and a reply across channels", async () => {
    const owner = await signup("o");
    const b = await signup("b");
    const late = await signup("l");
    const group = await createGroup(owner, [b]);
    const other = (
      await api("POST", "/v1/groups", { token: owner.token, body: { name: "other", member_ids: [b.id] } })
    ).body as { channel_id: string };
    for (let i = 1; i <= 3; i++) await post(owner, other.channel_id, `o${i}`, `other ${i}`);
    await post(owner, group.channel_id, "g1", "before the late member"); // 1
    await befriend(owner, late);
    expect(
      (
        await api("POST", `/v1/groups/${group.channel_id}/members`, {
          token: owner.token,
          body: { user_ids: [late.id] },
        })
      ).status,
    ).toBe(200);
    await post(owner, group.channel_id, "g2", "after"); // 2
    // Seq 1 is before the late member's join point: it is not theirs to see, nor to act on.
    expect(await react(late, group.channel_id, 1, "l1", "👍")).toMatchObject({ status: 404 });
    expect((await react(late, group.channel_id, 2, "l2", "👍")).status).toBe(201);
    // Seq 3 exists in the other channel only: a seq names a position of this channel's own log.
    expect(await post(b, group.channel_id, "rx", "across", 3)).toMatchObject({ status: 404 });

    expect(
      (await api("POST", `/v1/groups/${group.channel_id}/leave`, { token: b.token })).status,
    ).toBeLessThan(300);
    expect(await react(b, group.channel_id, 2, "b1", "👍")).toMatchObject({
      status: 403,
      body: { error: { code: "not_a_member" } },
    });
    expect(await del(b, group.channel_id, 2, "b2")).toMatchObject({
      status: 403,
      body: { error: { code: "not_a_member" } },
    });
  });

  it("takes a deleted message's text, and its edits', out of storage; the tombstone still chains", async () => {
    const { a, b, group } = await groupOfTwo();
    const ch = group.channel_id;
    await post(a, ch, "m1", "secret one"); // 1
    await edit(a, ch, 1, "e1", "secret two"); // 2
    await react(b, ch, 1, "r1", "😮"); // 3
    await post(b, ch, "m2", "what?", 1); // 4
    expect((await del(a, ch, 1, "d1")).body).toMatchObject({ seq: 5, msg_count: 2 });

    const entries = await readAll(b, ch); // the chain is checked through the digests
    expect(entries[0]).toMatchObject({ text: "", state: { as_of: 5, deleted: { seq: 5, by: a.id } } });
    expect(entries[0]!.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(entries[0]!.state?.edited).toBeUndefined();
    expect(entries[0]!.state?.reactions).toBeUndefined();
    expect(entries[1]).toMatchObject({ type: "edit", text: "" });
    expect(entries[1]!.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(entries[3]).toMatchObject({ reply: { seq: 1, sender_id: a.id, preview: "", deleted: true } });
    expect(JSON.stringify(entries)).not.toContain("secret");
    // Nothing in the channel's database holds the texts any more.
    await runInDurableObject(env.CHANNEL_ROOM.getByName(ch), (_i: ChannelRoom, state) => {
      for (const table of ["messages", "message_state"]) {
        const rows = state.storage.sql.exec(`SELECT * FROM ${table}`).toArray();
        expect(JSON.stringify(rows)).not.toContain("secret");
      }
    });
  });

  it("lets a 1:1 chat that is closed take deletes, but no edits or reactions", async () => {
    const a = await signup("a");
    const b = await signup("b");
    await befriend(a, b);
    const dm = await openDm(a, b);
    await post(a, dm.channel_id, "m1", "hi"); // 1
    expect((await api("POST", `/v1/friends/${b.id}/block`, { token: a.token })).status).toBeLessThan(300);
    await poll(
      "the block reaches the chat",
      async () => (await edit(a, dm.channel_id, 1, "e1", "hey")).status === 403 || undefined,
    );
    expect(await react(a, dm.channel_id, 1, "r1", "👍")).toMatchObject({
      status: 403,
      body: { error: { code: "blocked" } },
    });
    expect((await del(a, dm.channel_id, 1, "d1")).status).toBe(201);
  });

  it("carries every entry exactly once and in order: live, by sync, by resume", async () => {
    const { a, b, group } = await groupOfTwo();
    const ch = group.channel_id;
    const live = await connect(b, ch);
    await post(a, ch, "m1", "one"); // 1
    await react(b, ch, 1, "r1", "👍"); // 2
    await edit(a, ch, 1, "e1", "one!"); // 3
    await post(a, ch, "m2", "two", 1); // 4
    await del(a, ch, 4, "d1"); // 5
    await react(b, ch, 1, "r2", ""); // 6: taken back
    await live.until((s) => seqsOf(s, ch).includes(6), 10_000, "every entry live");
    expect(seqsOf(live, ch)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(entriesOf(live, ch).map((e) => e.type ?? "message")).toEqual([
      "message",
      "reaction",
      "edit",
      "message",
      "delete",
      "reaction",
    ]);

    // A device that was away catches up with sync, from its cursor, in order.
    const away = await connect(a, ch);
    away.send({ v: 1, type: "sync", id: "s", after_seq: 1 });
    await away.until((s) => s.of("messages").some((f) => f.ref === "s"));
    const page = away.of("messages").find((f) => f.ref === "s")!;
    new ChainCheck().page(ch, page.prev_hash, page.messages);
    expect(page.messages.map((m) => m.seq)).toEqual([2, 3, 4, 5, 6]);
    // The resolved state counts every entry of the page: message 1 has no reaction left.
    const synced1 = (await readAll(a, ch))[0]!;
    expect(synced1.state).toMatchObject({ as_of: 6, edited: { text: "one!" } });
    expect(synced1.state?.reactions).toBeUndefined();

    // And the user socket resumes from a cursor with the same entries (a device viewing the
    // channel gets them on its channel socket instead: none is open now).
    live.close();
    away.close();
    const user = await connect(a);
    user.send({ v: 1, type: "resume", id: "r", cursors: [{ channel_id: ch, seq: 2 }] });
    await user.until((s) => s.of("resumed").length === 1);
    expect(seqsOf(user, ch)).toEqual([3, 4, 5, 6]);
    user.close();
  });

  it("counts unread in messages: edits, deletes and reactions raise no badge", async () => {
    const { a, b, group } = await groupOfTwo();
    const ch = group.channel_id;
    await post(a, ch, "m1", "one"); // 1
    await post(a, ch, "m2", "two"); // 2
    await react(a, ch, 1, "r1", "👍"); // 3
    await edit(a, ch, 2, "e1", "two, edited"); // 4
    const summary = await channelAtHead(b.token, ch, 4);
    expect(summary).toMatchObject({
      head_seq: 4,
      head_msg_count: 2,
      unread: 2,
      last_message: { seq: 2, preview: "two, edited", edited: true },
    });
    // A read marker on the reaction (seq 3) is past both messages: nothing is unread.
    await api("POST", `/v1/channels/${ch}/read`, { token: b.token, body: { seq: 3 } });
    const read = await poll("the read marker", async () => {
      const list = await api<{ channels: ChannelSummary[] }>("GET", "/v1/channels", { token: b.token });
      return list.body.channels.find((c) => c.channel_id === ch && c.read_seq === 3);
    });
    expect(read.unread).toBe(0);
    await post(a, ch, "m3", "three"); // 5
    await del(a, ch, 5, "d1"); // 6
    const after = await channelAtHead(b.token, ch, 6);
    expect(after).toMatchObject({
      unread: 1,
      head_msg_count: 3,
      last_message: { seq: 5, preview: "", deleted: true },
    });
  });

  it("folds a reaction storm: each channel socket gets a few frames, every entry once, in order", async () => {
    const owner = await signup("o");
    const members = await Promise.all(Array.from({ length: 12 }, (_, i) => signup(`m${i}`)));
    const group = await createGroup(owner, members);
    const ch = group.channel_id;
    await post(owner, ch, "m1", "react to me"); // 1
    const watcher = await connect(owner, ch);
    await sleep(1_100); // a quiet interval: the storm's first entry leaves at once
    const before = watcher.frames.length;
    const sockets = await Promise.all(members.map((m) => connect(m, ch)));
    for (const [i, s] of sockets.entries())
      s.send({ v: 1, type: "react", id: `x${i}`, client_msg_id: `r${i}`, target_seq: 1, emoji: "🔥" });
    await Promise.all(sockets.map((s) => s.until((x) => x.of("ack").length === 1)));
    await watcher.until((s) => seqsOf(s, ch).length === 12, 10_000, "every reaction");
    expect(seqsOf(watcher, ch)).toEqual(Array.from({ length: 12 }, (_, i) => i + 2));
    const frames = watcher.frames.slice(before).filter((f) => f.type === "message" || f.type === "messages");
    expect(frames.length).toBeLessThanOrEqual(3);
    // The live pages chain like any page.
    const chain = new ChainCheck();
    const first = await api<HistoryPage>("GET", `/v1/channels/${ch}/messages?after=0&limit=1`, {
      token: owner.token,
    });
    chain.page(ch, first.body.prev_hash, first.body.messages);
    for (const f of frames) {
      if (f.type === "messages") chain.page(ch, f.prev_hash, f.messages);
      else chain.one(f.message);
    }
    for (const s of [watcher, ...sockets]) s.close();
  });
});
