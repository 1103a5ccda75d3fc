/**
 * A property test of the one read path over SQLite and R2 (storage/channel/history.ts): a log
 * sealed into segments of random sizes (the segment size changes between runs of the sealer, as
 * a deployment's setting may), with random message sizes, read forwards and backwards from
 * random start points, most of them at a segment's edge or next to one, with random page sizes
 * and text budgets. Every page must be exactly the contiguous run the rules give: no gap, no
 * duplicate, no message past the budget, and the chain hash before it right. Runs on the real
 * SQLite of a ChannelRoom object and the real local R2 bucket, with the cache on and nearly off.
 */

import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/durable-sqlite";
import { migrate } from "drizzle-orm/durable-sqlite/migrator";
import { ulid } from "ulid";
import { describe, expect, it } from "vitest";
import { GENESIS_HASH } from "../../../domain/log-chain.ts";
import { Sealer } from "../../../durable-objects/channel-room/sealer.ts";
import migrations from "../../../migrations/channel-room/migrations.js";
import type { WireMessage } from "../../../protocol/frames.ts";
import { Archive, SegmentCache } from "../../../storage/channel/archive.ts";
import { ChannelHistory } from "../../../storage/channel/history.ts";
import { ChannelStore } from "../../../storage/channel/store.ts";

/** mulberry32: a small seeded generator, so a failure names the seed that reproduces it. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)) };
}

/** What `after` must return: the oldest messages after `afterSeq` within `limit` and `maxChars` (at least one). */
function expectedAfter(all: WireMessage[], afterSeq: number, limit: number, maxChars: number): number[] {
  const out: number[] = [];
  let chars = 0;
  for (const m of all) {
    if (m.seq <= afterSeq) continue;
    if (out.length >= limit || (out.length > 0 && chars + m.text.length > maxChars)) break;
    out.push(m.seq);
    chars += m.text.length;
  }
  return out;
}

function expectedBefore(
  all: WireMessage[],
  beforeSeq: number,
  minSeq: number,
  limit: number,
  maxChars: number,
) {
  const out: number[] = [];
  let chars = 0;
  for (let i = all.length - 1; i >= 0; i--) {
    const m = all[i]!;
    if (m.seq >= beforeSeq) continue;
    if (m.seq <= minSeq) break;
    if (out.length >= limit || (out.length > 0 && chars + m.text.length > maxChars)) break;
    out.push(m.seq);
    chars += m.text.length;
  }
  return out.reverse();
}

describe("reads across SQLite and R2", () => {
  it.each([1, 2, 3, 4])("pages with no gap and no duplicate at any segment edge (seed %i)", async (seed) => {
    const r = rng(seed);
    const channelId = `gr_PROPERTY${seed}${crypto.randomUUID().slice(0, 8)}`;
    const stub = env.CHANNEL_ROOM.getByName(channelId);
    await runInDurableObject(stub, async (_room, state) => {
      // The tables a channel gets when it is created (ChannelRoom.create migrates then).
      await migrate(drizzle(state.storage), migrations);
      const store = new ChannelStore(state.storage.sql);
      store.createChannel({ channelId, kind: "group", name: "p", ownerId: "alice", createdAt: 1 });
      store.putMember("alice", "owner", 1, 0);
      const archive = new Archive(env.ARCHIVE, new SegmentCache(seed % 2 === 0 ? 16 * 1024 * 1024 : 10_000));
      const all: WireMessage[] = [];
      const total = r.int(300, 600);
      while (all.length < total) {
        // Append a batch, then seal with a segment size and hot window of this run's choosing.
        for (let n = r.int(20, 120); n > 0 && all.length < total; n--) {
          const i = all.length + 1;
          const size = r.next() < 0.05 ? r.int(2_000, 9_000) : r.int(1, 40);
          const stored = store.append({
            channel_id: channelId,
            id: ulid(1_700_000_000_000 + i),
            sender_id: "alice",
            client_msg_id: `p${i}`,
            text: `${i}:`.padEnd(size, "é"),
            ts: 1_700_000_000_000 + i,
          });
          all.push(stored!);
        }
        const sealer = new Sealer({
          store,
          archive,
          channelId: () => channelId,
          segmentMessages: r.int(1, 80),
          hotMessages: r.int(0, 60),
          now: () => Date.now(),
          crashAfter: () => null,
          onError: (err) => {
            throw err;
          },
        });
        await sealer.run();
      }
      const segments = store.segments();
      expect(segments.length).toBeGreaterThan(3);
      expect(store.firstHotSeq()).toBeGreaterThan(1);
      const head = all.length;
      const history = new ChannelHistory({ store, load: (s) => archive.load(s) });
      const edges = segments
        .flatMap((s) => [s.firstSeq - 1, s.lastSeq])
        .concat([store.firstHotSeq() - 1, 0, head]);

      for (let q = 0; q < 150; q++) {
        const edge = edges[r.int(0, edges.length - 1)]!;
        const start = r.next() < 0.8 ? Math.max(0, Math.min(head, edge + r.int(-1, 1))) : r.int(0, head);
        const limit = r.int(1, 500);
        const maxChars = r.next() < 0.3 ? r.int(1, 3_000) : 500_000;
        const what = `seed ${seed}, query ${q}: start ${start}, limit ${limit}, chars ${maxChars}`;

        const forward = await history.after(start, limit, maxChars);
        expect(
          forward.map((m) => m.seq),
          `after, ${what}`,
        ).toEqual(expectedAfter(all, start, limit, maxChars));
        for (const m of forward) expect(m, what).toEqual(all[m.seq - 1]);

        const minSeq = r.next() < 0.3 ? r.int(0, start) : 0;
        const backward = await history.before(start + 1, minSeq, limit, maxChars);
        expect(
          backward.map((m) => m.seq),
          `before, ${what}, min ${minSeq}`,
        ).toEqual(expectedBefore(all, start + 1, minSeq, limit, maxChars));
        for (const m of backward) expect(m, what).toEqual(all[m.seq - 1]);

        expect(await history.hashAt(start), `hash at ${start}`).toBe(
          start === 0 ? GENESIS_HASH : all[start - 1]!.hash,
        );
      }
      const target = all[r.int(0, head - 1)]!;
      expect(await history.byId(target.id)).toEqual(target);
    });
  });
});
