/**
 * Deletes and the R2 archive (docs/protocol.md §6.10, docs/architecture.md "Deleting in the
 * archive"), with this tier's small settings (segments of 50, 100 kept hot): a delete reaches a
 * message whose row is gone from SQLite, and the sealed segment holding its text (and its edits')
 * is rewritten without them, the chain still checkable by the audit and by clients.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ChannelRoom } from "../../../durable-objects/channel-room/channel-room.ts";
import type { WireMessage } from "../../../protocol/frames.ts";
import { auditChannel } from "../../../storage/channel/audit.ts";
import { readSegment, segmentPrefix } from "../../../storage/channel/segment.ts";
import { api, connect, groupOfTwo, type TestUser } from "../../fixtures/api.ts";
import { readAll } from "../../fixtures/history.ts";
import { poll } from "../../fixtures/poll.ts";

const SEGMENT = Number(env.ARCHIVE_SEGMENT_MESSAGES);
const HOT = Number(env.HOT_MESSAGES);
const room = (channelId: string) => env.CHANNEL_ROOM.getByName(channelId);

/** Posts `text(i)` for i in from..to over a channel socket, in acknowledged bursts. */
async function post(
  user: TestUser,
  channelId: string,
  from: number,
  to: number,
  text: (i: number) => string,
) {
  const chan = await connect(user, channelId);
  for (let start = from; start <= to; start += 25) {
    const end = Math.min(to, start + 24);
    const acked = chan.of("ack").length;
    for (let i = start; i <= end; i++)
      chan.send({ v: 1, type: "send", client_msg_id: `m${i}`, text: text(i) });
    await chan.until((s) => s.of("ack").length === acked + end - start + 1, 15_000, `acks up to ${end}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  chan.close();
}

/** Every object of the channel in R2, decoded. */
async function objects(channelId: string): Promise<{ key: string; messages: WireMessage[] }[]> {
  const list = await env.ARCHIVE.list({ prefix: segmentPrefix(channelId) });
  const out = [];
  for (const o of list.objects) {
    const bytes = new Uint8Array(await (await env.ARCHIVE.get(o.key))!.arrayBuffer());
    out.push({ key: o.key, messages: (await readSegment(bytes)).messages });
  }
  return out;
}

describe("deletes in the archive", () => {
  it("rewrites the sealed segment without the deleted texts; the chain still checks end to end", async () => {
    const { a, b, group } = await groupOfTwo();
    const ch = group.channel_id;
    const total = HOT + 2 * SEGMENT;
    await post(a, ch, 1, total, (i) => (i === 7 ? "the secret" : `message ${i}`));
    // Seq 7's row leaves SQLite: its segment is in R2 and older than the hot window.
    await poll(
      "seq 7 sealed and gone from SQLite",
      async () => {
        const s = await room(ch).archiveStats();
        return s.first_hot_seq > SEGMENT && s.sealed_through === total ? s : undefined;
      },
      15_000,
      50,
    );
    const before = await auditChannel(env.ARCHIVE, ch);
    expect(before.problems).toEqual([]);
    const held = (await readAll(b, ch))[6]!;

    // An edit of the archived message (its target read from R2), then its delete.
    const edited = await api("POST", `/v1/channels/${ch}/messages/7/edit`, {
      token: a.token,
      body: { client_msg_id: "e7", text: "the secret, again" },
    });
    expect(edited).toMatchObject({ status: 201, body: { seq: total + 1 } });
    const deleted = await api("POST", `/v1/channels/${ch}/messages/7/delete`, {
      token: a.token,
      body: { client_msg_id: "d7" },
    });
    expect(deleted).toMatchObject({ status: 201, body: { seq: total + 2 } });

    // Reads never return the text, rewritten yet or not; the tombstone chains from its digest.
    const entries = await readAll(b, ch);
    expect(entries[6]).toMatchObject({ seq: 7, text: "", state: { deleted: { seq: total + 2, by: a.id } } });
    expect(JSON.stringify(entries)).not.toContain("secret");
    // A client that held the message before checks the server's copy against its own hash.
    expect(entries[6]!.hash).toBe(held.hash);

    // The sealer's run rewrites segment 1-50: R2 no longer holds the text.
    await poll(
      "segment 1 rewritten",
      async () => {
        const all = await objects(ch);
        return JSON.stringify(all).includes("secret") ? undefined : all;
      },
      15_000,
      50,
    );
    const [first] = await objects(ch);
    expect(first!.messages[6]).toMatchObject({ seq: 7, text: "" });
    expect(first!.messages[6]!.digest).toMatch(/^[0-9a-f]{64}$/);
    await runInDurableObject(room(ch), (_i: ChannelRoom, state) => {
      const flagged = state.storage.sql.exec("SELECT first_seq FROM segments WHERE scrub > 0").toArray();
      expect(flagged).toEqual([]);
    });

    // The audit rebuilds every link, through the digest, and finds the same last hash.
    const after = await auditChannel(env.ARCHIVE, ch, { expect: [{ seq: 7, hash: held.hash }] });
    expect(after.problems).toEqual([]);
    expect(after.redacted).toBe(1);
    expect(after.last_hash).toBe(before.last_hash);
    expect(after.expectations_met).toBe(1);
    // A cold read (no cached copy) of the rewritten segment serves the tombstone as well.
    await room(ch).dropArchiveCache();
    const cold = await readAll(b, ch);
    expect(cold[6]).toMatchObject({ text: "", state: { deleted: { seq: total + 2 } } });
  });
});
