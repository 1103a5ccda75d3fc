/**
 * @module storage/channel/entry-states
 * What the entries of a channel's log made of its messages, kept beside the log so that a read
 * resolves it without scanning the entries after a message (docs/protocol.md §2.2, "Resolved on
 * read"): per message, its newest edit, its delete, its reactions (one per member), and, once a
 * reply quotes it, its sender and a preview. The log's rows and segments may be sealed in R2; these
 * rows stay in SQLite, one per message that was edited, deleted, reacted to or quoted.
 *
 * `resolve` gives a page of entries, read from SQLite or R2, what clients get: each message with
 * its `state` (accounting for every entry up to `as_of`, the newest that touched it) and a reply
 * with its `reply` quote; and, for a message that was deleted (and each edit of it), no text but
 * its digest, whether or not the sealed segment it was read from has been rewritten yet. A delete
 * clears every text kept here.
 */
import { messageDigest, type Sha256, toHex } from "../../domain/log-chain.ts";
import { preview } from "../../domain/message-text.ts";
import type { MessageState, ReplyQuote, WireMessage } from "../../protocol/frames.ts";

type Row = Record<string, SqlStorageValue>;

/** One `message_state` row (./schema.ts). */
export interface StateRow {
  seq: number;
  senderId: string;
  preview: string | null;
  editSeq: number | null;
  editTs: number | null;
  editText: string | null;
  editSeqs: string;
  deletedSeq: number | null;
  deletedTs: number | null;
  deletedBy: string | null;
  reactionsSeq: number | null;
}

const STATE_COLS =
  "seq, sender_id AS senderId, preview, edit_seq AS editSeq, edit_ts AS editTs, edit_text AS editText, edit_seqs AS editSeqs, deleted_seq AS deletedSeq, deleted_ts AS deletedTs, deleted_by AS deletedBy, reactions_seq AS reactionsSeq";

export class EntryStates {
  readonly #sql: SqlStorage;
  readonly #sha256: Sha256;
  /** Whether any row exists (undefined: not read yet): a channel nobody edited skips every lookup. */
  #any: boolean | undefined;

  constructor(sql: SqlStorage, sha256: Sha256) {
    this.#sql = sql;
    this.#sha256 = sha256;
  }

  /** The state of message `seq`, or null when nothing happened to it. */
  get(seq: number): StateRow | null {
    if (!this.#hasAny()) return null;
    const row = this.#sql
      .exec<Row>(`SELECT ${STATE_COLS} FROM message_state WHERE seq = ?`, seq)
      .toArray()[0];
    return (row as unknown as StateRow | undefined) ?? null;
  }

  /** True once message `seq` was deleted. */
  deleted(seq: number): boolean {
    return this.get(seq)?.deletedSeq != null;
  }

  /** Makes sure message `m` has a row (its sender and preview kept for quotes); returns it. */
  #ensure(m: Pick<WireMessage, "seq" | "sender_id" | "text">): StateRow {
    this.#sql.exec(
      "INSERT INTO message_state (seq, sender_id, preview) VALUES (?, ?, ?) ON CONFLICT (seq) DO NOTHING",
      m.seq,
      m.sender_id,
      preview(m.text),
    );
    this.#any = true;
    return this.get(m.seq)!;
  }

  /** A reply quotes message `m` (the message as stored: its original text). */
  quoted(m: Pick<WireMessage, "seq" | "sender_id" | "text">): void {
    const row = this.#ensure(m);
    if (row.preview === null && row.deletedSeq === null)
      this.#sql.exec("UPDATE message_state SET preview = ? WHERE seq = ?", preview(m.text), m.seq);
  }

  /** Message `m` was edited by entry `edit`. */
  edited(m: Pick<WireMessage, "seq" | "sender_id" | "text">, edit: WireMessage): void {
    const row = this.#ensure(m);
    const seqs = JSON.parse(row.editSeqs) as number[];
    seqs.push(edit.seq);
    this.#sql.exec(
      "UPDATE message_state SET edit_seq = ?, edit_ts = ?, edit_text = ?, preview = ?, edit_seqs = ? WHERE seq = ?",
      edit.seq,
      edit.ts,
      edit.text,
      preview(edit.text),
      JSON.stringify(seqs),
      m.seq,
    );
  }

  /**
   * Message `m` was deleted by entry `del`: every text kept here goes, and its reactions. Returns
   * the seqs whose text must leave the log: the message's and every edit's.
   */
  deletedBy(m: Pick<WireMessage, "seq" | "sender_id" | "text">, del: WireMessage): number[] {
    const row = this.#ensure(m);
    this.#sql.exec(
      `UPDATE message_state SET deleted_seq = ?, deleted_ts = ?, deleted_by = ?, edit_text = NULL, preview = NULL,
         edit_seq = NULL, edit_ts = NULL, reactions_seq = NULL WHERE seq = ?`,
      del.seq,
      del.ts,
      del.sender_id,
      m.seq,
    );
    this.#sql.exec("DELETE FROM reactions WHERE message_seq = ?", m.seq);
    return [m.seq, ...(JSON.parse(row.editSeqs) as number[])];
  }

  /** A member's reaction to message `m` is now `r.emoji` (`""`: none). */
  reacted(m: Pick<WireMessage, "seq" | "sender_id" | "text">, r: WireMessage): void {
    this.#ensure(m);
    this.#sql.exec("UPDATE message_state SET reactions_seq = ? WHERE seq = ?", r.seq, m.seq);
    if (!r.emoji) {
      this.#sql.exec("DELETE FROM reactions WHERE message_seq = ? AND user_id = ?", m.seq, r.sender_id);
      return;
    }
    this.#sql.exec(
      `INSERT INTO reactions (message_seq, user_id, emoji, seq) VALUES (?, ?, ?, ?)
       ON CONFLICT (message_seq, user_id) DO UPDATE SET emoji = excluded.emoji, seq = excluded.seq`,
      m.seq,
      r.sender_id,
      r.emoji,
      r.seq,
    );
  }

  /**
   * The entries of a page as clients get them (see the module comment). Entries that need nothing
   * are returned as they are; the others are copies.
   */
  resolve(entries: WireMessage[]): WireMessage[] {
    if (entries.length === 0 || !this.#hasAny()) return entries;
    // The states of the page's messages, of the messages its replies quote and its edits target.
    const wanted = new Set<number>();
    for (const e of entries) {
      if (e.type === undefined) wanted.add(e.seq);
      if (e.reply_to !== undefined) wanted.add(e.reply_to);
      if (e.type === "edit" && e.target_seq !== undefined) wanted.add(e.target_seq);
    }
    const states = this.#states([...wanted]);
    if (states.size === 0) return entries;
    const reactions = this.#reactions([...states.values()].filter((s) => s.reactionsSeq !== null));
    return entries.map((e) => {
      if (e.type === "edit") {
        const target = e.target_seq === undefined ? undefined : states.get(e.target_seq);
        return target?.deletedSeq != null ? this.#redacted(e) : e;
      }
      if (e.type !== undefined) return e;
      const s = states.get(e.seq);
      let out = e;
      if (s) {
        out = s.deletedSeq != null ? this.#redacted(e) : e;
        const state = stateOf(s, reactions);
        if (state) out = { ...out, state };
      }
      if (e.reply_to !== undefined) {
        const q = states.get(e.reply_to);
        if (q) out = { ...out, reply: quoteOf(q) };
      }
      return out;
    });
  }

  /**
   * The entries of a sealed segment as they must be stored: a deleted message, and each edit of
   * one, without its text but with its digest (no `state` or `reply`: those are not stored).
   * Returns null when none needs it.
   */
  withoutDeleted(entries: WireMessage[]): WireMessage[] | null {
    if (!this.#hasAny()) return null;
    const wanted = new Set<number>();
    for (const e of entries) {
      if (e.digest !== undefined) continue;
      if (e.type === undefined) wanted.add(e.seq);
      else if (e.type === "edit" && e.target_seq !== undefined) wanted.add(e.target_seq);
    }
    const states = this.#states([...wanted]);
    let changed = false;
    const out = entries.map((e) => {
      if (e.digest !== undefined) return e;
      const seq = e.type === undefined ? e.seq : e.type === "edit" ? e.target_seq : undefined;
      if (seq === undefined || states.get(seq)?.deletedSeq == null) return e;
      changed = true;
      return this.#redacted(e);
    });
    return changed ? out : null;
  }

  /** The quote of message `seq` for a reply just stored (its state row exists: `quoted` made it). */
  quote(seq: number): ReplyQuote | undefined {
    const s = this.get(seq);
    return s ? quoteOf(s) : undefined;
  }

  /** An entry without its text: its digest in its place (docs/protocol.md §2.6, "Deleting"). */
  #redacted(e: WireMessage): WireMessage {
    if (e.digest !== undefined) return e;
    const { attachments: _gone, ...kept } = e;
    return { ...kept, text: "", digest: toHex(messageDigest(this.#sha256, e.channel_id, e)) };
  }

  #hasAny(): boolean {
    this.#any ??= this.#sql.exec<Row>("SELECT EXISTS (SELECT 1 FROM message_state) AS any").one().any === 1;
    return this.#any;
  }

  #states(seqs: number[]): Map<number, StateRow> {
    const out = new Map<number, StateRow>();
    // At most 100 bound parameters per statement is D1's rule; SQLite's own is far higher, but
    // pages are at most 500 entries: chunks of 100 keep each statement small.
    for (let i = 0; i < seqs.length; i += 100) {
      const chunk = seqs.slice(i, i + 100);
      for (const row of this.#sql.exec<Row>(
        `SELECT ${STATE_COLS} FROM message_state WHERE seq IN (${chunk.map(() => "?").join(", ")})`,
        ...chunk,
      )) {
        const s = row as unknown as StateRow;
        out.set(s.seq, s);
      }
    }
    return out;
  }

  #reactions(states: StateRow[]): Map<number, { userId: string; emoji: string; seq: number }[]> {
    const out = new Map<number, { userId: string; emoji: string; seq: number }[]>();
    for (let i = 0; i < states.length; i += 100) {
      const chunk = states.slice(i, i + 100).map((s) => s.seq);
      for (const row of this.#sql.exec<Row>(
        `SELECT message_seq AS messageSeq, user_id AS userId, emoji, seq FROM reactions
         WHERE message_seq IN (${chunk.map(() => "?").join(", ")}) ORDER BY seq`,
        ...chunk,
      )) {
        const list = out.get(row.messageSeq as number) ?? [];
        list.push({ userId: row.userId as string, emoji: row.emoji as string, seq: row.seq as number });
        out.set(row.messageSeq as number, list);
      }
    }
    return out;
  }
}

/** A state row as the wire's `state` (its `as_of` is the newest entry that touched the message). */
function stateOf(
  s: StateRow,
  reactions: Map<number, { userId: string; emoji: string; seq: number }[]>,
): MessageState | undefined {
  const asOf = Math.max(s.editSeq ?? 0, s.deletedSeq ?? 0, s.reactionsSeq ?? 0);
  if (asOf === 0) return undefined; // only quoted so far: nothing to show
  const state: MessageState = { as_of: asOf };
  if (s.deletedSeq !== null) {
    state.deleted = { seq: s.deletedSeq, ts: s.deletedTs ?? 0, by: s.deletedBy ?? "" };
    return state;
  }
  if (s.editSeq !== null) state.edited = { seq: s.editSeq, ts: s.editTs ?? 0, text: s.editText ?? "" };
  const list = reactions.get(s.seq);
  if (list && list.length > 0) {
    // Each emoji in the order it was first used by the reactions that stand.
    const byEmoji = new Map<string, string[]>();
    for (const r of list) {
      const users = byEmoji.get(r.emoji) ?? [];
      users.push(r.userId);
      byEmoji.set(r.emoji, users);
    }
    state.reactions = [...byEmoji].map(([emoji, user_ids]) => ({ emoji, user_ids }));
  }
  return state;
}

function quoteOf(s: StateRow): ReplyQuote {
  return s.deletedSeq !== null
    ? { seq: s.seq, sender_id: s.senderId, preview: "", deleted: true }
    : { seq: s.seq, sender_id: s.senderId, preview: s.preview ?? "", deleted: false };
}
