/**
 * @module web/list-view
 * The conversation list: one row per conversation, newest activity first, with an unread
 * badge and, for 1:1 chats, the friend's presence dot.
 */
import { h } from "./dom.ts";
import { hueOf, initials, shortTime } from "./format.ts";

export interface ListItem {
  channelId: string;
  kind: "dm" | "group";
  title: string;
  /** Whose colour the avatar takes: the friend's id for a 1:1 chat, the channel's for a group. */
  colorKey: string;
  preview: string;
  ts: number;
  unread: number;
  /** 1:1 only: the friend's status. */
  presence?: "online" | "offline";
}

export function renderConversationList(
  container: HTMLElement,
  items: ListItem[],
  current: string | null,
  open: (channelId: string) => void,
): void {
  const focused = (document.activeElement as HTMLElement | null)?.dataset.channelId;
  if (items.length === 0) {
    container.replaceChildren(
      h("p", { class: "empty", testid: "conv-empty" }, "No conversations yet. Add a friend, then say hello."),
    );
    return;
  }
  const ul = h("ul", { class: "conv-list", "aria-label": "Conversations", testid: "conv-list" });
  for (const it of items) {
    const avatar = h("span", { class: "avatar", "aria-hidden": "true" }, initials(it.title));
    avatar.style.setProperty("--hue", String(hueOf(it.colorKey)));
    if (it.presence)
      avatar.append(h("span", { class: "dot", "data-status": it.presence, testid: "presence-dot" }));
    const label = `${it.title}${it.unread ? `, ${it.unread} unread` : ""}${it.presence === "online" ? ", online" : ""}`;
    const button = h(
      "button",
      {
        type: "button",
        class: "conv-item",
        "aria-current": it.channelId === current ? "true" : "false",
        "aria-label": label,
        "data-channel-id": it.channelId,
        "data-kind": it.kind,
        testid: "conv-item",
        on: { click: () => open(it.channelId) },
      },
      avatar,
      h("span", { class: "conv-name", testid: "conv-name" }, it.title),
      h("span", { class: "conv-time" }, shortTime(it.ts)),
      h("span", { class: "conv-preview", testid: "conv-preview" }, it.preview),
      h(
        "span",
        { class: "badge", hidden: it.unread === 0, testid: "unread-badge", "aria-hidden": "true" },
        it.unread > 99 ? "99+" : String(it.unread),
      ),
    );
    ul.append(h("li", {}, button));
  }
  container.replaceChildren(ul);
  if (focused) container.querySelector<HTMLElement>(`[data-channel-id="${CSS.escape(focused)}"]`)?.focus();
}
