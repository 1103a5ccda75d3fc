/**
 * @module storage/user/store
 * Every query of a UserInbox's SQLite, through the synchronous `ctx.storage.sql` API.
 * The schema is declared in drizzle (./schema.ts) and migrated from drizzle-kit's output.
 */
import { preview } from "../../domain/message-text.ts";
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
}

type Row = Record<string, SqlStorageValue>;
const CHANNEL_COLS =
  "channel_id AS channelId, kind, name, head_seq AS headSeq, read_seq AS readSeq, joined_seq AS joinedSeq, last_seq AS lastSeq, last_sender_id AS lastSenderId, last_preview AS lastPreview, last_ts AS lastTs";

export function toSummary(c: InboxChannel): ChannelSummary {
  return {
    channel_id: c.channelId,
    kind: c.kind,
    name: c.name,
    head_seq: c.headSeq,
    read_seq: c.readSeq,
    unread: Math.max(0, c.headSeq - Math.max(c.readSeq, c.joinedSeq)),
    last_message:
      c.lastSeq === null
        ? null
        : { seq: c.lastSeq, sender_id: c.lastSenderId ?? "", preview: c.lastPreview ?? "", ts: c.lastTs ?? 0 },
  };
}

export class InboxStore {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  channel(channelId: string): InboxChannel | null {
    const rows = this.#sql.exec<Row>(`SELECT ${CHANNEL_COLS} FROM channels WHERE channel_id = ?`, channelId).toArray();
    return (rows[0] as unknown as InboxChannel | undefined) ?? null;
  }

  /** Most recent activity first. */
  channels(): InboxChannel[] {
    return this.#sql
      .exec<Row>(`SELECT ${CHANNEL_COLS} FROM channels ORDER BY COALESCE(last_ts, updated_at) DESC`)
      .toArray() as unknown as InboxChannel[];
  }

  /** Applies a channel's update; head and read marker only move forward. */
  applyUpdate(u: InboxUpdate, now: number): void {
    const last = u.messages.at(-1);
    this.#sql.exec(
      `INSERT INTO channels (channel_id, kind, name, head_seq, read_seq, joined_seq, last_seq, last_sender_id, last_preview, last_ts, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (channel_id) DO UPDATE SET
         name = excluded.name,
         head_seq = MAX(channels.head_seq, excluded.head_seq),
         read_seq = MAX(channels.read_seq, excluded.read_seq),
         joined_seq = excluded.joined_seq,
         last_seq = CASE WHEN excluded.last_seq > COALESCE(channels.last_seq, -1) THEN excluded.last_seq ELSE channels.last_seq END,
         last_sender_id = CASE WHEN excluded.last_seq > COALESCE(channels.last_seq, -1) THEN excluded.last_sender_id ELSE channels.last_sender_id END,
         last_preview = CASE WHEN excluded.last_seq > COALESCE(channels.last_seq, -1) THEN excluded.last_preview ELSE channels.last_preview END,
         last_ts = CASE WHEN excluded.last_seq > COALESCE(channels.last_seq, -1) THEN excluded.last_ts ELSE channels.last_ts END,
         updated_at = excluded.updated_at`,
      u.channel_id,
      u.kind,
      u.name,
      u.head_seq,
      u.read_seq,
      u.joined_seq,
      last?.seq ?? null,
      last?.sender_id ?? null,
      last ? preview(last.text) : null,
      last?.ts ?? null,
      now,
    );
  }

  deleteChannel(channelId: string): void {
    this.#sql.exec("DELETE FROM channels WHERE channel_id = ?", channelId);
    this.#sql.exec("DELETE FROM device_streams WHERE channel_id = ?", channelId);
  }

  /** The last seq sent to this device's user socket in this channel, if it is tracked. */
  sentSeq(deviceId: string, channelId: string): number | undefined {
    const rows = this.#sql
      .exec<{ sent_seq: number }>(
        "SELECT sent_seq FROM device_streams WHERE device_id = ? AND channel_id = ?",
        deviceId,
        channelId,
      )
      .toArray();
    return rows[0]?.sent_seq;
  }

  setSentSeq(deviceId: string, channelId: string, seq: number): void {
    this.#sql.exec(
      "INSERT INTO device_streams (device_id, channel_id, sent_seq) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET sent_seq = excluded.sent_seq",
      deviceId,
      channelId,
      seq,
    );
  }

  /** A new connection starts untracked: live from the next message until it resumes. */
  clearStreams(deviceId: string): void {
    this.#sql.exec("DELETE FROM device_streams WHERE device_id = ?", deviceId);
  }

  /** Records a ticket as used; false if it already was. Expired entries are dropped. */
  useTicket(jti: string, expiresAt: number, now: number): boolean {
    this.#sql.exec("DELETE FROM used_tickets WHERE expires_at < ?", now);
    const inserted = this.#sql
      .exec("INSERT INTO used_tickets (jti, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING jti", jti, expiresAt)
      .toArray();
    return inserted.length === 1;
  }

  isRevoked(deviceId: string): boolean {
    return this.#sql.exec("SELECT 1 FROM revoked_devices WHERE device_id = ?", deviceId).toArray().length > 0;
  }

  revoke(deviceId: string, now: number): void {
    this.#sql.exec("INSERT INTO revoked_devices (device_id, revoked_at) VALUES (?, ?) ON CONFLICT DO NOTHING", deviceId, now);
    this.#sql.exec("DELETE FROM device_streams WHERE device_id = ?", deviceId);
  }

  recordChannelSocket(deviceId: string, channelId: string, now: number): void {
    this.#sql.exec(
      "INSERT INTO channel_sockets (device_id, channel_id, opened_at) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET opened_at = excluded.opened_at",
      deviceId,
      channelId,
      now,
    );
  }

  /** The channels where a device opened sockets; forgets them. */
  takeChannelSockets(deviceId: string): string[] {
    return this.#sql
      .exec<{ channel_id: string }>("DELETE FROM channel_sockets WHERE device_id = ? RETURNING channel_id", deviceId)
      .toArray()
      .map((r) => r.channel_id);
  }
}
