/**
 * @module web/auth-view
 * Log in and sign up. On success the SDK holds the session (IndexedDB, with the rotating
 * refresh token); nothing about it ever goes into the URL.
 */
import type { ChatClient } from "../../client/src/index.ts";
import { h } from "./dom.ts";
import { errorText } from "./errors.ts";

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
              await chat.login({ handle: handle.value.trim(), password: password.value });
            }
            done();
          } catch (err) {
            error.textContent = errorText(err);
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
    submit,
    toggle,
  );
  setMode("login");
  return h("div", { class: "auth", testid: "auth" }, form);
}
