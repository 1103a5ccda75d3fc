/**
 * ChannelStore's batched writes: the head, the sender's own read marker and the sync positions
 * stay in memory for up to a second. A store opened afresh on the same SQLite (what a restart
 * does) must number on from the log and lose nothing but those re-derivable markers.
 */

import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/durable-sqlite";
import { migrate } from "drizzle-orm/durable-sqlite/migrator";
import { describe, expect, it } from "vitest";
import { GENESIS_HASH, messageHash } from "../../../domain/log-chain.ts";
import { sha256 } from "../../../domain/sha256.ts";
import migrations from "../../../migrations/channel-room/migrations.js";
import { ChannelStore } from "../../../storage/channel/store.ts";

const message = (n: number) => ({
  channel_id: "gr_TEST",
  id: `id-${n}`,
  sender_id: "alice",
  client_msg_id: `c${n}`,
  text: `hello ${n}`,
  ts: 1_000 + n,
});

describe("ChannelStore", () => {
  it("numbers on from the log when the batched head never reached its row", async () => {
    const stub = env.CHANNEL_ROOM.getByName(`store-${crypto.randomUUID()}`);
    await runInDurableObject(stub, async (_room, state) => {
      // The tables a channel gets when it is created (ChannelRoom.create migrates then).
      await migrate(drizzle(state.storage), migrations);
      const before = new ChannelStore(state.storage.sql);
      before.createChannel({
        channelId: "gr_TEST",
        kind: "group",
        name: "t",
        ownerId: "alice",
        createdAt: 1,
      });
      before.putMember("alice", "owner", 1, 0);
      for (let n = 1; n <= 5; n++) {
        expect(before.append(message(n))?.seq).toBe(n);
        before.markRead("alice", n);
      }
      const row = state.storage.sql.exec<{ head_seq: number }>("SELECT head_seq FROM channel").one();
      expect(row.head_seq).toBe(0);

      // The process dies before persistBatched: a new store over the same storage.
      const after = new ChannelStore(state.storage.sql);
      expect(after.channel()?.headSeq).toBe(5);
      expect(after.append(message(5))).toBeNull();
      expect(after.byClientMsgId("alice", "c5")?.seq).toBe(5);
      expect(after.append(message(6))?.seq).toBe(6);
      expect(after.after(0, 100).map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
      // The own-read marker was the part allowed to be lost; it is written by the next batch.
      expect(after.member("alice")?.readSeq).toBe(0);
      after.markRead("alice", 6);
      after.persistBatched();
      const saved = state.storage.sql
        .exec<{ head_seq: number; read_seq: number }>(
          "SELECT head_seq, (SELECT read_seq FROM members WHERE user_id = 'alice') AS read_seq FROM channel",
        )
        .one();
      expect(saved).toEqual({ head_seq: 6, read_seq: 6 });
    });
  });
  it("chains every row to the one before, and gives rows from before the chain their hashes once", async () => {
    const stub = env.CHANNEL_ROOM.getByName(`store-${crypto.randomUUID()}`);
    await runInDurableObject(stub, async (_room, state) => {
      await migrate(drizzle(state.storage), migrations);
      const store = new ChannelStore(state.storage.sql);
      store.createChannel({ channelId: "gr_TEST", kind: "group", name: "t", ownerId: "alice", createdAt: 1 });
      store.putMember("alice", "owner", 1, 0);
      const stored = [1, 2, 3, 4].map((n) => store.append(message(n))!);
      let prev = GENESIS_HASH;
      for (const m of stored) {
        expect(m.hash).toBe(messageHash(sha256, "gr_TEST", prev, m));
        prev = m.hash;
      }
      // Rows written by a version without the chain have no hash: the first start fills them in.
      state.storage.sql.exec("UPDATE messages SET hash = ''");
      const restarted = new ChannelStore(state.storage.sql);
      expect(restarted.backfillChain()).toBe(4);
      expect(restarted.after(0, 10).map((m) => m.hash)).toEqual(stored.map((m) => m.hash));
      expect(restarted.backfillChain()).toBe(0);
      expect(restarted.append(message(5))!.hash).toBe(
        messageHash(sha256, "gr_TEST", prev, { ...message(5), seq: 5 }),
      );
    });
  });
});
