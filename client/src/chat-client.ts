/**
 * @module client/chat-client
 * `ChatClient`: the whole client side of docs/protocol.md behind one object. It signs in and
 * keeps the session fresh, holds the always-on user socket and one channel socket for the
 * conversation on screen, resumes from its cursors after every reconnect, keeps an outbox with
 * local echoes, and follows presence, typing and receipts. The app reads state
 * (`messages`, `conversations`, `presence`, `ticks`, …) and listens to events (`on`).
 *
 * The logic is §11 of docs/protocol.md ("a minimal client"), made into a library: every
 * section there has its counterpart here, named the same where possible (`apply`, `drain`,
 * `loadLatest`, `fillGap`, `flushDelivered`, …). Catching up (resume, sync, `loadLatest`,
 * `fillGap`) lives in catch-up.ts, sending what the outbox holds in outbox-sender.ts, what edits,
 * deletes and reactions make of messages in entry-fold.ts, and one conversation's verbs (reply,
 * edit, delete, react, …) in conversation.ts (`conversationOf`). Every entry and page is checked
 * against the channel's hash chain before it is held (chain-check.ts); one that fails is refused
 * and reported as an `error` event with code `integrity`, never shown.
 */
import type { ChannelSearchPage, SearchPage } from "../../protocol/api.ts";
import type { WireAttachment } from "../../protocol/frames.ts";
import { CatchUp, LATEST_PAGE } from "./catch-up.ts";
import { ChainCheck, ChainIntegrityError } from "./chain-check.ts";
import { ChatApiError } from "./chat-api-error.ts";
import { type Backoff, ChatSocket, isOffline, type SocketStatus } from "./chat-socket.ts";
import { type ClientStore, defaultStore } from "./client-store.ts";
import { Conversation, type ConversationHost } from "./conversation.ts";
import { Emitter } from "./emitter.ts";
import { EntryFold, isMessage, type LocalChanges } from "./entry-fold.ts";
import { FriendBook } from "./friend-book.ts";
import { DELIVERED_EVERY_MS, ReadThrottle } from "./markers.ts";
import { MessageLog } from "./message-log.ts";
import { messagePreview, preview, textProblem } from "./message-text.ts";
import { Outbox, type OutboxEntry } from "./outbox.ts";
import { entryOf, OutboxSender } from "./outbox-sender.ts";
import { ReceiptBook } from "./receipts.ts";
import { Rest } from "./rest.ts";
import { SnapshotClock } from "./snapshot-clock.ts";
import { getBytes, type TransferDeps, type UploadOptions, uploadAttachment } from "./transfers.ts";
import type {
  ChannelInfo,
  ChannelSummary,
  ChatEvents,
  ChatMessage,
  ConnectInfo,
  ConnectionState,
  DeviceInfo,
  FriendState,
  FriendsList,
  GroupPresence,
  HistoryPage,
  Me,
  Presence,
  PresenceStatus,
  PublicUser,
  PushSubscriptionBody,
  Receipts,
  ServerFrame,
  ServerFrameOf,
  Session,
  SessionTokens,
  SignedOutReason,
  StoredSession,
  Ticks,
  WireMessage,
} from "./types.ts";
import { TypingIndicators, TypingThrottle } from "./typing.ts";

const MAX_DELIVERED_CURSORS = 1_000;
/** A list entry missing from `GET /v1/channels` is dropped only if older than this (the list lags ~1 s). */
const LIST_LAG_MS = 3_000;

export interface ChatClientOptions {
  /** Where the server is, e.g. `https://chat.example.com` (no `/v1`). */
  baseUrl: string;
  /** Where the session and outbox persist. Default: IndexedDB in browsers, memory in Node. */
  store?: ClientStore;
  /** Names this device in the user's device list (signup and login). */
  device?: { name: string; platform: string };
  /** Reconnect backoff: `baseMs` (default 500) doubling up to `maxMs` (default 30 000), jittered. */
  reconnect?: Partial<Backoff>;
  /** Prefix of the store keys (default `"edge-chat"`): `<prefix>:session`, `<prefix>:outbox`. */
  storageKey?: string;
  /** A REST call with no answer after this long fails (`network`) and is retried where it matters (default 15 000). */
  requestTimeoutMs?: number;
  /** A `fetch` to use instead of the global one. */
  fetch?: typeof fetch;
  /** A WebSocket constructor, where there is no global one. */
  WebSocket?: unknown;
}

type SignupInput = { handle: string; display_name: string; password: string };
type LoginInput = {
  handle: string;
  password: string;
  /**
   * After `too_many_devices`: the device to sign out so this login takes its place, one of the
   * refusal's `details.devices` (docs/protocol.md §8.1).
   */
  replaceDeviceId?: string;
};
type AuthAnswer = SessionTokens & { user: PublicUser };

/**
 * A chat client for one device.
 *
 * @example
 * const chat = new ChatClient({ baseUrl: "https://chat.example.com" });
 * if (!(await chat.restore())) await chat.login({ handle: "alice", password: "correct horse battery" });
 * chat.on("message", ({ channel_id }) => render(chat.messages(channel_id)));
 * chat.on("state", ({ state }) => showBanner(state));
 * chat.connect();
 * const convo = chat.conversationOf(channelId);
 * convo.open();
 * convo.send("hello");
 */
export class ChatClient {
  readonly #o: ChatClientOptions;
  readonly #store: ClientStore;
  readonly #keys: { session: string; outbox: string };
  readonly #backoff: Backoff;
  readonly #rest: Rest;
  readonly #events = new Emitter<ChatEvents>();
  readonly #log = new MessageLog();
  /** What this device holds of each channel's hash chain: every message and page is checked against it. */
  readonly #chain = new ChainCheck();
  readonly #outbox: Outbox;
  readonly #sender: OutboxSender;
  /** What edits, deletes and reactions make of the messages held. */
  readonly #fold: EntryFold;
  readonly #conversations = new Map<string, Conversation>();
  readonly #conversationHost: ConversationHost;
  /** Each channel's `messages()` until something in it changes. */
  readonly #views = new Map<string, ChatMessage[]>();
  /** Each group's owner, as its details last said (`channel`, `createGroup`, …): who may delete any message. */
  readonly #owners = new Map<string, string | null>();
  readonly #receipts = new ReceiptBook();
  readonly #typingIn: TypingIndicators;
  readonly #typingOut = new TypingThrottle();
  readonly #presence = new Map<string, Presence>();
  readonly #friendBook = new FriendBook();
  readonly #summaries = new Map<string, { summary: ChannelSummary; at: number }>();
  readonly #echoes = new WeakMap<OutboxEntry, ChatMessage>();
  /** Which presence entries and list entries frames changed, against the snapshots in flight. */
  readonly #presenceClock = new SnapshotClock();
  readonly #listClock = new SnapshotClock();

  #session: StoredSession | null = null;
  #sessionWrites: Promise<void> = Promise.resolve();
  /** Bumped at every sign-in and sign-out: late answers of an earlier session are dropped. */
  #generation = 0;
  #loggingOut = false;

  /** The app wants to be connected (between `connect()` and `disconnect()`). */
  #connected = false;
  #state: ConnectionState = "offline";
  #user: ChatSocket | null = null;

  /** The conversation on screen, and its channel socket. */
  #viewing: string | null = null;
  #channel: ChatSocket | null = null;
  /** Resume, sync, loading new channels and filling gaps. */
  readonly #catchUp: CatchUp;

  readonly #undelivered = new Set<string>();
  #deliveredTimer: ReturnType<typeof setInterval> | undefined;
  /** The last `delivered` batch on the user socket: sent again if it is refused. */
  #deliveredBatch: string[] = [];
  readonly #readSent = new Map<string, { seq: number; at: number }>();
  /** At most one `read` per channel per interval leaves (client/markers.ts). */
  readonly #readOut = new ReadThrottle((channelId, seq) => this.#sendRead(channelId, seq));
  #unlistenNetwork: (() => void) | null = null;

  constructor(options: ChatClientOptions) {
    this.#o = options;
    this.#store = options.store ?? defaultStore();
    const prefix = options.storageKey ?? "edge-chat";
    this.#keys = { session: `${prefix}:session`, outbox: `${prefix}:outbox` };
    this.#backoff = { baseMs: options.reconnect?.baseMs ?? 500, maxMs: options.reconnect?.maxMs ?? 30_000 };
    const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
    this.#rest = new Rest({
      baseUrl: options.baseUrl,
      fetch: doFetch as typeof fetch,
      timeoutMs: options.requestTimeoutMs ?? 15_000,
      session: () => this.#session,
      storedSession: async () => (await this.#store.get<StoredSession>(this.#keys.session)) ?? null,
      adopt: (s) => this.#adopt(s),
      signedOut: (reason) => {
        if (!this.#loggingOut) this.#signOut(reason);
      },
    });
    this.#outbox = new Outbox((entries) => this.#store.set(this.#keys.outbox, entries));
    this.#fold = new EntryFold(() => this.#session?.user_id);
    this.#sender = new OutboxSender({
      outbox: this.#outbox,
      backoff: this.#backoff,
      active: () => this.#connected && this.#session !== null,
      generation: () => this.#generation,
      socketFor: (channelId) => (this.#viewing === channelId ? this.#channel : null),
      request: (method, path, body) => this.request(method, path, body),
      stored: (entry, ack) => {
        const me = this.#session?.user_id;
        if (me) this.#applyLive(entryOf(entry, ack, me));
      },
      failed: (entry) => this.#outboxChanged(entry),
      report: (error) => this.#events.emit("error", error),
    });
    this.#conversationHost = this.#newConversationHost();
    this.#typingIn = new TypingIndicators((channel_id, user_ids) =>
      this.#events.emit("typing", { channel_id, user_ids }),
    );
    this.#catchUp = new CatchUp({
      log: this.#log,
      get: <T>(path: string) => this.request<T>("GET", path),
      generation: () => this.#generation,
      connected: () => this.#connected,
      viewing: () => this.#viewing,
      channelSocket: () => this.#channel,
      ingestPage: (channelId, messages) => this.#ingestPage(channelId, messages),
      checkPage: (channelId, prevHash, messages, emptyAt) =>
        this.#checkPage(channelId, prevHash, messages, emptyAt),
      history: (channelId) => this.#events.emit("history", { channel_id: channelId }),
      report: (err, channelId) => this.#report(err, channelId),
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Session

  /** Who is signed in, or null. */
  get session(): Session | null {
    const s = this.#session;
    return s ? { user_id: s.user_id, device_id: s.device_id, handle: s.handle } : null;
  }

  /**
   * Creates an account and signs this device in (a new device). Throws {@link ChatApiError}
   * (`validation_failed`, `handle_taken`).
   */
  async signup(input: SignupInput): Promise<void> {
    const r = await this.#rest.request<AuthAnswer>(
      "POST",
      "/v1/auth/signup",
      { ...input, device: this.#o.device },
      { auth: false },
    );
    await this.#begin(r);
  }

  /**
   * Signs in; every login is a new device of the account (docs/protocol.md §3.1). Throws
   * {@link ChatApiError} (`invalid_credentials`, `rate_limited` with `retryAfterMs`, and
   * `too_many_devices`, whose `details.devices` lists the account's devices: log in again with
   * `replaceDeviceId` to sign one of them out in its place).
   */
  async login(input: LoginInput): Promise<void> {
    const { replaceDeviceId, ...credentials } = input;
    const r = await this.#rest.request<AuthAnswer>(
      "POST",
      "/v1/auth/login",
      {
        ...credentials,
        device: this.#o.device,
        ...(replaceDeviceId !== undefined && { replace_device_id: replaceDeviceId }),
      },
      { auth: false },
    );
    await this.#begin(r);
  }

  /** Loads the stored session and outbox, if any. True if signed in. Does not connect. */
  async restore(): Promise<boolean> {
    if (this.#session) return true;
    const s = await this.#store.get<StoredSession>(this.#keys.session);
    if (!s?.refresh_token || !s.user_id || this.#session) return this.#session !== null;
    this.#session = s;
    const entries = (await this.#store.get<OutboxEntry[]>(this.#keys.outbox)) ?? [];
    this.#outbox.load(entries.filter((e) => typeof e?.client_msg_id === "string"));
    return true;
  }

  /** Signs this device out on the server, then forgets the session and outbox and closes every socket. */
  async logout(): Promise<void> {
    if (!this.#session) return;
    this.#loggingOut = true;
    try {
      await this.#rest.request("POST", "/v1/auth/logout");
    } catch {
      // Already signed out, or no network: the device is forgotten here either way.
    } finally {
      this.#loggingOut = false;
    }
    this.#signOut("logout");
  }

  // ---------------------------------------------------------------------------------------------
  // REST

  /**
   * Any REST call under /v1, with the access token and its refresh. `path` may start with
   * `/v1` or not. Throws {@link ChatApiError}.
   * @example
   * const me = await chat.request<Me>("GET", "/users/me");
   */
  request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.#rest.request<T>(method, path, body);
  }

  me(): Promise<Me> {
    return this.request("GET", "/v1/users/me");
  }

  /** Changes `display_name`, `invisible` or `hide_previews`. */
  updateMe(patch: { display_name?: string; invisible?: boolean; hide_previews?: boolean }): Promise<Me> {
    return this.request("PATCH", "/v1/users/me", patch);
  }

  /** A live account by handle; throws `not_found`. */
  findUser(handle: string): Promise<PublicUser> {
    return this.request("GET", `/v1/users/by-handle/${enc(handle)}`);
  }

  user(userId: string): Promise<PublicUser> {
    return this.request("GET", `/v1/users/${enc(userId)}`);
  }

  /**
   * Friends, requests and blocks, read from the server. Also refreshes the presence of friends
   * and {@link friendList}, and emits `friends`.
   */
  async friends(): Promise<FriendsList> {
    const gen = this.#generation;
    const started = this.#presenceClock.start();
    const listed = this.#friendBook.start();
    const list = await this.request<FriendsList>("GET", "/v1/friends");
    if (gen !== this.#generation) return list;
    for (const f of list.friends) {
      if (f.presence && !this.#presenceClock.stale(f.user.id, started)) {
        this.#setPresence(f.user.id, f.presence.status, f.presence.last_active_at);
      }
    }
    const merged = this.#friendBook.snapshot(list, listed);
    this.#events.emit("friends", { list: merged });
    return merged;
  }

  /**
   * Friends, requests and blocks as kept current by the user socket: the last {@link friends}
   * read (the client reads one after each connection) with every change since applied.
   */
  friendList(): FriendsList {
    return this.#friendBook.list;
  }

  /**
   * True when I blocked `userId`. Their messages still arrive in groups we share (the group is
   * shared); an app shows them collapsed behind "Message from a blocked user" with a way to
   * show one (docs/protocol.md §6.9), as the web client does. Kept current like {@link friendList};
   * a `friends` event follows every change.
   */
  isBlocked(userId: string): boolean {
    return this.#friendBook.isBlocked(userId);
  }

  /** Sends a friend request to a handle (accepts theirs if they asked first). */
  async requestFriend(handle: string): Promise<{ state: FriendState }> {
    const user = await this.findUser(handle);
    return this.requestFriendById(user.id);
  }

  requestFriendById(userId: string): Promise<{ state: FriendState }> {
    return this.request("POST", "/v1/friends/requests", { user_id: userId });
  }

  acceptFriend(userId: string): Promise<{ state: FriendState }> {
    return this.request("POST", `/v1/friends/${enc(userId)}/accept`);
  }

  async declineFriend(userId: string): Promise<void> {
    await this.request("POST", `/v1/friends/${enc(userId)}/decline`);
  }

  /** Unfriends, or withdraws a request. */
  async removeFriend(userId: string): Promise<void> {
    await this.request("DELETE", `/v1/friends/${enc(userId)}`);
  }

  async block(userId: string): Promise<void> {
    await this.request("POST", `/v1/friends/${enc(userId)}/block`);
  }

  async unblock(userId: string): Promise<void> {
    await this.request("DELETE", `/v1/friends/${enc(userId)}/block`);
  }

  /** The conversation list from the server; it also refreshes {@link conversations}. */
  async channels(): Promise<ChannelSummary[]> {
    const started = Date.now();
    const tick = this.#listClock.start();
    const gen = this.#generation;
    const { channels } = await this.request<{ channels: ChannelSummary[] }>("GET", "/v1/channels");
    if (gen !== this.#generation) return channels;
    const listed = new Set<string>();
    for (const c of channels) {
      listed.add(c.channel_id);
      if (!this.#listClock.stale(c.channel_id, tick)) this.#putSummary(c);
    }
    for (const [id, { summary, at }] of this.#summaries) {
      if (!listed.has(id) && at < started - LIST_LAG_MS) this.#removeChannel(summary);
    }
    return channels;
  }

  channel(channelId: string): Promise<ChannelInfo> {
    return this.#info(this.request("GET", `/v1/channels/${enc(channelId)}`));
  }

  /** Opens (or finds) the 1:1 channel with a friend. */
  openDm(userId: string): Promise<ChannelInfo> {
    return this.#info(this.request("POST", "/v1/channels/dm", { user_id: userId }));
  }

  createGroup(name: string, memberIds: string[] = []): Promise<ChannelInfo> {
    return this.#info(this.request("POST", "/v1/groups", { name, member_ids: memberIds }));
  }

  renameGroup(channelId: string, name: string): Promise<ChannelInfo> {
    return this.#info(this.request("PATCH", `/v1/groups/${enc(channelId)}`, { name }));
  }

  addMembers(channelId: string, userIds: string[]): Promise<ChannelInfo> {
    return this.#info(this.request("POST", `/v1/groups/${enc(channelId)}/members`, { user_ids: userIds }));
  }

  /** Removes a member (owner or admin); removing yourself is leaving (then resolves null). */
  async removeMember(channelId: string, userId: string): Promise<ChannelInfo | null> {
    const info = await this.request<ChannelInfo | null>(
      "DELETE",
      `/v1/groups/${enc(channelId)}/members/${enc(userId)}`,
    );
    if (info) this.#owners.set(info.channel_id, info.owner_id);
    return info;
  }

  /** Notes a channel's owner from its details as they pass by (`Conversation.canDelete`). */
  async #info(answer: Promise<ChannelInfo>): Promise<ChannelInfo> {
    const info = await answer;
    this.#owners.set(info.channel_id, info.owner_id);
    return info;
  }

  async leaveGroup(channelId: string): Promise<void> {
    await this.request("POST", `/v1/groups/${enc(channelId)}/leave`);
  }

  /** Push notifications for a channel off (`true`) or on, for all of the user's devices. */
  async mute(channelId: string, muted: boolean): Promise<{ channel_id: string; muted: boolean }> {
    const r = await this.request<{ channel_id: string; muted: boolean }>(
      "PUT",
      `/v1/channels/${enc(channelId)}/mute`,
      { muted },
    );
    const known = this.#summaries.get(channelId);
    if (known) this.#putSummary({ ...known.summary, muted: r.muted });
    return r;
  }

  /** Every member's markers, read now (also feeds {@link ticks}). */
  async loadReceipts(channelId: string): Promise<Receipts> {
    const gen = this.#generation;
    const r = await this.request<Receipts>("GET", `/v1/channels/${enc(channelId)}/receipts`);
    if (gen === this.#generation) {
      this.#receipts.snapshot(r);
      this.#events.emit("receipts", { channel_id: channelId });
    }
    return r;
  }

  async devices(): Promise<DeviceInfo[]> {
    return (await this.request<{ devices: DeviceInfo[] }>("GET", "/v1/devices")).devices;
  }

  async revokeDevice(deviceId: string): Promise<void> {
    await this.request("DELETE", `/v1/devices/${enc(deviceId)}`);
  }

  /** The VAPID key for `pushManager.subscribe({ applicationServerKey })`. */
  // ---------------------------------------------------------------------------------------------
  // Attachments, search, download my data (docs/protocol.md §8.10-§8.12)

  /**
   * Uploads a file to a channel, for a message to carry: pass what this resolves with to
   * `send(channelId, text, { attachments: [...] })`. Progress and cancelling through `options`.
   * @example
   * const photo = await chat.uploadAttachment(channelId, file, { onProgress: (n, of) => bar(n / of) });
   * chat.send(channelId, "", { attachments: [photo] });
   */
  uploadAttachment(channelId: string, file: Blob, options?: UploadOptions): Promise<WireAttachment> {
    this.#requireSession();
    return uploadAttachment(this.#transfers(), channelId, file, options);
  }

  /** An attachment's bytes, or its preview's (`preview: true`, images only), as a Blob. */
  async attachment(
    channelId: string,
    attachmentId: string,
    options: { preview?: boolean } = {},
  ): Promise<Blob> {
    const path = `/v1/channels/${enc(channelId)}/attachments/${enc(attachmentId)}${options.preview ? "/preview" : ""}`;
    return (await getBytes(this.#transfers(), path)).blob();
  }

  /**
   * Full-text search, newest first: in one channel (`channelId`, paged with `before`) or across
   * all of mine (paged with `cursor`).
   */
  search(
    q: string,
    options: { channelId: string; before?: number; limit?: number },
  ): Promise<ChannelSearchPage>;
  search(q: string, options?: { cursor?: string; limit?: number }): Promise<SearchPage>;
  search(
    q: string,
    options: { channelId?: string; before?: number; cursor?: string; limit?: number } = {},
  ): Promise<ChannelSearchPage | SearchPage> {
    const params = new URLSearchParams({ q });
    if (options.limit !== undefined) params.set("limit", String(options.limit));
    if (options.channelId !== undefined) {
      if (options.before !== undefined) params.set("before", String(options.before));
      return this.request("GET", `/v1/channels/${enc(options.channelId)}/search?${params}`);
    }
    if (options.cursor !== undefined) params.set("cursor", options.cursor);
    return this.request("GET", `/v1/search?${params}`);
  }

  /** The page of a channel's history around one message (a search hit in context). */
  around(channelId: string, seq: number, limit = 50): Promise<HistoryPage> {
    return this.request("GET", `/v1/channels/${enc(channelId)}/messages?around=${seq}&limit=${limit}`);
  }

  /**
   * "Download my data": the export's response, unread, so its ZIP body can be streamed to disk
   * with progress (docs/protocol.md §8.12). `mine`: every message I sent; `all`: every message
   * of my conversations, with their attachments.
   */
  exportData(scope: "mine" | "all", signal?: AbortSignal): Promise<Response> {
    return getBytes(this.#transfers(), `/v1/account/export?scope=${scope}`, signal);
  }

  #transfers(): TransferDeps {
    return {
      url: (path) => this.#rest.url(path),
      fetch: (this.#o.fetch ??
        ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init))) as typeof fetch,
      token: () => this.#rest.token(),
      refresh: (stale) => this.#rest.refresh(stale),
    };
  }

  async pushPublicKey(): Promise<string> {
    const r = await this.#rest.request<{ public_key: string }>(
      "GET",
      "/v1/push/vapid-public-key",
      undefined,
      {
        auth: false,
      },
    );
    return r.public_key;
  }

  /** Stores this device's push subscription (`subscription.toJSON()`), replacing any earlier one. */
  async subscribePush(subscription: PushSubscriptionBody): Promise<void> {
    await this.request("PUT", "/v1/push/subscription", subscription);
  }

  /** Removes this device's push subscription. The server keeps one per device, so `endpoint` is not needed. */
  async unsubscribePush(_endpoint?: string): Promise<void> {
    await this.request("DELETE", "/v1/push/subscription");
  }

  // ---------------------------------------------------------------------------------------------
  // Connection

  /** See {@link ConnectionState}. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** The conversation on screen (see {@link openConversation}), or null. */
  get conversation(): string | null {
    return this.#viewing;
  }

  /** State of the conversation's channel socket (`offline` when there is none). */
  get conversationState(): ConnectionState {
    return socketState(this.#channel?.status);
  }

  /**
   * Opens the user socket and keeps it open, reconnecting and resuming as needed, until
   * {@link disconnect} or sign-out. Idempotent. Reopens the conversation on screen, if any.
   */
  connect(): void {
    if (!this.#session) throw new Error("ChatClient.connect(): not signed in");
    if (this.#connected) return;
    this.#connected = true;
    this.#listenToNetwork();
    this.#user = this.#newUserSocket();
    if (this.#viewing !== null) this.#openChannelSocket(this.#viewing);
    this.#deliveredTimer = setInterval(() => this.#flushDelivered(), DELIVERED_EVERY_MS);
    this.#updateState();
  }

  /** Closes every socket; the state becomes `offline`. The conversation on screen is remembered for the next `connect()`. */
  disconnect(): void {
    if (!this.#connected) return;
    this.#teardown();
    this.#updateState();
  }

  /**
   * Makes `channelId` the conversation on screen: opens its channel socket (closing the
   * previous one), and loads its newest page over REST if this device has not seen it yet.
   * Works before `connect()`: the socket opens when the client connects.
   */
  openConversation(channelId: string): void {
    this.#requireSession();
    if (this.#viewing === channelId && (this.#channel !== null || !this.#connected)) return;
    this.closeConversation();
    this.#viewing = channelId;
    if (this.#log.cursor(channelId) === undefined) this.#catchUp.loadLatestQuietly(channelId);
    if (this.#connected) this.#openChannelSocket(channelId);
  }

  /** No conversation on screen: closes its channel socket. Its messages keep arriving on the user socket. */
  closeConversation(): void {
    const channelId = this.#viewing;
    if (channelId === null) return;
    this.#viewing = null;
    this.#stopChannelSocket(channelId);
  }

  // ---------------------------------------------------------------------------------------------
  // Messages

  /**
   * One conversation: its messages and verbs (reply, edit, delete, react, markRead, loadOlder…)
   * and its events. The same object every time for the same channel.
   * @example
   * const convo = chat.conversationOf(channelId);
   * convo.on("message", ({ message }) => render(message));
   * await convo.react(42, "👍");
   */
  conversationOf(channelId: string): Conversation {
    let c = this.#conversations.get(channelId);
    if (!c) {
      c = new Conversation(channelId, this.#conversationHost);
      this.#conversations.set(channelId, c);
    }
    return c;
  }

  /**
   * The messages this device holds of a channel, in `seq` order, each as its edits, delete and
   * reactions left it (entry-fold.ts), followed by local echoes (`pending`, `failed`) oldest
   * first. A message keeps its object identity until something it shows changes. The same as
   * `conversationOf(channelId).messages()`.
   */
  messages(channelId: string): ChatMessage[] {
    let views = this.#views.get(channelId);
    if (!views) {
      const local = this.#localChanges(channelId);
      const held = (seq: number) => this.#log.get(channelId, seq);
      views = [];
      for (const m of this.#log.sorted(channelId)) {
        if (isMessage(m)) views.push(this.#fold.view(m, held, local.get(m.seq)));
      }
      for (const e of this.#outbox.entries(channelId)) if (e.kind === undefined) views.push(this.#echo(e));
      this.#views.set(channelId, views);
    }
    return [...views];
  }

  /** A held message as `messages` shows it. */
  #view(channelId: string, seq: number): ChatMessage | undefined {
    const m = this.#log.get(channelId, seq);
    if (!m || !isMessage(m)) return undefined;
    const held = (s: number) => this.#log.get(channelId, s);
    return this.#fold.view(m, held, this.#localChanges(channelId).get(seq));
  }

  /** What a conversation object reads and does through this client (conversation.ts). */
  #newConversationHost(): ConversationHost {
    return {
      me: () => this.#session?.user_id,
      events: this.#events,
      messages: (id) => this.messages(id),
      message: (id, seq) => this.#view(id, seq),
      summary: (id) => this.#summaries.get(id)?.summary,
      cursor: (id) => this.#log.cursor(id),
      oldest: (id) => this.#log.oldest(id),
      viewing: () => this.#viewing,
      socketState: (id) => (this.#viewing === id ? socketState(this.#channel?.status) : "offline"),
      open: (id) => this.openConversation(id),
      close: (id) => {
        if (this.#viewing === id) this.closeConversation();
      },
      send: (id, text, options) => this.send(id, text, options),
      write: (id, w) => {
        this.#requireSession();
        const entry: OutboxEntry = {
          client_msg_id: newClientMsgId(),
          channel_id: id,
          text: w.text ?? "",
          kind: w.kind,
          target_seq: w.target_seq,
          created_at: Date.now(),
          status: "pending",
          ...(w.emoji !== undefined && { emoji: w.emoji }),
        };
        const stored = this.#sender.enqueue(entry);
        this.#outboxChanged(entry); // shown at once, `pending`
        return stored;
      },
      myReaction: (id, seq) => this.#view(id, seq)?.reactions.find((r) => r.mine)?.emoji ?? "",
      markRead: (id) => this.markRead(id),
      loadOlder: (id, limit) => this.loadOlder(id, limit),
      typing: (id) => this.typing(id),
      typingUsers: (id) => this.typingUsers(id),
      ticks: (id, seq) => this.ticks(id, seq),
      loadReceipts: (id) => this.loadReceipts(id),
      isOwner: (id) => {
        const me = this.#session?.user_id;
        return me !== undefined && this.#owners.get(id) === me;
      },
    };
  }

  /** Edits, deletes and reactions of this device not stored yet, by the message they act on. */
  #localChanges(channelId: string): Map<number, LocalChanges> {
    const out = new Map<number, LocalChanges>();
    for (const e of this.#outbox.pending(channelId)) {
      if (e.kind === undefined || e.target_seq === undefined) continue;
      const c = out.get(e.target_seq) ?? {};
      if (e.kind === "edit") c.edit = { text: e.text, at: e.created_at };
      else if (e.kind === "delete") c.delete = { at: e.created_at };
      else c.reaction = e.emoji ?? "";
      out.set(e.target_seq, c);
    }
    return out;
  }

  /** Something in a channel's outbox changed: its views are rebuilt, and the message shown again. */
  #outboxChanged(e: OutboxEntry): void {
    this.#views.delete(e.channel_id);
    if (e.kind === undefined) {
      this.#events.emit("message", { channel_id: e.channel_id, message: this.#echo(e) });
      return;
    }
    const target = e.target_seq === undefined ? undefined : this.#view(e.channel_id, e.target_seq);
    if (target) this.#events.emit("message", { channel_id: e.channel_id, message: target });
  }

  /** The highest `seq` held without gaps in a channel, or undefined if it is not loaded here. */
  cursor(channelId: string): number | undefined {
    return this.#log.cursor(channelId);
  }

  /** Loads the page before the oldest message held (scrolling back). */
  async loadOlder(channelId: string, limit = LATEST_PAGE): Promise<{ hasMore: boolean }> {
    if (this.#log.cursor(channelId) === undefined) {
      await this.#catchUp.loadLatest(channelId);
      return { hasMore: this.#log.hasOlder(channelId) };
    }
    const oldest = this.#log.oldest(channelId) ?? (this.#log.cursor(channelId) ?? 0) + 1;
    if (oldest <= 1 || !this.#log.hasOlder(channelId)) return { hasMore: false };
    const gen = this.#generation;
    const page = await this.request<HistoryPage>(
      "GET",
      `/v1/channels/${enc(channelId)}/messages?before=${oldest}&limit=${limit}`,
    );
    if (gen !== this.#generation) return { hasMore: false };
    const refused = this.#chainError(channelId, () =>
      this.#chain.page(channelId, page.prev_hash, page.messages),
    );
    if (refused) throw refused;
    this.#ingestPage(channelId, page.messages);
    this.#log.setHasOlder(channelId, page.has_more);
    this.#events.emit("history", { channel_id: channelId });
    return { hasMore: page.has_more };
  }

  /**
   * Sends a text: returns its local echo (`pending`) at once. The message is queued in the
   * outbox under a new `client_msg_id`, persisted, then sent on the channel socket if this is
   * the conversation on screen, else over REST; it is resent with the same id after every
   * reconnect until the server stores it. A text the server can never store (blank, too long)
   * is `failed` at once.
   * @example
   * const echo = chat.send(channelId, "on my way");
   * chat.on("message", ({ message }) => {
   *   if (message.client_msg_id === echo.client_msg_id) console.log(message.status); // "sent"
   * });
   */
  send(
    channelId: string,
    text: string,
    options: { attachments?: WireAttachment[]; replyTo?: number } = {},
  ): ChatMessage {
    const replyTo = options.replyTo;
    this.#requireSession();
    this.#typingOut.reset(channelId);
    const attachments = options.attachments?.length ? options.attachments : undefined;
    const problem = textProblem(text, attachments !== undefined);
    const entry: OutboxEntry = {
      client_msg_id: newClientMsgId(),
      channel_id: channelId,
      text,
      ...(attachments && { attachments }),
      created_at: Date.now(),
      status: problem ? "failed" : "pending",
      ...(problem && { error: problem }),
      ...(replyTo !== undefined && { reply_to: replyTo }),
    };
    this.#views.delete(channelId);
    if (problem) void this.#outbox.add(entry);
    // Persisted before it is sent (docs/protocol.md §11): a reload must find what may have left.
    else void this.#sender.enqueue(entry).catch(() => {}); // a failure shows as the echo's status
    const echo = this.#echo(entry);
    this.#events.emit("message", { channel_id: channelId, message: echo });
    return echo;
  }

  /** Sends a failed (or still pending) message again, with the same `client_msg_id`. */
  retry(clientMsgId: string): void {
    const e = this.#outbox.get(clientMsgId);
    if (!e) return;
    if (e.status === "failed") {
      if (textProblem(e.text, e.attachments !== undefined)) return;
      const pending = this.#outbox.requeue(clientMsgId);
      if (pending) this.#outboxChanged(pending);
    }
    this.#sender.flush(e.channel_id);
  }

  /** Drops a pending or failed message from the outbox (it may still have reached the server). */
  discard(clientMsgId: string): void {
    const e = this.#outbox.get(clientMsgId);
    if (e && this.#outbox.delete(clientMsgId)) {
      this.#views.delete(e.channel_id);
      this.#events.emit("history", { channel_id: e.channel_id });
    }
  }

  /**
   * Marks the channel read up to what this device holds (its cursor), or up to `upTo` if that
   * is lower: an app that shows where reading stopped marks what was actually on screen, not
   * every message it holds. On the channel socket if it is the conversation on screen, else
   * over REST. Cheap to call often, on every new message while the conversation is read: at
   * most one `read` per channel per second leaves (client/markers.ts), with the newest position.
   */
  markRead(channelId: string, upTo?: number): void {
    const seq = Math.min(this.#log.cursor(channelId) ?? 0, upTo ?? Number.POSITIVE_INFINITY);
    if (seq <= 0) return;
    const known = this.#summaries.get(channelId)?.summary;
    if (known && known.read_seq >= seq) return;
    const last = this.#readSent.get(channelId);
    if (last && last.seq >= seq && Date.now() - last.at < 5_000) return;
    this.#readOut.mark(channelId, seq);
    // The server confirms with a `channel` frame; show the count cleared now. Unread counts
    // messages (docs/protocol.md §2.3): those after the entry read up to.
    if (known && known.unread > 0) {
      this.#listClock.touch(channelId);
      const readCount = this.#log.get(channelId, seq)?.msg_count;
      const unread = readCount === undefined ? known.unread : known.head_msg_count - readCount;
      this.#putSummary({ ...known, unread: Math.max(0, Math.min(known.unread, unread)) });
    }
  }

  #sendRead(channelId: string, seq: number): void {
    if (!this.#session) return;
    this.#readSent.set(channelId, { seq, at: Date.now() });
    const onSocket = this.#viewing === channelId && this.#channel?.send({ type: "read", id: "read", seq });
    if (!onSocket) {
      this.request("POST", `/v1/channels/${enc(channelId)}/read`, { seq }).catch((err) => {
        if (err instanceof ChatApiError && err.code === "rate_limited")
          this.#readRefused(channelId, err.retryAfterMs);
        else this.#report(err);
      });
    }
  }

  /** A `read` was refused as too fast: the marker moves again once the wait is over. */
  #readRefused(channelId: string, retryAfterMs = 1_000): void {
    const sent = this.#readSent.get(channelId);
    this.#readSent.delete(channelId);
    const gen = this.#generation;
    setTimeout(() => {
      if (gen === this.#generation && sent) this.#readOut.mark(channelId, sent.seq);
    }, retryAfterMs);
  }

  /**
   * Call on every keystroke in a conversation on screen; at most one `typing` frame per 3 s
   * leaves, and none while the server's last refusal of one lasts (longer after each).
   */
  typing(channelId: string): void {
    if (this.#viewing !== channelId || !this.#channel?.isOpen) return;
    if (this.#typingOut.take(channelId)) this.#channel.send({ type: "typing", id: "typing" });
  }

  /** Others typing in the conversation on screen (this user's other devices excluded). */
  typingUsers(channelId: string): string[] {
    return this.#typingIn.users(channelId);
  }

  /** A friend's or viewed group member's presence, if known. */
  presence(userId: string): Presence | undefined {
    const p = this.#presence.get(userId);
    return p ? { ...p } : undefined;
  }

  /**
   * Ticks of my message `seq`: how many other members could see it, got it on a device, read
   * it. Current for the conversation on screen; elsewhere call {@link loadReceipts} first.
   */
  ticks(channelId: string, seq: number): Ticks {
    return this.#receipts.ticks(channelId, seq, this.#session?.user_id);
  }

  /** The conversation list, most recent message first, as kept current by the user socket. */
  conversations(): ChannelSummary[] {
    return [...this.#summaries.values()]
      .map((s) => s.summary)
      .sort((a, b) => (b.last_message?.ts ?? 0) - (a.last_message?.ts ?? 0));
  }

  /**
   * Listens to an event; returns the function that stops listening.
   * @example
   * const off = chat.on("typing", ({ channel_id, user_ids }) => showTyping(channel_id, user_ids));
   */
  on<K extends keyof ChatEvents>(event: K, fn: (e: ChatEvents[K]) => void): () => void {
    return this.#events.on(event, fn);
  }

  // ---------------------------------------------------------------------------------------------
  // Sockets

  #newUserSocket(): ChatSocket {
    const socket: ChatSocket = new ChatSocket({
      ticket: () => this.#rest.request<ConnectInfo>("POST", "/v1/connect", {}),
      onFrame: (f) => {
        if (this.#user === socket) this.#onUserFrame(f, socket);
      },
      onStatus: (status) => {
        if (this.#user !== socket) return;
        if (status !== "open") this.#catchUp.resumeEnded();
        this.#updateState();
      },
      onStop: (reason) => {
        if (this.#user !== socket) return;
        if (reason === "revoked") return this.#signOut("revoked");
        this.#user = null;
        this.#events.emit("error", {
          code: "replaced",
          message: "another connection of this device replaced the user socket",
        });
        this.#updateState();
      },
      backoff: this.#backoff,
      WebSocket: this.#o.WebSocket,
    });
    return socket;
  }

  #onUserFrame(f: ServerFrame, socket: ChatSocket): void {
    switch (f.type) {
      case "hello":
        // Live from now for every channel: ask for what was missed, from the cursors (§7.2).
        socket.send(this.#catchUp.resumeFrame());
        // Sockets carry changes only: take snapshots after each connection (§7.5, §8.4).
        this.friends().catch((err) => this.#report(err));
        this.channels().catch((err) => this.#report(err));
        return;
      case "messages":
        this.#catchUp.userPage(f);
        return;
      case "message":
        this.#applyLive(f.message);
        return;
      case "channel":
        this.#listClock.touch(f.channel.channel_id);
        if (f.removed) this.#removeChannel(f.channel);
        else this.#putSummary(f.channel);
        return;
      case "resumed":
        this.#catchUp.resumed();
        this.#sender.flush(); // anything not acked yet goes again, same ids
        return;
      case "presence":
        this.#presenceClock.touch(f.user_id);
        this.#setPresence(f.user_id, f.status, f.last_active_at);
        return;
      case "friend":
        this.#friendBook.apply(f);
        this.#events.emit("friend", { user: f.user, state: f.state, since: f.since });
        this.#events.emit("friends", { list: this.#friendBook.list });
        return;
      case "error":
        if (f.code === "rate_limited") {
          this.#userFrameRefused(f, socket);
          return;
        }
        if (f.ref === "resume") this.#catchUp.resumeEnded();
        this.#events.emit("error", { code: f.code, message: f.message, ...(f.ref && { ref: f.ref }) });
        return;
    }
  }

  /** A user-socket frame refused as too fast: it goes again once the wait is over. */
  #userFrameRefused(f: ServerFrameOf<"error">, socket: ChatSocket): void {
    const wait = f.retry_after_ms ?? 1_000;
    if (f.ref === "delivered") {
      for (const channelId of this.#deliveredBatch) this.#undelivered.add(channelId);
      return; // the next batch, every 500 ms, carries them again
    }
    if (f.ref === "resume") {
      const gen = this.#generation;
      setTimeout(() => {
        if (gen === this.#generation && this.#user === socket && socket.isOpen)
          socket.send(this.#catchUp.resumeFrame());
      }, wait);
    }
  }

  #openChannelSocket(channelId: string): void {
    // Not a member (or no such channel): no ticket is issued, and no retry would change that.
    const refused = (err: unknown) => {
      if (!(err instanceof ChatApiError) || (err.code !== "not_a_member" && err.code !== "not_found")) return;
      if (this.#channel !== socket) return;
      this.#stopChannelSocket(channelId);
      this.#events.emit("error", { code: err.code, message: err.message, channel_id: channelId });
    };
    const socket: ChatSocket = new ChatSocket({
      ticket: () =>
        this.#rest.request<ConnectInfo>("POST", "/v1/connect", { channel_id: channelId }).catch((err) => {
          refused(err);
          throw err;
        }),
      onFrame: (f) => {
        if (this.#channel === socket) this.#onChannelFrame(channelId, f, socket);
      },
      onStatus: (status) => {
        if (this.#channel !== socket) return;
        if (status !== "open") {
          this.#catchUp.channelDown();
          // What was unanswered on the lost connection goes again on the next one.
          this.#sender.socketDown(socket);
        }
        this.#events.emit("conversation_state", { channel_id: channelId, state: socketState(status) });
      },
      onStop: (reason) => {
        if (this.#channel !== socket) return;
        if (reason === "revoked") return this.#signOut("revoked");
        this.#stopChannelSocket(channelId);
        this.#events.emit("error", {
          code: reason === "removed" ? "not_a_member" : "replaced",
          message:
            reason === "removed"
              ? "you are no longer a member of this channel"
              : "another connection of this device replaced this channel socket",
          channel_id: channelId,
        });
      },
      beforeRetry: async (failures) => {
        // A refused upgrade looks like any failed connection: after a few, ask REST why (403 not_a_member).
        if (failures % 3 !== 0) return;
        await this.channel(channelId).catch(refused);
      },
      backoff: this.#backoff,
      WebSocket: this.#o.WebSocket,
    });
    this.#channel = socket;
    this.#catchUp.channelReset();
    this.#events.emit("conversation_state", { channel_id: channelId, state: "connecting" });
  }

  #stopChannelSocket(channelId: string): void {
    const socket = this.#channel;
    this.#channel = null;
    this.#catchUp.channelReset();
    this.#typingIn.clear(channelId);
    if (!socket) return;
    socket.stop();
    this.#events.emit("conversation_state", { channel_id: channelId, state: "offline" });
    this.#sender.flush(channelId); // what waited for an ack there goes over REST now
  }

  #onChannelFrame(channelId: string, f: ServerFrame, socket: ChatSocket): void {
    switch (f.type) {
      case "hello": {
        // Live from head_seq: catch up from the cursor first (§4.3), never wait for the user socket.
        this.#catchUp.channelHello(channelId, f.head_seq ?? 0, socket);
        this.#sender.flush(channelId);
        if (channelId.startsWith("gr_")) this.#loadGroupPresence(channelId);
        this.loadReceipts(channelId).catch((err) => this.#report(err, channelId));
        return;
      }
      case "messages":
        // Without `ref`, a live page: edits, deletes and reactions folded by the channel (§6.5).
        if (f.ref === undefined) this.#catchUp.livePage(f);
        else this.#catchUp.channelPage(f, socket);
        return;
      case "message":
        this.#applyLive(f.message);
        return;
      case "ack":
        this.#sender.acked(f);
        return;
      case "receipts": {
        let changed = false;
        for (const m of f.members) changed = this.#receipts.update(channelId, m) || changed;
        if (changed) this.#events.emit("receipts", { channel_id: channelId });
        return;
      }
      case "typing":
        for (const u of f.users)
          if (u.user_id !== this.#session?.user_id) this.#typingIn.show(channelId, u.user_id, u.expires_at);
        return;
      case "typing_stopped":
        this.#typingIn.hide(channelId, f.user_id);
        return;
      case "presence":
        this.#presenceClock.touch(f.user_id);
        this.#setPresence(f.user_id, f.status, f.last_active_at);
        return;
      case "error":
        this.#channelError(channelId, f);
        return;
    }
  }

  #channelError(channelId: string, f: ServerFrameOf<"error">): void {
    if (this.#sender.refusedOnSocket(f.ref, f.code, f.message, f.retry_after_ms)) return;
    if (f.code === "rate_limited") {
      // Markers and typing wait out the refusal; a refused sync asks again after it.
      if (f.ref === "typing") this.#typingOut.refused(channelId, f.retry_after_ms ?? 1_000);
      else if (f.ref === "read") this.#readRefused(channelId, f.retry_after_ms);
      else if (f.ref === "delivered") this.#undelivered.add(channelId);
      else if (f.ref === "sync") this.#catchUp.syncFailed(f.retry_after_ms ?? 1_000);
      return;
    }
    if (f.ref === "sync") this.#catchUp.syncFailed();
    this.#events.emit("error", {
      code: f.code,
      message: f.message,
      channel_id: channelId,
      ...(f.ref && { ref: f.ref }),
    });
  }

  #updateState(): void {
    const state: ConnectionState =
      !this.#connected || !this.#user || isOffline() ? "offline" : socketState(this.#user.status);
    if (state === this.#state) return;
    this.#state = state;
    this.#events.emit("state", { state });
  }

  #listenToNetwork(): void {
    const target = globalThis as {
      addEventListener?: (type: string, fn: () => void) => void;
      removeEventListener?: (type: string, fn: () => void) => void;
    };
    if (typeof target.addEventListener !== "function" || this.#unlistenNetwork) return;
    const online = () => {
      this.#user?.wake();
      this.#channel?.wake();
      this.#updateState();
    };
    const offline = () => this.#updateState();
    target.addEventListener("online", online);
    target.addEventListener("offline", offline);
    this.#unlistenNetwork = () => {
      target.removeEventListener?.("online", online);
      target.removeEventListener?.("offline", offline);
    };
  }

  /** Closes every socket and stops every timer; keeps the session and what is held. */
  #teardown(): void {
    this.#connected = false;
    const user = this.#user;
    this.#user = null;
    user?.stop();
    if (this.#viewing !== null) this.#stopChannelSocket(this.#viewing);
    this.#catchUp.stop();
    clearInterval(this.#deliveredTimer);
    this.#deliveredTimer = undefined;
    this.#sender.stop();
    this.#typingIn.clearAll();
    this.#unlistenNetwork?.();
    this.#unlistenNetwork = null;
  }

  // ---------------------------------------------------------------------------------------------
  // Holding messages: dedupe by (channel_id, seq), cursors without gaps (§11 "apply")

  /**
   * Takes one entry from any source. Returns whether it was new, whether it settled an outbox
   * entry, whether a member's read marker moved, and the held messages whose view changed.
   */
  #ingest(
    m: WireMessage,
    opts: { load: boolean },
  ): { added: boolean; reconciled: boolean; receipts: boolean; changed: number[] } {
    const channelId = m.channel_id;
    const r = this.#log.add(m);
    const mine = m.sender_id === this.#session?.user_id;
    const reconciled = mine && this.#outbox.delete(m.client_msg_id);
    if (reconciled) this.#sender.settled(m.client_msg_id);
    const changed = this.#fold.add(m);
    // A deleted message's text, and its edits', leave this device's memory too (§6.10).
    if (m.type === "delete" && m.target_seq !== undefined)
      this.#log.redact(channelId, [m.target_seq, ...this.#fold.editsOf(channelId, m.target_seq)]);
    if (m.digest !== undefined) this.#log.redact(channelId, [m.seq]);
    const message = isMessage(m);
    if (r.added && message) changed.push(m.seq);
    if (r.added || reconciled || changed.length > 0) this.#views.delete(channelId);
    let receipts = false;
    if (r.added) {
      if (!mine) this.#undelivered.add(channelId); // acknowledged in the next batch
      if (message) {
        // A message ends its sender's typing indicator (§6.6): no frame says so.
        this.#typingIn.hide(channelId, m.sender_id);
        // Sending moves the sender's read marker to their message, without a `read` frame.
        receipts = this.#receipts.raise(channelId, m.sender_id, "read_seq", m.seq);
      }
    }
    if (r.unknown) {
      if (opts.load) this.#catchUp.loadLatestQuietly(channelId); // a channel new to this device
    } else if (r.gap) {
      this.#catchUp.scheduleFill(channelId);
    }
    return { added: r.added, reconciled, receipts, changed };
  }

  #applyLive(m: WireMessage): void {
    if (this.#chainError(m.channel_id, () => this.#chain.one(m))) return;
    const r = this.#ingest(m, { load: true });
    if (r.receipts) this.#events.emit("receipts", { channel_id: m.channel_id });
    const changed = this.#advanceSummary(m);
    if (changed) this.#emitSummary(m.channel_id);
    // The message itself, or the one an edit, delete or reaction changed (and replies quoting it).
    const seqs = new Set(r.changed);
    if (r.reconciled && isMessage(m)) seqs.add(m.seq);
    for (const seq of seqs) {
      const view = this.#view(m.channel_id, seq);
      if (view) this.#events.emit("message", { channel_id: m.channel_id, message: view });
    }
  }

  /**
   * Checks a page against the channel's hash chain before any of it is held; false (and an
   * `integrity` error event) if it does not chain.
   */
  #checkPage(
    channelId: string,
    prevHash: string | null | undefined,
    messages: readonly WireMessage[],
    emptyAt?: number,
  ): boolean {
    return !this.#chainError(channelId, () => this.#chain.page(channelId, prevHash, messages, emptyAt));
  }

  /** Runs a chain check; reports and returns its failure, if any. */
  #chainError(channelId: string, check: () => void): ChainIntegrityError | null {
    try {
      check();
      return null;
    } catch (err) {
      if (!(err instanceof ChainIntegrityError)) throw err;
      this.#events.emit("error", {
        code: err.code,
        message: err.message,
        channel_id: channelId,
        seq: err.seq,
      });
      return err;
    }
  }

  /** Ingests a batch; emits what changed except `history`. True if anything changed. */
  #ingestPage(channelId: string, messages: readonly WireMessage[]): boolean {
    let changed = false;
    let receipts = false;
    let summary = false;
    for (const m of messages) {
      const r = this.#ingest(m, { load: true });
      changed ||= r.added || r.reconciled || r.changed.length > 0;
      receipts ||= r.receipts;
      summary = this.#advanceSummary(m) || summary;
      const held = r.reconciled ? this.#view(m.channel_id, m.seq) : undefined;
      if (held) this.#events.emit("message", { channel_id: channelId, message: held });
    }
    if (receipts) this.#events.emit("receipts", { channel_id: channelId });
    if (summary) this.#emitSummary(channelId);
    return changed;
  }

  // ---------------------------------------------------------------------------------------------
  // Outbox

  #echo(e: OutboxEntry): ChatMessage {
    let echo = this.#echoes.get(e);
    if (!echo) {
      echo = {
        channel_id: e.channel_id,
        seq: 0,
        id: "",
        sender_id: this.#session?.user_id ?? "",
        client_msg_id: e.client_msg_id,
        text: e.text,
        ts: e.created_at,
        msg_count: 0,
        hash: "",
        ...(e.attachments && { attachments: e.attachments }),
        status: e.status,
        reactions: [],
        ...(e.error && { error: e.error }),
      };
      if (e.reply_to !== undefined) {
        echo.reply_to = e.reply_to;
        const quote = this.#fold.quote(e.channel_id, e.reply_to, (seq) => this.#log.get(e.channel_id, seq));
        if (quote) echo.reply = quote;
      }
      this.#echoes.set(e, echo);
    }
    return echo;
  }

  // ---------------------------------------------------------------------------------------------
  // DELIVERED, every 500 ms, one batch for the channels that received something (§11 "flushDelivered")

  #flushDelivered(): void {
    if (this.#undelivered.size === 0) return;
    const batch: { channel_id: string; seq: number }[] = [];
    for (const channelId of this.#undelivered) {
      const seq = this.#log.cursor(channelId); // everything up to here is held, without gaps
      if (seq === undefined) continue; // still loading: acknowledged once it has a cursor
      if (this.#viewing === channelId && this.#channel?.send({ type: "delivered", id: "delivered", seq })) {
        this.#undelivered.delete(channelId);
      } else {
        batch.push({ channel_id: channelId, seq });
      }
    }
    if (batch.length === 0 || !this.#user?.isOpen) return; // try again in the next batch
    for (let i = 0; i < batch.length; i += MAX_DELIVERED_CURSORS) {
      this.#user.send({
        type: "delivered",
        id: "delivered",
        cursors: batch.slice(i, i + MAX_DELIVERED_CURSORS),
      });
    }
    this.#deliveredBatch = batch.map((c) => c.channel_id);
    for (const c of batch) this.#undelivered.delete(c.channel_id);
  }

  // ---------------------------------------------------------------------------------------------
  // Conversation list, presence

  #putSummary(c: ChannelSummary): void {
    const known = this.#summaries.get(c.channel_id)?.summary;
    let next = c;
    // The list and `channel` frames can trail live entries: never move the head back.
    if (known && known.head_seq > c.head_seq) {
      next = {
        ...c,
        head_seq: known.head_seq,
        head_msg_count: known.head_msg_count,
        last_message: known.last_message,
        unread: Math.max(0, c.unread + known.head_msg_count - c.head_msg_count),
      };
    }
    this.#summaries.set(c.channel_id, { summary: next, at: Date.now() });
    if (!known || JSON.stringify(known) !== JSON.stringify(next)) {
      this.#events.emit("channel", { channel: next, removed: false });
    }
  }

  /**
   * An entry from the sockets moves its list entry (§2.3): the head; unread, by the messages it
   * adds (others' messages; an edit, delete or reaction adds none); the last message, or its
   * preview when an edit or a delete changes it.
   */
  #advanceSummary(m: WireMessage): boolean {
    const known = this.#summaries.get(m.channel_id);
    if (!known || m.seq <= known.summary.head_seq) return false;
    this.#listClock.touch(m.channel_id);
    const s = known.summary;
    const message = isMessage(m);
    const mine = m.sender_id === this.#session?.user_id;
    let last = s.last_message;
    if (message)
      last = { seq: m.seq, sender_id: m.sender_id, preview: messagePreview(m.text, m.attachments), ts: m.ts };
    else if (last && m.target_seq === last.seq) {
      if (m.type === "edit") last = { ...last, preview: preview(m.text), edited: true };
      else if (m.type === "delete") last = { ...last, preview: "", deleted: true };
    }
    const added = Math.max(0, m.msg_count - s.head_msg_count);
    known.summary = {
      ...s,
      head_seq: m.seq,
      head_msg_count: Math.max(s.head_msg_count, m.msg_count),
      read_seq: mine && message ? m.seq : s.read_seq,
      unread: mine && message ? 0 : s.unread + (mine ? 0 : added),
      last_message: last,
    };
    return true;
  }

  #emitSummary(channelId: string): void {
    const known = this.#summaries.get(channelId);
    if (known) this.#events.emit("channel", { channel: known.summary, removed: false });
  }

  /** Removed from a group, or left it: stop following it; its messages stay readable. */
  #removeChannel(c: ChannelSummary): void {
    const id = c.channel_id;
    this.#summaries.delete(id);
    this.#log.dropCursor(id);
    this.#receipts.forget(id);
    this.#undelivered.delete(id);
    if (this.#viewing === id) this.#stopChannelSocket(id);
    this.#events.emit("channel", { channel: c, removed: true });
  }

  #setPresence(userId: string, status: PresenceStatus, lastActiveAt: number): void {
    const known = this.#presence.get(userId);
    if (known?.status === status && known.last_active_at === lastActiveAt) return;
    this.#presence.set(userId, { status, last_active_at: lastActiveAt });
    this.#events.emit("presence", { user_id: userId, status, last_active_at: lastActiveAt });
  }

  #loadGroupPresence(channelId: string): void {
    const gen = this.#generation;
    const started = this.#presenceClock.start();
    this.request<GroupPresence>("GET", `/v1/groups/${enc(channelId)}/presence`)
      .then((r) => {
        if (gen !== this.#generation) return;
        for (const m of r.members) {
          if (!this.#presenceClock.stale(m.user_id, started))
            this.#setPresence(m.user_id, m.status, m.last_active_at);
        }
      })
      .catch((err) => this.#report(err, channelId));
  }

  /** A background call failed: tell the app, unless it is only the network (the sockets retry). */
  #report(err: unknown, channelId?: string): void {
    if (err instanceof ChatApiError && (err.code === "network" || err.code === "unauthenticated")) return;
    const code = err instanceof ChatApiError ? err.code : "internal";
    const message = err instanceof Error ? err.message : String(err);
    this.#events.emit("error", { code, message, ...(channelId && { channel_id: channelId }) });
  }

  // ---------------------------------------------------------------------------------------------
  // Session state

  #requireSession(): StoredSession {
    if (!this.#session) throw new Error("ChatClient: not signed in");
    return this.#session;
  }

  async #begin(r: AuthAnswer): Promise<void> {
    const wasConnected = this.#connected;
    this.#reset();
    const session: StoredSession = {
      user_id: r.user_id,
      device_id: r.device_id,
      handle: r.user.handle ?? "",
      access_token: r.access_token,
      refresh_token: r.refresh_token,
      access_expires_at: Date.now() + r.expires_in * 1000,
    };
    this.#session = session;
    await this.#persistSession(session);
    await this.#store.del(this.#keys.outbox);
    if (wasConnected) this.#updateState();
  }

  /** New tokens from a refresh: persisted first, then used. */
  async #adopt(s: StoredSession): Promise<void> {
    await this.#persistSession(s);
    if (this.#session?.device_id === s.device_id) this.#session = s;
    else await this.#persistSession(this.#session); // signed out meanwhile: do not resurrect
  }

  #persistSession(s: StoredSession | null): Promise<void> {
    const key = this.#keys.session;
    const write = this.#sessionWrites.then(() => (s ? this.#store.set(key, s) : this.#store.del(key)));
    this.#sessionWrites = write.catch(() => {});
    return write;
  }

  #signOut(reason: SignedOutReason): void {
    if (!this.#session) return;
    this.#reset();
    void this.#persistSession(null);
    void this.#outbox.flushed().then(() => this.#store.del(this.#keys.outbox));
    this.#updateState();
    this.#events.emit("signed_out", { reason });
  }

  /** Forgets everything of the current session, in memory. */
  #reset(): void {
    this.#teardown();
    this.#generation++;
    this.#session = null;
    this.#viewing = null;
    this.#log.clear();
    this.#chain.clear();
    this.#outbox.reset();
    this.#receipts.clear();
    this.#presence.clear();
    this.#presenceClock.clear();
    this.#friendBook.clear();
    this.#summaries.clear();
    this.#listClock.clear();
    this.#undelivered.clear();
    this.#readSent.clear();
    this.#readOut.cancel();
    this.#sender.reset();
    this.#fold.clear();
    this.#views.clear();
    this.#owners.clear();
  }
}

function socketState(status: SocketStatus | undefined): ConnectionState {
  return status === undefined || status === "stopped" ? "offline" : status;
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

/** A fresh idempotency key: a UUID (also where `crypto.randomUUID` is missing, as on plain http). */
function newClientMsgId(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
