/**
 * @module storage/user/store
 * Every query of a UserInbox's SQLite, through the synchronous `ctx.storage.sql` API.
 * The schema is declared in drizzle (./schema.ts) and migrated from drizzle-kit's output.
 *
 * The object is the only writer, so channels and device streams are also kept in memory: every
 * channel update reads them for every device (docs/performance.md). A channel's update changes
 * them on every message, so those changes are written behind, in batches (`persistBatched`, at
 * most a second later; the object's `#saveSoon`): an event with a write must wait for its commit
 * before any frame leaves (the output gate), and a commit per update held every live message on
 * the user socket behind an fsync. A crash can lose the last second of them: the channel's next
 * update corrects the copy (heads and markers only move forward), and devices, whose sockets a
 * crash closes, resume from their own cursors. A channel new to the user is written at once.
 */
import { messagePreview } from "../../domain/attachments.ts";
import type { PresenceStatus } from "../../domain/presence.ts";
import type { ChannelSummary } from "../../protocol/frames.ts";
import type { InboxUpdate } from "../../protocol/rpc.ts";

export interface InboxChannel {
  channelId: string;
  kind: "dm" | "group";
  name: string | null;
  headSeq: number;
  readSeq: number;
  joinedSeq: number;
  lastSeq: number | null;
  lastSenderId: string | null;
  lastPreview: string | null;
  lastTs: number | null;
  /** The last message was edited, or deleted (docs/protocol.md §2.3 `last_message`). */
  lastEdited: boolean;
  lastDeleted: boolean;
  /**
   * Message counts at the head, the read marker and the join point (docs/protocol.md §2.1
   * `msg_count`): unread is messages, never edits, deletes or reactions. Null in a row written
   * before they existed, when every entry was a message: then each is its seq.
   */
  headMsgCount: number | null;
  readMsgCount: number | null;
  joinedMsgCount: number | null;
  muted: boolean;
  /** When the channel last updated this copy (ms); not read back, only kept for the record. */
  updatedAt?: number;
}

/** A message a push notification stands for: a reference and its preview, never the body. */
export interface PushRef {
  seq: number;
  messageId: string;
  senderId: string;
  /** At most 100 code points of the text. */
  preview: string;
}

/** A channel's push notifications under way (see durable-objects/user-inbox/pushes.ts). */
export interface PushState {
  /** The job on the push queue: its seq, when it was queued, attempts the consumer reported. */
  inFlight: { seq: number; at: number; attempts: number } | null;
  /** The newest message waiting for that job to settle. */
  waiting: PushRef | null;
}

type Row = Record<string, SqlStorageValue>;
const CHANNEL_COLS =
  "channel_id AS channelId, kind, name, head_seq AS headSeq, read_seq AS readSeq, joined_seq AS joinedSeq, last_seq AS lastSeq, last_sender_id AS lastSenderId, last_preview AS lastPreview, last_ts AS lastTs, last_edited AS lastEdited, last_deleted AS lastDeleted, head_msg_count AS headMsgCount, read_msg_count AS readMsgCount, joined_msg_count AS joinedMsgCount, muted";

/** Messages after the read marker (or the join point, if later): edits, deletes and reactions never count. */
export function unreadOf(c: InboxChannel): number {
  const head = c.headMsgCount ?? c.headSeq;
  const read = c.readMsgCount ?? c.readSeq;
  const joined = c.joinedMsgCount ?? c.joinedSeq;
  return Math.max(0, head - Math.max(read, joined));
}

export function toSummary(c: InboxChannel): ChannelSummary {
  return {
    channel_id: c.channelId,
    kind: c.kind,
    name: c.name,
    head_seq: c.headSeq,
    head_msg_count: c.headMsgCount ?? c.headSeq,
    read_seq: c.readSeq,
    unread: unreadOf(c),
    muted: c.muted,
    last_message:
      c.lastSeq === null
        ? null
        : {
            seq: c.lastSeq,
            sender_id: c.lastSenderId ?? "",
            preview: c.lastPreview ?? "",
            ts: c.lastTs ?? 0,
            ...(c.lastEdited && { edited: true }),
            ...(c.lastDeleted && { deleted: true }),
          },
  };
}

export class InboxStore {
  readonly #sql: SqlStorage;
  #channels: Map<string, InboxChannel> | undefined;
  readonly #streams = new Map<string, Map<string, number>>();
  /** Channels and (device, channel) stream positions changed in memory since the last batch. */
  readonly #unsavedChannels = new Set<string>();
  readonly #unsavedStreams = new Map<string, Set<string>>();

  readonly #onUnsaved: () => void;

  /** `onUnsaved` is called whenever a change waits for `persistBatched` (schedule it). */
  constructor(sql: SqlStorage, onUnsaved: () => void = () => {}) {
    this.#sql = sql;
    this.#onUnsaved = onUnsaved;
  }

  #channelMap(): Map<string, InboxChannel> {
    if (!this.#channels) {
      const rows = this.#sql.exec<Row>(`SELECT ${CHANNEL_COLS} FROM channels`).toArray();
      this.#channels = new Map(
        rows.map((r) => [
          r.channelId as string,
          {
            ...(r as unknown as InboxChannel),
            muted: r.muted === 1,
            lastEdited: r.lastEdited === 1,
            lastDeleted: r.lastDeleted === 1,
          },
        ]),
      );
    }
    return this.#channels;
  }

  channel(channelId: string): InboxChannel | null {
    return this.#channelMap().get(channelId) ?? null;
  }

  /** Most recent activity first. */
  channels(): InboxChannel[] {
    return [...this.#channelMap().values()].sort((a, b) => (b.lastTs ?? 0) - (a.lastTs ?? 0));
  }

  /**
   * Applies a channel's update; head and read marker only move forward. Written with the next
   * batch, unless the channel is new here.
   */
  applyUpdate(u: InboxUpdate, now: number): void {
    const c = this.channel(u.channel_id);
    // The newest message as the channel shows it (with its edit or deletion); else the newest
    // message the update brings (never an edit, delete or reaction).
    const shown = u.last_message ?? undefined;
    const brought = u.messages.findLast((m) => m.type === undefined);
    const last = shown
      ? shown
      : brought && {
          seq: brought.seq,
          sender_id: brought.sender_id,
          preview: messagePreview(brought.text, brought.attachments),
          ts: brought.ts,
          edited: false,
          deleted: false,
        };
    const newer =
      last !== undefined &&
      (last.seq > (c?.lastSeq ?? -1) || (shown !== undefined && last.seq === c?.lastSeq));
    const headMoved = u.head_seq >= (c?.headSeq ?? 0);
    const readMoved = u.read_seq >= (c?.readSeq ?? 0);
    const next: InboxChannel = {
      channelId: u.channel_id,
      kind: u.kind,
      name: u.name,
      headSeq: Math.max(c?.headSeq ?? 0, u.head_seq),
      readSeq: Math.max(c?.readSeq ?? 0, u.read_seq),
      joinedSeq: u.joined_seq,
      lastSeq: newer ? last.seq : (c?.lastSeq ?? null),
      lastSenderId: newer ? last.sender_id : (c?.lastSenderId ?? null),
      lastPreview: newer ? last.preview : (c?.lastPreview ?? null),
      lastTs: newer ? last.ts : (c?.lastTs ?? null),
      lastEdited: newer ? last.edited === true : (c?.lastEdited ?? false),
      lastDeleted: newer ? last.deleted === true : (c?.lastDeleted ?? false),
      // Each count moves with its seq (only forward).
      headMsgCount: headMoved ? u.head_msg_count : (c?.headMsgCount ?? null),
      readMsgCount: readMoved ? u.read_msg_count : (c?.readMsgCount ?? null),
      joinedMsgCount: u.joined_msg_count,
      muted: c?.muted ?? false,
      updatedAt: now,
    };
    this.#channelMap().set(u.channel_id, next);
    if (c) {
      this.#unsavedChannels.add(u.channel_id);
      this.#onUnsaved();
    } else this.#writeChannel(next);
  }

  #writeChannel(next: InboxChannel): void {
    this.#sql.exec(
      `INSERT INTO channels (channel_id, kind, name, head_seq, read_seq, joined_seq, last_seq, last_sender_id, last_preview, last_ts,
         last_edited, last_deleted, head_msg_count, read_msg_count, joined_msg_count, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (channel_id) DO UPDATE SET name = excluded.name, head_seq = excluded.head_seq,
         read_seq = excluded.read_seq, joined_seq = excluded.joined_seq, last_seq = excluded.last_seq,
         last_sender_id = excluded.last_sender_id, last_preview = excluded.last_preview,
         last_ts = excluded.last_ts, last_edited = excluded.last_edited, last_deleted = excluded.last_deleted,
         head_msg_count = excluded.head_msg_count, read_msg_count = excluded.read_msg_count,
         joined_msg_count = excluded.joined_msg_count, updated_at = excluded.updated_at`,
      next.channelId,
      next.kind,
      next.name,
      next.headSeq,
      next.readSeq,
      next.joinedSeq,
      next.lastSeq,
      next.lastSenderId,
      next.lastPreview,
      next.lastTs,
      next.lastEdited ? 1 : 0,
      next.lastDeleted ? 1 : 0,
      next.headMsgCount,
      next.readMsgCount,
      next.joinedMsgCount,
      next.updatedAt ?? 0,
    );
  }

  /** Writes the channel rows and stream positions changed since the last call. */
  persistBatched(): void {
    for (const channelId of this.#unsavedChannels) {
      const c = this.channel(channelId);
      if (c) this.#writeChannel(c);
    }
    this.#unsavedChannels.clear();
    for (const [deviceId, channels] of this.#unsavedStreams) {
      const streams = this.#streams.get(deviceId);
      for (const channelId of channels) {
        const seq = streams?.get(channelId);
        if (seq === undefined) continue;
        this.#sql.exec(
          "INSERT INTO device_streams (device_id, channel_id, sent_seq) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET sent_seq = excluded.sent_seq",
          deviceId,
          channelId,
          seq,
        );
      }
    }
    this.#unsavedStreams.clear();
  }

  setMuted(channelId: string, muted: boolean): boolean {
    const c = this.channel(channelId);
    if (!c) return false;
    this.#sql.exec("UPDATE channels SET muted = ? WHERE channel_id = ?", muted ? 1 : 0, channelId);
    c.muted = muted;
    return true;
  }

  /** Channels with unread messages: the badge of a notification. */
  unreadChannels(): number {
    let n = 0;
    for (const c of this.#channelMap().values()) if (unreadOf(c) > 0) n++;
    return n;
  }

  hidePreviews(): boolean {
    return (
      this.#sql.exec("SELECT hide_previews FROM settings WHERE id = 1").toArray()[0]?.hide_previews === 1
    );
  }

  setHidePreviews(hide: boolean): void {
    this.#sql.exec(
      "INSERT INTO settings (id, hide_previews) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET hide_previews = excluded.hide_previews",
      hide ? 1 : 0,
    );
  }

  deleteChannel(channelId: string): void {
    this.#sql.exec("DELETE FROM channels WHERE channel_id = ?", channelId);
    this.#sql.exec("DELETE FROM device_streams WHERE channel_id = ?", channelId);
    this.#sql.exec("DELETE FROM pushes WHERE channel_id = ?", channelId);
    this.#channelMap().delete(channelId);
    this.#unsavedChannels.delete(channelId);
    for (const s of this.#streams.values()) s.delete(channelId);
    for (const s of this.#unsavedStreams.values()) s.delete(channelId);
  }

  /** The last seq sent to this device's user socket in this channel, if it is tracked. */
  sentSeq(deviceId: string, channelId: string): number | undefined {
    return this.#streamsOf(deviceId).get(channelId);
  }

  #streamsOf(deviceId: string): Map<string, number> {
    let streams = this.#streams.get(deviceId);
    if (!streams) {
      const rows = this.#sql
        .exec<{ channel_id: string; sent_seq: number }>(
          "SELECT channel_id, sent_seq FROM device_streams WHERE device_id = ?",
          deviceId,
        )
        .toArray();
      streams = new Map(rows.map((r) => [r.channel_id, r.sent_seq]));
      this.#streams.set(deviceId, streams);
    }
    return streams;
  }

  /** Moves a device's stream in a channel; written with the next batch (see `persistBatched`). */
  setSentSeq(deviceId: string, channelId: string, seq: number): void {
    this.#streamsOf(deviceId).set(channelId, seq);
    const unsaved = this.#unsavedStreams.get(deviceId) ?? new Set<string>();
    unsaved.add(channelId);
    this.#unsavedStreams.set(deviceId, unsaved);
    this.#onUnsaved();
  }

  /** A new connection starts untracked: live from the next message until it resumes. */
  clearStreams(deviceId: string): void {
    this.#sql.exec("DELETE FROM device_streams WHERE device_id = ?", deviceId);
    this.#streams.set(deviceId, new Map());
    this.#unsavedStreams.delete(deviceId);
  }

  /** Records a ticket as used; false if it already was. Expired entries are dropped. */
  useTicket(jti: string, expiresAt: number, now: number): boolean {
    this.#sql.exec("DELETE FROM used_tickets WHERE expires_at < ?", now);
    const inserted = this.#sql
      .exec(
        "INSERT INTO used_tickets (jti, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING jti",
        jti,
        expiresAt,
      )
      .toArray();
    return inserted.length === 1;
  }

  isRevoked(deviceId: string): boolean {
    return this.#sql.exec("SELECT 1 FROM revoked_devices WHERE device_id = ?", deviceId).toArray().length > 0;
  }

  revoke(deviceId: string, now: number): void {
    this.#sql.exec(
      "INSERT INTO revoked_devices (device_id, revoked_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
      deviceId,
      now,
    );
    this.#sql.exec("DELETE FROM device_streams WHERE device_id = ?", deviceId);
    this.#streams.delete(deviceId);
    this.#unsavedStreams.delete(deviceId);
  }

  recordChannelSocket(deviceId: string, channelId: string, now: number): void {
    this.#sql.exec(
      "INSERT INTO channel_sockets (device_id, channel_id, opened_at) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET opened_at = excluded.opened_at",
      deviceId,
      channelId,
      now,
    );
  }

  /** The channels where a device opened sockets. */
  channelSocketsOf(deviceId: string): string[] {
    return this.#sql
      .exec<{ channel_id: string }>("SELECT channel_id FROM channel_sockets WHERE device_id = ?", deviceId)
      .toArray()
      .map((r) => r.channel_id);
  }

  forgetChannelSockets(deviceId: string): void {
    this.#sql.exec("DELETE FROM channel_sockets WHERE device_id = ?", deviceId);
  }

  // -------------------------------------------------------------------------------------------
  // Push notifications under way. Read and written only while no device is connected, so they
  // are not cached: one small row per channel.

  pushState(channelId: string): PushState | null {
    const r = this.#sql
      .exec<Row>(
        `SELECT in_flight_seq AS inFlightSeq, in_flight_at AS inFlightAt, attempts, waiting_seq AS waitingSeq,
           waiting_message_id AS waitingMessageId, waiting_sender_id AS waitingSenderId, waiting_preview AS waitingPreview
         FROM pushes WHERE channel_id = ?`,
        channelId,
      )
      .toArray()[0];
    if (!r) return null;
    return {
      inFlight:
        r.inFlightSeq === null
          ? null
          : { seq: r.inFlightSeq as number, at: r.inFlightAt as number, attempts: r.attempts as number },
      waiting:
        r.waitingSeq === null
          ? null
          : {
              seq: r.waitingSeq as number,
              messageId: r.waitingMessageId as string,
              senderId: r.waitingSenderId as string,
              preview: r.waitingPreview as string,
            },
    };
  }

  /** Writes a channel's push state; the row goes when nothing is in flight or waiting. */
  setPushState(channelId: string, s: PushState): void {
    if (!s.inFlight && !s.waiting) {
      this.#sql.exec("DELETE FROM pushes WHERE channel_id = ?", channelId);
      return;
    }
    this.#sql.exec(
      `INSERT OR REPLACE INTO pushes (channel_id, in_flight_seq, in_flight_at, attempts, waiting_seq,
         waiting_message_id, waiting_sender_id, waiting_preview) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      channelId,
      s.inFlight?.seq ?? null,
      s.inFlight?.at ?? null,
      s.inFlight?.attempts ?? 0,
      s.waiting?.seq ?? null,
      s.waiting?.messageId ?? null,
      s.waiting?.senderId ?? null,
      s.waiting?.preview ?? null,
    );
  }

  // -------------------------------------------------------------------------------------------
  // Presence.

  presence(): PresenceRow | null {
    const rows = this.#sql
      .exec<Row>(
        "SELECT status, last_active_at AS lastActiveAt, published_status AS publishedStatus, invisible FROM presence WHERE id = 1",
      )
      .toArray();
    const r = rows[0];
    return r
      ? {
          status: r.status as PresenceStatus,
          lastActiveAt: r.lastActiveAt as number,
          publishedStatus: r.publishedStatus as PresenceStatus,
          invisible: r.invisible === 1,
        }
      : null;
  }

  setPresence(p: PresenceRow): void {
    this.#sql.exec(
      `INSERT INTO presence (id, status, last_active_at, published_status, invisible) VALUES (1, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, last_active_at = excluded.last_active_at,
         published_status = excluded.published_status, invisible = excluded.invisible`,
      p.status,
      p.lastActiveAt,
      p.publishedStatus,
      p.invisible ? 1 : 0,
    );
  }

  friendPresence(): { userId: string; status: PresenceStatus; lastActiveAt: number }[] {
    return this.#sql
      .exec<Row>("SELECT user_id AS userId, status, last_active_at AS lastActiveAt FROM friend_presence")
      .toArray() as unknown as { userId: string; status: PresenceStatus; lastActiveAt: number }[];
  }

  setFriendPresence(userId: string, status: PresenceStatus, lastActiveAt: number): void {
    this.#sql.exec(
      "INSERT INTO friend_presence (user_id, status, last_active_at) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET status = excluded.status, last_active_at = excluded.last_active_at",
      userId,
      status,
      lastActiveAt,
    );
  }

  forgetFriendPresence(userId: string): void {
    this.#sql.exec("DELETE FROM friend_presence WHERE user_id = ?", userId);
  }

  /** Channels still watching my presence; expired watches are dropped. */
  watchers(now: number): string[] {
    this.#sql.exec("DELETE FROM presence_watchers WHERE until < ?", now);
    return this.#sql
      .exec<{ channel_id: string }>("SELECT channel_id FROM presence_watchers")
      .toArray()
      .map((r) => r.channel_id);
  }

  watch(channelId: string, until: number): void {
    this.#sql.exec(
      "INSERT INTO presence_watchers (channel_id, until) VALUES (?, ?) ON CONFLICT DO UPDATE SET until = excluded.until",
      channelId,
      until,
    );
  }

  unwatch(channelId: string): void {
    this.#sql.exec("DELETE FROM presence_watchers WHERE channel_id = ?", channelId);
  }
}

export interface PresenceRow {
  status: PresenceStatus;
  lastActiveAt: number;
  publishedStatus: PresenceStatus;
  invisible: boolean;
}
