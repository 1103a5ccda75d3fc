/**
 * @module web/read-position
 * Where reading stopped, for the conversation on screen: the newest message seen, and where
 * the "New messages" divider goes. The view feeds it what is held and what is on screen; it
 * decides nothing about scrolling.
 *
 * - A conversation opened with unread messages puts the divider after the read marker it
 *   opened with (`openedUnread`), and keeps it there for the visit, however far reading goes.
 * - One opened with nothing unread gets a divider only when messages from others arrive while
 *   the reader is not following the end (scrolled up, or the page hidden): above the first of
 *   them (`arrived`).
 * - "Seen" is a message whose end has been on screen (or, for one taller than half the
 *   screen, its first half-screen): the read marker moves there, and everything above it counts
 *   as read, as the marker means.
 */
import type { ChatMessage } from "../../client/src/index.ts";

/** A stored message on screen, in order: what "seen" and "new below" are counted on. */
export interface Placed {
  seq: number;
  el: HTMLElement;
  fromOthers: boolean;
}

export class ReadPosition {
  readonly #myId: string;
  /** The divider goes above the first message from others after this seq; null: no divider. */
  #dividerAfter: number | null = null;
  /** The newest seq seen on screen, or read before this visit. */
  #seen = 0;

  constructor(myId: string) {
    this.#myId = myId;
  }

  get seen(): number {
    return this.#seen;
  }

  /** Opened with unread messages: everything after `readSeq` is new. */
  openedUnread(readSeq: number): void {
    this.#seen = readSeq;
    this.#dividerAfter = readSeq;
  }

  /** Opened with nothing unread: read up to `seq`. */
  openedRead(seq: number): void {
    this.#seen = Math.max(this.#seen, seq);
  }

  /** Messages are held that the reader may not have seen: divide them off if they do not follow the end. */
  arrived(messages: ChatMessage[], following: boolean): void {
    if (following || this.#dividerAfter !== null) return;
    if (messages.some((m) => this.#isNew(m, this.#seen))) this.#dividerAfter = this.#seen;
  }

  /** The reader saw up to `seq`. */
  saw(seq: number): void {
    if (seq > this.#seen) this.#seen = seq;
  }

  /**
   * The seq of the message the divider goes above: the first from others after the divider's
   * place, once every message between the two is held (older pages loaded back to it, and no
   * gap before it: the SDK's `cursor` reaches it). Until then none: a divider in the wrong
   * place is worse than none.
   */
  dividerBefore(messages: ChatMessage[], hasOlder: boolean, cursor: number): number | null {
    const after = this.#dividerAfter;
    if (after === null) return null;
    const oldest = messages.find((m) => m.status === "sent")?.seq;
    if (oldest === undefined || (oldest > after + 1 && hasOlder)) return null;
    const first = messages.find((m) => this.#isNew(m, after));
    return first && cursor >= first.seq ? first.seq : null;
  }

  /** How many messages from others below the newest seen. */
  unseen(placed: Placed[]): number {
    let n = 0;
    for (let i = placed.length - 1; i >= 0; i--) {
      const p = placed[i];
      if (!p || p.seq <= this.#seen) break;
      if (p.fromOthers) n++;
    }
    return n;
  }

  #isNew(m: ChatMessage, after: number): boolean {
    return m.status === "sent" && m.seq > after && m.sender_id !== this.#myId;
  }
}

/**
 * The newest message seen in `list` (their scroll container and offset parent): its end is in
 * view, or (a message taller than half the view) its first half-screen is. 0 if none.
 */
export function newestSeen(list: HTMLElement, placed: Placed[]): number {
  const bottom = list.scrollTop + list.clientHeight;
  // The last message whose top is above the view's bottom edge, by bisection…
  let lo = 0;
  let hi = placed.length - 1;
  let last = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const el = placed[mid]?.el;
    if (el && el.offsetTop < bottom) {
      last = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  // …then back to one that shows enough of itself.
  for (let i = last; i >= 0; i--) {
    const p = placed[i];
    if (!p) break;
    const shown = Math.min(p.el.offsetHeight, list.clientHeight / 2);
    if (p.el.offsetTop + shown <= bottom + 2) return p.seq;
  }
  return 0;
}
