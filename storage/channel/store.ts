/**
 * @module storage/channel/store
 * Every query of a ChannelRoom's SQLite, through the synchronous `ctx.storage.sql` API.
 * Raw SQL rather than drizzle on this path: a per-row drizzle insert measured about 7× the
 * cost of `sql.exec` here (docs/performance.md). The schema itself is declared in drizzle
 * (./schema.ts) and migrated by drizzle-kit's output, so names below match that file.
 *
 * The object is the only writer of this database, so the store keeps write-through copies in
 * memory: the channel row, the member rows and a bounded tail of recent messages. The fan-out
 * reads them for every member on every update; from SQLite that was most of its CPU time
 * (docs/performance.md). Every write goes to SQLite first, then to the copy, except those
 * that can be derived again or sent again, which are written in batches by `persistBatched`
 * (at most a second later): the sync positions, the read and delivered markers, and the head,
 * which is also `MAX(messages.seq)`. A message's commit therefore touches only its own row and
 * its key, and a marker move touches nothing until the batch.
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
  /** JSON array of member ids who blocked the other (1:1 channels only). */
  blockedBy: string;
  /** 1:1 only: why nobody may post (null: open). See ./schema.ts. */
  closedReason: ClosedReason | null;
}

export type ClosedReason = "not_friends" | "account_deleted";

export interface MemberRow {
  userId: string;
  role: Role;
  joinedAt: number;
  joinedSeq: number;
  readSeq: number;
  deliveredSeq: number;
  syncedSeq: number;
  rev: number;
  syncedRev: number;
  removedAt: number | null;
  /** The last seq a removed member may read (the head at its removal). */
  removedSeq: number | null;
}

type Row = Record<string, SqlStorageValue>;

const CHANNEL_COLS =
  "channel_id AS channelId, kind, name, owner_id AS ownerId, created_at AS createdAt, head_seq AS headSeq, meta_rev AS metaRev, d1_rev AS d1Rev, blocked_by AS blockedBy, closed_reason AS closedReason";
const MEMBER_COLS =
  "user_id AS userId, role, joined_at AS joinedAt, joined_seq AS joinedSeq, read_seq AS readSeq, delivered_seq AS deliveredSeq, synced_seq AS syncedSeq, rev, synced_rev AS syncedRev, removed_at AS removedAt, removed_seq AS removedSeq";
const MESSAGE_COLS = "seq, id, sender_id AS senderId, client_msg_id AS clientMsgId, text, ts";

/** The recent-messages tail keeps at most this many messages and this much text. */
const TAIL_MESSAGES = 2_000;
const TAIL_CHARS = 4_000_000;

export class ChannelStore {
  readonly #sql: SqlStorage;
  #channel: ChannelRow | null | undefined;
  #members: Map<string, MemberRow> | undefined;
  #blockers: Map<string, Set<string>> | undefined;
  /** The newest messages, contiguous and ending at the head (may be empty). */
  #tail: WireMessage[] = [];
  /** Members with sync positions or markers not yet written (see persistBatched). */
  readonly #unsaved = new Set<string>();
  /** The head in memory is ahead of `channel.head_seq`. */
  #headUnsaved = false;
  #tailChars = 0;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  channel(): ChannelRow | null {
    if (this.#channel === undefined) {
      // The stored head may lag the log by up to a second (see persistBatched); the log is exact.
      const rows = this.#sql
        .exec<Row>(
          `SELECT ${CHANNEL_COLS}, (SELECT MAX(seq) FROM messages) AS logHead FROM channel WHERE id = 1`,
        )
        .toArray();
      const row = rows[0] as unknown as (ChannelRow & { logHead: number | null }) | undefined;
      if (row) {
        const { logHead, ...channel } = row;
        this.#channel = { ...channel, headSeq: Math.max(channel.headSeq, logHead ?? 0) };
      } else this.#channel = null;
    }
    return this.#channel;
  }

  #reloadChannel(): void {
    this.#channel = undefined;
  }

  #memberMap(): Map<string, MemberRow> {
    if (!this.#members) {
      const rows = this.#sql
        .exec<Row>(`SELECT ${MEMBER_COLS} FROM members ORDER BY joined_at, user_id`)
        .toArray();
      this.#members = new Map((rows as unknown as MemberRow[]).map((m) => [m.userId, m]));
    }
    return this.#members;
  }

  #reloadMember(userId: string): void {
    this.persistBatched();
    const members = this.#memberMap();
    const rows = this.#sql
      .exec<Row>(`SELECT ${MEMBER_COLS} FROM members WHERE user_id = ?`, userId)
      .toArray();
    const row = rows[0] as unknown as MemberRow | undefined;
    if (row) members.set(userId, row);
    else members.delete(userId);
  }

  createChannel(c: Omit<ChannelRow, "headSeq" | "metaRev" | "d1Rev" | "blockedBy" | "closedReason">): void {
    this.#sql.exec(
      "INSERT INTO channel (id, channel_id, kind, name, owner_id, created_at, head_seq, meta_rev, d1_rev) VALUES (1, ?, ?, ?, ?, ?, 0, 1, 0)",
      c.channelId,
      c.kind,
      c.name,
      c.ownerId,
      c.createdAt,
    );
    this.#reloadChannel();
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
    this.#reloadChannel();
  }

  /** Records that `userId` blocks (or no longer blocks) the other member of a 1:1 channel. */
  setBlocked(userId: string, blocked: boolean): void {
    const c = this.channel();
    if (!c) return;
    const set = new Set(JSON.parse(c.blockedBy) as string[]);
    if (blocked) set.add(userId);
    else set.delete(userId);
    this.#sql.exec("UPDATE channel SET blocked_by = ? WHERE id = 1", JSON.stringify([...set]));
    this.#reloadChannel();
  }

  /** Closes a 1:1 channel to posting, or reopens it (null). */
  setClosed(reason: ClosedReason | null): void {
    this.#sql.exec("UPDATE channel SET closed_reason = ? WHERE id = 1", reason);
    this.#reloadChannel();
  }

  markD1Synced(rev: number): void {
    this.#sql.exec("UPDATE channel SET d1_rev = MAX(d1_rev, ?) WHERE id = 1", rev);
    this.#reloadChannel();
  }

  /** Members in the order they joined. */
  members(): MemberRow[] {
    return [...this.#memberMap().values()];
  }

  member(userId: string): MemberRow | null {
    return this.#memberMap().get(userId) ?? null;
  }

  /** Adds a member, or brings back one who left: either way they read from `joinedSeq` on. */
  putMember(userId: string, role: Role, joinedAt: number, joinedSeq: number): void {
    this.#sql.exec(
      `INSERT INTO members (user_id, role, joined_at, joined_seq, read_seq, synced_seq, rev, synced_rev, removed_at)
       VALUES (?, ?, ?, ?, ?, ?, 1, 0, NULL)
       ON CONFLICT (user_id) DO UPDATE SET role = excluded.role, joined_at = excluded.joined_at,
         joined_seq = excluded.joined_seq, read_seq = excluded.read_seq, synced_seq = excluded.synced_seq,
         rev = members.rev + 1, removed_at = NULL, removed_seq = NULL`,
      userId,
      role,
      joinedAt,
      joinedSeq,
      joinedSeq,
      joinedSeq,
    );
    this.#reloadMember(userId);
  }

  setRole(userId: string, role: Role): void {
    this.#sql.exec("UPDATE members SET role = ?, rev = rev + 1 WHERE user_id = ?", role, userId);
    this.#reloadMember(userId);
  }

  /** The member left or was removed at `at`, when the head was `seq`: it may read up to there. */
  markRemoved(userId: string, at: number, seq: number): void {
    this.#sql.exec(
      "UPDATE members SET removed_at = ?, removed_seq = ?, rev = rev + 1 WHERE user_id = ?",
      at,
      seq,
      userId,
    );
    this.#reloadMember(userId);
  }

  /** Every current member's user object owes an update (a rename, say). */
  touchAllMembers(): void {
    this.persistBatched();
    this.#sql.exec("UPDATE members SET rev = rev + 1 WHERE removed_at IS NULL");
    this.#members = undefined;
  }

  /**
   * Moves a read marker forward only; returns the marker after the call. Kept in memory and
   * written by `persistBatched`, at most a second later: read markers arrive from every viewing
   * device of every member, and a write each was a commit each. A crash can lose the last
   * second of moves; the client's next `read` moves the marker again (docs/protocol.md §6.4).
   * A member's own message moves it the same way (`ChannelRoom.#deliver`).
   */
  markRead(userId: string, seq: number): number {
    const m = this.member(userId);
    if (!m) return 0;
    if (m.readSeq < seq) {
      m.readSeq = seq;
      m.rev++;
      this.#unsaved.add(userId);
    }
    return m.readSeq;
  }

  /** Moves a member's delivered marker forward only, like `markRead`; returns the marker after the call. */
  markDelivered(userId: string, seq: number): number {
    const m = this.member(userId);
    if (!m) return 0;
    if (m.deliveredSeq < seq) {
      m.deliveredSeq = seq;
      this.#unsaved.add(userId);
    }
    return m.deliveredSeq;
  }

  /**
   * The user object of `userId` has messages up to `seq` and this row up to `rev`. Recorded in
   * memory at once and written by `persistBatched`: an update is idempotent at the
   * user object, so after a crash the worst case is re-sending what it already has.
   */
  markSynced(userId: string, seq: number, rev: number): void {
    const m = this.member(userId);
    if (!m) return;
    m.syncedSeq = Math.max(m.syncedSeq, seq);
    m.syncedRev = Math.max(m.syncedRev, rev);
    this.#unsaved.add(userId);
  }

  /** Writes the sync positions, markers and head recorded in memory since the last call. */
  persistBatched(): void {
    for (const userId of this.#unsaved) {
      const m = this.member(userId);
      if (!m) continue;
      this.#sql.exec(
        `UPDATE members SET synced_seq = MAX(synced_seq, ?), synced_rev = MAX(synced_rev, ?),
           read_seq = MAX(read_seq, ?), delivered_seq = MAX(delivered_seq, ?), rev = MAX(rev, ?)
         WHERE user_id = ?`,
        m.syncedSeq,
        m.syncedRev,
        m.readSeq,
        m.deliveredSeq,
        m.rev,
        userId,
      );
    }
    this.#unsaved.clear();
    const head = this.#channel?.headSeq;
    if (this.#headUnsaved && head !== undefined) {
      this.#sql.exec("UPDATE channel SET head_seq = MAX(head_seq, ?) WHERE id = 1", head);
    }
    this.#headUnsaved = false;
  }

  get hasUnsavedSync(): boolean {
    return this.#unsaved.size > 0 || this.#headUnsaved;
  }

  /** A removed member whose user object has been told; nothing more is owed to it. */
  forgetMember(userId: string): void {
    this.#sql.exec("DELETE FROM members WHERE user_id = ? AND removed_at IS NOT NULL", userId);
    this.#reloadMember(userId);
  }

  /** Members whose user object is behind: messages or row changes not yet sent. */
  lagging(headSeq: number): string[] {
    return this.members()
      .filter((m) => (m.removedAt === null && m.syncedSeq < headSeq) || m.syncedRev < m.rev)
      .map((m) => m.userId);
  }

  /** Per member, the members who blocked them; a member nobody blocked has no entry. */
  blockers(): ReadonlyMap<string, ReadonlySet<string>> {
    if (!this.#blockers) {
      const byBlocked = new Map<string, Set<string>>();
      for (const row of this.#sql.exec<Row>("SELECT blocker_id, blocked_id FROM blocks")) {
        const blocked = row.blocked_id as string;
        const set = byBlocked.get(blocked) ?? new Set<string>();
        set.add(row.blocker_id as string);
        byBlocked.set(blocked, set);
      }
      this.#blockers = byBlocked;
    }
    return this.#blockers;
  }

  /** Forgets the blocks made by or against a member who left. */
  dropBlocksOf(userId: string): void {
    this.#sql.exec("DELETE FROM blocks WHERE blocker_id = ? OR blocked_id = ?", userId, userId);
    this.#blockers = undefined;
  }

  /** Records that `blockerId` blocks `blockedId` (or no longer does). */
  setBlock(blockerId: string, blockedId: string, blocked: boolean): void {
    if (blocked)
      this.#sql.exec(
        "INSERT OR IGNORE INTO blocks (blocker_id, blocked_id) VALUES (?, ?)",
        blockerId,
        blockedId,
      );
    else this.#sql.exec("DELETE FROM blocks WHERE blocker_id = ? AND blocked_id = ?", blockerId, blockedId);
    this.#blockers = undefined;
  }

  byClientMsgId(senderId: string, clientMsgId: string): WireMessage | null {
    const rows = this.#sql
      .exec<Row>(
        `SELECT ${MESSAGE_COLS} FROM messages WHERE sender_id = ? AND client_msg_id = ?`,
        senderId,
        clientMsgId,
      )
      .toArray();
    const row = rows[0];
    return row ? this.#wire(row) : null;
  }

  /**
   * Appends one message as the next seq, unless this sender already sent this `client_msg_id`
   * (then null: nothing is written). One statement, so it is atomic on its own; the head moves
   * in memory and reaches its row with `persistBatched`.
   */
  append(m: Omit<WireMessage, "seq">): number | null {
    const channel = this.channel();
    const seq = (channel?.headSeq ?? 0) + 1;
    const written = this.#sql.exec(
      `INSERT INTO messages (seq, id, sender_id, client_msg_id, text, ts) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (sender_id, client_msg_id) DO NOTHING`,
      seq,
      m.id,
      m.sender_id,
      m.client_msg_id,
      m.text,
      m.ts,
    ).rowsWritten;
    if (written === 0) return null;
    if (channel) channel.headSeq = seq;
    this.#headUnsaved = true;
    this.#remember({ ...m, seq });
    return seq;
  }

  #remember(m: WireMessage): void {
    const last = this.#tail.at(-1);
    if (last && last.seq !== m.seq - 1) this.#tail = [];
    this.#tail.push(m);
    this.#tailChars += m.text.length;
    while (this.#tail.length > TAIL_MESSAGES || (this.#tailChars > TAIL_CHARS && this.#tail.length > 1)) {
      this.#tailChars -= this.#tail.shift()?.text.length ?? 0;
    }
  }

  /**
   * Messages with `afterSeq < seq`, ascending, at most `limit` of them and about `maxChars`
   * of text (always at least one), so a page stays bounded whatever the message sizes.
   */
  after(afterSeq: number, limit: number, maxChars = MAX_PAGE_CHARS): WireMessage[] {
    const first = this.#tail[0];
    if (first && afterSeq >= first.seq - 1) {
      return this.#bounded(
        this.#tail.slice(afterSeq - first.seq + 1, afterSeq - first.seq + 1 + limit),
        maxChars,
      );
    }
    const rows: WireMessage[] = [];
    for (const row of this.#sql.exec<Row>(
      `SELECT ${MESSAGE_COLS} FROM messages WHERE seq > ? ORDER BY seq LIMIT ?`,
      afterSeq,
      limit,
    )) {
      rows.push(this.#wire(row));
    }
    return this.#bounded(rows, maxChars);
  }

  /** The longest prefix within `maxChars` of text, and never empty when `messages` is not. */
  #bounded(messages: WireMessage[], maxChars: number): WireMessage[] {
    let chars = 0;
    for (let i = 0; i < messages.length; i++) {
      chars += messages[i]?.text.length ?? 0;
      if (i > 0 && chars > maxChars) return messages.slice(0, i);
    }
    return messages;
  }

  /**
   * Messages with `minSeq < seq < beforeSeq`, the newest `limit` within the page text budget
   * (always at least one), returned ascending.
   */
  before(beforeSeq: number, minSeq: number, limit: number, maxChars = MAX_PAGE_CHARS): WireMessage[] {
    const newestFirst = this.#sql
      .exec<Row>(
        `SELECT ${MESSAGE_COLS} FROM messages WHERE seq < ? AND seq > ? ORDER BY seq DESC LIMIT ?`,
        beforeSeq,
        minSeq,
        limit,
      )
      .toArray()
      .map((r) => this.#wire(r));
    return this.#bounded(newestFirst, maxChars).reverse();
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
