/**
 * @module storage/user/schema
 * The SQLite storage of one UserInbox: the user's channels with their heads and read markers
 * (copies kept in step by each ChannelRoom), how far each device's socket has been sent, used
 * socket tickets and revoked devices. drizzle-kit generates migrations/user-inbox from this file.
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
  updatedAt: integer("updated_at").notNull(),
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
