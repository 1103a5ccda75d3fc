/**
 * @module web/search-view
 * Search (docs/protocol.md §8.11): a panel of the sidebar with the query, the hits newest first
 * (each with its conversation, sender, time and its text around the match, the match marked),
 * and more on demand. It searches every conversation, or one (from a conversation's header).
 * A click jumps to the message in its conversation; one further back than the conversation
 * pages through quickly (ten pages) is shown in context here instead (`contextView`: the page
 * around it).
 */
import type {
  ChannelSearchPage,
  ChatClient,
  HistoryPage,
  SearchHit,
  SearchPage,
} from "../../client/src/index.ts";
import { attachmentsOf } from "./attachments.ts";
import { h } from "./dom.ts";
import { errorText } from "./errors.ts";
import { clockTime, shortTime } from "./format.ts";
import type { People } from "./people.ts";

export interface SearchHost {
  chat: ChatClient;
  people: People;
  title(channelId: string): string;
  /** Opens the hit's conversation at the hit. */
  openHit(hit: SearchHit): void;
  toast(text: string): void;
}

/** Typing pauses this long before a query goes (and counts against the search limit). */
const TYPING_PAUSE_MS = 300;
const PAGE = 20;

/** A text with its highlighted ranges marked (text nodes and <mark>, never HTML). */
export function marked(text: string, ranges: readonly [number, number][]): HTMLElement {
  const span = h("span", { class: "snippet", testid: "hit-text" });
  let at = 0;
  for (const [start, end] of ranges) {
    if (start < at) continue;
    span.append(text.slice(at, start), h("mark", {}, text.slice(start, end)));
    at = end;
  }
  span.append(text.slice(at));
  return span;
}

export class SearchPanel {
  readonly el: HTMLElement;
  readonly #host: SearchHost;
  readonly #input: HTMLInputElement;
  readonly #scope: HTMLElement;
  readonly #results: HTMLElement;
  readonly #status: HTMLElement;
  readonly #more: HTMLButtonElement;
  #channelId: string | null = null;
  #query = "";
  #next: { before?: number; cursor?: string } | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Answers to queries no longer current are dropped. */
  #generation = 0;

  constructor(host: SearchHost) {
    this.#host = host;
    this.#input = h("input", {
      type: "search",
      placeholder: "Search messages",
      "aria-label": "Search messages",
      testid: "search-input",
      on: {
        input: () => {
          clearTimeout(this.#timer);
          this.#timer = setTimeout(() => void this.#run(), TYPING_PAUSE_MS);
        },
        keydown: (e) => {
          if (e.key === "Enter") {
            clearTimeout(this.#timer);
            void this.#run();
          }
        },
      },
    });
    this.#scope = h("div", { class: "search-scope", testid: "search-scope" });
    this.#status = h("p", { class: "status-text", role: "status", testid: "search-status" });
    this.#results = h("ul", {
      class: "search-results",
      "aria-label": "Search results",
      testid: "search-results",
    });
    this.#more = h(
      "button",
      {
        type: "button",
        class: "plain-link",
        hidden: true,
        testid: "search-more",
        on: { click: () => void this.#page() },
      },
      "More results",
    );
    this.el = h(
      "div",
      { class: "search-panel", testid: "search-panel" },
      this.#input,
      this.#scope,
      this.#status,
      this.#results,
      this.#more,
    );
  }

  /** Searches one conversation (null: all of them) from now on. */
  scope(channelId: string | null): void {
    this.#channelId = channelId;
    this.#scope.replaceChildren();
    if (channelId) {
      this.#scope.append(
        `In ${this.#host.title(channelId)} `,
        h(
          "button",
          {
            type: "button",
            class: "plain-link",
            testid: "search-all",
            on: { click: () => this.scope(null) },
          },
          "Search all conversations",
        ),
      );
    }
    if (this.#query) void this.#run();
  }

  focus(): void {
    this.#input.focus();
  }

  async #run(): Promise<void> {
    this.#query = this.#input.value.trim();
    this.#next = null;
    this.#results.replaceChildren();
    this.#more.hidden = true;
    this.#status.textContent = "";
    if (!this.#query) return;
    this.#next = {};
    await this.#page();
  }

  async #page(): Promise<void> {
    const next = this.#next;
    if (!next) return;
    const generation = ++this.#generation;
    this.#status.textContent = "Searching…";
    let hits: SearchHit[];
    let partial = false;
    try {
      if (this.#channelId) {
        const page: ChannelSearchPage = await this.#host.chat.search(this.#query, {
          channelId: this.#channelId,
          limit: PAGE,
          ...(next.before !== undefined && { before: next.before }),
        });
        hits = page.hits;
        partial = page.partial;
        this.#next = page.next_before === null ? null : { before: page.next_before };
      } else {
        const page: SearchPage = await this.#host.chat.search(this.#query, {
          limit: PAGE,
          ...(next.cursor !== undefined && { cursor: next.cursor }),
        });
        hits = page.hits;
        partial = page.partial_channels.length > 0;
        this.#next = page.next_cursor === null ? null : { cursor: page.next_cursor };
      }
    } catch (err) {
      if (generation === this.#generation) this.#status.textContent = errorText(err);
      return;
    }
    if (generation !== this.#generation) return;
    for (const hit of hits) this.#results.append(h("li", {}, this.#hitRow(hit)));
    const count = this.#results.childElementCount;
    this.#status.textContent =
      count === 0
        ? "No messages found."
        : partial
          ? "Older messages are still being indexed; some may be missing."
          : "";
    this.#more.hidden = this.#next === null;
  }

  #hitRow(hit: SearchHit): HTMLElement {
    return h(
      "button",
      {
        type: "button",
        class: "search-hit",
        testid: "search-hit",
        "data-channel-id": hit.channel_id,
        "data-seq": String(hit.seq),
        on: { click: () => this.#host.openHit(hit) },
      },
      h("span", { class: "hit-where" }, this.#host.title(hit.channel_id)),
      h("span", { class: "hit-when" }, shortTime(hit.ts)),
      h("span", { class: "hit-who" }, this.#host.people.name(hit.sender_id)),
      marked(hit.text, hit.highlights),
    );
  }
}

/**
 * A message in context when it is too far back to page to: the page of history around it, the
 * hit marked, and a way into the conversation.
 */
export function contextView(host: SearchHost, hit: SearchHit, openConversation: () => void): HTMLElement {
  const list = h("div", { class: "messages", role: "log", testid: "context-list" }, "Loading…");
  const view = h(
    "main",
    { class: "conversation context", testid: "search-context" },
    h(
      "header",
      { class: "conv-head" },
      h(
        "div",
        { class: "title" },
        h("h2", {}, host.title(hit.channel_id)),
        h("small", {}, "Search result in context"),
      ),
      h(
        "button",
        { type: "button", class: "primary", testid: "context-open", on: { click: openConversation } },
        "Open conversation",
      ),
    ),
    list,
  );
  void host.chat.around(hit.channel_id, hit.seq).then(
    (page: HistoryPage) => {
      list.replaceChildren();
      for (const m of page.messages) {
        const bubble = h("div", { class: "bubble" });
        if (m.attachments?.length)
          bubble.append(attachmentsOf(host.chat, m.channel_id, m.attachments, (t) => host.toast(t)));
        bubble.append(m.text);
        const el = h(
          "div",
          {
            class: "msg",
            testid: "message",
            "data-seq": String(m.seq),
            ...(m.seq === hit.seq && { "data-hit": "" }),
          },
          h("div", { class: "sender" }, host.people.name(m.sender_id)),
          bubble,
          h("div", { class: "meta" }, h("time", { datetime: new Date(m.ts).toISOString() }, clockTime(m.ts))),
        );
        list.append(el);
      }
      list.querySelector("[data-hit]")?.scrollIntoView({ block: "center" });
    },
    (err) => {
      list.textContent = errorText(err);
    },
  );
  return view;
}
