/**
 * @module workers/routes/auth
 * Sign-up, login (one device per login), token refresh and logout.
 */
import { Hono } from "hono";
import { fromBase64Url, sha256 } from "../../domain/encoding.ts";
import { hashPassword, timingSafeEqual, verifyPassword } from "../../domain/passwords.ts";
import { parseRefreshToken } from "../../domain/tokens.ts";
import { LoginBody, RefreshBody, SignupBody } from "../../protocol/api.ts";
import { ChatError } from "../../protocol/errors.ts";
import { newId } from "../../protocol/ids.ts";
import { hit } from "../../storage/d1/rate-limits.ts";
import {
  addDevice,
  createUser,
  findCredentials,
  findDeviceById,
  findLiveUserByHandle,
  rotateRefresh,
  toPublicUser,
} from "../../storage/d1/users.ts";
import { type AppContext, type AppEnv, db } from "../context.ts";
import { requireAuth } from "../middleware/auth.ts";
import { mintRefresh, newDeviceSession, sessionTokens, signOutDevices } from "../sessions.ts";
import { valid } from "../validate.ts";

export const auth = new Hono<AppEnv>();

auth.post("/signup", valid("json", SignupBody), async (c) => {
  const body = c.req.valid("json");
  const d = db(c);
  if (await findLiveUserByHandle(d, body.handle)) throw new ChatError("handle_taken", "that handle is taken");
  const now = Date.now();
  const userId = newId();
  const password = await hashPassword(body.password);
  const device = await newDeviceSession(body.device, now);
  try {
    await createUser(
      d,
      { id: userId, handle: body.handle, displayName: body.display_name },
      password,
      device.row,
      now,
    );
  } catch (err) {
    // Two sign-ups raced for one handle: the unique index decided.
    if (String(err).includes("UNIQUE"))
      throw new ChatError("handle_taken", "that handle is taken", { cause: err });
    throw err;
  }
  const session = await sessionTokens(c.env, userId, device.row.id, device.refreshToken);
  const user = toPublicUser({
    id: userId,
    handle: body.handle,
    displayName: body.display_name,
    invisible: false,
    hidePreviews: false,
    createdAt: now,
    deletedAt: null,
  });
  return c.json({ user, ...session }, 201);
});

/** Counts an attempt against both the handle and the client; refuses past either limit. */
async function limitLogin(c: AppContext, handle: string): Promise<void> {
  const d = db(c);
  const now = Date.now();
  const windowMs = Number(c.env.LOGIN_LIMIT_WINDOW_S) * 1000;
  const client = c.req.header("cf-connecting-ip") ?? "local";
  const [perHandle, perClient] = await Promise.all([
    hit(d, `handle:${handle}`, windowMs, now),
    hit(d, `client:${client}`, windowMs, now),
  ]);
  if (perHandle > Number(c.env.LOGIN_LIMIT_PER_HANDLE) || perClient > Number(c.env.LOGIN_LIMIT_PER_CLIENT)) {
    throw new ChatError("rate_limited", "too many login attempts; try again later");
  }
}

auth.post("/login", valid("json", LoginBody), async (c) => {
  const body = c.req.valid("json");
  await limitLogin(c, body.handle);
  const d = db(c);
  const user = await findLiveUserByHandle(d, body.handle);
  const stored = user ? await findCredentials(d, user.id) : undefined;
  // One answer for an unknown handle and a wrong password, after the same amount of work.
  if (!(await verifyPassword(body.password, stored)) || !user) {
    throw new ChatError("invalid_credentials", "wrong handle or password");
  }
  const now = Date.now();
  const device = await newDeviceSession(body.device, now);
  await addDevice(d, user.id, device.row, now);
  const session = await sessionTokens(c.env, user.id, device.row.id, device.refreshToken);
  return c.json({ user: toPublicUser(user), ...session });
});

auth.post("/refresh", valid("json", RefreshBody), async (c) => {
  const { deviceId, secret } = parseRefreshToken(c.req.valid("json").refresh_token);
  const d = db(c);
  const device = await findDeviceById(d, deviceId);
  const now = Date.now();
  const matches =
    device !== undefined &&
    timingSafeEqual(fromBase64Url(await sha256(secret)), fromBase64Url(device.refreshHash));
  if (!device || !matches || device.revokedAt !== null || device.refreshExpiresAt < now) {
    throw new ChatError("unauthenticated", "the refresh token is not valid; log in again");
  }
  // Rotate: the old refresh token stops working as soon as the new one is issued. The swap is
  // conditional on the hash just checked, so a token replayed concurrently is honoured once.
  const next = await mintRefresh(device.id, now);
  if (!(await rotateRefresh(d, device.id, device.refreshHash, next.hash, next.expiresAt, now))) {
    throw new ChatError("unauthenticated", "the refresh token is not valid; log in again");
  }
  return c.json(await sessionTokens(c.env, device.userId, device.id, next.token));
});

auth.post("/logout", requireAuth, async (c) => {
  await signOutDevices(c.env, db(c), c.get("userId"), [c.get("deviceId")]);
  return c.body(null, 204);
});
