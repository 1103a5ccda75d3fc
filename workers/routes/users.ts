/**
 * @module workers/routes/users
 * My profile, and looking up other users by handle or id (public fields only).
 */
import { Hono } from "hono";
import * as v from "valibot";
import { HandleSchema, UpdateMeBody, UserIdSchema } from "../../protocol/api.ts";
import { ChatError } from "../../protocol/errors.ts";
import { findLiveUserByHandle, findUserById, toPublicUser, updateProfile } from "../../storage/d1/users.ts";
import { type AppEnv, db, inboxStub } from "../context.ts";
import { requireAuth } from "../middleware/auth.ts";
import { limitPerUser } from "../middleware/limits.ts";
import { valid } from "../validate.ts";

export const users = new Hono<AppEnv>();
users.use(requireAuth);

async function me(c: Parameters<typeof db>[0]) {
  const u = await findUserById(db(c), c.get("userId"));
  if (!u) throw new ChatError("not_found", "no such user");
  return {
    ...toPublicUser(u),
    invisible: u.invisible,
    hide_previews: u.hidePreviews,
    created_at: u.createdAt,
  };
}

users.get("/me", async (c) => c.json(await me(c)));

users.patch("/me", limitPerUser("write"), valid("json", UpdateMeBody), async (c) => {
  const body = c.req.valid("json");
  await updateProfile(db(c), c.get("userId"), {
    ...(body.display_name !== undefined && { displayName: body.display_name }),
    ...(body.invisible !== undefined && { invisible: body.invisible }),
    ...(body.hide_previews !== undefined && { hidePreviews: body.hide_previews }),
  });
  // The user object decides what others see of this user's presence.
  if (body.invisible !== undefined) await inboxStub(c.env, c.get("userId")).setInvisible(body.invisible);
  if (body.hide_previews !== undefined)
    await inboxStub(c.env, c.get("userId")).setHidePreviews(body.hide_previews);
  return c.json(await me(c));
});

users.get("/by-handle/:handle", async (c) => {
  const handle = v.safeParse(HandleSchema, c.req.param("handle"));
  const u = handle.success ? await findLiveUserByHandle(db(c), handle.output) : undefined;
  if (!u) throw new ChatError("not_found", "no user has that handle");
  return c.json(toPublicUser(u));
});

users.get("/:id", async (c) => {
  const id = v.safeParse(UserIdSchema, c.req.param("id"));
  const u = id.success ? await findUserById(db(c), id.output) : undefined;
  if (!u) throw new ChatError("not_found", "no such user");
  return c.json(toPublicUser(u));
});
