/**
 * @module storage/user/schema
 * The SQLite storage of one UserInbox: the user's channels with their heads and read markers
 * (copies kept in step by each ChannelRoom), how far each device's socket has been sent, used
 * socket tickets, revoked devices and the push notifications under way. drizzle-kit generates
 * migrations/user-inbox from this file.
 */
import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const channels = sqliteTable("channels", {
  channelId: text("channel_id").primaryKey(),
  kind: text("kind", { enum: ["dm", "group"] }).notNull(),
  name: text("name"),
  headSeq: integer("head_seq").notNull(),
  readSeq: integer("read_seq").notNull(),
  joinedSeq: integer("joined_seq").notNull(),
  lastSeq: integer("last_seq"),
  lastSenderId: text("last_sender_id"),
  lastPreview: text("last_preview"),
  lastTs: integer("last_ts"),
  /** The last message was edited (its preview is the edit's) or deleted (no preview). */
  lastEdited: integer("last_edited", { mode: "boolean" }),
  lastDeleted: integer("last_deleted", { mode: "boolean" }),
  /**
   * Message counts (docs/protocol.md §2.1 `msg_count`) at the head, the read marker and the join
   * point: unread counts messages, never edits, deletes or reactions. Null in rows written before
   * they existed, when each was its seq.
   */
  headMsgCount: integer("head_msg_count"),
  readMsgCount: integer("read_msg_count"),
  joinedMsgCount: integer("joined_msg_count"),
  updatedAt: integer("updated_at").notNull(),
  /** The user muted this channel: no push notifications for it. */
  muted: integer("muted", { mode: "boolean" }).notNull().default(false),
});

/** This user's settings that the user object acts on (one row, id = 1). */
export const settings = sqliteTable("settings", {
  id: integer("id").primaryKey(),
  /** Push notifications carry no preview of the message text. */
  hidePreviews: integer("hide_previews", { mode: "boolean" }).notNull().default(false),
});

/**
 * The last seq sent to a device's user socket, per channel. Live updates continue from here
 * without gaps; it is reset from the device's own cursors when it resumes.
 */
export const deviceStreams = sqliteTable(
  "device_streams",
  {
    deviceId: text("device_id").notNull(),
    channelId: text("channel_id").notNull(),
    sentSeq: integer("sent_seq").notNull(),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.channelId] })],
);

/** Socket tickets already used; kept until they expire, so none is accepted twice. */
export const usedTickets = sqliteTable("used_tickets", {
  jti: text("jti").primaryKey(),
  expiresAt: integer("expires_at").notNull(),
});

/** Devices signed out or revoked: their tickets are refused even before they expire. */
export const revokedDevices = sqliteTable("revoked_devices", {
  deviceId: text("device_id").primaryKey(),
  revokedAt: integer("revoked_at").notNull(),
});

/** Channels where a device opened a channel socket, so a revocation can close those too. */
export const channelSockets = sqliteTable(
  "channel_sockets",
  {
    deviceId: text("device_id").notNull(),
    channelId: text("channel_id").notNull(),
    openedAt: integer("opened_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.channelId] })],
);

/** This user's presence (one row, id = 1), and the status last published to others. */
export const presence = sqliteTable("presence", {
  id: integer("id").primaryKey(),
  status: text("status", { enum: ["online", "offline"] }).notNull(),
  lastActiveAt: integer("last_active_at").notNull(),
  /** What friends and watching channels were last told (after the invisible setting). */
  publishedStatus: text("published_status", { enum: ["online", "offline"] }).notNull(),
  invisible: integer("invisible", { mode: "boolean" }).notNull().default(false),
});

/** Friends' presence as they published it to me (publish/subscribe per friendship). */
export const friendPresence = sqliteTable("friend_presence", {
  userId: text("user_id").primaryKey(),
  status: text("status", { enum: ["online", "offline"] }).notNull(),
  lastActiveAt: integer("last_active_at").notNull(),
});

/** Channels with someone viewing them, which want my presence changes until `until`. */
export const presenceWatchers = sqliteTable("presence_watchers", {
  channelId: text("channel_id").primaryKey(),
  until: integer("until").notNull(),
});

/**
 * Push notifications under way, per channel (durable-objects/user-inbox/pushes.ts): the job on
 * the push queue, and the newest message waiting for it to settle. A row goes when nothing is
 * in flight or waiting; kept in storage so an eviction or restart loses neither (#16).
 */
export const pushes = sqliteTable("pushes", {
  channelId: text("channel_id").primaryKey(),
  /** The job on the queue: its message, when it was queued and how many attempts it has had. */
  inFlightSeq: integer("in_flight_seq"),
  inFlightAt: integer("in_flight_at"),
  attempts: integer("attempts").notNull().default(0),
  /** The newest message waiting for that job: a reference and its preview, never the body. */
  waitingSeq: integer("waiting_seq"),
  waitingMessageId: text("waiting_message_id"),
  waitingSenderId: text("waiting_sender_id"),
  waitingPreview: text("waiting_preview"),
});
