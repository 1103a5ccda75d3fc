/**
 * @module web/settings-view
 * Who is signed in, the push notification switch for this device, downloading my data, and
 * logging out.
 */
import type { ChatClient, Me } from "../../client/src/index.ts";
import { h } from "./dom.ts";
import { exportSection } from "./export-view.ts";
import { currentPushState, disablePush, enablePush, type PushState } from "./push.ts";

export function settingsView(chat: ChatClient, me: Me | null, logout: () => void): HTMLElement {
  const toggle = h("input", {
    type: "checkbox",
    role: "switch",
    id: "push-toggle",
    disabled: true,
    testid: "push-toggle",
  });
  const status = h("p", { class: "status-text", role: "status", testid: "push-status" }, "Checking…");
  const show = (s: PushState) => {
    toggle.checked = s.on;
    toggle.disabled = "unsupported" in s && s.unsupported === true;
    status.textContent = s.text;
    status.dataset.state = s.on ? "on" : "error" in s && s.error ? "error" : "off";
  };
  void currentPushState().then(show);
  toggle.addEventListener("change", async () => {
    const want = toggle.checked;
    toggle.disabled = true;
    status.textContent = want ? "Turning notifications on…" : "Turning notifications off…";
    status.dataset.state = "busy";
    show(want ? await enablePush(chat) : await disablePush(chat));
  });

  return h(
    "div",
    { testid: "settings-panel" },
    h(
      "section",
      { class: "section" },
      h("h2", {}, "Account"),
      h("p", { testid: "settings-me" }, me ? `${me.display_name} (@${me.handle ?? ""})` : ""),
    ),
    h(
      "section",
      { class: "section" },
      h("h2", {}, "Notifications"),
      h("label", { class: "toggle", for: "push-toggle" }, "Notify me of new messages on this device", toggle),
      status,
    ),
    exportSection(chat),
    h(
      "section",
      { class: "section" },
      h("button", { type: "button", class: "danger", testid: "logout", on: { click: logout } }, "Log out"),
    ),
  );
}
