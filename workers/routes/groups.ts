/**
 * @module workers/routes/groups
 * Groups: create with initial members, read, rename, add and remove members, leave, list
 * mine. The consent rule (only a friend, and nobody who blocked me, can be added) is checked
 * here against D1; everything about membership itself (roles, the 100-member limit, handing
 * ownership on) is decided by the group's ChannelRoom, the authority for its members.
 */
import { Hono } from "hono";
import * as v from "valibot";
import { unwrap } from "../../durable-objects/rpc.ts";
import {
  AddMembersBody,
  ChannelIdSchema,
  CreateGroupBody,
  RenameGroupBody,
  UserIdSchema,
} from "../../protocol/api.ts";
import { ChatError } from "../../protocol/errors.ts";
import { newGroupId } from "../../protocol/ids.ts";
import { blockersOf, blocksInvolving, refusedChats } from "../../storage/d1/friends.ts";
import { channelIdsOf } from "../../storage/d1/memberships.ts";
import { type AppContext, type AppEnv, channelStub, db, inboxStub } from "../context.ts";
import { requireAuth } from "../middleware/auth.ts";
import { limitPerUser } from "../middleware/limits.ts";
import { valid } from "../validate.ts";

export const groups = new Hono<AppEnv>();
groups.use(requireAuth);

function groupId(c: AppContext): string {
  const id = v.safeParse(ChannelIdSchema, c.req.param("id"));
  if (!id.success || !id.output.startsWith("gr_")) throw new ChatError("not_found", "no such group");
  return id.output;
}

/** Refuses unless every one of `others` is my friend and neither side blocked the other. */
async function requireConsent(c: AppContext, others: string[]): Promise<void> {
  const me = c.get("userId");
  const refused = await refusedChats(
    db(c),
    me,
    others.filter((o) => o !== me),
  );
  if (refused.length > 0) {
    throw new ChatError("not_friends", "only friends can be added to a group", {
      details: { user_ids: refused },
    });
  }
}

groups.post("/", limitPerUser("group_create"), valid("json", CreateGroupBody), async (c) => {
  const body = c.req.valid("json");
  const me = c.get("userId");
  const memberIds = [...new Set(body.member_ids.filter((id) => id !== me))];
  await requireConsent(c, memberIds);
  const channelId = newGroupId();
  const all = [me, ...memberIds];
  const info = await unwrap(
    channelStub(c.env, channelId).create({
      channelId,
      kind: "group",
      name: body.name,
      ownerId: me,
      memberIds: all,
      // Blocks between members hold inside the group too (docs/protocol.md §6.9).
      blocks: await blocksInvolving(db(c), all),
    }),
  );
  return c.json(info, 201);
});

groups.get("/", async (c) => {
  const mine = await channelIdsOf(db(c), c.get("userId"));
  const infos = await Promise.all(
    mine
      .filter((m) => m.kind === "group")
      .map((m) => unwrap(channelStub(c.env, m.channelId).info(c.get("userId")))),
  );
  return c.json({ groups: infos });
});

groups.get("/:id", async (c) => c.json(await unwrap(channelStub(c.env, groupId(c)).info(c.get("userId")))));

/**
 * Opening a group: its members' presence, read on demand (never pushed to every member).
 * Invisible members and members who blocked me show offline.
 */
groups.get("/:id/presence", limitPerUser("presence_read"), async (c) => {
  const me = c.get("userId");
  const info = await unwrap(channelStub(c.env, groupId(c)).info(me));
  const ids = info.members.map((m) => m.user_id);
  const hiddenFrom = new Set(await blockersOf(db(c), ids, me));
  const members = await Promise.all(
    ids.map(async (id) => {
      const p = hiddenFrom.has(id)
        ? { status: "offline" as const, last_active_at: 0 }
        : await inboxStub(c.env, id).presence();
      return { user_id: id, ...p };
    }),
  );
  return c.json({ channel_id: info.channel_id, members });
});

groups.patch("/:id", valid("json", RenameGroupBody), async (c) =>
  c.json(await unwrap(channelStub(c.env, groupId(c)).rename(c.get("userId"), c.req.valid("json").name))),
);

groups.post("/:id/members", valid("json", AddMembersBody), async (c) => {
  const id = groupId(c);
  const userIds = [...new Set(c.req.valid("json").user_ids)];
  await requireConsent(c, userIds);
  const blocks = await blocksInvolving(db(c), userIds);
  return c.json(await unwrap(channelStub(c.env, id).addMembers(c.get("userId"), userIds, blocks)));
});

groups.delete("/:id/members/:userId", async (c) => {
  const target = v.safeParse(UserIdSchema, c.req.param("userId"));
  if (!target.success) throw new ChatError("not_found", "no such member");
  return c.json(await unwrap(channelStub(c.env, groupId(c)).removeMember(c.get("userId"), target.output)));
});

groups.post("/:id/leave", async (c) => {
  await unwrap(channelStub(c.env, groupId(c)).removeMember(c.get("userId"), c.get("userId")));
  return c.body(null, 204);
});
