/**
 * @module web/composer
 * The composer of the conversation on screen: the text area and its send button, and what it
 * is writing. A new message; a reply to a message (a bar above the input quotes it); or an edit
 * of one of mine (the bar says so, the input holds its text, the button saves). Esc leaves a
 * reply or an edit; Up in an empty composer edits my last message, as in Slack, Element or
 * Teams. What was being typed when an edit began comes back when it ends.
 *
 * It never cuts what is typed or pasted (a `maxlength` would, and it counts UTF-16 units where
 * the limit counts code points). Near the limit it shows a counter in code points; a text over
 * the limit stays in the composer and is refused with a reason when sent.
 */
import {
  type ChatMessage,
  type Conversation,
  codePointLength,
  MAX_MESSAGE_CODE_POINTS,
} from "../../client/src/index.ts";
import type { AttachmentComposer } from "./attachments.ts";
import { h } from "./dom.ts";
import { errorText } from "./errors.ts";
import { icon } from "./icons.ts";

/** What the composer needs from the view around it. */
export interface ComposerHost {
  convo: Conversation;
  /** The photos and files chosen for the next message (web/attachments.ts). */
  files: AttachmentComposer;
  myId: string;
  name(userId: string): string;
  toast(text: string): void;
  /** A message was queued: show it (the view follows the end). */
  sent(): void;
  /** A reply or an edit began or ended: the view marks the message concerned. */
  modeChanged(): void;
  /** Brings message `seq` into view (the one being edited). */
  reveal(seq: number): void;
}

type Mode =
  | { kind: "new" }
  | { kind: "reply"; seq: number }
  /** `draft`: what was in the composer before, given back when the edit ends. */
  | { kind: "edit"; seq: number; draft: string; original: string };

/** The composer's counter shows from this many code points (90% of the limit). */
const COUNT_FROM = MAX_MESSAGE_CODE_POINTS * 0.9;
/** How much of the message a reply's bar quotes. */
const QUOTE_CHARS = 100;

const count = (n: number) => n.toLocaleString();

export class Composer {
  readonly el: HTMLFormElement;
  readonly #host: ComposerHost;
  readonly #input: HTMLTextAreaElement;
  readonly #submit: HTMLButtonElement;
  /** The bar above the input while replying or editing. */
  readonly #context: HTMLElement;
  readonly #contextTitle: HTMLElement;
  readonly #contextText: HTMLElement;
  readonly #cancel: HTMLButtonElement;
  /** The character counter (code points), shown near the limit. */
  readonly #count: HTMLElement;
  /** Why the text in the composer was not sent. */
  readonly #problem: HTMLElement;
  #mode: Mode = { kind: "new" };

  constructor(host: ComposerHost) {
    this.#host = host;
    this.#count = h("span", { class: "count", testid: "composer-count", "aria-live": "polite" });
    this.#problem = h("span", { class: "problem", role: "alert", testid: "composer-error" });
    this.#contextTitle = h("strong", { testid: "composer-context-title" });
    this.#contextText = h("span", { class: "context-text", testid: "composer-context-text" });
    this.#cancel = h(
      "button",
      {
        type: "button",
        class: "icon",
        testid: "composer-cancel",
        on: { click: () => this.cancel() },
      },
      icon("close", 16),
    );
    this.#context = h(
      "div",
      { class: "composer-context", hidden: true, testid: "composer-context" },
      h("div", { class: "what" }, this.#contextTitle, this.#contextText),
      this.#cancel,
    );
    this.#input = h("textarea", {
      rows: 1,
      placeholder: "Message",
      "aria-label": "Message",
      testid: "composer-input",
      on: {
        input: () => {
          this.#autosize();
          this.#updateCount();
          if (this.#mode.kind !== "edit" && this.#input.value.trim()) host.convo.typing();
        },
        keydown: (e) => this.#onKey(e),
      },
    });
    this.#submit = h(
      "button",
      { type: "submit", class: "primary", "aria-label": "Send", testid: "composer-send" },
      "Send",
    );
    this.el = h(
      "form",
      {
        class: "composer",
        testid: "composer",
        on: {
          submit: (e) => {
            e.preventDefault();
            this.#submitText();
          },
        },
      },
      this.#context,
      h("div", { class: "composer-status" }, this.#problem, this.#count),
      host.files.chips,
      host.files.button,
      this.#input,
      this.#submit,
    );
  }

  /** The message being edited, or null. */
  get editing(): number | null {
    return this.#mode.kind === "edit" ? this.#mode.seq : null;
  }

  /** The message being replied to, or null. */
  get replyingTo(): number | null {
    return this.#mode.kind === "reply" ? this.#mode.seq : null;
  }

  focus(): void {
    this.#input.focus({ preventScroll: true });
  }

  /** Starts a reply to `m`: what is typed stays, and goes as the reply. */
  reply(m: ChatMessage): void {
    if (this.#mode.kind === "edit") this.#endEdit();
    this.#mode = { kind: "reply", seq: m.seq };
    const sender = m.sender_id === this.#host.myId ? "yourself" : this.#host.name(m.sender_id);
    this.#showContext(`Replying to ${sender}`, preview(m.text), "Cancel reply");
    this.#host.modeChanged();
    this.focus();
  }

  /** Starts editing my message `m`: its text in the input, what was typed kept aside. */
  edit(m: ChatMessage): void {
    const draft = this.#mode.kind === "edit" ? this.#mode.draft : this.#input.value;
    this.#mode = { kind: "edit", seq: m.seq, draft, original: m.text };
    this.#showContext("Editing your message", "Esc to cancel", "Cancel edit");
    this.#submit.textContent = "Save";
    this.#submit.setAttribute("aria-label", "Save the edit");
    this.#setText(m.text);
    this.#host.modeChanged();
    this.#host.reveal(m.seq);
    this.#input.focus();
    this.#input.setSelectionRange(this.#input.value.length, this.#input.value.length);
  }

  /** Leaves a reply or an edit (Esc, the bar's ✕). An edit gives back what was typed before. */
  cancel(): void {
    if (this.#mode.kind === "new") return;
    if (this.#mode.kind === "edit") this.#endEdit();
    this.#mode = { kind: "new" };
    this.#context.hidden = true;
    this.#problem.textContent = "";
    this.#host.modeChanged();
    this.focus();
  }

  /**
   * Takes a failed message back into the composer (to shorten it), unless something else is
   * being written; a failed reply is a reply again. Returns whether it did.
   */
  takeBack(m: ChatMessage): boolean {
    if (this.#mode.kind === "edit" || this.#input.value.trim()) {
      this.#host.toast("Send or clear the message you are writing first.");
      return false;
    }
    const quoted = m.reply_to === undefined ? undefined : this.#host.convo.message(m.reply_to);
    if (quoted && !quoted.deleted) this.reply(quoted);
    this.#setText(m.text);
    this.#input.focus();
    return true;
  }

  /**
   * After the conversation changed: a reply or an edit whose message was deleted (by a group
   * owner, or on another device) ends, with a word why.
   */
  refresh(): void {
    if (this.#mode.kind === "new") return;
    const m = this.#host.convo.message(this.#mode.seq);
    if (m && !m.deleted) return;
    const was = this.#mode.kind;
    this.cancel();
    this.#host.toast(
      was === "edit"
        ? "The message you were editing was deleted."
        : "The message you were replying to was deleted.",
    );
  }

  #onKey(e: KeyboardEvent): void {
    if (e.isComposing) return;
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      this.#submitText();
    } else if (e.key === "Escape" && this.#mode.kind !== "new") {
      e.preventDefault();
      e.stopPropagation();
      this.cancel();
    } else if (
      e.key === "ArrowUp" &&
      !e.shiftKey &&
      !e.altKey &&
      !e.ctrlKey &&
      !e.metaKey &&
      this.#mode.kind !== "edit" &&
      this.#input.value === ""
    ) {
      const last = this.#host.convo.lastEditable();
      if (last) {
        e.preventDefault();
        this.edit(last);
      }
    }
  }

  #submitText(): void {
    const text = this.#input.value;
    const mode = this.#mode;
    if (mode.kind === "edit") {
      if (text === mode.original) {
        this.cancel();
        return;
      }
      if (!text.trim()) {
        this.#problem.textContent =
          "An edit can't be empty. To take the message back, delete it from its menu.";
        return;
      }
    } else if (this.#host.files.busy) {
      this.#host.toast("Wait for the files to finish uploading, or cancel them.");
      return;
    }
    const attachments = mode.kind === "edit" ? [] : this.#host.files.ready();
    if (mode.kind !== "edit" && !text.trim() && attachments.length === 0) return;
    const n = codePointLength(text);
    if (n > MAX_MESSAGE_CODE_POINTS) {
      // Refused here, before anything is queued: the text stays for the user to shorten.
      this.#problem.textContent = `Too long to ${mode.kind === "edit" ? "save" : "send"}: ${count(n)} characters, the limit is ${count(MAX_MESSAGE_CODE_POINTS)}. Remove ${count(n - MAX_MESSAGE_CODE_POINTS)} to ${mode.kind === "edit" ? "save" : "send"} it.`;
      this.#updateCount();
      this.#input.focus();
      return;
    }
    const convo = this.#host.convo;
    if (mode.kind === "edit") {
      // Shown at once (pending); a refusal puts the message back as it was, and says why.
      convo
        .edit(mode.seq, text)
        .catch((err) => this.#host.toast(`The edit was not saved: ${errorText(err)}`));
      this.cancel();
      return;
    }
    try {
      convo.send(text, { attachments, ...(mode.kind === "reply" && { replyTo: mode.seq }) });
    } catch (err) {
      this.#host.toast(errorText(err));
      return;
    }
    if (mode.kind === "reply") {
      this.#mode = { kind: "new" };
      this.#context.hidden = true;
      this.#host.modeChanged();
    }
    this.#host.files.clear();
    this.#setText("");
    this.#host.sent();
  }

  /** The end of an edit: the button sends again, and what was typed before comes back. */
  #endEdit(): void {
    if (this.#mode.kind !== "edit") return;
    const draft = this.#mode.draft;
    this.#mode = { kind: "new" };
    this.#submit.textContent = "Send";
    this.#submit.setAttribute("aria-label", "Send");
    this.#context.hidden = true;
    this.#setText(draft);
  }

  #showContext(title: string, text: string, cancelLabel: string): void {
    this.#contextTitle.textContent = title;
    this.#contextText.textContent = text;
    this.#cancel.setAttribute("aria-label", cancelLabel);
    this.#cancel.title = `${cancelLabel} (Esc)`;
    this.#context.hidden = false;
    this.#problem.textContent = "";
  }

  #setText(text: string): void {
    this.#input.value = text;
    this.#autosize();
    this.#updateCount();
  }

  /**
   * The counter, in code points, from 90% of the limit; over the limit it says so. A text of
   * fewer UTF-16 units than the threshold has fewer code points still, so it is not counted.
   */
  #updateCount(): void {
    const text = this.#input.value;
    const n = text.length < COUNT_FROM ? 0 : codePointLength(text);
    const over = n > MAX_MESSAGE_CODE_POINTS;
    this.#count.textContent = n >= COUNT_FROM ? `${count(n)} / ${count(MAX_MESSAGE_CODE_POINTS)}` : "";
    this.#count.dataset.state = over ? "over" : n >= COUNT_FROM ? "near" : "";
    if (over) this.#input.setAttribute("aria-invalid", "true");
    else this.#input.removeAttribute("aria-invalid");
    if (!over) this.#problem.textContent = "";
  }

  #autosize(): void {
    this.#input.style.height = "auto";
    this.#input.style.height = `${Math.min(this.#input.scrollHeight + 2, 128)}px`;
  }
}

/** The start of a text on one line, for a quote. */
export function preview(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  const points = Array.from(line);
  return points.length > QUOTE_CHARS ? `${points.slice(0, QUOTE_CHARS).join("")}…` : line;
}
