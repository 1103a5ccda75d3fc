/**
 * @module domain/entries
 * Who may write which entry of a channel's log, and on what (docs/protocol.md §6.10): an edit,
 * a delete or a reaction acts on a message of the channel that the writer can read and that is
 * not deleted, and so does a reply; only the sender edits a message; the sender deletes it, or
 * in a group its owner. Pure rules over what the channel looked up; the ChannelRoom applies them.
 */

import { ChatError } from "../protocol/errors.ts";
import type { EntryType } from "../protocol/frames.ts";
import type { Role } from "./membership.ts";

/** What a request asks to write: a message (with `reply_to`, a reply) or another entry. */
export type EntryKind = "message" | EntryType;

/** The message an entry would act on, as the channel found it (null: no entry at that seq). */
export interface TargetView {
  seq: number;
  /** Absent for a message. */
  type?: EntryType;
  sender_id: string;
}

/** The writer, as a member of the channel. */
export interface WriterView {
  userId: string;
  role: Role;
  /** The writer reads entries after this seq only. */
  joinedSeq: number;
}

/**
 * Refuses unless `target` is a message this writer can read and that is not deleted: the same
 * answer (`not_found`) for every way it is not, so nothing is learned of what lies before a
 * member's join point.
 */
export function checkTarget(
  target: TargetView | null,
  writer: WriterView,
  headSeq: number,
  deleted: boolean,
): TargetView {
  if (
    !target ||
    target.type !== undefined ||
    target.seq > headSeq ||
    target.seq <= writer.joinedSeq ||
    deleted
  )
    throw new ChatError("not_found", "no such message in this channel (or it was deleted)");
  return target;
}

/** Refuses unless this writer may write an entry of `kind` on `target` (a readable message). */
export function checkWrite(
  kind: EntryKind,
  target: TargetView,
  writer: WriterView,
  channelKind: "dm" | "group",
): void {
  if (kind === "edit" && target.sender_id !== writer.userId)
    throw new ChatError("forbidden", "you can only edit your own messages");
  if (kind === "delete" && target.sender_id !== writer.userId) {
    if (channelKind !== "group" || writer.role !== "owner")
      throw new ChatError(
        "forbidden",
        "you can only delete your own messages (a group's owner can delete any)",
      );
  }
}
