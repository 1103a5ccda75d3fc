/**
 * @module workers/sessions
 * Opening and closing device sessions: a login creates a device and its tokens; signing a
 * device out tells the user's Durable Object, which closes that device's sockets and refuses
 * its tickets, removes its push subscription and marks it revoked in D1 (the source of truth
 * for access tokens).
 */
import { sha256 } from "../domain/encoding.ts";
import { ACCESS_TTL_S, issueAccessToken, newRefreshSecret, REFRESH_TTL_S } from "../domain/tokens.ts";
import { newId } from "../protocol/ids.ts";
import type { Db } from "../storage/d1/db.ts";
import { deleteSubscriptionsOfDevices } from "../storage/d1/push.ts";
import { type DeviceRow, liveDevicesAmong, type NewDevice, revokeDevices } from "../storage/d1/users.ts";
import { inboxStub } from "./context.ts";

/** A device as `GET /v1/devices` lists it (`current`: the calling device's id, if any). */
export function deviceInfo(d: DeviceRow, current: string | null) {
  return {
    device_id: d.id,
    name: d.name,
    platform: d.platform,
    created_at: d.createdAt,
    last_seen_at: d.lastSeenAt,
    revoked_at: d.revokedAt,
    current: d.id === current,
  };
}

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
 * Signs devices out; returns the ids that were live. D1's revoked mark goes last, because it is
 * what makes a repeated request answer "no such device" (and what refuses the device's own
 * access token): were it written first, a failure after it would leave the sockets open and no
 * retry able to close them. So the user object closes the sockets and refuses the tickets
 * first, then the push subscription goes (a signed-out device is never notified again), then
 * D1 marks the device revoked. Each step is idempotent: after a failure at any point, the
 * device is still live in D1 and a retry does the whole job again.
 */
export async function signOutDevices(
  env: Env,
  db: Db,
  userId: string,
  deviceIds: string[],
): Promise<string[]> {
  const live = await liveDevicesAmong(db, userId, deviceIds);
  if (live.length === 0) return live;
  await inboxStub(env, userId).revokeDevices(live);
  await deleteSubscriptionsOfDevices(db, live);
  return revokeDevices(db, userId, live, Date.now());
}
