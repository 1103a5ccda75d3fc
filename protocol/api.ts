/**
 * @module protocol/api
 * The bodies of the REST API under /v1, as valibot schemas. Routes validate with these and
 * nothing else; the types are inferred. See docs/protocol.md for every endpoint.
 */
import * as v from "valibot";
import {
  AttachmentIdsSchema,
  ClientMsgIdSchema,
  EmojiSchema,
  MessageTextSchema,
  TargetSeqSchema,
  type WireAttachment,
} from "./frames.ts";
import { isChannelId, isUlid } from "./ids.ts";

export const MAX_GROUP_MEMBERS = 100;

const trimmed = (max: number) => v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(max));
export const HandleSchema = v.pipe(
  v.string(),
  v.trim(),
  v.toLowerCase(),
  v.regex(/^[a-z0-9_]{3,32}$/, "a handle is 3 to 32 letters, digits or underscores"),
);
const Password = v.pipe(v.string(), v.minLength(8, "a password has at least 8 characters"), v.maxLength(256));
export const UserIdSchema = v.pipe(v.string(), v.check(isUlid, "not a user id"));
const DeviceIdSchema = v.pipe(v.string(), v.check(isUlid, "not a device id"));
export const ChannelIdSchema = v.pipe(v.string(), v.check(isChannelId, "not a channel id"));
const Device = v.optional(
  v.strictObject({
    name: v.optional(trimmed(64), "unnamed device"),
    platform: v.optional(trimmed(32), "unknown"),
  }),
  { name: "unnamed device", platform: "unknown" },
);

export const SignupBody = v.strictObject({
  handle: HandleSchema,
  display_name: trimmed(64),
  password: Password,
  device: Device,
});

export const LoginBody = v.strictObject({
  handle: v.pipe(v.string(), v.trim(), v.toLowerCase(), v.maxLength(64)),
  password: v.pipe(v.string(), v.maxLength(256)),
  device: Device,
  /**
   * At the cap on devices (`too_many_devices`): the device to sign out so that this login can
   * take its place, chosen from the list the refusal gave.
   */
  replace_device_id: v.optional(DeviceIdSchema),
});

export const RefreshBody = v.strictObject({
  refresh_token: v.pipe(v.string(), v.minLength(1), v.maxLength(512)),
});

export const UpdateMeBody = v.pipe(
  v.strictObject({
    display_name: v.optional(trimmed(64)),
    invisible: v.optional(v.boolean()),
    hide_previews: v.optional(v.boolean()),
  }),
  v.check((b) => Object.keys(b).length > 0, "nothing to update"),
);

export const UserRefBody = v.strictObject({ user_id: UserIdSchema });

export const CreateGroupBody = v.strictObject({
  name: trimmed(100),
  member_ids: v.optional(v.pipe(v.array(UserIdSchema), v.maxLength(MAX_GROUP_MEMBERS)), []),
});

export const RenameGroupBody = v.strictObject({ name: trimmed(100) });

export const AddMembersBody = v.strictObject({
  user_ids: v.pipe(v.array(UserIdSchema), v.minLength(1), v.maxLength(MAX_GROUP_MEMBERS)),
});

export const PostMessageBody = v.strictObject({
  client_msg_id: ClientMsgIdSchema,
  text: MessageTextSchema,
  reply_to: v.optional(TargetSeqSchema),
  attachments: v.optional(AttachmentIdsSchema),
});

/** `POST /v1/channels/{id}/messages/{seq}/edit`: the `edit` frame's body (docs/protocol.md §6.10). */
export const EditBody = v.strictObject({ client_msg_id: ClientMsgIdSchema, text: MessageTextSchema });

/** `POST /v1/channels/{id}/messages/{seq}/delete`. */
export const DeleteBody = v.strictObject({ client_msg_id: ClientMsgIdSchema });

/** `POST /v1/channels/{id}/messages/{seq}/reactions`: `emoji` `""` takes one's reaction back. */
export const ReactBody = v.strictObject({ client_msg_id: ClientMsgIdSchema, emoji: EmojiSchema });

/** The `{seq}` of a message in a path. */
export const MessageSeqParam = v.pipe(
  v.string(),
  v.regex(/^[1-9][0-9]{0,15}$/),
  v.toNumber(),
  v.safeInteger(),
);

export const ReadBody = v.strictObject({ seq: v.pipe(v.number(), v.safeInteger(), v.minValue(0)) });

export const HistoryQuery = v.strictObject({
  before: v.optional(v.pipe(v.string(), v.toNumber(), v.safeInteger(), v.minValue(1))),
  after: v.optional(v.pipe(v.string(), v.toNumber(), v.safeInteger(), v.minValue(0))),
  /** Jump to a message: the page around this seq, or around the message with this id. */
  around: v.optional(v.pipe(v.string(), v.toNumber(), v.safeInteger(), v.minValue(1))),
  around_id: v.optional(v.pipe(v.string(), v.check(isUlid, "not a message id"))),
  limit: v.optional(v.pipe(v.string(), v.toNumber(), v.safeInteger(), v.minValue(1), v.maxValue(200)), "50"),
});

export const ConnectBody = v.optional(v.strictObject({ channel_id: v.optional(ChannelIdSchema) }), {});

export const ChangePasswordBody = v.strictObject({ current_password: v.string(), new_password: Password });

export const DeleteAccountBody = v.strictObject({ password: v.string() });

export type SignupBody = v.InferOutput<typeof SignupBody>;
export type CreateGroupBody = v.InferOutput<typeof CreateGroupBody>;

/** What a group or 1:1 channel looks like over the API. */
export interface ChannelInfo {
  channel_id: string;
  kind: "dm" | "group";
  name: string | null;
  owner_id: string | null;
  created_at: number;
  head_seq: number;
  members: { user_id: string; role: "owner" | "admin" | "member"; joined_at: number }[];
}

/** Every member's markers: "delivered to 80 of 99, read by 37" is computed from these. */
/** One member's markers (docs/protocol.md §6.4); `delivered_seq` already includes `read_seq`. */
export interface MemberReceipt {
  user_id: string;
  joined_seq: number;
  delivered_seq: number;
  read_seq: number;
}

export interface Receipts {
  channel_id: string;
  /** A member counts for a message only if `joined_seq < seq` (it could see the message). */
  members: MemberReceipt[];
}

export const MuteBody = v.strictObject({ muted: v.boolean() });

export interface Ack {
  client_msg_id: string;
  channel_id: string;
  seq: number;
  id: string;
  ts: number;
  /** Messages in the channel up to and including this entry (docs/protocol.md §2.1). */
  msg_count: number;
  /** The chain hash after the entry (docs/protocol.md §2.6). */
  hash: string;
}

const searchText = v.pipe(v.string(), v.minLength(1), v.maxLength(200));
const searchLimit = v.optional(
  v.pipe(v.string(), v.toNumber(), v.safeInteger(), v.minValue(1), v.maxValue(50)),
  "20",
);

/** `GET /v1/channels/{id}/search`: one conversation, newest first, older pages with `before`. */
export const ChannelSearchQuery = v.strictObject({
  q: searchText,
  before: v.optional(v.pipe(v.string(), v.toNumber(), v.safeInteger(), v.minValue(1))),
  limit: searchLimit,
});

/** `GET /v1/search`: every conversation of mine, newest first, older pages with `cursor`. */
export const SearchQuery = v.strictObject({
  q: searchText,
  cursor: v.optional(v.pipe(v.string(), v.maxLength(16_000))),
  limit: searchLimit,
});

/** One message that matched a search: where it is, who sent it when, and its text around the match. */
export interface SearchHit {
  channel_id: string;
  seq: number;
  id: string;
  sender_id: string;
  ts: number;
  /** The text around the first match (at most ~160 units, with "…" where cut). */
  text: string;
  /** `[start, end)` offsets in `text`, UTF-16 units: what matched. */
  highlights: [number, number][];
  attachments?: WireAttachment[] | undefined;
}

/** One conversation's search page. */
export interface ChannelSearchPage {
  channel_id: string;
  hits: SearchHit[];
  /** Pass as `before` for older hits; null: no more. */
  next_before: number | null;
  /**
   * True when messages this page should have looked at were not searched: the channel's index is
   * still catching up with an old history (docs/architecture.md "Search").
   */
  partial: boolean;
}

/** The search across conversations. */
export interface SearchPage {
  hits: SearchHit[];
  /** Pass as `cursor` for older hits; null: no more. */
  next_cursor: string | null;
  /** Conversations whose index is still catching up (their older hits may be missing). */
  partial_channels: string[];
  /** How many conversations were searched, and how many of the user's were left out (§8.11). */
  channels_searched: number;
  channels_skipped: number;
}

/** `GET /v1/account/export`: `mine` (every message I sent) or `all` (every message of my conversations). */
export const ExportQuery = v.strictObject({
  scope: v.optional(v.picklist(["mine", "all"]), "mine"),
});
