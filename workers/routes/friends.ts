/**
 * @module workers/routes/friends
 * Friend requests (request → accept/decline), removal and blocking. A block removes any
 * friendship and stops requests both ways; a blocked user cannot open a chat with or add the
 * blocker to a group, and will not see the blocker's presence (issue #4).
 */
import { Hono } from "hono";
import * as v from "valibot";
import { UserIdSchema, UserRefBody } from "../../protocol/api.ts";
import { ChatError } from "../../protocol/errors.ts";
import type { FriendFrameState } from "../../protocol/frames.ts";
import { dmChannelId } from "../../protocol/ids.ts";
import {
  addBlock,
  deleteRelation,
  isBlockedEitherWay,
  listBlocks,
  listRelations,
  relation,
  removeBlock,
  setRelation,
} from "../../storage/d1/friends.ts";
import { channelExists, sharedChannelIds } from "../../storage/d1/memberships.ts";
import { findUserById, findUsersByIds, toPublicUser } from "../../storage/d1/users.ts";
import { type AppContext, type AppEnv, channelStub, db, inboxStub } from "../context.ts";
import { announceFriendChanges, type FriendChange } from "../friend-events.ts";
import { requireAuth } from "../middleware/auth.ts";
import { limitPerUser } from "../middleware/limits.ts";
import { valid } from "../validate.ts";

export const friends = new Hono<AppEnv>();
friends.use(requireAuth);

function otherId(c: AppContext): string {
  const id = v.safeParse(UserIdSchema, c.req.param("userId"));
  if (!id.success) throw new ChatError("not_found", "no such user");
  return id.output;
}

/** New friends see each other's presence from now on (each side publishes to the other). */
async function sharePresence(c: AppContext, a: string, b: string): Promise<void> {
  await Promise.all([inboxStub(c.env, a).sharePresenceWith(b), inboxStub(c.env, b).sharePresenceWith(a)]);
}

/** No longer friends (or blocked): neither keeps the other's presence. */
async function unsharePresence(c: AppContext, a: string, b: string): Promise<void> {
  await Promise.all([inboxStub(c.env, a).forgetPresenceOf(b), inboxStub(c.env, b).forgetPresenceOf(a)]);
}

/**
 * Tells every channel the two share about a block (D1's copy of memberships lists them): a 1:1
 * channel then refuses posts from either side, and every channel stops showing the blocker's
 * activity to the blocked user (docs/protocol.md §6.9).
 */
async function setChannelBlocks(c: AppContext, me: string, other: string, blocked: boolean): Promise<void> {
  const shared = await sharedChannelIds(db(c), me, other);
  await Promise.all(shared.map((id) => channelStub(c.env, id).setBlock(me, other, blocked)));
}

/**
 * Tells an existing 1:1 channel whether its two members are friends: it takes posts only
 * between friends, and stays readable either way.
 */
async function setDmFriends(c: AppContext, me: string, other: string, friends: boolean): Promise<void> {
  const id = dmChannelId(me, other);
  if (await channelExists(db(c), id)) await channelStub(c.env, id).setFriends(friends);
}

async function requireLiveUser(c: AppContext, id: string): Promise<void> {
  const u = await findUserById(db(c), id);
  if (!u || u.deletedAt) throw new ChatError("not_found", "no such user");
}

/**
 * Tells both sides' devices how the relation of `me` and `other` stands now, each from its own
 * side (null: tell that side nothing). Told before presence is shared, so a new friend's
 * `friend` frame comes before their `presence` frame.
 */
async function announce(
  c: AppContext,
  me: string,
  other: string,
  mine: FriendFrameState | null,
  theirs: FriendFrameState | null,
  since: number,
): Promise<void> {
  const people = new Map((await findUsersByIds(db(c), [me, other])).map((u) => [u.id, toPublicUser(u)]));
  const [myself, them] = [people.get(me), people.get(other)];
  const changes: FriendChange[] = [];
  if (mine && them) changes.push({ to: me, user: them, state: mine, since });
  if (theirs && myself) changes.push({ to: other, user: myself, state: theirs, since });
  await announceFriendChanges(c.env, changes);
}

friends.get("/", async (c) => {
  const d = db(c);
  const me = c.get("userId");
  const [rels, blocked] = await Promise.all([listRelations(d, me), listBlocks(d, me)]);
  const people = new Map(
    (await findUsersByIds(d, [...rels.map((r) => r.otherId), ...blocked.map((b) => b.blockedId)])).map(
      (u) => [u.id, toPublicUser(u)],
    ),
  );
  const presence = await inboxStub(c.env, me).friendPresence();
  const offline = { status: "offline", last_active_at: 0 } as const;
  return c.json({
    friends: rels.map((r) => ({
      user: people.get(r.otherId),
      state: r.state,
      since: r.updatedAt,
      ...(r.state === "friends" && { presence: presence[r.otherId] ?? offline }),
    })),
    blocked: blocked.map((b) => ({ user: people.get(b.blockedId), since: b.createdAt })),
  });
});

/** Ask someone to be friends; if they already asked me, this accepts. */
friends.post("/requests", limitPerUser("friend_request"), valid("json", UserRefBody), async (c) => {
  const me = c.get("userId");
  const other = c.req.valid("json").user_id;
  if (other === me) throw new ChatError("bad_request", "you cannot befriend yourself");
  const d = db(c);
  await requireLiveUser(c, other);
  if (await isBlockedEitherWay(d, me, other))
    throw new ChatError("blocked", "you cannot send this user a request");
  const state = await relation(d, me, other);
  if (state === "friends") return c.json({ state });
  const now = Date.now();
  if (state === "incoming") {
    await setRelation(d, me, other, "friends", "friends", now);
    await setDmFriends(c, me, other, true);
    await announce(c, me, other, "friends", "friends", now);
    await sharePresence(c, me, other);
    return c.json({ state: "friends" });
  }
  await setRelation(d, me, other, "outgoing", "incoming", now);
  await announce(c, me, other, "outgoing", "incoming", now);
  return c.json({ state: "outgoing" }, 201);
});

friends.post("/:userId/accept", limitPerUser("write"), async (c) => {
  const me = c.get("userId");
  const other = otherId(c);
  const d = db(c);
  if ((await relation(d, me, other)) !== "incoming")
    throw new ChatError("not_found", "no request from this user");
  const now = Date.now();
  await setRelation(d, me, other, "friends", "friends", now);
  await setDmFriends(c, me, other, true);
  await announce(c, me, other, "friends", "friends", now);
  await sharePresence(c, me, other);
  return c.json({ state: "friends" });
});

friends.post("/:userId/decline", limitPerUser("write"), async (c) => {
  const me = c.get("userId");
  const other = otherId(c);
  const d = db(c);
  if ((await relation(d, me, other)) !== "incoming")
    throw new ChatError("not_found", "no request from this user");
  await deleteRelation(d, me, other);
  await announce(c, me, other, "none", "none", Date.now());
  return c.body(null, 204);
});

/** Unfriend, or withdraw my request. */
friends.delete("/:userId", limitPerUser("write"), async (c) => {
  const me = c.get("userId");
  const other = otherId(c);
  const d = db(c);
  if (!(await relation(d, me, other))) throw new ChatError("not_found", "no relation with this user");
  // The chat closes before the relation goes: if this fails, a retry still finds the relation.
  await setDmFriends(c, me, other, false);
  await deleteRelation(d, me, other);
  await unsharePresence(c, me, other);
  await announce(c, me, other, "none", "none", Date.now());
  return c.body(null, 204);
});

friends.post("/:userId/block", limitPerUser("write"), async (c) => {
  const me = c.get("userId");
  const other = otherId(c);
  if (other === me) throw new ChatError("bad_request", "you cannot block yourself");
  await requireLiveUser(c, other);
  const d = db(c);
  const had = await relation(d, me, other);
  await deleteRelation(d, me, other);
  await unsharePresence(c, me, other);
  const now = Date.now();
  await addBlock(d, me, other, now);
  await setChannelBlocks(c, me, other, true);
  // The blocked side learns only that a relation it had is gone, as from an unfriending.
  await announce(c, me, other, "blocked", had ? "none" : null, now);
  return c.json({ blocked: true });
});

friends.delete("/:userId/block", limitPerUser("write"), async (c) => {
  const me = c.get("userId");
  const other = otherId(c);
  await removeBlock(db(c), me, other);
  await setChannelBlocks(c, me, other, false);
  await announce(c, me, other, "none", null, Date.now());
  return c.body(null, 204);
});
