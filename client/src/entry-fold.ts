/**
 * @module client/entry-fold
 * What the entries of a channel's log make of its messages (docs/protocol.md §2.2, §6.10): the
 * newest edit's text, a tombstone once deleted, each user's reaction, and a reply's quote. Pure:
 * no I/O, no timers. The client feeds it every entry it receives, every copy (a later copy of a
 * message may bring a newer `state` from the server), and asks it for a message's view.
 *
 * The rule that makes copies from any source agree: a message's `state` (resolved by the server
 * on read) accounts for every entry up to its `as_of`; the entries held with a higher `seq` are
 * applied on top, in `seq` order. Without a `state`, every entry held that targets the message is
 * applied. Each entry sets something (the text, the tombstone, one user's reaction), so applying
 * one twice changes nothing: the newest `seq` wins. Views are cached per message and rebuilt only
 * when something they show changed, so a message keeps its object identity between calls.
 */
import { preview } from "./message-text.ts";
import type { ChatMessage, MessageState, Reaction, ReplyQuote, WireMessage } from "./types.ts";

/** What this device has asked for and the server has not stored yet: shown at once, on top. */
export interface LocalChanges {
  /** The newest edit waiting to be stored, and when it was made (local time). */
  edit?: { text: string; at: number };
  /** A delete waiting to be stored. */
  delete?: { at: number };
  /** My reaction as it will be once stored (`""`: none). */
  reaction?: string;
}

interface Mods {
  /** Edits held, ascending by seq (their text is dropped once the message is deleted). */
  edits: WireMessage[];
  deleted?: WireMessage;
  /** Reactions held, ascending by seq. */
  reactions: WireMessage[];
}

interface ChannelFold {
  mods: Map<number, Mods>;
  /** The freshest `state` seen for each message (highest `as_of`). */
  states: Map<number, MessageState>;
  /** The `reply` quote the server gave with each reply held. */
  quotes: Map<number, ReplyQuote>;
  /** Quoted seq → the replies quoting it. */
  replies: Map<number, Set<number>>;
  /** Cached views, by seq. */
  views: Map<number, { view: ChatMessage; local: LocalChanges | undefined; source: WireMessage }>;
}

const NO_REACTIONS: readonly Reaction[] = Object.freeze([]);

/** True for a message entry (not an edit, a delete or a reaction). */
export function isMessage(m: Pick<WireMessage, "type">): boolean {
  return m.type === undefined;
}

export class EntryFold {
  readonly #me: () => string | undefined;
  readonly #channels = new Map<string, ChannelFold>();

  /** `me`: the signed-in user (their reactions are `mine`). */
  constructor(me: () => string | undefined) {
    this.#me = me;
  }

  /**
   * Takes one copy of an entry. Returns the seqs of the messages whose view changed (the message
   * itself, the one an edit, delete or reaction targets, and the replies quoting either).
   */
  add(m: WireMessage): number[] {
    const fold = this.#fold(m.channel_id);
    if (isMessage(m)) {
      let changed = false;
      if (m.state && (fold.states.get(m.seq)?.as_of ?? -1) < m.state.as_of) {
        fold.states.set(m.seq, m.state);
        changed = true;
      }
      if (m.reply_to !== undefined) {
        if (m.reply) fold.quotes.set(m.seq, m.reply);
        const quoting = fold.replies.get(m.reply_to) ?? new Set<number>();
        quoting.add(m.seq);
        fold.replies.set(m.reply_to, quoting);
      }
      if (m.digest !== undefined) changed = true;
      return changed ? this.#touch(fold, m.seq) : [];
    }
    const target = m.target_seq;
    if (target === undefined) return [];
    const mods: Mods = fold.mods.get(target) ?? { edits: [], reactions: [] };
    fold.mods.set(target, mods);
    if (m.type === "delete") {
      if (mods.deleted && mods.deleted.seq <= m.seq) return [];
      mods.deleted = m;
      // The text leaves this device's memory too.
      mods.edits = mods.edits.map((e) => ({ ...e, text: "" }));
      const state = fold.states.get(target);
      if (state?.edited) {
        const { edited: _edited, ...rest } = state;
        fold.states.set(target, rest);
      }
    } else {
      const list = m.type === "edit" ? mods.edits : mods.reactions;
      if (list.some((e) => e.seq === m.seq)) return [];
      const entry = m.type === "edit" && mods.deleted ? { ...m, text: "" } : m;
      list.push(entry);
      list.sort((a, b) => a.seq - b.seq);
    }
    return this.#touch(fold, target);
  }

  /** Whether message `seq` is deleted, as far as this device knows (its text must not be shown or kept). */
  deleted(channelId: string, seq: number): boolean {
    const fold = this.#channels.get(channelId);
    return (
      fold !== undefined && (fold.mods.get(seq)?.deleted !== undefined || !!fold.states.get(seq)?.deleted)
    );
  }

  /** The seqs of the edits of message `seq` held here (their text goes with a delete). */
  editsOf(channelId: string, seq: number): number[] {
    return (
      this.#channels
        .get(channelId)
        ?.mods.get(seq)
        ?.edits.map((e) => e.seq) ?? []
    );
  }

  /**
   * The view of a held message (`source`, the log's copy). `held(seq)` gives other held messages
   * of the channel (a reply's quote is shown as this device holds it); `local`, what this device
   * asked for and the server has not stored yet.
   */
  view(
    source: WireMessage,
    held: (seq: number) => WireMessage | undefined,
    local?: LocalChanges,
  ): ChatMessage {
    const fold = this.#fold(source.channel_id);
    const cached = fold.views.get(source.seq);
    if (cached && cached.source === source && sameLocal(cached.local, local)) return cached.view;
    const view = this.#resolve(fold, source, held, local);
    fold.views.set(source.seq, { view, local, source });
    return view;
  }

  /** The quote of message `quoted` as this device holds it, if it holds it (a reply on its way). */
  quote(
    channelId: string,
    quoted: number,
    held: (seq: number) => WireMessage | undefined,
  ): ReplyQuote | undefined {
    const q = held(quoted);
    if (!q || !isMessage(q) || q.channel_id !== channelId) return undefined;
    const v = this.view(q, held);
    return {
      seq: quoted,
      sender_id: v.sender_id,
      preview: preview(v.text),
      deleted: v.deleted !== undefined,
    };
  }

  forget(channelId: string): void {
    this.#channels.delete(channelId);
  }

  clear(): void {
    this.#channels.clear();
  }

  #resolve(
    fold: ChannelFold,
    source: WireMessage,
    held: (seq: number) => WireMessage | undefined,
    local: LocalChanges | undefined,
  ): ChatMessage {
    const state = fold.states.get(source.seq) ?? source.state;
    const asOf = state?.as_of ?? 0;
    const mods = fold.mods.get(source.seq);
    const me = this.#me();
    const view: ChatMessage = {
      channel_id: source.channel_id,
      seq: source.seq,
      id: source.id,
      sender_id: source.sender_id,
      client_msg_id: source.client_msg_id,
      text: source.text,
      ts: source.ts,
      msg_count: source.msg_count,
      hash: source.hash,
      status: "sent",
      reactions: NO_REACTIONS as Reaction[],
    };
    if (source.attachments) view.attachments = source.attachments;
    if (source.reply_to !== undefined) {
      view.reply_to = source.reply_to;
      const quote = this.#quote(fold, source, held);
      if (quote) view.reply = quote;
    }
    const del =
      state?.deleted ??
      (mods?.deleted && { seq: mods.deleted.seq, ts: mods.deleted.ts, by: mods.deleted.sender_id });
    if (del) {
      view.text = "";
      delete view.attachments;
      view.deleted = { seq: del.seq, ts: del.ts, by: del.by };
      return view;
    }
    if (local?.delete) {
      view.text = "";
      delete view.attachments;
      view.deleted = { seq: 0, ts: local.delete.at, by: me ?? "", pending: true };
      return view;
    }
    // The newest edit: the state's, or a held one after it.
    let edit = state?.edited ? { seq: state.edited.seq, ts: state.edited.ts, text: state.edited.text } : null;
    for (const e of mods?.edits ?? []) {
      if (e.seq > asOf && (!edit || e.seq > edit.seq)) edit = { seq: e.seq, ts: e.ts, text: e.text };
    }
    if (edit) {
      view.text = edit.text;
      view.edited = { seq: edit.seq, ts: edit.ts };
    }
    if (local?.edit) {
      view.text = local.edit.text;
      view.edited = { seq: 0, ts: local.edit.at, pending: true };
    }
    // Reactions: the state's, then the held ones after it, then mine on its way.
    const byUser = new Map<string, string>();
    const order: string[] = [];
    for (const r of state?.reactions ?? []) {
      order.push(r.emoji);
      for (const u of r.user_ids) byUser.set(u, r.emoji);
    }
    for (const r of mods?.reactions ?? []) {
      if (r.seq <= asOf) continue;
      setReaction(byUser, order, r.sender_id, r.emoji ?? "");
    }
    if (local?.reaction !== undefined && me !== undefined) setReaction(byUser, order, me, local.reaction);
    if (byUser.size > 0) view.reactions = groupReactions(byUser, order, me);
    return view;
  }

  /** A reply's quote: from the quoted message if it is held, else the server's, made current by held entries. */
  #quote(
    fold: ChannelFold,
    source: WireMessage,
    held: (seq: number) => WireMessage | undefined,
  ): ReplyQuote | undefined {
    const quoted = source.reply_to;
    if (quoted === undefined) return undefined;
    const q = held(quoted);
    if (q && q.seq < source.seq) {
      const mine = this.quote(source.channel_id, quoted, held);
      if (mine) return mine;
    }
    const given = fold.quotes.get(source.seq) ?? source.reply;
    if (!given) return undefined;
    const mods = fold.mods.get(quoted);
    if (mods?.deleted) return { ...given, preview: "", deleted: true };
    const edit = mods?.edits.at(-1);
    return edit ? { ...given, preview: preview(edit.text) } : given;
  }

  /** Drops the cached views of `seq` and of the replies quoting it; returns them. */
  #touch(fold: ChannelFold, seq: number): number[] {
    const out = [seq];
    fold.views.delete(seq);
    for (const r of fold.replies.get(seq) ?? []) {
      fold.views.delete(r);
      out.push(r);
    }
    return out;
  }

  #fold(channelId: string): ChannelFold {
    let fold = this.#channels.get(channelId);
    if (!fold) {
      fold = { mods: new Map(), states: new Map(), quotes: new Map(), replies: new Map(), views: new Map() };
      this.#channels.set(channelId, fold);
    }
    return fold;
  }
}

/** Sets (or, with `""`, removes) a user's reaction; a new emoji goes last in the order. */
function setReaction(byUser: Map<string, string>, order: string[], userId: string, emoji: string): void {
  if (emoji === "") byUser.delete(userId);
  else {
    byUser.set(userId, emoji);
    if (!order.includes(emoji)) order.push(emoji);
  }
}

function groupReactions(byUser: Map<string, string>, order: string[], me: string | undefined): Reaction[] {
  const users = new Map<string, string[]>();
  for (const [u, e] of byUser) {
    const list = users.get(e);
    if (list) list.push(u);
    else users.set(e, [u]);
  }
  const out: Reaction[] = [];
  for (const emoji of order) {
    const user_ids = users.get(emoji);
    if (!user_ids) continue;
    out.push({ emoji, count: user_ids.length, user_ids, mine: me !== undefined && user_ids.includes(me) });
  }
  return out;
}

function sameLocal(a: LocalChanges | undefined, b: LocalChanges | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return (
    a.edit?.text === b.edit?.text &&
    a.edit?.at === b.edit?.at &&
    a.delete?.at === b.delete?.at &&
    a.reaction === b.reaction
  );
}
