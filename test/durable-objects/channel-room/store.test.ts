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
        expect(before.append(message(n))).toBe(n);
        before.markRead("alice", n);
      }
      const row = state.storage.sql.exec<{ head_seq: number }>("SELECT head_seq FROM channel").one();
      expect(row.head_seq).toBe(0);

      // The process dies before persistBatched: a new store over the same storage.
      const after = new ChannelStore(state.storage.sql);
      expect(after.channel()?.headSeq).toBe(5);
      expect(after.append(message(5))).toBeNull();
      expect(after.byClientMsgId("alice", "c5")?.seq).toBe(5);
      expect(after.append(message(6))).toBe(6);
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
});
