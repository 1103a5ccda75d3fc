/**
 * @module workers/routes/account
 * Changing the password (which signs out every other device) and deleting the account.
 * A deleted account keeps its id, so its messages still resolve, as "Deleted user".
 */
import { Hono } from "hono";
import { readLimits } from "../../domain/limits.ts";
import { hashPassword, verifyPassword } from "../../domain/passwords.ts";
import { waitMs } from "../../domain/rate-limit.ts";
import { unwrap } from "../../durable-objects/rpc.ts";
import { ChangePasswordBody, DeleteAccountBody, ExportQuery } from "../../protocol/api.ts";
import { ChatError, rateLimited } from "../../protocol/errors.ts";
import { deleteAllRelations, listRelations } from "../../storage/d1/friends.ts";
import { channelIdsOf } from "../../storage/d1/memberships.ts";
import { chargeOne, readTats } from "../../storage/d1/rate-limits.ts";
import {
  findCredentials,
  findUserById,
  liveDeviceIds,
  markUserDeleted,
  setPassword,
  toPublicUser,
} from "../../storage/d1/users.ts";
import { type AppContext, type AppEnv, channelStub, db } from "../context.ts";
import { exportArchive } from "../export/export.ts";
import { announceFriendChanges } from "../friend-events.ts";
import { requireAuth, requireLiveDevice } from "../middleware/auth.ts";
import { limitPerUser } from "../middleware/limits.ts";
import { signOutDevices } from "../sessions.ts";
import { valid } from "../validate.ts";

export const account = new Hono<AppEnv>();

/**
 * Checks the account's password. Failures are limited per account in D1
 * (LIMIT_PASSWORD_FAILURES_PER_USER), so a stolen access token cannot be used to guess it; a
 * success is not counted.
 */
async function requirePassword(c: AppContext, password: string): Promise<void> {
  const d = db(c);
  const key = `password:u:${c.get("userId")}`;
  const rate = readLimits(c.env).passwordFailuresPerUser;
  const tat = (await readTats(d, [key])).get(key) ?? 0;
  const wait = waitMs(tat, Date.now(), rate);
  if (wait > 0) throw rateLimited("wrong passwords", wait);
  const stored = await findCredentials(d, c.get("userId"));
  if (!(await verifyPassword(password, stored))) {
    await chargeOne(d, [{ key, rate }], Date.now());
    throw new ChatError("invalid_credentials", "wrong password");
  }
}

/**
 * Download my data (docs/protocol.md §8.12): a ZIP streamed as it is written, of everything
 * about me and every message I sent (`scope=mine`) or of my conversations (`scope=all`).
 */
account.get("/export", requireAuth, limitPerUser("export"), valid("query", ExportQuery), async (c) => {
  const scope = c.req.valid("query").scope;
  const day = new Date().toISOString().slice(0, 10);
  return new Response(exportArchive(c.env, c.get("userId"), c.get("deviceId"), scope), {
    headers: {
      "content-type": "application/zip",
      "content-disposition": `attachment; filename="edge-chat-${scope}-${day}.zip"`,
      "cache-control": "no-store",
    },
  });
});

account.post(
  "/password",
  requireAuth,
  limitPerUser("write"),
  valid("json", ChangePasswordBody),
  async (c) => {
    const body = c.req.valid("json");
    await requirePassword(c, body.current_password);
    const d = db(c);
    const userId = c.get("userId");
    await setPassword(d, userId, await hashPassword(body.new_password), Date.now());
    const others = (await liveDeviceIds(d, userId)).filter((id) => id !== c.get("deviceId"));
    const revoked = await signOutDevices(c.env, d, userId, others);
    return c.json({ signed_out_devices: revoked.length });
  },
);

// It signs out this device too: checked against D1, so that a retry finishes a failed attempt.
account.delete("/", requireLiveDevice, limitPerUser("write"), valid("json", DeleteAccountBody), async (c) => {
  await requirePassword(c, c.req.valid("json").password);
  const d = db(c);
  const userId = c.get("userId");
  // Leave every group first (ownership passes on). 1:1 chats stay readable for the other side
  // and take no more posts.
  const mine = await channelIdsOf(d, userId);
  await Promise.all(
    mine.map((m) =>
      m.kind === "group"
        ? unwrap(channelStub(c.env, m.channelId).removeMember(userId, userId))
        : channelStub(c.env, m.channelId).accountDeleted(userId),
    ),
  );
  await signOutDevices(c.env, d, userId, await liveDeviceIds(d, userId));
  const related = await listRelations(d, userId);
  await deleteAllRelations(d, userId);
  const now = Date.now();
  await markUserDeleted(d, userId, now);
  // Whoever had a relation with the account sees it go from their friends list at once.
  const gone = toPublicUser({ ...(await findUserById(d, userId))!, deletedAt: now });
  await announceFriendChanges(
    c.env,
    related.map((r) => ({ to: r.otherId, user: gone, state: "none", since: now })),
  );
  return c.body(null, 204);
});
