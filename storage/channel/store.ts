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
 *
 * The log's rows are entries (docs/protocol.md §2.2): messages, and edits, deletes and reactions
 * of them. Each row carries its chain hash (domain/log-chain.ts), computed here as the row is
 * appended from the head's hash, which is kept in memory, and its `msg_count` (messages up to
 * it: what unread counts), from the head's count, also in memory. A deleted message's text (and
 * its edits') is removed from its row, which keeps the entry's digest (`redact`). The log's oldest rows leave for the
 * R2 archive (durable-objects/channel-room/sealer.ts): `messages` then holds a contiguous range
 * from `firstHotSeq()` to the head, `segments` records what R2 holds, and `sealed_keys` keeps
 * the idempotency keys of the rows that left. Reads across both are storage/channel/history.ts;
 * `after` and `before` here read SQLite only.
 */

import { messagePreview } from "../../domain/attachments.ts";
import { GENESIS_HASH, messageDigest, messageHash, type Sha256, toHex } from "../../domain/log-chain.ts";
import {
  type LastMessage,
  MAX_PAGE_CHARS,
  type WireAttachment,
  type WireMessage,
} from "../../protocol/frames.ts";
import { EntryStates } from "./entry-states.ts";
import { nativeSha256 } from "./native-sha256.ts";

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
  /** The message count at `joinedSeq` (null in rows older than it: then `joinedSeq`). */
  joinedMsgCount: number | null;
}

/** An entry to append: everything but what the log gives it (its seq, hash and message count). */
export type NewEntry = Omit<WireMessage, "seq" | "hash" | "msg_count" | "digest" | "reply" | "state">;

type Row = Record<string, SqlStorageValue>;

/** One sealed segment of the log in R2 (./schema.ts `segments`). */
export interface SegmentRow {
  firstSeq: number;
  lastSeq: number;
  key: string;
  bytes: number;
  checksum: string;
  textChars: number;
  prevHash: string;
  lastHash: string;
  minTs: number;
  maxTs: number;
  sealedAt: number;
  /** The message count after the last entry (null in older segments: then `lastSeq`). */
  lastMsgCount: number | null;
  /** Non-zero while a delete needs text removed from the segment (durable-objects/channel-room/scrubber.ts). */
  scrub: number;
  /** The checksum of a rewrite under way: the object may already be that one. */
  scrubChecksum: string | null;
}

const CHANNEL_COLS =
  "channel_id AS channelId, kind, name, owner_id AS ownerId, created_at AS createdAt, head_seq AS headSeq, meta_rev AS metaRev, d1_rev AS d1Rev, blocked_by AS blockedBy, closed_reason AS closedReason";
const MEMBER_COLS =
  "user_id AS userId, role, joined_at AS joinedAt, joined_seq AS joinedSeq, read_seq AS readSeq, delivered_seq AS deliveredSeq, synced_seq AS syncedSeq, rev, synced_rev AS syncedRev, removed_at AS removedAt, removed_seq AS removedSeq, joined_msg_count AS joinedMsgCount";
const MESSAGE_COLS =
  "seq, type, id, sender_id AS senderId, client_msg_id AS clientMsgId, text, ts, hash, msg_count AS msgCount, reply_to AS replyTo, target_seq AS targetSeq, emoji, digest, attachments";
const SEGMENT_COLS =
  "first_seq AS firstSeq, last_seq AS lastSeq, key, bytes, checksum, text_chars AS textChars, prev_hash AS prevHash, last_hash AS lastHash, min_ts AS minTs, max_ts AS maxTs, sealed_at AS sealedAt, last_msg_count AS lastMsgCount, scrub, scrub_checksum AS scrubChecksum";

/**
 * The recent-messages tail keeps at most this many messages and this much text: enough for the
 * fan-out, which reads at most one page (200) behind the head, and for a socket catching up on
 * the last few minutes. Every channel of an isolate keeps its tail in the isolate's heap, and the
 * heap is what a full collection walks: with 2,000 messages a channel, 50 busy 1:1 channels
 * grew the live heap from 7.6 to 11 MB over a benchmark run, and the collections (18-27 ms,
 * every ~6 s) were a third of what the slowest 1:1 messages waited for (bench/tools/tail.mjs).
 */
const TAIL_MESSAGES = 500;
const TAIL_CHARS = 1_000_000;

export class ChannelStore {
  readonly #sql: SqlStorage;
  readonly #sha256: Sha256;
  /** The chain hash of the head entry (undefined: not read yet). */
  #headHash: string | undefined;
  /** The message count at the head (undefined: not read yet). */
  #headMsgCount: number | undefined;
  /** The newest message, for the conversation list (undefined: not read yet; null: none in SQLite). */
  #last: LastMessage | null | undefined;
  /** What edits, deletes and reactions made of the messages (./entry-states.ts). */
  readonly states: EntryStates;
  /** The lowest seq with a row in `messages`; head + 1 when there is none (undefined: not read yet). */
  #firstHot: number | undefined;
  /** Whether `hook_queue` may hold rows (undefined: not read yet). */
  #hooksDue: boolean | undefined;
  /** `toScrub()` of the `segments` array it was worked out from. */
  #scrubOf: { segments: readonly SegmentRow[]; flagged: SegmentRow[] } | undefined;
  /** The sealed segments, ascending (undefined: not read yet). */
  #segments: SegmentRow[] | undefined;
  /** Some idempotency keys live in `sealed_keys` (undefined: not read yet). */
  #hasSealedKeys: boolean | undefined;
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

  constructor(sql: SqlStorage, sha256: Sha256 = nativeSha256) {
    this.#sql = sql;
    this.#sha256 = sha256;
    this.states = new EntryStates(sql, sha256);
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

  /**
   * Adds a member, or brings back one who left: either way they read from `joinedSeq` (the head,
   * or 0 for a founder) on, and their unread counts messages after it.
   */
  putMember(userId: string, role: Role, joinedAt: number, joinedSeq: number): void {
    const joinedMsgCount = joinedSeq === 0 ? 0 : this.headMsgCount();
    this.#sql.exec(
      `INSERT INTO members (user_id, role, joined_at, joined_seq, read_seq, synced_seq, rev, synced_rev, removed_at, joined_msg_count)
       VALUES (?, ?, ?, ?, ?, ?, 1, 0, NULL, ?)
       ON CONFLICT (user_id) DO UPDATE SET role = excluded.role, joined_at = excluded.joined_at,
         joined_seq = excluded.joined_seq, read_seq = excluded.read_seq, synced_seq = excluded.synced_seq,
         rev = members.rev + 1, removed_at = NULL, removed_seq = NULL, joined_msg_count = excluded.joined_msg_count`,
      userId,
      role,
      joinedAt,
      joinedSeq,
      joinedSeq,
      joinedSeq,
      joinedMsgCount,
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
   * Appends one entry as the next seq, unless this sender already used this `client_msg_id`
   * (then null: nothing is written). One statement, so it is atomic on its own; the head moves
   * in memory and reaches its row with `persistBatched`. A message raises the message count.
   */
  append(m: NewEntry): WireMessage | null {
    const channel = this.channel();
    const seq = (channel?.headSeq ?? 0) + 1;
    const firstHot = this.firstHotSeq();
    const msgCount = this.headMsgCount() + (m.type === undefined ? 1 : 0);
    const hash = messageHash(this.#sha256, m.channel_id, this.headHash(), { ...m, seq });
    const written = this.#sql.exec(
      `INSERT INTO messages (seq, type, id, sender_id, client_msg_id, text, ts, hash, msg_count, reply_to, target_seq, emoji, attachments)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sender_id, client_msg_id) DO NOTHING`,
      seq,
      m.type ?? null,
      m.id,
      m.sender_id,
      m.client_msg_id,
      m.text,
      m.ts,
      hash,
      msgCount,
      m.reply_to ?? null,
      m.target_seq ?? null,
      m.emoji ?? null,
      m.attachments ? JSON.stringify(m.attachments) : null,
    ).rowsWritten;
    if (written === 0) return null;
    if (channel) channel.headSeq = seq;
    this.#headUnsaved = true;
    this.#headHash = hash;
    this.#headMsgCount = msgCount;
    if (firstHot > seq) this.#firstHot = seq;
    const stored: WireMessage = { ...m, seq, msg_count: msgCount, hash };
    if (m.type === undefined)
      this.#last = { seq, sender_id: m.sender_id, preview: messagePreview(m.text, m.attachments), ts: m.ts };
    this.#remember(stored);
    return stored;
  }

  /** The message count at the head: messages in the log (0 before the first). */
  headMsgCount(): number {
    if (this.#headMsgCount === undefined) {
      const row = this.#sql
        .exec<Row>("SELECT COALESCE(msg_count, seq) AS n FROM messages ORDER BY seq DESC LIMIT 1")
        .toArray()[0];
      const last = this.segments().at(-1);
      this.#headMsgCount = (row?.n as number | undefined) ?? (last ? (last.lastMsgCount ?? last.lastSeq) : 0);
    }
    return this.#headMsgCount;
  }

  /**
   * The message count after entry `seq` when SQLite knows it: seq 0, the head, a row, the last
   * entry of a segment. Undefined inside a sealed segment (ChannelHistory reads it there).
   */
  msgCountAt(seq: number): number | undefined {
    if (seq <= 0) return 0;
    const head = this.channel()?.headSeq ?? 0;
    if (seq >= head) return this.headMsgCount();
    const tailFirst = this.#tail[0]?.seq;
    if (tailFirst !== undefined && seq >= tailFirst) return this.#tail[seq - tailFirst]?.msg_count;
    if (seq >= this.firstHotSeq()) {
      const rows = this.#sql
        .exec<Row>("SELECT COALESCE(msg_count, seq) AS n FROM messages WHERE seq = ?", seq)
        .toArray();
      const n = rows[0]?.n;
      if (n !== undefined) return n as number;
    }
    const segment = this.segmentOf(seq);
    if (segment && segment.lastSeq === seq) return segment.lastMsgCount ?? segment.lastSeq;
    return undefined;
  }

  /**
   * The newest message (never an edit, delete or reaction) as the conversation list shows it,
   * with its current preview; null when SQLite holds none.
   */
  lastMessage(): LastMessage | null {
    if (this.#last === undefined) {
      const row = this.#sql
        .exec<Row>(
          "SELECT seq, sender_id, text, ts, attachments FROM messages WHERE type IS NULL ORDER BY seq DESC LIMIT 1",
        )
        .toArray()[0];
      this.#last = row
        ? {
            seq: row.seq as number,
            sender_id: row.sender_id as string,
            preview: messagePreview(
              row.text as string,
              row.attachments === null
                ? undefined
                : (JSON.parse(row.attachments as string) as WireAttachment[]),
            ),
            ts: row.ts as number,
          }
        : null;
    }
    const last = this.#last;
    if (!last) return null;
    const state = this.states.get(last.seq);
    if (state?.deletedSeq != null) return { ...last, preview: "", deleted: true };
    if (state?.editSeq != null) return { ...last, preview: state.preview ?? "", edited: true };
    return last;
  }

  /** An entry of the log as SQLite holds it (rows only, not sealed ones), or null. */
  row(seq: number): WireMessage | null {
    const tailFirst = this.#tail[0]?.seq;
    if (tailFirst !== undefined && seq >= tailFirst) {
      const m = this.#tail[seq - tailFirst];
      if (m) return m;
    }
    if (seq < this.firstHotSeq()) return null;
    const row = this.#sql.exec<Row>(`SELECT ${MESSAGE_COLS} FROM messages WHERE seq = ?`, seq).toArray()[0];
    return row ? this.#wire(row) : null;
  }

  /**
   * Removes the text of entry `seq` from its row, if SQLite holds it, keeping the entry's digest
   * in its place (docs/protocol.md §2.6, "Deleting"); the recent tail drops it too. True if a row
   * was changed.
   */
  redact(seq: number): boolean {
    const m = this.row(seq);
    if (!m || m.digest !== undefined) return false;
    const digest = toHex(messageDigest(this.#sha256, m.channel_id, m));
    // The attachments' descriptions (names) go with the text; their objects go by the hooks.
    this.#sql.exec(
      "UPDATE messages SET text = '', attachments = NULL, digest = ? WHERE seq = ?",
      digest,
      seq,
    );
    const tailFirst = this.#tail[0]?.seq;
    if (tailFirst !== undefined && seq >= tailFirst && this.#tail[seq - tailFirst]) {
      this.#tailChars -= m.text.length;
      const { attachments: _gone, ...kept } = m;
      this.#tail[seq - tailFirst] = { ...kept, text: "", digest };
    }
    return true;
  }

  /** The chain hash of the head entry (GENESIS_HASH before the first). */
  headHash(): string {
    if (this.#headHash === undefined) {
      const head = this.channel()?.headSeq ?? 0;
      const hash = this.hashAt(head);
      if (hash === undefined) throw new Error(`no chain hash for the head ${head}`);
      this.#headHash = hash;
    }
    return this.#headHash;
  }

  /**
   * The chain hash after entry `seq`, when SQLite knows it: seq 0 (the genesis), a row of
   * `messages`, or the edge of a sealed segment. Undefined for an entry inside a segment.
   */
  hashAt(seq: number): string | undefined {
    if (seq <= 0) return GENESIS_HASH;
    if (seq >= this.firstHotSeq()) {
      const tailFirst = this.#tail[0]?.seq;
      if (tailFirst !== undefined && seq >= tailFirst) return this.#tail[seq - tailFirst]?.hash;
      const row = this.#sql.exec<Row>("SELECT hash FROM messages WHERE seq = ?", seq).toArray()[0];
      if (row) return row.hash as string;
    }
    const segments = this.segments();
    const i = segmentIndexOf(segments, seq);
    if (i >= 0 && segments[i]!.lastSeq === seq) return segments[i]!.lastHash;
    if (i + 1 < segments.length && segments[i + 1]!.firstSeq === seq + 1) return segments[i + 1]!.prevHash;
    return undefined;
  }

  /**
   * Gives rows written before the chain existed their hashes, in seq order (once, when the object
   * first starts on this version; every row is still in `messages` then, as nothing was sealed).
   * Returns how many rows it filled.
   */
  backfillChain(): number {
    const first = this.#sql.exec<Row>("SELECT MIN(seq) AS seq FROM messages WHERE hash = ''").one().seq;
    if (first === null) return 0;
    const channelId = this.channel()?.channelId ?? "";
    let prev = this.hashAt((first as number) - 1);
    if (prev === undefined) throw new Error(`no chain hash before ${first}`);
    let filled = 0;
    for (const row of this.#sql.exec<Row>(
      `SELECT ${MESSAGE_COLS} FROM messages WHERE seq >= ? ORDER BY seq`,
      first,
    )) {
      const m = this.#wire(row);
      prev = messageHash(this.#sha256, channelId, prev, m);
      this.#sql.exec("UPDATE messages SET hash = ? WHERE seq = ?", prev, m.seq);
      filled++;
    }
    this.#headHash = undefined;
    return filled;
  }

  // -------------------------------------------------------------------------------------------
  // The archive's bookkeeping (durable-objects/channel-room/sealer.ts).

  /** The lowest seq still in `messages`; the head + 1 when none is. */
  firstHotSeq(): number {
    if (this.#firstHot === undefined) {
      const row = this.#sql.exec<Row>("SELECT MIN(seq) AS seq FROM messages").one();
      this.#firstHot = (row.seq as number | null) ?? (this.channel()?.headSeq ?? 0) + 1;
    }
    return this.#firstHot;
  }

  /** Message rows in SQLite. */
  hotCount(): number {
    return (this.channel()?.headSeq ?? 0) - this.firstHotSeq() + 1;
  }

  /** The sealed segments, ascending and contiguous from seq 1. */
  segments(): readonly SegmentRow[] {
    this.#segments ??= this.#sql
      .exec<Row>(`SELECT ${SEGMENT_COLS} FROM segments ORDER BY first_seq`)
      .toArray() as unknown as SegmentRow[];
    return this.#segments;
  }

  /** The last seq in R2 (0 before the first segment). */
  sealedThrough(): number {
    return this.segments().at(-1)?.lastSeq ?? 0;
  }

  /** The segment holding `seq`, if it is sealed. */
  segmentOf(seq: number): SegmentRow | undefined {
    const segments = this.segments();
    const i = segmentIndexOf(segments, seq);
    const s = segments[i];
    return s && s.lastSeq >= seq ? s : undefined;
  }

  /** Records a segment that is in R2 and was read back intact. Idempotent. */
  recordSegment(s: Omit<SegmentRow, "scrub" | "scrubChecksum">): void {
    this.#sql.exec(
      `INSERT INTO segments (first_seq, last_seq, key, bytes, checksum, text_chars, prev_hash, last_hash, min_ts, max_ts, sealed_at, last_msg_count)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (first_seq) DO NOTHING`,
      s.firstSeq,
      s.lastSeq,
      s.key,
      s.bytes,
      s.checksum,
      s.textChars,
      s.prevHash,
      s.lastHash,
      s.minTs,
      s.maxTs,
      s.sealedAt,
      s.lastMsgCount,
    );
    this.#segments = undefined;
  }

  /**
   * Work owed to the hooks of message `targetSeq` (attachments, search: ChannelRoom.hooks) for
   * entry `seq`, written in the entry's turn; `hookDone` removes it once the hook ran.
   */
  queueHook(seq: number, kind: "edit" | "delete", targetSeq: number): void {
    this.#sql.exec(
      "INSERT INTO hook_queue (seq, kind, target_seq) VALUES (?, ?, ?) ON CONFLICT (seq) DO NOTHING",
      seq,
      kind,
      targetSeq,
    );
    this.#hooksDue = true;
  }

  /** Hook work still owed, oldest first (none read while none was queued since the start). */
  hooksDue(): { seq: number; kind: "edit" | "delete"; targetSeq: number }[] {
    if (this.#hooksDue === false) return [];
    const rows = this.#sql
      .exec<Row>("SELECT seq, kind, target_seq AS targetSeq FROM hook_queue ORDER BY seq LIMIT 100")
      .toArray() as unknown as { seq: number; kind: "edit" | "delete"; targetSeq: number }[];
    this.#hooksDue = rows.length > 0;
    return rows;
  }

  hookDone(seq: number): void {
    this.#sql.exec("DELETE FROM hook_queue WHERE seq = ?", seq);
  }

  /** Whether a row between `first` and `last` had its text removed (a delete). */
  redactedIn(first: number, last: number): boolean {
    return (
      this.#sql
        .exec<Row>(
          "SELECT 1 FROM messages WHERE seq BETWEEN ? AND ? AND digest IS NOT NULL LIMIT 1",
          first,
          last,
        )
        .toArray().length > 0
    );
  }

  /** A delete needs text removed from the segment holding `seq` (if it is sealed): flags it. */
  flagScrub(seq: number): boolean {
    const segment = this.segmentOf(seq);
    if (!segment) return false;
    this.#sql.exec("UPDATE segments SET scrub = scrub + 1 WHERE first_seq = ?", segment.firstSeq);
    this.#segments = undefined;
    return true;
  }

  /** Segments flagged for a rewrite, oldest first (worked out once per change of `segments`: the message path asks). */
  toScrub(): SegmentRow[] {
    const segments = this.segments();
    if (this.#scrubOf?.segments !== segments)
      this.#scrubOf = { segments, flagged: segments.filter((s) => s.scrub > 0) };
    return this.#scrubOf.flagged;
  }

  /** The checksum of the rewrite about to be put (see SegmentRow.scrubChecksum). */
  beginScrub(firstSeq: number, checksum: string): void {
    this.#sql.exec("UPDATE segments SET scrub_checksum = ? WHERE first_seq = ?", checksum, firstSeq);
    this.#segments = undefined;
  }

  /**
   * The rewrite is in R2 and was read back: the segment is this object from now on. Its flag
   * clears unless another delete flagged it meanwhile (`scrub` moved past `flag`).
   */
  endScrub(firstSeq: number, flag: number, s: { checksum: string; bytes: number; textChars: number }): void {
    this.#sql.exec(
      `UPDATE segments SET checksum = ?, bytes = ?, text_chars = ?, scrub_checksum = NULL,
         scrub = CASE WHEN scrub = ? THEN 0 ELSE scrub END WHERE first_seq = ?`,
      s.checksum,
      s.bytes,
      s.textChars,
      flag,
      firstSeq,
    );
    this.#segments = undefined;
  }

  /** Seq, text length and time of up to `limit` rows after `afterSeq`: what the sealer plans a segment from. */
  sealPlan(afterSeq: number, limit: number): { seq: number; chars: number; ts: number }[] {
    return this.#sql
      .exec<Row>(
        "SELECT seq, length(text) AS chars, ts FROM messages WHERE seq > ? ORDER BY seq LIMIT ?",
        afterSeq,
        limit,
      )
      .toArray() as unknown as { seq: number; chars: number; ts: number }[];
  }

  /** Rows from `messages` after `afterSeq`, ascending, straight from SQLite (for sealing). */
  rows(afterSeq: number, limit: number): WireMessage[] {
    const out: WireMessage[] = [];
    for (const row of this.#sql.exec<Row>(
      `SELECT ${MESSAGE_COLS} FROM messages WHERE seq > ? ORDER BY seq LIMIT ?`,
      afterSeq,
      limit,
    )) {
      out.push(this.#wire(row));
    }
    return out;
  }

  /**
   * Deletes the oldest rows, at most `max` of them and none after `throughSeq` or after what is
   * sealed, keeping their idempotency keys in `sealed_keys`. One statement pair, atomic with the
   * event's other writes. Returns how many rows left.
   */
  dropSealed(throughSeq: number, max: number): number {
    const from = this.firstHotSeq();
    const to = Math.min(throughSeq, this.sealedThrough(), from + max - 1);
    if (to < from) return 0;
    const keys: [number, number][] = [];
    for (const row of this.#sql.exec<Row>(
      "SELECT seq, sender_id AS senderId, client_msg_id AS clientMsgId FROM messages WHERE seq BETWEEN ? AND ?",
      from,
      to,
    )) {
      keys.push([row.seq as number, sealedKeyOf(row.senderId as string, row.clientMsgId as string)]);
    }
    for (let i = 0; i < keys.length; i += 45) {
      const chunk = keys.slice(i, i + 45);
      this.#sql.exec(
        `INSERT INTO sealed_keys (seq, key) VALUES ${chunk.map(() => "(?, ?)").join(", ")} ON CONFLICT (seq) DO NOTHING`,
        ...chunk.flat(),
      );
    }
    this.#sql.exec("DELETE FROM messages WHERE seq BETWEEN ? AND ?", from, to);
    this.#firstHot = to + 1;
    this.#hasSealedKeys = true;
    const cut = this.#tail.findIndex((m) => m.seq > to);
    if (cut !== 0) {
      const dropped = cut < 0 ? this.#tail : this.#tail.slice(0, cut);
      for (const m of dropped) this.#tailChars -= m.text.length;
      this.#tail = cut < 0 ? [] : this.#tail.slice(cut);
    }
    return to - from + 1;
  }

  /**
   * Seqs of archived messages that may carry this idempotency key (a 48-bit hash of it: a
   * candidate is confirmed by reading the message). Empty for a key never archived.
   */
  sealedCandidates(senderId: string, clientMsgId: string): number[] {
    this.#hasSealedKeys ??=
      this.#sql.exec<Row>("SELECT EXISTS (SELECT 1 FROM sealed_keys) AS any").one().any === 1;
    if (!this.#hasSealedKeys) return [];
    return this.#sql
      .exec<Row>("SELECT seq FROM sealed_keys WHERE key = ?", sealedKeyOf(senderId, clientMsgId))
      .toArray()
      .map((r) => r.seq as number);
  }

  /** A message still in SQLite, by its id (a scan of at most HOT + SEGMENT rows; ids are not indexed). */
  hotById(id: string): WireMessage | null {
    const row = this.#sql.exec<Row>(`SELECT ${MESSAGE_COLS} FROM messages WHERE id = ?`, id).toArray()[0];
    return row ? this.#wire(row) : null;
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
    const m: WireMessage = {
      channel_id: this.#channelId,
      seq: row.seq as number,
      id: row.id as string,
      sender_id: row.senderId as string,
      client_msg_id: row.clientMsgId as string,
      text: row.text as string,
      ts: row.ts as number,
      msg_count: (row.msgCount as number | null) ?? (row.seq as number),
      hash: row.hash as string,
    };
    // Optional fields only when set: a message row keeps the shape (and the bytes) it always had.
    if (row.type !== null) m.type = row.type as WireMessage["type"];
    if (row.replyTo !== null) m.reply_to = row.replyTo as number;
    if (row.targetSeq !== null) m.target_seq = row.targetSeq as number;
    if (row.emoji !== null) m.emoji = row.emoji as string;
    if (row.digest !== null) m.digest = row.digest as string;
    if (row.attachments !== null && row.attachments !== undefined)
      m.attachments = JSON.parse(row.attachments as string) as WireAttachment[];
    return m;
  }
}

/** The index of the last segment whose first seq is at most `seq` (-1: none). */
function segmentIndexOf(segments: readonly SegmentRow[], seq: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (segments[mid]!.firstSeq <= seq) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * 48 bits of an idempotency key, as a safe integer: two 32-bit FNV-1a hashes of
 * `sender_id \n client_msg_id` with different offsets, 24 bits of each. Not cryptographic:
 * a match is only a candidate, confirmed against the archived message.
 */
export function sealedKeyOf(senderId: string, clientMsgId: string): number {
  const text = `${senderId}\n${clientMsgId}`;
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 8) * 0x1000000 + (b >>> 8);
}
