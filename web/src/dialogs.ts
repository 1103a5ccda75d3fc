/**
 * @module web/dialogs
 * Modal `<dialog>`s: picking friends (creating a group with a name, or adding people to one),
 * and confirming what cannot be undone. Each resolves with the choice, or null/false when
 * cancelled (Esc, or the Cancel button).
 */
import type { PublicUser } from "../../client/src/index.ts";
import { h } from "./dom.ts";

export function pickFriends(options: {
  title: string;
  submitLabel: string;
  friends: PublicUser[];
  withName: boolean;
}): Promise<{ name: string; userIds: string[] } | null> {
  return new Promise((resolve) => {
    const name = h("input", {
      type: "text",
      maxlength: "100",
      required: true,
      placeholder: "Group name",
      "aria-label": "Group name",
      testid: "group-name",
    });
    const boxes = options.friends.map((u) =>
      h("input", { type: "checkbox", value: u.id, "data-handle": u.handle ?? "", testid: "group-member" }),
    );
    const error = h("p", { class: "error-text", role: "alert" });
    const dialog = h("dialog", { "aria-label": options.title, testid: "group-dialog" });
    let result: { name: string; userIds: string[] } | null = null;
    const form = h(
      "form",
      {
        method: "dialog",
        on: {
          submit: (e) => {
            const userIds = boxes.filter((b) => b.checked).map((b) => b.value);
            if ((e.submitter as HTMLButtonElement | null)?.value !== "ok") return;
            if (!options.withName && userIds.length === 0) {
              e.preventDefault();
              error.textContent = "Pick at least one friend.";
              return;
            }
            result = { name: name.value.trim(), userIds };
          },
        },
      },
      h("h2", { class: "dialog-title" }, options.title),
      options.withName && name,
      options.friends.length === 0
        ? h("p", { class: "muted" }, "No friends to add yet.")
        : h(
            "div",
            { class: "pick", role: "group", "aria-label": "Friends" },
            ...options.friends.map((u, i) =>
              h("label", { class: "check" }, boxes[i], `${u.display_name} (@${u.handle ?? ""})`),
            ),
          ),
      error,
      h(
        "div",
        { class: "actions" },
        h(
          "button",
          { type: "submit", value: "cancel", formnovalidate: true, testid: "group-cancel" },
          "Cancel",
        ),
        h(
          "button",
          { type: "submit", value: "ok", class: "primary", testid: "group-submit" },
          options.submitLabel,
        ),
      ),
    );
    dialog.append(form);
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(result);
    });
    document.body.append(dialog);
    dialog.showModal();
    (options.withName ? name : boxes[0])?.focus();
  });
}

/** Asks before something that cannot be undone (deleting a message for everyone). */
export function confirmDialog(options: {
  title: string;
  text: string;
  confirm: string;
  danger?: boolean;
}): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h("dialog", { "aria-label": options.title, testid: "confirm-dialog" });
    let ok = false;
    const confirm = h(
      "button",
      { type: "submit", value: "ok", class: options.danger ? "danger" : "primary", testid: "confirm-ok" },
      options.confirm,
    );
    const form = h(
      "form",
      {
        method: "dialog",
        on: {
          submit: (e) => {
            ok = (e.submitter as HTMLButtonElement | null)?.value === "ok";
          },
        },
      },
      h("h2", { class: "dialog-title" }, options.title),
      h("p", { class: "muted" }, options.text),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit", value: "cancel", testid: "confirm-cancel" }, "Cancel"),
        confirm,
      ),
    );
    dialog.append(form);
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(ok);
    });
    document.body.append(dialog);
    dialog.showModal();
    confirm.focus();
  });
}
