/**
 * @module client/outbox
 * Entries written on this device and not yet stored by the server: messages, and edits,
 * deletes and reactions (docs/protocol.md §6.10). Each has a `client_msg_id` made once, when it
 * is written; every retry, on any socket or over REST, reuses it, so the server stores it at
 * most once (docs/protocol.md §6.2). The outbox is persisted on every change (writes run in
 * order), so a reload sends what was left.
 */
import type { WireAttachment } from "../../protocol/frames.ts";

/** What an outbox entry asks besides a message: an edit, a delete or a reaction. */
export type OutboxKind = "edit" | "delete" | "reaction";

export interface OutboxEntry {
  client_msg_id: string;
  channel_id: string;
  /** A message's or an edit's text; `""` for a delete or a reaction. */
  text: string;
  /** Absent for a message. */
  kind?: OutboxKind;
  /** An edit, delete or reaction: the message it acts on. */
  target_seq?: number;
  /** A reaction: the reaction to set (`""`: none). */
  emoji?: string;
  /** A reply: the message it answers. */
  reply_to?: number;
  /** Uploads it carries (sent by id; kept whole so the echo shows them). */
  attachments?: WireAttachment[];
  /** Local time it was written; orders the echoes. */
  created_at: number;
  status: "pending" | "failed";
  error?: { code: string; message: string };
}

export class Outbox {
  readonly #entries = new Map<string, OutboxEntry>();
  readonly #persist: (entries: OutboxEntry[]) => Promise<void>;
  #writes: Promise<void> = Promise.resolve();

  constructor(persist: (entries: OutboxEntry[]) => Promise<void>) {
    this.#persist = persist;
  }

  /** Replaces the contents with persisted entries (no write). */
  load(entries: readonly OutboxEntry[]): void {
    this.#entries.clear();
    for (const e of entries) this.#entries.set(e.client_msg_id, { ...e });
  }

  /** Adds an entry; resolves once it is persisted. */
  add(entry: OutboxEntry): Promise<void> {
    this.#entries.set(entry.client_msg_id, entry);
    return this.#save();
  }

  get(clientMsgId: string): OutboxEntry | undefined {
    return this.#entries.get(clientMsgId);
  }

  has(clientMsgId: string): boolean {
    return this.#entries.has(clientMsgId);
  }

  /** Removes an entry (stored, or discarded); false if it was not here. */
  delete(clientMsgId: string): boolean {
    if (!this.#entries.delete(clientMsgId)) return false;
    void this.#save();
    return true;
  }

  /** Marks an entry as never going to succeed. */
  fail(clientMsgId: string, error: { code: string; message: string }): OutboxEntry | undefined {
    const e = this.#entries.get(clientMsgId);
    if (!e) return undefined;
    const failed: OutboxEntry = { ...e, status: "failed", error };
    this.#entries.set(clientMsgId, failed);
    void this.#save();
    return failed;
  }

  /** Puts a failed entry back in the queue. */
  requeue(clientMsgId: string): OutboxEntry | undefined {
    const e = this.#entries.get(clientMsgId);
    if (!e) return undefined;
    const { error: _error, ...rest } = e;
    const pending: OutboxEntry = { ...rest, status: "pending" };
    this.#entries.set(clientMsgId, pending);
    void this.#save();
    return pending;
  }

  /** Entries of a channel (or all), oldest first. */
  entries(channelId?: string): OutboxEntry[] {
    const all = [...this.#entries.values()];
    const some = channelId === undefined ? all : all.filter((e) => e.channel_id === channelId);
    return some.sort((a, b) => a.created_at - b.created_at);
  }

  /** Pending entries of a channel (or all), oldest first. */
  pending(channelId?: string): OutboxEntry[] {
    return this.entries(channelId).filter((e) => e.status === "pending");
  }

  /** Channels with pending entries. */
  pendingChannels(): string[] {
    return [...new Set(this.pending().map((e) => e.channel_id))];
  }

  /** Forgets everything, in memory only (the caller deletes the persisted copy). */
  reset(): void {
    this.#entries.clear();
  }

  /** Resolves once every change so far is persisted. */
  flushed(): Promise<void> {
    return this.#writes;
  }

  #save(): Promise<void> {
    const next = this.#writes.then(() => this.#persist([...this.#entries.values()]));
    this.#writes = next.catch(() => {});
    return this.#writes;
  }
}
