/**
 * @module workers/friend-events
 * Friend requests, acceptances, declines, unfriendings and blocks change D1 only; this tells
 * the users' connected devices, as `friend` frames on their user sockets (docs/protocol.md
 * §7.6), through each user's object. Best effort: D1 is the truth, and a device that missed a
 * frame (not connected, or a failed call) reads `GET /v1/friends` after its next connection.
 */

import { log } from "../observability/log.ts";
import type { FriendFrameState, PublicUser } from "../protocol/frames.ts";
import { inboxStub } from "./context.ts";

export interface FriendChange {
  /** Whose devices are told. */
  to: string;
  /** The other user of the relation, as `to` sees them. */
  user: PublicUser;
  /** The relation from `to`'s side now. */
  state: FriendFrameState;
  since: number;
}

export async function announceFriendChanges(env: Env, changes: FriendChange[]): Promise<void> {
  const sent = await Promise.allSettled(
    changes.map((ch) => inboxStub(env, ch.to).friendChanged(ch.user, ch.state, ch.since)),
  );
  const failed = sent.flatMap((r, i) => (r.status === "rejected" ? [changes[i]?.to] : []));
  if (failed.length > 0)
    log.warn("friends.not_told", { user_ids: failed.flatMap((id) => (id ? [id] : [])), of: changes.length });
}
