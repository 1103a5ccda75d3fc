/**
 * @module workers/routes/devices
 * My devices: list, revoke one, sign out everywhere. Revocation takes effect at once: the
 * user's Durable Object refuses the device's access tokens and closes its sockets. Revoking
 * may sign out the caller's own device, so those routes check the token against D1
 * (`requireLiveDevice`): a retry of one that failed part-way finishes it.
 */
import { Hono } from "hono";
import { ChatError } from "../../protocol/errors.ts";
import { listDevices, liveDeviceIds } from "../../storage/d1/users.ts";
import { type AppEnv, db } from "../context.ts";
import { requireAuth, requireLiveDevice } from "../middleware/auth.ts";
import { limitPerUser } from "../middleware/limits.ts";
import { deviceInfo, signOutDevices } from "../sessions.ts";

export const devices = new Hono<AppEnv>();

devices.get("/", requireAuth, async (c) => {
  const rows = await listDevices(db(c), c.get("userId"));
  return c.json({ devices: rows.map((d) => deviceInfo(d, c.get("deviceId"))) });
});

devices.delete("/:deviceId", requireLiveDevice, limitPerUser("write"), async (c) => {
  const revoked = await signOutDevices(c.env, db(c), c.get("userId"), [c.req.param("deviceId")]);
  if (revoked.length === 0) throw new ChatError("not_found", "no such device");
  return c.body(null, 204);
});

/** Signs out every device, this one included. */
devices.post("/sign-out-all", requireLiveDevice, limitPerUser("write"), async (c) => {
  const d = db(c);
  const userId = c.get("userId");
  const revoked = await signOutDevices(c.env, d, userId, await liveDeviceIds(d, userId));
  return c.json({ revoked: revoked.length });
});
