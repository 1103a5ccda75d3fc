/**
 * @module storage/d1/friends
 * Friendships and blocks, one row per side, each keyed by its owner's id.
 */
import { and, eq, inArray, or } from "drizzle-orm";
import { chunksFor } from "./bind-limit.ts";
import type { Db } from "./db.ts";
import { blocks, friendships } from "./schema.ts";

export type FriendState = (typeof friendships.$inferSelect)["state"];

export async function relation(db: Db, userId: string, otherId: string): Promise<FriendState | undefined> {
  const row = await db
    .select({ state: friendships.state })
    .from(friendships)
    .where(and(eq(friendships.userId, userId), eq(friendships.otherId, otherId)))
    .get();
  return row?.state;
}

/** Writes both sides of a relation at once. */
export async function setRelation(
  db: Db,
  userId: string,
  otherId: string,
  mine: FriendState,
  theirs: FriendState,
  now: number,
): Promise<void> {
  const upsert = (u: string, o: string, state: FriendState) =>
    db
      .insert(friendships)
      .values({ userId: u, otherId: o, state, createdAt: now, updatedAt: now })
      .onConflictDoUpdate({
        target: [friendships.userId, friendships.otherId],
        set: { state, updatedAt: now },
      });
  await db.batch([upsert(userId, otherId, mine), upsert(otherId, userId, theirs)]);
}

export async function deleteRelation(db: Db, userId: string, otherId: string): Promise<void> {
  await db
    .delete(friendships)
    .where(
      or(
        and(eq(friendships.userId, userId), eq(friendships.otherId, otherId)),
        and(eq(friendships.userId, otherId), eq(friendships.otherId, userId)),
      ),
    );
}

/** Everyone `userId` is friends with (a block ends a friendship, so none of them is blocked). */
export async function friendIdsOf(db: Db, userId: string): Promise<string[]> {
  const rows = await db
    .select({ id: friendships.otherId })
    .from(friendships)
    .where(and(eq(friendships.userId, userId), eq(friendships.state, "friends")))
    .all();
  return rows.map((r) => r.id);
}

export async function listRelations(db: Db, userId: string) {
  return db.select().from(friendships).where(eq(friendships.userId, userId)).all();
}

export async function deleteAllRelations(db: Db, userId: string): Promise<void> {
  await db.delete(friendships).where(or(eq(friendships.userId, userId), eq(friendships.otherId, userId)));
}

export async function isBlockedEitherWay(db: Db, a: string, b: string): Promise<boolean> {
  const row = await db
    .select({ u: blocks.userId })
    .from(blocks)
    .where(
      or(
        and(eq(blocks.userId, a), eq(blocks.blockedId, b)),
        and(eq(blocks.userId, b), eq(blocks.blockedId, a)),
      ),
    )
    .get();
  return row !== undefined;
}

/** Which of `userIds` have blocked `viewerId`. */
export async function blockersOf(db: Db, userIds: string[], viewerId: string): Promise<string[]> {
  const pages = await Promise.all(
    chunksFor(userIds, 1).map((chunk) =>
      db
        .select({ id: blocks.userId })
        .from(blocks)
        .where(and(inArray(blocks.userId, chunk), eq(blocks.blockedId, viewerId)))
        .all(),
    ),
  );
  return pages.flat().map((r) => r.id);
}

/**
 * Every block with one of `userIds` on either side, as `[blocker, blocked]`: what a channel
 * needs to know when they join it (it keeps those between its members).
 */
export async function blocksInvolving(db: Db, userIds: string[]): Promise<[string, string][]> {
  const pages = await Promise.all(
    chunksFor(userIds, 0, 2).map((chunk) =>
      db
        .select({ blocker: blocks.userId, blocked: blocks.blockedId })
        .from(blocks)
        .where(or(inArray(blocks.userId, chunk), inArray(blocks.blockedId, chunk)))
        .all(),
    ),
  );
  const seen = new Set<string>();
  const pairs: [string, string][] = [];
  for (const r of pages.flat()) {
    const key = `${r.blocker} ${r.blocked}`;
    if (!seen.has(key)) pairs.push([r.blocker, r.blocked]);
    seen.add(key);
  }
  return pairs;
}

export async function addBlock(db: Db, userId: string, blockedId: string, now: number): Promise<void> {
  await db.insert(blocks).values({ userId, blockedId, createdAt: now }).onConflictDoNothing();
}

export async function removeBlock(db: Db, userId: string, blockedId: string): Promise<void> {
  await db.delete(blocks).where(and(eq(blocks.userId, userId), eq(blocks.blockedId, blockedId)));
}

export async function listBlocks(db: Db, userId: string) {
  return db.select().from(blocks).where(eq(blocks.userId, userId)).all();
}

/** True when both are friends and neither blocked the other: the consent rule for chats. */
export async function canChat(db: Db, a: string, b: string): Promise<boolean> {
  const [state, blocked] = await Promise.all([relation(db, a, b), isBlockedEitherWay(db, a, b)]);
  return state === "friends" && !blocked;
}

/**
 * The consent rule for many at once (adding 99 people to a group): those of `others` that
 * `userId` may not chat with. A few queries per 49 people, not two per person.
 */
export async function refusedChats(db: Db, userId: string, others: string[]): Promise<string[]> {
  const [friendPages, blockPages] = await Promise.all([
    // Binds `userId` and the state beside the ids.
    Promise.all(
      chunksFor(others, 2).map((chunk) =>
        db
          .select({ id: friendships.otherId })
          .from(friendships)
          .where(
            and(
              eq(friendships.userId, userId),
              eq(friendships.state, "friends"),
              inArray(friendships.otherId, chunk),
            ),
          )
          .all(),
      ),
    ),
    // Binds `userId` twice and each id twice (either direction).
    Promise.all(
      chunksFor(others, 2, 2).map((chunk) =>
        db
          .select({ a: blocks.userId, b: blocks.blockedId })
          .from(blocks)
          .where(
            or(
              and(eq(blocks.userId, userId), inArray(blocks.blockedId, chunk)),
              and(eq(blocks.blockedId, userId), inArray(blocks.userId, chunk)),
            ),
          )
          .all(),
      ),
    ),
  ]);
  const friends = new Set(friendPages.flat().map((r) => r.id));
  const blocked = new Set(blockPages.flat().flatMap((r) => [r.a, r.b]));
  return others.filter((o) => !friends.has(o) || blocked.has(o));
}
