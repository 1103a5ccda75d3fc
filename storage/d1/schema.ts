/**
 * @module storage/d1/schema
 * The relational data kept in D1, as a drizzle schema; drizzle-kit generates the SQL in
 * migrations/d1. Every table is keyed by a user id or a channel id first, so the data can be
 * split across D1 databases by that key (see docs/architecture.md, "Where data lives").
 * Edges between users (friendships, blocks) are stored once per side, each under its owner.
 */
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    /** Lower-case, unique among live accounts; null once the account is deleted. */
    handle: text("handle"),
    displayName: text("display_name").notNull(),
    /** When set, presence shows offline to everyone (issue #4). */
    invisible: integer("invisible", { mode: "boolean" }).notNull().default(false),
    /** When set, push notifications carry no preview (issue #5). */
    hidePreviews: integer("hide_previews", { mode: "boolean" }).notNull().default(false),
    createdAt: integer("created_at").notNull(),
    deletedAt: integer("deleted_at"),
  },
  (t) => [uniqueIndex("users_handle_unique").on(t.handle)],
);

/** Kept apart from `users` so no query that reads a profile can select a hash by accident. */
export const credentials = sqliteTable("credentials", {
  userId: text("user_id").primaryKey(),
  /** PBKDF2-SHA256 output, base64url. */
  passwordHash: text("password_hash").notNull(),
  salt: text("salt").notNull(),
  iterations: integer("iterations").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** One row per login. Access tokens name the device; a revoked device's tokens stop at once. */
export const devices = sqliteTable(
  "devices",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    name: text("name").notNull(),
    platform: text("platform").notNull(),
    createdAt: integer("created_at").notNull(),
    lastSeenAt: integer("last_seen_at").notNull(),
    revokedAt: integer("revoked_at"),
    /** SHA-256 of the current refresh secret, base64url; rotated on every refresh. */
    refreshHash: text("refresh_hash").notNull(),
    refreshExpiresAt: integer("refresh_expires_at").notNull(),
  },
  (t) => [index("devices_user").on(t.userId)],
);

/**
 * One row per side of a relation. `state` is the owner's view: `outgoing` (I asked),
 * `incoming` (they asked), `friends`.
 */
export const friendships = sqliteTable(
  "friendships",
  {
    userId: text("user_id").notNull(),
    otherId: text("other_id").notNull(),
    state: text("state", { enum: ["outgoing", "incoming", "friends"] }).notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.otherId] })],
);

/** `userId` blocked `blockedId`. */
export const blocks = sqliteTable(
  "blocks",
  {
    userId: text("user_id").notNull(),
    blockedId: text("blocked_id").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.blockedId] })],
);

/**
 * A copy of each channel's identity for listings. The channel's Durable Object is the
 * authority and keeps this row in step.
 */
export const channels = sqliteTable("channels", {
  id: text("id").primaryKey(),
  kind: text("kind", { enum: ["dm", "group"] }).notNull(),
  name: text("name"),
  ownerId: text("owner_id"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** A copy of each channel's members, kept in step by the channel's Durable Object. */
export const memberships = sqliteTable(
  "memberships",
  {
    userId: text("user_id").notNull(),
    channelId: text("channel_id").notNull(),
    role: text("role", { enum: ["owner", "admin", "member"] }).notNull(),
    joinedAt: integer("joined_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.channelId] }), index("memberships_channel").on(t.channelId)],
);

/**
 * Flood limits that must hold across every Worker (storage/d1/rate-limits.ts): signups per
 * address, failed logins and password checks. One token bucket per key, as GCRA keeps it: `tat`
 * is when the bucket is full again, so a row whose `tat` has passed means nothing and the
 * retention job deletes it (workers/retention.ts). A successful login also writes a row, `tat`
 * being how long its address stays known for that account.
 */
export const rateLimits = sqliteTable("rate_limits", {
  key: text("key").primaryKey(),
  tat: integer("tat").notNull(),
});

/** Web Push subscriptions, one per device at most; they go with the device. */
export const pushSubscriptions = sqliteTable(
  "push_subscriptions",
  {
    deviceId: text("device_id").primaryKey(),
    userId: text("user_id").notNull(),
    endpoint: text("endpoint").notNull(),
    p256dh: text("p256dh").notNull(),
    auth: text("auth").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("push_subscriptions_user").on(t.userId)],
);

/**
 * Pushes already sent, so a retried job never notifies a device twice for one message. Only a
 * job's retries read a row, so the retention job deletes rows past a job's longest life.
 */
export const pushSent = sqliteTable(
  "push_sent",
  {
    deviceId: text("device_id").notNull(),
    channelId: text("channel_id").notNull(),
    seq: integer("seq").notNull(),
    sentAt: integer("sent_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.channelId, t.seq] }), index("push_sent_sent_at").on(t.sentAt)],
);

/**
 * Jobs that exhausted their retries (written by the dead-letter queue's consumer), kept for an
 * operator to look at for a while, then deleted by the retention job.
 */
export const pushFailures = sqliteTable(
  "push_failures",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    channelId: text("channel_id").notNull(),
    seq: integer("seq").notNull(),
    attempts: integer("attempts").notNull(),
    failedAt: integer("failed_at").notNull(),
    body: text("body").notNull(),
  },
  (t) => [index("push_failures_failed_at").on(t.failedAt)],
);
