/**
 * @module web/message-menu
 * The menu of one message: react (six quick emoji, and more), reply, edit, copy, delete, and who
 * reacted with what. One menu at a time, over everything (`position: fixed`), opened from a
 * message's "⋯" button, by a right click on it, or from the keyboard (Enter on the button).
 *
 * It follows the WAI-ARIA menu pattern: the first item takes the focus; arrow keys, Home and End
 * move between items; Enter or Space acts; Escape closes it and gives the focus back to what
 * opened it; Tab, a click outside, a scroll of the conversation or a resize close it too. It
 * decides nothing about messages: the view passes what may be done with this one.
 */
import { h } from "./dom.ts";
import { icon } from "./icons.ts";

/** The reactions offered first, as most chat apps do. */
export const QUICK_REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "🙏"] as const;
/** "More reactions": a second row of common ones. Any emoji may be a reaction; these are the offered ones. */
export const MORE_REACTIONS = [
  "🎉",
  "🔥",
  "👏",
  "😍",
  "🤔",
  "😅",
  "🙌",
  "💯",
  "✅",
  "👀",
  "😡",
  "👎",
  "🤝",
  "🚀",
  "😊",
  "😎",
  "🥲",
  "🤯",
] as const;

export interface MenuChoices {
  /** My current reaction to the message (`""`: none): shown pressed, and choosing it takes it back. */
  myReaction: string;
  /** Who reacted with what, already worded ("You, Alice and Bob"). */
  reactions: { emoji: string; who: string }[];
  react(emoji: string): void;
  reply(): void;
  /** Present when the message may be edited (mine, not deleted). */
  edit?: () => void;
  /** Present when the message may be deleted (mine, or a group I own). */
  delete?: () => void;
  /** Present when there is text to copy. */
  copy?: () => void;
}

export class MessageMenu {
  #el: HTMLElement | null = null;
  #returnFocus: HTMLElement | null = null;
  readonly #onPointerDown = (e: PointerEvent) => {
    if (this.#el && !this.#el.contains(e.target as Node)) this.close({ restoreFocus: false });
  };
  readonly #onResize = () => this.close({ restoreFocus: false });

  get isOpen(): boolean {
    return this.#el !== null;
  }

  /**
   * Opens the menu beside `at` (the button that opened it) or at a point (a right click), and
   * focuses its first item. `returnFocus` gets the focus back when it closes by the keyboard.
   */
  open(at: HTMLElement | { x: number; y: number }, choices: MenuChoices, returnFocus: HTMLElement): void {
    this.close({ restoreFocus: false });
    this.#returnFocus = returnFocus;
    // Focus goes back to the message first; an action that moves it (to the composer, to a
    // dialog) then takes it from there.
    const act = (fn: () => void) => () => {
      this.close();
      fn();
    };
    const emojiItem = (emoji: string) =>
      h(
        "button",
        {
          type: "button",
          role: "menuitemcheckbox",
          class: "emoji",
          "aria-checked": String(choices.myReaction === emoji),
          "aria-label": choices.myReaction === emoji ? `Take back ${emoji}` : `React ${emoji}`,
          "data-emoji": emoji,
          testid: "menu-react",
          on: { click: act(() => choices.react(emoji)) },
        },
        emoji,
      );
    const more = h(
      "div",
      { class: "menu-emoji more", role: "group", "aria-label": "More reactions", hidden: true },
      ...MORE_REACTIONS.map(emojiItem),
    );
    const moreButton = h(
      "button",
      {
        type: "button",
        role: "menuitem",
        class: "emoji",
        "aria-label": "More reactions",
        "aria-expanded": "false",
        testid: "menu-more-reactions",
        on: {
          click: () => {
            more.hidden = !more.hidden;
            moreButton.setAttribute("aria-expanded", String(!more.hidden));
            this.#place(at); // taller now: still inside the window
            if (!more.hidden) more.querySelector<HTMLElement>("button")?.focus();
          },
        },
      },
      icon("plus", 18),
    );
    const item = (
      label: string,
      name: Parameters<typeof icon>[0],
      testid: string,
      fn: () => void,
      danger = false,
    ) =>
      h(
        "button",
        {
          type: "button",
          role: "menuitem",
          class: danger ? "item danger" : "item",
          testid,
          on: { click: act(fn) },
        },
        icon(name, 18),
        label,
      );
    const reacted =
      choices.reactions.length > 0
        ? h(
            "ul",
            { class: "menu-reacted", "aria-label": "Reactions", testid: "menu-reacted" },
            ...choices.reactions.map((r) => h("li", {}, h("span", { class: "emoji" }, r.emoji), r.who)),
          )
        : null;
    const el = h(
      "div",
      {
        class: "menu",
        role: "menu",
        "aria-label": "Message actions",
        testid: "message-menu",
        on: { keydown: (e) => this.#onKey(e) },
      },
      h(
        "div",
        { class: "menu-emoji", role: "group", "aria-label": "React" },
        ...QUICK_REACTIONS.map(emojiItem),
        moreButton,
      ),
      more,
      item("Reply", "reply", "menu-reply", choices.reply),
      choices.edit && item("Edit", "pencil", "menu-edit", choices.edit),
      choices.copy && item("Copy text", "copy", "menu-copy", choices.copy),
      choices.delete && item("Delete", "trash", "menu-delete", choices.delete, true),
      reacted,
    );
    document.body.append(el);
    this.#el = el;
    this.#place(at);
    document.addEventListener("pointerdown", this.#onPointerDown, true);
    window.addEventListener("resize", this.#onResize);
    this.#items()[0]?.focus();
  }

  close({ restoreFocus = true }: { restoreFocus?: boolean } = {}): void {
    if (!this.#el) return;
    this.#el.remove();
    this.#el = null;
    document.removeEventListener("pointerdown", this.#onPointerDown, true);
    window.removeEventListener("resize", this.#onResize);
    const back = this.#returnFocus;
    this.#returnFocus = null;
    if (restoreFocus && back?.isConnected) back.focus({ preventScroll: true });
  }

  /**
   * Beside the anchor, below it (above when there is no room), opening toward the middle of
   * the window: a button on the right (my messages) gets the menu's right edge, one on the left
   * its left edge. Always inside the window.
   */
  #place(at: HTMLElement | { x: number; y: number }): void {
    const el = this.#el;
    if (!el) return;
    const box = el.getBoundingClientRect();
    const margin = 8;
    let x: number;
    let y: number;
    if (at instanceof HTMLElement) {
      const r = at.getBoundingClientRect();
      x = r.left + r.width / 2 > window.innerWidth / 2 ? r.right - box.width : r.left;
      y = r.bottom + 4;
      if (y + box.height > window.innerHeight - margin) y = r.top - box.height - 4;
    } else {
      x = at.x;
      y = at.y;
      if (y + box.height > window.innerHeight - margin) y = at.y - box.height;
    }
    x = Math.min(Math.max(margin, x), window.innerWidth - box.width - margin);
    y = Math.min(Math.max(margin, y), window.innerHeight - box.height - margin);
    el.style.left = `${Math.round(x)}px`;
    el.style.top = `${Math.round(y)}px`;
  }

  #items(): HTMLElement[] {
    if (!this.#el) return [];
    return [...this.#el.querySelectorAll<HTMLElement>('[role^="menuitem"]')].filter(
      (b) => !b.closest("[hidden]"),
    );
  }

  #onKey(e: KeyboardEvent): void {
    const items = this.#items();
    const at = items.indexOf(document.activeElement as HTMLElement);
    let next: number | null = null;
    switch (e.key) {
      case "Escape":
        e.preventDefault();
        e.stopPropagation();
        this.close();
        return;
      case "Tab":
        e.preventDefault();
        this.close();
        return;
      case "ArrowDown":
      case "ArrowRight":
        next = at < 0 ? 0 : (at + 1) % items.length;
        break;
      case "ArrowUp":
      case "ArrowLeft":
        next = at <= 0 ? items.length - 1 : at - 1;
        break;
      case "Home":
        next = 0;
        break;
      case "End":
        next = items.length - 1;
        break;
      default:
        return;
    }
    e.preventDefault();
    items[next]?.focus();
  }
}
