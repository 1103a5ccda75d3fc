/**
 * The R2 archive through the real Worker, with this tier's small settings (vitest.config.ts:
 * segments of 50 messages, 100 kept hot): the bound on rows, sealing that survives a crash after
 * each of its steps, reads across SQLite and R2 (pages, jumps, sync, resume) and a segment
 * altered in R2.
 */

import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ChainCheck, ChainIntegrityError } from "../../../client/src/chain-check.ts";
import type { ChannelRoom } from "../../../durable-objects/channel-room/channel-room.ts";
import type { SealStep } from "../../../durable-objects/channel-room/sealer.ts";
import type { WireMessage } from "../../../protocol/frames.ts";
import type { HistoryPage } from "../../../protocol/rpc.ts";
import { checksumOf } from "../../../storage/channel/archive.ts";
import { auditChannel } from "../../../storage/channel/audit.ts";
import { readSegment, SegmentWriter, segmentPrefix } from "../../../storage/channel/segment.ts";
import { api, befriend, connect, groupOfTwo, seqsOf, signup, type TestUser } from "../../fixtures/api.ts";
import { poll } from "../../fixtures/poll.ts";

const SEGMENT = Number(env.ARCHIVE_SEGMENT_MESSAGES);
const HOT = Number(env.HOT_MESSAGES);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

const room = (channelId: string) => env.CHANNEL_ROOM.getByName(channelId);

/**
 * Posts messages `from`..`to` over a channel socket, `burst` at a time, each burst acknowledged,
 * then a 5 ms pause: in this tier the test's code shares the thread with the objects, and a
 * Durable Object's timers (the sealer starts on one) wait while the test keeps it busy; with
 * `wrangler dev` they run between messages (measured: each segment recorded 25-80 ms after it
 * became due, during an unbroken stream of sends).
 */
async function post(user: TestUser, channelId: string, from: number, to: number, burst = 25): Promise<void> {
  const chan = await connect(user, channelId);
  for (let start = from; start <= to; start += burst) {
    const end = Math.min(to, start + burst - 1);
    const acked = chan.of("ack").length;
    for (let i = start; i <= end; i++)
      chan.send({ v: 1, type: "send", client_msg_id: `m${i}`, text: `message ${i}` });
    await chan.until((s) => s.of("ack").length === acked + end - start + 1, 15_000, `acks up to ${end}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  chan.close();
}

/** Every message of the channel, paged back from the newest, each page checked against the chain. */
async function readBack(user: TestUser, channelId: string, limit = 200, chain = new ChainCheck()) {
  const seqs: number[] = [];
  let before: number | undefined;
  for (;;) {
    const q = before === undefined ? `limit=${limit}` : `before=${before}&limit=${limit}`;
    const page = await api<HistoryPage>("GET", `/v1/channels/${channelId}/messages?${q}`, {
      token: user.token,
    });
    expect(page.status).toBe(200);
    chain.page(channelId, page.body.prev_hash, page.body.messages);
    seqs.unshift(...page.body.messages.map((m) => m.seq));
    for (const m of page.body.messages) expect(m.text).toBe(`message ${m.seq}`);
    if (!page.body.has_more) return seqs;
    before = page.body.messages[0]!.seq;
  }
}

/** Every message, paged forward from the start. */
async function readForward(user: TestUser, channelId: string, limit = 200) {
  const chain = new ChainCheck();
  const seqs: number[] = [];
  let after = 0;
  for (;;) {
    const page = await api<HistoryPage>(
      "GET",
      `/v1/channels/${channelId}/messages?after=${after}&limit=${limit}`,
      {
        token: user.token,
      },
    );
    chain.page(channelId, page.body.prev_hash, page.body.messages);
    seqs.push(...page.body.messages.map((m) => m.seq));
    if (!page.body.has_more) return seqs;
    after = page.body.messages.at(-1)!.seq;
  }
}

async function r2Keys(channelId: string): Promise<string[]> {
  const list = await env.ARCHIVE.list({ prefix: segmentPrefix(channelId) });
  return list.objects.map((o) => o.key).sort();
}

/** Waits until the sealer has sealed every complete run and deleted every segment older than the hot window. */
function settled(channelId: string, head: number) {
  const sealed = Math.floor(head / SEGMENT) * SEGMENT;
  const deleted = Math.floor(Math.max(0, head - HOT) / SEGMENT) * SEGMENT;
  return poll(
    `archive of ${channelId} settled at ${head}`,
    async () => {
      const s = await room(channelId).archiveStats();
      return s.sealed_through === sealed && s.first_hot_seq === deleted + 1 ? s : undefined;
    },
    15_000,
    50,
  );
}

/** A segment's object again, with `change` applied to its messages (their stored hashes kept). */
async function rewritten(key: string, change: (m: WireMessage) => WireMessage): Promise<Uint8Array> {
  const { header, messages } = await readSegment(
    new Uint8Array(await (await env.ARCHIVE.get(key))!.arrayBuffer()),
  );
  const writer = new SegmentWriter(header);
  await writer.add(messages.map(change));
  return writer.finish();
}

describe("the archive", () => {
  it("keeps at most HOT + SEGMENT rows while 10× that is posted, and every message stays readable", async () => {
    const { a, b, group } = await groupOfTwo();
    const total = 10 * (HOT + SEGMENT);
    await post(a, group.channel_id, 1, total);
    const stats = await settled(group.channel_id, total);

    expect(stats.hot_rows_high_water).toBeLessThanOrEqual(HOT + SEGMENT);
    expect(stats.hot_rows).toBeLessThanOrEqual(HOT + SEGMENT);
    expect(stats.segments).toBe(total / SEGMENT);
    expect(await r2Keys(group.channel_id)).toHaveLength(total / SEGMENT);

    // History both ways, a channel socket's sync and a user socket's resume: all of it, once, in order.
    expect(await readBack(b, group.channel_id)).toEqual(range(1, total));
    expect(await readForward(b, group.channel_id)).toEqual(range(1, total));
    const chan = await connect(b, group.channel_id);
    let after = 0;
    for (;;) {
      const n = chan.of("messages").length;
      chan.send({ v: 1, type: "sync", after_seq: after, limit: 500 });
      await chan.until((s) => s.of("messages").length === n + 1, 10_000, "a sync page");
      const page = chan.of("messages").at(-1)!;
      after = page.next_after_seq;
      if (page.complete) break;
    }
    expect(seqsOf(chan, group.channel_id)).toEqual(range(1, total));
    const user = await connect(b);
    user.send({ v: 1, type: "resume", cursors: [{ channel_id: group.channel_id, seq: 0 }] });
    await user.until((s) => s.of("resumed").length === 1, 15_000, "resumed");
    expect(seqsOf(user, group.channel_id)).toEqual(range(1, total));
    const chain = new ChainCheck();
    for (const p of [...chan.of("messages"), ...user.of("messages")])
      chain.page(p.channel_id, p.prev_hash, p.messages, p.next_after_seq);
  });

  it.each<SealStep>(["put", "verify", "record", "delete"])(
    "loses and duplicates nothing when sealing stops after %s and the object restarts",
    async (step) => {
      const { a, b, group } = await groupOfTwo();
      const id = group.channel_id;
      await runInDurableObject(room(id), (r: ChannelRoom) => {
        r.faults.sealCrashAfter = step;
      });
      await post(a, id, 1, 160);
      // The alarm has run the sealer into the fault (and keeps retrying into it).
      const stopped = await poll(
        `sealing stopped after ${step}`,
        async () => {
          const s = await room(id).archiveStats();
          const keys = await r2Keys(id);
          const at = {
            put: keys.length === 1 && s.segments === 0,
            verify: keys.length === 1 && s.segments === 0,
            // Recorded (each retry records one more and stops again); no object unrecorded.
            record: s.segments >= 1 && keys.length === s.segments,
            delete: s.segments === 3 && s.first_hot_seq === 51,
          }[step];
          return at ? s : undefined;
        },
        10_000,
        50,
      );
      expect(stopped.hot_rows).toBe(161 - stopped.first_hot_seq);

      // The process dies (the fault is memory only, as a crash is), and comes back.
      await evictDurableObject(room(id));
      await runDurableObjectAlarm(room(id));
      await api("POST", `/v1/channels/${id}/messages`, {
        token: a.token,
        body: { client_msg_id: "m161", text: "message 161" },
      });
      await settled(id, 161);

      expect(await readBack(b, id, 37)).toEqual(range(1, 161));
      const stats = await room(id).archiveStats();
      const recorded = await runInDurableObject(room(id), (_r, state) =>
        state.storage.sql.exec<{ key: string }>("SELECT key FROM segments ORDER BY first_seq").toArray(),
      );
      expect(await r2Keys(id)).toEqual(recorded.map((r) => r.key));
      expect(stats.segments).toBe(3);
      // A retry of an archived message is still recognised: the original ack, nothing stored.
      const first = await api("GET", `/v1/channels/${id}/messages?after=0&limit=1`, { token: a.token });
      const retry = await api("POST", `/v1/channels/${id}/messages`, {
        token: a.token,
        body: { client_msg_id: "m1", text: "message 1" },
      });
      expect(retry.status).toBe(201);
      const m1 = first.body.messages[0];
      expect(retry.body).toMatchObject({ seq: 1, id: m1.id, ts: m1.ts, hash: m1.hash });
      expect((await room(id).archiveStats()).head_seq).toBe(161);
    },
  );

  it("jumps to a message by seq and by id, in R2 and in SQLite, with the page around it", async () => {
    const { a, b, group } = await groupOfTwo();
    const id = group.channel_id;
    await post(a, id, 1, 300);
    const stats = await settled(id, 300);
    expect(stats.first_hot_seq).toBeGreaterThan(150);
    const get = (q: string) =>
      api<HistoryPage>("GET", `/v1/channels/${id}/messages?${q}`, { token: b.token });

    const cold = await get("around=10&limit=11");
    expect(cold.body.messages.map((m) => m.seq)).toEqual(range(5, 15));
    expect(cold.body).toMatchObject({
      target_seq: 10,
      has_more: true,
      has_more_before: true,
      has_more_after: true,
    });
    const byId = await get(`around_id=${cold.body.messages[5]!.id}&limit=11`);
    expect(byId.body.messages.map((m) => m.seq)).toEqual(range(5, 15));
    expect(byId.body.target_seq).toBe(10);
    // Across a segment's edge (50 | 51) and into SQLite.
    const edge = await get("around=50&limit=4");
    expect(edge.body.messages.map((m) => m.seq)).toEqual([48, 49, 50, 51]);
    const hot = await get("around=299&limit=10");
    expect(hot.body.messages.map((m) => m.seq)).toEqual(range(294, 300));
    expect(hot.body).toMatchObject({ has_more_before: true, has_more_after: false });
    const hotById = await get(`around_id=${hot.body.messages.at(-1)!.id}&limit=2`);
    expect(hotById.body.messages.map((m) => m.seq)).toEqual([299, 300]);
    const first = await get("around=1&limit=3");
    expect(first.body).toMatchObject({ has_more_before: false, prev_hash: "0".repeat(64) });

    const chain = new ChainCheck();
    for (const p of [cold, byId, edge, hot, hotById, first])
      chain.page(id, p.body.prev_hash, p.body.messages);

    expect((await get("around=301")).status).toBe(404);
    expect((await get("around_id=01ARZ3NDEKTSV4RRFFQ69G5FAV")).status).toBe(404);
    expect((await get("around=0")).status).toBe(400);
    expect((await get("around=5&before=9")).status).toBe(400);
  });

  it("refuses a segment altered in R2, and the chain catches one rewritten with its record", async () => {
    const { a, b, group } = await groupOfTwo();
    const id = group.channel_id;
    await post(a, id, 1, 200);
    await settled(id, 200);
    const key = (await r2Keys(id))[0]!;
    // Message 7's text changes; its stored hash does not (no one can compute a chain that the
    // hashes already held by clients would accept).
    const bytes = await rewritten(key, (m) => (m.seq === 7 ? { ...m, text: "message 7, altered" } : m));
    await env.ARCHIVE.put(key, bytes);
    await room(id).dropArchiveCache();

    // The channel checks the object against the checksum it recorded: an error, not the page.
    const refused = await api("GET", `/v1/channels/${id}/messages?after=0&limit=10`, { token: b.token });
    expect(refused.status).toBe(500);
    expect(refused.body.error).toMatchObject({ code: "internal" });
    expect(refused.body.error.message).toMatch(/integrity/);
    const chan = await connect(b, id);
    chan.send({ v: 1, type: "sync", id: "s", after_seq: 0 });
    await chan.until((s) => s.of("error").length === 1, 5_000, "an error frame");
    expect(chan.of("error")[0]).toMatchObject({ code: "internal", ref: "s" });
    expect(chan.of("messages")).toHaveLength(0);

    // Storage rewritten with its record (the checksum updated too): served, and the client's
    // chain check refuses it, from the newest page it holds back to the altered message.
    await runInDurableObject(room(id), (_r, state) => {
      state.storage.sql.exec("UPDATE segments SET checksum = ? WHERE key = ?", checksumOf(bytes), key);
    });
    await evictDurableObject(room(id));
    await room(id).dropArchiveCache();
    const chain = new ChainCheck();
    const caught = await readBack(b, id, 20, chain).catch((err: unknown) => err);
    expect(caught).toBeInstanceOf(ChainIntegrityError);
    expect((caught as ChainIntegrityError).seq).toBe(7);
    // A client that never held anything checks the page in itself: the same failure.
    const page = await api<HistoryPage>("GET", `/v1/channels/${id}/messages?after=0&limit=10`, {
      token: b.token,
    });
    expect(page.status).toBe(200);
    expect(() => new ChainCheck().page(id, page.body.prev_hash, page.body.messages)).toThrow(
      ChainIntegrityError,
    );
  });
  it("the audit rebuilds the sealed history from R2 alone, and names what an alteration breaks", async () => {
    const { a, b, group } = await groupOfTwo();
    const id = group.channel_id;
    await post(a, id, 1, 230);
    await settled(id, 230);
    const page = await api<HistoryPage>("GET", `/v1/channels/${id}/messages?after=0&limit=200`, {
      token: b.token,
    });
    const held = (seq: number) => ({ seq, hash: page.body.messages[seq - 1]!.hash });

    const intact = await auditChannel(env.ARCHIVE, id, { expect: [held(50), held(123), held(200)] });
    expect(intact).toMatchObject({
      segments: 4,
      entries: 200,
      sealed_through: 200,
      expectations_met: 3,
      problems: [],
    });
    expect(intact.last_hash).toBe(held(200).hash);
    // What is not sealed yet lives only in the channel's SQLite: the audit says it cannot vouch for it.
    const tail = await auditChannel(env.ARCHIVE, id, { expect: [{ seq: 220, hash: held(200).hash }] });
    expect(tail.problems).toEqual([
      "seq 220: not sealed (the archive reaches 200); only the channel holds it",
    ]);

    const keys = await r2Keys(id);
    await env.ARCHIVE.put(
      keys[1]!,
      await rewritten(keys[1]!, (m) => (m.seq === 77 ? { ...m, text: "77?" } : m)),
    );
    const altered = await auditChannel(env.ARCHIVE, id, { expect: [held(123)] });
    expect(altered.problems).toEqual([`${keys[1]}: seq 77 does not match its stored hash`]);

    await env.ARCHIVE.delete(keys[2]!);
    const gap = await auditChannel(env.ARCHIVE, id);
    expect(gap.problems).toContain(`${keys[3]}: seqs 101..150 are in no segment`);
  });
  it("anchors a member who joined later at its join point, once that point is in R2 too", async () => {
    const { a, b, group } = await groupOfTwo();
    const id = group.channel_id;
    await post(a, id, 1, 30);
    const c = await signup("c");
    await befriend(a, c);
    expect(
      (await api("POST", `/v1/groups/${id}/members`, { token: a.token, body: { user_ids: [c.id] } })).status,
    ).toBe(200);
    await post(a, id, 31, 230);
    const stats = await settled(id, 230);
    expect(stats.first_hot_seq).toBeGreaterThan(31);

    // C resumes from 0: its pages start after seq 30, and say the hash there (read from R2).
    const user = await connect(c);
    user.send({ v: 1, type: "resume", cursors: [{ channel_id: id, seq: 0 }] });
    await user.until((s) => s.of("resumed").length === 1, 10_000, "resumed");
    const pages = user.of("messages");
    expect(pages[0]!.messages[0]!.seq).toBe(31);
    const all = await api<HistoryPage>("GET", `/v1/channels/${id}/messages?after=29&limit=2`, {
      token: b.token,
    });
    expect(pages[0]!.prev_hash).toBe(all.body.messages[0]!.hash);
    const chain = new ChainCheck();
    for (const p of pages) chain.page(id, p.prev_hash, p.messages, p.next_after_seq);
    // Its history pages stop at the join point and chain to the same anchor.
    const history = await api<HistoryPage>("GET", `/v1/channels/${id}/messages?before=40&limit=50`, {
      token: c.token,
    });
    expect(history.body.messages.map((m) => m.seq)).toEqual(range(31, 39));
    expect(history.body).toMatchObject({ has_more: false, prev_hash: pages[0]!.prev_hash });
    chain.page(id, history.body.prev_hash, history.body.messages);
  });
});
