/**
 * @module durable-objects/channel-room/log-entries
 * Edits, deletes, reactions and replies: the entries of the log that act on a message
 * (docs/protocol.md §6.10). ChannelRoom stores them on the message path (the next seq, the
 * chain, idempotent by client id); this module does what surrounds that append:
 *
 * - **before**, finds the message acted on (its row in SQLite, or its entry in a sealed
 *   segment in R2) and checks, with domain/entries.ts, that the writer may write the entry on it;
 * - **after**, in the same synchronous turn as the append (so both commit together), keeps what
 *   the entry made of its message (storage/channel/entry-states.ts), and, for a delete, takes the
 *   text of the message and of its edits out of SQLite at once and flags the sealed segments
 *   that hold any of them for a rewrite (durable-objects/channel-room/scrubber.ts);
 * - and owes the data kept beside a message (its attachments, its search entry) the change, in
 *   `hook_queue`, written in the same turn: `runHooks` calls the hooks and clears each row once
 *   they ran, so a crash in between leaves the row for the next run (hooks are idempotent).
 */
import { checkTarget, checkWrite, type EntryKind, type WriterView } from "../../domain/entries.ts";
import type { WireMessage } from "../../protocol/frames.ts";
import type { EntryRequest } from "../../protocol/rpc.ts";
import type { ChannelHistory } from "../../storage/channel/history.ts";
import type { ChannelStore, MemberRow, NewEntry } from "../../storage/channel/store.ts";
import type { MessageHooks } from "./message-hooks.ts";

export interface LogEntriesDeps {
  store: ChannelStore;
  history: ChannelHistory;
}

/** A request checked against its target: what to append, and the target (null for a plain message). */
export interface CheckedEntry {
  fields: Pick<NewEntry, "type" | "text" | "reply_to" | "target_seq" | "emoji">;
  target: WireMessage | null;
}

export class LogEntries {
  readonly #d: LogEntriesDeps;

  constructor(deps: LogEntriesDeps) {
    this.#d = deps;
  }

  /**
   * The entry a request acts on (a reply's `reply_to`, or `target_seq`), if it is readable at
   * all: its row in SQLite, or its entry in a sealed segment (read from R2). Null for none.
   */
  async find(req: EntryRequest): Promise<WireMessage | null> {
    const seq = req.kind === "message" ? req.reply_to : req.target_seq;
    if (seq === undefined) return null;
    const store = this.#d.store;
    if (seq > (store.channel()?.headSeq ?? 0)) return null;
    const row = store.row(seq);
    if (row) return row;
    const [m] = await this.#d.history.after(seq - 1, 1);
    return m?.seq === seq ? m : null;
  }

  /**
   * The entry `req` asks for, once its target (from `find`) is a message the writer may act on;
   * throws `not_found` or `forbidden` otherwise. Synchronous: ChannelRoom calls it in the same
   * turn as the append, so the target cannot be deleted in between.
   */
  check(
    req: EntryRequest,
    target: WireMessage | null,
    member: MemberRow,
    channelKind: "dm" | "group",
  ): CheckedEntry {
    const store = this.#d.store;
    const targetSeq = req.kind === "message" ? req.reply_to : req.target_seq;
    if (targetSeq === undefined)
      return { fields: { text: req.kind === "message" ? req.text : "" }, target: null };
    const writer: WriterView = { userId: member.userId, role: member.role, joinedSeq: member.joinedSeq };
    const head = store.channel()?.headSeq ?? 0;
    const found = checkTarget(target, writer, head, target ? store.states.deleted(target.seq) : false);
    const kind: EntryKind = req.kind;
    checkWrite(kind, found, writer, channelKind);
    const t = target!;
    switch (req.kind) {
      case "message":
        return { fields: { text: req.text, reply_to: t.seq }, target: t };
      case "edit":
        return { fields: { type: "edit", text: req.text, target_seq: t.seq }, target: t };
      case "delete":
        return { fields: { type: "delete", text: "", target_seq: t.seq }, target: t };
      case "reaction":
        return { fields: { type: "reaction", text: "", target_seq: t.seq, emoji: req.emoji }, target: t };
    }
  }

  /**
   * Keeps what a fresh entry made of its target (same turn as the append). Returns the entry as
   * it is delivered (a reply with its quote), and, for a delete, whether sealed segments now
   * need a rewrite.
   */
  applied(entry: WireMessage, target: WireMessage | null): { entry: WireMessage; scrub: boolean } {
    const store = this.#d.store;
    if (!target) return { entry, scrub: false };
    const states = store.states;
    switch (entry.type) {
      case undefined: {
        states.quoted(target);
        const reply = states.quote(target.seq);
        return { entry: reply ? { ...entry, reply } : entry, scrub: false };
      }
      case "edit":
        states.edited(target, entry);
        store.queueHook(entry.seq, "edit", target.seq);
        return { entry, scrub: false };
      case "reaction":
        states.reacted(target, entry);
        return { entry, scrub: false };
      case "delete": {
        let scrub = false;
        store.queueHook(entry.seq, "delete", target.seq);
        // The message's text and every edit's leave SQLite now; the segments holding any of them
        // are rewritten without them (until then, reads drop them: EntryStates.resolve).
        // A sealed row may still be in SQLite too (rows leave after their segment is recorded):
        // both copies lose the text.
        for (const seq of states.deletedBy(target, entry)) {
          store.redact(seq);
          if (store.flagScrub(seq)) scrub = true;
        }
        return { entry, scrub };
      }
    }
  }

  /** Calls the hooks owed (see the module comment), oldest first; each row goes once its hook ran. */
  async runHooks(hooks: MessageHooks): Promise<void> {
    const store = this.#d.store;
    for (let due = store.hooksDue(); due.length > 0; due = store.hooksDue()) {
      for (const h of due) {
        if (h.kind === "delete") await hooks.deleted(h.targetSeq);
        else await this.#edited(hooks, h.seq, h.targetSeq);
        store.hookDone(h.seq);
      }
    }
  }

  /** The hook of edit `seq` of message `target`, unless a newer edit or a delete came since. */
  async #edited(hooks: MessageHooks, seq: number, target: number): Promise<void> {
    const store = this.#d.store;
    const before = store.states.get(target);
    if (!before || before.deletedSeq !== null || before.editSeq !== seq) return;
    // Its attachments are the message's own (an edit changes the text only).
    const m = store.row(target) ?? (await this.#d.history.after(target - 1, 1))[0];
    const now = store.states.get(target);
    if (!m || m.seq !== target || !now || now.deletedSeq !== null || now.editSeq !== seq) return;
    hooks.edited(target, { text: now.editText ?? "", ...(m.attachments && { attachments: m.attachments }) });
  }
}
