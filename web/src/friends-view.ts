/**
 * @module web/friends-view
 * Friends: find someone by handle and send a request; accept or decline incoming requests;
 * start a chat with a friend, block or unfriend; unblock. The app runs the calls and
 * re-renders with the fresh list.
 */
import type { FriendsList, PublicUser } from "../../client/src/index.ts";
import { h, replace } from "./dom.ts";
import { hueOf, initials, presenceText } from "./format.ts";

export interface FriendsActions {
  request(handle: string): Promise<string>;
  accept(userId: string): void;
  decline(userId: string): void;
  message(userId: string): void;
  block(userId: string): void;
  unblock(userId: string): void;
  remove(userId: string): void;
  presence(userId: string): { status: string; last_active_at: number } | undefined;
}

/**
 * The Friends tab. The search form and its status line persist; `update` re-renders the lists
 * only, so a refresh that lands while someone types or waits for an answer loses nothing.
 */
export class FriendsPanel {
  readonly el: HTMLElement;
  readonly #lists: HTMLElement;
  readonly #handle: HTMLInputElement;
  readonly #actions: FriendsActions;

  constructor(actions: FriendsActions) {
    this.#actions = actions;
    const handle = h("input", {
      type: "text",
      placeholder: "handle",
      autocapitalize: "none",
      spellcheck: "false",
      "aria-label": "Friend's handle",
      testid: "friend-handle",
    });
    this.#handle = handle;
    const statusLine = h("p", { class: "status-text", role: "status", testid: "friend-status" });
    const add = h("button", { type: "submit", class: "primary", testid: "friend-add" }, "Add friend");
    const find = h(
      "form",
      {
        class: "row",
        on: {
          submit: async (e) => {
            e.preventDefault();
            const value = handle.value.trim().replace(/^@/, "");
            if (!value) return;
            add.disabled = true;
            statusLine.textContent = "Sending…";
            statusLine.textContent = await actions.request(value);
            add.disabled = false;
            if (!statusLine.textContent.startsWith("Couldn't")) handle.value = "";
          },
        },
      },
      handle,
      add,
    );

    this.#lists = h("div", { testid: "friends-lists" });
    this.el = h(
      "div",
      { testid: "friends-panel" },
      h("section", { class: "section" }, h("h2", {}, "Add a friend"), find, statusLine),
      this.#lists,
    );
  }

  /** Puts the cursor in the handle field ("Add friend" in the sidebar). */
  focusHandle(): void {
    this.#handle.focus();
  }

  update(list: FriendsList): void {
    const actions = this.#actions;
    const incoming = list.friends.filter((f) => f.state === "incoming");
    const friends = list.friends.filter((f) => f.state === "friends");
    const outgoing = list.friends.filter((f) => f.state === "outgoing");
    const byName = (a: { user: PublicUser }, b: { user: PublicUser }) =>
      a.user.display_name.localeCompare(b.user.display_name);

    const btn = (label: string, testid: string, onClick: () => void, cls = "") =>
      h("button", { type: "button", class: cls, testid, on: { click: onClick } }, label);

    const row = (user: PublicUser, state: string, sub: string, ...buttons: HTMLElement[]) => {
      const avatar = h("span", { class: "avatar small", "aria-hidden": "true" }, initials(user.display_name));
      avatar.style.setProperty("--hue", String(hueOf(user.id)));
      if (state === "friends") {
        avatar.append(
          h("span", { class: "dot", "data-status": actions.presence(user.id)?.status ?? "offline" }),
        );
      }
      return h(
        "li",
        {
          class: "person",
          testid: "friend-row",
          "data-handle": user.handle ?? "",
          "data-user-id": user.id,
          "data-state": state,
        },
        avatar,
        h("span", { class: "who" }, user.display_name, h("small", {}, sub)),
        ...buttons,
      );
    };

    const section = (title: string, testid: string, items: HTMLElement[]) =>
      items.length === 0
        ? null
        : h(
            "section",
            { class: "section", testid },
            h("h2", {}, title),
            h("ul", { class: "people" }, ...items),
          );

    replace(
      this.#lists,
      section(
        "Requests",
        "friends-incoming",
        incoming.sort(byName).map((f) =>
          row(
            f.user,
            "incoming",
            `@${f.user.handle ?? ""} wants to be friends`,
            btn("Accept", "friend-accept", () => actions.accept(f.user.id), "primary"),
            btn("Decline", "friend-decline", () => actions.decline(f.user.id)),
          ),
        ),
      ),
      section(
        "Friends",
        "friends-list",
        friends.sort(byName).map((f) =>
          row(
            f.user,
            "friends",
            presenceText(actions.presence(f.user.id)) || `@${f.user.handle ?? ""}`,
            btn("Message", "friend-message", () => actions.message(f.user.id), "primary"),
            btn("Block", "friend-block", () => actions.block(f.user.id), "danger"),
          ),
        ),
      ),
      section(
        "Sent requests",
        "friends-outgoing",
        outgoing.sort(byName).map((f) =>
          row(
            f.user,
            "outgoing",
            `@${f.user.handle ?? ""} · pending`,
            btn("Cancel", "friend-cancel", () => actions.remove(f.user.id)),
          ),
        ),
      ),
      section(
        "Blocked",
        "friends-blocked",
        list.blocked.sort(byName).map((b) =>
          row(
            b.user,
            "blocked",
            `@${b.user.handle ?? ""}`,
            btn("Unblock", "friend-unblock", () => actions.unblock(b.user.id)),
          ),
        ),
      ),
      friends.length + incoming.length + outgoing.length === 0
        ? h("p", { class: "empty" }, "No friends yet. Add one by their handle.")
        : null,
    );
  }
}
