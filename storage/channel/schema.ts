/**
 * @module storage/channel/schema
 * The SQLite storage of one ChannelRoom: the channel's identity, its members (the authority,
 * with read markers and how far each member's user object has been updated) and its message
 * log. drizzle-kit generates migrations/channel-room from this file.
 */
import { integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * One row (id = 1). `headSeq` is the last assigned sequence number (0 before any message) as of
 * the last batch write; the log's `MAX(seq)` is exact (see storage/channel/store.ts).
 */
export const channel = sqliteTable("channel", {
  id: integer("id").primaryKey(),
  channelId: text("channel_id").notNull(),
  kind: text("kind", { enum: ["dm", "group"] }).notNull(),
  name: text("name"),
  ownerId: text("owner_id"),
  createdAt: integer("created_at").notNull(),
  headSeq: integer("head_seq").notNull(),
  /** Bumped on every change of name or membership; D1's copy is in step at `d1Rev`. */
  metaRev: integer("meta_rev").notNull(),
  d1Rev: integer("d1_rev").notNull(),
  /** 1:1 only: members who blocked the other, as a JSON array. While any, nobody posts. */
  blockedBy: text("blocked_by").notNull().default("[]"),
  /**
   * 1:1 only: why nobody may post, though both may still read (null: open). `not_friends`
   * while the two are not friends (a re-friending reopens it); `account_deleted` for good.
   */
  closedReason: text("closed_reason", { enum: ["not_friends", "account_deleted"] }),
});

/**
 * Members, current and removed. A member's user object has every message up to `syncedSeq`
 * and every change of this row up to `syncedRev`; whenever `syncedSeq < headSeq` or
 * `syncedRev < rev`, an update is owed and the fan-out (or its alarm) will send it.
 */
export const members = sqliteTable("members", {
  userId: text("user_id").primaryKey(),
  role: text("role", { enum: ["owner", "admin", "member"] }).notNull(),
  joinedAt: integer("joined_at").notNull(),
  /** A member reads messages after this seq: new members see history from when they joined. */
  joinedSeq: integer("joined_seq").notNull(),
  readSeq: integer("read_seq").notNull(),
  /** The highest seq one of this member's devices acknowledged receiving (DELIVERED). */
  deliveredSeq: integer("delivered_seq").notNull().default(0),
  syncedSeq: integer("synced_seq").notNull(),
  rev: integer("rev").notNull(),
  syncedRev: integer("synced_rev").notNull(),
  /** Set when the member left or was removed; the row stays until its user object knows. */
  removedAt: integer("removed_at"),
  /** The head when the member left or was removed: the last seq it may read. */
  removedSeq: integer("removed_seq"),
});

export const messages = sqliteTable(
  "messages",
  {
    seq: integer("seq").primaryKey(),
    id: text("id").notNull(),
    senderId: text("sender_id").notNull(),
    clientMsgId: text("client_msg_id").notNull(),
    text: text("text").notNull(),
    ts: integer("ts").notNull(),
  },
  // The idempotency key is stored with the message, so a retry is recognised a month later.
  // Nothing reads by time: every read is by seq, so `ts` has no index (one page less per write).
  (t) => [uniqueIndex("messages_client_msg").on(t.senderId, t.clientMsgId)],
);

/**
 * Blocks between members: `blockerId` blocked `blockedId`. Nothing about the blocker's activity
 * in the channel (presence, typing, receipts) reaches the blocked member (docs/protocol.md §6.9).
 * Kept by the Worker, which tells every channel the two share when a block is made or lifted
 * and passes the blocks among new members when they join.
 */
export const blocks = sqliteTable(
  "blocks",
  {
    blockerId: text("blocker_id").notNull(),
    blockedId: text("blocked_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.blockerId, t.blockedId] })],
);
