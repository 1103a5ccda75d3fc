/**
 * @module protocol/rpc
 * Shapes that travel between Durable Objects over native RPC (structured clone, not JSON).
 * Only the channel → user update lives here; the Worker → DO calls use the API types.
 */
import type { LastMessage, WireMessage } from "./frames.ts";

/**
 * What a ChannelRoom sends a member's UserInbox: the channel's identity and head, this
 * member's markers, and the messages the inbox has not had yet (ascending, gap-free from the
 * last update, possibly a page of them: more follow in the next call). `removed` says the
 * user is no longer a member.
 */
export interface InboxUpdate {
  channel_id: string;
  kind: "dm" | "group";
  name: string | null;
  head_seq: number;
  read_seq: number;
  joined_seq: number;
  /**
   * Message counts at the head, the read marker and the join point (docs/protocol.md §2.1
   * `msg_count`): unread is the messages between, never edits, deletes or reactions.
   */
  head_msg_count: number;
  read_msg_count: number;
  joined_msg_count: number;
  /**
   * The newest message as the list shows it (its current preview, edited or deleted); absent
   * when the channel cannot say (then the newest message among `messages` stands).
   */
  last_message?: LastMessage | null;
  removed: boolean;
  /** The entries the inbox has not had yet: messages, edits, deletes, reactions. */
  messages: WireMessage[];
  /** The chain hash before `messages[0]`: entries other than messages reach devices as one page. */
  prev_hash?: string;
  /**
   * Devices of this user that are viewing the channel (a live channel socket): they already
   * have these messages, so the user object advances their streams without sending.
   */
  viewing_devices: string[];
}

/** The user object's answer: which of its devices hold a user socket right now. */
export interface InboxUpdateResult {
  devices: string[];
}

/**
 * One entry a member writes (socket frame or REST call, docs/protocol.md §6.10): a message
 * (a reply with `reply_to`), or an edit, a delete or a reaction of the message `target_seq`.
 */
export type EntryRequest =
  | { kind: "message"; client_msg_id: string; text: string; attachments?: string[]; reply_to?: number }
  | { kind: "edit"; client_msg_id: string; target_seq: number; text: string }
  | { kind: "delete"; client_msg_id: string; target_seq: number }
  | { kind: "reaction"; client_msg_id: string; target_seq: number; emoji: string };

/** A block between two members: `[blocker, blocked]` (docs/protocol.md §6.9). */
export type BlockPair = [blockerId: string, blockedId: string];

export interface CreateChannelInput {
  channelId: string;
  kind: "dm" | "group";
  name: string | null;
  ownerId: string | null;
  memberIds: string[];
  /** Blocks among the members, as D1 has them when the channel is created. */
  blocks?: BlockPair[];
}

export interface HistoryPage {
  channel_id: string;
  messages: WireMessage[];
  /** More messages in the direction of paging (around a message: in either direction). */
  has_more: boolean;
  /** The chain hash of the entry before `messages[0]`; null for an empty page. */
  prev_hash: string | null;
  /** Around a message only: its seq, and whether more lie before and after the page. */
  target_seq?: number;
  has_more_before?: boolean;
  has_more_after?: boolean;
}

export interface ReadAfterResult {
  messages: WireMessage[];
  head_seq: number;
  complete: boolean;
  /** The seq the next page starts after: the last message sent, or the member's join point. */
  next_after_seq: number;
  /** The chain hash at `messages[0].seq - 1`, or at `next_after_seq` for an empty page. */
  prev_hash: string;
}

/** One page of a member's export from a channel (ChannelRoom.exportPage). */
export interface ExportPage {
  channel_id: string;
  joined_seq: number;
  head_seq: number;
  /** The member's messages of the page (only its own for `mine`), ascending. */
  messages: WireMessage[];
  /** Those messages' attachments, with their R2 keys and CRC-32 (null for an upload that predates it). */
  attachments: { seq: number; id: string; name: string; size: number; crc32: number | null; key: string }[];
  /** Where the next page starts; null once the page reached the head. */
  next_after_seq: number | null;
}
