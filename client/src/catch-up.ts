/**
 * @module client/catch-up
 * Catching up with what this device missed (docs/protocol.md §11 "loadLatest", "fillGap",
 * §7.2 resume, §6.3 sync), on top of the {@link MessageLog}'s cursors:
 *
 * - **resume** on the user socket after every `hello`, from every cursor;
 * - **sync** on the channel socket of the conversation on screen, page after page from its
 *   cursor up to the `head_seq` of its `hello`;
 * - **loadLatest**: the newest page over REST for a channel this device has not seen, which
 *   gives it a cursor;
 * - **fillGap**: what lies between a cursor and the messages held beyond it, over REST, once
 *   no catch-up that would bring it is in progress.
 *
 * It owns the catch-up state (resuming, syncing, loads and fills in flight); the client owns
 * the sockets and feeds it their frames.
 */
import type { ChatSocket } from "./chat-socket.ts";
import type { MessageLog } from "./message-log.ts";
import type { HistoryPage, ServerFrameOf, WireMessage } from "./types.ts";

/** Newest page loaded for a channel new to this device. */
export const LATEST_PAGE = 50;
/** Pages used to fill a gap over REST (the REST maximum). */
const FILL_PAGE = 200;
/** Pages asked of a channel socket's `sync` (the protocol maximum). */
const SYNC_PAGE = 500;
const MAX_RESUME_CURSORS = 10_000;
/** A gap may close by itself (a page on its way): fill it over REST only if it is still there after this. */
const FILL_DELAY_MS = 300;
/** A failed fill is tried again after this. */
const FILL_RETRY_MS = 2_000;

export interface CatchUpDeps {
  log: MessageLog;
  /** A REST GET under /v1. */
  get<T>(path: string): Promise<T>;
  /** Bumped at every sign-in and sign-out: late answers of an earlier session are dropped. */
  generation(): number;
  /** The app wants to be connected. */
  connected(): boolean;
  /** The conversation on screen, or null. */
  viewing(): string | null;
  /** The channel socket of the conversation on screen, or null. */
  channelSocket(): ChatSocket | null;
  /**
   * Checks a page against the channel's hash chain (chain-check.ts) before anything of it is held
   * or moves a cursor; false if it does not chain (the client has reported it).
   */
  checkPage(
    channelId: string,
    prevHash: string | null | undefined,
    messages: readonly WireMessage[],
    emptyAt?: number,
  ): boolean;
  /** Takes a batch of messages; true if anything changed (the client emits `history` then). */
  ingestPage(channelId: string, messages: readonly WireMessage[]): boolean;
  /** A channel's history changed. */
  history(channelId: string): void;
  /** A background call failed. */
  report(err: unknown, channelId: string): void;
}

export class CatchUp {
  readonly #d: CatchUpDeps;
  /** The user socket sent `resume` and has not seen `resumed` yet. */
  #resuming = false;
  /** `head_seq` of the channel socket's last `hello`. */
  #helloHead: number | undefined;
  /** The channel socket is catching up with `sync` (no live frames until it completes). */
  #syncing = false;
  readonly #loading = new Map<string, Promise<void>>();
  readonly #filling = new Set<string>();
  readonly #fillTimers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(deps: CatchUpDeps) {
    this.#d = deps;
  }

  // User socket ---------------------------------------------------------------------------------

  /** The user socket said `hello`: the `resume` frame to send at once, from every cursor (§7.2). */
  resumeFrame(): { type: "resume"; id: string; cursors: { channel_id: string; seq: number }[] } {
    this.#resuming = true;
    return { type: "resume", id: "resume", cursors: this.#d.log.cursors().slice(0, MAX_RESUME_CURSORS) };
  }

  /**
   * A `messages` page on the user socket. Resume pages start at the cursor sent (or the join
   * point); gap-fill pages at the server's idea of this device's stream, which only a REST fill
   * can check.
   */
  userPage(f: ServerFrameOf<"messages">): void {
    this.#applyPage(f, this.#resuming);
  }

  /** `resumed`: the resume is over; fill what it left. */
  resumed(): void {
    this.#resuming = false;
    this.#afterCatchUp();
  }

  /** The resume was refused, or the user socket is no longer open. */
  resumeEnded(): void {
    this.#resuming = false;
  }

  // Channel socket ------------------------------------------------------------------------------

  /** A channel socket was opened or stopped: nothing known of its connection. */
  channelReset(): void {
    this.#helloHead = undefined;
    this.#syncing = false;
  }

  /** The channel socket is not open (its `sync`, if any, is lost with the connection). */
  channelDown(): void {
    this.#syncing = false;
  }

  /** The channel socket said `hello`: live from `head_seq`, so catch up from the cursor first (§4.3). */
  channelHello(channelId: string, headSeq: number, socket: ChatSocket): void {
    this.#helloHead = headSeq;
    this.#syncing = false;
    const cursor = this.#d.log.cursor(channelId);
    if (cursor === undefined) this.loadLatestQuietly(channelId);
    else this.#syncFrom(cursor, socket);
  }

  /**
   * A live page on the channel socket (no `ref`: entries the channel folded, §6.5): it follows
   * what this socket was sent, and ends no sync.
   */
  livePage(f: ServerFrameOf<"messages">): void {
    this.#applyPage(f, false);
  }

  /** A `sync` reply page on the channel socket: ask for the next page, or the sync is complete. */
  channelPage(f: ServerFrameOf<"messages">, socket: ChatSocket): void {
    if (!this.#applyPage(f, true)) {
      // A page that does not chain is refused: asking for the next one would build on it.
      this.#syncing = false;
      return;
    }
    if (!f.complete) {
      socket.send({ type: "sync", id: "sync", after_seq: f.next_after_seq, limit: SYNC_PAGE });
    } else {
      this.#syncing = false;
      this.#afterCatchUp();
    }
  }

  /**
   * The server refused the `sync`; refused as too fast (`retryAfterMs`), it is asked again,
   * from the cursor, once the wait is over.
   */
  syncFailed(retryAfterMs?: number): void {
    this.#syncing = false;
    if (retryAfterMs === undefined) return;
    const gen = this.#d.generation();
    setTimeout(() => {
      const socket = this.#d.channelSocket();
      const channelId = this.#d.viewing();
      const cursor = channelId === null ? undefined : this.#d.log.cursor(channelId);
      if (gen === this.#d.generation() && socket?.isOpen && cursor !== undefined)
        this.#syncFrom(cursor, socket);
    }, retryAfterMs);
  }

  #syncFrom(cursor: number, socket: ChatSocket): void {
    if (this.#syncing || this.#helloHead === undefined || cursor >= this.#helloHead) return;
    this.#syncing = socket.send({ type: "sync", id: "sync", after_seq: cursor, limit: SYNC_PAGE });
  }

  /**
   * A `messages` page from either socket. A trusted page (a `sync` reply, a resume page)
   * starts where the server started: at the cursor sent, or at the member's join point when
   * the cursor was below it; nothing this device may see lies in between.
   */
  #applyPage(f: ServerFrameOf<"messages">, trusted: boolean): boolean {
    if (!this.#d.checkPage(f.channel_id, f.prev_hash, f.messages, f.next_after_seq)) return false;
    if (trusted) this.#d.log.skipTo(f.channel_id, f.messages[0] ? f.messages[0].seq - 1 : f.next_after_seq);
    if (this.#d.ingestPage(f.channel_id, f.messages)) this.#d.history(f.channel_id);
    return true;
  }

  // REST ----------------------------------------------------------------------------------------

  loadLatestQuietly(channelId: string): void {
    this.loadLatest(channelId).catch((err) => this.#d.report(err, channelId));
  }

  /** History of a channel this device has not seen: its newest page, then a cursor (§11 "loadLatest"). */
  loadLatest(channelId: string): Promise<void> {
    const running = this.#loading.get(channelId);
    if (running) return running;
    const d = this.#d;
    const gen = d.generation();
    const run = (async () => {
      const page = await d.get<HistoryPage>(`/v1/channels/${enc(channelId)}/messages?limit=${LATEST_PAGE}`);
      if (gen !== d.generation()) return;
      if (!d.checkPage(channelId, page.prev_hash, page.messages)) return;
      const first = d.log.cursor(channelId) === undefined;
      d.ingestPage(channelId, page.messages);
      if (first) {
        // Newest page: nothing newer existed when it was read. 0 if nothing is visible yet, even
        // below the join point: resume and sync skip to it.
        d.log.setCursor(channelId, page.messages.at(-1)?.seq ?? 0);
        d.log.setHasOlder(channelId, page.has_more);
      }
      d.history(channelId);
      if (d.log.hasGap(channelId)) this.scheduleFill(channelId);
      const cursor = d.log.cursor(channelId);
      const socket = d.channelSocket();
      if (d.viewing() === channelId && socket?.isOpen && cursor !== undefined) this.#syncFrom(cursor, socket);
    })().finally(() => {
      this.#loading.delete(channelId);
    });
    this.#loading.set(channelId, run);
    return run;
  }

  scheduleFill(channelId: string, delayMs = FILL_DELAY_MS): void {
    if (this.#fillTimers.has(channelId) || this.#filling.has(channelId)) return;
    this.#fillTimers.set(
      channelId,
      setTimeout(() => {
        this.#fillTimers.delete(channelId);
        void this.#fillGap(channelId);
      }, delayMs),
    );
  }

  /** Stops every fill timer and forgets the resume (the sockets are closing). */
  stop(): void {
    this.#resuming = false;
    for (const t of this.#fillTimers.values()) clearTimeout(t);
    this.#fillTimers.clear();
  }

  /** Gaps left once a catch-up (resume, sync) ended. */
  #afterCatchUp(): void {
    for (const channelId of this.#d.log.gaps()) this.scheduleFill(channelId);
  }

  /** Fetches what lies between the cursor and the messages held beyond it (§11 "fillGap"). */
  async #fillGap(channelId: string): Promise<void> {
    const d = this.#d;
    if (!d.log.hasGap(channelId) || this.#filling.has(channelId)) return;
    // A catch-up in progress brings these in order; #afterCatchUp looks again when it ends.
    if (this.#resuming || (this.#syncing && d.viewing() === channelId)) return;
    const gen = d.generation();
    this.#filling.add(channelId);
    try {
      while (gen === d.generation() && d.log.hasGap(channelId)) {
        const after = d.log.cursor(channelId);
        if (after === undefined) break;
        const page = await d.get<HistoryPage>(
          `/v1/channels/${enc(channelId)}/messages?after=${after}&limit=${FILL_PAGE}`,
        );
        if (gen !== d.generation()) return;
        // A page that does not chain is refused (and reported); fetching it again would not help.
        if (!d.checkPage(channelId, page.prev_hash, page.messages)) return;
        // REST started at max(after, joined_seq): nothing visible lies before its first message.
        const first = page.messages[0]?.seq;
        if (first !== undefined) d.log.skipTo(channelId, first - 1);
        if (d.ingestPage(channelId, page.messages)) d.history(channelId);
        if (!page.has_more || page.messages.length === 0) break;
      }
    } catch (err) {
      d.report(err, channelId);
      if (gen === d.generation() && d.connected()) this.scheduleFill(channelId, FILL_RETRY_MS);
    } finally {
      this.#filling.delete(channelId);
    }
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}
