/**
 * What is kept beside a message follows its edits and deletes (docs/architecture.md, "Edits,
 * deletes, reactions and replies"): a delete takes the message's attachments (records and R2
 * objects) and its search entry with it, whether the indexer had reached it or not; an edit makes
 * search find the new text and not the old; and a crash between the entry and its hooks leaves
 * them owed, run by the alarm.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ChannelRoom } from "../../../durable-objects/channel-room/channel-room.ts";
import type { ChannelSearchPage } from "../../../protocol/api.ts";
import type { HistoryPage } from "../../../protocol/rpc.ts";
import { api, groupOfTwo, type TestUser } from "../../fixtures/api.ts";
import { poll } from "../../fixtures/poll.ts";

const room = (channelId: string) => env.CHANNEL_ROOM.getByName(channelId);

/** A small PNG (1×1, transparent). */
const PNG = Uint8Array.from(
  atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="),
  (c) => c.charCodeAt(0),
);

async function upload(user: TestUser, channelId: string, name: string): Promise<string> {
  const res = await exports.default.fetch(
    `http://chat.test/v1/channels/${channelId}/attachments?name=${encodeURIComponent(name)}`,
    {
      method: "POST",
      headers: { authorization: `Bearer ${user.token}`, "content-type": "image/png" },
      body: PNG,
    },
  );
  expect(res.status).toBe(201);
  return ((await res.json()) as { attachment: { id: string } }).attachment.id;
}

async function objectsOf(channelId: string): Promise<string[]> {
  const listed = await env.ARCHIVE.list({ prefix: `attachments/${channelId}/` });
  return listed.objects.map((o) => o.key);
}

async function search(user: TestUser, channelId: string, q: string): Promise<number[]> {
  const res = await api<ChannelSearchPage>(
    "GET",
    `/v1/channels/${channelId}/search?q=${encodeURIComponent(q)}`,
    {
      token: user.token,
    },
  );
  expect(res.status).toBe(200);
  return res.body.hits.map((h) => h.seq);
}

const post = (u: TestUser, ch: string, body: Record<string, unknown>) =>
  api("POST", `/v1/channels/${ch}/messages`, { token: u.token, body });

describe("hooks of edits and deletes", () => {
  it("a delete takes the message's attachments and its search entry; the others stay", async () => {
    const { a, b, group } = await groupOfTwo();
    const ch = group.channel_id;
    const gone = await upload(a, ch, "gone.png");
    const kept = await upload(a, ch, "kept.png");
    expect(
      (await post(a, ch, { client_msg_id: "m1", text: "pelican photo", attachments: [gone] })).status,
    ).toBe(201);
    expect(
      (await post(a, ch, { client_msg_id: "m2", text: "pelican again", attachments: [kept] })).status,
    ).toBe(201);
    expect(await room(ch).searchIndexBehind(true)).toBe(0);
    expect(await search(b, ch, "pelican")).toEqual([2, 1]);
    const before = await objectsOf(ch);

    const del = await api("POST", `/v1/channels/${ch}/messages/1/delete`, {
      token: a.token,
      body: { client_msg_id: "d1" },
    });
    expect(del.status).toBe(201);
    await poll("the delete's hooks ran", async () => {
      const left = await objectsOf(ch);
      return left.length < before.length ? left : undefined;
    });
    expect((await objectsOf(ch)).every((k) => !k.includes(gone))).toBe(true);
    expect((await objectsOf(ch)).some((k) => k.includes(kept))).toBe(true);
    const download = await exports.default.fetch(`http://chat.test/v1/channels/${ch}/attachments/${gone}`, {
      headers: { authorization: `Bearer ${b.token}` },
    });
    expect(download.status).toBe(404);
    expect(await search(b, ch, "pelican")).toEqual([2]);
    // The tombstone carries no attachment, and its digest keeps the chain (checked by readers).
    const page = await api<HistoryPage>("GET", `/v1/channels/${ch}/messages?after=0`, { token: b.token });
    expect(page.body.messages[0]).toMatchObject({ seq: 1, text: "" });
    expect(page.body.messages[0]!.attachments).toBeUndefined();
    expect(page.body.messages[0]!.digest).toMatch(/^[0-9a-f]{64}$/);
    await runInDurableObject(room(ch), (_r: ChannelRoom, state) => {
      expect(state.storage.sql.exec("SELECT * FROM hook_queue").toArray()).toEqual([]);
    });
  });

  it("an edit is found by its new text, before or after the indexer reached the message", async () => {
    const { a, b, group } = await groupOfTwo();
    const ch = group.channel_id;
    await post(a, ch, { client_msg_id: "m1", text: "meet at the harbour" }); // 1
    expect(await room(ch).searchIndexBehind(true)).toBe(0);
    // Edited after it was indexed: the hook replaces its terms.
    await api("POST", `/v1/channels/${ch}/messages/1/edit`, {
      token: a.token,
      body: { client_msg_id: "e1", text: "meet at the lighthouse" },
    }); // 2
    // Edited before the indexer reached it: the indexer takes its current text.
    await post(a, ch, { client_msg_id: "m3", text: "bring the kayak" }); // 3
    await api("POST", `/v1/channels/${ch}/messages/3/edit`, {
      token: a.token,
      body: { client_msg_id: "e3", text: "bring the canoe" },
    }); // 4
    await poll("the edit's hooks ran", async () =>
      (await search(b, ch, "harbour")).length === 0 ? true : undefined,
    );
    expect(await room(ch).searchIndexBehind(true)).toBe(0);
    expect(await search(b, ch, "lighthouse")).toEqual([1]);
    expect(await search(b, ch, "kayak")).toEqual([]);
    expect(await search(b, ch, "canoe")).toEqual([3]);
  });

  it("hooks a crash left owed run from the alarm", async () => {
    const { a, b, group } = await groupOfTwo();
    const ch = group.channel_id;
    const id = await upload(a, ch, "later.png");
    await post(a, ch, { client_msg_id: "m1", text: "", attachments: [id] }); // 1
    // The delete and its owed hook commit together; the process "dies" before the hook runs:
    // here, the row is put back after it ran, as if it never had.
    await api("POST", `/v1/channels/${ch}/messages/1/delete`, {
      token: a.token,
      body: { client_msg_id: "d1" },
    });
    await poll("the hook ran once", async () => ((await objectsOf(ch)).length === 0 ? true : undefined));
    const again = await upload(a, ch, "uploaded-after.png");
    await runInDurableObject(room(ch), async (_r: ChannelRoom, state) => {
      // Owed again for message 1 (idempotent: its attachments are gone already).
      state.storage.sql.exec("INSERT INTO hook_queue (seq, kind, target_seq) VALUES (2, 'delete', 1)");
      await state.storage.setAlarm(Date.now());
    });
    // A new instance, as after a crash: it knows nothing of the row but what storage holds.
    await evictDurableObject(room(ch));
    expect(await runDurableObjectAlarm(room(ch))).toBe(true);
    await runInDurableObject(room(ch), (_r: ChannelRoom, state) => {
      expect(state.storage.sql.exec("SELECT * FROM hook_queue").toArray()).toEqual([]);
    });
    // An unrelated upload is untouched by the repeated hook.
    expect((await objectsOf(ch)).some((k) => k.includes(again))).toBe(true);
    expect(b.id).toBeTruthy();
  });
});
