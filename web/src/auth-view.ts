/**
 * @module web/auth-view
 * Log in and sign up. On success the SDK holds the session (IndexedDB, with the rotating
 * refresh token); nothing about it ever goes into the URL. An account at its cap on devices
 * is shown its devices, to sign one out in place of this one (docs/protocol.md §8.1).
 */
import { ChatApiError, type ChatClient, type DeviceInfo } from "../../client/src/index.ts";
import { h } from "./dom.ts";
import { errorText } from "./errors.ts";
import { clockTime } from "./format.ts";

export function authView(chat: ChatClient, done: () => void): HTMLElement {
  let mode: "login" | "signup" = "login";

  const title = h("span", {}, "Log in");
  const handle = h("input", {
    type: "text",
    name: "handle",
    autocomplete: "username",
    autocapitalize: "none",
    spellcheck: "false",
    required: true,
    minlength: "3",
    maxlength: "32",
    testid: "auth-handle",
  });
  const displayName = h("input", {
    type: "text",
    name: "display_name",
    autocomplete: "name",
    maxlength: "64",
    testid: "auth-display-name",
  });
  const password = h("input", {
    type: "password",
    name: "password",
    autocomplete: "current-password",
    required: true,
    minlength: "8",
    maxlength: "256",
    testid: "auth-password",
  });
  const nameLabel = h("label", {}, "Display name", displayName);
  const error = h("p", { class: "error-text", role: "alert", testid: "auth-error" });
  /** At the cap on devices: the account's devices, each with a button to sign it out. */
  const devices = h("div", { class: "device-choice", hidden: true, testid: "device-choice" });
  const submit = h("button", { type: "submit", class: "primary", testid: "auth-submit" }, "Log in");
  const toggle = h("button", { type: "button", class: "switch", testid: "auth-switch" });

  const setMode = (m: "login" | "signup") => {
    mode = m;
    const signup = m === "signup";
    title.textContent = signup ? "Create an account" : "Log in";
    submit.textContent = signup ? "Sign up" : "Log in";
    toggle.textContent = signup ? "I have an account: log in" : "New here? Create an account";
    nameLabel.hidden = !signup;
    displayName.required = signup;
    password.autocomplete = signup ? "new-password" : "current-password";
    error.textContent = "";
    devices.hidden = true;
  };

  const logIn = async (replaceDeviceId?: string) => {
    await chat.login({
      handle: handle.value.trim(),
      password: password.value,
      ...(replaceDeviceId !== undefined && { replaceDeviceId }),
    });
  };

  /** The refusal listed the account's devices: one can be signed out to let this one in. */
  const offerDevices = (err: ChatApiError) => {
    const details = err.details as { max_devices?: number; devices?: DeviceInfo[] } | undefined;
    const list = details?.devices ?? [];
    devices.replaceChildren(
      h(
        "p",
        {},
        `This account is signed in on ${details?.max_devices ?? list.length} devices, the most it can be. Sign one out to sign in here:`,
      ),
      h(
        "ul",
        {},
        ...list.map((d) =>
          h(
            "li",
            { testid: "device-option" },
            h(
              "span",
              {},
              d.name,
              h(
                "small",
                {},
                ` ${d.platform}, last seen ${new Date(d.last_seen_at).toLocaleDateString()} ${clockTime(d.last_seen_at)}`,
              ),
            ),
            h(
              "button",
              {
                type: "button",
                testid: "sign-out-device",
                on: {
                  click: async () => {
                    error.textContent = "";
                    try {
                      await logIn(d.device_id);
                      done();
                    } catch (e) {
                      error.textContent = errorText(e);
                    }
                  },
                },
              },
              "Sign out",
            ),
          ),
        ),
      ),
    );
    devices.hidden = false;
  };
  toggle.addEventListener("click", () => setMode(mode === "login" ? "signup" : "login"));

  const form = h(
    "form",
    {
      class: "auth-card",
      "aria-labelledby": "auth-title",
      testid: "auth-form",
      on: {
        submit: async (e) => {
          e.preventDefault();
          submit.disabled = true;
          error.textContent = "";
          try {
            if (mode === "signup") {
              await chat.signup({
                handle: handle.value.trim(),
                display_name: displayName.value.trim() || handle.value.trim(),
                password: password.value,
              });
            } else {
              await logIn();
            }
            done();
          } catch (err) {
            if (err instanceof ChatApiError && err.code === "too_many_devices") offerDevices(err);
            else error.textContent = errorText(err);
            submit.disabled = false;
          }
        },
      },
    },
    h("h1", { id: "auth-title" }, h("img", { src: "/icon.svg", alt: "" }), title),
    h("label", {}, "Handle", handle),
    nameLabel,
    h("label", {}, "Password", password),
    error,
    devices,
    submit,
    toggle,
  );
  setMode("login");
  return h("div", { class: "auth", testid: "auth" }, form);
}
