/**
 * @module web/message-item
 * One message of the conversation as DOM: the sender's name (groups), the quote of the message it
 * answers, the bubble with its text (links made safely, long texts folded: long-text.ts) or the
 * tombstone of a deleted one, the time, the "edited" mark and the ticks of my own messages, its
 * reactions, its menu button, and what to do with one that failed. Also the folded line of a
 * blocked user's message, the date separators and the "new messages" divider. Pure builders:
 * the view decides what goes where and when an element is rebuilt (its `signature` changed).
 */
import type { ChatClient, ChatMessage, Reaction } from "../../client/src/index.ts";
import { h } from "./dom.ts";
import { retryCanFix } from "./errors.ts";
import { clockTime, dayKey, dayLabel } from "./format.ts";
import { icon } from "./icons.ts";
import { linkify } from "./linkify.ts";
import { foldedText, isCut } from "./long-text.ts";

export interface Ticks {
  label: string;
  state: string;
  title: string;
}

/** The ticks of one of my messages: 1:1 ✓ / ✓✓ / blue ✓✓; groups "✓✓ n/N" then "read by n". */
export function ticksOf(chat: ChatClient, channelId: string, isGroup: boolean, m: ChatMessage): Ticks | null {
  if (m.status === "pending") return { label: "…", state: "pending", title: "Sending" };
  if (m.status === "failed") return null;
  const t = chat.ticks(channelId, m.seq);
  if (isGroup) {
    if (t.others > 0 && t.read > 0) {
      return { label: `read by ${t.read}`, state: "read", title: `Read by ${t.read} of ${t.others}` };
    }
    if (t.delivered > 0) {
      return {
        label: `✓✓ ${t.delivered}/${t.others}`,
        state: "delivered",
        title: `Delivered to ${t.delivered} of ${t.others}`,
      };
    }
    return { label: "✓", state: "sent", title: "Sent" };
  }
  if (t.others > 0 && t.read >= t.others) return { label: "✓✓", state: "read", title: "Read" };
  if (t.others > 0 && t.delivered >= t.others) return { label: "✓✓", state: "delivered", title: "Delivered" };
  return { label: "✓", state: "sent", title: "Sent" };
}

export interface MessageOptions {
  mine: boolean;
  isGroup: boolean;
  /** The sender's name above the bubble (a group's first message of a run), or null. */
  senderName: string | null;
  ticks: Ticks | null;
  /** Rendered folded ("Show more"): a text that may be taller than the fold, not unfolded by the reader. */
  folded: boolean;
  /** Unfolded by the reader: "Show less" folds it again. */
  unfolded: boolean;
  toggleFold(): void;
  retry(): void;
  discard(): void;
  /** Takes a failed message back into the composer. */
  edit(): void;
  /** A user's name ("Alice"). */
  name(userId: string): string;
  /** The signed-in user. */
  myId: string;
  /** Opens the message's menu beside its button or at a point (a right click); null: it has none. */
  openMenu: ((at: HTMLElement | { x: number; y: number }, opener: HTMLElement) => void) | null;
  /** Toggles my reaction `emoji`. */
  react(emoji: string): void;
  /** Shows the message a reply quotes. */
  showQuoted(seq: number): void;
  /** The message's photos and files (web/attachments.ts), or null when it has none. */
  attachments: (() => Node) | null;
}

export function messageElement(m: ChatMessage, o: MessageOptions): HTMLElement {
  const deleted = m.deleted !== undefined;
  const cut = o.folded && isCut(m.text);
  let bubble: HTMLElement;
  if (deleted) {
    bubble = h(
      "div",
      { class: "bubble tombstone", "data-pending": m.deleted?.pending, testid: "message-deleted" },
      tombstoneText(m, o),
    );
  } else {
    bubble = h("div", {
      class: o.folded ? "bubble folded" : "bubble",
      "data-cut": cut,
      testid: "message-text",
    });
    if (o.attachments) {
      bubble.append(o.attachments());
      // A caption of its own under the attachments (a text-only message is the bubble's text).
      if (m.text !== "") bubble.append(h("div", { class: "caption" }, linkify(m.text)));
    } else bubble.append(linkify(cut ? foldedText(m.text) : m.text));
  }
  // Hidden until the view has measured that the folded text does not fit (then it stays folded).
  const fold =
    !deleted && (o.folded || o.unfolded)
      ? h(
          "button",
          {
            type: "button",
            class: "link fold",
            "aria-expanded": String(o.unfolded),
            hidden: o.folded,
            testid: "show-more",
            on: { click: () => o.toggleFold() },
          },
          o.unfolded ? "Show less" : "Show more",
        )
      : null;
  const edited =
    m.edited && !deleted
      ? h(
          "span",
          {
            class: "edited",
            "data-pending": m.edited.pending,
            title: m.edited.pending ? "Saving the edit" : `Edited ${clockTime(m.edited.ts)}`,
            testid: "edited",
          },
          "edited",
        )
      : null;
  const meta = h(
    "div",
    { class: "meta" },
    h("time", { datetime: new Date(m.ts).toISOString() }, clockTime(m.ts)),
    edited,
    o.ticks &&
      h(
        "span",
        {
          class: o.isGroup ? "ticks group" : "ticks",
          "data-state": o.ticks.state,
          title: o.ticks.title,
          "aria-label": o.ticks.title,
          testid: "ticks",
        },
        o.ticks.state === "pending" ? icon("clock", 12) : o.ticks.label,
      ),
  );
  // Retry only where it could help: a text refused as too long (or blank) is refused again
  // however often it goes; it can be taken back into the composer instead.
  const fail =
    m.status === "failed"
      ? h(
          "div",
          { class: "fail", role: "alert" },
          h("span", { testid: "fail-reason" }, m.error?.message ?? "Not sent"),
          retryCanFix(m.error?.code)
            ? h("button", { type: "button", testid: "retry", on: { click: o.retry } }, "Retry")
            : h("button", { type: "button", testid: "edit", on: { click: o.edit } }, "Edit"),
          h("button", { type: "button", testid: "discard", on: { click: o.discard } }, "Discard"),
        )
      : null;
  const openMenu = o.openMenu;
  const menuButton = openMenu
    ? h(
        "button",
        {
          type: "button",
          class: "icon more",
          title: "More",
          "aria-label": "Message actions",
          "aria-haspopup": "menu",
          testid: "message-actions",
          on: { click: (e) => openMenu(e.currentTarget as HTMLElement, e.currentTarget as HTMLElement) },
        },
        icon("more", 18),
      )
    : null;
  const el = h(
    "div",
    {
      class: o.mine ? "msg mine" : "msg",
      testid: "message",
      "data-seq": m.status === "sent" ? String(m.seq) : undefined,
      "data-status": m.status,
      "data-sender": m.sender_id,
      "data-deleted": deleted,
    },
    o.senderName && h("div", { class: "sender", testid: "message-sender" }, o.senderName),
    m.reply && quoteElement(m.reply, o),
    h("div", { class: "body" }, bubble, menuButton),
    fold,
    m.reactions.length > 0 && !deleted ? reactionsElement(m.reactions, o) : null,
    meta,
    fail,
  );
  if (openMenu && menuButton) {
    el.addEventListener("contextmenu", (e) => {
      // A right click on a link keeps the browser's menu (open in a new tab, copy the address).
      if ((e.target as Element).closest("a")) return;
      e.preventDefault();
      openMenu({ x: e.clientX, y: e.clientY }, menuButton);
    });
  }
  return el;
}

/** What a deleted message says in its place, and who deleted it when it was not its sender. */
function tombstoneText(m: ChatMessage, o: MessageOptions): string {
  const by = m.deleted?.by ?? m.sender_id;
  if (m.deleted?.pending) return "Deleting…";
  if (by === o.myId) return "You deleted this message";
  if (by !== m.sender_id) return `Deleted by ${o.name(by)}`;
  return "This message was deleted";
}

/** The message a reply answers: who wrote it and how it starts, or that it was deleted. A click shows it. */
function quoteElement(q: NonNullable<ChatMessage["reply"]>, o: MessageOptions): HTMLElement {
  const sender = q.sender_id === o.myId ? "You" : o.name(q.sender_id);
  return h(
    "button",
    {
      type: "button",
      class: "quote",
      "data-deleted": q.deleted,
      "data-seq": String(q.seq),
      "aria-label": `Reply to ${sender}: ${q.deleted ? "deleted message" : q.preview}. Show it`,
      testid: "reply-quote",
      on: { click: () => o.showQuoted(q.seq) },
    },
    h("span", { class: "quote-sender", testid: "reply-quote-sender" }, sender),
    h("span", { class: "quote-text", testid: "reply-quote-text" }, q.deleted ? "Deleted message" : q.preview),
  );
}

/** One chip per emoji: its count, mine pressed, who reacted in its title; a click toggles mine. */
function reactionsElement(reactions: Reaction[], o: MessageOptions): HTMLElement {
  return h(
    "div",
    { class: "reactions", testid: "reactions" },
    ...reactions.map((r) => {
      const who = reactorsText(r, o);
      return h(
        "button",
        {
          type: "button",
          class: "reaction",
          "aria-pressed": String(r.mine),
          "aria-label": `${r.emoji} ${r.count}: ${who}${r.mine ? ". Click to take yours back" : ""}`,
          title: `${who} reacted with ${r.emoji}`,
          "data-emoji": r.emoji,
          "data-count": String(r.count),
          testid: "reaction",
          on: { click: () => o.react(r.emoji) },
        },
        h("span", { class: "emoji" }, r.emoji),
        h("span", { class: "n" }, String(r.count)),
      );
    }),
  );
}

/** "You, Alice and Bob": who reacted with one emoji, me first. */
export function reactorsText(r: Reaction, o: Pick<MessageOptions, "myId" | "name">): string {
  const names = r.user_ids.filter((id) => id !== o.myId).map((id) => o.name(id));
  if (r.mine) names.unshift("You");
  if (names.length <= 1) return names[0] ?? "";
  return `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
}

/**
 * A message from someone I blocked, in a group we share: it arrives (the group is shared) but
 * stays folded behind a line, as in other messaging apps, until the reader asks to see it.
 */
export function blockedElement(m: ChatMessage, show: () => void): HTMLElement {
  return h(
    "div",
    {
      class: "msg blocked",
      testid: "message",
      "data-seq": String(m.seq),
      "data-status": m.status,
      "data-blocked": "",
    },
    h(
      "div",
      { class: "bubble collapsed", testid: "message-blocked" },
      "Message from a blocked user · ",
      h("button", { type: "button", class: "link", testid: "show-blocked", on: { click: show } }, "Show"),
    ),
  );
}

/** "Today", "Yesterday", "Monday", "Monday, March 3": above the first message of each day. */
export function daySeparator(ts: number, label = dayLabel(ts)): HTMLElement {
  return h(
    "div",
    { class: "day", role: "separator", "aria-label": label, testid: "day-separator" },
    h("time", { datetime: dayKey(ts) }, label),
  );
}

/** Where reading stopped: above the first message that was unread when the conversation opened. */
export function unreadDivider(): HTMLElement {
  return h(
    "div",
    { class: "unread-divider", role: "separator", "aria-label": "New messages", testid: "unread-divider" },
    h("span", {}, "New messages"),
  );
}
