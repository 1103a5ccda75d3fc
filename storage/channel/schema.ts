/**
 * @module storage/channel/schema
 * The SQLite storage of one ChannelRoom: the channel's identity, its members (the authority,
 * with read markers and how far each member's user object has been updated) and its message
 * log. drizzle-kit generates migrations/channel-room from this file.
 */
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

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
  /**
   * The channel's message count at `joinedSeq` (docs/protocol.md §2.1 `msg_count`): unread counts
   * messages after it. Null in rows written before entries other than messages existed, when it
   * was `joinedSeq`.
   */
  joinedMsgCount: integer("joined_msg_count"),
});

/**
 * The log: every entry, a message or an edit, delete or reaction of one (docs/protocol.md §2.2).
 * The table kept its first name.
 */
export const messages = sqliteTable(
  "messages",
  {
    seq: integer("seq").primaryKey(),
    /** Null for a message; `edit`, `delete` or `reaction`. */
    type: text("type", { enum: ["edit", "delete", "reaction"] }),
    id: text("id").notNull(),
    senderId: text("sender_id").notNull(),
    clientMsgId: text("client_msg_id").notNull(),
    text: text("text").notNull(),
    ts: integer("ts").notNull(),
    /**
     * The chain hash after this entry (domain/log-chain.ts), 64 hex digits, computed by the
     * single writer with the row. Empty only in rows written before the chain existed, until the
     * object's first start fills them in (storage/channel/store.ts, `backfillChain`).
     */
    hash: text("hash").notNull().default(""),
    /** Messages up to and including this entry; null in rows written when every entry was one (= seq). */
    msgCount: integer("msg_count"),
    /** A reply: the seq of the message it answers. */
    replyTo: integer("reply_to"),
    /** An edit, delete or reaction: the seq of the message it acts on. */
    targetSeq: integer("target_seq"),
    /** A reaction: its sender's reaction from then on (`""`: taken back). */
    emoji: text("emoji"),
    /**
     * Set when the entry's text was removed (its message was deleted): the entry's digest in hex,
     * which keeps the chain checkable without the text (domain/log-chain.ts `linkDigest`).
     */
    digest: text("digest"),
    /** The message's attachments as a JSON array of `WireAttachment` (null: none). */
    attachments: text("attachments"),
  },
  // The idempotency key is stored with the message, so a retry is recognised a month later
  // (once the row is archived, by `sealed_keys`). Nothing reads by time: every read is by seq,
  // so `ts` has no index (one page less per write).
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

/**
 * The log's sealed segments in R2, one row per segment, contiguous from seq 1 (docs/architecture.md
 * "The archive"). A row is written once the object is in R2 and was read back with this checksum;
 * the messages it covers may then leave `messages`.
 */
export const segments = sqliteTable("segments", {
  firstSeq: integer("first_seq").primaryKey(),
  lastSeq: integer("last_seq").notNull(),
  /** The R2 key: `channels/<channel id>/<first seq>-<last seq>`, zero-padded to 12 digits. */
  key: text("key").notNull(),
  /** Size of the stored (compressed) object, and its SHA-256 in hex. */
  bytes: integer("bytes").notNull(),
  checksum: text("checksum").notNull(),
  /** UTF-16 units of message text in the segment (for the cold-page cache's budget). */
  textChars: integer("text_chars").notNull(),
  /** The chain hash before the first entry and after the last (domain/log-chain.ts). */
  prevHash: text("prev_hash").notNull(),
  lastHash: text("last_hash").notNull(),
  /** The range of the entries' `ts`: where a message id's time points (jump by id). */
  minTs: integer("min_ts").notNull(),
  maxTs: integer("max_ts").notNull(),
  sealedAt: integer("sealed_at").notNull(),
  /** The message count after the last entry (`msg_count`); null in segments sealed before it existed (= last seq). */
  lastMsgCount: integer("last_msg_count"),
  /**
   * Bumped when a delete needs text removed from this segment (docs/architecture.md "Deleting in
   * the archive"); 0 once the object was rewritten without it (durable-objects/channel-room/scrubber.ts).
   */
  scrub: integer("scrub").notNull().default(0),
  /**
   * The checksum of the rewrite under way, recorded before the object is overwritten: a load
   * accepts the object under either checksum until the rewrite is recorded, so a crash between
   * the put and the record leaves a segment that still reads.
   */
  scrubChecksum: text("scrub_checksum"),
});

/**
 * What became of a message: its newest edit, its delete, the seq of its newest reaction, and,
 * once it is quoted by a reply, its sender and a preview (docs/protocol.md §2.2, resolved on
 * read). One row per message that was edited, deleted, reacted to or replied to, kept forever in
 * SQLite: its rows and segments may be sealed, and a read of any of them must find its state.
 * A delete clears every text here (`edit_text`, `preview`).
 */
export const messageState = sqliteTable("message_state", {
  seq: integer("seq").primaryKey(),
  senderId: text("sender_id").notNull(),
  /** The first 100 code points of its current text, for replies' quotes (null once deleted). */
  preview: text("preview"),
  editSeq: integer("edit_seq"),
  editTs: integer("edit_ts"),
  /** The newest edit's text (null once deleted). */
  editText: text("edit_text"),
  /** Every edit's seq, as a JSON array: their texts go too when the message is deleted. */
  editSeqs: text("edit_seqs").notNull().default("[]"),
  deletedSeq: integer("deleted_seq"),
  deletedTs: integer("deleted_ts"),
  deletedBy: text("deleted_by"),
  /** The seq of the newest reaction entry to it. */
  reactionsSeq: integer("reactions_seq"),
});

/** Each member's reaction to a message, one at most (docs/protocol.md §6.10). */
export const reactions = sqliteTable(
  "reactions",
  {
    messageSeq: integer("message_seq").notNull(),
    userId: text("user_id").notNull(),
    emoji: text("emoji").notNull(),
    /** The reaction entry that set it: the order emoji were first used follows it. */
    seq: integer("seq").notNull(),
  },
  (t) => [primaryKey({ columns: [t.messageSeq, t.userId] })],
);

/**
 * Work owed to the hooks of messages (durable-objects/channel-room/message-hooks.ts): an entry
 * of a message that was deleted or edited, written with the entry, removed once its hook ran. A
 * crash in between leaves the row, and the alarm calls the hook again (hooks are idempotent).
 */
export const hookQueue = sqliteTable("hook_queue", {
  seq: integer("seq").primaryKey(),
  kind: text("kind", { enum: ["edit", "delete"] }).notNull(),
  targetSeq: integer("target_seq").notNull(),
});

/**
 * Idempotency keys of messages whose rows left `messages` for the archive: a retry of a
 * `client_msg_id` is recognised forever (docs/protocol.md §6.2). `key` is 48 bits of
 * SHA-256(sender_id, client_msg_id) (storage/channel/store.ts, `sealedKeyOf`): about 30 bytes
 * per message with its index, against about 100 for the two ids. A match is a candidate only:
 * the archived message at `seq` is read and compared before a retry is answered with it.
 */
export const sealedKeys = sqliteTable(
  "sealed_keys",
  {
    seq: integer("seq").primaryKey(),
    key: integer("key").notNull(),
  },
  (t) => [index("sealed_keys_key").on(t.key)],
);

/**
 * Files and images uploaded to this channel (docs/architecture.md "Attachments"). The bytes are
 * in R2 (`attachments/<channel id>/<id>`, and `/preview` for an image's preview); this row says
 * who may read them. An upload is `uploading` while its bytes stream to R2, `ready` once they
 * were checked, and belongs to a message once `seq` is set (the send that names it). Rows left
 * `uploading` or never sent are swept with their objects (ChannelRoom's alarm); a message's
 * rows and objects go with the message (`Attachments.deleteForMessage`).
 */
export const attachments = sqliteTable(
  "attachments",
  {
    id: text("id").primaryKey(),
    uploaderId: text("uploader_id").notNull(),
    state: text("state", { enum: ["uploading", "ready"] }).notNull(),
    kind: text("kind", { enum: ["image", "file"] }).notNull(),
    name: text("name").notNull(),
    type: text("type").notNull(),
    size: integer("size").notNull(),
    width: integer("width"),
    height: integer("height"),
    previewWidth: integer("preview_width"),
    previewHeight: integer("preview_height"),
    /** CRC-32 of the bytes (the export's ZIP entries carry it). */
    crc32: integer("crc32"),
    createdAt: integer("created_at").notNull(),
    /** The message that carries it (null until sent). */
    seq: integer("seq"),
  },
  (t) => [index("attachments_seq").on(t.seq)],
);
