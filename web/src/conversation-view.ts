/**
 * @module web/conversation-view
 * The conversation on screen: header, message list, typing line and composer. It opens the
 * channel socket through the SDK (`openConversation`) and renders `chat.messages(id)`, which is
 * already ordered by `seq` with local echoes last, so this view never sorts or deduplicates.
 * Rendering is keyed (one element per message, reused while its content is unchanged), so a new
 * message or a tick costs a few DOM nodes, not the whole list. Scrolling to the top loads older
 * history and keeps what was on screen in place.
 *
 * The composer never cuts what is typed or pasted (a `maxlength` would, and it counts UTF-16
 * units where the limit counts code points). Near the limit it shows a counter in code points;
 * a text over the limit stays in the composer and is refused with a reason when sent.
 */
import {
  ChainIntegrityError,
  type ChatClient,
  type ChatMessage,
  codePointLength,
  MAX_MESSAGE_CODE_POINTS,
} from "../../client/src/index.ts";
import { AttachmentComposer, attachmentsOf } from "./attachments.ts";
import { h } from "./dom.ts";
import { errorText, retryCanFix } from "./errors.ts";
import { clockTime, hueOf, initials, presenceText } from "./format.ts";
import { icon } from "./icons.ts";
import { linkify } from "./linkify.ts";
import type { People } from "./people.ts";

/** What the view needs from the app around it. */
export interface ConversationHost {
  chat: ChatClient;
  people: People;
  myId: string;
  /** Title of the conversation ("Bob", "Hiking trip"). */
  title(channelId: string): string;
  /** The other member of a 1:1 channel. */
  peerOf(channelId: string): string | null;
  /** Member count of a group, when known. */
  memberCount(channelId: string): number | null;
  back(): void;
  addMembers(channelId: string): void;
  leaveGroup(channelId: string): void;
  toast(text: string): void;
  /** Search this conversation (web/search-view.ts). */
  search(channelId: string): void;
}

const NEAR_BOTTOM_PX = 80;
const LOAD_OLDER_PX = 150;
const PAGE = 50;
/** The composer's counter shows from this many code points (90% of the limit). */
const COUNT_FROM = MAX_MESSAGE_CODE_POINTS * 0.9;

const count = (n: number) => n.toLocaleString();

interface Rendered {
  el: HTMLElement;
  signature: string;
}

export class ConversationView {
  readonly el: HTMLElement;
  readonly channelId: string;
  readonly #host: ConversationHost;
  readonly #isGroup: boolean;
  readonly #list: HTMLElement;
  readonly #historyNote: HTMLElement;
  readonly #typing: HTMLElement;
  readonly #input: HTMLTextAreaElement;
  /** The composer's character counter (code points), shown near the limit. */
  readonly #count: HTMLElement;
  /** Why the text in the composer was not sent. */
  readonly #problem: HTMLElement;
  readonly #title: HTMLElement;
  readonly #subtitle: HTMLElement;
  readonly #avatar: HTMLElement;
  readonly #rendered = new Map<string, Rendered>();
  /** The files chosen for the next message, uploading or ready (web/attachments.ts). */
  readonly #files: AttachmentComposer;
  /** Messages of a blocked user that the reader chose to show (this view only). */
  readonly #revealed = new Set<string>();
  #hasOlder = true;
  #loadingOlder = false;
  #frame = 0;
  #closed = false;

  constructor(host: ConversationHost, channelId: string) {
    this.#host = host;
    this.channelId = channelId;
    this.#isGroup = channelId.startsWith("gr_");

    this.#title = h("h2", { testid: "conv-title", id: "conv-title" });
    this.#subtitle = h("small", { testid: "conv-subtitle" });
    this.#avatar = h("span", { class: "avatar small", "aria-hidden": "true" });
    const actions = this.#isGroup
      ? [
          h(
            "button",
            {
              type: "button",
              class: "icon",
              title: "Add people",
              "aria-label": "Add people to this group",
              testid: "add-members",
              on: { click: () => host.addMembers(channelId) },
            },
            icon("addPerson"),
          ),
          h(
            "button",
            {
              type: "button",
              class: "icon",
              title: "Leave group",
              "aria-label": "Leave this group",
              testid: "leave-group",
              on: { click: () => host.leaveGroup(channelId) },
            },
            icon("leave"),
          ),
        ]
      : [];
    const search = h(
      "button",
      {
        type: "button",
        class: "icon",
        title: "Search this conversation",
        "aria-label": "Search this conversation",
        testid: "conv-search",
        on: { click: () => host.search(channelId) },
      },
      icon("search"),
    );
    const header = h(
      "header",
      { class: "conv-head" },
      h(
        "button",
        {
          type: "button",
          class: "icon back",
          "aria-label": "Back to conversations",
          testid: "back",
          on: { click: () => host.back() },
        },
        icon("back"),
      ),
      this.#avatar,
      h("div", { class: "title" }, this.#title, this.#subtitle),
      search,
      ...actions,
    );

    this.#historyNote = h("div", { class: "history-note", testid: "history-status" });
    this.#list = h("div", {
      class: "messages",
      role: "log",
      "aria-labelledby": "conv-title",
      tabindex: "0",
      testid: "message-list",
      on: { scroll: () => this.#onScroll() },
    });
    this.#list.append(this.#historyNote);
    this.#typing = h("div", { class: "typing", "aria-live": "polite", testid: "typing-indicator" });

    this.#files = new AttachmentComposer(
      host.chat,
      channelId,
      () => this.#el?.classList.toggle("uploading", this.#files.busy),
      (text) => host.toast(text),
    );
    this.#count = h("span", { class: "count", testid: "composer-count", "aria-live": "polite" });
    this.#problem = h("span", { class: "problem", role: "alert", testid: "composer-error" });
    this.#input = h("textarea", {
      rows: 1,
      placeholder: "Message",
      "aria-label": "Message",
      testid: "composer-input",
      on: {
        input: () => {
          this.#autosize();
          this.#updateCount();
          if (this.#input.value.trim()) host.chat.typing(channelId);
        },
        keydown: (e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            this.#send();
          }
        },
      },
    });
    const composer = h(
      "form",
      {
        class: "composer",
        testid: "composer",
        on: {
          submit: (e) => {
            e.preventDefault();
            this.#send();
          },
        },
      },
      h("div", { class: "composer-status" }, this.#problem, this.#count),
      this.#files.chips,
      this.#files.button,
      this.#input,
      h(
        "button",
        { type: "submit", class: "primary", "aria-label": "Send", testid: "composer-send" },
        "Send",
      ),
    );

    this.el = h(
      "main",
      { class: "conversation", "data-channel-id": channelId, testid: "conversation" },
      header,
      this.#list,
      this.#typing,
      composer,
    );
    this.#el = this.el;
  }

  /** The element, once built (the composer's callbacks may run before). */
  #el: HTMLElement | null = null;

  /**
   * Scrolls to the message at `seq` and marks it for a moment, loading older pages until it is
   * there (up to `maxPages`). False when it is further back than that (known at once from the
   * oldest seq held): the caller shows it in context another way (web/search-view.ts), rather
   * than fill the conversation with hundreds of messages to get there.
   */
  async reveal(seq: number, maxPages = 10): Promise<boolean> {
    for (let page = 0; page <= maxPages && !this.#closed; page++) {
      const el = this.#list.querySelector<HTMLElement>(`[data-seq="${seq}"]`);
      if (el) {
        el.scrollIntoView({ block: "center" });
        el.dataset.flash = "";
        setTimeout(() => delete el.dataset.flash, 2_500);
        return true;
      }
      if (this.#loadingOlder) {
        // The first page (or a scroll's) is on its way: look again once it is in.
        while (this.#loadingOlder) await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const oldest = this.#host.chat.messages(this.channelId).find((m) => m.status === "sent")?.seq;
      if (!this.#hasOlder || (oldest !== undefined && oldest <= seq)) return false;
      if (oldest !== undefined && oldest - seq > (maxPages - page) * PAGE) return false;
      await this.#loadOlder();
    }
    return false;
  }

  /** Opens the channel socket and shows what the SDK holds; loads the newest page if needed. */
  open(): void {
    this.#host.chat.openConversation(this.channelId);
    this.el.dataset.socket = this.#host.chat.conversationState;
    this.refreshHeader();
    this.render({ stickToBottom: true });
    this.renderTyping();
    if (this.#host.chat.messages(this.channelId).filter((m) => m.status === "sent").length < PAGE) {
      void this.#loadOlder();
    }
  }

  close(): void {
    this.#closed = true;
    cancelAnimationFrame(this.#frame);
    this.#host.chat.closeConversation();
  }

  focusComposer(): void {
    this.#input.focus({ preventScroll: true });
  }

  refreshHeader(): void {
    const title = this.#host.title(this.channelId);
    this.#title.textContent = title;
    this.#avatar.textContent = initials(title);
    this.#avatar.style.setProperty(
      "--hue",
      String(hueOf(this.#host.peerOf(this.channelId) ?? this.channelId)),
    );
    if (this.#isGroup) {
      const n = this.#host.memberCount(this.channelId);
      this.#subtitle.textContent = n === null ? "group" : `group · ${n} members`;
    } else {
      const peer = this.#host.peerOf(this.channelId);
      this.#subtitle.textContent = peer ? presenceText(this.#host.chat.presence(peer)) : "";
    }
  }

  /** Re-renders on the next frame (many events in one task cost one render). */
  schedule(): void {
    if (this.#frame || this.#closed) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      this.render({});
    });
  }

  render({ stickToBottom = false }: { stickToBottom?: boolean }): void {
    if (this.#closed) return;
    const list = this.#list;
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_BOTTOM_PX;
    const fromBottom = list.scrollHeight - list.scrollTop;
    const messages = this.#host.chat.messages(this.channelId);
    const before = this.#firstKey();

    const keep = new Set<string>();
    let cursor: ChildNode | null = this.#historyNote.nextSibling;
    let prevSender: string | null = null;
    let newestMine = false;
    for (const m of messages) {
      const key = m.status === "sent" ? `s${m.seq}` : `c${m.client_msg_id}`;
      keep.add(key);
      const showSender = this.#isGroup && m.sender_id !== this.#host.myId && m.sender_id !== prevSender;
      prevSender = m.sender_id;
      const mine = m.sender_id === this.#host.myId;
      const ticks = mine ? this.#ticks(m) : null;
      const collapsed = !mine && this.#host.chat.isBlocked(m.sender_id) && !this.#revealed.has(key);
      const signature = `${m.status}|${m.text}|${ticks?.state}|${ticks?.label}|${showSender ? this.#host.people.name(m.sender_id) : ""}|${collapsed}|${m.attachments?.map((a) => a.id).join() ?? ""}`;
      let r = this.#rendered.get(key);
      if (!r || r.signature !== signature) {
        const el = collapsed ? this.#collapsed(m, key) : this.#message(m, mine, showSender, ticks);
        if (r) {
          if (cursor === r.el) cursor = el;
          r.el.replaceWith(el);
        }
        r = { el, signature };
        this.#rendered.set(key, r);
      }
      if (r.el === cursor) cursor = cursor.nextSibling;
      else list.insertBefore(r.el, cursor);
      newestMine = mine;
    }
    for (const [key, r] of this.#rendered) {
      if (!keep.has(key)) {
        r.el.remove();
        this.#rendered.delete(key);
      }
    }

    this.#historyNote.textContent = this.#loadingOlder
      ? "Loading earlier messages…"
      : !this.#hasOlder
        ? messages.length
          ? "Beginning of the conversation"
          : "No messages yet. Say hello!"
        : "";
    this.#historyNote.dataset.state = this.#loadingOlder ? "loading" : this.#hasOlder ? "more" : "start";

    if (stickToBottom || (nearBottom && before === this.#firstKey()) || (newestMine && nearBottom)) {
      list.scrollTop = list.scrollHeight;
    } else if (before !== this.#firstKey()) {
      // Older messages were prepended: keep the same messages under the reader's eyes.
      list.scrollTop = list.scrollHeight - fromBottom;
    } else if (nearBottom) {
      list.scrollTop = list.scrollHeight;
    }
    this.#maybeMarkRead();
  }

  renderTyping(): void {
    const ids = this.#host.chat.typingUsers(this.channelId).filter((id) => id !== this.#host.myId);
    const names = ids.map((id) => this.#host.people.name(id));
    let text = "";
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = `${names.length} people are typing…`;
    this.#typing.textContent = text;
  }

  /** Called when the page becomes visible again. */
  visible(): void {
    this.#maybeMarkRead();
  }

  #firstKey(): Element | null {
    return this.#historyNote.nextElementSibling;
  }

  #ticks(m: ChatMessage): { label: string; state: string; title: string } | null {
    if (m.status === "pending") return { label: "…", state: "pending", title: "Sending" };
    if (m.status === "failed") return null;
    const t = this.#host.chat.ticks(this.channelId, m.seq);
    if (this.#isGroup) {
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
    if (t.others > 0 && t.delivered >= t.others)
      return { label: "✓✓", state: "delivered", title: "Delivered" };
    return { label: "✓", state: "sent", title: "Sent" };
  }

  #message(
    m: ChatMessage,
    mine: boolean,
    showSender: boolean,
    ticks: { label: string; state: string; title: string } | null,
  ): HTMLElement {
    const bubble = h("div", { class: "bubble", testid: "message-text" });
    if (m.attachments?.length)
      bubble.append(
        attachmentsOf(this.#host.chat, this.channelId, m.attachments, (t) => this.#host.toast(t)),
      );
    // A caption of its own under the attachments (a text-only message is the bubble's text).
    if (m.attachments?.length) {
      if (m.text !== "") bubble.append(h("div", { class: "caption" }, linkify(m.text)));
    } else bubble.append(linkify(m.text));
    const meta = h(
      "div",
      { class: "meta" },
      h("time", { datetime: new Date(m.ts).toISOString() }, clockTime(m.ts)),
      ticks &&
        h(
          "span",
          {
            class: this.#isGroup ? "ticks group" : "ticks",
            "data-state": ticks.state,
            title: ticks.title,
            "aria-label": ticks.title,
            testid: "ticks",
          },
          ticks.state === "pending" ? icon("clock", 12) : ticks.label,
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
              ? h(
                  "button",
                  {
                    type: "button",
                    testid: "retry",
                    on: { click: () => this.#host.chat.retry(m.client_msg_id) },
                  },
                  "Retry",
                )
              : h("button", { type: "button", testid: "edit", on: { click: () => this.#edit(m) } }, "Edit"),
            h(
              "button",
              {
                type: "button",
                testid: "discard",
                on: { click: () => this.#host.chat.discard(m.client_msg_id) },
              },
              "Discard",
            ),
          )
        : null;
    return h(
      "div",
      {
        class: mine ? "msg mine" : "msg",
        testid: "message",
        "data-seq": m.status === "sent" ? String(m.seq) : undefined,
        "data-status": m.status,
        "data-sender": m.sender_id,
      },
      showSender &&
        h("div", { class: "sender", testid: "message-sender" }, this.#host.people.name(m.sender_id)),
      bubble,
      meta,
      fail,
    );
  }

  /**
   * A message from someone I blocked, in a group we share: it arrives (the group is shared) but
   * stays folded behind a line, as in other messaging apps, until the reader asks to see it.
   */
  #collapsed(m: ChatMessage, key: string): HTMLElement {
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
        h(
          "button",
          {
            type: "button",
            class: "link",
            testid: "show-blocked",
            on: {
              click: () => {
                this.#revealed.add(key);
                this.render({});
              },
            },
          },
          "Show",
        ),
      ),
    );
  }

  /** Takes a failed message back into the composer, unless something else is being written. */
  #edit(m: ChatMessage): void {
    if (this.#input.value.trim()) {
      this.#host.toast("Send or clear the message you are writing first.");
      return;
    }
    this.#host.chat.discard(m.client_msg_id);
    this.#input.value = m.text;
    this.#autosize();
    this.#updateCount();
    this.#input.focus();
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

  #send(): void {
    const text = this.#input.value;
    if (this.#files.busy) {
      this.#host.toast("Wait for the files to finish uploading, or cancel them.");
      return;
    }
    const attachments = this.#files.ready();
    if (!text.trim() && attachments.length === 0) return;
    const n = codePointLength(text);
    if (n > MAX_MESSAGE_CODE_POINTS) {
      // Refused here, before anything is queued: the text stays for the user to shorten.
      this.#problem.textContent = `Too long to send: ${count(n)} characters, the limit is ${count(MAX_MESSAGE_CODE_POINTS)}. Remove ${count(n - MAX_MESSAGE_CODE_POINTS)} to send it.`;
      this.#updateCount();
      this.#input.focus();
      return;
    }
    try {
      this.#host.chat.send(this.channelId, text, { attachments });
    } catch (err) {
      this.#host.toast(errorText(err));
      return;
    }
    this.#files.clear();
    this.#input.value = "";
    this.#autosize();
    this.#updateCount();
    this.render({ stickToBottom: true });
  }

  #autosize(): void {
    this.#input.style.height = "auto";
    this.#input.style.height = `${Math.min(this.#input.scrollHeight + 2, 128)}px`;
  }

  #onScroll(): void {
    if (this.#list.scrollTop < LOAD_OLDER_PX) void this.#loadOlder();
    this.#maybeMarkRead();
  }

  async #loadOlder(): Promise<void> {
    if (this.#loadingOlder || !this.#hasOlder || this.#closed) return;
    this.#loadingOlder = true;
    this.render({});
    try {
      const { hasMore } = await this.#host.chat.loadOlder(this.channelId, PAGE);
      this.#hasOlder = hasMore;
    } catch (err) {
      // A page that failed the hash-chain check would fail again: stop scrolling back into it
      // (the SDK's `integrity` event has already said so).
      if (err instanceof ChainIntegrityError) this.#hasOlder = false;
      else this.#host.toast(errorText(err));
    } finally {
      this.#loadingOlder = false;
    }
    if (this.#closed) return;
    this.render({});
    // A short page does not fill the screen, and nothing could be scrolled to load more.
    if (this.#hasOlder && this.#list.scrollHeight <= this.#list.clientHeight + LOAD_OLDER_PX) {
      void this.#loadOlder();
    }
  }

  /** Marks the conversation read while it is on screen and scrolled to its end (the SDK skips repeats). */
  #maybeMarkRead(): void {
    if (this.#closed || document.visibilityState !== "visible") return;
    const list = this.#list;
    if (list.scrollHeight - list.scrollTop - list.clientHeight > NEAR_BOTTOM_PX) return;
    this.#host.chat.markRead(this.channelId);
  }
}

export function emptyConversation(): HTMLElement {
  return h(
    "main",
    { class: "conversation none", testid: "no-conversation" },
    h("p", {}, "Pick a conversation, or start one from Friends."),
  );
}
