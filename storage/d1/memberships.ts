/**
 * @module storage/d1/memberships
 * D1's copy of channels and their members, for listings. Only a ChannelRoom writes here,
 * replacing the whole member list of its channel, so a repeated write is harmless.
 */
import { and, eq, inArray } from "drizzle-orm";
import type { Db } from "./db.ts";
import { channels, memberships } from "./schema.ts";

export interface ChannelMirror {
  id: string;
  kind: "dm" | "group";
  name: string | null;
  ownerId: string | null;
  createdAt: number;
  members: { userId: string; role: "owner" | "admin" | "member"; joinedAt: number }[];
}

export async function writeChannelMirror(db: Db, c: ChannelMirror, now: number): Promise<void> {
  const row = {
    id: c.id,
    kind: c.kind,
    name: c.name,
    ownerId: c.ownerId,
    createdAt: c.createdAt,
    updatedAt: now,
  };
  await db.batch([
    db
      .insert(channels)
      .values(row)
      .onConflictDoUpdate({ target: channels.id, set: { name: c.name, ownerId: c.ownerId, updatedAt: now } }),
    db.delete(memberships).where(eq(memberships.channelId, c.id)),
    ...c.members.map((m) => db.insert(memberships).values({ ...m, channelId: c.id })),
  ]);
}

export async function channelExists(db: Db, channelId: string): Promise<boolean> {
  return (
    (await db.select({ id: channels.id }).from(channels).where(eq(channels.id, channelId)).get()) !==
    undefined
  );
}

/** Whether D1's copy lists the user as a member of the channel (one primary-key read). */
export async function isMember(db: Db, userId: string, channelId: string): Promise<boolean> {
  const row = await db
    .select({ u: memberships.userId })
    .from(memberships)
    .where(and(eq(memberships.userId, userId), eq(memberships.channelId, channelId)))
    .get();
  return row !== undefined;
}

export async function channelIdsOf(db: Db, userId: string): Promise<{ channelId: string; kind: string }[]> {
  return db
    .select({ channelId: memberships.channelId, kind: channels.kind })
    .from(memberships)
    .innerJoin(channels, eq(channels.id, memberships.channelId))
    .where(eq(memberships.userId, userId))
    .all();
}

/** The channels (1:1 and groups) both users are members of, by D1's copy. */
export async function sharedChannelIds(db: Db, a: string, b: string): Promise<string[]> {
  const mine = db.select({ id: memberships.channelId }).from(memberships).where(eq(memberships.userId, a));
  const rows = await db
    .select({ id: memberships.channelId })
    .from(memberships)
    .where(and(eq(memberships.userId, b), inArray(memberships.channelId, mine)))
    .all();
  return rows.map((r) => r.id);
}
