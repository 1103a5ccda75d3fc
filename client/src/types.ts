/**
 * @module client/types
 * The SDK's public types. Wire shapes come from the protocol module (`protocol/*.ts`, imported
 * as types only, so the bundle carries none of the server's code); what the wire does not name
 * (a held message with its delivery status, the events, the connection state) is declared here.
 * Names on the wire stay snake_case, as in docs/protocol.md.
 */
import type {
  Ack,
  ChannelInfo,
  ChannelSearchPage,
  Receipts,
  SearchHit,
  SearchPage,
} from "../../protocol/api.ts";
import type { ErrorCode } from "../../protocol/errors.ts";
import type {
  ChannelSummary,
  EntryType,
  FriendFrameState,
  LastMessage,
  MessageState,
  PublicUser,
  ReplyQuote,
  ServerFrame,
  WireAttachment,
  WireMessage,
} from "../../protocol/frames.ts";
import type { HistoryPage } from "../../protocol/rpc.ts";

export type {
  Ack,
  ChannelInfo,
  ChannelSearchPage,
  ChannelSummary,
  EntryType,
  ErrorCode,
  FriendFrameState,
  HistoryPage,
  LastMessage,
  MessageState,
  PublicUser,
  Receipts,
  ReplyQuote,
  SearchHit,
  SearchPage,
  ServerFrame,
  WireAttachment,
  WireMessage,
};

/** One server frame type, by its `type`. */
export type ServerFrameOf<T extends ServerFrame["type"]> = Extract<ServerFrame, { type: T }>;

/**
 * Where the client stands, as the app should show it:
 *
 * - `"offline"`: not connected on purpose. Before {@link ChatClient.connect}, after
 *   {@link ChatClient.disconnect}, after sign-out, after the server replaced this device's user
 *   socket (close 4009), and whenever the browser reports `navigator.onLine === false`.
 * - `"connecting"`: `connect()` was called and the user socket has not said `hello` yet.
 * - `"open"`: the user socket is up (its `hello` arrived; the resume follows at once).
 * - `"reconnecting"`: the user socket was open and dropped; it is coming back with backoff.
 */
export type ConnectionState = "connecting" | "open" | "reconnecting" | "offline";

/** `pending`: local echo, not stored yet. `sent`: stored by the server (it has a `seq`). `failed`: will never be stored. */
export type MessageStatus = "pending" | "sent" | "failed";

/** One emoji's reactions to a message: how many, who, and whether I am among them. */
export interface Reaction {
  emoji: string;
  count: number;
  user_ids: string[];
  mine: boolean;
}

/**
 * A message as the app shows it: the log's message (docs/protocol.md §2.2) with what the entries
 * after it made of it, edits, a delete, reactions (client/src/entry-fold.ts), and what this
 * device has asked for and the server has not stored yet (`pending`). Only messages: the edits,
 * deletes and reactions themselves are never listed. The fields it shares with the wire's are
 * the wire's (`WireMessage`). A local echo (`pending` or `failed`) has `seq: 0`, `msg_count: 0`,
 * `id: ""`, `hash: ""`, the device's `sender_id`, and `ts` set to the local time it was written.
 */
export interface ChatMessage
  extends Pick<
    WireMessage,
    "channel_id" | "seq" | "id" | "sender_id" | "client_msg_id" | "ts" | "msg_count" | "hash" | "reply_to"
  > {
  /** The text to show: the newest edit's (see `edited`), `""` once deleted. */
  text: string;
  /** Files and photos sent with it (absent when none, and once deleted). */
  attachments?: WireAttachment[];
  status: MessageStatus;
  error?: { code: string; message: string };
  /** The message this one answers: its sender and a preview of its current text, or deleted. */
  reply?: ReplyQuote;
  /** The text shown is an edit's: its seq and time (`seq: 0` and `pending` while on its way). */
  edited?: { seq: number; ts: number; pending?: boolean };
  /** A tombstone: deleted, when and by whom (`seq: 0` and `pending` while on its way). */
  deleted?: { seq: number; ts: number; by: string; pending?: boolean };
  /** Reactions, each emoji in the order first used; empty when none (and once deleted). */
  reactions: Reaction[];
}

export type PresenceStatus = ServerFrameOf<"presence">["status"];

/** A user's presence: `last_active_at` is 0 when unknown or invisible. */
export interface Presence {
  status: PresenceStatus;
  last_active_at: number;
}

/** Delivery ticks of one of my messages: "delivered to `delivered` of `others`, read by `read`". */
export interface Ticks {
  others: number;
  delivered: number;
  read: number;
}

/** `GET /v1/users/me` (§8.2). */
export interface Me extends PublicUser {
  invisible: boolean;
  hide_previews: boolean;
  created_at: number;
}

export type FriendState = "outgoing" | "incoming" | "friends";

/** `GET /v1/friends` (§8.3). `presence` is present for state `friends` only. */
export interface FriendsList {
  friends: { user: PublicUser; state: FriendState; since: number; presence?: Presence }[];
  blocked: { user: PublicUser; since: number }[];
}

/** `GET /v1/groups/{id}/presence` (§8.5). */
export interface GroupPresence {
  channel_id: string;
  members: ({ user_id: string } & Presence)[];
}

/** `GET /v1/devices` (§8.6). */
export interface DeviceInfo {
  device_id: string;
  name: string;
  platform: string;
  created_at: number;
  last_seen_at: number;
  revoked_at: number | null;
  current: boolean;
}

/** `POST /v1/connect` (§4.1). */
export interface ConnectInfo {
  url: string;
  ticket: string;
  expires_at: number;
  protocol: string;
}

/** The body of signup, login and refresh (§3.1); signup and login add `user`. */
export interface SessionTokens {
  user_id: string;
  device_id: string;
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

/** Who is signed in on this client. */
export interface Session {
  user_id: string;
  device_id: string;
  handle: string;
}

/** What the client persists about the session (in its {@link ClientStore}). */
export interface StoredSession extends Session {
  access_token: string;
  refresh_token: string;
  /** Local time after which the access token is treated as expired. */
  access_expires_at: number;
}

/** The body `PushSubscription.toJSON()` returns, as `PUT /v1/push/subscription` takes it (§8.9). */
export interface PushSubscriptionBody {
  endpoint?: string;
  expirationTime?: number | null;
  keys?: Record<string, string>;
}

export type SignedOutReason = "logout" | "revoked" | "expired";

/** Every event of {@link ChatClient.on}. */
export interface ChatEvents {
  /** The connection state changed. */
  state: { state: ConnectionState };
  /** The channel socket of the conversation on screen changed state (`offline` once it is closed). */
  conversation_state: { channel_id: string; state: ConnectionState };
  /** A message is new, or changed (pending → sent, pending → failed). */
  message: { channel_id: string; message: ChatMessage };
  /** Messages were merged in a batch (history, sync or resume page) or removed: read `messages(channel_id)` again. */
  history: { channel_id: string };
  /** A conversation-list entry changed (name, unread, last message), or the user left it (`removed`). */
  channel: { channel: ChannelSummary; removed: boolean };
  /**
   * A relation changed, on this device or another, or on the other person's side: a request
   * (`incoming` or `outgoing`), an acceptance (`friends`), a decline, withdrawal or unfriending
   * (`none`), a block of yours (`blocked`). The `friends` event follows.
   */
  friend: { user: PublicUser; state: FriendFrameState; since: number };
  /**
   * The friends list changed: after a `friend` event, or when a fresh list arrived (the client
   * reads one after each connection of the user socket). `list` is {@link ChatClient.friendList}.
   */
  friends: { list: FriendsList };
  /** A friend's or a viewed member's presence changed. */
  presence: { user_id: string; status: PresenceStatus; last_active_at: number };
  /** Who is typing in a channel changed. */
  typing: { channel_id: string; user_ids: string[] };
  /** Delivered or read markers of a channel moved: recompute `ticks`. */
  receipts: { channel_id: string };
  /** The session ended; the client is offline and has forgotten it. */
  signed_out: { reason: SignedOutReason };
  /**
   * Something the app may want to show: an `error` frame (`code` from the protocol), a send
   * refused for now (`blocked` or `not_friends`, with `client_msg_id`), sends refused as too fast
   * (`rate_limited`, with `client_msg_id` and `retry_after_ms`: once when a channel's outbox
   * starts waiting; it goes again by itself), `replaced` (close 4009), `not_a_member` (a
   * channel socket was closed with 4003, or cannot connect) or `integrity` (a message or page
   * of `channel_id` did not chain to the history held, from `seq`: it was refused, see
   * {@link ChainIntegrityError}).
   */
  error: {
    code: string;
    message: string;
    ref?: string;
    channel_id?: string;
    client_msg_id?: string;
    retry_after_ms?: number;
    seq?: number;
  };
}
