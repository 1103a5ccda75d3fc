/**
 * @module storage/channel/store
 * Every query of a ChannelRoom's SQLite, through the synchronous `ctx.storage.sql` API.
 * Raw SQL rather than drizzle on this path: a per-row drizzle insert measured about 7× the
 * cost of `sql.exec` here (docs/performance.md). The schema itself is declared in drizzle
 * (./schema.ts) and migrated by drizzle-kit's output, so names below match that file.
 */
import { MAX_PAGE_CHARS, type WireMessage } from "../../protocol/frames.ts";

export type Role = "owner" | "admin" | "member";

export interface ChannelRow {
  channelId: string;
  kind: "dm" | "group";
  name: string | null;
  ownerId: string | null;
  createdAt: number;
  headSeq: number;
  metaRev: number;
  d1Rev: number;
}

export interface MemberRow {
  userId: string;
  role: Role;
  joinedAt: number;
  joinedSeq: number;
  readSeq: number;
  syncedSeq: number;
  rev: number;
  syncedRev: number;
  removedAt: number | null;
}

type Row = Record<string, SqlStorageValue>;

const CHANNEL_COLS =
  "channel_id AS channelId, kind, name, owner_id AS ownerId, created_at AS createdAt, head_seq AS headSeq, meta_rev AS metaRev, d1_rev AS d1Rev";
const MEMBER_COLS =
  "user_id AS userId, role, joined_at AS joinedAt, joined_seq AS joinedSeq, read_seq AS readSeq, synced_seq AS syncedSeq, rev, synced_rev AS syncedRev, removed_at AS removedAt";
const MESSAGE_COLS = "seq, id, sender_id AS senderId, client_msg_id AS clientMsgId, text, ts";

export class ChannelStore {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  channel(): ChannelRow | null {
    const rows = this.#sql.exec<Row>(`SELECT ${CHANNEL_COLS} FROM channel WHERE id = 1`).toArray();
    return (rows[0] as unknown as ChannelRow | undefined) ?? null;
  }

  createChannel(c: Omit<ChannelRow, "headSeq" | "metaRev" | "d1Rev">): void {
    this.#sql.exec(
      "INSERT INTO channel (id, channel_id, kind, name, owner_id, created_at, head_seq, meta_rev, d1_rev) VALUES (1, ?, ?, ?, ?, ?, 0, 1, 0)",
      c.channelId,
      c.kind,
      c.name,
      c.ownerId,
      c.createdAt,
    );
  }

  /** Records a change of name, owner or membership that D1's copy must catch up with. */
  touchMeta(patch: { name?: string | null; ownerId?: string | null } = {}): void {
    const c = this.channel();
    if (!c) return;
    this.#sql.exec(
      "UPDATE channel SET name = ?, owner_id = ?, meta_rev = meta_rev + 1 WHERE id = 1",
      patch.name !== undefined ? patch.name : c.name,
      patch.ownerId !== undefined ? patch.ownerId : c.ownerId,
    );
  }

  markD1Synced(rev: number): void {
    this.#sql.exec("UPDATE channel SET d1_rev = MAX(d1_rev, ?) WHERE id = 1", rev);
  }

  members(): MemberRow[] {
    return this.#sql.exec<Row>(`SELECT ${MEMBER_COLS} FROM members ORDER BY joined_at, user_id`).toArray() as unknown as MemberRow[];
  }

  member(userId: string): MemberRow | null {
    const rows = this.#sql.exec<Row>(`SELECT ${MEMBER_COLS} FROM members WHERE user_id = ?`, userId).toArray();
    return (rows[0] as unknown as MemberRow | undefined) ?? null;
  }

  /** Adds a member, or brings back one who left: either way they read from `joinedSeq` on. */
  putMember(userId: string, role: Role, joinedAt: number, joinedSeq: number): void {
    this.#sql.exec(
      `INSERT INTO members (user_id, role, joined_at, joined_seq, read_seq, synced_seq, rev, synced_rev, removed_at)
       VALUES (?, ?, ?, ?, ?, ?, 1, 0, NULL)
       ON CONFLICT (user_id) DO UPDATE SET role = excluded.role, joined_at = excluded.joined_at,
         joined_seq = excluded.joined_seq, read_seq = excluded.read_seq, synced_seq = excluded.synced_seq,
         rev = members.rev + 1, removed_at = NULL`,
      userId,
      role,
      joinedAt,
      joinedSeq,
      joinedSeq,
      joinedSeq,
    );
  }

  setRole(userId: string, role: Role): void {
    this.#sql.exec("UPDATE members SET role = ?, rev = rev + 1 WHERE user_id = ?", role, userId);
  }

  markRemoved(userId: string, at: number): void {
    this.#sql.exec("UPDATE members SET removed_at = ?, rev = rev + 1 WHERE user_id = ?", at, userId);
  }

  /** Every current member's user object owes an update (a rename, say). */
  touchAllMembers(): void {
    this.#sql.exec("UPDATE members SET rev = rev + 1 WHERE removed_at IS NULL");
  }

  /** Moves a read marker forward only; returns the marker after the call. */
  markRead(userId: string, seq: number): number {
    this.#sql.exec(
      "UPDATE members SET read_seq = ?, rev = rev + 1 WHERE user_id = ? AND read_seq < ?",
      seq,
      userId,
      seq,
    );
    return this.member(userId)?.readSeq ?? 0;
  }

  /** The user object of `userId` has messages up to `seq` and this row up to `rev`. */
  markSynced(userId: string, seq: number, rev: number): void {
    this.#sql.exec(
      "UPDATE members SET synced_seq = MAX(synced_seq, ?), synced_rev = MAX(synced_rev, ?) WHERE user_id = ?",
      seq,
      rev,
      userId,
    );
  }

  /** A removed member whose user object has been told; nothing more is owed to it. */
  forgetMember(userId: string): void {
    this.#sql.exec("DELETE FROM members WHERE user_id = ? AND removed_at IS NOT NULL", userId);
  }

  /** Members whose user object is behind: messages or row changes not yet sent. */
  lagging(headSeq: number): string[] {
    return this.#sql
      .exec<{ user_id: string }>(
        "SELECT user_id FROM members WHERE (removed_at IS NULL AND synced_seq < ?) OR synced_rev < rev",
        headSeq,
      )
      .toArray()
      .map((r) => r.user_id);
  }

  byClientMsgId(senderId: string, clientMsgId: string): WireMessage | null {
    const rows = this.#sql
      .exec<Row>(`SELECT ${MESSAGE_COLS} FROM messages WHERE sender_id = ? AND client_msg_id = ?`, senderId, clientMsgId)
      .toArray();
    const row = rows[0];
    return row ? this.#wire(row) : null;
  }

  /**
   * Appends one message as the next seq and moves the head, in one synchronous transaction:
   * either both happen or neither.
   */
  append(storage: DurableObjectStorage, m: Omit<WireMessage, "seq" | "channel_id">): number {
    return storage.transactionSync(() => {
      const seq = (this.channel()?.headSeq ?? 0) + 1;
      this.#sql.exec(
        "INSERT INTO messages (seq, id, sender_id, client_msg_id, text, ts) VALUES (?, ?, ?, ?, ?, ?)",
        seq,
        m.id,
        m.sender_id,
        m.client_msg_id,
        m.text,
        m.ts,
      );
      this.#sql.exec("UPDATE channel SET head_seq = ? WHERE id = 1", seq);
      return seq;
    });
  }

  /**
   * Messages with `afterSeq < seq`, ascending, at most `limit` of them and about `maxChars`
   * of text (always at least one), so a page stays bounded whatever the message sizes.
   */
  after(afterSeq: number, limit: number, maxChars = MAX_PAGE_CHARS): WireMessage[] {
    const out: WireMessage[] = [];
    let chars = 0;
    for (const row of this.#sql.exec<Row>(
      `SELECT ${MESSAGE_COLS} FROM messages WHERE seq > ? ORDER BY seq LIMIT ?`,
      afterSeq,
      limit,
    )) {
      const m = this.#wire(row);
      chars += m.text.length;
      if (out.length > 0 && chars > maxChars) break;
      out.push(m);
    }
    return out;
  }

  /** Messages with `minSeq < seq < beforeSeq`, the newest `limit`, returned ascending. */
  before(beforeSeq: number, minSeq: number, limit: number): WireMessage[] {
    return this.#sql
      .exec<Row>(
        `SELECT ${MESSAGE_COLS} FROM messages WHERE seq < ? AND seq > ? ORDER BY seq DESC LIMIT ?`,
        beforeSeq,
        minSeq,
        limit,
      )
      .toArray()
      .reverse()
      .map((r) => this.#wire(r));
  }

  #channelId?: string;

  #wire(row: Row): WireMessage {
    this.#channelId ??= this.channel()?.channelId ?? "";
    return {
      channel_id: this.#channelId,
      seq: row.seq as number,
      id: row.id as string,
      sender_id: row.senderId as string,
      client_msg_id: row.clientMsgId as string,
      text: row.text as string,
      ts: row.ts as number,
    };
  }
}
