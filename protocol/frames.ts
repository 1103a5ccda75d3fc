/**
 * @module protocol/frames
 * Every WebSocket frame, client → server and server → client, declared once as a valibot
 * schema; the TypeScript types are inferred from the schemas and never written twice.
 * Inbound frames pass through {@link parseClientFrame} before anything else happens.
 * Names on the wire are snake_case. Every frame carries `v: 1`; later versions only add
 * optional fields, so old clients can ignore what they do not know.
 */
import * as v from "valibot";
import type { MemberReceipt } from "./api.ts";
import { isReactionEmoji } from "./emoji.ts";
import { ChatError, type ErrorCode } from "./errors.ts";
import { isChannelId, isUlid } from "./ids.ts";

export const PROTOCOL_VERSION = 1;
/** The WebSocket subprotocol both sockets speak. */
export const SUBPROTOCOL = "edge-chat.v1";
/** A heartbeat the runtime answers without waking the Durable Object. */
export const HEARTBEAT = { request: "ping", response: "pong" } as const;

import { MAX_ATTACHMENTS_PER_MESSAGE, MAX_FRAME_CHARS, MAX_PAGE_MESSAGES } from "./limits.ts";

export {
  DEFAULT_PAGE_MESSAGES,
  MAX_ATTACHMENT_BYTES,
  MAX_ATTACHMENTS_PER_MESSAGE,
  MAX_FRAME_CHARS,
  MAX_MESSAGE_CODE_POINTS,
  MAX_PAGE_CHARS,
  MAX_PAGE_MESSAGES,
} from "./limits.ts";

const frameId = v.optional(v.pipe(v.string(), v.maxLength(64)));
const seq = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const ulid = v.pipe(v.string(), v.check(isUlid, "not an id"));
const channelId = v.pipe(v.string(), v.check(isChannelId, "not a channel id"));
/** The seq of a message an entry acts on (`target_seq`) or a reply answers (`reply_to`). */
export const TargetSeqSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(1));
/** A reaction: one emoji, or `""` to take one's reaction back (protocol/emoji.ts). */
export const EmojiSchema = v.pipe(
  v.string(),
  v.check(isReactionEmoji, "a reaction is one emoji, or empty to take it back"),
);
export const ClientMsgIdSchema = v.pipe(v.string(), v.minLength(1), v.maxLength(64));
/**
 * Text is only type-checked here: its length (in code points) is a domain rule with its own
 * error, `message_too_long` (domain/message-text). Frame and body size limits bound the input.
 */
export const MessageTextSchema = v.string();
/**
 * Attachments uploaded before the send (`POST /v1/channels/{id}/attachments`), by id: 1 to 10,
 * each once. A message with attachments may have an empty text (docs/protocol.md §8.10).
 */
export const AttachmentIdsSchema = v.pipe(
  v.array(ulid),
  v.minLength(1),
  v.maxLength(MAX_ATTACHMENTS_PER_MESSAGE),
  v.check((ids) => new Set(ids).size === ids.length, "an attachment is named twice"),
);

const base = { v: v.literal(PROTOCOL_VERSION), id: frameId };

/**
 * Post a message (channel socket), a reply with `reply_to`. `client_msg_id` makes retries
 * idempotent, forever.
 */
export const SendFrame = v.strictObject({
  ...base,
  type: v.literal("send"),
  client_msg_id: ClientMsgIdSchema,
  text: MessageTextSchema,
  reply_to: v.optional(TargetSeqSchema),
  attachments: v.optional(AttachmentIdsSchema),
});

/** Edit one's own message `target_seq` (channel socket): an `edit` entry of the log (§6.10). */
export const EditFrame = v.strictObject({
  ...base,
  type: v.literal("edit"),
  client_msg_id: ClientMsgIdSchema,
  target_seq: TargetSeqSchema,
  text: MessageTextSchema,
});

/** Delete message `target_seq` for everyone (channel socket): a `delete` entry (§6.10). */
export const DeleteFrame = v.strictObject({
  ...base,
  type: v.literal("delete"),
  client_msg_id: ClientMsgIdSchema,
  target_seq: TargetSeqSchema,
});

/** Set (or, with `""`, take back) my reaction to message `target_seq`: a `reaction` entry (§6.10). */
export const ReactFrame = v.strictObject({
  ...base,
  type: v.literal("react"),
  client_msg_id: ClientMsgIdSchema,
  target_seq: TargetSeqSchema,
  emoji: EmojiSchema,
});

/** Ask for the messages after `after_seq` (channel socket); answered by `messages` pages. */
export const SyncFrame = v.strictObject({
  ...base,
  type: v.literal("sync"),
  after_seq: seq,
  limit: v.optional(v.pipe(seq, v.minValue(1), v.maxValue(MAX_PAGE_MESSAGES))),
});

/** Move my read marker forward (channel socket). Markers never move back. */
export const ReadFrame = v.strictObject({
  ...base,
  type: v.literal("read"),
  seq,
});

/** Resume every channel from the device's cursors (user socket). */
export const ResumeFrame = v.strictObject({
  ...base,
  type: v.literal("resume"),
  cursors: v.pipe(v.array(v.strictObject({ channel_id: channelId, seq })), v.maxLength(10_000)),
});

/** This device has received everything up to `seq` in this channel (channel socket). */
export const DeliveredFrame = v.strictObject({ ...base, type: v.literal("delivered"), seq });

/** This device has received up to these seqs, for several channels at once (user socket). */
export const DeliveredManyFrame = v.strictObject({
  ...base,
  type: v.literal("delivered"),
  cursors: v.pipe(v.array(v.strictObject({ channel_id: channelId, seq })), v.maxLength(1_000)),
});

/** I am typing in this channel (channel socket). Sent at most once per 3 s; never stored. */
export const TypingFrame = v.strictObject({ ...base, type: v.literal("typing") });

const ChannelSocketFrame = v.variant("type", [
  SendFrame,
  EditFrame,
  DeleteFrame,
  ReactFrame,
  SyncFrame,
  ReadFrame,
  TypingFrame,
  DeliveredFrame,
]);
const UserSocketFrame = v.variant("type", [ResumeFrame, DeliveredManyFrame]);

export type SendFrame = v.InferOutput<typeof SendFrame>;
export type EditFrame = v.InferOutput<typeof EditFrame>;
export type DeleteFrame = v.InferOutput<typeof DeleteFrame>;
export type ReactFrame = v.InferOutput<typeof ReactFrame>;
export type SyncFrame = v.InferOutput<typeof SyncFrame>;
export type ReadFrame = v.InferOutput<typeof ReadFrame>;
export type ResumeFrame = v.InferOutput<typeof ResumeFrame>;
export type DeliveredManyFrame = v.InferOutput<typeof DeliveredManyFrame>;
export type ChannelClientFrame = v.InferOutput<typeof ChannelSocketFrame>;
export type UserClientFrame = v.InferOutput<typeof UserSocketFrame>;

const SOCKET_SCHEMAS = { channel: ChannelSocketFrame, user: UserSocketFrame } as const;
type SocketKind = keyof typeof SOCKET_SCHEMAS;
type FrameOf<K extends SocketKind> = v.InferOutput<(typeof SOCKET_SCHEMAS)[K]>;

export type ParseResult<T> = { ok: true; frame: T } | { ok: false; error: ChatError; ref?: string };

/** A frame read as JSON but not yet checked against its schema: its `type` and `id` are known. */
export interface DecodedFrame {
  json: unknown;
  /** The `type` field, if it is a string. */
  type: string | undefined;
  /** The `id` to copy into the reply as `ref`, when one could be read. */
  ref: string | undefined;
}

/**
 * Parses one inbound frame for a socket kind. Never throws: a malformed frame becomes a typed
 * error carrying the frame's `id` as `ref` when one could be read. The two halves,
 * {@link decodeClientFrame} and {@link checkClientFrame}, let a socket's limits run between
 * them: a frame over its limit is refused with its `ref` before its schema is checked.
 */
export function parseClientFrame<K extends SocketKind>(
  kind: K,
  raw: string | ArrayBuffer,
): ParseResult<FrameOf<K>> {
  const decoded = decodeClientFrame(raw);
  return decoded.ok ? checkClientFrame(kind, decoded.frame) : decoded;
}

/** Reads a frame as JSON text, within the size limit. */
export function decodeClientFrame(raw: string | ArrayBuffer): ParseResult<DecodedFrame> {
  if (typeof raw !== "string") {
    return { ok: false, error: new ChatError("bad_frame", "frames are JSON text, not binary") };
  }
  if (raw.length > MAX_FRAME_CHARS) {
    return {
      ok: false,
      error: new ChatError("frame_too_large", `frames are at most ${MAX_FRAME_CHARS} characters`),
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, error: new ChatError("bad_frame", "frame is not valid JSON") };
  }
  const type = typeof json === "object" && json !== null ? (json as { type?: unknown }).type : undefined;
  return { ok: true, frame: { json, type: typeof type === "string" ? type : undefined, ref: readRef(json) } };
}

/** Checks a decoded frame against the schemas of its socket kind. */
export function checkClientFrame<K extends SocketKind>(
  kind: K,
  decoded: DecodedFrame,
): ParseResult<FrameOf<K>> {
  const { json, type, ref } = decoded;
  const schema = SOCKET_SCHEMAS[kind];
  const known = schema.options.some((o) => o.entries.type.literal === type);
  if (!known) {
    return withRef(
      new ChatError("unknown_frame_type", `unknown frame type on the ${kind} socket: ${String(type)}`),
      ref,
    );
  }
  const result = v.safeParse(schema, json);
  if (!result.success) {
    return withRef(new ChatError("bad_frame", describeIssues(result.issues)), ref);
  }
  return { ok: true, frame: result.output as FrameOf<K> };
}

function readRef(json: unknown): string | undefined {
  if (typeof json !== "object" || json === null) return undefined;
  const id = (json as { id?: unknown }).id;
  return typeof id === "string" && id.length <= 64 ? id : undefined;
}

function withRef<T>(error: ChatError, ref: string | undefined): ParseResult<T> {
  return ref === undefined ? { ok: false, error } : { ok: false, error, ref };
}

/** One readable line from valibot issues: `text: Invalid type ...; seq: ...`. */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues
    .slice(0, 5)
    .map((i) => {
      const path = v.getDotPath(i);
      return path ? `${path}: ${i.message}` : i.message;
    })
    .join("; ");
}

// ---------------------------------------------------------------------------------------------
// Server → client. Built with `satisfies ServerFrame` at every send site.

/**
 * A file or image sent with a message (docs/protocol.md §2.2). Its bytes are read through
 * `GET /v1/channels/{channel_id}/attachments/{id}` (and `/preview`), by members only.
 */
export interface WireAttachment {
  id: string;
  /** `image`: a JPEG, PNG, GIF or WebP the server read and made a preview of; `file`: anything else. */
  kind: "image" | "file";
  /** The name it was uploaded with. */
  name: string;
  /** Its media type: the sniffed one when the server recognises the bytes, else the declared one. */
  type: string;
  /** Bytes. */
  size: number;
  /** Images only: the size it is shown at (EXIF orientation applied), and its preview's. */
  width?: number;
  height?: number;
  preview?: { width: number; height: number };
}

/** The entries of a log besides messages: each acts on an earlier message (`target_seq`). */
export type EntryType = "edit" | "delete" | "reaction";

/** The message a reply answers, resolved when the frame is made (docs/protocol.md §2.2). */
export interface ReplyQuote {
  seq: number;
  sender_id: string;
  /** The first 100 code points of its current text; `""` once it was deleted. */
  preview: string;
  deleted: boolean;
}

/**
 * What became of a message, resolved when the frame is made: it accounts for every entry up to
 * `as_of` (apply later ones on top). Present once the message was edited, deleted or reacted to.
 */
export interface MessageState {
  as_of: number;
  /** The newest edit. */
  edited?: { seq: number; ts: number; text: string };
  /** The tombstone: the message's text (and its edits') left storage. */
  deleted?: { seq: number; ts: number; by: string };
  /** Each emoji in use, in the order first used, with who reacted with it. */
  reactions?: { emoji: string; user_ids: string[] }[];
}

/**
 * One entry of a channel's log as every client sees it (docs/protocol.md §2.2): a message (no
 * `type`), or an edit, a delete or a reaction of an earlier message. The name is older than the
 * other entry types: every frame that carries history carries these.
 */
export interface WireMessage {
  /** Absent on a message. */
  type?: EntryType;
  channel_id: string;
  seq: number;
  id: string;
  sender_id: string;
  client_msg_id: string;
  /** A message's text, an edit's new text; `""` for a delete, a reaction, or a deleted text. */
  text: string;
  /** Server time, ms since the epoch. Client clocks never decide order. */
  ts: number;
  /** Messages in the channel up to and including this entry: what unread counts count. */
  msg_count: number;
  /**
   * The channel log's chain hash after this entry: SHA-256 of the previous entry's hash and
   * this entry's digest, 64 hex digits (domain/log-chain.ts, docs/protocol.md §2.6).
   */
  hash: string;
  /** A reply: the seq of the message of this channel it answers. */
  reply_to?: number;
  /** An edit, delete or reaction: the seq of the message it acts on. */
  target_seq?: number;
  /** A reaction: its sender's reaction from now on; `""` when taken back. */
  emoji?: string;
  /** Set when the entry's text was removed (its message was deleted): its digest, in hex. */
  digest?: string;
  /** Resolved on read (not in the chain): the message a reply answers. */
  reply?: ReplyQuote;
  /** Resolved on read (not in the chain): edits, delete and reactions of a message. */
  state?: MessageState;
  /** Files and images sent with the message (absent when none). Covered by the chain (§2.6). */
  attachments?: WireAttachment[];
}

/** One conversation in a user's list. */
export interface ChannelSummary {
  channel_id: string;
  kind: "dm" | "group";
  name: string | null;
  head_seq: number;
  read_seq: number;
  unread: number;
  /** I muted this channel: no push notifications for it. */
  muted: boolean;
  /** Messages up to `head_seq` (docs/protocol.md §2.3): `unread` counts messages, not entries. */
  head_msg_count: number;
  last_message: LastMessage | null;
}

/** The newest message of a channel, for the conversation list (never another entry type). */
export interface LastMessage {
  seq: number;
  sender_id: string;
  /** The first 100 code points of its current text (`""` once deleted). */
  preview: string;
  ts: number;
  edited?: boolean;
  deleted?: boolean;
}

/** What anyone may see of a user. A deleted account shows as "Deleted user". */
export interface PublicUser {
  id: string;
  handle: string | null;
  display_name: string;
  deleted: boolean;
}

/**
 * A relation with another user, from the receiving user's side: as in `GET /v1/friends`
 * (`outgoing`, `incoming`, `friends`), `blocked` (I block them), or `none` (no relation left).
 */
export type FriendFrameState = "outgoing" | "incoming" | "friends" | "blocked" | "none";

export type ServerFrame =
  | {
      v: 1;
      type: "hello";
      socket: "user" | "channel";
      user_id: string;
      device_id: string;
      channel_id?: string;
      head_seq?: number;
      heartbeat_ms: number;
    }
  | {
      v: 1;
      type: "ack";
      ref?: string;
      client_msg_id: string;
      channel_id: string;
      seq: number;
      id: string;
      ts: number;
      msg_count: number;
      hash: string;
    }
  | { v: 1; type: "message"; message: WireMessage }
  | {
      v: 1;
      type: "messages";
      ref?: string;
      channel_id: string;
      messages: WireMessage[];
      complete: boolean;
      next_after_seq: number;
      /** The chain hash at `messages[0].seq - 1`, or at `next_after_seq` for an empty page. */
      prev_hash: string;
    }
  | { v: 1; type: "channel"; channel: ChannelSummary; removed?: boolean }
  | { v: 1; type: "receipts"; channel_id: string; members: MemberReceipt[] }
  | { v: 1; type: "resumed"; ref?: string; channels: number; messages: number }
  | {
      v: 1;
      type: "presence";
      user_id: string;
      status: "online" | "offline";
      last_active_at: number;
      channel_id?: string;
    }
  | { v: 1; type: "typing"; channel_id: string; users: { user_id: string; expires_at: number }[] }
  | { v: 1; type: "typing_stopped"; channel_id: string; user_id: string }
  | { v: 1; type: "friend"; user: PublicUser; state: FriendFrameState; since: number }
  | { v: 1; type: "error"; code: ErrorCode; message: string; ref?: string; retry_after_ms?: number };

export function errorFrame(err: ChatError, ref?: string): ServerFrame {
  const frame: ServerFrame = { v: 1, type: "error", code: err.code, message: err.message };
  if (ref !== undefined) frame.ref = ref;
  if (err.retryAfterMs !== undefined) frame.retry_after_ms = err.retryAfterMs;
  return frame;
}
