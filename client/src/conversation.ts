/**
 * @module client/conversation
 * One conversation (a channel) as the app uses it: its messages with what became of them
 * (edited, deleted, reactions, the quote of a reply), and its verbs: send, reply, edit, delete,
 * react, mark read, load older, and its events (CONVENTIONS §17: a client and a conversation
 * object, not one class with every verb). `ChatClient.conversationOf(channelId)` gives it; the
 * client owns the session, the sockets and what is held, and each conversation reads and acts on
 * its own channel through the client (`ConversationHost`).
 *
 * Edits, deletes and reactions are entries of the channel's log (docs/protocol.md §6.10). Each
 * verb checks what it can locally (your own message, not deleted, a valid text or emoji), then
 * queues the entry in the outbox under a fresh `client_msg_id`: it shows at once (`pending` in the
 * message's `edited`, `deleted`, or as your reaction), goes when the socket or REST can take it,
 * again after every reconnect, and the promise settles when the server stored it or refused it
 * for good (`ChatApiError`: `forbidden`, `not_found`, …; the message then shows as it was).
 */

import { isEmoji } from "../../protocol/emoji.ts";
import type { WireAttachment } from "../../protocol/frames.ts";
import { ChatApiError } from "./chat-api-error.ts";
import type { Emitter } from "./emitter.ts";
import { textProblem } from "./message-text.ts";
import type { ChannelSummary, ChatEvents, ChatMessage, ConnectionState, Receipts, Ticks } from "./types.ts";

/** The events of one conversation: the client's events about this channel. */
export interface ConversationEvents {
  /** A message is new or changed: sent, edited, deleted, reacted to, pending → sent or failed. */
  message: { message: ChatMessage };
  /** Messages were merged in a batch (a page, a catch-up) or removed: read `messages()` again. */
  history: Record<string, never>;
  /** Who is typing changed (this user's other devices excluded). */
  typing: { user_ids: string[] };
  /** Delivered or read markers moved: recompute `ticks`. */
  receipts: Record<string, never>;
  /** The conversation's channel socket changed state. */
  state: { state: ConnectionState };
  /** Its conversation-list entry changed (unread, last message, name), or the user left it. */
  summary: { summary: ChannelSummary; removed: boolean };
  /** Something went wrong about this conversation (the client's `error` event with this `channel_id`). */
  error: ChatEvents["error"];
}

/** What a conversation needs of its client. */
export interface ConversationHost {
  me(): string | undefined;
  events: Emitter<ChatEvents>;
  messages(channelId: string): ChatMessage[];
  message(channelId: string, seq: number): ChatMessage | undefined;
  summary(channelId: string): ChannelSummary | undefined;
  cursor(channelId: string): number | undefined;
  oldest(channelId: string): number | undefined;
  viewing(): string | null;
  socketState(channelId: string): ConnectionState;
  open(channelId: string): void;
  close(channelId: string): void;
  send(
    channelId: string,
    text: string,
    options?: { attachments?: WireAttachment[]; replyTo?: number },
  ): ChatMessage;
  /** Queues an edit, delete or reaction (already checked); settles when stored or refused. */
  write(
    channelId: string,
    entry: { kind: "edit" | "delete" | "reaction"; target_seq: number; text?: string; emoji?: string },
  ): Promise<void>;
  /** My reaction to a message as it will be once what is queued is stored (`""`: none). */
  myReaction(channelId: string, seq: number): string;
  markRead(channelId: string): void;
  loadOlder(channelId: string, limit?: number): Promise<{ hasMore: boolean }>;
  typing(channelId: string): void;
  typingUsers(channelId: string): string[];
  ticks(channelId: string, seq: number): Ticks;
  loadReceipts(channelId: string): Promise<Receipts>;
  /** Whether the signed-in user owns this group (may delete any message). */
  isOwner(channelId: string): boolean;
}

/**
 * One conversation: its messages and its verbs.
 *
 * @example
 * const convo = chat.conversationOf(channelId);
 * convo.open(); // the conversation on screen: its channel socket
 * convo.on("message", ({ message }) => render(message));
 * const echo = convo.send("on my way");
 * await convo.react(echo.seq || convo.messages().at(-1)!.seq, "👍");
 * await convo.edit(seq, "on my way!");
 */
export class Conversation {
  readonly channelId: string;
  readonly #host: ConversationHost;

  constructor(channelId: string, host: ConversationHost) {
    this.channelId = channelId;
    this.#host = host;
  }

  /**
   * The messages this device holds, in `seq` order, each as the entries after it left it, then
   * local echoes (`pending`, `failed`) oldest first. A message keeps its object identity until
   * something it shows changes.
   */
  messages(): ChatMessage[] {
    return this.#host.messages(this.channelId);
  }

  /** One held message by `seq`, as {@link messages} shows it. */
  message(seq: number): ChatMessage | undefined {
    return this.#host.message(this.channelId, seq);
  }

  /**
   * Its entry in the conversation list (`read_seq`, `unread`, `last_message`…), as kept current
   * by the user socket; undefined until the list was read.
   */
  get summary(): ChannelSummary | undefined {
    return this.#host.summary(this.channelId);
  }

  /** The highest `seq` held without gaps, or undefined if this device has not loaded the channel. */
  get cursor(): number | undefined {
    return this.#host.cursor(this.channelId);
  }

  /** The lowest `seq` held: scrolling back continues before it. */
  get oldest(): number | undefined {
    return this.#host.oldest(this.channelId);
  }

  /** Makes it the conversation on screen: opens its channel socket (closing another's). */
  open(): void {
    this.#host.open(this.channelId);
  }

  /** No longer on screen: closes its channel socket; its messages keep arriving on the user socket. */
  close(): void {
    this.#host.close(this.channelId);
  }

  /** True while it is the conversation on screen. */
  get isOpen(): boolean {
    return this.#host.viewing() === this.channelId;
  }

  /** State of its channel socket (`offline` when it is not the conversation on screen). */
  get state(): ConnectionState {
    return this.#host.socketState(this.channelId);
  }

  /**
   * Sends a text (see `ChatClient.send`), with uploaded `attachments`; `replyTo`: the seq of the
   * message it answers.
   */
  send(text: string, options: { attachments?: WireAttachment[]; replyTo?: number } = {}): ChatMessage {
    if (options.replyTo !== undefined && !this.#target(options.replyTo))
      throw new ChatApiError("not_found", 404, `there is no message ${options.replyTo} here to reply to`);
    return this.#host.send(this.channelId, text, options);
  }

  /** Sends a reply to message `seq`: the same as `send(text, { replyTo: seq })`. */
  reply(seq: number, text: string): ChatMessage {
    return this.send(text, { replyTo: seq });
  }

  /** True when `seq` is a message of mine that is not deleted (what the menu offers to edit). */
  canEdit(seq: number): boolean {
    const m = this.message(seq);
    return m !== undefined && m.seq > 0 && !m.deleted && m.sender_id === this.#host.me();
  }

  /** True when I may delete message `seq`: mine, or any in a group I own; not deleted already. */
  canDelete(seq: number): boolean {
    const m = this.message(seq);
    if (!m || m.seq === 0 || m.deleted) return false;
    return m.sender_id === this.#host.me() || this.#host.isOwner(this.channelId);
  }

  /** My newest message that can be edited (the composer's Up key), if any. */
  lastEditable(): ChatMessage | undefined {
    const me = this.#host.me();
    return this.messages().findLast((m) => m.seq > 0 && !m.deleted && m.sender_id === me);
  }

  /**
   * Edits my message `seq`: shown at once (`edited.pending`), stored by the server in order with
   * everything else. Rejects with a {@link ChatApiError}: `forbidden` (not mine), `not_found`
   * (deleted, or not held), `message_empty` or `message_too_long` (the text), or whatever the
   * server refuses for good.
   */
  edit(seq: number, text: string): Promise<void> {
    const m = this.#target(seq);
    if (!m) return missing(seq);
    if (m.sender_id !== this.#host.me()) return refuse("forbidden", "you can only edit your own messages");
    const problem = textProblem(text);
    if (problem) return refuse(problem.code, problem.message);
    return this.#host.write(this.channelId, { kind: "edit", target_seq: seq, text });
  }

  /**
   * Deletes message `seq` for everyone (mine, or any in a group I own): a tombstone stays
   * (`deleted`), its text leaves the server. Rejects like {@link edit}.
   */
  delete(seq: number): Promise<void> {
    if (!this.#target(seq)) return missing(seq);
    if (!this.canDelete(seq)) return refuse("forbidden", "you can only delete your own messages");
    return this.#host.write(this.channelId, { kind: "delete", target_seq: seq });
  }

  /**
   * Toggles my reaction `emoji` on message `seq`: sets it (replacing my other one), or takes it
   * back when it is already mine. Rejects like {@link edit}, and with `validation_failed` for
   * something that is not one emoji.
   */
  react(seq: number, emoji: string): Promise<void> {
    if (!this.#target(seq)) return missing(seq);
    if (!isEmoji(emoji)) return refuse("validation_failed", "a reaction is one emoji");
    const next = this.#host.myReaction(this.channelId, seq) === emoji ? "" : emoji;
    return this.#host.write(this.channelId, { kind: "reaction", target_seq: seq, emoji: next });
  }

  /** Marks the conversation read up to what this device holds (see `ChatClient.markRead`). */
  markRead(): void {
    this.#host.markRead(this.channelId);
  }

  /**
   * Loads the page before the oldest entry held (scrolling back). A page holds entries, and
   * may hold few messages (a burst of reactions): call again while `hasMore` and the screen is
   * not full.
   */
  loadOlder(limit?: number): Promise<{ hasMore: boolean }> {
    return this.#host.loadOlder(this.channelId, limit);
  }

  /** Call on every keystroke in the composer (at most one `typing` frame per 3 s leaves). */
  typing(): void {
    this.#host.typing(this.channelId);
  }

  /** Others typing here. */
  typingUsers(): string[] {
    return this.#host.typingUsers(this.channelId);
  }

  /** Ticks of my message `seq` (see `ChatClient.ticks`). */
  ticks(seq: number): Ticks {
    return this.#host.ticks(this.channelId, seq);
  }

  loadReceipts(): Promise<Receipts> {
    return this.#host.loadReceipts(this.channelId);
  }

  /**
   * Listens to this conversation's events; returns the function that stops listening.
   * @example
   * const off = convo.on("message", ({ message }) => update(message));
   */
  on<K extends keyof ConversationEvents>(event: K, fn: (e: ConversationEvents[K]) => void): () => void {
    const id = this.channelId;
    const events = this.#host.events;
    const call = fn as (e: unknown) => void;
    switch (event) {
      case "message":
        return events.on("message", (e) => e.channel_id === id && call({ message: e.message }));
      case "history":
        return events.on("history", (e) => e.channel_id === id && call({}));
      case "typing":
        return events.on("typing", (e) => e.channel_id === id && call({ user_ids: e.user_ids }));
      case "receipts":
        return events.on("receipts", (e) => e.channel_id === id && call({}));
      case "state":
        return events.on("conversation_state", (e) => e.channel_id === id && call({ state: e.state }));
      case "summary":
        return events.on(
          "channel",
          (e) => e.channel.channel_id === id && call({ summary: e.channel, removed: e.removed }),
        );
      case "error":
        return events.on("error", (e) => e.channel_id === id && call(e));
    }
    return () => {};
  }

  /** The held message `seq` if it is sent and not deleted: what an entry may act on. */
  #target(seq: number): ChatMessage | undefined {
    const m = this.message(seq);
    return m && m.seq > 0 && !m.deleted ? m : undefined;
  }
}

function missing(seq: number): Promise<never> {
  return refuse("not_found", `there is no message ${seq} here (or it was deleted)`);
}

function refuse(code: ChatApiError["code"], message: string): Promise<never> {
  return Promise.reject(new ChatApiError(code, 0, message));
}
