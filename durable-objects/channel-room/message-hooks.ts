/**
 * @module durable-objects/channel-room/message-hooks
 * The one interface through which a channel tells the data kept beside a message that the
 * message changed (issue #19's deletes and edits call it; ChannelRoom.hooks implements it):
 * the message's attachments (their records and R2 objects) and its search entry.
 */
import type { WireMessage } from "../../protocol/frames.ts";

export interface MessageHooks {
  /** The message at `seq` was deleted: its attachments go (records, then objects), and search forgets it. */
  deleted(seq: number): Promise<void>;
  /** The message at `seq` now reads `m`: search finds it by its new text (and attachment names). */
  edited(seq: number, m: Pick<WireMessage, "text" | "attachments">): void;
}
