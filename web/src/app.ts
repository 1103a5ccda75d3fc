/**
 * @module web/app
 * The signed-in app: a sidebar (conversations, friends, settings) and the conversation on
 * screen. State lives in the SDK (`chat.conversations()`, `chat.messages()`, `chat.presence()`,
 * `chat.ticks()`); this class turns its events into renders, and user actions into SDK calls.
 * The open conversation is in the URL hash (`#/c/<channel_id>`), so a reload reopens it and
 * the browser's back button returns to the list on a phone.
 */
import type {
  ChannelInfo,
  ChannelSummary,
  ChatClient,
  ChatEvents,
  ConnectionState,
  FriendsList,
  Me,
  SearchHit,
} from "../../client/src/index.ts";
import { ConversationView, emptyConversation } from "./conversation-view.ts";
import { pickFriends } from "./dialogs.ts";
import { h } from "./dom.ts";
import { errorText, slowDownText } from "./errors.ts";
import { FriendsPanel } from "./friends-view.ts";
import { icon } from "./icons.ts";
import { type ListItem, renderConversationList } from "./list-view.ts";
import { People } from "./people.ts";
import { disablePush } from "./push.ts";
import { contextView, SearchPanel } from "./search-view.ts";
import { settingsView } from "./settings-view.ts";

type Tab = "chats" | "friends" | "search" | "settings";

const BANNER: Record<ConnectionState, string> = {
  open: "",
  connecting: "Connecting…",
  reconnecting: "Connection lost. Reconnecting…",
  offline: "You are offline. Messages will be sent when you are back online.",
};

export function channelFromHash(hash = location.hash): string | null {
  const m = /^#\/c\/([A-Za-z0-9_]+)$/.exec(hash);
  return m?.[1] ?? null;
}

export class App {
  readonly el: HTMLElement;
  readonly #chat: ChatClient;
  readonly #people: People;
  readonly #myId: string;
  readonly #signedOut: () => void;
  #me: Me | null = null;
  #friends: FriendsList = { friends: [], blocked: [] };
  readonly #groups = new Map<string, ChannelInfo>();
  /** Local time a conversation was opened or created here: sorts a new, empty one to the top. */
  readonly #touched = new Map<string, number>();
  #tab: Tab = "chats";
  #view: ConversationView | null = null;
  #searchPanel: SearchPanel | null = null;
  #friendsPanel: FriendsPanel | null = null;
  /** A friends refresh was asked for while one was running: run another after it. */
  #friendsAgain = false;
  readonly #unsubs: (() => void)[] = [];
  #listFrame = 0;
  /** The conversation list's first load (read markers, unread counts): settled either way. */
  #listLoaded: Promise<void> = Promise.resolve();
  #friendsLoad: Promise<void> | null = null;
  #toastTimer: ReturnType<typeof setTimeout> | undefined;

  readonly #shell: HTMLElement;
  readonly #panel: HTMLElement;
  readonly #banner: HTMLElement;
  readonly #meLabel: HTMLElement;
  readonly #tabs: Record<Tab, HTMLButtonElement>;
  readonly #requestCount: HTMLElement;
  readonly #toast: HTMLElement;
  #main: HTMLElement;

  constructor(chat: ChatClient, signedOut: () => void) {
    this.#chat = chat;
    const session = chat.session;
    if (!session) throw new Error("App needs a signed-in ChatClient");
    this.#myId = session.user_id;
    this.#signedOut = signedOut;
    this.#people = new People(
      (id) => chat.user(id),
      () => this.#namesChanged(),
    );

    this.#meLabel = h("div", { class: "me", testid: "me" }, `@${session.handle}`);
    this.#banner = h("div", { class: "banner", role: "status", hidden: true, testid: "conn-banner" });
    this.#requestCount = h("span", { class: "count", hidden: true, testid: "request-count" });
    const tab = (id: Tab, label: string, ...extra: HTMLElement[]) =>
      h(
        "button",
        {
          type: "button",
          role: "tab",
          "aria-selected": "false",
          "aria-controls": "side-panel",
          testid: `tab-${id}`,
          on: { click: () => this.#setTab(id) },
        },
        label,
        ...extra,
      );
    this.#tabs = {
      chats: tab("chats", "Chats"),
      friends: tab("friends", "Friends", this.#requestCount),
      search: tab("search", "Search"),
      settings: tab("settings", "Settings"),
    };
    this.#panel = h("div", { class: "panel", id: "side-panel", role: "tabpanel" });
    this.#toast = h("div", { class: "banner toast", role: "status", hidden: true, testid: "toast" });
    const head = h(
      "header",
      { class: "sidebar-head" },
      h("img", { src: "/icon.svg", alt: "", width: "28", height: "28" }),
      this.#meLabel,
      h(
        "button",
        {
          type: "button",
          class: "icon",
          title: "New group",
          "aria-label": "New group",
          testid: "new-group",
          on: { click: () => void this.#newGroup() },
        },
        icon("newGroup"),
      ),
      h(
        "button",
        {
          type: "button",
          class: "icon",
          title: "Add friend",
          "aria-label": "Add friend",
          testid: "add-friend",
          on: { click: () => this.#addFriend() },
        },
        icon("addPerson"),
      ),
    );
    const sidebar = h(
      "aside",
      { class: "sidebar", "aria-label": "Conversations and friends" },
      head,
      h(
        "nav",
        { class: "tabs", role: "tablist" },
        this.#tabs.chats,
        this.#tabs.friends,
        this.#tabs.search,
        this.#tabs.settings,
      ),
      this.#panel,
    );
    this.#main = emptyConversation();
    this.#shell = h("div", { class: "shell", "data-view": "list" }, sidebar, this.#main);
    // Banner and toast above both panes: on a phone only one pane shows, and both need them.
    this.el = h("div", { class: "app", testid: "app" }, this.#banner, this.#toast, this.#shell);
  }

  /** Connects, loads what the sidebar needs, and opens the conversation in the URL, if any. */
  start(): void {
    const chat = this.#chat;
    const on = <K extends keyof ChatEvents>(event: K, fn: (e: ChatEvents[K]) => void) =>
      this.#unsubs.push(chat.on(event, fn));
    on("state", ({ state }) => this.#showState(state));
    on("channel", ({ channel, removed }) => this.#channelChanged(channel, removed));
    on("message", ({ channel_id }) => {
      if (this.#view?.channelId === channel_id) this.#view.schedule();
    });
    on("history", ({ channel_id }) => {
      if (this.#view?.channelId === channel_id) this.#view.schedule();
    });
    on("receipts", ({ channel_id }) => {
      if (this.#view?.channelId === channel_id) this.#view.schedule();
    });
    on("conversation_state", ({ channel_id, state }) => {
      if (this.#view?.channelId === channel_id) this.#view.el.dataset.socket = state;
    });
    on("typing", ({ channel_id }) => {
      if (this.#view?.channelId === channel_id) this.#view.renderTyping();
    });
    on("presence", ({ user_id }) => {
      this.#scheduleList();
      this.#view?.refreshHeader();
      const known = this.#friends.friends.some((f) => f.user.id === user_id && f.state === "friends");
      // Becoming friends sends each side a presence frame (docs/protocol.md §7.5).
      if (!known) void this.#loadFriends();
      else if (this.#tab === "friends") this.#renderPanel();
    });
    // Requests, acceptances and removals arrive live on the user socket (docs/protocol.md §7.6).
    on("friends", ({ list }) => this.#showFriends(list));
    on("signed_out", () => this.#signedOut());
    on("error", (e) => {
      if (e.code === "blocked")
        this.toast("This conversation is blocked: messages wait until it is unblocked.");
      else if (e.code === "not_friends" && e.client_msg_id) this.toast(e.message);
      // Sent too fast: the messages wait and go by themselves (docs/protocol.md §9.6).
      else if (e.code === "rate_limited" && e.client_msg_id)
        this.toast(slowDownText(e.retry_after_ms, "Your messages will be sent"));
      else if (e.code === "not_a_member" && e.channel_id && e.channel_id === this.#view?.channelId) {
        this.toast("You are no longer a member of this conversation.");
      } else if (e.code === "replaced") this.toast("This device connected again elsewhere.");
      else if (e.code === "integrity") {
        // A message or page that does not chain to the history held here was refused (the
        // SDK's hash-chain check): say so rather than show a conversation with a hole in it.
        this.toast("Some messages failed their integrity check and were not shown.");
        console.error("edge chat:", e.message);
      } else console.warn("edge chat:", e.code, e.message);
    });

    const onRoute = () => this.#route();
    window.addEventListener("popstate", onRoute);
    this.#unsubs.push(() => window.removeEventListener("popstate", onRoute));
    const onVisible = () => {
      if (document.visibilityState !== "visible") return;
      this.#view?.visible();
      void this.#loadFriends();
    };
    document.addEventListener("visibilitychange", onVisible);
    this.#unsubs.push(() => document.removeEventListener("visibilitychange", onVisible));

    chat.connect();
    this.#showState(chat.state);
    chat
      .me()
      .then((me) => {
        this.#me = me;
        this.#people.add(me);
        this.#meLabel.replaceChildren(me.display_name, h("small", {}, `@${me.handle ?? ""}`));
        if (this.#tab === "settings") this.#renderPanel();
      })
      .catch(() => {});
    void this.#loadFriends();
    this.#listLoaded = chat.channels().then(
      () => {},
      (err) => this.toast(errorText(err)),
    );
    this.#setTab("chats");
    this.#route();
  }

  destroy(): void {
    for (const off of this.#unsubs.splice(0)) off();
    cancelAnimationFrame(this.#listFrame);
    this.#view?.close();
    this.#view = null;
  }

  /** Opens a conversation (and puts it in the URL). */
  open(channelId: string): void {
    if (channelFromHash() !== channelId)
      history.pushState({ conversation: channelId }, "", `#/c/${channelId}`);
    this.#route();
  }

  toast(text: string): void {
    this.#toast.textContent = text;
    this.#toast.hidden = false;
    clearTimeout(this.#toastTimer);
    this.#toastTimer = setTimeout(() => {
      this.#toast.hidden = true;
    }, 5_000);
  }

  async logout(): Promise<void> {
    // The server drops this device's subscription at logout; drop the browser's too.
    await disablePush(this.#chat).catch(() => {});
    await this.#people.clear();
    await this.#chat.logout();
  }

  // ---- routing and panes -------------------------------------------------------------------

  #route(): void {
    const channelId = channelFromHash();
    if (channelId === (this.#view?.channelId ?? null)) return;
    this.#view?.close();
    this.#view = null;
    if (channelId) {
      this.#touched.set(channelId, Date.now());
      const view = new ConversationView(this.#host(), channelId);
      this.#view = view;
      this.#setMain(view.el);
      this.#shell.dataset.view = "conversation";
      view.open();
      if (channelId.startsWith("gr_")) void this.#loadGroup(channelId);
      if (matchMedia("(min-width: 760px)").matches) view.focusComposer();
    } else {
      this.#setMain(emptyConversation());
      this.#shell.dataset.view = "list";
    }
    this.#scheduleList();
  }

  #setMain(el: HTMLElement): void {
    this.#main.replaceWith(el);
    this.#main = el;
  }

  #back(): void {
    if ((history.state as { conversation?: string } | null)?.conversation) history.back();
    else {
      history.replaceState(null, "", location.pathname + location.search);
      this.#route();
    }
  }

  #host() {
    return {
      chat: this.#chat,
      people: this.#people,
      myId: this.#myId,
      title: (id: string) => this.#title(id),
      peerOf: (id: string) => this.#peerOf(id),
      memberCount: (id: string) => this.#groups.get(id)?.members.length ?? null,
      summary: (id: string) =>
        this.#listLoaded.then(() => this.#chat.conversations().find((c) => c.channel_id === id)),
      back: () => this.#back(),
      addMembers: (id: string) => void this.#addMembers(id),
      leaveGroup: (id: string) => void this.#leaveGroup(id),
      toast: (text: string) => this.toast(text),
      search: (id: string) => this.#search(id),
    };
  }

  /** The search panel, searching one conversation (or all of them: null). */
  #search(channelId: string | null): void {
    this.#setTab("search");
    // On a phone the panel is the other pane: show it (a hit brings the conversation back).
    this.#shell.dataset.view = "list";
    this.#searchPanel?.scope(channelId);
    this.#searchPanel?.focus();
  }

  /**
   * A search hit: its conversation, scrolled to it; a hit more than ten pages back is shown in
   * context instead (the page around it), with a way into the conversation.
   */
  async #openHit(hit: SearchHit): Promise<void> {
    this.open(hit.channel_id);
    this.#shell.dataset.view = "conversation";
    const view = this.#view;
    if (!view || view.channelId !== hit.channel_id) return;
    if (await view.reveal(hit.seq)) return;
    if (this.#view !== view) return;
    this.#setMain(
      contextView(this.#searchHost(), hit, () => {
        if (this.#view === view) this.#setMain(view.el);
      }),
    );
  }

  #searchHost() {
    return {
      chat: this.#chat,
      people: this.#people,
      title: (id: string) => this.#title(id),
      openHit: (hit: SearchHit) => void this.#openHit(hit),
      toast: (text: string) => this.toast(text),
    };
  }

  #setTab(tab: Tab): void {
    this.#tab = tab;
    for (const [id, button] of Object.entries(this.#tabs))
      button.setAttribute("aria-selected", String(id === tab));
    this.#renderPanel();
    if (tab === "friends") void this.#loadFriends();
  }

  #renderPanel(): void {
    if (this.#tab === "chats") {
      this.#renderList();
    } else if (this.#tab === "friends") {
      this.#friendsPanel ??= new FriendsPanel(this.#friendActions());
      this.#friendsPanel.update(this.#friends);
      if (this.#friendsPanel.el.parentNode !== this.#panel)
        this.#panel.replaceChildren(this.#friendsPanel.el);
    } else if (this.#tab === "search") {
      this.#searchPanel ??= new SearchPanel(this.#searchHost());
      if (this.#searchPanel.el.parentNode !== this.#panel) this.#panel.replaceChildren(this.#searchPanel.el);
    } else {
      this.#panel.replaceChildren(settingsView(this.#chat, this.#me, () => void this.logout()));
    }
  }

  #scheduleList(): void {
    if (this.#listFrame) return;
    this.#listFrame = requestAnimationFrame(() => {
      this.#listFrame = 0;
      if (this.#tab === "chats") this.#renderList();
      this.#updateTitle();
    });
  }

  #renderList(): void {
    const items: ListItem[] = this.#chat.conversations().map((c) => this.#item(c));
    items.sort((a, b) => this.#activity(b) - this.#activity(a));
    renderConversationList(this.#panel, items, this.#view?.channelId ?? null, (id) => this.open(id));
  }

  #activity(it: ListItem): number {
    return Math.max(it.ts, this.#touched.get(it.channelId) ?? 0);
  }

  #item(c: ChannelSummary): ListItem {
    const title = this.#title(c.channel_id, c);
    this.#people.titleChannel(c.channel_id, title);
    const peer = c.kind === "dm" ? this.#peerOf(c.channel_id) : null;
    const last = c.last_message;
    let preview = c.kind === "group" ? "Group created" : "No messages yet";
    if (last) {
      const who =
        last.sender_id === this.#myId
          ? "You: "
          : c.kind === "group"
            ? `${this.#people.name(last.sender_id)}: `
            : "";
      // A deleted last message keeps its place in the list, as its tombstone does in the chat.
      preview = last.deleted ? `${who}Message deleted` : who + (last.preview ?? "");
    }
    // The conversation on screen is being read: no badge for it while the page is visible.
    const viewing = this.#view?.channelId === c.channel_id && document.visibilityState === "visible";
    return {
      channelId: c.channel_id,
      kind: c.kind,
      title,
      colorKey: peer ?? c.channel_id,
      preview,
      ts: last?.ts ?? 0,
      unread: viewing ? 0 : c.unread,
      ...(peer && { presence: this.#chat.presence(peer)?.status ?? "offline" }),
    };
  }

  #updateTitle(): void {
    const unread = this.#chat.conversations().filter((c) => c.unread > 0).length;
    document.title = unread ? `(${unread}) edge chat` : "edge chat";
  }

  #title(channelId: string, summary?: ChannelSummary): string {
    if (channelId.startsWith("gr_")) {
      const s = summary ?? this.#chat.conversations().find((c) => c.channel_id === channelId);
      return s?.name ?? this.#groups.get(channelId)?.name ?? "Group";
    }
    const peer = this.#peerOf(channelId);
    return peer ? this.#people.name(peer) : "Conversation";
  }

  #peerOf(channelId: string): string | null {
    if (!channelId.startsWith("dm_")) return null;
    const [, a, b] = channelId.split("_");
    return (a === this.#myId ? b : a) ?? null;
  }

  #namesChanged(): void {
    this.#scheduleList();
    this.#view?.refreshHeader();
    this.#view?.renderTyping();
    this.#view?.schedule();
  }

  #showState(state: ConnectionState): void {
    this.#banner.hidden = state === "open";
    this.#banner.dataset.state = state;
    this.#banner.textContent = BANNER[state];
    this.el.dataset.connection = state;
  }

  #channelChanged(channel: ChannelSummary, removed: boolean): void {
    if (removed) {
      this.#groups.delete(channel.channel_id);
      if (this.#view?.channelId === channel.channel_id) {
        this.toast(`You are no longer in ${channel.name ?? "this conversation"}.`);
        this.#back();
      }
    } else if (this.#view?.channelId === channel.channel_id) {
      this.#view.refreshHeader();
    }
    this.#scheduleList();
  }

  // ---- friends -------------------------------------------------------------------------------

  /** Reloads the friends list (and, in the SDK, friends' presence); a call during a load runs once more after it. */
  #loadFriends(): Promise<void> {
    if (this.#friendsLoad) {
      this.#friendsAgain = true;
      return this.#friendsLoad;
    }
    this.#friendsLoad = this.#chat
      .friends()
      .then((list) => this.#showFriends(list))
      .catch(() => {})
      .finally(() => {
        this.#friendsLoad = null;
        if (this.#friendsAgain) {
          this.#friendsAgain = false;
          void this.#loadFriends();
        }
      });
    return this.#friendsLoad;
  }

  /** The Friends badge (incoming requests), the Friends tab and the names of everyone listed. */
  #showFriends(list: FriendsList): void {
    this.#friends = list;
    for (const f of list.friends) this.#people.add(f.user);
    for (const b of list.blocked) this.#people.add(b.user);
    const incoming = list.friends.filter((f) => f.state === "incoming").length;
    this.#requestCount.hidden = incoming === 0;
    this.#requestCount.textContent = String(incoming);
    this.#tabs.friends.setAttribute("aria-label", incoming ? `Friends, ${incoming} requests` : "Friends");
    if (this.#tab === "friends") this.#renderPanel();
    this.#scheduleList();
    // Messages of someone just blocked or unblocked collapse or open.
    this.#view?.schedule();
  }

  #friendActions() {
    const chat = this.#chat;
    const act = (p: Promise<unknown>, done?: string) =>
      p
        .then(() => {
          if (done) this.toast(done);
        })
        .catch((err) => this.toast(errorText(err)))
        .finally(() => void this.#loadFriends());
    return {
      request: async (handle: string) => {
        try {
          const { state } = await chat.requestFriend(handle);
          void this.#loadFriends();
          return state === "friends" ? `You and @${handle} are now friends.` : `Request sent to @${handle}.`;
        } catch (err) {
          return `Couldn't add @${handle}: ${errorText(err)}`;
        }
      },
      accept: (id: string) => act(chat.acceptFriend(id), `You and ${this.#people.name(id)} are now friends.`),
      decline: (id: string) => act(chat.declineFriend(id)),
      remove: (id: string) => act(chat.removeFriend(id)),
      block: (id: string) => act(chat.block(id), `${this.#people.name(id)} is blocked.`),
      unblock: (id: string) => act(chat.unblock(id), `${this.#people.name(id)} is unblocked.`),
      message: (id: string) => void this.#openDm(id),
      presence: (id: string) => chat.presence(id),
    };
  }

  /** The sidebar's "Add friend": the Friends tab, with the cursor in its handle field. */
  #addFriend(): void {
    this.#setTab("friends");
    this.#friendsPanel?.focusHandle();
  }

  async #openDm(userId: string): Promise<void> {
    try {
      const info = await this.#chat.openDm(userId);
      this.#setTab("chats");
      this.open(info.channel_id);
    } catch (err) {
      this.toast(errorText(err));
    }
  }

  #friendUsers() {
    return this.#friends.friends
      .filter((f) => f.state === "friends")
      .map((f) => f.user)
      .sort((a, b) => a.display_name.localeCompare(b.display_name));
  }

  // ---- groups --------------------------------------------------------------------------------

  async #loadGroup(channelId: string): Promise<ChannelInfo | null> {
    try {
      const info = await this.#chat.channel(channelId);
      this.#groups.set(channelId, info);
      for (const m of info.members) this.#people.name(m.user_id); // fetch names of non-friends
      if (this.#view?.channelId === channelId) this.#view.refreshHeader();
      return info;
    } catch {
      return null;
    }
  }

  async #newGroup(): Promise<void> {
    await this.#loadFriends();
    const pick = await pickFriends({
      title: "New group",
      submitLabel: "Create group",
      friends: this.#friendUsers(),
      withName: true,
    });
    if (!pick) return;
    try {
      const info = await this.#chat.createGroup(pick.name, pick.userIds);
      this.#groups.set(info.channel_id, info);
      this.#setTab("chats");
      this.open(info.channel_id);
    } catch (err) {
      this.toast(errorText(err));
    }
  }

  async #addMembers(channelId: string): Promise<void> {
    await this.#loadFriends();
    const info = (await this.#loadGroup(channelId)) ?? this.#groups.get(channelId);
    const members = new Set(info?.members.map((m) => m.user_id) ?? []);
    const pick = await pickFriends({
      title: "Add people",
      submitLabel: "Add",
      friends: this.#friendUsers().filter((u) => !members.has(u.id)),
      withName: false,
    });
    if (!pick || pick.userIds.length === 0) return;
    try {
      const updated = await this.#chat.addMembers(channelId, pick.userIds);
      this.#groups.set(channelId, updated);
      if (this.#view?.channelId === channelId) this.#view.refreshHeader();
      this.toast(`Added ${pick.userIds.map((id) => this.#people.name(id)).join(", ")}.`);
    } catch (err) {
      this.toast(errorText(err));
    }
  }

  async #leaveGroup(channelId: string): Promise<void> {
    try {
      await this.#chat.leaveGroup(channelId);
      this.#groups.delete(channelId);
      if (this.#view?.channelId === channelId) this.#back();
    } catch (err) {
      this.toast(errorText(err));
    }
  }
}
