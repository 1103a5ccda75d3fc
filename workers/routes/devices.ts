/**
 * @module workers/routes/devices
 * My devices: list, revoke one, sign out everywhere. Revocation takes effect at once: the
 * access-token check reads the device row, and the user's Durable Object closes its sockets.
 */
import { Hono } from "hono";
import { ChatError } from "../../protocol/errors.ts";
import { listDevices, liveDeviceIds } from "../../storage/d1/users.ts";
import { type AppEnv, db } from "../context.ts";
import { requireAuth } from "../middleware/auth.ts";
import { limitPerUser } from "../middleware/limits.ts";
import { deviceInfo, signOutDevices } from "../sessions.ts";

export const devices = new Hono<AppEnv>();
devices.use(requireAuth);

devices.get("/", async (c) => {
  const rows = await listDevices(db(c), c.get("userId"));
  return c.json({ devices: rows.map((d) => deviceInfo(d, c.get("deviceId"))) });
});

devices.delete("/:deviceId", limitPerUser("write"), async (c) => {
  const revoked = await signOutDevices(c.env, db(c), c.get("userId"), [c.req.param("deviceId")]);
  if (revoked.length === 0) throw new ChatError("not_found", "no such device");
  return c.body(null, 204);
});

/** Signs out every device, this one included. */
devices.post("/sign-out-all", limitPerUser("write"), async (c) => {
  const d = db(c);
  const userId = c.get("userId");
  const revoked = await signOutDevices(c.env, d, userId, await liveDeviceIds(d, userId));
  return c.json({ revoked: revoked.length });
});
