/**
 * @module web/conversation-view
 * The conversation on screen: header, message list, typing line and composer. It opens the
 * channel socket through the SDK (`openConversation`) and renders `chat.messages(id)`, which is
 * already ordered by `seq` with local echoes last, so this view never sorts or deduplicates.
 * Rendering is keyed (one element per message, date separator or divider, reused while its
 * content is unchanged), so a new message or a tick costs a few DOM nodes, not the whole list.
 * Scrolling to the top loads older history and keeps what was on screen in place.
 *
 * **Where reading stopped.** A conversation with unread messages opens at the first of them,
 * under a "New messages" divider, with a "Jump to latest" button; one with none opens at the
 * newest. The read marker moves as far as the reader has actually seen (the newest message on
 * screen, `markRead(id, seq)`), never to the end at once. While the reader follows the end of
 * the conversation, each new message is marked read as it shows; messages that arrive while
 * they do not (scrolled up, or the page hidden) get the divider above them.
 *
 * **What can be done with a message** is in its menu (message-menu.ts: react, reply, edit,
 * copy, delete), opened from its "⋯" button or a right click; a reaction's chip toggles mine.
 * Replies and edits are written in the composer (composer.ts). All of them go through the
 * SDK's `Conversation`, which shows them at once and settles when the server stored them; a
 * refusal is said in a toast, and the message shows as it was.
 */
import {
  ChainIntegrityError,
  type ChannelSummary,
  type ChatClient,
  type ChatMessage,
  type Conversation,
} from "../../client/src/index.ts";
import { AttachmentComposer, attachmentsOf } from "./attachments.ts";
import { Composer } from "./composer.ts";
import { confirmDialog } from "./dialogs.ts";
import { h } from "./dom.ts";
import { errorText } from "./errors.ts";
import { dayKey, dayLabel, hueOf, initials, presenceText } from "./format.ts";
import { icon } from "./icons.ts";
import { mayFold } from "./long-text.ts";
import {
  blockedElement,
  daySeparator,
  messageElement,
  reactorsText,
  ticksOf,
  unreadDivider,
} from "./message-item.ts";
import { MessageMenu } from "./message-menu.ts";
import type { People } from "./people.ts";
import { newestSeen, type Placed, ReadPosition } from "./read-position.ts";

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
  /** The conversation's list entry (read marker, unread count) once the list is loaded; undefined if it has none. */
  summary(channelId: string): Promise<ChannelSummary | undefined>;
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
/** Pages loaded back to reach the first unread message (the REST maximum)… */
const UNREAD_PAGE = 200;
/** …at most this many: past that, the conversation opens at the oldest loaded, and scrolling up finds the divider. */
const MAX_UNREAD_PAGES = 5;
/** How long opening waits for a catch-up still bringing the first unread message. */
const SETTLE_WAIT_MS = 5_000;
/** Space left above the divider when the conversation opens at it. */
const DIVIDER_MARGIN_PX = 12;
/** Pages loaded back, at most, to show the message a reply quotes. */
const MAX_QUOTE_PAGES = 5;
/** How long a message shown from a quote stays highlighted. */
const FLASH_MS = 1_600;

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
  readonly #jump: HTMLButtonElement;
  readonly #jumpCount: HTMLElement;
  readonly #typing: HTMLElement;
  readonly #convo: Conversation;
  readonly #composer: Composer;
  readonly #menu = new MessageMenu();
  readonly #title: HTMLElement;
  readonly #subtitle: HTMLElement;
  readonly #avatar: HTMLElement;
  readonly #rendered = new Map<string, Rendered>();
  #placed: Placed[] = [];
  /** Messages of a blocked user that the reader chose to show (this view only). */
  readonly #revealed = new Set<string>();
  /** Long messages the reader unfolded (this view only). */
  readonly #unfolded = new Set<string>();
  #hasOlder = true;
  #olderLoad: Promise<void> | null = null;
  /**
   * Opening is settled: the read marker is known and the first unread message held (or given
   * up on), and the view was placed at it. Until then nothing is marked read.
   */
  #anchored = false;
  /** The reader scrolled before opening settled: leave the view where they put it. */
  #userMoved = false;
  readonly #read: ReadPosition;
  #frame = 0;
  #closed = false;

  constructor(host: ConversationHost, channelId: string) {
    this.#host = host;
    this.channelId = channelId;
    this.#isGroup = channelId.startsWith("gr_");
    this.#read = new ReadPosition(host.myId);
    this.#convo = host.chat.conversationOf(channelId);

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
    const moved = () => {
      this.#userMoved = true;
    };
    // The reader scrolls away from the message whose menu is open: it closes (a scroll the view
    // makes itself, for a message arriving, leaves it open).
    const scrolled = () => {
      moved();
      this.#menu.close({ restoreFocus: false });
    };
    this.#list = h("div", {
      class: "messages",
      role: "log",
      "aria-labelledby": "conv-title",
      tabindex: "0",
      testid: "message-list",
      on: {
        scroll: () => this.#onScroll(),
        wheel: scrolled,
        touchmove: scrolled,
        keydown: moved,
      },
    });
    this.#list.append(this.#historyNote);
    this.#jumpCount = h("span", { class: "count", testid: "jump-count" });
    this.#jump = h(
      "button",
      {
        type: "button",
        class: "jump",
        hidden: true,
        testid: "jump-latest",
        on: { click: () => this.#jumpToLatest() },
      },
      icon("down", 16),
      "Jump to latest",
      this.#jumpCount,
    );
    this.#typing = h("div", { class: "typing", "aria-live": "polite", testid: "typing-indicator" });

    const files: AttachmentComposer = new AttachmentComposer(
      host.chat,
      channelId,
      () => this.#el?.classList.toggle("uploading", files.busy),
      (text) => host.toast(text),
    );
    this.#composer = new Composer({
      convo: this.#convo,
      files,
      myId: host.myId,
      name: (id) => host.people.name(id),
      toast: (text) => host.toast(text),
      sent: () => this.render({ stickToBottom: true }),
      modeChanged: () => this.#markComposing(),
      reveal: (seq) => this.#scrollTo(seq, { flash: false }),
    });
    this.el = h(
      "main",
      { class: "conversation", "data-channel-id": channelId, testid: "conversation" },
      header,
      h("div", { class: "timeline" }, this.#list, this.#jump),
      this.#typing,
      this.#composer.el,
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
    // Wherever opening would have placed the view, the reader asked for this message.
    this.#userMoved = true;
    for (let page = 0; page <= maxPages && !this.#closed; page++) {
      if (this.#scrollTo(seq, { flash: true })) return true;
      if (this.#olderLoad) {
        // The first page (or a scroll's) is on its way: look again once it is in.
        await this.#olderLoad;
        continue;
      }
      const oldest = this.#oldestHeld();
      if (!this.#hasOlder || (oldest !== undefined && oldest <= seq)) return false;
      if (oldest !== undefined && oldest - seq > (maxPages - page) * PAGE) return false;
      await this.#loadOlder();
    }
    return false;
  }

  /**
   * Opens the channel socket and shows what the SDK holds; loads the newest page if needed,
   * then settles where reading stopped.
   */
  open(): void {
    this.#host.chat.openConversation(this.channelId);
    this.el.dataset.socket = this.#host.chat.conversationState;
    this.refreshHeader();
    this.render({ stickToBottom: true });
    this.renderTyping();
    if (this.#host.chat.messages(this.channelId).filter((m) => m.status === "sent").length < PAGE) {
      void this.#loadOlder();
    }
    void this.#settle();
  }

  close(): void {
    this.#closed = true;
    cancelAnimationFrame(this.#frame);
    this.#menu.close({ restoreFocus: false });
    this.#host.chat.closeConversation();
  }

  focusComposer(): void {
    this.#composer.focus();
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

  /**
   * Renders what the SDK holds. The scroll then follows the end if the reader was there, keeps
   * prepended history from moving what is on screen, or (`hold`) is left to the caller.
   */
  render({ stickToBottom = false, hold = false }: { stickToBottom?: boolean; hold?: boolean }): void {
    if (this.#closed) return;
    const list = this.#list;
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_BOTTOM_PX;
    const fromBottom = list.scrollHeight - list.scrollTop;
    const messages = this.#host.chat.messages(this.channelId);
    const before = this.#placed[0]?.seq;
    if (this.#anchored) this.#read.arrived(messages, nearBottom && document.visibilityState === "visible");
    const held = this.#host.chat.cursor(this.channelId) ?? 0;
    const unreadAt = this.#read.dividerBefore(messages, this.#hasOlder, held);

    const keep = new Set<string>();
    const placed: Placed[] = [];
    const toMeasure: HTMLElement[] = [];
    let cursor: ChildNode | null = this.#historyNote.nextSibling;
    /** Puts the item `key` next, rebuilt only if its signature changed. */
    const put = (key: string, signature: string, build: () => HTMLElement): HTMLElement => {
      keep.add(key);
      let r = this.#rendered.get(key);
      if (!r || r.signature !== signature) {
        const el = build();
        if (r) {
          if (cursor === r.el) cursor = el;
          const focused = focusedWithin(r.el);
          r.el.replaceWith(el);
          // A reaction chip or a menu button that had the focus keeps it in the new element.
          if (focused) el.querySelector<HTMLElement>(focused)?.focus({ preventScroll: true });
        }
        r = { el, signature };
        this.#rendered.set(key, r);
        if (el.querySelector(".bubble.folded")) toMeasure.push(el);
      }
      if (r.el === cursor) cursor = cursor.nextSibling;
      else list.insertBefore(r.el, cursor);
      return r.el;
    };

    let prevSender: string | null = null;
    let prevDay = "";
    let newestMine = false;
    const today = dayLabel(Date.now());
    for (const m of messages) {
      const day = dayKey(m.ts);
      if (day !== prevDay) {
        const label = dayLabel(m.ts);
        put(`d${day}`, `${label}|${today}`, () => daySeparator(m.ts, label));
        prevDay = day;
        prevSender = null;
      }
      if (m.status === "sent" && m.seq === unreadAt) {
        put("unread", "", unreadDivider);
        prevSender = null;
      }
      const key = m.status === "sent" ? `s${m.seq}` : `c${m.client_msg_id}`;
      const mine = m.sender_id === this.#host.myId;
      const el = put(key, this.#signature(m, key, mine, prevSender), () =>
        this.#build(m, key, mine, prevSender),
      );
      if (m.status === "sent") placed.push({ seq: m.seq, el, fromOthers: !mine });
      prevSender = m.sender_id;
      newestMine = mine;
    }
    for (const [key, r] of this.#rendered) {
      if (!keep.has(key)) {
        r.el.remove();
        this.#rendered.delete(key);
      }
    }
    this.#placed = placed;
    this.#measureFolds(toMeasure);
    this.#markComposing();
    this.#composer.refresh();

    const loading = this.#olderLoad !== null;
    this.#historyNote.textContent = loading
      ? "Loading earlier messages…"
      : !this.#hasOlder
        ? messages.length
          ? "Beginning of the conversation"
          : "No messages yet. Say hello!"
        : "";
    this.#historyNote.dataset.state = loading ? "loading" : this.#hasOlder ? "more" : "start";

    if (hold) {
      // The caller places the view.
    } else if (!this.#anchored) {
      // Opening: stay at the end until the place to open at is known.
      if (!this.#userMoved) list.scrollTop = list.scrollHeight;
    } else if (stickToBottom || (nearBottom && (before === placed[0]?.seq || newestMine))) {
      list.scrollTop = list.scrollHeight;
    } else if (before !== placed[0]?.seq) {
      // Older messages were prepended: keep the same messages under the reader's eyes.
      list.scrollTop = list.scrollHeight - fromBottom;
    }
    this.#afterMove();
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
    this.#afterMove();
  }

  /** What a message's element shows: it is rebuilt when this changes. */
  #signature(m: ChatMessage, key: string, mine: boolean, prevSender: string | null): string {
    const ticks = mine ? ticksOf(this.#host.chat, this.channelId, this.#isGroup, m) : null;
    const sender = this.#senderName(m, prevSender) ?? "";
    const blocked = this.#isBlocked(m, key, mine);
    const people = this.#host.people;
    // Names are part of it: a reactor's or a quoted sender's name may arrive after the message.
    const extra =
      m.edited || m.deleted || m.reply || m.reactions.length
        ? JSON.stringify([
            m.edited,
            m.deleted && [m.deleted.pending, people.name(m.deleted.by)],
            m.reply && [m.reply.preview, m.reply.deleted, people.name(m.reply.sender_id)],
            m.reactions.map((r) => [r.emoji, r.mine, ...r.user_ids.map((id) => people.name(id))]),
          ])
        : "";
    const files = m.attachments?.map((a) => a.id).join() ?? "";
    return `${m.status}|${ticks?.state}|${ticks?.label}|${sender}|${blocked}|${this.#unfolded.has(key)}|${files}|${extra}|${m.text}`;
  }

  #build(m: ChatMessage, key: string, mine: boolean, prevSender: string | null): HTMLElement {
    if (this.#isBlocked(m, key, mine)) {
      return blockedElement(m, () => {
        this.#revealed.add(key);
        this.render({});
      });
    }
    const unfolded = this.#unfolded.has(key);
    const chat = this.#host.chat;
    return messageElement(m, {
      mine,
      isGroup: this.#isGroup,
      senderName: this.#senderName(m, prevSender),
      ticks: mine ? ticksOf(chat, this.channelId, this.#isGroup, m) : null,
      folded: !unfolded && mayFold(m.text),
      unfolded,
      toggleFold: () => this.#toggleFold(key),
      retry: () => chat.retry(m.client_msg_id),
      discard: () => chat.discard(m.client_msg_id),
      edit: () => this.#takeBack(m),
      myId: this.#host.myId,
      name: (id) => this.#host.people.name(id),
      // Only stored messages have a menu: a pending or failed one is not in the log yet.
      openMenu: m.status === "sent" && !m.deleted ? (at, opener) => this.#openMenu(m.seq, at, opener) : null,
      react: (emoji) => this.#react(m.seq, emoji),
      showQuoted: (seq) => void this.#showQuoted(seq),
      attachments: m.attachments?.length
        ? () => attachmentsOf(chat, this.channelId, m.attachments ?? [], (t) => this.#host.toast(t))
        : null,
    });
  }

  #senderName(m: ChatMessage, prevSender: string | null): string | null {
    const show = this.#isGroup && m.sender_id !== this.#host.myId && m.sender_id !== prevSender;
    return show ? this.#host.people.name(m.sender_id) : null;
  }

  #isBlocked(m: ChatMessage, key: string, mine: boolean): boolean {
    return !mine && this.#host.chat.isBlocked(m.sender_id) && !this.#revealed.has(key);
  }

  /**
   * Folded bubbles just built: those whose text fits after all are unfolded (no button);
   * the others show "Show more". One layout for all of them, before the scroll is adjusted.
   */
  #measureFolds(elements: HTMLElement[]): void {
    const fits = new Set<HTMLElement>();
    for (const el of elements) {
      const bubble = el.querySelector<HTMLElement>(".bubble.folded");
      // A cut text folds for certain; the others are measured.
      if (bubble && !("cut" in bubble.dataset) && bubble.scrollHeight <= bubble.clientHeight + 1)
        fits.add(el);
    }
    for (const el of elements) {
      if (fits.has(el)) {
        el.querySelector(".bubble.folded")?.classList.remove("folded");
        el.querySelector('[data-testid="show-more"]')?.remove();
      } else {
        const button = el.querySelector<HTMLElement>('[data-testid="show-more"]');
        if (button) button.hidden = false;
      }
    }
  }

  /**
   * Unfolds or folds a long message where it is: its top stays where it was on screen, unless
   * it was above the screen (folding a long text back, read to its end): then it comes into view.
   */
  #toggleFold(key: string): void {
    const list = this.#list;
    const old = this.#rendered.get(key)?.el;
    const top = old ? old.offsetTop - list.scrollTop : 0;
    const folding = this.#unfolded.has(key);
    if (folding) this.#unfolded.delete(key);
    else this.#unfolded.add(key);
    this.render({ hold: true });
    const el = this.#rendered.get(key)?.el;
    if (!el) return;
    list.scrollTop = el.offsetTop - Math.max(top, DIVIDER_MARGIN_PX);
    el.querySelector<HTMLElement>('[data-testid="show-more"]')?.focus({ preventScroll: true });
    this.#afterMove();
  }

  /** Takes a failed message back into the composer, unless something else is being written. */
  #takeBack(m: ChatMessage): void {
    if (this.#composer.takeBack(m)) this.#host.chat.discard(m.client_msg_id);
  }

  // ---- what can be done with a message ---------------------------------------------------------

  /** Opens the menu of message `seq` with what may be done with it. */
  #openMenu(seq: number, at: HTMLElement | { x: number; y: number }, opener: HTMLElement): void {
    const convo = this.#convo;
    const m = convo.message(seq);
    if (!m || m.deleted) return;
    const names = { myId: this.#host.myId, name: (id: string) => this.#host.people.name(id) };
    this.#menu.open(
      at,
      {
        myReaction: m.reactions.find((r) => r.mine)?.emoji ?? "",
        reactions: m.reactions.map((r) => ({ emoji: r.emoji, who: reactorsText(r, names) })),
        react: (emoji) => this.#react(seq, emoji),
        reply: () => {
          const now = convo.message(seq);
          if (now && !now.deleted) this.#composer.reply(now);
        },
        ...(convo.canEdit(seq) && {
          edit: () => {
            const now = convo.message(seq);
            if (now && convo.canEdit(seq)) this.#composer.edit(now);
          },
        }),
        ...(convo.canDelete(seq) && { delete: () => void this.#delete(seq) }),
        ...(m.text && {
          copy: () =>
            navigator.clipboard.writeText(convo.message(seq)?.text ?? m.text).then(
              () => this.#host.toast("Copied."),
              () => this.#host.toast("Could not copy: the browser refused."),
            ),
        }),
      },
      opener,
    );
  }

  /** Toggles my reaction; a refusal (left the group, too many at once) is said. */
  #react(seq: number, emoji: string): void {
    this.#convo.react(seq, emoji).catch((err) => this.#host.toast(errorText(err)));
  }

  /** Deletes message `seq` for everyone, once the user confirms. */
  async #delete(seq: number): Promise<void> {
    const m = this.#convo.message(seq);
    if (!m) return;
    const mine = m.sender_id === this.#host.myId;
    const ok = await confirmDialog({
      title: "Delete this message?",
      text: mine
        ? "It will be deleted for everyone in this conversation. This can't be undone."
        : `It will be deleted for everyone, as the group's owner. ${this.#host.people.name(m.sender_id)} will see that you deleted it.`,
      confirm: "Delete for everyone",
      danger: true,
    });
    if (!ok || this.#closed) return;
    if (this.#composer.editing === seq) this.#composer.cancel();
    this.#convo
      .delete(seq)
      .catch((err) => this.#host.toast(`The message was not deleted: ${errorText(err)}`));
  }

  /**
   * Shows the message a reply quotes: scrolled to and highlighted. If it is older than what is
   * held, earlier pages are loaded to reach it (a few at most).
   */
  async #showQuoted(seq: number): Promise<void> {
    if (!(await this.reveal(seq, MAX_QUOTE_PAGES)) && !this.#closed)
      this.#host.toast("That message is too far back to show.");
  }

  /** Scrolls message `seq` into view (the middle of the screen), and highlights it a moment. */
  #scrollTo(seq: number, { flash }: { flash: boolean }): boolean {
    const el = this.#rendered.get(`s${seq}`)?.el;
    if (!el) return false;
    const list = this.#list;
    const top = el.offsetTop;
    if (top < list.scrollTop || top + el.offsetHeight > list.scrollTop + list.clientHeight) {
      list.scrollTop = top - Math.max(DIVIDER_MARGIN_PX, (list.clientHeight - el.offsetHeight) / 2);
    }
    if (flash) {
      el.classList.remove("flash");
      void el.offsetWidth; // restarts the animation
      el.classList.add("flash");
      el.dataset.flash = "";
      setTimeout(() => {
        el.classList.remove("flash");
        delete el.dataset.flash;
      }, FLASH_MS);
    }
    this.#afterMove();
    return true;
  }

  /** Marks the message being edited or replied to. */
  #markComposing(): void {
    const editing = this.#composer.editing;
    const replying = this.#composer.replyingTo;
    for (const p of this.#placed) {
      p.el.classList.toggle("editing", p.seq === editing);
      p.el.classList.toggle("replying", p.seq === replying);
    }
  }

  // ---- where reading stopped ------------------------------------------------------------------

  /**
   * Settles the opening: reads the read marker from the conversation list, loads back to the
   * first unread message if it is not held (at most {@link MAX_UNREAD_PAGES} pages), waits for a
   * catch-up that is still bringing it, then shows it under the divider.
   */
  async #settle(): Promise<void> {
    const chat = this.#host.chat;
    const summary = await this.#host.summary(this.channelId).catch(() => undefined);
    if (this.#closed) return;
    if (summary && summary.unread > 0) {
      const readTo = summary.read_seq;
      this.#read.openedUnread(readTo);
      for (let pages = 0; pages < MAX_UNREAD_PAGES && this.#hasOlder; pages++) {
        const oldest = this.#oldestHeld();
        if (oldest !== undefined && oldest <= readTo + 1) break;
        await this.#loadOlder(UNREAD_PAGE);
        if (this.#closed) return;
      }
      await this.#until(() => (chat.cursor(this.channelId) ?? 0) > readTo, SETTLE_WAIT_MS);
      if (this.#closed) return;
    } else {
      // Nothing unread (or no entry in the list yet: a conversation just started).
      const held = chat.messages(this.channelId).findLast((m) => m.status === "sent");
      this.#read.openedRead(Math.max(summary?.read_seq ?? 0, held?.seq ?? 0));
    }
    // Placed before anything counts as seen: at the divider if there is one, else at the end.
    this.render({ hold: true });
    const list = this.#list;
    const divider = list.querySelector<HTMLElement>('[data-testid="unread-divider"]');
    if (!this.#userMoved) {
      list.scrollTop = divider ? divider.offsetTop - DIVIDER_MARGIN_PX : list.scrollHeight;
    }
    this.#anchored = true;
    this.el.dataset.settled = "";
    this.#afterMove();
  }

  /** Resolves when `done()` holds after a message or page arrives, or after `ms`. */
  #until(done: () => boolean, ms: number): Promise<void> {
    if (done()) return Promise.resolve();
    const chat = this.#host.chat;
    return new Promise((resolve) => {
      const stop = () => {
        clearTimeout(timer);
        for (const off of offs) off();
        resolve();
      };
      const check = () => {
        if (this.#closed || done()) stop();
      };
      const timer = setTimeout(stop, ms);
      const offs = [chat.on("message", check), chat.on("history", check)];
    });
  }

  #oldestHeld(): number | undefined {
    return this.#host.chat.messages(this.channelId).find((m) => m.status === "sent")?.seq;
  }

  /** After a render or a scroll: mark read what is seen, and show or hide "Jump to latest". */
  #afterMove(): void {
    if (!this.#anchored || this.#closed) return;
    if (document.visibilityState === "visible") {
      this.#read.saw(newestSeen(this.#list, this.#placed));
      // The SDK skips repeats and sends at most one `read` per second.
      if (this.#read.seen > 0) this.#host.chat.markRead(this.channelId, this.#read.seen);
    }
    const unseen = this.#read.unseen(this.#placed);
    const list = this.#list;
    const below = list.scrollHeight - list.scrollTop - list.clientHeight;
    const show = below > Math.max(NEAR_BOTTOM_PX, list.clientHeight / 2) || (unseen > 0 && below > 2);
    this.#jump.hidden = !show;
    this.#jumpCount.textContent = unseen > 0 ? `${unseen} new` : "";
    this.#jump.setAttribute(
      "aria-label",
      unseen > 0 ? `Jump to latest, ${unseen} new messages` : "Jump to latest",
    );
  }

  #jumpToLatest(): void {
    this.#list.scrollTop = this.#list.scrollHeight;
    this.#afterMove();
    this.#list.focus({ preventScroll: true });
  }

  // ---- history --------------------------------------------------------------------------------

  #onScroll(): void {
    if (this.#list.scrollTop < LOAD_OLDER_PX) void this.#loadOlder();
    this.#afterMove();
  }

  /** Loads the page before the oldest message held; a call while one loads shares it. */
  #loadOlder(limit = PAGE): Promise<void> {
    if (this.#olderLoad) return this.#olderLoad;
    if (!this.#hasOlder || this.#closed) return Promise.resolve();
    const load = this.#fetchOlder(limit).finally(() => {
      this.#olderLoad = null;
      if (this.#closed) return;
      this.render({});
      // A short page does not fill the screen, and nothing could be scrolled to load more.
      if (this.#hasOlder && this.#list.scrollHeight <= this.#list.clientHeight + LOAD_OLDER_PX) {
        void this.#loadOlder();
      }
    });
    this.#olderLoad = load;
    this.render({});
    return load;
  }

  async #fetchOlder(limit: number): Promise<void> {
    try {
      const { hasMore } = await this.#host.chat.loadOlder(this.channelId, limit);
      this.#hasOlder = hasMore;
    } catch (err) {
      // A page that failed the hash-chain check would fail again: stop scrolling back into it
      // (the SDK's `integrity` event has already said so).
      if (err instanceof ChainIntegrityError) this.#hasOlder = false;
      else this.#host.toast(errorText(err));
    }
  }
}

/** A selector for the element focused inside `el` (by its test id, and emoji for a reaction), or null. */
function focusedWithin(el: HTMLElement): string | null {
  const active = document.activeElement as HTMLElement | null;
  if (!active || active === el || !el.contains(active) || !active.dataset.testid) return null;
  const emoji = active.dataset.emoji;
  return `[data-testid="${active.dataset.testid}"]${emoji ? `[data-emoji="${CSS.escape(emoji)}"]` : ""}`;
}

export function emptyConversation(): HTMLElement {
  return h(
    "main",
    { class: "conversation none", testid: "no-conversation" },
    h("p", {}, "Pick a conversation, or start one from Friends."),
  );
}
