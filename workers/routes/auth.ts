/**
 * @module workers/routes/auth
 * Sign-up, login (one device per login), token refresh and logout. Sign-ups are limited per
 * client address and failed logins as domain/login-attempts.ts says, in D1 (they must hold
 * across every Worker, and each already costs a password hash).
 */
import { Hono } from "hono";
import { clientAddress } from "../../domain/client-address.ts";
import { fromBase64Url, sha256 } from "../../domain/encoding.ts";
import { readLimits } from "../../domain/limits.ts";
import {
  failureCharges,
  KNOWN_ADDRESS_MS,
  keysToRead,
  loginKeys,
  loginWait,
} from "../../domain/login-attempts.ts";
import { hashPassword, timingSafeEqual, verifyPassword } from "../../domain/passwords.ts";
import { parseRefreshToken } from "../../domain/tokens.ts";
import { LoginBody, RefreshBody, SignupBody } from "../../protocol/api.ts";
import { ChatError, rateLimited } from "../../protocol/errors.ts";
import { newId } from "../../protocol/ids.ts";
import { chargeOne, forgetKeys, readTats, setTat, takeOne } from "../../storage/d1/rate-limits.ts";
import {
  addDeviceWithin,
  createUser,
  findCredentials,
  findDeviceById,
  findLiveUserByHandle,
  listDevices,
  rotateRefresh,
  toPublicUser,
} from "../../storage/d1/users.ts";
import { type AppContext, type AppEnv, db } from "../context.ts";
import { requireLiveDevice } from "../middleware/auth.ts";
import { deviceInfo, mintRefresh, newDeviceSession, sessionTokens, signOutDevices } from "../sessions.ts";
import { valid } from "../validate.ts";

export const auth = new Hono<AppEnv>();

/** The key a request's address counts under (domain/client-address.ts). */
function addressOf(c: AppContext): string {
  return clientAddress(c.req.header("cf-connecting-ip"));
}

auth.post("/signup", valid("json", SignupBody), async (c) => {
  const body = c.req.valid("json");
  const d = db(c);
  const now = Date.now();
  // Counted before the password is hashed (100,000 PBKDF2 iterations): a refusal costs one row.
  const wait = await takeOne(d, `signup:a:${addressOf(c)}`, readLimits(c.env).signupsPerAddress, now);
  if (wait > 0) throw rateLimited("sign-ups from this address", wait);
  if (await findLiveUserByHandle(d, body.handle)) throw new ChatError("handle_taken", "that handle is taken");
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

/**
 * Login. Failed password checks are limited so that guessing is slow and strangers cannot lock
 * anyone out (domain/login-attempts.ts); a success is never counted. A user at the cap on
 * devices is refused with the list of them, and may sign one out in the same request
 * (`replace_device_id`), as messaging apps that link a few devices let one do.
 */
auth.post("/login", valid("json", LoginBody), async (c) => {
  const body = c.req.valid("json");
  const d = db(c);
  const limits = readLimits(c.env);
  const now = Date.now();
  const user = await findLiveUserByHandle(d, body.handle);
  const keys = loginKeys(body.handle, addressOf(c), user?.id ?? null);
  const wait = loginWait(await readTats(d, keysToRead(keys)), keys, limits, now);
  if (wait > 0) throw rateLimited("failed logins", wait);
  const stored = user ? await findCredentials(d, user.id) : undefined;
  // One answer for an unknown handle and a wrong password, after the same amount of work.
  if (!(await verifyPassword(body.password, stored)) || !user) {
    await chargeOne(d, failureCharges(keys, limits), Date.now());
    throw new ChatError("invalid_credentials", "wrong handle or password");
  }
  // The owner: their own failures here are forgiven, and this address is known from now on.
  const known = keys.known;
  await Promise.all([
    forgetKeys(d, [keys.handleAddress]),
    known === null ? undefined : setTat(d, known, now + KNOWN_ADDRESS_MS),
  ]);
  if (body.replace_device_id !== undefined) {
    const revoked = await signOutDevices(c.env, d, user.id, [body.replace_device_id]);
    if (revoked.length === 0) throw new ChatError("not_found", "no such device to sign out");
  }
  const device = await newDeviceSession(body.device, now);
  if (!(await addDeviceWithin(d, user.id, device.row, now, limits.devicesPerUser))) {
    const live = (await listDevices(d, user.id)).filter((x) => x.revokedAt === null);
    throw new ChatError(
      "too_many_devices",
      `this account is signed in on ${live.length} devices, the most it may be: sign one out to sign in here`,
      { details: { max_devices: limits.devicesPerUser, devices: live.map((x) => deviceInfo(x, null)) } },
    );
  }
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

auth.post("/logout", requireLiveDevice, async (c) => {
  await signOutDevices(c.env, db(c), c.get("userId"), [c.get("deviceId")]);
  return c.body(null, 204);
});
