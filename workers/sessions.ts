/**
 * @module workers/sessions
 * Opening and closing device sessions: a login creates a device and its tokens; signing a
 * device out marks it revoked in D1 (the source of truth for access tokens), removes its push
 * subscription and tells the user's Durable Object, which closes that device's sockets and
 * refuses its tickets.
 */
import { sha256 } from "../domain/encoding.ts";
import { ACCESS_TTL_S, issueAccessToken, newRefreshSecret, REFRESH_TTL_S } from "../domain/tokens.ts";
import { newId } from "../protocol/ids.ts";
import type { Db } from "../storage/d1/db.ts";
import { deleteSubscriptionsOfDevices } from "../storage/d1/push.ts";
import { type NewDevice, revokeDevices } from "../storage/d1/users.ts";
import { inboxStub } from "./context.ts";

export interface Session {
  user_id: string;
  device_id: string;
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

/** A fresh refresh token for a device: the token to hand out once and the hash to store. */
export async function mintRefresh(deviceId: string, now: number) {
  const refresh = newRefreshSecret(deviceId);
  return { token: refresh.token, hash: await sha256(refresh.secret), expiresAt: now + REFRESH_TTL_S * 1000 };
}

/** A new device row's fields plus the refresh token to hand out once. */
export async function newDeviceSession(device: { name: string; platform: string }, now: number) {
  const id = newId();
  const refresh = await mintRefresh(id, now);
  const row: NewDevice = {
    id,
    name: device.name,
    platform: device.platform,
    refreshHash: refresh.hash,
    refreshExpiresAt: refresh.expiresAt,
  };
  return { row, refreshToken: refresh.token };
}

export async function sessionTokens(
  env: Env,
  userId: string,
  deviceId: string,
  refreshToken: string,
): Promise<Session> {
  return {
    user_id: userId,
    device_id: deviceId,
    access_token: await issueAccessToken(env.AUTH_SECRET, userId, deviceId),
    refresh_token: refreshToken,
    expires_in: ACCESS_TTL_S,
  };
}

/**
 * Revokes devices in D1 and drops their push subscriptions (a signed-out device is never
 * notified again), then closes their sockets; returns the ids that were live.
 */
export async function signOutDevices(
  env: Env,
  db: Db,
  userId: string,
  deviceIds: string[],
): Promise<string[]> {
  const revoked = await revokeDevices(db, userId, deviceIds, Date.now());
  if (revoked.length === 0) return revoked;
  await deleteSubscriptionsOfDevices(db, revoked);
  await inboxStub(env, userId).revokeDevices(revoked);
  return revoked;
}
