/**
 * @module domain/membership
 * Who may do what in a group, and who owns it after the owner leaves. Pure rules over the
 * member list; the ChannelRoom applies them.
 */
import { MAX_GROUP_MEMBERS } from "../protocol/api.ts";
import { ChatError } from "../protocol/errors.ts";

export type Role = "owner" | "admin" | "member";

export interface MemberView {
  userId: string;
  role: Role;
  joinedAt: number;
}

export function requireMember<M extends MemberView>(members: M[], userId: string): M {
  const m = members.find((x) => x.userId === userId);
  // The same answer whether the channel exists or not, so ids cannot be probed.
  if (!m) throw new ChatError("not_a_member", "you are not a member of this channel");
  return m;
}

export function canManage(role: Role): boolean {
  return role === "owner" || role === "admin";
}

/** Refuses unless the actor may add these users and the group stays within 100 members. */
export function checkAdd(members: MemberView[], actorId: string, userIds: string[]): string[] {
  const actor = requireMember(members, actorId);
  if (!canManage(actor.role)) throw new ChatError("forbidden", "only the owner or an admin can add members");
  const current = new Set(members.map((m) => m.userId));
  const fresh = [...new Set(userIds)].filter((id) => !current.has(id));
  if (members.length + fresh.length > MAX_GROUP_MEMBERS) {
    throw new ChatError(
      "group_full",
      `a group has at most ${MAX_GROUP_MEMBERS} members; it has ${members.length}, so ${MAX_GROUP_MEMBERS - members.length} more fit`,
    );
  }
  return fresh;
}

/** Refuses unless the actor may remove `targetId` (anyone may remove themselves: leaving). */
export function checkRemove(members: MemberView[], actorId: string, targetId: string): void {
  const actor = requireMember(members, actorId);
  const target = members.find((m) => m.userId === targetId);
  if (!target) throw new ChatError("not_found", "that user is not a member");
  if (actorId === targetId) return;
  if (!canManage(actor.role))
    throw new ChatError("forbidden", "only the owner or an admin can remove members");
  if (target.role === "owner") throw new ChatError("forbidden", "the owner cannot be removed");
  if (target.role === "admin" && actor.role !== "owner") {
    throw new ChatError("forbidden", "only the owner can remove an admin");
  }
}

/**
 * The next owner when the owner leaves: the longest-standing admin, else the longest-standing
 * member; undefined when nobody is left.
 */
export function nextOwner(members: MemberView[], leavingId: string): string | undefined {
  const rest = members.filter((m) => m.userId !== leavingId).sort((a, b) => a.joinedAt - b.joinedAt);
  return (rest.find((m) => m.role === "admin") ?? rest[0])?.userId;
}

export function checkRename(members: MemberView[], actorId: string): void {
  const actor = requireMember(members, actorId);
  if (!canManage(actor.role))
    throw new ChatError("forbidden", "only the owner or an admin can rename the group");
}
